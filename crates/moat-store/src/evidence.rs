//! Evidence records: results of checks attached to model or dataset versions.

use moat_domain::Evidence;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::row::{json, parse, text, time, ts};
use crate::Result;

const COLS: &str =
    "id, subject_kind, name, version, kind, verdict, summary, report, report_digest, \
                    recorded_by, recorded_at";

fn evidence(r: &AnyRow) -> Result<Evidence> {
    Ok(Evidence {
        id: text(r, "id")?,
        subject_kind: text(r, "subject_kind")?,
        name: text(r, "name")?,
        version: text(r, "version")?,
        kind: parse(r, "kind")?,
        verdict: parse(r, "verdict")?,
        summary: text(r, "summary")?,
        report: json(r, "report")?,
        report_digest: text(r, "report_digest")?,
        recorded_by: text(r, "recorded_by")?,
        recorded_at: time(r, "recorded_at")?,
    })
}

pub async fn insert_evidence(c: &mut AnyConnection, e: &Evidence) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO evidence ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&e.id)
    .bind(&e.subject_kind)
    .bind(&e.name)
    .bind(&e.version)
    .bind(e.kind.to_string())
    .bind(e.verdict.to_string())
    .bind(&e.summary)
    .bind(e.report.to_string())
    .bind(&e.report_digest)
    .bind(&e.recorded_by)
    .bind(ts(e.recorded_at))
    .execute(c)
    .await?;
    Ok(())
}

/// Evidence about one version, oldest first.
pub async fn list_evidence(
    c: &mut AnyConnection,
    subject_kind: &str,
    name: &str,
    version: &str,
) -> Result<Vec<Evidence>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM evidence WHERE subject_kind = $1 AND name = $2 AND version = $3 ORDER BY recorded_at, id"
    ))
    .bind(subject_kind)
    .bind(name)
    .bind(version)
    .fetch_all(c)
    .await?;
    rows.iter().map(evidence).collect()
}

pub async fn get_evidence(c: &mut AnyConnection, id: &str) -> Result<Option<Evidence>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM evidence WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await?;
    r.as_ref().map(evidence).transpose()
}
