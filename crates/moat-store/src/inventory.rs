//! The inventory: model and dataset versions, artifacts, lineage, aliases, endpoints,
//! AI systems, teams, vendors and reviews.

use std::collections::HashMap;

use moat_domain::{
    AiSystem, AliasMove, Artifact, Dataset, DetectionEvent, Endpoint, LineageEdge, ModelVersion,
    Review, RiskTier, Sensitivity, Source, Team, Timestamp, TrafficRecord, Vendor,
};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::row::{int, json, opt_text, opt_time, opt_ts, parse, text, time, ts};
use crate::{Error, Result};

fn source_text(s: &Source) -> String {
    s.label()
}

fn source(r: &AnyRow) -> Result<Source> {
    let s = text(r, "source")?;
    Source::parse(&s).map_err(|_| Error::Corrupt(format!("bad source `{s}`")))
}

// ---- models ----

const MV_COLS: &str = "name, version, digest, owner, tier, sensitivity, source, ai_system, \
                       registered_by, registered_at, last_review_at, review_due";

fn model_version(r: &AnyRow) -> Result<ModelVersion> {
    Ok(ModelVersion {
        name: text(r, "name")?,
        version: text(r, "version")?,
        digest: text(r, "digest")?,
        artifacts: Vec::new(),
        owner: text(r, "owner")?,
        tier: parse(r, "tier")?,
        sensitivity: parse(r, "sensitivity")?,
        source: source(r)?,
        ai_system: opt_text(r, "ai_system")?,
        registered_by: text(r, "registered_by")?,
        registered_at: time(r, "registered_at")?,
        last_review_at: opt_time(r, "last_review_at")?,
        review_due: time(r, "review_due")?,
    })
}

