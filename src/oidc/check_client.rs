//! `romgate oidc check`: are the client credentials right? Checked without
//! a person: a token request with a made-up authorization code, sent with
//! the client authentication sign-in uses (`client::build_client`). A
//! provider authenticates the client before it looks at the code, so
//! `invalid_grant` (or any error but `invalid_client`/`unauthorized_client`)
//! means the client ID and secret are right; `invalid_client` or HTTP 401
//! means they are not. Nothing is signed in and nothing is stored.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

use openidconnect::core::CoreErrorResponseType;
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, HttpRequest, HttpResponse, PkceCodeChallenge, RequestTokenError,
};

use super::check_line::{CheckLine, Outcome};
use super::client::{auth_method_name, build_client};
use super::discovery::Metadata;
use super::provider_http::{ProviderHttp, ProviderHttpError};
use crate::config::OidcConfig;

/// A code no provider issued.
const MADE_UP_CODE: &str = "romgate-oidc-check-made-up-code";

/// Sends through `ProviderHttp` and remembers the answer's HTTP status (the
/// openidconnect crate drops it when the body is not an OAuth error).
struct Recording<'h> {
    http: &'h ProviderHttp,
    status: Mutex<Option<u16>>,
}

impl<'c, 'h: 'c> AsyncHttpClient<'c> for Recording<'h> {
    type Error = ProviderHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, ProviderHttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.execute(request).await?;
            *self.status.lock().unwrap_or_else(PoisonError::into_inner) = Some(response.status().as_u16());
            Ok(response)
        })
    }
}

fn line(outcome: Outcome, what: String, fix: Option<String>) -> CheckLine {
    CheckLine { outcome, what, fix }
}

/// The check line for the client credentials.
pub async fn check_client_credentials(oidc: &OidcConfig, metadata: &Metadata, http: &ProviderHttp) -> CheckLine {
    let method = auth_method_name(metadata);
    let client = build_client(oidc, metadata);
    let request = match client.exchange_code(AuthorizationCode::new(MADE_UP_CODE.into())) {
        Ok(request) => request,
        Err(e) => {
            return line(
                Outcome::Fail,
                format!("the provider has a token endpoint: {e}"),
                Some("the discovery document must name a token_endpoint".into()),
            );
        }
    };
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    let recording = Recording {
        http,
        status: Mutex::new(None),
    };
    let answer = request.set_pkce_verifier(verifier).request_async(&recording).await;
    let status = *recording.status.lock().unwrap_or_else(PoisonError::into_inner);
    let accepted = |said: &str| {
        line(
            Outcome::Pass,
            format!(
                "the provider accepts OIDC_CLIENT_ID and OIDC_CLIENT_SECRET ({method}; it answered {said} to a \
                 made-up code)"
            ),
            None,
        )
    };
    match answer {
        Ok(_) => accepted("with tokens"),
        Err(RequestTokenError::ServerResponse(answer)) => match answer.error() {
            CoreErrorResponseType::InvalidClient => refused(oidc, method, "invalid_client"),
            CoreErrorResponseType::UnauthorizedClient => line(
                Outcome::Fail,
                format!("the provider refuses the client: the token endpoint answered unauthorized_client ({method})"),
                Some(format!(
                    "allow the authorization code grant for the client OIDC_CLIENT_ID={} at the provider, and check \
                     OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
                    oidc.client_id
                )),
            ),
            other => accepted(other.as_ref()),
        },
        Err(RequestTokenError::Request(e)) => line(
            Outcome::Fail,
            format!("the token endpoint answers: {e}"),
            Some("the provider's token_endpoint (in its discovery document) must be reachable from here".into()),
        ),
        Err(_) if status == Some(401) => refused(oidc, method, "HTTP 401"),
        Err(e) => line(
            Outcome::Warn,
            format!(
                "the client credentials could not be verified: the token endpoint answered {} ({e})",
                status.map_or_else(|| "without a status".to_string(), |s| format!("HTTP {s}"))
            ),
            Some("sign in once to be sure OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are right".into()),
        ),
    }
}

fn refused(oidc: &OidcConfig, method: &str, said: &str) -> CheckLine {
    line(
        Outcome::Fail,
        format!(
            "the provider refuses OIDC_CLIENT_ID / OIDC_CLIENT_SECRET: the token endpoint answered {said} ({method})"
        ),
        Some(format!(
            "check OIDC_CLIENT_ID ({}) and OIDC_CLIENT_SECRET against the client registered at the provider, and \
             that the client's authentication method there is {method} (romgate uses client_secret_basic, or \
             client_secret_post when the provider offers only that)",
            oidc.client_id
        )),
    )
}
