//! A served file's validators and the conditional requests they answer
//! (RFC 9110 §8.8, §13): `ETag` and `Last-Modified` out; `If-None-Match`,
//! `If-Modified-Since` and `If-Range` in.
//!
//! The ETag is strong, made of the ROM's id, the file's size and its
//! modification time in nanoseconds. Strong because `If-Range` (resuming a
//! download) accepts only strong validators, and a weak tag would turn every
//! resume into a full download; honest because any write that changes the
//! bytes changes the size or the nanosecond mtime (nginx and Apache make
//! their strong tags from size and mtime in seconds, a coarser guarantee).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a file's answers are validated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The quoted entity-tag, as sent: `"<id>-<size>-<mtime ns>"` in hex.
    pub etag: String,
    /// The modification time in whole seconds (HTTP dates have no finer
    /// resolution), when the filesystem keeps one.
    pub last_modified: Option<SystemTime>,
}

impl Validators {
    pub fn of(rom_id: i64, size: u64, modified: Option<SystemTime>) -> Self {
        let since_epoch = modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let nanos = since_epoch.map_or(0, |d| d.as_nanos());
        Self {
            etag: format!("\"{rom_id:x}-{size:x}-{nanos:x}\""),
            last_modified: since_epoch.map(|d| UNIX_EPOCH + Duration::from_secs(d.as_secs())),
        }
    }

    /// The `Last-Modified` value (IMF-fixdate).
    pub fn last_modified_header(&self) -> Option<String> {
        self.last_modified.map(httpdate::fmt_http_date)
    }
}

/// What the conditional headers of a GET or HEAD decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 304: the client's copy is current.
    NotModified,
    /// Serve, honouring a `Range` header.
    Serve,
    /// Serve the whole file: `If-Range` names another version, so a range
    /// of this one would be spliced into the wrong bytes.
    ServeWhole,
}

/// The conditional headers of one request, as sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Conditions<'a> {
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_range: Option<&'a str>,
}

/// RFC 9110 §13.2.2 for GET and HEAD: `If-None-Match` (weak comparison)
/// first; `If-Modified-Since` only without it; then `If-Range` (strong
/// comparison, or a date equal to Last-Modified). A header that cannot be
/// parsed is ignored, as the RFC asks.
pub fn decide(validators: &Validators, conditions: Conditions<'_>) -> Decision {
    if let Some(header) = conditions.if_none_match {
        if none_match_hits(header, &validators.etag) {
            return Decision::NotModified;
        }
    } else if let (Some(since), Some(modified)) = (conditions.if_modified_since, validators.last_modified)
        && httpdate::parse_http_date(since.trim()).is_ok_and(|since| modified <= since)
    {
        return Decision::NotModified;
    }
    match conditions.if_range {
        Some(header) if !if_range_matches(header, validators) => Decision::ServeWhole,
        _ => Decision::Serve,
    }
}

/// `If-None-Match: *` or a list of entity-tags, one of which matches ours
/// by weak comparison (`W/` ignored).
fn none_match_hits(header: &str, etag: &str) -> bool {
    if header.trim() == "*" {
        return true;
    }
    entity_tags(header).any(|(_, tag)| tag == etag)
}

/// `If-Range`: an entity-tag must match ours strongly (neither weak); a
/// date must be our Last-Modified exactly.
fn if_range_matches(header: &str, validators: &Validators) -> bool {
    let header = header.trim();
    if header.starts_with('"') || header.starts_with("W/") {
        let mut tags = entity_tags(header);
        return matches!((tags.next(), tags.next()), (Some((false, tag)), None) if tag == validators.etag);
    }
    match (httpdate::parse_http_date(header), validators.last_modified) {
        (Ok(date), Some(modified)) => date == modified,
        _ => false,
    }
}

/// The entity-tags of a comma-separated list, each as (weak, `"opaque"`);
/// stops at the first thing that is not one. An opaque tag may itself hold
/// commas, so the list is read quote by quote, not split on commas.
fn entity_tags(list: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = list;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (weak, tail) = match rest.strip_prefix("W/") {
            Some(tail) => (true, tail),
            None => (false, rest),
        };
        let after_quote = tail.strip_prefix('"')?;
        let close = after_quote.find('"')?;
        let (tag, remainder) = tail.split_at_checked(close + 2)?;
        rest = remainder;
        Some((weak, tag))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators() -> Validators {
        Validators::of(7, 1000, Some(UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789)))
    }

    const DATE: &str = "Fri, 15 Jan 2027 08:00:00 GMT";
    const EARLIER: &str = "Fri, 15 Jan 2027 07:59:59 GMT";

    fn decide_with(if_none_match: Option<&str>, if_modified_since: Option<&str>, if_range: Option<&str>) -> Decision {
        decide(
            &validators(),
            Conditions {
                if_none_match,
                if_modified_since,
                if_range,
            },
        )
    }

    #[test]
    fn tags_name_id_size_and_nanoseconds_and_dates_drop_the_fraction() {
        let v = validators();
        assert_eq!(v.etag, format!("\"7-3e8-{:x}\"", 1_800_000_000_123_456_789_u128));
        assert_eq!(v.last_modified_header().as_deref(), Some(DATE));
        assert_eq!(Validators::of(7, 1000, None).last_modified_header(), None);
        assert_ne!(Validators::of(8, 1000, None).etag, Validators::of(7, 1000, None).etag);
    }

    #[test]
    fn if_none_match_compares_weakly_and_wins_over_if_modified_since() {
        let etag = validators().etag;
        let weak = format!("W/{etag}");
        let listed = format!("\"a,b\", {etag}");
        for header in [etag.as_str(), weak.as_str(), listed.as_str(), "*", " * "] {
            assert_eq!(decide_with(Some(header), None, None), Decision::NotModified, "{header}");
        }
        for header in ["\"other\"", "", "garbage", "\"7-3e8\""] {
            assert_eq!(decide_with(Some(header), Some(DATE), None), Decision::Serve, "{header}");
        }
    }

    #[test]
    fn if_modified_since_is_304_from_the_modification_second_on() {
        assert_eq!(decide_with(None, Some(DATE), None), Decision::NotModified);
        assert_eq!(
            decide_with(None, Some("Sat, 16 Jan 2027 00:00:00 GMT"), None),
            Decision::NotModified
        );
        assert_eq!(decide_with(None, Some(EARLIER), None), Decision::Serve);
        assert_eq!(decide_with(None, Some("yesterday"), None), Decision::Serve);
    }

    #[test]
    fn if_range_needs_a_strong_match_or_the_exact_date() {
        let etag = validators().etag;
        assert_eq!(decide_with(None, None, Some(&etag)), Decision::Serve);
        assert_eq!(decide_with(None, None, Some(DATE)), Decision::Serve);
        let weak = format!("W/{etag}");
        let two = format!("{etag}, {etag}");
        for header in [weak.as_str(), two.as_str(), "\"other\"", EARLIER, "soon", ""] {
            assert_eq!(decide_with(None, None, Some(header)), Decision::ServeWhole, "{header}");
        }
    }

    #[test]
    fn entity_tag_lists_are_read_quote_by_quote() {
        let tags: Vec<_> = entity_tags(r#" "a", W/"b,c",,"" x"#).collect();
        assert_eq!(tags, [(false, "\"a\""), (true, "\"b,c\""), (false, "\"\"")]);
        assert_eq!(entity_tags("\"unterminated").count(), 0);
        assert_eq!(entity_tags("W/").count(), 0);
    }
}
