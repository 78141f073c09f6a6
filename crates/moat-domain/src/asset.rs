//! Inventory assets: model versions and their artifacts, datasets, endpoints, AI
//! systems, teams, vendors, reviews, lineage and aliases.
//!
//! Versions are immutable and content-addressed: a model version's `digest` is the
//! SHA-256 of its artifact manifest. Aliases are the only mutable pointers.

use serde::{Deserialize, Serialize};

use crate::{Error, RiskTier, Sensitivity, Timestamp};

/// Aliases whose moves are guarded (they decide what serves real traffic).
pub const PROTECTED_ALIASES: &[&str] = &["production"];

/// Where an asset comes from.
/// In JSON it is the same text as on the command line: `internal`, `hub:URL`,
/// `vendor:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Source {
    Internal,
    /// A model hub, with the URL of the repository.
    Hub(String),
    /// A third party, by vendor name.
    Vendor(String),
}

impl Source {
    /// Parses `internal`, `hub:URL` or `vendor:NAME`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s == "internal" {
            return Ok(Source::Internal);
        }
        if let Some(url) = s.strip_prefix("hub:") {
            if url.is_empty() || url.chars().any(char::is_whitespace) {
                return Err(Error::invalid("source", s, "expected hub:URL with a URL"));
            }
            return Ok(Source::Hub(url.to_owned()));
        }
        if let Some(v) = s.strip_prefix("vendor:") {
            crate::validate_name("vendor", v)?;
            return Ok(Source::Vendor(v.to_owned()));
        }
        Err(Error::invalid(
            "source",
            s,
            "expected `internal`, `hub:URL` or `vendor:NAME`",
        ))
    }

    pub fn label(&self) -> String {
        match self {
            Source::Internal => "internal".to_owned(),
            Source::Hub(u) => format!("hub:{u}"),
            Source::Vendor(v) => format!("vendor:{v}"),
        }
    }
}

impl From<Source> for String {
    fn from(s: Source) -> String {
        s.label()
    }
}

impl TryFrom<String> for Source {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Source::parse(&s)
    }
}

/// One artifact file of a model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Artifact {
    /// Path as given at registration (informative; identity is the digest).
    pub path: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// An immutable model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    /// `sha256:` of the artifact manifest: the version's content address.
    pub digest: String,
    pub artifacts: Vec<Artifact>,
    pub owner: String,
    pub tier: RiskTier,
    pub sensitivity: Sensitivity,
    #[schema(value_type = String, example = "internal")]
    pub source: Source,
    pub ai_system: Option<String>,
    pub registered_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_review_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub review_due: Timestamp,
}

impl ModelVersion {
    /// The text whose SHA-256 is the version's content address: the sorted lines
    /// `<sha256> <size>`, so the same files give the same digest whatever their
    /// names or order.
    pub fn manifest(artifacts: &[Artifact]) -> String {
        let mut lines: Vec<String> = artifacts
            .iter()
            .map(|a| format!("{} {}\n", a.sha256, a.size))
            .collect();
        lines.sort();
        lines.concat()
    }
}

/// An immutable dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dataset {
    pub name: String,
    pub version: String,
    pub path: String,
    /// `sha256:` of the file.
    pub digest: String,
    pub size: u64,
    /// `csv`, `parquet`, `jsonl` or `other`.
    pub format: String,
    /// Columns and types, when the format has them.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    pub owner: String,
    pub sensitivity: Sensitivity,
    #[schema(value_type = String, example = "internal")]
    pub source: Source,
    pub ai_system: Option<String>,
    pub registered_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_review_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub review_due: Timestamp,
}

/// A dataset version used to build a model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineageEdge {
    pub dataset: String,
    pub dataset_version: String,
    pub model: String,
    pub model_version: String,
    /// How the dataset was used: `training` by default.
    pub how: String,
    pub recorded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
}

