//! Property tests of the parsers of outside input that a request reaches,
//! through the real router: whatever a client puts in an Authorization or
//! Cookie header, a Range header, a `next` or a code in the address, the
//! answer is never a 5xx and never echoes a credential; a redirect after
//! signing in never leaves the site. (The parsers' own properties, round
//! trips included, are unit tests beside them.) Case counts are bounded;
//! PROPTEST_CASES raises them.

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use romgate::auth::Role;

use crate::library_support::{listed, pattern, put_file, scan};
use crate::properties_support::{
    header_bytes, no_server_error, not_echoed, runner, runtime, stays_on_site, tricky_text, with_header,
};
use crate::util::{Browser, PASSWORD, TestApp, enc, request};

const TOKEN_PIECES: &[&str] = &["rgs_", "rga_", "rgr_", "rmm_", "rgc_", "=", ";", " ", ":", "\t", "é"];

/// What follows `Basic ` or `Bearer `, or a whole header of any bytes.
fn authorization() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        header_bytes(80),
        header_bytes(60).prop_map(|rest| [b"Basic ".as_slice(), &rest].concat()),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|raw| format!("Basic {}", STANDARD.encode(raw)).into_bytes()),
        ("[^:]{0,12}", "\\PC{0,16}").prop_map(|(user, password)| crate::util::basic(&user, &password).into_bytes()),
        tricky_text(TOKEN_PIECES, 6).prop_map(|token| format!("Bearer {token}").into_bytes()),
        "[A-Za-z0-9_-]{0,80}".prop_map(|token| format!("bearer rga_{token}").into_bytes()),
        "[0-9a-fA-F]{60,68}".prop_map(|hex| format!("Bearer rmm_{hex}").into_bytes()),
    ]
}

#[test]
fn no_authorization_header_gets_a_server_error_or_an_echo() {
    let rt = runtime();
    let app = rt.block_on(async {
        let app = TestApp::new().await;
        app.create_user("vera", Role::Viewer).await;
        app
    });
    runner(160)
        .run(&authorization(), |value| {
            let shown = String::from_utf8_lossy(&value).into_owned();
            let request = with_header(Method::GET, "/api/users/me", "authorization", &value, &[]);
            let response = rt.block_on(app.send(request));
            no_server_error(&response, &shown)?;
            prop_assert!(
                matches!(response.status.as_u16(), 400 | 401 | 403 | 429),
                "{} for {shown:?}",
                response.status
            );
            let secret = shown.split_once(' ').map_or(shown.as_str(), |(_, rest)| rest);
            not_echoed(&response, secret)
        })
        .expect("property holds");
}

#[test]
fn the_right_basic_credentials_pass_whatever_their_case_of_scheme() {
    let rt = runtime();
    let app = rt.block_on(async {
        let app = TestApp::new().await;
        app.create_user("vera", Role::Viewer).await;
        app
    });
    let scheme = "[bB][aA][sS][iI][cC]";
    runner(24)
        .run(&scheme, |scheme| {
            let encoded = STANDARD.encode(format!("vera:{PASSWORD}"));
            let value = format!("{scheme} {encoded}");
            let response = rt.block_on(app.get("/api/users/me", &[("authorization", &value)]));
            prop_assert_eq!(response.status, StatusCode::OK, "{}", value);
            not_echoed(&response, &encoded)
        })
        .expect("property holds");
}

const COOKIE_PIECES: &[&str] = &[
    "romm_session",
    "romm_csrftoken",
    "romgate_oidc",
    "=",
    ";",
    " ",
    "\"",
    "rgs_",
    "rgc_",
    ",",
];

fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        header_bytes(100),
        tricky_text(COOKIE_PIECES, 10).prop_map(String::into_bytes)
    ]
}

#[test]
fn no_cookie_header_gets_a_server_error() {
    let rt = runtime();
    let (app, browser) = rt.block_on(async {
        let app = TestApp::new().await;
        let (_, browser) = app.signed_in("vera", Role::Viewer).await;
        (app, browser)
    });
    let paths = proptest::sample::select(vec!["/api/users/me", "/", "/login", "/devices", "/api/logout"]);
    runner(160)
        .run(
            &(cookie_header(), paths, any::<bool>()),
            |(value, path, with_session)| {
                let shown = String::from_utf8_lossy(&value).into_owned();
                let method = if path == "/api/logout" {
                    Method::POST
                } else {
                    Method::GET
                };
                let mut request = with_header(method, path, "cookie", &value, &[]);
                if with_session {
                    let session = format!("romm_session={}", browser.session);
                    let value = axum::http::HeaderValue::from_str(&session).expect("cookie");
                    request.headers_mut().append("cookie", value);
                }
                let response = rt.block_on(app.send(request));
                no_server_error(&response, &shown)
            },
        )
        .expect("property holds");
}

