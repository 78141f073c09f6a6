//! Evidence: the result of any check attached to a model or dataset version. The
//! scanner, data checks, attacks and reviews write it; policy gates read it.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoEnumIterator};

use crate::{Error, Timestamp};

/// What kind of check produced the evidence. Stable ids: gates refer to them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    Display,
    EnumString,
    EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum EvidenceKind {
    Scan,
    Signature,
    DataCheck,
    Drift,
    Attack,
    Probe,
    Explain,
    Privacy,
    Review,
    Approval,
    Other,
}

impl EvidenceKind {
    pub fn parse(s: &str) -> Result<Self, Error> {
        s.parse().map_err(|_| Error::Unknown {
            what: "evidence kind",
            value: s.to_owned(),
            known: EvidenceKind::iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    Display,
    EnumString,
    EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn parse(s: &str) -> Result<Self, Error> {
        s.parse().map_err(|_| Error::Unknown {
            what: "verdict",
            value: s.to_owned(),
            known: "`pass`, `warn`, `fail`".to_owned(),
        })
    }
}

/// Evidence as submitted by a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvidence {
    /// `model` or `dataset`.
    pub subject_kind: String,
    pub name: String,
    pub version: String,
    pub kind: EvidenceKind,
    pub verdict: Verdict,
    pub summary: String,
    /// The full report, any JSON.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// Evidence as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    pub id: String,
    pub subject_kind: String,
    pub name: String,
    pub version: String,
    pub kind: EvidenceKind,
    pub verdict: Verdict,
    pub summary: String,
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    /// `sha256:` of the report's canonical JSON.
    pub report_digest: String,
    pub recorded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
}
