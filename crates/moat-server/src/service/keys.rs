//! API keys: creation (the secret is shown once), listing, revocation and rotation
//! with an overlap window. One key system for the command line, the API and, later,
//! the gateway (endpoint-scoped service keys).

use std::time::Duration;

use moat_domain::{KeyInfo, Permission, PrincipalKind, Role};
use moat_store::{NewKey, PrincipalRow};
use serde::{Deserialize, Serialize};

use super::{guarded, App, Ctx, Record};
use crate::error::{Result, ServiceError};
use crate::secret;

/// A key to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// Name of the principal (user or service) the key belongs to; created if new.
    pub name: String,
    pub role: Role,
    /// Endpoints the key may call through the gateway; empty for none.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Lifetime in seconds; none for a key that does not expire.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
}

/// A new key. `key` is the secret: it is shown this once and never again (and never
/// in `Debug` output).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub info: KeyInfo,
    pub key: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("info", &self.info)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The longest key lifetime and rotation overlap accepted: ten years.
const MAX_LIFETIME_SECS: u64 = 10 * 365 * 86_400;

fn later(secs: u64, what: &str) -> Result<moat_domain::Timestamp> {
    if secs > MAX_LIFETIME_SECS {
        return Err(ServiceError::Invalid(format!(
            "{what} of {secs} s is too long; the most is ten years"
        )));
    }
    Ok(moat_domain::now() + Duration::from_secs(secs))
}