/// A Range header: any bytes, or `bytes=` with numbers near the file's size.
fn range_header() -> impl Strategy<Value = Vec<u8>> {
    let number = prop_oneof![
        Just(String::new()),
        (0u64..1100).prop_map(|n| n.to_string()),
        "[0-9]{15,25}"
    ];
    prop_oneof![
        header_bytes(40),
        ("[bB]ytes ?", number.clone(), number).prop_map(|(unit, a, b)| format!("{unit}={a}-{b}").into_bytes()),
    ]
}

#[test]
fn every_range_is_answered_with_exactly_its_bytes_or_416() {
    let rt = runtime();
    let bytes = pattern(1000, 3);
    let (app, browser, path) = rt.block_on(async {
        let app = TestApp::new().await;
        put_file(&app, "gb", "game.gb", &bytes);
        scan(&app).await;
        let (_, browser) = app.signed_in("vera", Role::Viewer).await;
        let id = listed(&app, &browser, "").await[0].0;
        (app, browser, format!("/api/roms/{id}/content/game.gb"))
    });
    runner(160)
        .run(&range_header(), |value| {
            let shown = String::from_utf8_lossy(&value).into_owned();
            let cookie = browser.cookie_header();
            let request = with_header(Method::GET, &path, "range", &value, &[("cookie", &cookie)]);
            let response = rt.block_on(app.send(request));
            no_server_error(&response, &shown)?;
            match response.status.as_u16() {
                200 => prop_assert_eq!(response.body.as_ref(), bytes.as_slice()),
                206 => {
                    let range = response.header("content-range").unwrap_or_default();
                    let (start, end) = content_range(range).ok_or_else(|| TestCaseError::fail(range.to_string()))?;
                    prop_assert!(start <= end && end < bytes.len(), "{range}");
                    prop_assert_eq!(response.body.as_ref(), &bytes[start..=end]);
                }
                416 => prop_assert_eq!(response.header("content-range"), Some("bytes */1000")),
                other => prop_assert!(false, "{other} for {shown:?}"),
            }
            Ok(())
        })
        .expect("property holds");
}

/// `bytes START-END/SIZE`.
fn content_range(value: &str) -> Option<(usize, usize)> {
    let (span, _) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?))
}

/// Pieces of open redirects and of paths that are fine.
const NEXT_PIECES: &[&str] = &[
    "/",
    "//",
    "\\",
    "/\\",
    "http:",
    "https://evil.example",
    "javascript:alert(1)",
    "%2F",
    "%5C",
    "\t",
    "\n",
    "é",
    " ",
    "?",
    "#",
    "@",
    ".",
    "..",
    "evil.example",
    "/library",
    "\u{3000}",
    "\u{ff0f}",
];

#[test]
fn a_signed_in_browser_is_sent_to_next_only_on_this_site() {
    let rt = runtime();
    let (app, browser) = rt.block_on(async {
        let app = TestApp::new().await;
        let (_, browser) = app.signed_in("vera", Role::Viewer).await;
        (app, browser)
    });
    runner(200)
        .run(&tricky_text(NEXT_PIECES, 6), |next| {
            let path = format!("/login?next={}", enc(&next));
            let response = rt.block_on(app.get(&path, &[("cookie", &browser.cookie_header())]));
            no_server_error(&response, &next)?;
            prop_assert_eq!(response.status, StatusCode::SEE_OTHER, "{:?}", next);
            stays_on_site(response.header("location").unwrap_or_default())
        })
        .expect("property holds");
}

#[test]
fn signing_in_with_a_password_sends_the_browser_to_next_only_on_this_site() {
    let rt = runtime();
    let app = rt.block_on(async {
        let app = TestApp::new().await;
        app.create_user("vera", Role::Viewer).await;
        app
    });
    runner(48)
        .run(&tricky_text(NEXT_PIECES, 6), |next| {
            let csrf = "rgc_property-test-token";
            let form = format!(
                "csrf_token={csrf}&username=vera&password={}&next={}",
                enc(PASSWORD),
                enc(&next)
            );
            let cookie = format!("romm_csrftoken={csrf}");
            let response = rt.block_on(app.post_form("/login", &[("cookie", &cookie)], &form));
            no_server_error(&response, &next)?;
            prop_assert_eq!(response.status, StatusCode::SEE_OTHER, "{:?}", next);
            stays_on_site(response.header("location").unwrap_or_default())
        })
        .expect("property holds");
}

