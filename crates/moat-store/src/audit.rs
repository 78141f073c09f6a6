//! Storage of the audit log: entries (leaf bytes and leaf hash), the perfect subtrees
//! of the Merkle tree, details kept outside the leaves, the head and the signed
//! checkpoints. Hashing is done by the caller (`moat-audit`); this module only keeps
//! bytes.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::row::{int, text};
use crate::{Error, Result};

/// The head of the log: its size and the latest signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub size: u64,
    pub checkpoint: Option<String>,
}

/// A leaf to append, with the tree nodes it completes.
#[derive(Debug, Clone)]
pub struct NewLeaf {
    pub seq: u64,
    pub time: String,
    pub leaf: Vec<u8>,
    pub leaf_hash: [u8; 32],
    /// `(level, index, hash)` of each perfect subtree completed by this leaf.
    pub nodes: Vec<(u8, u64, [u8; 32])>,
    /// `(salt, body)` of details kept outside the leaf.
    pub details: Option<(Vec<u8>, String)>,
}

/// A stored entry.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: u64,
    pub time: String,
    pub leaf: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    /// `(salt, body)`, unless erased.
    pub details: Option<(Vec<u8>, String)>,
}

/// A stored signed checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointRow {
    pub size: u64,
    pub note: String,
    pub created_at: String,
}

pub async fn audit_head(c: &mut AnyConnection) -> Result<AuditHead> {
    let r = sqlx::query("SELECT size, checkpoint FROM audit_head WHERE id = 1")
        .fetch_optional(c)
        .await?
        .ok_or_else(|| Error::Corrupt("the audit head row is missing".into()))?;
    Ok(AuditHead {
        size: int(&r, "size")? as u64,
        checkpoint: r.try_get::<Option<String>, _>("checkpoint")?,
    })
}

pub async fn set_audit_head(c: &mut AnyConnection, size: u64, checkpoint: &str) -> Result<()> {
    sqlx::query("UPDATE audit_head SET size = $1, checkpoint = $2 WHERE id = 1")
        .bind(size as i64)
        .bind(checkpoint)
        .execute(c)
        .await?;
    Ok(())
}

fn hash32(v: Vec<u8>, what: &str) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| Error::Corrupt(format!("a stored {what} is not 32 bytes")))
}

/// Reads perfect subtrees by `(level, index)`. Missing ones are absent from the map.
///
/// One statement whatever the number of nodes: the ids travel as one JSON array
/// parameter and are joined against the primary key, so the statement is prepared
/// once and a proof costs one round trip.
pub async fn audit_nodes(
    c: &mut AnyConnection,
    ids: &[(u8, u64)],
) -> Result<HashMap<(u8, u64), [u8; 32]>> {
    let mut out = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let keys = serde_json::to_string(
        &ids.iter()
            .map(|(l, i)| [u64::from(*l), *i])
            .collect::<Vec<_>>(),
    )
    .expect("numbers serialise");
    let sql = if c.backend_name().eq_ignore_ascii_case("PostgreSQL") {
        // LATERAL keeps the index lookup per id even in a generic plan (a plain join
        // of a prepared statement turned into a scan of the whole table).
        "SELECT n.level, n.idx, n.hash FROM jsonb_array_elements($1::jsonb) j, \
         LATERAL (SELECT level, idx, hash FROM audit_nodes \
                  WHERE level = (j->>0)::bigint AND idx = (j->>1)::bigint) n"
    } else {
        "SELECT n.level, n.idx, n.hash FROM json_each($1) j \
         JOIN audit_nodes n ON n.level = (j.value ->> 0) AND n.idx = (j.value ->> 1)"
    };
    for r in sqlx::query(sql).bind(keys).fetch_all(&mut *c).await? {
        let level = u8::try_from(int(&r, "level")?)
            .map_err(|_| Error::Corrupt("a tree node level is out of range".into()))?;
        let idx = u64::try_from(int(&r, "idx")?)
            .map_err(|_| Error::Corrupt("a tree node index is negative".into()))?;
        out.insert((level, idx), hash32(r.try_get("hash")?, "tree node")?);
    }
    Ok(out)
}

