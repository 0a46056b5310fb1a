//! The HTML pages: home, login, setup, logout, errors and the stylesheet.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::util::{PASSWORD, TestApp, TestResponse, enc};

/// A browser that has loaded a page: its CSRF cookie (= the form field).
struct PageBrowser {
    csrf: String,
    session: Option<String>,
}

impl PageBrowser {
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

fn location(response: &TestResponse) -> &str {
    response.header("location").unwrap_or_default()
}

fn assert_html(response: &TestResponse) {
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/html"),
        "HTML page, got {content_type:?}"
    );
}

/// Loads `path` as a new browser; checks the CSRF cookie equals the form field.
async fn open(app: &TestApp, path: &str) -> (PageBrowser, TestResponse) {
    let page = app.get(path, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
    let cookie = page.cookie_value("romm_csrftoken").expect("a CSRF cookie");
    assert_eq!(
        csrf_field(&page.text()).as_deref(),
        Some(cookie.as_str()),
        "the form carries the cookie's token"
    );
    (
        PageBrowser {
            csrf: cookie,
            session: None,
        },
        page,
    )
}

async fn post_login(
    app: &TestApp,
    browser: &PageBrowser,
    csrf: &str,
    username: &str,
    password: &str,
    next: &str,
) -> TestResponse {
    let form = format!(
        "csrf_token={}&username={}&password={}&next={}",
        enc(csrf),
        enc(username),
        enc(password),
        enc(next)
    );
    app.post_form("/login", &[("cookie", &browser.cookie())], &form)
        .await
}

/// Signs `username` in through the login page.
async fn page_login(app: &TestApp, username: &str) -> PageBrowser {
    let (mut browser, _) = open(app, "/login").await;
    let csrf = browser.csrf.clone();
    let response = post_login(app, &browser, &csrf, username, PASSWORD, "/").await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    browser.session = Some(
        response
            .cookie_value("romm_session")
            .expect("session cookie"),
    );
    browser
}

async fn me_status(app: &TestApp, session: &str) -> StatusCode {
    app.get(
        "/api/users/me",
        &[("cookie", &format!("romm_session={session}"))],
    )
    .await
    .status
}

fn oidc_app(provider: Option<&str>) -> crate::util::TestAppBuilder {
    let builder = TestApp::builder()
        .env("OIDC_ENABLED", "true")
        .env("OIDC_CLIENT_ID", "romgate")
        .env("OIDC_CLIENT_SECRET", "client-secret")
        .env(
            "OIDC_REDIRECT_URI",
            "http://localhost:8080/api/oauth/openid",
        )
        .env("OIDC_SERVER_APPLICATION_URL", "http://127.0.0.1:9/");
    match provider {
        Some(name) => builder.env("OIDC_PROVIDER", name),
        None => builder,
    }
}

#[tokio::test]
async fn home_sends_to_setup_then_to_login() {
    let app = TestApp::new().await;
    let before = app.get("/", &[]).await;
    assert_eq!(
        (before.status, location(&before)),
        (StatusCode::SEE_OTHER, "/setup")
    );
    app.create_user("root", Role::Admin).await;
    let after = app.get("/", &[]).await;
    assert_eq!(
        (after.status, location(&after)),
        (StatusCode::SEE_OTHER, "/login")
    );
}

#[tokio::test]
async fn login_page_has_a_password_form_and_keeps_an_existing_csrf_cookie() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let (_, page) = open(&app, "/login").await;
    assert_html(&page);
    let html = page.text();
    assert!(
        html.contains(r#"name="password""#) && html.contains(r#"action="/login""#),
        "{html}"
    );
    assert!(
        !html.contains("Sign in with"),
        "no single sign-on button without OIDC"
    );

    let again = app
        .get("/login", &[("cookie", "romm_csrftoken=rgc_mine")])
        .await;
    assert!(
        again.set_cookie("romm_csrftoken").is_none(),
        "an existing token is kept"
    );
    assert_eq!(csrf_field(&again.text()).as_deref(), Some("rgc_mine"));
}

#[tokio::test]
async fn login_with_csrf_and_good_credentials_signs_in() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let (browser, _) = open(&app, "/login").await;
    let response = post_login(&app, &browser, &browser.csrf, "root", PASSWORD, "").await;
    assert_eq!(
        (response.status, location(&response)),
        (StatusCode::SEE_OTHER, "/")
    );
    let cookie = response.set_cookie("romm_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    let session = response.cookie_value("romm_session").unwrap();
    assert_eq!(me_status(&app, &session).await, StatusCode::OK);
}

#[tokio::test]
async fn login_without_the_right_csrf_field_is_403_and_signs_nobody_in() {
    let app = TestApp::new().await;
    let root = app.create_user("root", Role::Admin).await;
    let (browser, _) = open(&app, "/login").await;
    let no_field = format!("username=root&password={}&next=%2F", enc(PASSWORD));
    let attempts = [
        app.post_form("/login", &[("cookie", &browser.cookie())], &no_field)
            .await,
        post_login(&app, &browser, "rgc_wrong", "root", PASSWORD, "/").await,
        post_login(&app, &browser, "", "root", PASSWORD, "/").await,
        // The field without its cookie.
        app.post_form(
            "/login",
            &[],
            &format!("{no_field}&csrf_token={}", enc(&browser.csrf)),
        )
        .await,
    ];
    for response in &attempts {
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{}",
            response.text()
        );
        assert_html(response);
        assert!(response.set_cookie("romm_session").is_none());
    }
    assert_eq!(
        app.store()
            .count_sessions(root.id, app.now())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn wrong_password_is_a_401_page_that_still_shows_the_form() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let (browser, _) = open(&app, "/login").await;
    let response = post_login(
        &app,
        &browser,
        &browser.csrf,
        "root",
        "not the password",
        "/",
    )
    .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_html(&response);
    assert!(response.set_cookie("romm_session").is_none());
    let html = response.text();
    assert!(html.contains("Incorrect username or password"), "{html}");
    assert!(
        html.contains(r#"name="password""#),
        "the form is shown again: {html}"
    );
    assert!(!html.contains("not the password"));
}

#[tokio::test]
async fn next_is_followed_only_to_local_paths() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    for (next, expected) in [
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/library?page=2", "/library?page=2"),
    ] {
        let (browser, _) = open(&app, "/login").await;
        let response = post_login(&app, &browser, &browser.csrf, "root", PASSWORD, next).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), expected, "{next}");
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
    let response = app
        .post_form("/setup", &[("cookie", &browser.cookie())], &form)
        .await;
    assert_eq!(
        (response.status, location(&response)),
        (StatusCode::SEE_OTHER, "/"),
        "{}",
        response.text()
    );
    let session = response.cookie_value("romm_session").expect("signed in");
    let home = app
        .get("/", &[("cookie", &format!("romm_session={session}"))])
        .await;
    assert_eq!(home.status, StatusCode::OK);
    let html = home.text();
    assert!(
        html.contains("boss") && html.contains("<strong>admin</strong>"),
        "{html}"
    );
    let users = app.store().list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].username.as_str(), users[0].role),
        ("boss", Role::Admin)
    );
}

