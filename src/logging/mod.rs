//! The log output. Guarantee: every field of every log line is written
//! with its control characters escaped (`\n`, `\r`, `\u{1b}`, ...; also the
//! Unicode line separators and bidirectional overrides), whoever wrote the
//! log call and however it formats the value (`%`, `?` or plain). So text
//! from outside (a file name in the library, a path, a provider's error
//! description) can neither start a forged log line nor drive the terminal.
//! One event is one line. Colours only when standard error is a terminal
//! (never escape codes in a file or a pipe); `ROMGATE_LOG_FORMAT=json` writes
//! JSON lines (see `json`) with the same guarantee.

use std::fmt::{self, Write};
use std::io::IsTerminal;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{Writer, debug_fn};

mod json;

/// The variable that chooses the log format.
pub const LOG_FORMAT_VARIABLE: &str = "ROMGATE_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `time LEVEL target: message name=value`, for people.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// `text` (also unset or empty) or `json`, in any case.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let value = raw.map(str::trim).unwrap_or_default();
        match value.to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!(
                "{LOG_FORMAT_VARIABLE}: '{value}' is not a log format; use text (the default) or json"
            )),
        }
    }
}

/// Logs to standard error, filtered by RUST_LOG (default `info`), in the
/// format ROMGATE_LOG_FORMAT names. Runs before the configuration is read:
/// an unknown format logs as text here, and the configuration refuses it
/// (`Config`, naming the variable).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let raw = std::env::var(LOG_FORMAT_VARIABLE).ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(escaped_fields())
        .with_writer(std::io::stderr);
    match LogFormat::parse(raw.as_deref()).unwrap_or_default() {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.with_ansi(false).event_format(json::JsonLines).init(),
    }
}

/// The fields formatter: `message name=value name=value`, as
/// tracing-subscriber's default writes them, with control characters escaped.
pub fn escaped_fields() -> impl for<'writer> FormatFields<'writer> + Send + Sync + 'static {
    debug_fn(write_field).delimited(" ")
}

fn write_field(writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    let mut escaped = EscapeControl(writer);
    if field.name() == "message" {
        write!(escaped, "{value:?}")
    } else {
        write!(escaped, "{}={value:?}", field.name())
    }
}

/// Passes text on with the characters of `needs_escape` escaped as Rust
/// writes them (`\n`, `\u{202e}`).
struct EscapeControl<'a, W: Write + ?Sized>(&'a mut W);

impl<W: Write + ?Sized> Write for EscapeControl<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain_from = 0;
        for (at, ch) in text.char_indices() {
            if needs_escape(ch) {
                self.0.write_str(text.get(plain_from..at).unwrap_or_default())?;
                write!(self.0, "{}", ch.escape_default())?;
                plain_from = at + ch.len_utf8();
            }
        }
        self.0.write_str(text.get(plain_from..).unwrap_or_default())
    }
}

/// Control characters (C0, DEL, C1), the Unicode line and paragraph
/// separators, and the bidirectional embedding, override and isolate marks.
fn needs_escape(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What `run` logs, formatted as the server formats it (without colours).
#[cfg(test)]
pub fn capture(run: impl FnOnce()) -> String {
    capture_as(LogFormat::Text, run)
}

/// What `run` logs in `format`.
#[cfg(test)]
pub fn capture_as(format: LogFormat, run: impl FnOnce()) -> String {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let builder = tracing_subscriber::fmt()
        .fmt_fields(escaped_fields())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone());
    match format {
        LogFormat::Text => tracing::subscriber::with_default(builder.finish(), run),
        LogFormat::Json => tracing::subscriber::with_default(builder.event_format(json::JsonLines).finish(), run),
    }
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_fields_are_escaped_whatever_the_formatting() {
        let outside = "evil\nINFO romgate: admin signed in\r\u{1b}[31m\u{202e}\t\u{85}";
        let logged = capture(|| {
            tracing::warn!(display = %outside, debug = ?outside, plain = outside, "refused {}", outside);
        });
        assert_eq!(logged.matches('\n').count(), 1, "one event, one line: {logged:?}");
        assert!(logged.ends_with('\n'));
        let line = logged.trim_end_matches('\n');
        assert!(!line.chars().any(needs_escape), "{line:?}");
        assert!(
            line.contains(r"display=evil\nINFO romgate: admin signed in\r\u{1b}[31m\u{202e}\t\u{85}"),
            "{line}"
        );
        assert!(line.contains(r#"debug="evil\nINFO"#), "{line}");
        assert!(line.contains(r"refused evil\nINFO"), "{line}");
    }

    #[test]
    fn the_log_format_is_text_unless_json_is_asked_for() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some(" ")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("Text")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("JSON")), Ok(LogFormat::Json));
        let refused = LogFormat::parse(Some("xml")).expect_err("unknown");
        assert!(refused.starts_with("ROMGATE_LOG_FORMAT: 'xml'"), "{refused}");
    }

    #[test]
    fn json_lines_are_json_with_every_control_character_escaped() {
        let outside = "evil\nINFO romgate: admin signed in\r\u{1b}[31m\u{202e}\t\u{85}\u{7f}\u{2028}";
        let logged = capture_as(LogFormat::Json, || {
            let span = tracing::info_span!("sign_in", user_id = 7, who = %outside);
            let _entered = span.enter();
            tracing::warn!(display = %outside, count = 3, ok = true, "refused {}", outside);
        });
        assert_eq!(logged.matches('\n').count(), 1, "one event, one line: {logged:?}");
        let line = logged.trim_end_matches('\n');
        assert!(!line.chars().any(needs_escape), "{line:?}");
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(value["level"], "WARN");
        assert_eq!(value["fields"]["display"], outside, "the text survives, escaped");
        assert_eq!(value["fields"]["message"], format!("refused {outside}"));
        assert_eq!(value["fields"]["count"], 3);
        assert_eq!(value["fields"]["ok"], true);
        assert_eq!(value["spans"][0]["name"], "sign_in");
        let span_fields = value["spans"][0]["fields"].as_str().expect("span fields");
        assert!(span_fields.starts_with("user_id=7 who=evil\\n"), "{span_fields}");
        assert!(value["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let logged = capture(|| tracing::info!(file = %"Zelda (USA) ポケモン.z64", count = 3, "library scanned"));
        assert!(
            logged
                .trim_end()
                .ends_with("library scanned file=Zelda (USA) ポケモン.z64 count=3"),
            "{logged}"
        );
    }
}
