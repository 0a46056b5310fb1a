//! The JSON API (RomM's paths, scopes and answers), one module per area.
//! Handlers are thin: parse with the extractors of `web::extract`, call one
//! flow of the domain, map the result; refusals render as JSON
//! (`web::error`). Each module's `routes()` is merged in `web::router`.

pub mod backchannel;
pub mod chunked_upload;
pub mod client_tokens;
pub mod device;
pub mod devices;
pub mod download_links;
pub mod health;
pub mod heartbeat;
pub mod library;
pub mod oauth;
pub mod roms_query;
pub mod scan_status;
pub mod session;
pub mod stats;
pub mod tasks;
pub mod token;
pub mod users;

pub use heartbeat::VERSION;
