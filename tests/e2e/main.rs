//! End-to-end tests against a real OpenID Provider (`oidc-provider` on Node,
//! see e2e/provider/) and the real romgate binary. Needs `node` and `npm`; the
//! provider's npm packages are installed on first use (`npm ci`). The tests
//! are `#[ignore]`d so that `cargo test` needs nothing but Rust; `.ci/run`
//! runs them with `cargo test --test e2e -- --ignored`. A second, independent
//! provider, Debian's Glewlwyd (package `glewlwyd`), runs in `glewlwyd*.rs`.

mod browser;
mod client_tokens;
mod cluster;
mod database_outage;
mod demo;
mod device_flow;
mod disk_full;
mod email_trust;
mod fail2ban;
mod fault_support;
mod glewlwyd;
mod glewlwyd_pages;
mod glewlwyd_support;
mod graceful_shutdown;
mod harness_smoke;
mod login_limits;
mod logout;
mod multi_instance;
mod multi_instance_sso;
mod private_postgres;
mod provider;
mod proxy_upload;
mod romgate;
mod scenario;
mod sigkill;
mod sigkill_checks;
mod soak;
mod soak_report;
mod soak_traffic;
mod sso;
