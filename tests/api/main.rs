//! All integration tests, in one binary, through the real router.

mod util;

mod account_page;
mod bad_input;
mod cli;
mod client_addr;
mod connections;
mod csrf;
mod email_trust;
mod fake_idp;
mod files;
mod library;
mod library_pages;
mod library_scan;
mod library_support;
mod library_upload;
mod login;
mod login_limits;
mod login_support;
mod logout;
mod pages;
mod reauth;
mod scopes;
mod security_headers;
mod setup;
mod shared_key;
mod sso;
mod sso_backchannel;
mod sso_callback;
mod sso_check;
mod sso_discovery;
mod sso_refusals;
mod sso_support;
mod store;
mod token;
mod users;
