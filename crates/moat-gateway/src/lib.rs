//! The runtime gateway: a reverse proxy in front of inference endpoints that checks API
//! keys and their endpoint scope, applies GCRA rate limits per key and per endpoint, and
//! runs detectors on request bodies (personal data and secrets, prompt injection) in
//! `log`, `alert` or `block` mode, and streams requests and responses between clients
//! and model servers, answering its own refusals and failures with JSON errors that say
//! whose fault they were.
//!
//! The key system stays outside ([`keys::KeyResolver`], implemented by the `moat` binary
//! over the service layer), so this crate holds no store and no secret: it sees a key
//! only to pass it to the resolver and keeps only its SHA-256.

pub mod breaker;
pub mod config;
pub mod detect;
pub mod error;
pub mod events;
pub mod keys;
pub mod kill;
pub mod metrics;
pub mod proxy;
pub mod ratelimit;
pub mod server;
pub mod shared_limit;

pub use config::{GatewayConfig, GatewaySettings, Kind};
pub use keys::{Grant, KeyResolver};
pub use proxy::Gateway;
