//! The composition root: romgate's services (store, auth, single sign-on,
//! library, clock, configuration), built in this one place and used by both
//! the server and the command line. Nothing here speaks HTTP: the web layer
//! wraps `Services` in its own state (`web::state::AppState`), and the
//! account commands build only the `Auth` they need (`build_auth`).

use std::sync::Arc;

use crate::auth::password::{PasswordPolicy, Passwords};
use crate::auth::tokens::TokenHasher;
use crate::auth::{Auth, AuthSettings, secret_key};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{AppError, AppResult, Code, Kind};
use crate::library::Library;
use crate::metrics::Metrics;
use crate::oidc::Oidc;
use crate::store::{Schema, Store, StoreError};

pub struct Services {
    pub config: Arc<Config>,
    /// The database, for housekeeping (expiry cleanup, closing at
    /// shutdown) and tests; requests reach it only through the services.
    pub store: Store,
    pub auth: Auth,
    pub clock: Arc<dyn Clock>,
    /// Single sign-on, when OIDC_ENABLED.
    pub oidc: Option<Oidc>,
    /// The ROM library under ROMM_LIBRARY_PATH.
    pub library: Library,
}

impl Services {
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
        let auth = build_auth(&config, store.clone(), policy, clock.now()).await?;
        let library = Library::new(config.library_path.clone(), store.clone(), config.max_upload_bytes);
        let oidc = match &config.oidc {
            Some(oidc_config) => Some(Oidc::new(oidc_config.clone(), store.clone()).map_err(AppError::internal)?),
            None => None,
        };
        Ok(Self {
            config: Arc::new(config),
            store,
            auth,
            clock,
            oidc,
            library,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether this instance can serve requests (`GET /health/ready`): the
    /// database answers, with every migration of this binary applied.
    /// Otherwise a 503 refusal naming which of the two is missing.
    pub async fn check_ready(&self) -> AppResult<()> {
        match self.store.schema().await {
            Ok(Schema::Current) => Ok(()),
            Ok(Schema::Behind(missing)) => Err(schema_outdated(format!(
                "{missing} of this romgate's database migrations are not applied"
            ))),
            Err(err @ StoreError::Unavailable(_)) => Err(err.into()),
            Err(err) => Err(schema_outdated(err.to_string())),
        }
    }

    /// Sets the metrics read from the database, just before a scrape
    /// encodes them: live sessions (one indexed count) and the pool.
    pub async fn observe(&self, metrics: &Metrics) {
        // The pool before the count, which borrows a connection.
        let pool = self.store.pool_usage();
        let sessions = match self.store.count_live_sessions(self.now()).await {
            Ok(count) => Some(count),
            Err(err) => {
                tracing::warn!(error = %err, "metrics: cannot count the live sessions");
                None
            }
        };
        metrics.set_database(sessions, pool.open, pool.idle, pool.max);
    }
}

/// The readiness refusal when the database answers without this binary's
/// schema (`cause` goes to the log).
fn schema_outdated(cause: String) -> AppError {
    tracing::warn!(%cause, "not ready: the database's schema is not this romgate's");
    AppError::refuse(
        Kind::Unavailable,
        Code::SchemaOutdated,
        "The server's database is not up to date for this version of romgate.",
    )
    .hint("romgate applies its migrations at start: restart it, and check its log for a migration error.")
}

/// The authentication service alone (what the account commands need): the
/// secret key loaded or created, the password hasher, the settings.
pub async fn build_auth(config: &Config, store: Store, policy: PasswordPolicy, now: i64) -> AppResult<Auth> {
    let key = secret_key::load_or_create(config, &store, now).await?;
    Ok(Auth::new(
        store,
        Passwords::new(policy)?,
        TokenHasher::new(key),
        AuthSettings::from_config(config),
    ))
}
