//! Rollback: `moat endpoint rollback NAME` moves the alias an endpoint serves
//! (`production`) back to the version it served before the current one, skipping
//! versions that are quarantined or classified unacceptable-risk. Audited as
//! `endpoint.rollback`. Gateways read which version each endpoint serves from the store
//! a few times a second, as they read quarantines, so a rollback made anywhere reaches
//! every replica sharing the store within a second.

use moat_domain::{AliasMove, Permission, RiskTier};
use serde::Serialize;

use super::{guarded, App, Ctx, Record};
use crate::error::{Result, ServiceError};

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rollback {
    pub endpoint: String,
    pub model: String,
    pub alias: String,
    pub from_version: String,
    pub to_version: String,
    pub reason: Option<String>,
}

/// The version an endpoint serves now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub endpoint: String,
    pub model: String,
    pub version: String,
}

/// The versions an alias has served, as a stack: a move to a version it served before
/// returns to it (dropping what came after), any other move adds one. The top is the
/// current version; below it, what a rollback returns to.
pub fn served_stack(history: &[AliasMove]) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    for m in history {
        match stack.iter().position(|v| v == &m.to_version) {
            Some(k) => stack.truncate(k + 1),
            None => stack.push(m.to_version.clone()),
        }
    }
    stack
}

impl App {
    pub async fn rollback_endpoint(
        &self,
        cx: &Ctx,
        name: &str,
        reason: Option<&str>,
    ) -> Result<Rollback> {
        guarded!(
            self,
            cx,
            Permission::EndpointRollback,
            "endpoint",
            name.to_owned(),
            async {
                let reason = reason.map(str::trim).filter(|r| !r.is_empty());
                if reason.is_some_and(|r| r.len() > 1000) {
                    return Err(ServiceError::Invalid(
                        "the reason is longer than 1000 characters".into(),
                    ));
                }
                let mut tx = self.store.begin().await?;
                let e = moat_store::get_endpoint(&mut tx, name)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::NotFound(format!(
                            "endpoint `{name}` not found; `moat endpoint list` shows them"
                        ))
                    })?;
                let Some(current) = moat_store::get_alias(&mut tx, &e.model, &e.target).await?
                else {
                    return Err(ServiceError::Invalid(format!(
                        "endpoint `{name}` serves `{}:{}`, a fixed version or an alias never set; rollback moves an alias (register the endpoint with `--target production`)",
                        e.model, e.target
                    )));
                };
                let history = moat_store::alias_history(&mut tx, &e.model, &e.target).await?;
                let quarantined = moat_store::list_quarantines(&mut tx).await?;
                let stack = served_stack(&history);
                let mut to = None;
                for v in stack.iter().rev().skip(1) {
                    if v == &current
                        || quarantined
                            .iter()
                            .any(|q| q.model == e.model && &q.version == v)
                    {
                        continue;
                    }
                    let Some(mv) = moat_store::get_model_version(&mut tx, &e.model, v).await?
                    else {
                        continue;
                    };
                    if mv.tier != RiskTier::Unacceptable {
                        to = Some(mv);
                        break;
                    }
                }
                let Some(to) = to else {
                    return Err(ServiceError::Conflict(format!(
                        "`{}` of `{}` has no earlier version to return to (none, or only quarantined or unacceptable-risk ones)",
                        e.target, e.model
                    )));
                };
                let moved = AliasMove {
                    model: e.model.clone(),
                    alias: e.target.clone(),
                    from_version: Some(current.clone()),
                    to_version: to.version.clone(),
                    moved_by: cx.principal.id.clone(),
                    moved_at: moat_domain::now(),
                };
                moat_store::move_alias(&mut tx, &moved).await?;
                let r = Rollback {
                    endpoint: e.name.clone(),
                    model: e.model.clone(),
                    alias: e.target.clone(),
                    from_version: current,
                    to_version: to.version.clone(),
                    reason: reason.map(str::to_owned),
                };
                let rec = Record::new(Permission::EndpointRollback, "endpoint", &e.name)
                    .digest(&to.digest)
                    .after(Some(&r));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(r)
            }
        )
    }

    /// The version every inventory endpoint serves now (its alias resolved), for the
    /// gateways. Not a caller's operation: the gateway runs in this process.
    pub async fn served_versions(&self) -> Result<Vec<Served>> {
        let mut c = self.store.conn().await?;
        let mut out = Vec::new();
        for e in moat_store::list_endpoints(&mut c).await? {
            let version = match moat_store::get_alias(&mut c, &e.model, &e.target).await? {
                Some(v) => v,
                None => match moat_store::get_model_version(&mut c, &e.model, &e.target).await? {
                    Some(m) => m.version,
                    None => continue,
                },
            };
            out.push(Served {
                endpoint: e.name,
                model: e.model,
                version,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(to: &str) -> AliasMove {
        AliasMove {
            model: "m".into(),
            alias: "production".into(),
            from_version: None,
            to_version: to.into(),
            moved_by: "p".into(),
            moved_at: moat_domain::now(),
        }
    }

    #[test]
    fn the_stack_returns_below_the_current_version() {
        let h: Vec<AliasMove> = ["1", "2", "3"].iter().map(|v| mv(v)).collect();
        assert_eq!(served_stack(&h), ["1", "2", "3"]);
        // Rolled back to 2: a second rollback goes to 1, not back to 3.
        let mut h2 = h.clone();
        h2.push(mv("2"));
        assert_eq!(served_stack(&h2), ["1", "2"]);
        h2.push(mv("4"));
        assert_eq!(served_stack(&h2), ["1", "2", "4"]);
    }
}
