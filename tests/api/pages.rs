//! The HTML pages: home, login, setup, logout, errors and the stylesheet.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::util::{PASSWORD, TestApp, TestResponse, enc};

/// A browser that has loaded a page: its CSRF cookie (= the form field).
struct PageBrowser {
    csrf: String,
    session: Option<String>,
}

impl PageBrowser {
    fn from_page(page: &TestResponse) -> Self {
        let csrf = page.cookie_value("romm_csrftoken").expect("a CSRF cookie");
        PageBrowser { csrf, session: None }
    }

    fn cookie(&self) -> String {
        match &self.session {
            Some(session) => format!("romm_session={session}; romm_csrftoken={}", self.csrf),
            None => format!("romm_csrftoken={}", self.csrf),
        }
    }
}

/// The value of the hidden `csrf_token` field of the page.
fn csrf_field(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

fn assert_redirect(response: &TestResponse, to: &str) {
    let location = response.header("location").unwrap_or_default();
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    assert_eq!(location, to);
}

fn assert_html(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{}", response.text());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "HTML, got {content_type:?}");
}

fn assert_no_session(response: &TestResponse) {
    assert!(response.set_cookie("romm_session").is_none(), "{:?}", response.headers);
}

/// Loads `path` as a new browser; checks the CSRF cookie equals the form field.
async fn open(app: &TestApp, path: &str) -> (PageBrowser, TestResponse) {
    let page = app.get(path, &[]).await;
    assert_html(&page, StatusCode::OK);
    let browser = PageBrowser::from_page(&page);
    let field = csrf_field(&page.text());
    assert_eq!(
        field.as_deref(),
        Some(browser.csrf.as_str()),
        "the form carries the cookie's token"
    );
    (browser, page)
}

/// Posts a form as `browser` (its cookies).
async fn submit(app: &TestApp, path: &str, browser: &PageBrowser, form: &str) -> TestResponse {
    app.post_form(path, &[("cookie", &browser.cookie())], form).await
}

/// Posts the login form for "root" with the CSRF field `csrf`.
async fn post_login(app: &TestApp, browser: &PageBrowser, csrf: &str, password: &str, next: &str) -> TestResponse {
    let form = format!(
        "csrf_token={}&username=root&password={}&next={}",
        enc(csrf),
        enc(password),
        enc(next)
    );
    submit(app, "/login", browser, &form).await
}

/// Signs "root" in through the login page; keeps the new session's CSRF
/// token the answer hands out.
async fn page_login(app: &TestApp) -> PageBrowser {
    let (mut browser, _) = open(app, "/login").await;
    let response = post_login(app, &browser, &browser.csrf, PASSWORD, "/").await;
    assert_redirect(&response, "/");
    browser.session = response.cookie_value("romm_session");
    assert!(browser.session.is_some(), "session cookie");
    let bound = response.cookie_value("romm_csrftoken").expect("a new CSRF token");
    assert_ne!(bound, browser.csrf, "the anonymous token is not kept into the session");
    browser.csrf = bound;
    browser
}

async fn me_status(app: &TestApp, browser: &PageBrowser) -> StatusCode {
    let session = browser.session.as_deref().unwrap_or_default();
    app.get("/api/users/me", &[("cookie", &format!("romm_session={session}"))])
        .await
        .status
}

async fn with_root(builder: crate::util::TestAppBuilder) -> TestApp {
    let app = builder.build().await;
    app.create_user("root", Role::Admin).await;
    app
}

fn oidc_app(provider: Option<&str>) -> crate::util::TestAppBuilder {
    let builder = TestApp::builder()
        .env("OIDC_ENABLED", "true")
        .env("OIDC_CLIENT_ID", "romgate")
        .env("OIDC_CLIENT_SECRET", "client-secret")
        .env("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid")
        .env("OIDC_SERVER_APPLICATION_URL", "http://127.0.0.1:9/");
    match provider {
        Some(name) => builder.env("OIDC_PROVIDER", name),
        None => builder,
    }
}

#[tokio::test]
async fn home_sends_to_setup_then_to_login() {
    let app = TestApp::new().await;
    assert_redirect(&app.get("/", &[]).await, "/setup");
    app.create_user("root", Role::Admin).await;
    assert_redirect(&app.get("/", &[]).await, "/login");
}

#[tokio::test]
async fn login_page_has_a_password_form_and_keeps_an_existing_csrf_cookie() {
    let app = with_root(TestApp::builder()).await;
    let (_, page) = open(&app, "/login").await;
    let html = page.text();
    assert!(
        html.contains(r#"name="password""#) && html.contains(r#"action="/login""#),
        "{html}"
    );
    assert!(!html.contains("Sign in with"), "no single sign-on button without OIDC");

    let again = app.get("/login", &[("cookie", "romm_csrftoken=rgc_mine")]).await;
    assert!(
        again.set_cookie("romm_csrftoken").is_none(),
        "an existing token is kept"
    );
    assert_eq!(csrf_field(&again.text()).as_deref(), Some("rgc_mine"));
}

#[tokio::test]
async fn login_with_csrf_and_good_credentials_signs_in() {
    let app = with_root(TestApp::builder()).await;
    let (mut browser, _) = open(&app, "/login").await;
    let response = post_login(&app, &browser, &browser.csrf, PASSWORD, "").await;
    assert_redirect(&response, "/");
    let cookie = response.set_cookie("romm_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} in {cookie}");
    }
    browser.session = response.cookie_value("romm_session");
    assert_eq!(me_status(&app, &browser).await, StatusCode::OK);
}

#[tokio::test]
async fn login_without_the_right_csrf_field_is_403_and_signs_nobody_in() {
    let app = TestApp::new().await;
    let root = app.create_user("root", Role::Admin).await;
    let (browser, _) = open(&app, "/login").await;
    let no_field = format!("username=root&password={}&next=%2F", enc(PASSWORD));
    let only_field = format!("{no_field}&csrf_token={}", enc(&browser.csrf));
    let attempts = [
        submit(&app, "/login", &browser, &no_field).await,
        post_login(&app, &browser, "rgc_wrong", PASSWORD, "/").await,
        post_login(&app, &browser, "", PASSWORD, "/").await,
        // The field without its cookie.
        app.post_form("/login", &[], &only_field).await,
    ];
    for response in &attempts {
        assert_html(response, StatusCode::FORBIDDEN);
        assert_no_session(response);
    }
    let sessions = app.store().count_sessions(root.id, app.now()).await.unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn wrong_password_is_a_401_page_that_still_shows_the_form() {
    let app = with_root(TestApp::builder()).await;
    let (browser, _) = open(&app, "/login").await;
    let response = post_login(&app, &browser, &browser.csrf, "not the password", "/").await;
    assert_html(&response, StatusCode::UNAUTHORIZED);
    assert_no_session(&response);
    let html = response.text();
    assert!(html.contains("Incorrect username or password"), "{html}");
    assert!(html.contains(r#"name="password""#), "the form is shown again: {html}");
    assert!(!html.contains("not the password"));
}

#[tokio::test]
async fn next_is_followed_only_to_local_paths() {
    let app = with_root(TestApp::builder()).await;
    for (next, expected) in [
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/library?page=2", "/library?page=2"),
    ] {
        let (browser, _) = open(&app, "/login").await;
        let response = post_login(&app, &browser, &browser.csrf, PASSWORD, next).await;
        assert_redirect(&response, expected);
    }
    let page = app.get("/login?next=%2F%2Fevil.example", &[]).await;
    assert!(
        !page.text().contains("evil.example"),
        "the form must not carry an off-site next"
    );
}

#[tokio::test]
async fn setup_creates_the_admin_and_signs_them_in() {
    let app = TestApp::new().await;
    let (browser, page) = open(&app, "/setup").await;
    assert!(page.text().contains(r#"action="/setup""#));
    let form = format!(
        "csrf_token={}&username=boss&email=&password={}",
        enc(&browser.csrf),
        enc(PASSWORD)
    );
    let response = submit(&app, "/setup", &browser, &form).await;
    assert_redirect(&response, "/");
    let session = response.cookie_value("romm_session").expect("signed in");
    let home = app.get("/", &[("cookie", &format!("romm_session={session}"))]).await;
    assert_html(&home, StatusCode::OK);
    let html = home.text();
    assert!(
        html.contains("boss") && html.contains("<strong>admin</strong>"),
        "{html}"
    );
    let users = app.store().list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].username.as_str(), users[0].role), ("boss", Role::Admin));
}

#[tokio::test]
async fn setup_is_closed_once_an_admin_exists() {
    let app = with_root(TestApp::builder()).await;
    assert_redirect(&app.get("/setup", &[]).await, "/login");
    let browser = PageBrowser {
        csrf: "rgc_t".into(),
        session: None,
    };
    let form = format!("csrf_token=rgc_t&username=intruder&password={}", enc(PASSWORD));
    let response = submit(&app, "/setup", &browser, &form).await;
    assert!(
        response.status.is_client_error(),
        "{}: {}",
        response.status,
        response.text()
    );
    assert_no_session(&response);
    let users = app.store().list_users().await.unwrap();
    let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["root"]);
}

#[tokio::test]
async fn disabled_password_login_shows_no_form_and_refuses_the_post() {
    let app = with_root(TestApp::builder().env("DISABLE_USERPASS_LOGIN", "true")).await;
    let page = app.get("/login", &[]).await;
    assert_html(&page, StatusCode::OK);
    assert!(!page.text().contains(r#"name="password""#), "{}", page.text());
    let browser = PageBrowser::from_page(&page);
    let response = post_login(&app, &browser, &browser.csrf, PASSWORD, "/").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_no_session(&response);
}

#[tokio::test]
async fn oidc_button_carries_the_provider_name() {
    for (provider, label) in [(Some("Authelia"), "Sign in with Authelia"), (None, "Sign in with OIDC")] {
        let app = with_root(oidc_app(provider)).await;
        let page = app.get("/login", &[]).await;
        assert_html(&page, StatusCode::OK);
        let html = page.text();
        assert!(html.contains(label), "{label}: {html}");
        assert!(html.contains(r#"href="/api/login/openid"#), "{html}");
        assert!(html.contains(r#"name="password""#), "passwords still allowed");
        assert!(!html.contains("client-secret"));
    }
}

#[tokio::test]
async fn disabled_setup_wizard_shows_the_cli_and_refuses_the_post() {
    let app = TestApp::builder().env("DISABLE_SETUP_WIZARD", "true").build().await;
    let page = app.get("/setup", &[]).await;
    assert_html(&page, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("romgate user create"), "{html}");
    assert!(!html.contains(r#"action="/setup""#), "no form: {html}");
    let browser = PageBrowser::from_page(&page);
    let form = format!(
        "csrf_token={}&username=boss&password={}",
        enc(&browser.csrf),
        enc(PASSWORD)
    );
    let response = submit(&app, "/setup", &browser, &form).await;
    assert_html(&response, StatusCode::FORBIDDEN);
    assert_no_session(&response);
    assert!(app.store().list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_logout_with_the_csrf_field_ends_the_session() {
    let app = with_root(TestApp::builder()).await;
    let browser = page_login(&app).await;

    let refused = submit(&app, "/logout", &browser, "csrf_token=rgc_wrong").await;
    assert_html(&refused, StatusCode::FORBIDDEN);
    assert_eq!(
        me_status(&app, &browser).await,
        StatusCode::OK,
        "a forged logout changes nothing"
    );

    let response = submit(&app, "/logout", &browser, &format!("csrf_token={}", enc(&browser.csrf))).await;
    assert_redirect(&response, "/login");
    let cleared = response.set_cookie("romm_session").unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "cookie cleared: {cleared:?}");
    assert_eq!(me_status(&app, &browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_pages_are_a_404_page() {
    let app = TestApp::new().await;
    let response = app.get("/no/such/page", &[]).await;
    assert_html(&response, StatusCode::NOT_FOUND);
    assert!(response.text().contains("Page not found"));
}

#[tokio::test]
async fn the_stylesheet_is_css() {
    let app = TestApp::new().await;
    let response = app.get("/static/style.css", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/css"), "{content_type:?}");
    assert!(!response.body.is_empty());
}

// A browser behind a proxy that adds HTTP Basic to every request is given
// no CSRF cookie: the page still renders (with an empty token, not a 500),
// and its form is refused as a CSRF failure, changing nothing.
#[tokio::test]
async fn a_page_requested_with_an_authorization_header_renders_and_its_form_is_refused() {
    let app = with_root(TestApp::builder()).await;
    let basic = [("authorization", "Basic cHJveHk6cHJveHk=")];
    let page = app.get("/login", &basic).await;
    assert_html(&page, StatusCode::OK);
    assert!(page.set_cookie("romm_csrftoken").is_none(), "{:?}", page.headers);
    assert_eq!(csrf_field(&page.text()).as_deref(), Some(""));

    let form = format!("csrf_token=&username=root&password={}&next=%2F", enc(PASSWORD));
    let refused = app.post_form("/login", &basic, &form).await;
    assert_html(&refused, StatusCode::FORBIDDEN);
    assert_no_session(&refused);
}