const CODE_PIECES: &[&str] = &[
    "-", " ", "ABCD", "2345", "abcd", "0", "O", "I", "1", "é", "%", "/", "..",
];

#[test]
fn no_typed_code_gets_a_server_error() {
    let rt = runtime();
    let (app, browser) = rt.block_on(async {
        let app = TestApp::new().await;
        let (_, browser) = app.signed_in("vera", Role::Viewer).await;
        (app, browser)
    });
    let code = tricky_text(CODE_PIECES, 8);
    runner(96)
        .run(&(code, 0..3usize), |(code, endpoint)| {
            let cookie = browser.cookie_header();
            let response = rt.block_on(async {
                match endpoint {
                    0 => {
                        app.get(&format!("/api/client-tokens/pair/{}/status", enc(&code)), &[])
                            .await
                    }
                    1 => {
                        app.get(
                            &format!("/pair/device?user_code={}", enc(&code)),
                            &[("cookie", &cookie)],
                        )
                        .await
                    }
                    _ => {
                        let body = serde_json::json!({ "code": code });
                        app.post_json("/api/client-tokens/exchange", &[], body).await
                    }
                }
            });
            no_server_error(&response, &code)
        })
        .expect("property holds");
}

const SCOPE_PIECES: &[&str] = &["me.read", "roms.read", "users.write", " ", "  ", "\t", ".", "+", "é"];

#[test]
fn a_token_grant_gives_only_scopes_it_was_asked_for() {
    let rt = runtime();
    let app = rt.block_on(async {
        let app = TestApp::new().await;
        app.create_user("vera", Role::Viewer).await;
        app
    });
    runner(48)
        .run(&tricky_text(SCOPE_PIECES, 6), |scope| {
            let response = rt.block_on(app.token("vera", PASSWORD, &scope));
            no_server_error(&response, &scope)?;
            if response.status == StatusCode::OK {
                let granted = response.json()["scope"].as_str().unwrap_or_default().to_string();
                let asked: Vec<&str> = scope.split_whitespace().collect();
                // Asking for nothing is asking for the role's scopes.
                for name in granted.split_whitespace().filter(|_| !asked.is_empty()) {
                    prop_assert!(asked.contains(&name), "{name} granted for {scope:?}");
                }
            } else {
                prop_assert_eq!(response.status, StatusCode::BAD_REQUEST, "{:?}", scope);
            }
            Ok(())
        })
        .expect("property holds");
}

const NAME_PIECES: &[&str] = &[
    "/", "\\", "..", ".", "%2f", "%5C", "%00", "\0", " ", "game", ".gb", "é", "\"", ";",
];

/// An upload's file and platform names never put a file outside
/// `roms/<platform>/` of the library.
#[test]
fn no_upload_name_leaves_the_library() {
    let rt = runtime();
    let (app, editor) = rt.block_on(async {
        let app = TestApp::new().await;
        let (_, editor) = app.signed_in("edna", Role::Editor).await;
        (app, editor)
    });
    let roms = crate::library_support::library_dir(&app).join("roms");
    let names = (
        tricky_text(NAME_PIECES, 5),
        prop_oneof![Just("gb".to_string()), tricky_text(NAME_PIECES, 3)],
    );
    runner(64)
        .run(&names, |(file_name, platform)| {
            let response = rt.block_on(upload(&app, &editor, &platform, &file_name));
            no_server_error(&response, &format!("{platform:?} {file_name:?}"))?;
            for file in crate::library_support::files_under(&crate::library_support::library_dir(&app)) {
                let inside = file.strip_prefix(&roms).map(|rest| rest.components().count());
                prop_assert_eq!(inside, Ok(2), "{} after {:?} {:?}", file.display(), platform, file_name);
            }
            Ok(())
        })
        .expect("property holds");
}

async fn upload(app: &TestApp, editor: &Browser, platform: &str, file_name: &str) -> crate::util::TestResponse {
    let body = crate::library_support::multipart(&[("platform", platform)], Some((file_name, b"rom")));
    let cookie = editor.cookie_header();
    let content_type = crate::library_support::multipart_type();
    let headers = [
        ("cookie", cookie.as_str()),
        ("x-csrftoken", editor.csrf.as_str()),
        ("content-type", content_type.as_str()),
    ];
    app.send(request(Method::POST, "/api/roms", &headers, body.into()))
        .await
}
