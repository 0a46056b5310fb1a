//! The users API (RomM's paths). Scope checks are in the signatures
//! (`Authorized<...>`) or, where the rule depends on whose account it is, in
//! the flow.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Deserializer, Serialize};

use super::extract::{AnyScope, ApiJson, ApiPath, Authorized, MaybePrincipal, MeRead, UsersWrite};
use crate::auth::{AccountChanges, NewAccount, Role, Scope};
use crate::error::{AppError, AppResult};
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::User;

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
    oauth_scopes: Vec<&'static str>,
    created_at: String,
    updated_at: String,
    last_login: Option<String>,
    last_active: Option<String>,
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
            oauth_scopes: user.role.scopes().names(),
            created_at: crate::pages::format_time(user.created_at),
            updated_at: crate::pages::format_time(user.updated_at),
            last_login: user.last_login_at.map(crate::pages::format_time),
            last_active: user.last_active_at.map(crate::pages::format_time),
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
    _: Authorized<super::extract::UsersRead>,
) -> AppResult<Json<Vec<UserView>>> {
    let users = state.auth.store.list_users().await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// Without credentials this is the first-boot setup (one admin, once);
/// with them it needs users.write.
async fn create_user(
    State(state): State<AppState>,
    MaybePrincipal(actor): MaybePrincipal,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> AppResult<(StatusCode, Json<UserView>)> {
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

async fn get_me(Authorized(me, ..): Authorized<MeRead>) -> Json<UserView> {
    Json(UserView::from(&me.user))
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
        .store
        .find_user(id)
        .await?
        .ok_or_else(|| AppError::not_found("No such user."))?;
    Ok(Json(UserView::from(&user)))
}

async fn update_user(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<AnyScope>,
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
    let user = state.auth.update_account(&actor, id, changes, state.now()).await?;
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
