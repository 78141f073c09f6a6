//! The kill switch: quarantining a model version makes every gateway that serves it
//! answer `503` for it until it is released. Both moves are audited; the gateways read
//! the list from the store (one small query, a few times a second), so a quarantine made
//! anywhere, by the command line or the API, reaches every replica within a second.

use moat_domain::{AssetRef, Permission};
use moat_store::Quarantine;

use super::{guarded, App, Ctx, Record};
use crate::error::{Result, ServiceError};

impl App {
    /// Quarantines `NAME@VERSION` with a reason (replacing the reason of an earlier one).
    pub async fn quarantine_model(&self, cx: &Ctx, r: &str, reason: &str) -> Result<Quarantine> {
        let r: AssetRef = r.parse()?;
        guarded!(
            self,
            cx,
            Permission::ModelQuarantine,
            "model-version",
            r.to_string(),
            async {
                let reason = reason.trim();
                if reason.is_empty() || reason.len() > 1000 {
                    return Err(ServiceError::Invalid(
                        "give the reason for the quarantine (--reason, at most 1000 characters)"
                            .into(),
                    ));
                }
                let mut tx = self.store.begin().await?;
                self.model_version(&mut tx, &r).await?;
                let q = Quarantine {
                    model: r.name.clone(),
                    version: r.version.clone(),
                    reason: reason.to_owned(),
                    by: cx.principal.name.clone(),
                    at: moat_domain::format_time(moat_domain::now()),
                };
                moat_store::set_quarantine(&mut tx, &q).await?;
                let rec = Record::new(Permission::ModelQuarantine, "model-version", r.to_string())
                    .details(serde_json::json!({"quarantined": true, "reason": q.reason}));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(q)
            }
        )
    }

    /// Lifts the quarantine of `NAME@VERSION`.
    pub async fn release_model(&self, cx: &Ctx, r: &str) -> Result<()> {
        let r: AssetRef = r.parse()?;
        guarded!(
            self,
            cx,
            Permission::ModelQuarantine,
            "model-version",
            r.to_string(),
            async {
                let mut tx = self.store.begin().await?;
                if !moat_store::clear_quarantine(&mut tx, &r.name, &r.version).await? {
                    return Err(ServiceError::NotFound(format!(
                        "`{r}` is not quarantined; `moat model quarantined` lists what is"
                    )));
                }
                let rec = Record::new(Permission::ModelQuarantine, "model-version", r.to_string())
                    .details(serde_json::json!({"quarantined": false}));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(())
            }
        )
    }

    /// The versions under quarantine, for a caller allowed to read models.
    pub async fn list_quarantines(&self, cx: &Ctx) -> Result<Vec<Quarantine>> {
        guarded!(
            self,
            cx,
            Permission::ModelRead,
            "model-version",
            "*".to_owned(),
            async { self.quarantined().await }
        )
    }

    /// The versions under quarantine, for the gateway (no caller: the gateway runs in
    /// this process and reads it a few times a second, so it is not audited).
    pub async fn quarantined(&self) -> Result<Vec<Quarantine>> {
        let mut c = self.store.conn().await?;
        Ok(moat_store::list_quarantines(&mut c).await?)
    }

    /// Changes with every key revocation or change of expiry, wherever it was made: the
    /// gateways poll it and drop the keys they verified when it moves.
    pub async fn keys_marker(&self) -> Result<Option<String>> {
        let mut c = self.store.conn().await?;
        Ok(moat_store::keys_marker(&mut c).await?)
    }
}
