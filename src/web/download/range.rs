//! One byte range of a file (RFC 9110 §14): what a `Range` header asks.

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
}
