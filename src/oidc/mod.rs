//! OpenID Connect sign-in (the relying party): discovery, the authorization
//! code flow with PKCE, state and nonce kept server-side and used once, ID
//! token verification by the openidconnect crate, claims to identity to
//! role, and logout (RP-initiated and back-channel), and the sign-out flow
//! (`sign_out`) the API and the logout form share. The files depend one
//! way: `flow` (begin, finish) uses `verify` (the tokens, `Verified`) and
//! `identity` (person to account), which uses `verify`'s `Verified`.

mod backchannel;
pub mod check;
mod check_client;
mod check_line;
mod claims;
mod client;
pub mod discovery;
mod failure_cause;
mod flow;
mod identity;
mod issuer;
mod logout;
pub mod provider_http;
pub mod reach;
pub mod roles;
mod single_flight;
mod verify;

pub use claims::Claims;
pub use flow::{ATTEMPT_SECONDS, Callback, CompletedLogin, StartedLogin};
pub use logout::sign_out;
pub use roles::{RoleDecision, RoleMapping, map_roles};

use std::sync::Arc;

use crate::config::OidcConfig;
use crate::error::AppResult;
use crate::store::Store;
use discovery::{AfterFailure, Discovered, ProviderCache};
use provider_http::ProviderHttp;

/// The sign-in service for one configured provider. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Oidc {
    pub config: Arc<OidcConfig>,
    /// The sign-ins in progress, identity links and logout tokens.
    store: Store,
    http: ProviderHttp,
    cache: Arc<ProviderCache>,
}

impl Oidc {
    /// Builds the service; contacts nobody (a provider that is down at
    /// startup is not an error).
    pub fn new(config: OidcConfig, store: Store) -> Result<Self, String> {
        let http = ProviderHttp::new(&config)?;
        Ok(Self {
            config: Arc::new(config),
            store,
            http,
            cache: Arc::new(ProviderCache::default()),
        })
    }

    pub fn button_label(&self) -> String {
        if self.config.provider_name.is_empty() {
            "Sign in with OIDC".to_string()
        } else {
            format!("Sign in with {}", self.config.provider_name)
        }
    }

    fn role_mapping(&self) -> RoleMapping {
        RoleMapping {
            viewer: self.config.role_viewer.clone(),
            editor: self.config.role_editor.clone(),
            admin: self.config.role_admin.clone(),
        }
    }

    async fn provider(&self, now: i64, after_failure: AfterFailure) -> AppResult<Arc<Discovered>> {
        self.cache
            .get(&self.http, &self.config.metadata_url, now, after_failure)
            .await
    }
}
