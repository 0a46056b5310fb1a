//! Serving a file: streamed from disk in small chunks (never read whole),
//! one byte range at a time (RFC 9110 §14), under a Content-Disposition that
//! no file name can break out of (RFC 6266, with RFC 5987's `filename*`).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::error::{AppError, AppResult, Code};
use crate::library::RomFile;
use crate::store::Rom;

/// Bytes read from disk at a time.
const CHUNK: usize = 64 * 1024;

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range (or one we may ignore: another unit, several ranges).
    Full,
    /// Bytes `start..=end`, both inside the file.
    Partial { start: u64, end: u64 },
    /// Malformed, or outside the file: 416.
    Unsatisfiable,
}

/// A run of ASCII digits; a number too large for u64 saturates.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(value) = header else {
        return RangeRequest::Full;
    };
    let Some((unit, spec)) = value.split_once('=') else {
        return RangeRequest::Unsatisfiable;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Unsatisfiable;
    };
    let (first, last) = (first.trim(), last.trim());
    let last_byte = match size.checked_sub(1) {
        Some(last_byte) => last_byte,
        None => return RangeRequest::Unsatisfiable,
    };
    if first.is_empty() {
        return match digits(last) {
            Some(suffix) if suffix > 0 => RangeRequest::Partial {
                start: size.saturating_sub(suffix),
                end: last_byte,
            },
            _ => RangeRequest::Unsatisfiable,
        };
    }
    let Some(start) = digits(first) else {
        return RangeRequest::Unsatisfiable;
    };
    let end = if last.is_empty() { Some(last_byte) } else { digits(last) };
    match end {
        Some(end) if start <= end && start <= last_byte => RangeRequest::Partial {
            start,
            end: end.min(last_byte),
        },
        _ => RangeRequest::Unsatisfiable,
    }
}

/// Percent-encodes every byte but `A-Z a-z 0-9 - . _ ~`: safe as a URL path
/// segment and as an RFC 5987 value.
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `attachment` with an ASCII fallback name (quotes, backslashes, `%` and
/// anything not printable ASCII replaced) and the exact name in `filename*`.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        encode_segment(file_name)
    )
}

/// The file, whole (200) or the requested range (206), or 416.
pub async fn file_response(rom: RomFile, range: Option<&HeaderValue>) -> AppResult<Response> {
    let range = match range {
        Some(value) => match value.to_str() {
            Ok(text) => parse_range(Some(text), rom.size),
            Err(_) => RangeRequest::Unsatisfiable,
        },
        None => RangeRequest::Full,
    };
    let (status, start, length) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, rom.size),
        RangeRequest::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => return Ok(unsatisfiable(rom.size)),
    };
    let mut file = rom.file;
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| AppError::internal_from("seeking in a ROM", e))?;
    }
    let body = Body::from_stream(ReaderStream::with_capacity(file.take(length), CHUNK));
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&rom.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let end = start + length - 1;
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", rom.size)) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

