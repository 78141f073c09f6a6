//! The service layer: every inventory, key and audit operation, shared by the REST API
//! and the command line. Each operation checks one permission, does its work in one
//! transaction and appends its audit entry in the same transaction; a denial or a
//! failure is audited too.

mod audit_log;
mod events;
mod inventory;
mod keys;
mod quarantine;
mod rollback;
mod traffic;

use std::sync::Arc;

use moat_audit::{Actor, Checkpoint, Entry, Frontier, Resource, SigningKey, VerifierKey};
use moat_domain::{AuthMethod, Permission, Principal, PrincipalKind, Role};
use moat_store::{NewLeaf, Store, Tx};
use serde::Serialize;

use crate::config::ServiceConfig;
use crate::error::{Result, ServiceError};
use crate::secret;

pub use audit_log::{AuditEntryView, ConsistencyProofView, InclusionProofView, VerifyView};
pub use inventory::{
    AiSystemView, Classify, DatasetDetail, LineageView, ModelDetail, NewEndpoint, NewSystem,
    RegisterDataset, RegisterModel, VendorInput,
};
pub use keys::{CreatedKey, NewKeyRequest};
pub use rollback::{served_stack, Rollback, Served};

/// Who is calling, and the request being served.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub principal: Principal,
    pub request_id: String,
}

impl Ctx {
    /// The system itself (`moat init`, the demo seed).
    pub fn system() -> Ctx {
        Ctx {
            principal: Principal {
                id: "prn_system".to_owned(),
                name: "system".to_owned(),
                kind: PrincipalKind::Service,
                role: Role::Admin,
                key_id: None,
                endpoints: Vec::new(),
                auth: AuthMethod::System,
                key_expires: None,
            },
            request_id: secret::new_id("req"),
        }
    }
}

/// The application: store, settings and the audit log's signing key.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Store,
    pub(crate) config: Arc<ServiceConfig>,
    /// `None` in verify-only mode (only the public key is at hand): reads and
    /// verification work, changes are refused.
    signer: Option<Arc<SigningKey>>,
    verifier: VerifierKey,
    /// The last signed note opened, so proofs do not re-verify the same signature.
    opened: Arc<std::sync::Mutex<Option<(String, Checkpoint)>>>,
}

/// How an action ended, as recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// Longest resource id kept in an audit entry.
const MAX_RESOURCE_ID: usize = 256;

/// One audit record, before it becomes a leaf.
pub(crate) struct Record {
    pub action: String,
    pub resource: Resource,
    pub before: Option<String>,
    pub after: Option<String>,
    pub outcome: Outcome,
    /// Personal data or payloads: stored beside the log, committed to by a salted hash.
    pub details: Option<serde_json::Value>,
}

impl Record {
    pub(crate) fn new(action: Permission, kind: &str, id: impl Into<String>) -> Record {
        // Ids come from requests before they are validated (denials are audited first):
        // cap them, so nobody can write large leaves into a log that is never pruned.
        let mut id: String = id.into();
        if id.len() > MAX_RESOURCE_ID {
            let mut cut = MAX_RESOURCE_ID;
            while !id.is_char_boundary(cut) {
                cut -= 1;
            }
            id.truncate(cut);
            id.push('…');
        }
        Record {
            action: action.to_string(),
            resource: Resource {
                kind: kind.to_owned(),
                id,
                digest: None,
            },
            before: None,
            after: None,
            outcome: Outcome::Success,
            details: None,
        }
    }

    pub(crate) fn digest(mut self, d: impl Into<String>) -> Self {
        self.resource.digest = Some(d.into());
        self
    }

    pub(crate) fn before<T: Serialize>(mut self, v: Option<&T>) -> Self {
        self.before = v.map(moat_audit::canonical_digest);
        self
    }

    pub(crate) fn after<T: Serialize>(mut self, v: Option<&T>) -> Self {
        self.after = v.map(moat_audit::canonical_digest);
        self
    }

    pub(crate) fn details(mut self, d: serde_json::Value) -> Self {
        self.details = Some(d);
        self
    }
}

