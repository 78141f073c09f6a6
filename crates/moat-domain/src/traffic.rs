//! The gateway's request log, as stored and as the API shows it.

use serde::Serialize;

/// One request through the gateway. Redacted: personal data and secrets in the path
/// are replaced by the guard's tags, the key appears by its id only, and a body is kept
/// only where the endpoint asks for it (`log_bodies`), redacted and cut at 4 KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrafficRecord {
    pub id: String,
    /// RFC 3339, milliseconds: sorts as text.
    pub at: String,
    pub endpoint: String,
    /// The key's id (never the secret); empty when no valid key was sent.
    pub key_id: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The gateway's error code when it answered itself (`rate_limited`, `blocked`, …).
    pub code: Option<String>,
    /// From the request's head to the response's head, upstream included.
    pub latency_us: u64,
    pub request_bytes: Option<u64>,
    /// `detector:mode` of every detector that found something.
    pub verdicts: Vec<String>,
    pub body: Option<String>,
}
