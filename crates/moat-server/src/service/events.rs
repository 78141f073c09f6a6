//! Detections as events: the gateway hands them over in batches (it is inside the trust
//! boundary, so recording needs no caller), and security and auditors read them with
//! `moat events` or `GET /api/v1/events`.

use moat_domain::{DetectionEvent, Permission};

use super::{guarded, App, Ctx};
use crate::error::Result;

/// The most events one listing returns.
const MAX_EVENTS: u32 = 10_000;

impl App {
    /// Stores detections (one transaction per batch). For the gateway in this process.
    pub async fn record_detections(&self, events: Vec<DetectionEvent>) -> Result<()> {
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
                Ok(moat_store::list_events(&mut c, i64::from(limit.clamp(1, MAX_EVENTS))).await?)
            }
        )
    }
}
