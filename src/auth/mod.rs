//! Accounts, passwords, sessions, tokens and scopes: the policy of romgate,
//! with no HTTP types. Every flow is a method of `Auth` that receives the
//! current time, so expiry and lockout are tested without waiting. Roles and
//! scopes are the leaf `crate::access` (storage decodes them), re-exported
//! here. The store is private to this module: callers read accounts through
//! `Auth` (`directory`), never the tables.

pub mod accounts;
pub mod basic;
pub mod client_tokens;
mod device_approval;
mod device_codes;
mod device_flow;
mod devices;
mod directory;
mod download_links;
mod hash_memory;
mod login;
mod login_limits;
mod oauth;
mod own_sessions;
pub mod pairing;
pub mod password;
mod principal;
pub mod rate_limit;
pub mod reauth;
pub mod secret_key;
mod sessions;
pub mod sign_in_log;
pub mod tokens;

pub use crate::access::{Role, Scope, ScopeSet};
pub use accounts::{AccountChanges, NewAccount};
pub use client_tokens::{ClientTokenRequest, IssuedClientToken};
pub use device_approval::{ApprovedDevice, DeviceApproval, PendingDevice};
pub use device_codes::{USER_CODE_ALPHABET, grouped, normalise_user_code};
pub use device_flow::{
    DEFAULT_OAUTH_SCOPES, DEVICE_FLOW_SECONDS, DeviceRequest, DeviceToken, POLL_INTERVAL_SECONDS, PollEndpoint,
    StartedDeviceFlow, VERIFICATION_PATH,
};
pub use directory::AccountOverview;
pub use download_links::{IssuedDownloadLink, LINKS_PER_PERSON};
pub use login::account_disabled;
pub use oauth::TokenPair;
pub use own_sessions::{EndedOwnSession, OwnSession};
pub use pairing::PairingCode;
pub use principal::{Credential, Principal};
pub use reauth::{FRESH_SIGN_IN_SECONDS, Proof, ProofKind};
pub use sessions::{OidcSessionInfo, StartedSession};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::error::AppResult;
use crate::store::Store;
use password::Passwords;
use tokens::TokenHasher;

/// The settings the flows need, taken from `Config`.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub session_max_age_seconds: i64,
    pub access_token_seconds: i64,
    pub refresh_token_seconds: i64,
    pub disable_userpass_login: bool,
    pub disable_setup_wizard: bool,
    /// How long a download link lives (ROMGATE_DOWNLOAD_LINK_SECONDS).
    pub download_link_seconds: i64,
}

impl AuthSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            session_max_age_seconds: config.session_max_age_seconds,
            access_token_seconds: config.access_token_expire_seconds,
            refresh_token_seconds: config.refresh_token_expire_seconds,
            disable_userpass_login: config.disable_userpass_login,
            disable_setup_wizard: config.disable_setup_wizard,
            download_link_seconds: config.download_link_seconds,
        }
    }
}

/// The authentication service: its dependencies, passed in.
#[derive(Clone)]
pub struct Auth {
    /// Private: the web layer and the CLI read accounts through `Auth`'s
    /// methods (see `directory`), never the tables.
    store: Store,
    pub passwords: Passwords,
    pub tokens: TokenHasher,
    pub settings: AuthSettings,
    /// Once an administrator exists one always does (the last one can be
    /// neither deleted nor disabled), so this is cached after the first yes.
    admin_seen: Arc<AtomicBool>,
    /// HTTP Basic credentials whose password passed (see `basic`).
    pub verified_basic: Arc<basic::VerifiedCredentials>,
}

impl Auth {
    pub fn new(store: Store, passwords: Passwords, tokens: TokenHasher, settings: AuthSettings) -> Self {
        Self {
            store,
            passwords,
            tokens,
            settings,
            admin_seen: Arc::new(AtomicBool::new(false)),
            verified_basic: Arc::new(basic::VerifiedCredentials::default()),
        }
    }

    /// True while no administrator exists: the first-boot setup is open.
    pub async fn setup_needed(&self) -> AppResult<bool> {
        if self.admin_seen.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let exists = self.store.admin_exists().await?;
        if exists {
            self.admin_seen.store(true, Ordering::Relaxed);
        }
        Ok(!exists)
    }
}
