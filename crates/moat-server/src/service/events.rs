//! Detections as events: the gateway hands them over in batches (it is inside the trust
//! boundary, so recording needs no caller), and security and auditors read them with
//! `moat events` or `GET /api/v1/events`.

use moat_domain::Permission;
use moat_store::EventRow;

use super::{guarded, App, Ctx};
use crate::error::Result;

/// One detection, as the API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DetectionEvent {
    pub id: String,
    /// RFC 3339.
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
    /// What was found and where; never the matched text.
    pub evidence: String,
}

impl From<EventRow> for DetectionEvent {
    fn from(e: EventRow) -> Self {
        DetectionEvent {
            id: e.id,
            at: e.at,
            endpoint: e.endpoint,
            key_id: e.key_id,
            detector: e.detector,
            severity: e.severity,
            atlas: e.atlas,
            mode: e.mode,
            evidence: e.evidence,
        }
    }
}

/// The most events one listing returns.
const MAX_EVENTS: u32 = 10_000;

impl App {
    /// Stores detections (one transaction per batch). For the gateway in this process.
    pub async fn record_detections(&self, events: Vec<EventRow>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        moat_store::insert_events(&mut tx, &events).await?;
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(())
    }

    /// The newest detections, newest first.
    pub async fn list_events(&self, cx: &Ctx, limit: u32) -> Result<Vec<DetectionEvent>> {
        guarded!(
            self,
            cx,
            Permission::AuditRead,
            "events",
            "*".to_owned(),
            async {
                let mut c = self.store.conn().await?;
                let rows =
                    moat_store::list_events(&mut c, i64::from(limit.clamp(1, MAX_EVENTS))).await?;
                Ok(rows.into_iter().map(DetectionEvent::from).collect())
            }
        )
    }
}