/// Appends entries inside one transaction and signs the new head once at the end.
pub(crate) struct Appender {
    tree: Frontier,
    prev: Option<[u8; 32]>,
    start: u64,
    /// Leaves appended but not yet written: `seal` writes them in a few statements.
    pending: Vec<NewLeaf>,
}

impl App {
    pub fn new(store: Store, config: ServiceConfig, signer: SigningKey) -> App {
        App {
            store,
            config: Arc::new(config),
            verifier: signer.verifier(),
            signer: Some(Arc::new(signer)),
            opened: Arc::default(),
        }
    }

    /// An application that can read and verify but not change anything: for auditors
    /// who hold only the log's public key.
    pub fn verify_only(store: Store, config: ServiceConfig, verifier: VerifierKey) -> App {
        App {
            store,
            config: Arc::new(config),
            signer: None,
            verifier,
            opened: Arc::default(),
        }
    }

    /// Opens a signed checkpoint of this log (signature and origin checked), reusing
    /// the result for the same note.
    pub(crate) fn open_checkpoint(&self, note: &str) -> Result<Checkpoint> {
        let cached = self.opened.lock().ok().and_then(|g| {
            g.as_ref()
                .filter(|(n, _)| n == note)
                .map(|(_, c)| c.clone())
        });
        if let Some(cp) = cached {
            return Ok(cp);
        }
        let cp = Checkpoint::open(note, &self.verifier, &self.config.audit_origin)?;
        if let Ok(mut g) = self.opened.lock() {
            *g = Some((note.to_owned(), cp.clone()));
        }
        Ok(cp)
    }

    /// Records a privileged read. Where the log cannot be written (verify-only mode)
    /// there is nothing to record it in, and the read goes ahead.
    pub(crate) async fn audit_read(&self, cx: &Ctx, rec: Record) -> Result<()> {
        if self.can_write() {
            self.audit_alone(cx, rec).await?;
        }
        Ok(())
    }

