//! Findings: what the scanner reports, with a stable rule id, a severity and the exact
//! location. Findings are not errors: a malicious artifact yields a report.

use serde::Serialize;
use strum::{Display, EnumIter, EnumString};

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
    Display,
    EnumString,
    EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// Stable rule ids (kebab-case); never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Display, EnumString, EnumIter)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Rule {
    /// A callable on the deny list is imported or called.
    DangerousGlobal,
    /// A global on neither list: needs review.
    UnknownGlobal,
    /// Bytes handed to a deserialiser (`pickle.loads`, `torch.load`, …): scanned too.
    NestedPickle,
    /// The pickle is truncated or malformed; what ran before the break is reported.
    BrokenPickle,
    /// The simulation hit a resource limit (stack, memo, nesting); analysis stopped.
    ResourceLimit,
    /// A header that lies about the data (sizes, offsets, counts): loaders crash or
    /// misread it.
    MalformedHeader,
    /// A template the loader renders (a GGUF chat template) reaches Python internals.
    TemplateInjection,
}

impl Rule {
    /// MITRE ATLAS technique where one fits: code that runs when the model is loaded.
    pub fn atlas(self) -> Option<&'static str> {
        match self {
            Rule::DangerousGlobal | Rule::NestedPickle | Rule::TemplateInjection => {
                Some("AML.T0011.000")
            }
            Rule::UnknownGlobal => Some("AML.T0010.003"),
            Rule::BrokenPickle | Rule::ResourceLimit | Rule::MalformedHeader => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub rule: Rule,
    /// One line a data scientist understands.
    pub message: String,
    /// Byte offset in the pickle (of the opcode responsible).
    pub offset: u64,
}
