//! A scripted browser: reqwest with a cookie jar and redirects disabled, so a
//! test follows redirects itself and can stop at any URL (e.g. the relying
//! party's callback, which it may then request itself or not at all).

#![allow(dead_code)] // a helper library: not every test uses every helper

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::Jar;
use reqwest::{Method, StatusCode, header};
use url::Url;

const MAX_HOPS: usize = 20;

/// One HTTP response, body read.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: Url,
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    /// The `Location` header resolved against `url`, if any.
    pub location: Option<Url>,
    pub body: String,
}

impl Page {
    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.location.is_some()
    }
}

/// Where `follow_until` stopped.
#[derive(Debug)]
pub enum Followed {
    /// A redirect pointed at a URL starting with the stop prefix (not requested).
    Stopped(Url),
    /// A response that is not a redirect.
    Page(Box<Page>),
}

impl Followed {
    /// The stop URL; panics with the page when a page was returned instead.
    pub fn stopped(self) -> Url {
        match self {
            Followed::Stopped(url) => url,
            Followed::Page(p) => panic!(
                "expected a redirect to the stop URL, got {} at {}:\n{}",
                p.status, p.url, p.body
            ),
        }
    }

    /// The page; panics when the stop URL was reached instead.
    pub fn page(self) -> Page {
        match self {
            Followed::Page(p) => *p,
            Followed::Stopped(url) => panic!("expected a page, got a redirect to {url}"),
        }
    }
}

#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Self::build(None)
    }

    /// A browser that also trusts this CA (PEM).
    pub fn with_ca(ca_pem: &[u8]) -> Browser {
        Self::build(Some(ca_pem))
    }

    fn build(ca_pem: Option<&[u8]>) -> Browser {
        let jar = Arc::new(Jar::default());
        let mut builder = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20));
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem).expect("CA PEM");
            builder = builder.add_root_certificate(cert);
        }
        Browser {
            client: builder.build().expect("reqwest client"),
            jar,
        }
    }

    /// The underlying client (same cookies, no redirects).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn jar(&self) -> &Arc<Jar> {
        &self.jar
    }

    pub async fn get(&self, url: &str) -> Page {
        self.send(Method::GET, parse(url), None).await
    }

    /// POSTs an urlencoded form.
    pub async fn post_form(&self, url: &str, fields: &[(String, String)]) -> Page {
        self.send(Method::POST, parse(url), Some(fields)).await
    }

    async fn send(&self, method: Method, url: Url, form: Option<&[(String, String)]>) -> Page {
        let mut req = self.client.request(method.clone(), url.clone());
        if let Some(fields) = form {
            req = req.form(fields);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {}", error_chain(&e)));
        let status = resp.status();
        let headers = resp.headers().clone();
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| url.join(l).unwrap_or_else(|e| panic!("bad Location {l:?}: {e}")));
        let body = resp.text().await.unwrap_or_default();
        Page {
            url,
            status,
            headers,
            location,
            body,
        }
    }

    /// GETs `url` and follows redirects until one points at a URL starting
    /// with `stop_prefix` (returned, not requested) or a non-redirect
    /// response comes back.
    pub async fn follow_until(&self, url: &str, stop_prefix: &str) -> Followed {
        let url = parse(url);
        if url.as_str().starts_with(stop_prefix) {
            return Followed::Stopped(url);
        }
        let page = self.send(Method::GET, url, None).await;
        self.follow_from(page, stop_prefix).await
    }

    /// Like `follow_until`, starting from a response already received.
    pub async fn follow_from(&self, mut page: Page, stop_prefix: &str) -> Followed {
        for _ in 0..MAX_HOPS {
            let Some(next) = page.location.clone().filter(|_| page.is_redirect()) else {
                return Followed::Page(Box::new(page));
            };
            if next.as_str().starts_with(stop_prefix) {
                return Followed::Stopped(next);
            }
            page = self.send(Method::GET, next, None).await;
        }
        panic!("more than {MAX_HOPS} redirects, last at {}", page.url);
    }

    /// GETs the provider's login page at `page_url` and submits it.
    pub async fn submit_login(&self, page_url: &str, login: &str, password: &str) -> Page {
        let page = self.get(page_url).await;
        self.submit_login_form(&page, login, password).await
    }

    /// Submits the login form on `page` (fields `login` and `password`).
    pub async fn submit_login_form(&self, page: &Page, login: &str, password: &str) -> Page {
        let (action, mut fields) = parse_form(page);
        set_field(&mut fields, "login", login);
        set_field(&mut fields, "password", password);
        self.send(Method::POST, action, Some(&fields)).await
    }

    /// GETs the provider's consent page at `page_url` and submits it.
    pub async fn submit_consent(&self, page_url: &str) -> Page {
        let page = self.get(page_url).await;
        self.submit_consent_form(&page).await
    }

    /// Submits the consent form ("Continue") on `page`.
    pub async fn submit_consent_form(&self, page: &Page) -> Page {
        let (action, fields) = parse_form(page);
        self.send(Method::POST, action, Some(&fields)).await
    }

    /// Answers the provider's RP-initiated logout page ("Do you want to
    /// sign-out from …?"): `yes` = "Yes, sign me out" (`logout=yes`: the
    /// provider session ends and every client of it gets a back-channel
    /// logout), `false` = "No, stay signed in" (only the client named by
    /// id_token_hint/client_id is logged out and notified). Returns the
    /// provider's 303 towards post_logout_redirect_uri or its success page.
    pub async fn submit_logout_form(&self, page: &Page, yes: bool) -> Page {
        let (action, mut fields) = parse_form(page);
        if yes {
            set_field(&mut fields, "logout", "yes");
        }
        self.send(Method::POST, action, Some(&fields)).await
    }

    /// From an authorization URL through the provider's login and consent
    /// pages to the redirect to `redirect_prefix` (returned, not requested),
    /// which carries `code`, `state` and `iss`, or `error`.
    pub async fn sign_in_at_provider(
        &self,
        authorize_url: &str,
        login: &str,
        password: &str,
        redirect_prefix: &str,
    ) -> Url {
        let mut step = self.follow_until(authorize_url, redirect_prefix).await;
        for _ in 0..6 {
            let page = match step {
                Followed::Stopped(url) => return url,
                Followed::Page(page) => *page,
            };
            let response = if is_login_page(&page) {
                let r = self.submit_login_form(&page, login, password).await;
                assert!(
                    r.is_redirect(),
                    "login as {login:?} refused ({}):\n{}",
                    r.status,
                    r.body
                );
                r
            } else if is_consent_page(&page) {
                self.submit_consent_form(&page).await
            } else {
                panic!(
                    "unexpected page at the provider ({} {}):\n{}",
                    page.status, page.url, page.body
                );
            };
            step = self.follow_from(response, redirect_prefix).await;
        }
        panic!("sign-in at the provider did not finish after 6 forms");
    }
}