pub async fn insert_leaf(c: &mut AnyConnection, l: &NewLeaf) -> Result<()> {
    sqlx::query("INSERT INTO audit_entries (seq, time, leaf, leaf_hash) VALUES ($1, $2, $3, $4)")
        .bind(l.seq as i64)
        .bind(&l.time)
        .bind(l.leaf.clone())
        .bind(l.leaf_hash.to_vec())
        .execute(&mut *c)
        .await
        .map_err(|e| Error::unique(e, || format!("audit entry {}", l.seq)))?;
    for (level, idx, hash) in &l.nodes {
        sqlx::query("INSERT INTO audit_nodes (level, idx, hash) VALUES ($1, $2, $3)")
            .bind(i64::from(*level))
            .bind(*idx as i64)
            .bind(hash.to_vec())
            .execute(&mut *c)
            .await?;
    }
    if let Some((salt, body)) = &l.details {
        sqlx::query("INSERT INTO audit_details (seq, salt, body) VALUES ($1, $2, $3)")
            .bind(l.seq as i64)
            .bind(salt.clone())
            .bind(body)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Rows per multi-row INSERT: well under every backend's parameter limit.
const ROWS_PER_INSERT: usize = 200;

/// Appends many leaves (with their tree nodes and details) in few statements: the
/// batched path of the audit log.
pub async fn insert_leaves(c: &mut AnyConnection, leaves: &[NewLeaf]) -> Result<()> {
    for chunk in leaves.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO audit_entries (seq, time, leaf, leaf_hash) VALUES {}",
            crate::values(c, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for l in chunk {
            q = q
                .bind(l.seq as i64)
                .bind(l.time.clone())
                .bind(l.leaf.clone())
                .bind(l.leaf_hash.to_vec());
        }
        q.execute(&mut *c).await.map_err(|e| {
            Error::unique(e, || {
                format!("audit entries {}..", chunk.first().map_or(0, |l| l.seq))
            })
        })?;
    }
    let nodes: Vec<&(u8, u64, [u8; 32])> = leaves.iter().flat_map(|l| &l.nodes).collect();
    for chunk in nodes.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO audit_nodes (level, idx, hash) VALUES {}",
            crate::values(c, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (level, idx, hash) in chunk {
            q = q
                .bind(i64::from(*level))
                .bind(*idx as i64)
                .bind(hash.to_vec());
        }
        q.execute(&mut *c).await?;
    }
    let details: Vec<(u64, &(Vec<u8>, String))> = leaves
        .iter()
        .filter_map(|l| l.details.as_ref().map(|d| (l.seq, d)))
        .collect();
    for chunk in details.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO audit_details (seq, salt, body) VALUES {}",
            crate::values(c, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (seq, (salt, body)) in chunk {
            q = q.bind(*seq as i64).bind(salt.clone()).bind(body.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

fn audit_row(r: &AnyRow) -> Result<AuditRow> {
    let salt: Option<Vec<u8>> = r.try_get("salt")?;
    let body: Option<String> = r.try_get("body")?;
    Ok(AuditRow {
        seq: int(r, "seq")? as u64,
        time: text(r, "time")?,
        leaf: r.try_get("leaf")?,
        leaf_hash: r.try_get("leaf_hash")?,
        details: salt.zip(body),
    })
}

const ENTRY_SELECT: &str = "SELECT e.seq, e.time, e.leaf, e.leaf_hash, d.salt, d.body \
                            FROM audit_entries e LEFT JOIN audit_details d ON d.seq = e.seq";

/// Up to `limit` entries with `seq >= from`, in order: verification reads the log in
/// such pages, so memory stays bounded.
pub async fn audit_entries(c: &mut AnyConnection, from: u64, limit: u64) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE e.seq >= $1 ORDER BY e.seq LIMIT $2"
    ))
    .bind(from as i64)
    .bind(limit as i64)
    .fetch_all(c)
    .await?;
    rows.iter().map(audit_row).collect()
}

/// Entries at or after a time (RFC 3339 text), up to `limit`.
pub async fn audit_entries_since(
    c: &mut AnyConnection,
    since: &str,
    limit: u64,
) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE e.time >= $1 ORDER BY e.seq LIMIT $2"
    ))
    .bind(since)
    .bind(limit as i64)
    .fetch_all(c)
    .await?;
    rows.iter().map(audit_row).collect()
}

