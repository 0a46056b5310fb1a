//! Serving a file: streamed from disk in large chunks (never read whole;
//! see `body`), one byte range at a time (RFC 9110 §14, see `range`), with
//! validators and conditional requests (see `validators`), HEAD without a
//! read, under a Content-Disposition that no file name can break out of
//! (RFC 6266, with RFC 5987's `filename*`).

mod body;
mod range;
mod validators;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, AppResult, Code};
use crate::library::RomFile;
use crate::store::Rom;
pub use range::{RangeRequest, parse_range};
pub use validators::{Conditions, Decision, Validators, decide};

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

/// The request headers a download answers to.
pub struct DownloadRequest<'a> {
    /// HEAD: the headers a GET would get, no body (and no read).
    pub head: bool,
    pub range: Option<&'a str>,
    pub conditions: Conditions<'a>,
}

impl<'a> DownloadRequest<'a> {
    pub fn from_parts(method: &Method, headers: &'a HeaderMap) -> Self {
        let text = |name| headers.get(name).map(|v: &HeaderValue| v.to_str().unwrap_or_default());
        DownloadRequest {
            head: method == Method::HEAD,
            // A Range header that is not text is malformed (416, as before):
            // a value without `=` says so to `parse_range`.
            range: headers.get(header::RANGE).map(|v| v.to_str().unwrap_or("not text")),
            conditions: Conditions {
                if_none_match: text(header::IF_NONE_MATCH),
                if_modified_since: text(header::IF_MODIFIED_SINCE),
                if_range: text(header::IF_RANGE),
            },
        }
    }
}

/// The file, whole (200) or the requested range (206), 304 when the
/// client's copy is current, or 416.
pub async fn file_response(rom: RomFile, request: &DownloadRequest<'_>) -> AppResult<Response> {
    let validators = Validators::of(rom.rom_id, rom.size, rom.modified);
    let range = match decide(&validators, request.conditions) {
        Decision::NotModified => return Ok(not_modified(&validators)),
        Decision::Serve => parse_range(request.range, rom.size),
        Decision::ServeWhole => RangeRequest::Full,
    };
    let (status, start, length) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, rom.size),
        RangeRequest::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => return Ok(unsatisfiable(rom.size)),
    };
    let body = if request.head {
        Body::empty()
    } else {
        body::file_body(rom.file, start, length).await
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    insert_validators(headers, &validators);
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

/// ETag, Last-Modified and the caching headers every answer about the
/// file carries (a 304 must repeat them).
fn insert_validators(headers: &mut HeaderMap, validators: &Validators) {
    // Signed-in content (SPEC 9): no copy in the browser's cache. The
    // validators stay for clients that resume (If-Range) or check first.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&validators.etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = validators
        .last_modified_header()
        .and_then(|date| HeaderValue::from_str(&date).ok())
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
}

fn not_modified(validators: &Validators) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    insert_validators(response.headers_mut(), validators);
    response
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
