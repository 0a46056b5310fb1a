//! Extractors: who is calling (with the scope check declared in the handler's
//! signature), the client's address (see `client_addr`), and body/path
//! parsers whose rejections are JSON refusals instead of axum's plain-text
//! ones.

use std::marker::PhantomData;

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

use super::basic_auth::{basic_scheme, decode_basic};
pub use super::client_addr::ClientAddr;
use super::cookies::{SESSION_COOKIE, read_cookie};
use crate::auth::sign_in_log;
use crate::auth::{Credential, Principal, Scope};
use crate::error::{AppError, Code, Kind};
use crate::web::state::AppState;

/// The scopes a route needs, as a type: `Authorized<UsersRead>`.
pub trait ScopePolicy: Send + Sync + 'static {
    const SCOPES: &'static [Scope];
}

macro_rules! scope_policy {
    ($($name:ident => [$($scope:ident),*];)*) => {$(
        pub struct $name;
        impl ScopePolicy for $name {
            const SCOPES: &'static [Scope] = &[$(Scope::$scope),*];
        }
    )*};
}

scope_policy! {
    AnyScope => [];
    MeRead => [MeRead];
    MeWrite => [MeWrite];
    DevicesRead => [DevicesRead];
    DevicesWrite => [DevicesWrite];
    UsersRead => [UsersRead];
    UsersWrite => [UsersWrite];
    PlatformsRead => [PlatformsRead];
    RomsRead => [RomsRead];
    RomsWrite => [RomsWrite];
    TasksRun => [TasksRun];
}

/// A caller holding every scope of `P`. No credentials: 401; missing scope:
/// 403; a cookie-authenticated unsafe request without the CSRF token: 403.
pub struct Authorized<P: ScopePolicy>(pub Principal, pub PhantomData<P>);

impl<P: ScopePolicy> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let MaybePrincipal(principal) = MaybePrincipal::from_request_parts(parts, state).await?;
        let principal = principal.ok_or_else(AppError::unauthenticated)?;
        principal.require(P::SCOPES)?;
        Ok(Authorized(principal, PhantomData))
    }
}

/// A caller who may read a ROM's details and download its file: one
/// holding roms.read, or anyone at all under DISABLE_DOWNLOAD_ENDPOINT_AUTH
/// (RomM's meaning: those endpoints then ask for no scope, so credentials
/// are not even looked at; the server warned at start).
pub struct DownloadReader;

impl FromRequestParts<AppState> for DownloadReader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if !state.config.disable_download_endpoint_auth {
            Authorized::<RomsRead>::from_request_parts(parts, state).await?;
        }
        Ok(DownloadReader)
    }
}

/// The caller if they presented valid credentials. A bearer token that is
/// not valid is refused (401) rather than treated as anonymous.
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = AppError;

    /// Every handler takes one caller extractor, so the lookup runs once per
    /// request and its result is not kept in the request's extensions.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let principal = resolve(parts, state).await?;
        if let Some(principal) = &principal {
            check_csrf(parts, state, principal)?;
        }
        Ok(MaybePrincipal(principal))
    }
}

async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<Principal>, AppError> {
    let now = state.now();
    if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
        let value = authorization.to_str().unwrap_or_default();
        if let Some(encoded) = basic_scheme(value) {
            let encoded = encoded.to_string();
            return basic(parts, state, &encoded, now).await.map(Some);
        }
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "));
        let Some(token) = token else {
            return Err(AppError::refuse(
                Kind::Unauthenticated,
                Code::UnsupportedAuthorization,
                "Send a bearer token (Authorization: Bearer ...), HTTP Basic credentials, or sign in for a session.",
            ));
        };
        return match state.auth.authenticate_bearer(token.trim(), now).await? {
            Some(principal) => Ok(Some(principal)),
            None => Err(AppError::refuse(
                Kind::Unauthenticated,
                Code::InvalidToken,
                "The access token is invalid or expired.",
            )),
        };
    }
    match read_cookie(&parts.headers, SESSION_COOKIE) {
        Some(cookie) => state.auth.authenticate_session(cookie, now).await,
        None => Ok(None),
    }
}