    /// Whether this process can sign the audit log (and so change anything).
    pub fn can_write(&self) -> bool {
        self.signer.is_some()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn verifier_key(&self) -> VerifierKey {
        self.verifier.clone()
    }

    /// Checks a permission; a denial is audited and returned as `Forbidden`.
    pub(crate) async fn authorize(
        &self,
        cx: &Ctx,
        p: Permission,
        kind: &str,
        id: &str,
    ) -> Result<()> {
        if cx.principal.can(p) {
            return Ok(());
        }
        let msg = p.denial_message();
        let mut rec = Record::new(p, kind, id);
        rec.outcome = Outcome::Denied;
        let rec = rec.details(serde_json::json!({ "reason": msg, "role": cx.principal.role }));
        if let Err(e) = self.audit_alone(cx, rec).await {
            tracing::error!(error = %e, "Could not audit a denial.");
        }
        Err(ServiceError::Forbidden(format!(
            "{msg} (you are `{}` with role {})",
            cx.principal.name, cx.principal.role
        )))
    }

    /// Records a failed mutation in its own transaction (the change itself rolled back).
    pub(crate) async fn audit_failure<T>(
        &self,
        cx: &Ctx,
        p: Permission,
        kind: &str,
        id: &str,
        r: &Result<T>,
    ) {
        // Denials by `authorize` never get here (it returns first and audits them);
        // a rule refused inside the operation (only admins make admin keys) does.
        let Err(e) = r else { return };
        let mut rec = Record::new(p, kind, id);
        rec.outcome = if matches!(e, ServiceError::Forbidden(_)) {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
        let rec = rec.details(serde_json::json!({ "error": e.to_string() }));
        if let Err(e) = self.audit_alone(cx, rec).await {
            tracing::error!(error = %e, "Could not audit a failed action.");
        }
    }

    /// Appends one record in a transaction of its own.
    pub(crate) async fn audit_alone(&self, cx: &Ctx, rec: Record) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let mut log = self.appender(&mut tx).await?;
        let seq = self.append(&mut log, cx, rec).await?;
        self.seal(&mut tx, log).await?;
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(seq)
    }

    /// Appends `recs` to the log inside `tx`, signs the new head and commits: the change
    /// made in `tx` and its audit entries land together or not at all.
    pub(crate) async fn commit(&self, mut tx: Tx, cx: &Ctx, recs: Vec<Record>) -> Result<()> {
        let mut log = self.appender(&mut tx).await?;
        for rec in recs {
            self.append(&mut log, cx, rec).await?;
        }
        self.seal(&mut tx, log).await?;
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(())
    }

    /// Loads the right edge of the tree at the current head, inside `tx`.
    pub(crate) async fn appender(&self, tx: &mut Tx) -> Result<Appender> {
        let head = moat_store::audit_head(tx).await?;
        let mut ids: Vec<(u8, u64)> = Frontier::ids(head.size)
            .iter()
            .map(|id| (id.level, id.index))
            .collect();
        if head.size > 0 {
            ids.push((0, head.size - 1));
        }
        let nodes = moat_store::audit_nodes(tx, &ids).await?;
        let get = |k: &(u8, u64)| {
            nodes.get(k).copied().ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!(
                    "audit tree node {k:?} is missing; run `moat audit verify`"
                ))
            })
        };
        let frontier_ids = &ids[..head.size.count_ones() as usize];
        let hashes = frontier_ids.iter().map(get).collect::<Result<Vec<_>>>()?;
        let prev = if head.size > 0 {
            Some(get(&(0, head.size - 1))?)
        } else {
            None
        };
        let tree = Frontier::from_nodes(head.size, hashes)?;
        // Never extend (and so sign) a state this log did not sign itself: whoever can
        // edit the database could otherwise rewrite entries and have the next write
        // sign the forgery.
        let damaged = || {
            ServiceError::Internal(anyhow::anyhow!(
                "the audit log does not match its signed head, so nothing can be written; run `moat audit verify`"
            ))
        };
        match &head.checkpoint {
            None if head.size == 0 => {}
            None => return Err(damaged()),
            Some(note) => {
                let cp = self.open_checkpoint(note).map_err(|_| damaged())?;
                if cp.size != head.size || cp.root != tree.root() {
                    return Err(damaged());
                }
            }
        }
        Ok(Appender {
            tree,
            prev,
            start: head.size,
            pending: Vec::new(),
        })
    }

    /// Appends one entry (written by `seal`); returns its sequence number.
    pub(crate) async fn append(&self, log: &mut Appender, cx: &Ctx, rec: Record) -> Result<u64> {
        let seq = log.tree.size();
        let time = moat_domain::format_time(moat_domain::now());
        let details = rec.details.map(|d| {
            let salt = secret::random_bytes::<16>().to_vec();
            let body = d.to_string();
            (salt, body)
        });
        let entry = Entry {
            v: moat_audit::ENTRY_VERSION,
            seq,
            time: time.clone(),
            actor: Actor {
                id: cx.principal.id.clone(),
                auth: cx.principal.auth.to_string(),
                key_id: cx.principal.key_id.clone(),
            },
            action: rec.action,
            resource: rec.resource,
            before: rec.before,
            after: rec.after,
            request_id: cx.request_id.clone(),
            outcome: rec.outcome.as_str().to_owned(),
            details: details
                .as_ref()
                .map(|(s, b)| moat_audit::details_commitment(s, b.as_bytes())),
            prev: log.prev.map(hex::encode).unwrap_or_default(),
        };
        let leaf = entry.leaf_bytes();
        let h = moat_audit::leaf_hash(&leaf);
        let nodes = log
            .tree
            .append(h)
            .into_iter()
            .map(|(id, hash)| (id.level, id.index, hash))
            .collect();
        log.pending.push(NewLeaf {
            seq,
            time,
            leaf,
            leaf_hash: h,
            nodes,
            details,
        });
        log.prev = Some(h);
        Ok(seq)
    }

    /// Signs the new head (and keeps a history checkpoint every `checkpoint_every`
    /// entries, and for the first entry).
    pub(crate) async fn seal(&self, tx: &mut Tx, log: Appender) -> Result<Option<String>> {
        let size = log.tree.size();
        if size == log.start {
            return Ok(None);
        }
        moat_store::insert_leaves(tx, &log.pending).await?;
        let cp = Checkpoint {
            origin: self.config.audit_origin.clone(),
            size,
            root: log.tree.root(),
        };
        let signer = self.signer.as_ref().ok_or_else(|| {
            ServiceError::Invalid(
                "read-only: only the audit public key is available here, so nothing can be changed or audited; \
                 run this where the signing key is (the data directory or MOAT_AUDIT_SIGNING_KEY)"
                    .into(),
            )
        })?;
        let note = cp.sign(signer)?;
        moat_store::set_audit_head(tx, size, &note).await?;
        let every = self.config.checkpoint_every.max(1);
        if log.start == 0 || size / every > log.start / every {
            let now = moat_domain::format_time(moat_domain::now());
            moat_store::insert_checkpoint(tx, size, &note, &now).await?;
        }
        Ok(Some(note))
    }

    /// Authenticates a presented key: `Unauthenticated` unless it is known, active
    /// and matches in constant time.
    pub async fn authenticate(&self, token: &str, auth: AuthMethod) -> Result<Principal> {
        let token = token.trim();
        let Some(key_id) = secret::token_key_id(token) else {
            return Err(ServiceError::Unauthenticated);
        };
        let mut c = self.store.conn().await?;
        let Some((info, hash)) = moat_store::key_by_id(&mut c, key_id).await? else {
            // Spend the same work as a real comparison.
            let _ = secret::token_matches(token, &[0u8; 32]);
            return Err(ServiceError::Unauthenticated);
        };
        if !secret::token_matches(token, &hash) {
            return Err(ServiceError::Unauthenticated);
        }
        drop(c);
        self.principal_for_key(&info.id, auth).await
    }

    /// The principal behind a key that is known and active now (for sessions that
    /// proved the key earlier: revocation and expiry still apply at once).
    pub async fn principal_for_key(&self, key_id: &str, auth: AuthMethod) -> Result<Principal> {
        let mut c = self.store.conn().await?;
        let Some((info, _)) = moat_store::key_by_id(&mut c, key_id).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        if !info.is_active(moat_domain::now()) {
            return Err(ServiceError::Unauthenticated);
        }
        let p = moat_store::principal_by_id(&mut c, &info.principal_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok(Principal {
            id: p.id,
            name: p.name,
            kind: p.kind,
            role: info.role,
            key_id: Some(info.id),
            endpoints: info.endpoints,
            auth,
            key_expires: info.expires_at,
        })
    }
}

