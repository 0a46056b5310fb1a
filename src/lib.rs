//! romgate: a self-hosted game-library server whose heart is its sign-in
//! system, speaking RomM's authentication API.
//!
//! `app` builds the whole HTTP application from an `AppState`; `main` only
//! parses the command line, loads configuration, builds the state and serves.

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
pub mod next_path;
pub mod oidc;
pub mod secret;
pub mod services;
pub mod store;
pub mod web;

pub use web::state::AppState;

/// The whole application, ready to serve or to drive in tests.
pub fn app(state: AppState) -> axum::Router {
    web::router(state)
}