pub async fn insert_model_version(c: &mut AnyConnection, m: &ModelVersion) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO model_versions ({MV_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&m.name)
    .bind(&m.version)
    .bind(&m.digest)
    .bind(&m.owner)
    .bind(m.tier.to_string())
    .bind(m.sensitivity.to_string())
    .bind(source_text(&m.source))
    .bind(m.ai_system.clone())
    .bind(&m.registered_by)
    .bind(ts(m.registered_at))
    .bind(opt_ts(m.last_review_at))
    .bind(ts(m.review_due))
    .execute(&mut *c)
    .await
    .map_err(|e| Error::unique(e, || format!("model version `{}@{}`", m.name, m.version)))?;
    for (i, a) in m.artifacts.iter().enumerate() {
        sqlx::query(
            "INSERT INTO artifacts (model, version, position, path, size, sha256) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&m.name)
        .bind(&m.version)
        .bind(i as i64)
        .bind(&a.path)
        .bind(a.size as i64)
        .bind(&a.sha256)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

async fn artifacts(
    c: &mut AnyConnection,
    name: Option<(&str, &str)>,
) -> Result<HashMap<(String, String), Vec<Artifact>>> {
    let q = match name {
        Some(_) => "SELECT model, version, path, size, sha256 FROM artifacts WHERE model = $1 AND version = $2 ORDER BY model, version, position",
        None => "SELECT model, version, path, size, sha256 FROM artifacts ORDER BY model, version, position",
    };
    let mut q = sqlx::query(q);
    if let Some((n, v)) = name {
        q = q.bind(n).bind(v);
    }
    let mut out: HashMap<(String, String), Vec<Artifact>> = HashMap::new();
    for r in q.fetch_all(c).await? {
        out.entry((text(&r, "model")?, text(&r, "version")?))
            .or_default()
            .push(Artifact {
                path: text(&r, "path")?,
                size: int(&r, "size")? as u64,
                sha256: text(&r, "sha256")?,
            });
    }
    Ok(out)
}

pub async fn get_model_version(
    c: &mut AnyConnection,
    name: &str,
    version: &str,
) -> Result<Option<ModelVersion>> {
    let r = sqlx::query(&format!(
        "SELECT {MV_COLS} FROM model_versions WHERE name = $1 AND version = $2"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(&mut *c)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let mut m = model_version(&r)?;
    m.artifacts = artifacts(c, Some((name, version)))
        .await?
        .remove(&(m.name.clone(), m.version.clone()))
        .unwrap_or_default();
    Ok(Some(m))
}

/// Model versions, all or of one model, by name then registration time.
pub async fn list_model_versions(
    c: &mut AnyConnection,
    name: Option<&str>,
) -> Result<Vec<ModelVersion>> {
    let rows = match name {
        Some(n) => {
            sqlx::query(&format!(
                "SELECT {MV_COLS} FROM model_versions WHERE name = $1 ORDER BY name, registered_at, version"
            ))
            .bind(n)
            .fetch_all(&mut *c)
            .await?
        }
        None => {
            sqlx::query(&format!("SELECT {MV_COLS} FROM model_versions ORDER BY name, registered_at, version"))
                .fetch_all(&mut *c)
                .await?
        }
    };
    let mut arts = artifacts(c, None).await?;
    rows.iter()
        .map(|r| {
            let mut m = model_version(r)?;
            m.artifacts = arts
                .remove(&(m.name.clone(), m.version.clone()))
                .unwrap_or_default();
            Ok(m)
        })
        .collect()
}

pub async fn model_exists(c: &mut AnyConnection, name: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM model_versions WHERE name = $1")
        .bind(name)
        .fetch_one(c)
        .await?;
    Ok(n > 0)
}

pub async fn classify_model_version(
    c: &mut AnyConnection,
    name: &str,
    version: &str,
    tier: RiskTier,
    sensitivity: Sensitivity,
    review_due: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE model_versions SET tier = $1, sensitivity = $2, review_due = $3 WHERE name = $4 AND version = $5")
        .bind(tier.to_string())
        .bind(sensitivity.to_string())
        .bind(ts(review_due))
        .bind(name)
        .bind(version)
        .execute(c)
        .await?;
    Ok(())
}

/// Records that a model or dataset version was reviewed and when it is next due.
pub async fn insert_review(c: &mut AnyConnection, r: &Review) -> Result<()> {
    sqlx::query(
        "INSERT INTO reviews (id, subject_kind, name, version, reviewer, notes, reviewed_at, next_due) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.id)
    .bind(&r.subject_kind)
    .bind(&r.name)
    .bind(&r.version)
    .bind(&r.reviewer)
    .bind(&r.notes)
    .bind(ts(r.reviewed_at))
    .bind(ts(r.next_due))
    .execute(&mut *c)
    .await?;
    let table = if r.subject_kind == "dataset" {
        "datasets"
    } else {
        "model_versions"
    };
    sqlx::query(&format!(
        "UPDATE {table} SET last_review_at = $1, review_due = $2 WHERE name = $3 AND version = $4"
    ))
    .bind(ts(r.reviewed_at))
    .bind(ts(r.next_due))
    .bind(&r.name)
    .bind(&r.version)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn list_reviews(
    c: &mut AnyConnection,
    kind: &str,
    name: &str,
    version: &str,
) -> Result<Vec<Review>> {
    let rows = sqlx::query(
        "SELECT id, subject_kind, name, version, reviewer, notes, reviewed_at, next_due FROM reviews \
         WHERE subject_kind = $1 AND name = $2 AND version = $3 ORDER BY reviewed_at",
    )
    .bind(kind)
    .bind(name)
    .bind(version)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Review {
                id: text(r, "id")?,
                subject_kind: text(r, "subject_kind")?,
                name: text(r, "name")?,
                version: text(r, "version")?,
                reviewer: text(r, "reviewer")?,
                notes: text(r, "notes")?,
                reviewed_at: time(r, "reviewed_at")?,
                next_due: time(r, "next_due")?,
            })
        })
        .collect()
}

// ---- aliases ----

/// The version an alias points at, if it is set.
pub async fn get_alias(c: &mut AnyConnection, model: &str, alias: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT version FROM aliases WHERE model = $1 AND alias = $2")
            .bind(model)
            .bind(alias)
            .fetch_optional(c)
            .await?,
    )
}

/// Every alias as `(model, alias, version)`.
pub async fn list_aliases(c: &mut AnyConnection) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query("SELECT model, alias, version FROM aliases ORDER BY model, alias")
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| Ok((text(r, "model")?, text(r, "alias")?, text(r, "version")?)))
        .collect()
}

/// Points an alias at a version and records the move.
pub async fn move_alias(c: &mut AnyConnection, m: &AliasMove) -> Result<()> {
    sqlx::query("DELETE FROM aliases WHERE model = $1 AND alias = $2")
        .bind(&m.model)
        .bind(&m.alias)
        .execute(&mut *c)
        .await?;
    sqlx::query("INSERT INTO aliases (model, alias, version, moved_by, moved_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&m.model)
        .bind(&m.alias)
        .bind(&m.to_version)
        .bind(&m.moved_by)
        .bind(ts(m.moved_at))
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO alias_moves (model, alias, from_version, to_version, moved_by, moved_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&m.model)
    .bind(&m.alias)
    .bind(m.from_version.clone())
    .bind(&m.to_version)
    .bind(&m.moved_by)
    .bind(ts(m.moved_at))
    .execute(c)
    .await?;
    Ok(())
}

/// The history of an alias's moves, oldest first.
pub async fn alias_history(
    c: &mut AnyConnection,
    model: &str,
    alias: &str,
) -> Result<Vec<AliasMove>> {
    let rows = sqlx::query(
        "SELECT model, alias, from_version, to_version, moved_by, moved_at FROM alias_moves \
         WHERE model = $1 AND alias = $2 ORDER BY id",
    )
    .bind(model)
    .bind(alias)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AliasMove {
                model: text(r, "model")?,
                alias: text(r, "alias")?,
                from_version: opt_text(r, "from_version")?,
                to_version: text(r, "to_version")?,
                moved_by: text(r, "moved_by")?,
                moved_at: time(r, "moved_at")?,
            })
        })
        .collect()
}

