//! What the code under test logs, formatted as the server formats it
//! (romgate's escaping field formatter, no colours). Captures the current
//! thread: a `#[tokio::test]` (current-thread runtime) runs the app there.

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct LogCapture {
    buffer: Buffer,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    /// Captures every line logged on this thread until dropped.
    pub fn start() -> LogCapture {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(romgate::logging::escaped_fields())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        LogCapture { buffer, _guard: guard }
    }

    /// The lines logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().expect("lock")).into_owned()
    }

    /// The one line containing `needle`.
    pub fn line(&self, needle: &str) -> String {
        let text = self.text();
        let found: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(found.len(), 1, "one line with {needle:?} in:\n{text}");
        found[0].to_string()
    }
}
