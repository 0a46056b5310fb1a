//! All integration tests, in one binary, through the real router.

mod util;

mod bad_input;
mod cli;
mod csrf;
mod login;
mod pages;
mod scopes;
mod setup;
mod store;
mod token;
mod users;
