//! Detections of the gateway, as stored and as the API shows them.

use serde::Serialize;

/// One detection. `evidence` says what was found and where, never the matched text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DetectionEvent {
    pub id: String,
    /// RFC 3339, milliseconds: sorts as text.
    pub at: String,
    pub endpoint: String,
    /// The key's id (never the secret).
    pub key_id: String,
    pub detector: String,
    pub severity: String,
    /// MITRE ATLAS technique.
    pub atlas: String,
    /// What the gateway did: `log`, `alert` or `block`.
    pub mode: String,
    pub evidence: String,
}