impl App {
    /// Creates the first admin principal and key. Refused once any principal exists.
    pub async fn bootstrap(&self, admin_name: &str) -> Result<CreatedKey> {
        let cx = Ctx::system();
        moat_domain::validate_name("principal", admin_name)?;
        let mut tx = self.store.begin().await?;
        if !moat_store::list_principals(&mut tx).await?.is_empty() {
            return Err(ServiceError::Conflict(
                "this store already has principals; use an admin key with `moat key create`".into(),
            ));
        }
        let mut log = self.appender(&mut tx).await?;
        let created = self
            .insert_key(
                &mut tx,
                &mut log,
                &cx,
                admin_name,
                Role::Admin,
                Vec::new(),
                None,
                None,
            )
            .await?;
        self.seal(&mut tx, log).await?;
        tx.commit().await.map_err(moat_store::Error::from)?;
        Ok(created)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one private helper shared by bootstrap, create and rotate"
    )]
    async fn insert_key(
        &self,
        tx: &mut moat_store::Tx,
        log: &mut super::Appender,
        cx: &Ctx,
        name: &str,
        role: Role,
        endpoints: Vec<String>,
        expires_at: Option<moat_domain::Timestamp>,
        rotated_from: Option<String>,
    ) -> Result<CreatedKey> {
        let now = moat_domain::now();
        let principal = match moat_store::principal_by_name(tx, name).await? {
            Some(p) if p.id != cx.principal.id && cx.principal.role != Role::Admin => {
                return Err(ServiceError::Forbidden(format!(
                    "`{name}` is another principal; only an admin can add keys to it"
                )))
            }
            Some(p) if p.role != role => {
                return Err(ServiceError::Invalid(format!(
                    "principal `{name}` has role {}; create the key with --role {} or choose another name",
                    p.role, p.role
                )))
            }
            Some(p) => p,
            None => {
                let p = PrincipalRow {
                    id: secret::new_id("prn"),
                    name: name.to_owned(),
                    kind: if role == Role::Service { PrincipalKind::Service } else { PrincipalKind::User },
                    role,
                    created_at: now,
                };
                moat_store::insert_principal(tx, &p).await?;
                p
            }
        };
        let id = secret::new_id("key");
        let token = secret::new_token(&id);
        let info = KeyInfo {
            id: id.clone(),
            name: name.to_owned(),
            principal_id: principal.id.clone(),
            role,
            endpoints,
            display_prefix: secret::display_prefix(&id),
            created_at: now,
            expires_at,
            revoked_at: None,
            rotated_from: rotated_from.clone(),
        };
        moat_store::insert_key(
            tx,
            &NewKey {
                info: info.clone(),
                secret_hash: secret::hash_token(&token),
            },
        )
        .await?;
        let mut rec = Record::new(Permission::KeyCreate, "key", &id)
            .after(Some(&info))
            .details(serde_json::json!({ "principal": name }));
        if rotated_from.is_some() {
            rec.action = "key.rotate".into();
        }
        self.append(log, cx, rec).await?;
        Ok(CreatedKey {
            info,
            key: token.to_string(),
        })
    }

    pub async fn create_key(&self, cx: &Ctx, req: NewKeyRequest) -> Result<CreatedKey> {
        guarded!(
            self,
            cx,
            Permission::KeyCreate,
            "key",
            req.name.clone(),
            async {
                moat_domain::validate_name("key name", &req.name)?;
                if cx.principal.role != Role::Admin && !req.role.within(cx.principal.role) {
                    return Err(ServiceError::Forbidden(format!(
                        "role {} grants permissions that role {} does not hold; only an admin can create such keys",
                        req.role, cx.principal.role
                    )));
                }
                let mut tx = self.store.begin().await?;
                for e in &req.endpoints {
                    if moat_store::get_endpoint(&mut tx, e).await?.is_none() {
                        return Err(ServiceError::NotFound(format!(
                            "endpoint `{e}` not found; register it with `moat endpoint add` first"
                        )));
                    }
                }
                let expires = req
                    .expires_in_secs
                    .map(|s| later(s, "a lifetime"))
                    .transpose()?;
                let mut log = self.appender(&mut tx).await?;
                let created = self
                    .insert_key(
                        &mut tx,
                        &mut log,
                        cx,
                        &req.name,
                        req.role,
                        req.endpoints.clone(),
                        expires,
                        None,
                    )
                    .await?;
                self.seal(&mut tx, log).await?;
                tx.commit().await.map_err(moat_store::Error::from)?;
                Ok(created)
            }
        )
    }

    /// Lists keys (metadata only). A privileged read: it is audited.
    pub async fn list_keys(&self, cx: &Ctx) -> Result<Vec<KeyInfo>> {
        self.authorize(cx, Permission::KeyRead, "key", "*").await?;
        let mut c = self.store.conn().await?;
        let keys = moat_store::list_keys(&mut c).await?;
        drop(c);
        self.audit_alone(cx, Record::new(Permission::KeyRead, "key", "*"))
            .await?;
        Ok(keys)
    }

    pub async fn revoke_key(&self, cx: &Ctx, id: &str) -> Result<KeyInfo> {
        guarded!(
            self,
            cx,
            Permission::KeyRevoke,
            "key",
            id.to_owned(),
            async {
                let mut tx = self.store.begin().await?;
                let (before, _) = moat_store::key_by_id(&mut tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("key `{id}`")))?;
                if cx.principal.role != Role::Admin && !before.role.within(cx.principal.role) {
                    return Err(ServiceError::Forbidden(format!(
                        "only an admin can revoke a key with role {}",
                        before.role
                    )));
                }
                if before.revoked_at.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "key `{id}` is already revoked"
                    )));
                }
                moat_store::revoke_key(&mut tx, id, moat_domain::now()).await?;
                let (after, _) = moat_store::key_by_id(&mut tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("key `{id}`")))?;
                let rec = Record::new(Permission::KeyRevoke, "key", id)
                    .before(Some(&before))
                    .after(Some(&after));
                self.commit(tx, cx, vec![rec]).await?;
                Ok(after)
            }
        )
    }

    /// Issues a new key for the same principal, role and endpoints; the old key stays
    /// valid for the overlap window (or `overlap`), then expires.
    pub async fn rotate_key(
        &self,
        cx: &Ctx,
        id: &str,
        overlap: Option<Duration>,
    ) -> Result<CreatedKey> {
        guarded!(
            self,
            cx,
            Permission::KeyCreate,
            "key",
            id.to_owned(),
            async {
                let mut tx = self.store.begin().await?;
                let (old, _) = moat_store::key_by_id(&mut tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("key `{id}`")))?;
                let now = moat_domain::now();
                if !old.is_active(now) {
                    return Err(ServiceError::Conflict(format!(
                        "key `{id}` is revoked or expired; create a new key instead"
                    )));
                }
                // Rotation hands the new secret to the caller: only the key's own principal,
                // or an admin, may rotate it.
                if old.principal_id != cx.principal.id && cx.principal.role != Role::Admin {
                    return Err(ServiceError::Forbidden(
                        "only the key's own principal or an admin can rotate a key".into(),
                    ));
                }
                let overlap_end = later(
                    overlap.unwrap_or(self.config.rotation_overlap).as_secs(),
                    "an overlap",
                )?;
                let old_end = old.expires_at.map_or(overlap_end, |e| e.min(overlap_end));
                moat_store::set_key_expiry(&mut tx, id, old_end).await?;
                let principal = moat_store::principal_by_id(&mut tx, &old.principal_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("principal of key `{id}`")))?;
                let mut log = self.appender(&mut tx).await?;
                let created = self
                    .insert_key(
                        &mut tx,
                        &mut log,
                        cx,
                        &principal.name,
                        old.role,
                        old.endpoints.clone(),
                        old.expires_at.map(|e| now + (e - old.created_at)),
                        Some(old.id.clone()),
                    )
                    .await?;
                self.seal(&mut tx, log).await?;
                tx.commit().await.map_err(moat_store::Error::from)?;
                Ok(created)
            }
        )
    }
}
