//! The HTTP client for every call to the identity provider (discovery, keys,
//! token, userinfo): extra CAs from OIDC_TLS_CACERTFILE, bounded connect and
//! total timeouts, no redirects followed, and a cap on the size of an answer.
//! The provider is someone else's server; nothing it sends may exhaust ours.

use std::time::Duration;

use openidconnect::{HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;

use crate::config::OidcConfig;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from the provider (10,000 groups fit; a 1 MB claim does not).
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    #[error("cannot reach the identity provider: {0}")]
    Unreachable(Unreached),
    #[error("the identity provider's answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the identity provider answered HTTP {status} to {url}")]
    Status { status: u16, url: String },
    #[error("the identity provider's answer from {url} is not the JSON expected: {detail}")]
    NotJson {
        url: String,
        detail: String,
        /// The answer was a web page (a login page, a proxy's error page).
        html: bool,
    },
    #[error("invalid request: {0}")]
    Request(String),
}

/// Why the provider could not be reached: the detail as reqwest tells it,
/// and its likely cause for the hint (`reach::classify`).
#[derive(Debug, Clone)]
pub struct Unreached {
    pub cause: super::failure_cause::Cause,
    pub detail: String,
}

/// The detail, then the likely cause in words (so the sign-in page's
/// administrator hint and the log line say it too).
impl std::fmt::Display for Unreached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)?;
        match self.cause.in_words() {
            Some(words) => write!(f, " (likely: {words})"),
            None => Ok(()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

/// Reads the PEM bundle of extra trusted CAs.
pub fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} contains no PEM certificate", path.display()));
    }
    Ok(certs)
}

impl ProviderHttp {
    pub fn new(config: &OidcConfig) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("romgate/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.tls_ca_cert_file {
            for cert in read_ca_bundle(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client })
    }

    /// Sends one request (the openidconnect crate's HTTP interface), timed
    /// for the metrics (`romgate_idp_request_duration_seconds`).
    pub async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, ProviderHttpError> {
        let started = std::time::Instant::now();
        let result = self.send(request).await;
        let answered = !matches!(
            result,
            Err(ProviderHttpError::Unreachable(_) | ProviderHttpError::Request(_))
        );
        crate::metrics::idp_request(started.elapsed(), answered);
        result
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ProviderHttpError> {
        let request = reqwest::Request::try_from(request).map_err(|e| ProviderHttpError::Request(e.to_string()))?;
        let mut response = self.client.execute(request).await.map_err(|e| unreachable_error(&e))?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable_error(&e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(ProviderHttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let mut builder = axum::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        builder
            .body(body)
            .map_err(|e| ProviderHttpError::Request(e.to_string()))
    }

    /// GETs `url` and parses a successful JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, ProviderHttpError> {
        let request = axum::http::Request::builder()
            .method(axum::http::Method::GET)
            .uri(url)
            .header(axum::http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| ProviderHttpError::Request(e.to_string()))?;
        let response = self.execute(request).await?;
        if !response.status().is_success() {
            return Err(ProviderHttpError::Status {
                status: response.status().as_u16(),
                url: url.to_string(),
            });
        }
        serde_json::from_slice(response.body()).map_err(|e| ProviderHttpError::NotJson {
            url: url.to_string(),
            detail: e.to_string(),
            html: response.body().trim_ascii_start().starts_with(b"<"),
        })
    }
}

fn unreachable_error(err: &reqwest::Error) -> ProviderHttpError {
    // reqwest's Display names the URL and the cause (refused, timeout, TLS).
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    let cause = super::failure_cause::classify(err.is_connect(), err.is_timeout(), &detail);
    ProviderHttpError::Unreachable(Unreached { cause, detail })
}

/// Lets the openidconnect crate send its requests through `ProviderHttp`.
impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, ProviderHttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}
