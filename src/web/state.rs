//! What every handler receives: romgate's services (`Services`, built
//! without HTTP in `crate::services`) and the web-only parts (the cookie
//! factory).

use std::sync::Arc;

use crate::auth::password::PasswordPolicy;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppResult;
use crate::services::Services;
use crate::store::Store;
use crate::web::cookies::CookieFactory;

/// Cloned for every request (by the router, the middleware and each `State`
/// extractor), so it is one reference-counted pointer: a clone is one atomic
/// increment instead of copying the secret key and paths each time.
#[derive(Clone)]
pub struct AppState(Arc<WebState>);

pub struct WebState {
    pub services: Services,
    pub cookies: CookieFactory,
}

impl AppState {
    /// The web layer around built services.
    pub fn from_services(services: Services) -> Self {
        let cookies = CookieFactory::new(services.config.secure_cookies);
        Self(Arc::new(WebState { services, cookies }))
    }

    /// Production wiring (see `Services::new`).
    pub async fn new(config: Config, store: Store) -> AppResult<Self> {
        Ok(Self::from_services(Services::new(config, store).await?))
    }

    /// Explicit wiring, for tests (see `Services::with_parts`).
    pub async fn with_parts(
        config: Config,
        store: Store,
        policy: PasswordPolicy,
        clock: Arc<dyn Clock>,
    ) -> AppResult<Self> {
        Ok(Self::from_services(
            Services::with_parts(config, store, policy, clock).await?,
        ))
    }
}

impl std::ops::Deref for AppState {
    type Target = WebState;

    fn deref(&self) -> &WebState {
        &self.0
    }
}

/// Handlers read `state.auth`, `state.config`, ... straight through.
impl std::ops::Deref for WebState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
