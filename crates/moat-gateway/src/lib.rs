//! The runtime gateway: a reverse proxy in front of inference endpoints that checks API
//! keys and their endpoint scope, applies GCRA rate limits per key and per endpoint,
//! runs detectors on requests and responses (personal data and secrets, prompt
//! injection, tabular anomalies and drift against the data profile, model extraction,
//! the output watcher) in `log`, `alert`, `block` or `redact` mode, and streams requests
//! and responses between clients and model servers (server-sent events scanned as they
//! pass, cut when a blocking detector fires), answering its own refusals and failures
//! with JSON errors that say whose fault they were.
//!
//! The key system stays outside ([`keys::KeyResolver`], implemented by the `moat` binary
//! over the service layer), so this crate holds no store and no secret: it sees a key
//! only to pass it to the resolver and keeps only its SHA-256.

pub mod breaker;
pub mod config;
pub mod detect;
pub mod error;
pub mod events;
pub mod inspect;
pub mod keys;
pub mod kill;
pub mod metrics;
pub mod proxy;
pub mod ratelimit;
pub mod server;
pub mod shared_limit;
pub mod traffic;

pub use config::{GatewayConfig, GatewaySettings, Kind};
pub use keys::{Grant, KeyResolver};
pub use proxy::Gateway;