// ---- datasets ----

const DS_COLS: &str =
    "name, version, path, digest, size, format, schema, owner, sensitivity, source, \
                       ai_system, registered_by, registered_at, last_review_at, review_due";

fn dataset(r: &AnyRow) -> Result<Dataset> {
    Ok(Dataset {
        name: text(r, "name")?,
        version: text(r, "version")?,
        path: text(r, "path")?,
        digest: text(r, "digest")?,
        size: int(r, "size")? as u64,
        format: text(r, "format")?,
        schema: json(r, "schema")?,
        owner: text(r, "owner")?,
        sensitivity: parse(r, "sensitivity")?,
        source: source(r)?,
        ai_system: opt_text(r, "ai_system")?,
        registered_by: text(r, "registered_by")?,
        registered_at: time(r, "registered_at")?,
        last_review_at: opt_time(r, "last_review_at")?,
        review_due: time(r, "review_due")?,
    })
}

pub async fn insert_dataset(c: &mut AnyConnection, d: &Dataset) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO datasets ({DS_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&d.name)
    .bind(&d.version)
    .bind(&d.path)
    .bind(&d.digest)
    .bind(d.size as i64)
    .bind(&d.format)
    .bind(d.schema.to_string())
    .bind(&d.owner)
    .bind(d.sensitivity.to_string())
    .bind(source_text(&d.source))
    .bind(d.ai_system.clone())
    .bind(&d.registered_by)
    .bind(ts(d.registered_at))
    .bind(opt_ts(d.last_review_at))
    .bind(ts(d.review_due))
    .execute(c)
    .await
    .map_err(|e| Error::unique(e, || format!("dataset version `{}@{}`", d.name, d.version)))?;
    Ok(())
}

pub async fn get_dataset(
    c: &mut AnyConnection,
    name: &str,
    version: &str,
) -> Result<Option<Dataset>> {
    let r = sqlx::query(&format!(
        "SELECT {DS_COLS} FROM datasets WHERE name = $1 AND version = $2"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(dataset).transpose()
}

pub async fn list_datasets(c: &mut AnyConnection, name: Option<&str>) -> Result<Vec<Dataset>> {
    let rows = match name {
        Some(n) => {
            sqlx::query(&format!(
            "SELECT {DS_COLS} FROM datasets WHERE name = $1 ORDER BY name, registered_at, version"
        ))
            .bind(n)
            .fetch_all(c)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {DS_COLS} FROM datasets ORDER BY name, registered_at, version"
            ))
            .fetch_all(c)
            .await?
        }
    };
    rows.iter().map(dataset).collect()
}

