//! Reading and checking the audit log: entries, signed checkpoints, inclusion and
//! consistency proofs, and full verification.

use std::collections::HashMap;

use moat_audit::{
    consistency_nodes, consistency_proof, inclusion_nodes, inclusion_proof, verify_consistency,
    verify_inclusion, Checkpoint, Hash, LogVerifier, NodeId, StoredCheckpoint, StoredDetails,
    StoredEntry,
};
use moat_domain::Permission;
use serde::Serialize;

use super::{guarded, App, Ctx, Record};
use crate::error::{Result, ServiceError};

/// One entry as shown to auditors.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub seq: u64,
    pub leaf_hash: String,
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
    /// The details kept outside the leaf, unless erased.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InclusionProofView {
    pub seq: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    /// Sibling hashes, deepest first (RFC 6962 audit path), hex.
    pub proof: Vec<String>,
    /// Root of the tree of `tree_size` leaves, hex.
    pub root: String,
    /// The signed checkpoint of that tree.
    pub checkpoint: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProofView {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub proof: Vec<String>,
    /// The signed checkpoints of both sizes.
    pub checkpoint1: String,
    pub checkpoint2: String,
}

/// The outcome of `moat audit verify`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyView {
    pub ok: bool,
    pub size: u64,
    pub root: String,
    pub checkpoints_checked: usize,
    /// Largest tree size a valid signed checkpoint covers and the log matches.
    pub signed_size: u64,
    pub erased_details: u64,
    /// Each problem names the entry or range that is wrong.
    pub problems: Vec<String>,
    pub more_problems: u64,
}

