//! Server-rendered pages: login, first-boot setup, home, the library, the
//! administrators' users page, and a page for every refusal. Plain HTML
//! forms; their CSRF token travels in a hidden field, checked as
//! `http::csrf` says (bound to the session once there is one).

mod account;
mod admin;
mod error_page;
mod guard;
mod library;
mod logout;
mod own_account;

pub use error_page::{PageError, not_found_page};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(account::get_home))
        .route("/login", get(account::get_login).post(account::post_login))
        .route("/setup", get(account::get_setup).post(account::post_setup))
        .route("/logout", get(logout::get_logout).post(logout::post_logout))
        .route(
            "/account",
            get(own_account::get_account).post(own_account::post_account),
        )
        .route("/static/style.css", get(get_stylesheet))
        .route("/library", get(library::get_library))
        .route("/library/{slug}", get(library::get_platform))
        .route("/library/roms/{id}/delete", post(library::post_delete_rom))
        .route("/admin/users", get(admin::get_users))
        .route("/admin/users/{id}/role", post(admin::post_role))
        .route("/admin/users/{id}/enabled", post(admin::post_enabled))
        .route("/admin/users/{id}/delete", post(admin::post_delete))
        .route("/admin/users/{id}/unlock", post(admin::post_unlock))
}

/// The upload form's route (see `http::router` for why it is apart).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/library/upload", post(library::post_upload))
}

async fn get_stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
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

/// `next` if it is a same-origin relative path, else `/`: never an open
/// redirect (`//evil`, `/\evil`, `https://...`, control characters).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\')
                && path.len() <= 2048 =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn next_is_kept_only_for_local_paths() {
        assert_eq!(safe_next(Some("/library?x=1")), "/library?x=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }
}
