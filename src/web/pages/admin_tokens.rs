//! The users page's "App tokens" list: every person's client tokens (SPEC
//! 8.2's administrators' view), with who owns each, the device it belongs
//! to, what it may do and when it was last used, and its "Revoke" form
//! (`admin::post_revoke_token`). Read through the same flow as
//! `GET /api/client-tokens/all` (users.read). Never a secret or a hash.

use axum::response::Response;

use super::guard::page_error;
use crate::auth::Principal;
use crate::auth::client_tokens::granted_scopes;
use crate::clock::format_time_readable;
use crate::store::ClientTokenWithOwner;
use crate::web::state::AppState;

/// One token as the administrators' list shows it.
pub(super) struct AdminTokenRow {
    pub owner: String,
    pub name: String,
    pub device: Option<String>,
    pub scopes: Vec<&'static str>,
    pub last_used: String,
    pub expires: String,
    pub expired: bool,
    pub revoke_action: String,
}

impl AdminTokenRow {
    fn new(found: ClientTokenWithOwner, now: i64) -> Self {
        let token = found.token;
        Self {
            owner: found.username,
            device: found.device_name,
            scopes: granted_scopes(&token).names(),
            last_used: token
                .last_used_at
                .map_or_else(|| "Never".to_string(), format_time_readable),
            expires: token
                .expires_at
                .map_or_else(|| "Never".to_string(), format_time_readable),
            expired: token.expires_at.is_some_and(|at| at <= now),
            revoke_action: format!("/admin/tokens/{}/revoke", token.id),
            name: token.name,
        }
    }
}

/// Every person's tokens, newest first, as `actor` (an administrator) sees
/// them.
pub(super) async fn token_rows(state: &AppState, actor: &Principal) -> Result<Vec<AdminTokenRow>, Response> {
    let tokens = state.auth.list_all_client_tokens(actor).await.map_err(page_error)?;
    let now = state.now();
    Ok(tokens.into_iter().map(|found| AdminTokenRow::new(found, now)).collect())
}