impl App {
    /// Entries from `from` (or at/after `since`, RFC 3339), at most `limit`.
    /// A privileged read: it is audited.
    pub async fn audit_log(
        &self,
        cx: &Ctx,
        from: u64,
        since: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEntryView>> {
        self.authorize(cx, Permission::AuditRead, "audit-log", "entries")
            .await?;
        let limit = limit.clamp(1, 10_000);
        let mut c = self.store.conn().await?;
        let rows = match since {
            Some(s) => {
                let t = moat_domain::parse_time(s)?;
                moat_store::audit_entries_since(&mut c, &moat_domain::format_time(t), limit).await?
            }
            None => moat_store::audit_entries(&mut c, from, limit).await?,
        };
        drop(c);
        let out = rows
            .into_iter()
            .map(|r| AuditEntryView {
                seq: r.seq,
                leaf_hash: hex::encode(&r.leaf_hash),
                entry: serde_json::from_slice(&r.leaf).unwrap_or(serde_json::Value::Null),
                details: r
                    .details
                    .and_then(|(_, body)| serde_json::from_str(&body).ok()),
            })
            .collect();
        self.audit_alone(
            cx,
            Record::new(Permission::AuditRead, "audit-log", "entries"),
        )
        .await?;
        Ok(out)
    }

    /// The latest signed checkpoint (the head).
    pub async fn audit_head(&self, cx: &Ctx) -> Result<(u64, Option<String>)> {
        self.authorize(cx, Permission::AuditRead, "audit-log", "head")
            .await?;
        let mut c = self.store.conn().await?;
        let h = moat_store::audit_head(&mut c).await?;
        Ok((h.size, h.checkpoint))
    }

    /// Appends an `audit.checkpoint` entry and keeps the signed head that covers it in
    /// the checkpoint history; returns the signed checkpoint, ready for a witness.
    pub async fn audit_checkpoint(&self, cx: &Ctx) -> Result<String> {
        self.authorize(cx, Permission::AuditCheckpoint, "audit-log", "checkpoint")
            .await?;
        let mut tx = self.store.begin().await?;
        let mut log = self.appender(&mut tx).await?;
        self.append(
            &mut log,
            cx,
            Record::new(Permission::AuditCheckpoint, "audit-log", "checkpoint"),
        )
        .await?;
        let size = log_size(&log);
        let start = log.start;
        let note = self
            .seal(&mut tx, log)
            .await?
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no checkpoint was signed")))?;
        let every = self.config.checkpoint_every.max(1);
        // `seal` keeps history checkpoints on boundaries; keep this one in any case.
        if !(start == 0 || size / every > start / every) {
            let now = moat_domain::format_time(moat_domain::now());
            moat_store::insert_checkpoint(&mut tx, size, &note, &now).await?;
        }
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(note)
    }

    async fn nodes(&self, ids: Vec<NodeId>) -> Result<HashMap<NodeId, Hash>> {
        let keys: Vec<(u8, u64)> = ids.iter().map(|i| (i.level, i.index)).collect();
        let mut c = self.store.conn().await?;
        let found = moat_store::audit_nodes(&mut c, &keys).await?;
        Ok(found
            .into_iter()
            .map(|((level, index), h)| (NodeId { level, index }, h))
            .collect())
    }

    /// Inclusion proof of entry `seq` in the current signed head; a privileged read,
    /// audited.
    pub async fn audit_proof(&self, cx: &Ctx, seq: u64) -> Result<InclusionProofView> {
        self.authorize(cx, Permission::AuditRead, "audit-log", &seq.to_string())
            .await?;
        let view = self.prove_inclusion(seq).await?;
        self.audit_read(
            cx,
            Record::new(Permission::AuditRead, "audit-log", format!("proof/{seq}")),
        )
        .await?;
        Ok(view)
    }

    /// Builds the inclusion proof of entry `seq` in the current signed head: two reads
    /// (the head, then every node the proof needs, the leaf among them), and the proof
    /// is checked against the signed root before it is returned.
    pub async fn prove_inclusion(&self, seq: u64) -> Result<InclusionProofView> {
        let mut c = self.store.conn().await?;
        let head = moat_store::audit_head(&mut c).await?;
        let note = head
            .checkpoint
            .ok_or_else(|| ServiceError::NotFound("the audit log is empty".into()))?;
        if seq >= head.size {
            return Err(ServiceError::NotFound(format!(
                "audit entry {seq} not found: the log has {} entries",
                head.size
            )));
        }
        let cp = self.open_checkpoint(&note)?;
        let mut ids: Vec<(u8, u64)> = inclusion_nodes(seq, cp.size)
            .iter()
            .map(|i| (i.level, i.index))
            .collect();
        ids.push((0, seq));
        let found = moat_store::audit_nodes(&mut c, &ids).await?;
        drop(c);
        let leaf = *found.get(&(0, seq)).ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!(
                "audit tree node (0, {seq}) is missing; run `moat audit verify`"
            ))
        })?;
        let proof = inclusion_proof(seq, cp.size, |id| found.get(&(id.level, id.index)).copied())?;
        if !verify_inclusion(seq, cp.size, &leaf, &proof, &cp.root) {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "the proof of entry {seq} does not verify against the signed head: the log is damaged; run `moat audit verify`"
            )));
        }
        Ok(InclusionProofView {
            seq,
            tree_size: cp.size,
            leaf_hash: hex::encode(leaf),
            proof: proof.iter().map(hex::encode).collect(),
            root: hex::encode(cp.root),
            checkpoint: note,
        })
    }

    /// Consistency proof between two signed checkpoints (kept in the history, or the
    /// head), so that a witness holding the older one can check that the log only
    /// grew. The proof is checked against both signed roots before it is returned.
    pub async fn audit_consistency(
        &self,
        cx: &Ctx,
        size1: u64,
        size2: u64,
    ) -> Result<ConsistencyProofView> {
        self.authorize(
            cx,
            Permission::AuditRead,
            "audit-log",
            &format!("{size1}..{size2}"),
        )
        .await?;
        if size1 > size2 {
            return Err(ServiceError::Invalid(format!(
                "the first size ({size1}) must not exceed the second ({size2})"
            )));
        }
        let mut c = self.store.begin_read().await?;
        let head = moat_store::audit_head(&mut c).await?;
        let mut notes: Vec<String> = moat_store::list_checkpoints(&mut c)
            .await?
            .into_iter()
            .map(|r| r.note)
            .collect();
        notes.extend(head.checkpoint);
        drop(c);
        let key = self.verifier_key();
        let signed: Vec<(Checkpoint, String)> = notes
            .into_iter()
            .filter_map(|n| {
                Checkpoint::open(&n, &key, &self.config.audit_origin)
                    .ok()
                    .map(|cp| (cp, n))
            })
            .collect();
        let find = |size: u64| {
            signed.iter().find(|(cp, _)| cp.size == size).cloned().ok_or_else(|| {
                let mut sizes: Vec<u64> = signed.iter().map(|(cp, _)| cp.size).collect();
                sizes.sort_unstable();
                sizes.dedup();
                let recent: Vec<String> = sizes.iter().rev().take(10).map(|s| s.to_string()).collect();
                ServiceError::Invalid(format!(
                    "no signed checkpoint of size {size}; sizes with one (latest first): {}; `moat audit checkpoint` signs a new one",
                    recent.join(", ")
                ))
            })
        };
        let (cp1, note1) = find(size1)?;
        let (cp2, note2) = find(size2)?;
        let nodes = self.nodes(consistency_nodes(size1, size2)).await?;
        let proof = consistency_proof(size1, size2, |id| nodes.get(&id).copied())?;
        if !verify_consistency(size1, size2, &cp1.root, &cp2.root, &proof) {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "the consistency proof does not verify against the signed checkpoints: the log is damaged; run `moat audit verify`"
            )));
        }
        self.audit_read(
            cx,
            Record::new(
                Permission::AuditRead,
                "audit-log",
                format!("consistency/{size1}/{size2}"),
            ),
        )
        .await?;
        Ok(ConsistencyProofView {
            size1,
            size2,
            root1: hex::encode(cp1.root),
            root2: hex::encode(cp2.root),
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint1: note1,
            checkpoint2: note2,
        })
    }

    /// Erases the details kept beside entry `seq` (personal data, payloads), for the
    /// right to erasure. The entry and its commitment stay, so the log still verifies;
    /// the erasure is itself audited, with its reason.
    pub async fn audit_erase(&self, cx: &Ctx, seq: u64, reason: &str) -> Result<()> {
        guarded!(
            self,
            cx,
            Permission::AuditErase,
            "audit-entry",
            seq.to_string(),
            async {
                if reason.trim().is_empty() {
                    return Err(ServiceError::Invalid(
                        "an erasure needs a reason (--reason \"…\")".into(),
                    ));
                }
                let mut tx = self.store.begin().await?;
                if !moat_store::erase_audit_details(&mut tx, seq).await? {
                    return Err(ServiceError::NotFound(format!(
                    "audit entry {seq} has no details to erase (it never had any, or they were erased already)"
                )));
                }
                let rec = Record::new(Permission::AuditErase, "audit-entry", seq.to_string())
                    .details(serde_json::json!({ "reason": reason }));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(())
            }
        )
    }

    /// Recomputes the whole log and checks it against every stored signed checkpoint,
    /// the head and any `extra` checkpoints (copies kept by a witness).
    pub async fn audit_verify(&self, cx: &Ctx, extra: &[String]) -> Result<VerifyView> {
        self.authorize(cx, Permission::AuditRead, "audit-log", "verify")
            .await?;
        let report = self.verify_log(extra).await?;
        if !self.can_write() {
            return Ok(report);
        }
        if let Err(e) = self
            .audit_alone(
                cx,
                Record::new(Permission::AuditRead, "audit-log", "verify"),
            )
            .await
        {
            tracing::warn!(error = %e, "Could not record the verification in the audit log.");
        }
        Ok(report)
    }

    pub(crate) async fn verify_log(&self, extra: &[String]) -> Result<VerifyView> {
        // One snapshot for the head, the checkpoints and every entry, so appends made
        // meanwhile are neither half-seen nor mistaken for forgeries.
        let key = self.verifier_key();
        let origin = self.config.audit_origin.clone();
        let v = self
            .store
            .scan_audit(
                |snap| {
                    let mut checkpoints: Vec<StoredCheckpoint> = snap
                        .checkpoints
                        .into_iter()
                        .map(|c| StoredCheckpoint { note: c.note })
                        .collect();
                    checkpoints.extend(snap.head.checkpoint.map(|note| StoredCheckpoint { note }));
                    checkpoints.extend(extra.iter().map(|n| StoredCheckpoint { note: n.clone() }));
                    LogVerifier::new(&key, &origin, &checkpoints)
                },
                |v, r| {
                    let d = r.details.map(|(salt, body)| StoredDetails { salt, body });
                    v.push(
                        StoredEntry {
                            seq: r.seq,
                            leaf: r.leaf,
                            leaf_hash: r.leaf_hash,
                        },
                        d,
                    );
                },
            )
            .await?;
        let r = v.finish();
        Ok(VerifyView {
            ok: r.ok(),
            size: r.size,
            root: hex::encode(r.root),
            checkpoints_checked: r.checkpoints_checked,
            signed_size: r.signed_size,
            erased_details: r.erased_details,
            problems: r.problems.iter().map(|p| p.to_string()).collect(),
            more_problems: r.more_problems,
        })
    }
}

fn log_size(log: &super::Appender) -> u64 {
    log.tree.size()
}