/// Runs `$body` (an async block returning `Result<T>`) after checking `$perm`, and
/// audits a failure. Every public operation goes through it.
macro_rules! guarded {
    ($app:expr, $cx:expr, $perm:expr, $kind:expr, $id:expr, $body:expr) => {{
        let (perm, kind, id) = ($perm, $kind, $id);
        $app.authorize($cx, perm, kind, &id).await?;
        let r = $body.await;
        if !perm.is_read() {
            $app.audit_failure($cx, perm, kind, &id, &r).await;
        }
        r
    }};
}
pub(crate) use guarded;

/// An event recorded by a trusted component of Moat itself (a detection, a drill, a
/// benchmark), appended to the audit log without a user-facing permission check.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Dotted action name, such as `gateway.detection`.
    pub action: String,
    pub resource_kind: String,
    pub resource_id: String,
    /// Kept outside the leaf, committed to by a salted hash.
    pub details: Option<serde_json::Value>,
}

impl App {
    /// Appends `events` in one transaction with one signed head; returns the first
    /// sequence number. For components inside the trust boundary only.
    pub async fn record_events(&self, cx: &Ctx, events: &[AuditEvent]) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let mut log = self.appender(&mut tx).await?;
        let first = log.tree.size();
        for e in events {
            let mut rec = Record::new(
                Permission::AuditCheckpoint,
                &e.resource_kind,
                &e.resource_id,
            );
            rec.action = e.action.clone();
            rec.details = e.details.clone();
            self.append(&mut log, cx, rec).await?;
        }
        self.seal(&mut tx, log).await?;
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(first)
    }
}
