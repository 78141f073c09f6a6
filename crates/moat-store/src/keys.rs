//! Principals and API keys. Only a hash of each key's secret is stored.

use moat_domain::{KeyInfo, PrincipalKind, Role, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::row::{json, opt_text, opt_time, opt_ts, parse, text, time, ts};
use crate::{Error, Result};

/// A stored principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRow {
    pub id: String,
    pub name: String,
    pub kind: PrincipalKind,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A key to store: its metadata and the hash of its secret.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub info: KeyInfo,
    pub secret_hash: [u8; 32],
}

pub async fn insert_principal(c: &mut AnyConnection, p: &PrincipalRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO principals (id, name, kind, role, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(p.kind.to_string())
    .bind(p.role.to_string())
    .bind(ts(p.created_at))
    .execute(c)
    .await
    .map_err(|e| Error::unique(e, || format!("principal `{}`", p.name)))?;
    Ok(())
}

fn principal(r: &AnyRow) -> Result<PrincipalRow> {
    Ok(PrincipalRow {
        id: text(r, "id")?,
        name: text(r, "name")?,
        kind: parse(r, "kind")?,
        role: parse(r, "role")?,
        created_at: time(r, "created_at")?,
    })
}

pub async fn principal_by_name(c: &mut AnyConnection, name: &str) -> Result<Option<PrincipalRow>> {
    let r = sqlx::query("SELECT id, name, kind, role, created_at FROM principals WHERE name = $1")
        .bind(name)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(principal).transpose()
}

pub async fn principal_by_id(c: &mut AnyConnection, id: &str) -> Result<Option<PrincipalRow>> {
    let r = sqlx::query("SELECT id, name, kind, role, created_at FROM principals WHERE id = $1")
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(principal).transpose()
}

pub async fn list_principals(c: &mut AnyConnection) -> Result<Vec<PrincipalRow>> {
    let rows = sqlx::query("SELECT id, name, kind, role, created_at FROM principals ORDER BY name")
        .fetch_all(c)
        .await?;
    rows.iter().map(principal).collect()
}

pub async fn insert_key(c: &mut AnyConnection, k: &NewKey) -> Result<()> {
    let i = &k.info;
    sqlx::query(
        "INSERT INTO api_keys (id, principal_id, name, role, endpoints, display_prefix, secret_hash, \
         created_at, expires_at, revoked_at, rotated_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&i.id)
    .bind(&i.principal_id)
    .bind(&i.name)
    .bind(i.role.to_string())
    .bind(serde_json::to_string(&i.endpoints).expect("strings serialise"))
    .bind(&i.display_prefix)
    .bind(k.secret_hash.to_vec())
    .bind(ts(i.created_at))
    .bind(opt_ts(i.expires_at))
    .bind(opt_ts(i.revoked_at))
    .bind(i.rotated_from.clone())
    .execute(c)
    .await
    .map_err(|e| Error::unique(e, || format!("key `{}`", i.id)))?;
    Ok(())
}

const KEY_COLS: &str = "id, principal_id, name, role, endpoints, display_prefix, secret_hash, \
                        created_at, expires_at, revoked_at, rotated_from";

fn key(r: &AnyRow) -> Result<(KeyInfo, Vec<u8>)> {
    Ok((
        KeyInfo {
            id: text(r, "id")?,
            principal_id: text(r, "principal_id")?,
            name: text(r, "name")?,
            role: parse(r, "role")?,
            endpoints: json(r, "endpoints")?,
            display_prefix: text(r, "display_prefix")?,
            created_at: time(r, "created_at")?,
            expires_at: opt_time(r, "expires_at")?,
            revoked_at: opt_time(r, "revoked_at")?,
            rotated_from: opt_text(r, "rotated_from")?,
        },
        r.try_get::<Vec<u8>, _>("secret_hash")?,
    ))
}

/// A key and the stored hash of its secret.
pub async fn key_by_id(c: &mut AnyConnection, id: &str) -> Result<Option<(KeyInfo, Vec<u8>)>> {
    let r = sqlx::query(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(key).transpose()
}

pub async fn list_keys(c: &mut AnyConnection) -> Result<Vec<KeyInfo>> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLS} FROM api_keys ORDER BY created_at, id"
    ))
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| key(r).map(|k| k.0)).collect()
}

pub async fn revoke_key(c: &mut AnyConnection, id: &str, at: Timestamp) -> Result<()> {
    let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(ts(at))
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound(format!("active key `{id}`")));
    }
    keys_changed(c, id, at).await
}

pub async fn set_key_expiry(c: &mut AnyConnection, id: &str, at: Timestamp) -> Result<()> {
    sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
        .bind(ts(at))
        .bind(id)
        .execute(&mut *c)
        .await?;
    keys_changed(c, id, at).await
}

/// The setting that changes with every revocation or change of expiry (in the same
/// transaction), so that gateways can drop the keys they verified.
const KEYS_CHANGED: &str = "keys.changed";

async fn keys_changed(c: &mut AnyConnection, id: &str, at: Timestamp) -> Result<()> {
    set_setting(c, KEYS_CHANGED, &format!("{}/{id}", ts(at))).await
}

/// What [`revoke_key`] and [`set_key_expiry`] last wrote: a change means verified keys
/// must be looked up again.
pub async fn keys_marker(c: &mut AnyConnection) -> Result<Option<String>> {
    get_setting(c, KEYS_CHANGED).await
}

pub async fn get_setting(c: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(c)
            .await?,
    )
}

pub async fn set_setting(c: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key)
        .execute(&mut *c)
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(value)
        .execute(c)
        .await?;
    Ok(())
}
