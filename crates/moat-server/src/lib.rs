//! The server side of Moat: the service layer (every inventory, key and audit
//! operation with its permission check and audit entry), the REST API with its OpenAPI
//! document, the dashboard, Prometheus metrics and the demo organisation.
//!
//! The command line calls the same [`App`] methods as the HTTP handlers, so both
//! enforce the same permissions and write the same audit entries.
//!
//! ```ignore
//! let app = moat_server::App::new(store, moat_server::ServiceConfig::default(), signing_key);
//! let router = moat_server::router(app, moat_server::HttpOptions::default());
//! ```

mod config;
mod demo;
mod error;
mod http;
mod secret;
mod service;

pub use config::ServiceConfig;
pub use demo::{is_demo_store, seed_demo};
pub use error::{ErrorBody, Result, ServiceError};
pub use http::{openapi_json, router, HttpOptions};
pub use secret::{new_id, new_ids, random_bytes, KEY_PREFIX};
pub use service::*;