pub async fn set_dataset_review_due(
    c: &mut AnyConnection,
    name: &str,
    version: &str,
    due: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE datasets SET review_due = $1 WHERE name = $2 AND version = $3")
        .bind(ts(due))
        .bind(name)
        .bind(version)
        .execute(c)
        .await?;
    Ok(())
}

// ---- lineage ----

pub async fn insert_lineage(c: &mut AnyConnection, e: &LineageEdge) -> Result<()> {
    sqlx::query(
        "INSERT INTO lineage (model, model_version, dataset, dataset_version, how, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&e.model)
    .bind(&e.model_version)
    .bind(&e.dataset)
    .bind(&e.dataset_version)
    .bind(&e.how)
    .bind(&e.recorded_by)
    .bind(ts(e.recorded_at))
    .execute(c)
    .await
    .map_err(|err| {
        Error::unique(err, || {
            format!("lineage `{}@{}` -> `{}@{}`", e.dataset, e.dataset_version, e.model, e.model_version)
        })
    })?;
    Ok(())
}

fn lineage_edge(r: &AnyRow) -> Result<LineageEdge> {
    Ok(LineageEdge {
        model: text(r, "model")?,
        model_version: text(r, "model_version")?,
        dataset: text(r, "dataset")?,
        dataset_version: text(r, "dataset_version")?,
        how: text(r, "how")?,
        recorded_by: text(r, "recorded_by")?,
        recorded_at: time(r, "recorded_at")?,
    })
}

const LINEAGE_COLS: &str =
    "model, model_version, dataset, dataset_version, how, recorded_by, recorded_at";

/// The datasets a model version was built from.
pub async fn lineage_of_model(
    c: &mut AnyConnection,
    model: &str,
    version: &str,
) -> Result<Vec<LineageEdge>> {
    let rows = sqlx::query(&format!(
        "SELECT {LINEAGE_COLS} FROM lineage WHERE model = $1 AND model_version = $2 ORDER BY dataset, dataset_version"
    ))
    .bind(model)
    .bind(version)
    .fetch_all(c)
    .await?;
    rows.iter().map(lineage_edge).collect()
}

/// Every lineage edge.
pub async fn list_lineage(c: &mut AnyConnection) -> Result<Vec<LineageEdge>> {
    let rows = sqlx::query(&format!(
        "SELECT {LINEAGE_COLS} FROM lineage ORDER BY model, model_version, dataset"
    ))
    .fetch_all(c)
    .await?;
    rows.iter().map(lineage_edge).collect()
}

// ---- endpoints ----

const EP_COLS: &str = "name, model, target, upstream, owner, ai_system, created_by, created_at";

fn endpoint(r: &AnyRow) -> Result<Endpoint> {
    Ok(Endpoint {
        name: text(r, "name")?,
        model: text(r, "model")?,
        target: text(r, "target")?,
        upstream: text(r, "upstream")?,
        owner: text(r, "owner")?,
        ai_system: opt_text(r, "ai_system")?,
        created_by: text(r, "created_by")?,
        created_at: time(r, "created_at")?,
    })
}

pub async fn insert_endpoint(c: &mut AnyConnection, e: &Endpoint) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO endpoints ({EP_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&e.name)
    .bind(&e.model)
    .bind(&e.target)
    .bind(&e.upstream)
    .bind(&e.owner)
    .bind(e.ai_system.clone())
    .bind(&e.created_by)
    .bind(ts(e.created_at))
    .execute(c)
    .await
    .map_err(|err| Error::unique(err, || format!("endpoint `{}`", e.name)))?;
    Ok(())
}

pub async fn get_endpoint(c: &mut AnyConnection, name: &str) -> Result<Option<Endpoint>> {
    let r = sqlx::query(&format!("SELECT {EP_COLS} FROM endpoints WHERE name = $1"))
        .bind(name)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(endpoint).transpose()
}

pub async fn list_endpoints(c: &mut AnyConnection) -> Result<Vec<Endpoint>> {
    let rows = sqlx::query(&format!("SELECT {EP_COLS} FROM endpoints ORDER BY name"))
        .fetch_all(c)
        .await?;
    rows.iter().map(endpoint).collect()
}

// ---- AI systems and teams ----

pub async fn insert_system(c: &mut AnyConnection, s: &AiSystem) -> Result<()> {
    sqlx::query("INSERT INTO ai_systems (name, owner, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&s.name)
        .bind(&s.owner)
        .bind(&s.description)
        .bind(&s.created_by)
        .bind(ts(s.created_at))
        .execute(c)
        .await
        .map_err(|e| Error::unique(e, || format!("AI system `{}`", s.name)))?;
    Ok(())
}

fn system(r: &AnyRow) -> Result<AiSystem> {
    Ok(AiSystem {
        name: text(r, "name")?,
        owner: text(r, "owner")?,
        description: text(r, "description")?,
        created_by: text(r, "created_by")?,
        created_at: time(r, "created_at")?,
    })
}

pub async fn get_system(c: &mut AnyConnection, name: &str) -> Result<Option<AiSystem>> {
    let r = sqlx::query(
        "SELECT name, owner, description, created_by, created_at FROM ai_systems WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(system).transpose()
}

pub async fn list_systems(c: &mut AnyConnection) -> Result<Vec<AiSystem>> {
    let rows = sqlx::query(
        "SELECT name, owner, description, created_by, created_at FROM ai_systems ORDER BY name",
    )
    .fetch_all(c)
    .await?;
    rows.iter().map(system).collect()
}

/// Adds a model version, dataset version or endpoint to an AI system.
pub async fn assign_system(
    c: &mut AnyConnection,
    kind: &str,
    name: &str,
    version: Option<&str>,
    system: &str,
) -> Result<u64> {
    // Each statement is bound with exactly the parameters it names.
    let done = match (kind, version) {
        ("model" | "dataset", Some(v)) => {
            let table = if kind == "model" {
                "model_versions"
            } else {
                "datasets"
            };
            sqlx::query(&format!(
                "UPDATE {table} SET ai_system = $1 WHERE name = $2 AND version = $3"
            ))
            .bind(system)
            .bind(name)
            .bind(v)
            .execute(c)
            .await?
        }
        ("model" | "dataset", None) => {
            let table = if kind == "model" {
                "model_versions"
            } else {
                "datasets"
            };
            sqlx::query(&format!(
                "UPDATE {table} SET ai_system = $1 WHERE name = $2"
            ))
            .bind(system)
            .bind(name)
            .execute(c)
            .await?
        }
        _ => {
            sqlx::query("UPDATE endpoints SET ai_system = $1 WHERE name = $2")
                .bind(system)
                .bind(name)
                .execute(c)
                .await?
        }
    };
    Ok(done.rows_affected())
}

/// Records a team the first time it is named.
pub async fn ensure_team(c: &mut AnyConnection, name: &str, at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(ts(at))
    .execute(c)
    .await?;
    Ok(())
}

pub async fn list_teams(c: &mut AnyConnection) -> Result<Vec<Team>> {
    let rows = sqlx::query("SELECT name, created_at FROM teams ORDER BY name")
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Team {
                name: text(r, "name")?,
                created_at: time(r, "created_at")?,
            })
        })
        .collect()
}

