//! romgate: a self-hosted game-library server whose heart is its sign-in
//! system, speaking RomM's authentication API.
//!
//! The modules are layers; each names only those below it (checked by
//! `tests/api/layers.rs`):
//!
//! - leaves: `secret`, `access` (roles, scopes), `next_path` (the safe
//!   redirect target), `clock` (time and its RFC 3339 form), `logging`,
//!   `metrics` (Prometheus, off by default);
//! - `config`, then `store` (all SQL), then `error` (the one error type);
//! - the domain, without HTTP: `auth`, then `library` and `oidc`;
//! - `services`: the composition root, built once for the server and the CLI;
//! - `web`: the API (`web::api`) and the pages (`web::pages`), and what both
//!   use; `app` builds the whole HTTP application from an `AppState`;
//! - `cli`: the command line (`main` only calls it).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod access;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod library;
pub mod logging;
pub mod metrics;
pub mod next_path;
pub mod oidc;
pub mod secret;
pub mod services;
pub mod store;
pub mod web;

pub use web::state::AppState;

/// The whole application, ready to serve or to drive in tests.
pub fn app(state: AppState) -> web::App {
    web::router(state)
}
