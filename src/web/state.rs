//! What every handler receives: configuration, the auth service and the clock.

use std::sync::Arc;

use crate::auth::password::{PasswordPolicy, Passwords};
use crate::auth::tokens::TokenHasher;
use crate::auth::{Auth, AuthSettings, secret_key};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::library::Library;
use crate::oidc::Oidc;
use crate::store::Store;
use crate::web::cookies::CookieFactory;

/// Cloned for every request (by the router, the middleware and each `State`
/// extractor), so it is one reference-counted pointer: a clone is one atomic
/// increment instead of copying the secret key and paths each time.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

pub struct Services {
    pub config: Arc<Config>,
    pub auth: Auth,
    pub cookies: CookieFactory,
    pub clock: Arc<dyn Clock>,
    /// Single sign-on, when OIDC_ENABLED.
    pub oidc: Option<Oidc>,
    /// The ROM library under ROMM_LIBRARY_PATH.
    pub library: Library,
}

impl AppState {
    /// Production wiring: the system clock and OWASP's argon2id parameters.
    pub async fn new(config: Config, store: Store) -> AppResult<Self> {
        Self::with_parts(config, store, PasswordPolicy::PRODUCTION, Arc::new(SystemClock)).await
    }

    /// Explicit wiring, for tests (cheap hashing, a manual clock). Async:
    /// without ROMM_AUTH_SECRET_KEY on PostgreSQL the key comes from the
    /// database (see `secret_key`).
    pub async fn with_parts(
        config: Config,
        store: Store,
        policy: PasswordPolicy,
        clock: Arc<dyn Clock>,
    ) -> AppResult<Self> {
        let key = secret_key::load_or_create(&config, &store, clock.now()).await?;
        let library = Library::new(config.library_path.clone(), store.clone(), config.max_upload_bytes);
        let auth = Auth::new(
            store,
            Passwords::new(policy)?,
            TokenHasher::new(key),
            AuthSettings::from_config(&config),
        );
        let cookies = CookieFactory::new(config.secure_cookies);
        let oidc = match &config.oidc {
            Some(oidc_config) => Some(Oidc::new(oidc_config.clone()).map_err(AppError::internal)?),
            None => None,
        };
        Ok(Self(Arc::new(Services {
            config: Arc::new(config),
            auth,
            cookies,
            clock,
            oidc,
            library,
        })))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}