#[tokio::test]
async fn setup_is_closed_once_an_admin_exists() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let page = app.get("/setup", &[]).await;
    assert_eq!(
        (page.status, location(&page)),
        (StatusCode::SEE_OTHER, "/login")
    );
    let form = format!(
        "csrf_token=rgc_t&username=intruder&password={}",
        enc(PASSWORD)
    );
    let response = app
        .post_form("/setup", &[("cookie", "romm_csrftoken=rgc_t")], &form)
        .await;
    assert!(
        response.status.is_client_error(),
        "{}: {}",
        response.status,
        response.text()
    );
    assert!(response.set_cookie("romm_session").is_none());
    let users = app.store().list_users().await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["root"]
    );
}

#[tokio::test]
async fn disabled_password_login_shows_no_form_and_refuses_the_post() {
    let app = TestApp::builder()
        .env("DISABLE_USERPASS_LOGIN", "true")
        .build()
        .await;
    app.create_user("root", Role::Admin).await;
    let page = app.get("/login", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text().contains(r#"name="password""#),
        "{}",
        page.text()
    );
    let csrf = page.cookie_value("romm_csrftoken").unwrap();
    let browser = PageBrowser {
        csrf: csrf.clone(),
        session: None,
    };
    let response = post_login(&app, &browser, &csrf, "root", PASSWORD, "/").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.set_cookie("romm_session").is_none());
}

