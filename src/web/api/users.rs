//! The users API (RomM's paths). Scope checks are in the signatures
//! (`Authorized<...>`) or, where the rule depends on whose account it is, in
//! the flow.

use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::auth::{AccountChanges, NewAccount, Proof, Role, Scope};
use crate::error::{AppError, AppResult};
use crate::secret::Secret;
use crate::store::User;
use crate::web::extract::{AnyScope, ApiJson, ApiPath, Authorized, ClientAddr, MaybePrincipal, MeRead, UsersWrite};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/me", get(get_me))
        .route("/api/users/{id}", get(get_user).put(update_user).delete(delete_user))
}

/// A user as the API shows it (RomM's field names).
#[derive(Serialize)]
pub struct UserView {
    id: i64,
    username: String,
    email: Option<String>,
    role: Role,
    enabled: bool,
    oauth_scopes: RoleScopes,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_login: Option<Timestamp>,
    last_active: Option<Timestamp>,
}

/// A unix time, serialized as `clock::format_time` writes it (RFC 3339).
pub(super) struct Timestamp(pub(super) i64);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buffer = [0; crate::clock::RFC3339_LEN];
        serializer.serialize_str(crate::clock::write_time(self.0, &mut buffer).unwrap_or_default())
    }
}

/// A role's scope names as a JSON array, rendered once per role: the
/// longest part of every `/api/users/me` answer.
struct RoleScopes(Role);

impl Serialize for RoleScopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        static VIEWER: OnceLock<Option<Box<RawValue>>> = OnceLock::new();
        static EDITOR: OnceLock<Option<Box<RawValue>>> = OnceLock::new();
        static ADMIN: OnceLock<Option<Box<RawValue>>> = OnceLock::new();
        let cell = match self.0 {
            Role::Viewer => &VIEWER,
            Role::Editor => &EDITOR,
            Role::Admin => &ADMIN,
        };
        let names = || self.0.scopes().iter().map(Scope::as_str);
        let rendered = cell.get_or_init(|| {
            let array: Vec<&str> = names().collect();
            serde_json::to_string(&array)
                .ok()
                .and_then(|json| RawValue::from_string(json).ok())
        });
        match rendered {
            Some(raw) => raw.serialize(serializer),
            None => serializer.collect_seq(names()),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            role: user.role,
            enabled: user.enabled,
            oauth_scopes: RoleScopes(user.role),
            created_at: Timestamp(user.created_at),
            updated_at: Timestamp(user.updated_at),
            last_login: user.last_login_at.map(Timestamp),
            last_active: user.last_active_at.map(Timestamp),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    username: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, deserialize_with = "role_field")]
    role: Option<Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUserBody {
    #[serde(default)]
    username: Option<String>,
    /// Absent: unchanged; `null` or "": removed.
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, deserialize_with = "role_field")]
    role: Option<Role>,
    #[serde(default)]
    enabled: Option<bool>,
    /// The person's current password: needed to change their own
    /// password, email or username (SPEC 9).
    #[serde(default)]
    current_password: Option<String>,
}

fn role_field<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Role>, D::Error> {
    let name: Option<String> = Option::deserialize(deserializer)?;
    name.map(|n| Role::parse(&n).ok_or_else(|| serde::de::Error::custom("role must be viewer, editor or admin")))
        .transpose()
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(deserializer)?))
}

async fn list_users(
    State(state): State<AppState>,
    _: Authorized<crate::web::extract::UsersRead>,
) -> AppResult<Json<Vec<UserView>>> {
    let users = state.auth.list_users().await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// Without credentials this is the first-boot setup (one admin, once);
/// with them it needs users.write.
async fn create_user(
    State(state): State<AppState>,
    MaybePrincipal(actor): MaybePrincipal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    if actor.is_none() && state.auth.setup_needed().await? {
        crate::web::setup_host::check(&state.config.base_url, &headers)?;
    }
    let account = NewAccount {
        username: body.username,
        email: body.email,
        password: body.password.map(Secret::new),
        role: body.role.unwrap_or_default(),
    };
    let now = state.now();
    let user = match actor {
        Some(actor) => state.auth.create_account(&actor, account, now).await?,
        None => state.auth.create_first_admin(account, now).await?,
    };
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

async fn get_me(Authorized(me, ..): Authorized<MeRead>) -> Response {
    let mut body = Vec::with_capacity(1024);
    // As `Json` answers, into a buffer that fits a user at once (axum's
    // starts at 128 bytes and grows three times): every signed-in client
    // asks for this.
    match serde_json::to_writer(&mut body, &UserView::from(&me.user)) {
        Ok(()) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body,
        )
            .into_response(),
        Err(err) => AppError::internal_from("serializing a user", err).into_response(),
    }
}

async fn get_user(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<AnyScope>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<UserView>> {
    if actor.user.id == id {
        actor.require(&[Scope::MeRead])?;
    } else {
        actor.require(&[Scope::UsersRead])?;
    }
    let user = state
        .auth
        .find_user(id)
        .await?
        .ok_or_else(|| AppError::not_found("No such user."))?;
    Ok(Json(UserView::from(&user)))
}

async fn update_user(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<AnyScope>,
    ClientAddr(client): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> AppResult<Json<UserView>> {
    let changes = AccountChanges {
        username: body.username,
        email: body.email,
        password: body.password.map(Secret::new),
        role: body.role,
        enabled: body.enabled,
    };
    let proof = Proof {
        current_password: body.current_password.map(Secret::new),
        client,
    };
    let user = state
        .auth
        .update_account_with_proof(&actor, id, changes, &proof, state.now())
        .await?;
    Ok(Json(UserView::from(&user)))
}

async fn delete_user(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<UsersWrite>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<serde_json::Value>> {
    state.auth.delete_account(&actor, id).await?;
    Ok(Json(serde_json::json!({"msg": "User deleted"})))
}