fn unsatisfiable(size: u64) -> Response {
    let mut response = AppError::bad_request(
        Code::RangeNotSatisfiable,
        format!("The requested range is not valid for this file of {size} bytes."),
    )
    .into_response();
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// Where a ROM's file is downloaded (its name encoded as one segment).
pub fn rom_download_path(rom: &Rom) -> String {
    format!("/api/roms/{}/content/{}", rom.id, encode_segment(&rom.file_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::{Full, Partial, Unsatisfiable};

    #[test]
    fn ranges_follow_rfc_9110() {
        let table: &[(Option<&str>, u64, RangeRequest)] = &[
            (None, 100, Full),
            (Some("bytes=0-9"), 100, Partial { start: 0, end: 9 }),
            (Some("bytes=90-"), 100, Partial { start: 90, end: 99 }),
            (Some("bytes=-10"), 100, Partial { start: 90, end: 99 }),
            (Some("bytes=-1000"), 100, Partial { start: 0, end: 99 }),
            (Some("bytes=50-5000"), 100, Partial { start: 50, end: 99 }),
            (Some("Bytes = 1-1"), 100, Partial { start: 1, end: 1 }),
            (
                Some("bytes=0-99999999999999999999999"),
                100,
                Partial { start: 0, end: 99 },
            ),
            (Some("bytes=100-"), 100, Unsatisfiable),
            (Some("bytes=100-200"), 100, Unsatisfiable),
            (Some("bytes=9-5"), 100, Unsatisfiable),
            (Some("bytes=-0"), 100, Unsatisfiable),
            (Some("bytes=-"), 100, Unsatisfiable),
            (Some("bytes=a-b"), 100, Unsatisfiable),
            (Some("bytes=+1-2"), 100, Unsatisfiable),
            (Some("bytes 0-1"), 100, Unsatisfiable),
            (Some("bytes=0-0"), 0, Unsatisfiable),
            (Some("bytes=0-1,5-6"), 100, Full),
            (Some("items=0-1"), 100, Full),
        ];
        for (header, size, expected) in table {
            assert_eq!(&parse_range(*header, *size), expected, "{header:?} of {size}");
        }
    }

    #[test]
    fn names_are_encoded_strictly() {
        assert_eq!(encode_segment("Zelda (USA).z64"), "Zelda%20%28USA%29.z64");
        assert_eq!(encode_segment("a/b\\c\"é"), "a%2Fb%5Cc%22%C3%A9");
    }

    #[test]
    fn dispositions_cannot_be_broken_out_of() {
        let value = content_disposition("evil\"; filename=\"x.exe\\ é%.gb");
        assert_eq!(
            value,
            "attachment; filename=\"evil_; filename=_x.exe_ __.gb\"; \
             filename*=UTF-8''evil%22%3B%20filename%3D%22x.exe%5C%20%C3%A9%25.gb"
        );
        assert!(HeaderValue::from_str(&value).is_ok());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn range_text() -> impl Strategy<Value = String> {
            let number = prop_oneof![
                Just(String::new()),
                (0u64..300).prop_map(|n| n.to_string()),
                "[0-9]{18,24}"
            ];
            prop_oneof![
                "\\PC{0,24}",
                ("[bB]ytes ?= ?", number.clone(), "-| - ", number).prop_map(|(u, a, d, b)| format!("{u}{a}{d}{b}")),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// A range served is inside the file; nothing panics.
            #[test]
            fn a_partial_range_lies_inside_the_file(header in range_text(), size in prop_oneof![0u64..300, Just(u64::MAX)]) {
                if let RangeRequest::Partial { start, end } = parse_range(Some(&header), size) {
                    prop_assert!(start <= end && end < size, "{header:?} of {size}: {start}-{end}");
                }
            }

            /// `bytes=a-b` inside the file is exactly that range.
            #[test]
            fn a_range_inside_the_file_is_taken_as_it_is(size in 1u64..10_000, a in 0u64..10_000, b in 0u64..10_000) {
                let (start, end) = (a.min(b) % size, a.max(b) % size);
                let (start, end) = (start.min(end), start.max(end));
                let expected = RangeRequest::Partial { start, end };
                prop_assert_eq!(parse_range(Some(&format!("bytes={start}-{end}")), size), expected);
            }

            /// Any file name gives a valid header whose quoted name cannot be
            /// broken out of, and an encoded name that decodes to itself.
            #[test]
            fn any_name_makes_a_safe_disposition(name in "\\PC{0,40}") {
                let value = content_disposition(&name);
                prop_assert!(HeaderValue::from_str(&value).is_ok(), "{value:?}");
                let quoted = value
                    .strip_prefix("attachment; filename=\"")
                    .and_then(|rest| rest.split_once("\"; filename*=UTF-8''"));
                let (fallback, encoded) = quoted.ok_or_else(|| TestCaseError::fail(value.clone()))?;
                prop_assert!(!fallback.contains(['"', '\\']));
                prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
                let decoded: Vec<(String, String)> =
                    url::form_urlencoded::parse(format!("n={encoded}").as_bytes()).into_owned().collect();
                prop_assert_eq!(decoded, vec![("n".to_string(), name.clone())]);
            }
        }
    }
}