// ---- vendors ----

const VENDOR_COLS: &str =
    "name, source, licence, questionnaire, last_review_at, notes, created_by, created_at";

fn vendor(r: &AnyRow) -> Result<Vendor> {
    Ok(Vendor {
        name: text(r, "name")?,
        source: text(r, "source")?,
        licence: text(r, "licence")?,
        questionnaire: parse(r, "questionnaire")?,
        last_review_at: opt_time(r, "last_review_at")?,
        notes: text(r, "notes")?,
        created_by: text(r, "created_by")?,
        created_at: time(r, "created_at")?,
    })
}

/// Inserts a vendor, or replaces its record when `replace` is set.
pub async fn upsert_vendor(c: &mut AnyConnection, v: &Vendor, replace: bool) -> Result<()> {
    if replace {
        sqlx::query("DELETE FROM vendors WHERE name = $1")
            .bind(&v.name)
            .execute(&mut *c)
            .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO vendors ({VENDOR_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&v.name)
    .bind(&v.source)
    .bind(&v.licence)
    .bind(v.questionnaire.to_string())
    .bind(opt_ts(v.last_review_at))
    .bind(&v.notes)
    .bind(&v.created_by)
    .bind(ts(v.created_at))
    .execute(c)
    .await
    .map_err(|e| Error::unique(e, || format!("vendor `{}`", v.name)))?;
    Ok(())
}

pub async fn get_vendor(c: &mut AnyConnection, name: &str) -> Result<Option<Vendor>> {
    let r = sqlx::query(&format!(
        "SELECT {VENDOR_COLS} FROM vendors WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(vendor).transpose()
}

pub async fn list_vendors(c: &mut AnyConnection) -> Result<Vec<Vendor>> {
    let rows = sqlx::query(&format!("SELECT {VENDOR_COLS} FROM vendors ORDER BY name"))
        .fetch_all(c)
        .await?;
    rows.iter().map(vendor).collect()
}

/// Sets when a model version's next review is due (used when a cycle changes).
pub async fn set_model_review_due(
    c: &mut AnyConnection,
    name: &str,
    version: &str,
    due: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE model_versions SET review_due = $1 WHERE name = $2 AND version = $3")
        .bind(ts(due))
        .bind(name)
        .bind(version)
        .execute(c)
        .await?;
    Ok(())
}

/// Counts for metrics, one cheap query each: model versions, dataset versions,
/// endpoints, AI systems, and versions whose review is overdue at `now`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InventoryCounts {
    pub models: i64,
    pub datasets: i64,
    pub endpoints: i64,
    pub systems: i64,
    pub overdue: i64,
}

pub async fn inventory_counts(c: &mut AnyConnection, now: Timestamp) -> Result<InventoryCounts> {
    let mut count = async |sql: &str, bind_now: bool| -> Result<i64> {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        if bind_now {
            q = q.bind(ts(now));
        }
        Ok(q.fetch_one(&mut *c).await?)
    };
    Ok(InventoryCounts {
        models: count("SELECT COUNT(*) FROM model_versions", false).await?,
        datasets: count("SELECT COUNT(*) FROM datasets", false).await?,
        endpoints: count("SELECT COUNT(*) FROM endpoints", false).await?,
        systems: count("SELECT COUNT(*) FROM ai_systems", false).await?,
        overdue: count(
            "SELECT (SELECT COUNT(*) FROM model_versions WHERE review_due < $1) + (SELECT COUNT(*) FROM datasets WHERE review_due < $1)",
            true,
        )
        .await?,
    })
}

/// A model version under quarantine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quarantine {
    pub model: String,
    pub version: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// Quarantines a version (replacing an earlier quarantine's reason).
pub async fn set_quarantine(c: &mut AnyConnection, q: &Quarantine) -> Result<()> {
    sqlx::query("DELETE FROM quarantines WHERE model = $1 AND version = $2")
        .bind(&q.model)
        .bind(&q.version)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO quarantines (model, version, reason, by_principal, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&q.model)
    .bind(&q.version)
    .bind(&q.reason)
    .bind(&q.by)
    .bind(&q.at)
    .execute(c)
    .await?;
    Ok(())
}

/// Releases a version; false when it was not quarantined.
pub async fn clear_quarantine(c: &mut AnyConnection, model: &str, version: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM quarantines WHERE model = $1 AND version = $2")
        .bind(model)
        .bind(version)
        .execute(c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Every version under quarantine, by model and version.
pub async fn list_quarantines(c: &mut AnyConnection) -> Result<Vec<Quarantine>> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT model, version, reason, by_principal, at FROM quarantines ORDER BY model, version",
    )
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(model, version, reason, by, at)| Quarantine {
            model,
            version,
            reason,
            by,
            at,
        })
        .collect())
}

/// Appends detections.
pub async fn insert_events(c: &mut AnyConnection, events: &[DetectionEvent]) -> Result<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO events (id, at, endpoint, key_id, detector, severity, atlas, mode, evidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&e.id)
        .bind(&e.at)
        .bind(&e.endpoint)
        .bind(&e.key_id)
        .bind(&e.detector)
        .bind(&e.severity)
        .bind(&e.atlas)
        .bind(&e.mode)
        .bind(&e.evidence)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The newest `limit` detections, newest first.
pub async fn list_events(c: &mut AnyConnection, limit: i64) -> Result<Vec<DetectionEvent>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, at, endpoint, key_id, detector, severity, atlas, mode, evidence FROM events \
         ORDER BY at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, at, endpoint, key_id, detector, severity, atlas, mode, evidence)| {
                DetectionEvent {
                    id,
                    at,
                    endpoint,
                    key_id,
                    detector,
                    severity,
                    atlas,
                    mode,
                    evidence,
                }
            },
        )
        .collect())
}

