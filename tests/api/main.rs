//! All integration tests, in one binary, through the real router.

mod util;

mod bad_input;
mod cli;
mod csrf;
mod fake_idp;
mod login;
mod pages;
mod scopes;
mod setup;
mod sso;
mod sso_backchannel;
mod sso_check;
mod sso_refusals;
mod sso_support;
mod store;
mod token;
mod users;
