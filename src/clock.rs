//! The current time, as a dependency: flows receive `now` so that expiry and
//! lockout are tested deterministically; and how romgate writes a time
//! (RFC 3339 for the API; a readable form for the pages).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    /// Unix time in seconds.
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: i64) -> Self {
        Self(Arc::new(AtomicI64::new(start)))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-11-28T18:50:17Z`), empty outside
/// the years 0 to 9999, exactly as the `time` crate's formatter writes it
/// (a test compares them) but without its general machinery.
pub fn format_time(unix: i64) -> String {
    let mut buffer = [0; RFC3339_LEN];
    write_time(unix, &mut buffer).unwrap_or_default().to_string()
}

pub const RFC3339_LEN: usize = 20;

/// `format_time` into a buffer on the stack (`/api/users/me` shows four of
/// these on every call); `None` outside the years 0 to 9999.
pub fn write_time(unix: i64, out: &mut [u8; RFC3339_LEN]) -> Option<&str> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let year = u32::try_from(t.year()).ok().filter(|year| *year <= 9999)?;
    let (hour, minute, second) = t.to_hms();
    let digit = |value: u32| b'0' + (value % 10) as u8;
    out[..5].copy_from_slice(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
    ]);
    let parts = [
        (u8::from(t.month()), b'-'),
        (t.day(), b'T'),
        (hour, b':'),
        (minute, b':'),
        (second, b'Z'),
    ];
    for (chunk, (value, separator)) in out[5..].chunks_exact_mut(3).zip(parts) {
        chunk.copy_from_slice(&[digit(u32::from(value) / 10), digit(u32::from(value)), separator]);
    }
    std::str::from_utf8(out).ok()
}

/// Unix seconds as people read them on a page: `30 Nov 2026, 14:02 UTC`
/// (the API keeps RFC 3339); empty outside what `time` can represent.
pub fn format_time_readable(unix: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return String::new();
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.get(usize::from(u8::from(t.month())) - 1).unwrap_or(&"");
    format!(
        "{} {month} {}, {:02}:{:02} UTC",
        t.day(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_times_name_the_day_month_year_and_utc() {
        assert_eq!(format_time_readable(1_796_047_320), "30 Nov 2026, 14:02 UTC");
        assert_eq!(format_time_readable(0), "1 Jan 1970, 00:00 UTC");
        assert_eq!(
            format_time_readable(951_782_400 + 5 * 3600 + 7 * 60),
            "29 Feb 2000, 05:07 UTC"
        );
        assert_eq!(format_time_readable(i64::MAX), "");
    }

    #[test]
    fn format_time_writes_what_the_time_crate_writes() {
        let rfc3339 = |unix: i64| {
            time::OffsetDateTime::from_unix_timestamp(unix)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default()
        };
        let samples = [
            0,
            -1,
            951_782_400, // 2000-02-29
            1_797_101_417,
            253_402_300_799, // 9999-12-31T23:59:59Z
            253_402_300_800, // year 10000: refused
            -62_167_219_200, // 0000-01-01T00:00:00Z
            -62_167_219_201, // year -1: refused
            i64::MAX,
            i64::MIN,
        ];
        for unix in samples {
            assert_eq!(format_time(unix), rfc3339(unix), "{unix}");
        }
        for unix in (0..4_000_000_000_i64).step_by(7_654_321) {
            assert_eq!(format_time(unix), rfc3339(unix), "{unix}");
        }
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }
}