/// `Authorization: Basic` on an API call (see `auth::basic`). A header that
/// is not valid Basic is a failed sign-in too.
async fn basic(parts: &mut Parts, state: &AppState, encoded: &str, now: i64) -> Result<Principal, AppError> {
    let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(parts, state).await;
    let (username, password) = decode_basic(encoded).inspect_err(|_| {
        sign_in_log::failed(
            sign_in_log::Method::Basic,
            "",
            &client,
            Code::InvalidAuthorizationHeader,
        );
    })?;
    state.auth.authenticate_basic(&username, &password, &client, now).await
}

/// The CSRF check for unsafe requests authenticated by the session cookie:
/// header `x-csrftoken` must be the session's bound token (see `csrf`).
/// Basic credentials are not sent by a browser on its own, except where a
/// reverse proxy in front asks for Basic itself (nginx's `auth_basic`) with
/// the same username and password: then the browser adds them to every
/// request, another site's form posts included. So an unsafe request with
/// Basic that the browser marks as another site's is refused too.
fn check_csrf(parts: &Parts, state: &AppState, principal: &Principal) -> Result<(), AppError> {
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || state.config.disable_csrf_protection {
        return Ok(());
    }
    match principal.credential {
        Credential::Session { .. } => {}
        Credential::Basic if super::fetch_site::from_another_site(&parts.headers) => {
            return Err(super::fetch_site::refusal());
        }
        _ => return Ok(()),
    }
    let header = parts
        .headers
        .get("x-csrftoken")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if super::csrf::presented_ok(state, &parts.headers, header) {
        return Ok(());
    }
    Err(AppError::forbidden(
        Code::CsrfFailed,
        "The request is missing its CSRF token; reload the page and try again.",
    ))
}

/// Maps a framework rejection to a JSON refusal by its status.
fn rejection(status: StatusCode, what: &'static str) -> AppError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::refuse(
            Kind::PayloadTooLarge,
            Code::PayloadTooLarge,
            "The request body is too large.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::refuse(
            Kind::UnsupportedMediaType,
            Code::UnsupportedMediaType,
            format!("The request body must be {what}."),
        ),
        _ => AppError::bad_request(Code::InvalidRequest, format!("The request body is not valid {what}.")),
    }
}

/// `axum::Json` with JSON refusals.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(err) => Err(json_rejection(&err)),
        }
    }
}

fn json_rejection(err: &JsonRejection) -> AppError {
    match err {
        JsonRejection::JsonDataError(_) => AppError::bad_request(
            Code::InvalidRequest,
            "The JSON body does not have the expected fields and types.",
        ),
        other => rejection(other.status(), "JSON (Content-Type: application/json)"),
    }
}

/// `axum::Form` with JSON refusals.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(ApiForm(value)),
            Err(err) => Err(form_rejection(&err)),
        }
    }
}

fn form_rejection(err: &FormRejection) -> AppError {
    rejection(err.status(), "a form (Content-Type: application/x-www-form-urlencoded)")
}

/// `axum::extract::Path` with JSON refusals.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(AppError::bad_request(
                Code::InvalidPath,
                "The address contains an invalid identifier.",
            )),
            Err(_) => Err(AppError::not_found("Not found.")),
        }
    }
}

/// `axum::extract::Query` with JSON refusals.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(_) => Err(AppError::bad_request(
                Code::InvalidRequest,
                "The query string does not have the expected parameters and types.",
            )),
        }
    }
}

/// The session behind the cookie, for pages (which carry their CSRF token in
/// the form instead of a header).
pub async fn session_principal(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Option<Principal>, AppError> {
    match read_cookie(headers, SESSION_COOKIE) {
        Some(cookie) => state.auth.authenticate_session(cookie, state.now()).await,
        None => Ok(None),
    }
}