pub async fn audit_entry(c: &mut AnyConnection, seq: u64) -> Result<Option<AuditRow>> {
    let r = sqlx::query(&format!("{ENTRY_SELECT} WHERE e.seq = $1"))
        .bind(seq as i64)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(audit_row).transpose()
}

/// Erases the details of an entry (the right to erasure); the leaf keeps its
/// commitment, so the tree still verifies.
pub async fn erase_audit_details(c: &mut AnyConnection, seq: u64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM audit_details WHERE seq = $1")
        .bind(seq as i64)
        .execute(c)
        .await?
        .rows_affected()
        > 0)
}

pub async fn insert_checkpoint(
    c: &mut AnyConnection,
    size: u64,
    note: &str,
    created_at: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_checkpoints (size, note, created_at) VALUES ($1, $2, $3)")
        .bind(size as i64)
        .bind(note)
        .bind(created_at)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn list_checkpoints(c: &mut AnyConnection) -> Result<Vec<CheckpointRow>> {
    let rows = sqlx::query("SELECT size, note, created_at FROM audit_checkpoints ORDER BY id")
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CheckpointRow {
                size: int(r, "size")? as u64,
                note: text(r, "note")?,
                created_at: text(r, "created_at")?,
            })
        })
        .collect()
}

/// One stored entry, borrowed, as [`Store::scan_audit`] hands it over.
#[derive(Debug, Clone, Copy)]
pub struct AuditRowRef<'a> {
    pub seq: u64,
    pub leaf: &'a [u8],
    pub leaf_hash: &'a [u8],
    /// `(salt, body)`, unless erased.
    pub details: Option<(&'a [u8], &'a [u8])>,
}

/// What [`Store::scan_audit`] read besides the entries, from the same snapshot.
#[derive(Debug, Clone)]
pub struct AuditSnapshot {
    pub head: AuditHead,
    pub checkpoints: Vec<CheckpointRow>,
}

const SCAN_SQL: &str = "SELECT e.seq, e.leaf, e.leaf_hash, d.salt, d.body \
                        FROM audit_entries e LEFT JOIN audit_details d ON d.seq = e.seq ORDER BY e.seq";

