//! Back-channel logout (`/api/oauth/openid/backchannel-logout`): the
//! identity provider, not a browser, posts a signed logout token here; the
//! answers are the spec's (200, or 400 with a JSON error body).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use crate::error::{AppError, Code, Kind, Refusal};
use crate::web::error::refusal_response;
use crate::web::extract::{ApiForm, ClientAddr};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/oauth/openid/backchannel-logout", post(post_backchannel_logout))
}

#[derive(Deserialize)]
struct BackchannelForm {
    logout_token: Option<String>,
}

/// The provider ends sessions: 200 on success, 400 with an error body
/// otherwise (the spec's answer codes), 429 past the per-address limit
/// (anyone can post here), never cached.
async fn post_backchannel_logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    form: Result<ApiForm<BackchannelForm>, AppError>,
) -> Response {
    let result = async {
        let oidc = state.oidc.as_ref().ok_or_else(|| {
            AppError::bad_request(Code::InvalidRequest, "Single sign-on is not enabled on this server.")
        })?;
        state.auth.count_backchannel_logout(&client, state.now()).await?;
        let ApiForm(form) = form?;
        let token = form.logout_token.filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| AppError::bad_request(Code::InvalidRequest, "logout_token is required."))?;
        oidc.backchannel_logout(&token, state.now()).await
    }
    .await;
    let mut response = match result {
        Ok(_) => StatusCode::OK.into_response(),
        Err(AppError::Refused(refusal)) if matches!(refusal.kind, Kind::TooManyRequests { .. }) => {
            refusal_response(&refusal, refusal.code.as_str())
        }
        Err(AppError::Refused(refusal)) => {
            let bad = Refusal {
                kind: Kind::BadRequest,
                ..refusal
            };
            refusal_response(&bad, "invalid_request")
        }
        Err(internal) => internal.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