#[tokio::test]
async fn oidc_button_carries_the_provider_name() {
    for (provider, label) in [
        (Some("Authelia"), "Sign in with Authelia"),
        (None, "Sign in with OIDC"),
    ] {
        let app = oidc_app(provider).build().await;
        app.create_user("root", Role::Admin).await;
        let page = app.get("/login", &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains(label), "{label}: {html}");
        assert!(html.contains(r#"href="/api/login/openid"#), "{html}");
        assert!(
            html.contains(r#"name="password""#),
            "passwords still allowed"
        );
        assert!(!html.contains("client-secret"));
    }
}

#[tokio::test]
async fn disabled_setup_wizard_shows_the_cli_and_refuses_the_post() {
    let app = TestApp::builder()
        .env("DISABLE_SETUP_WIZARD", "true")
        .build()
        .await;
    let page = app.get("/setup", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let browser = PageBrowser {
        csrf: page.cookie_value("romm_csrftoken").unwrap(),
        session: None,
    };
    let html = page.text();
    assert!(html.contains("romgate user create"), "{html}");
    assert!(!html.contains(r#"action="/setup""#), "no form: {html}");
    let form = format!(
        "csrf_token={}&username=boss&password={}",
        enc(&browser.csrf),
        enc(PASSWORD)
    );
    let response = app
        .post_form("/setup", &[("cookie", &browser.cookie())], &form)
        .await;
    assert_eq!(
        response.status,
        StatusCode::FORBIDDEN,
        "{}",
        response.text()
    );
    assert!(response.set_cookie("romm_session").is_none());
    assert!(app.store().list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_logout_with_the_csrf_field_ends_the_session() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let browser = page_login(&app, "root").await;
    let session = browser.session.clone().unwrap();

    let refused = app
        .post_form(
            "/logout",
            &[("cookie", &browser.cookie())],
            "csrf_token=rgc_wrong",
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        me_status(&app, &session).await,
        StatusCode::OK,
        "a forged logout changes nothing"
    );

    let form = format!("csrf_token={}", enc(&browser.csrf));
    let response = app
        .post_form("/logout", &[("cookie", &browser.cookie())], &form)
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(
        response
            .set_cookie("romm_session")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "cookie cleared"
    );
    assert_eq!(me_status(&app, &session).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn get_logout_ends_the_session() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let browser = page_login(&app, "root").await;
    let session = browser.session.clone().unwrap();
    assert_eq!(me_status(&app, &session).await, StatusCode::OK);
    let response = app.get("/logout", &[("cookie", &browser.cookie())]).await;
    assert_eq!(
        (response.status, location(&response)),
        (StatusCode::SEE_OTHER, "/login")
    );
    assert_eq!(me_status(&app, &session).await, StatusCode::UNAUTHORIZED);
    let home = app.get("/", &[("cookie", &browser.cookie())]).await;
    assert_eq!(location(&home), "/login");
}

#[tokio::test]
async fn unknown_pages_are_a_404_page() {
    let app = TestApp::new().await;
    let response = app.get("/no/such/page", &[]).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_html(&response);
    assert!(response.text().contains("Page not found"));
}

#[tokio::test]
async fn the_stylesheet_is_css() {
    let app = TestApp::new().await;
    let response = app
        .send(crate::util::request(
            Method::GET,
            "/static/style.css",
            &[],
            axum::body::Body::empty(),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/css")
    );
    assert!(!response.body.is_empty());
}
