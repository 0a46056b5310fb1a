//! Client API tokens and pairing (RomM's `/api/client-tokens`, SPEC 8.2).
//! A raw token appears only in the answers that hand one out (create,
//! regenerate, exchange); lists never carry a secret or a hash.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};

use super::users::Timestamp;
use crate::auth::client_tokens::granted_scopes;
use crate::auth::pairing::PAIRING_CODE_SECONDS;
use crate::auth::{ClientTokenRequest, IssuedClientToken};
use crate::error::{AppError, AppResult};
use crate::store::{ClientToken, ClientTokenWithOwner};
use crate::web::extract::{ApiJson, ApiPath, Authorized, ClientAddr, MeRead, MeWrite, UsersRead, UsersWrite};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/client-tokens", get(list_tokens).post(create_token))
        .route("/api/client-tokens/all", get(list_all_tokens))
        .route("/api/client-tokens/exchange", post(exchange_code))
        .route("/api/client-tokens/pair/{code}/status", get(pairing_status))
        .route("/api/client-tokens/{id}", delete(delete_token))
        .route("/api/client-tokens/{id}/regenerate", put(regenerate_token))
        .route("/api/client-tokens/{id}/pair", post(pair_token))
        .route("/api/client-tokens/{id}/admin", delete(admin_delete_token))
}

/// RomM's ClientTokenSchema.
#[derive(Serialize)]
struct TokenView {
    id: i64,
    name: String,
    scopes: Vec<&'static str>,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
    created_at: Timestamp,
    user_id: i64,
    device_id: Option<String>,
}

impl From<ClientToken> for TokenView {
    fn from(token: ClientToken) -> Self {
        TokenView {
            id: token.id,
            scopes: granted_scopes(&token).names(),
            name: token.name,
            expires_at: token.expires_at.map(Timestamp),
            last_used_at: token.last_used_at.map(Timestamp),
            created_at: Timestamp(token.created_at),
            user_id: token.user_id,
            device_id: token.device_id,
        }
    }
}

/// RomM's ClientTokenCreateSchema: the token and, this once, its secret.
#[derive(Serialize)]
struct CreatedView {
    #[serde(flatten)]
    token: TokenView,
    raw_token: String,
}

impl From<IssuedClientToken> for CreatedView {
    fn from(issued: IssuedClientToken) -> Self {
        CreatedView {
            raw_token: issued.raw.expose().to_string(),
            token: TokenView::from(issued.token),
        }
    }
}

/// RomM's ClientTokenAdminSchema.
#[derive(Serialize)]
struct AdminView {
    #[serde(flatten)]
    token: TokenView,
    username: String,
}

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_in: Option<String>,
}

#[derive(Deserialize)]
struct ExchangeBody {
    code: String,
}

#[derive(Serialize)]
struct PairView {
    code: String,
    expires_in: i64,
}

async fn create_token(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<MeWrite>,
    ApiJson(body): ApiJson<CreateBody>,
) -> AppResult<(StatusCode, Json<CreatedView>)> {
    let request = ClientTokenRequest {
        name: body.name,
        scopes: body.scopes,
        expires_in: body.expires_in,
    };
    let issued = state.auth.create_client_token(&actor, request, state.now()).await?;
    Ok((StatusCode::CREATED, Json(CreatedView::from(issued))))
}

async fn list_tokens(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<MeRead>,
) -> AppResult<Json<Vec<TokenView>>> {
    let tokens = state.auth.list_own_client_tokens(&actor).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

async fn delete_token(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<MeWrite>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<StatusCode> {
    state.auth.revoke_own_client_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn regenerate_token(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<MeWrite>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<CreatedView>> {
    let issued = state.auth.regenerate_client_token(&actor, id, state.now()).await?;
    Ok(Json(CreatedView::from(issued)))
}

async fn list_all_tokens(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<UsersRead>,
) -> AppResult<Json<Vec<AdminView>>> {
    let tokens = state.auth.list_all_client_tokens(&actor).await?;
    let view = |found: ClientTokenWithOwner| AdminView {
        token: TokenView::from(found.token),
        username: found.username,
    };
    Ok(Json(tokens.into_iter().map(view).collect()))
}

async fn admin_delete_token(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<UsersWrite>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<StatusCode> {
    state.auth.admin_revoke_client_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pair_token(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<MeWrite>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<PairView>> {
    let code = state.auth.pair_client_token(&actor, id, state.now()).await?;
    Ok(Json(PairView {
        code: code.expose().to_string(),
        expires_in: PAIRING_CODE_SECONDS,
    }))
}

/// 200 while the code waits for its exchange, 404 once used or expired.
async fn pairing_status(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Json<()>> {
    if state.auth.pairing_code_pending(&code, &client, state.now()).await? {
        Ok(Json(()))
    } else {
        Err(AppError::not_found("Invalid or expired pairing code."))
    }
}

async fn exchange_code(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<ExchangeBody>,
) -> AppResult<Json<CreatedView>> {
    let issued = state
        .auth
        .exchange_pairing_code(&body.code, &client, state.now())
        .await?;
    Ok(Json(CreatedView::from(issued)))
}