impl crate::Store {
    /// Reads the head and the stored checkpoints, hands them to `start`, then streams
    /// every audit entry in sequence order to `each`, all inside one read snapshot and
    /// in constant memory; returns the state `start` built. This is the read side of
    /// `moat audit verify`, so it is tuned: on SQLite it uses a dedicated read-only
    /// connection with a large row buffer.
    pub async fn scan_audit<S: Send>(
        &self,
        start: impl FnOnce(AuditSnapshot) -> S + Send,
        mut each: impl FnMut(&mut S, AuditRowRef<'_>) + Send,
    ) -> Result<S> {
        use futures_util::TryStreamExt as _;
        match self.backend {
            crate::Backend::Sqlite => {
                let path = crate::sqlite_path(&self.url).to_owned();
                let run = move || scan_sqlite(&path, start, each);
                // A few seconds of CPU: off the async workers when the runtime allows.
                match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                    Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                        tokio::task::block_in_place(run)
                    }
                    _ => run(),
                }
            }
            crate::Backend::Postgres => {
                let mut tx = self.begin_read().await?;
                let head: (i64, Option<String>) =
                    sqlx::query_as("SELECT size, checkpoint FROM audit_head WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await?;
                let cps: Vec<(i64, String, String)> = sqlx::query_as(
                    "SELECT size, note, created_at FROM audit_checkpoints ORDER BY id",
                )
                .fetch_all(&mut *tx)
                .await?;
                let mut state = start(snapshot(head, cps));
                {
                    let mut rows = sqlx::query(SCAN_SQL).fetch(&mut *tx);
                    while let Some(r) = rows.try_next().await? {
                        let salt: Option<Vec<u8>> = r.try_get(3)?;
                        let body: Option<String> = r.try_get(4)?;
                        let leaf: Vec<u8> = r.try_get(1)?;
                        let leaf_hash: Vec<u8> = r.try_get(2)?;
                        each(
                            &mut state,
                            AuditRowRef {
                                seq: r.try_get::<i64, _>(0)? as u64,
                                leaf: &leaf,
                                leaf_hash: &leaf_hash,
                                details: salt.as_deref().zip(body.as_deref().map(str::as_bytes)),
                            },
                        );
                    }
                }
                tx.rollback().await.ok();
                Ok(state)
            }
        }
    }
}

fn snapshot(head: (i64, Option<String>), cps: Vec<(i64, String, String)>) -> AuditSnapshot {
    AuditSnapshot {
        head: AuditHead {
            size: head.0 as u64,
            checkpoint: head.1,
        },
        checkpoints: cps
            .into_iter()
            .map(|(size, note, created_at)| CheckpointRow {
                size: size as u64,
                note,
                created_at,
            })
            .collect(),
    }
}

/// The SQLite side of [`Store::scan_audit`], through rusqlite: sqlx's SQLite driver
/// hands every row across threads, which doubles the time to verify a large log.
fn scan_sqlite<S>(
    path: &str,
    start: impl FnOnce(AuditSnapshot) -> S,
    mut each: impl FnMut(&mut S, AuditRowRef<'_>),
) -> Result<S> {
    use rusqlite::OpenFlags;
    let db = |e: rusqlite::Error| Error::Corrupt(format!("cannot read the audit log: {e}"));
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(db)?;
    // One read transaction: head, checkpoints and entries from the same snapshot.
    conn.execute_batch("BEGIN").map_err(db)?;
    let head: (i64, Option<String>) = conn
        .query_row(
            "SELECT size, checkpoint FROM audit_head WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db)?;
    let mut stmt = conn
        .prepare("SELECT size, note, created_at FROM audit_checkpoints ORDER BY id")
        .map_err(db)?;
    let cps = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db)?
        .collect::<Result<Vec<(i64, String, String)>, _>>()
        .map_err(db)?;
    let mut state = start(snapshot(head, cps));
    let mut stmt = conn.prepare(SCAN_SQL).map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let seq: i64 = r.get(0).map_err(db)?;
        let leaf = r
            .get_ref(1)
            .map_err(db)?
            .as_blob()
            .map_err(|e| db(e.into()))?;
        let leaf_hash = r
            .get_ref(2)
            .map_err(db)?
            .as_blob()
            .map_err(|e| db(e.into()))?;
        let salt = r
            .get_ref(3)
            .map_err(db)?
            .as_blob_or_null()
            .map_err(|e| db(e.into()))?;
        let body = r
            .get_ref(4)
            .map_err(db)?
            .as_bytes_or_null()
            .map_err(|e| db(e.into()))?;
        each(
            &mut state,
            AuditRowRef {
                // A negative sequence number cannot be stored (CHECK), but stay total.
                seq: u64::try_from(seq).unwrap_or(u64::MAX),
                leaf,
                leaf_hash,
                details: salt.zip(body),
            },
        );
    }
    Ok(state)
}
