//! All integration tests, in one binary, through the real router.

mod util;

mod bad_input;
mod cli;
mod client_addr;
mod connections;
mod csrf;
mod fake_idp;
mod library;
mod library_pages;
mod library_scan;
mod library_support;
mod library_upload;
mod login;
mod pages;
mod scopes;
mod security_headers;
mod setup;
mod sso;
mod sso_backchannel;
mod sso_check;
mod sso_refusals;
mod sso_support;
mod store;
mod token;
mod users;