/// The provider's login page (it has a password field).
pub fn is_login_page(page: &Page) -> bool {
    page.body.contains("name=\"password\"")
}

/// The provider's consent page.
pub fn is_consent_page(page: &Page) -> bool {
    page.body.contains("name=\"prompt\" value=\"consent\"")
}

/// The provider's RP-initiated logout confirmation page.
pub fn is_logout_page(page: &Page) -> bool {
    page.body.contains("op.logoutForm") || page.body.contains("name=\"xsrf\"")
}

/// A query parameter of `url`.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// An error with its causes, one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

fn parse(url: &str) -> Url {
    Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url:?}: {e}"))
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
}

/// The first form on the page: its action (resolved against the page URL)
/// and its named `<input>`s with their values.
pub fn parse_form(page: &Page) -> (Url, Vec<(String, String)>) {
    let body = &page.body;
    let start = body
        .find("<form")
        .unwrap_or_else(|| panic!("no <form> at {} ({}):\n{body}", page.url, page.status));
    let form = &body[start..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let tag_end = form.find('>').expect("unterminated <form> tag");
    let action = attr(&form[..tag_end], "action").unwrap_or_default();
    let action = page
        .url
        .join(&action)
        .unwrap_or_else(|e| panic!("bad form action {action:?}: {e}"));
    let mut fields = Vec::new();
    let mut rest = &form[tag_end..];
    while let Some(i) = rest.find("<input") {
        rest = &rest[i..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[end..];
    }
    (action, fields)
}

/// The value of attribute `name` in an HTML start tag (double or single
/// quoted), entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    let mut from = 0;
    while let Some(i) = tag[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let after = tag[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value = after[1..].trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let inner = &value[1..];
            let end = inner.find(quote)?;
            return Some(unescape(&inner[..end]));
        }
        let end = value
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(value.len());
        return Some(unescape(&value[..end]));
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}
