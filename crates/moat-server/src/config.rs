//! Settings of the service layer, built by the `moat` binary from `moat.toml` and
//! `MOAT_*` variables; this crate never reads files or the environment itself.

use std::time::Duration;

use moat_domain::ReviewCycles;

/// Governance settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Days between reviews per risk tier.
    pub review_cycles: ReviewCycles,
    /// Name of the audit log in its checkpoints (the checkpoint origin line).
    pub audit_origin: String,
    /// How long a rotated key stays valid beside its replacement.
    pub rotation_overlap: Duration,
    /// A new signed checkpoint is kept in the history every this many entries.
    pub checkpoint_every: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            review_cycles: ReviewCycles::default(),
            audit_origin: "moat.local/audit".to_owned(),
            rotation_overlap: Duration::from_secs(24 * 3600),
            checkpoint_every: 1024,
        }
    }
}