/// An inference endpoint: what the gateway will serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Endpoint {
    pub name: String,
    pub model: String,
    /// An alias (`production`) or a version label.
    pub target: String,
    pub upstream: String,
    pub owner: String,
    pub ai_system: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// An AI system (use case): the governed unit grouping models, datasets and endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AiSystem {
    pub name: String,
    /// The accountable owner.
    pub owner: String,
    pub description: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Status of the security questionnaire sent to a vendor.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum VendorQuestionnaire {
    NotSent,
    Sent,
    Received,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Vendor {
    pub name: String,
    /// Where its models or data come from (a hub organisation, a URL, a contract).
    pub source: String,
    pub licence: String,
    pub questionnaire: VendorQuestionnaire,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_review_at: Option<Timestamp>,
    pub notes: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A governance review of a model or dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    pub id: String,
    /// `model` or `dataset`.
    pub subject_kind: String,
    pub name: String,
    pub version: String,
    pub reviewer: String,
    pub notes: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub reviewed_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_due: Timestamp,
}

/// One move of an alias: who moved it, and from which version, so that rollback
/// has a previous version to return to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AliasMove {
    pub model: String,
    pub alias: String,
    pub from_version: Option<String>,
    pub to_version: String,
    pub moved_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub moved_at: Timestamp,
}

/// One line of `moat inventory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InventoryRow {
    /// `model`, `dataset`, `endpoint` or `system`.
    pub kind: String,
    /// `NAME@VERSION` for versions, `NAME` otherwise.
    pub asset: String,
    pub owner: String,
    pub tier: Option<RiskTier>,
    pub sensitivity: Option<Sensitivity>,
    pub ai_system: Option<String>,
    pub aliases: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub review_due: Option<Timestamp>,
    pub overdue: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(Source::parse("internal").unwrap(), Source::Internal);
        assert_eq!(
            Source::parse("hub:https://huggingface.co/org/m")
                .unwrap()
                .label(),
            "hub:https://huggingface.co/org/m"
        );
        assert_eq!(
            Source::parse("vendor:acme").unwrap(),
            Source::Vendor("acme".into())
        );
        assert!(Source::parse("github").is_err());
        assert!(Source::parse("vendor:a b").is_err());
    }

    #[test]
    fn manifest_ignores_order_and_names() {
        let a = Artifact {
            path: "a".into(),
            size: 1,
            sha256: "aa".into(),
        };
        let b = Artifact {
            path: "b".into(),
            size: 2,
            sha256: "bb".into(),
        };
        let b2 = Artifact {
            path: "renamed".into(),
            ..b.clone()
        };
        assert_eq!(
            ModelVersion::manifest(&[a.clone(), b]),
            ModelVersion::manifest(&[b2, a])
        );
    }
}

#[cfg(test)]
mod serde_laws {
    use super::*;
    use proptest::prelude::*;

    fn tier() -> impl Strategy<Value = RiskTier> {
        prop_oneof![
            Just(RiskTier::Minimal),
            Just(RiskTier::Limited),
            Just(RiskTier::High),
            Just(RiskTier::Unacceptable)
        ]
    }

    fn source() -> impl Strategy<Value = Source> {
        prop_oneof![
            Just(Source::Internal),
            "[a-z]{1,10}".prop_map(Source::Vendor),
            "https://[a-z]{1,10}\\.org/[a-z/]{0,10}".prop_map(Source::Hub),
        ]
    }

    proptest! {
        /// Domain types survive JSON, and `Source` its command-line text, unchanged.
        #[test]
        fn round_trips(t in tier(), s in source(), size in any::<u64>(), sha in "[0-9a-f]{64}", path in ".{0,40}") {
            let a = Artifact { path, size, sha256: sha };
            let back: Artifact = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            prop_assert_eq!(back, a);
            let back: RiskTier = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
            prop_assert_eq!(back, t);
            prop_assert_eq!(RiskTier::parse(&t.to_string()).unwrap(), t);
            prop_assert_eq!(Source::parse(&s.label()).unwrap(), s.clone());
            let back: Source = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