/// Appends request records (the gateway writes one a request, in batches): on
/// PostgreSQL up to 256 a statement, on SQLite one a statement. Placeholders are
/// numbered (`$n`) as both backends read them.
pub async fn insert_traffic(c: &mut AnyConnection, records: &[TrafficRecord]) -> Result<()> {
    const COLUMNS: usize = 12;
    // Many rows a statement: one round trip to the database (or, for SQLite, to the
    // driver's thread) for each.
    let postgres = c.backend_name().eq_ignore_ascii_case("PostgreSQL");
    let rows = if postgres { 256 } else { 64 };
    for chunk in records.chunks(rows) {
        let sql = format!(
            "INSERT INTO traffic (id, at, endpoint, key_id, method, path, status, code, latency_us, request_bytes, verdicts, body) VALUES {}",
            crate::values(c, chunk.len(), COLUMNS)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.id)
                .bind(&r.at)
                .bind(&r.endpoint)
                .bind(&r.key_id)
                .bind(&r.method)
                .bind(&r.path)
                .bind(i64::from(r.status))
                .bind(&r.code)
                .bind(i64::try_from(r.latency_us).unwrap_or(i64::MAX))
                .bind(
                    r.request_bytes
                        .map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
                )
                .bind(r.verdicts.join(","))
                .bind(&r.body);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// The newest `limit` request records, newest first, of one endpoint or all.
pub async fn list_traffic(
    c: &mut AnyConnection,
    endpoint: Option<&str>,
    limit: i64,
) -> Result<Vec<TrafficRecord>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        Option<String>,
        i64,
        Option<i64>,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, at, endpoint, key_id, method, path, status, code, latency_us, request_bytes, verdicts, body \
         FROM traffic WHERE ($1 = '' OR endpoint = $1) ORDER BY at DESC, seq DESC LIMIT $2",
    )
    .bind(endpoint.unwrap_or(""))
    .bind(limit)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                at,
                endpoint,
                key_id,
                method,
                path,
                status,
                code,
                latency,
                bytes,
                verdicts,
                body,
            )| {
                TrafficRecord {
                    id,
                    at,
                    endpoint,
                    key_id,
                    method,
                    path,
                    status: u16::try_from(status).unwrap_or(0),
                    code,
                    latency_us: u64::try_from(latency).unwrap_or(0),
                    request_bytes: bytes.and_then(|b| u64::try_from(b).ok()),
                    verdicts: verdicts
                        .split(',')
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    body,
                }
            },
        )
        .collect())
}

/// Deletes request records older than `before` (RFC 3339); returns how many.
pub async fn prune_traffic(c: &mut AnyConnection, before: &str) -> Result<u64> {
    let r = sqlx::query("DELETE FROM traffic WHERE at < $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
