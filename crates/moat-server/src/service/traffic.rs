//! The gateway's request log: the gateway hands records over in batches (it is inside
//! the trust boundary, so recording needs no caller); security and auditors read them
//! with `moat traffic` or `GET /api/v1/traffic`; `moat serve` prunes those older than
//! the retention period every hour.

use moat_domain::{Permission, TrafficRecord};

use super::{guarded, App, Ctx};
use crate::error::Result;

/// The most records one listing returns.
const MAX_RECORDS: u32 = 10_000;

impl App {
    /// Stores request records (one transaction per batch). For the gateway in this
    /// process.
    pub async fn record_traffic(&self, records: Vec<TrafficRecord>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        moat_store::insert_traffic(&mut tx, &records).await?;
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(())
    }

    /// The newest request records, newest first, of one endpoint or all.
    pub async fn list_traffic(
        &self,
        cx: &Ctx,
        endpoint: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TrafficRecord>> {
        guarded!(
            self,
            cx,
            Permission::AuditRead,
            "traffic",
            endpoint.unwrap_or("*").to_owned(),
            async {
                let mut c = self.store.conn().await?;
                Ok(moat_store::list_traffic(
                    &mut c,
                    endpoint,
                    i64::from(limit.clamp(1, MAX_RECORDS)),
                )
                .await?)
            }
        )
    }

    /// Deletes request records older than `days` days; returns how many. The retention
    /// job of `moat serve`.
    pub async fn prune_traffic(&self, days: u32) -> Result<u64> {
        let before = moat_domain::now() - time::Duration::days(i64::from(days));
        let mut c = self.store.conn().await?;
        Ok(moat_store::prune_traffic(&mut c, &moat_domain::format_time(before)).await?)
    }
}
