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
    /// A graph operation that runs Python, reads or writes files, or lists the
    /// filesystem when the model runs (TensorFlow `PyFunc`, `ReadFile`, `WriteFile`, …).
    DangerousOperator,
    /// A graph operator from a domain no standard runtime provides: native code from
    /// outside the model must be loaded to run it.
    CustomOperator,
    /// A path inside the artifact leaves its folder (`..`, absolute, another drive).
    PathTraversal,
}

impl Rule {
    /// What the rule means, in one line (SARIF rule descriptions, docs).
    pub fn description(self) -> &'static str {
        match self {
            Rule::DangerousGlobal => "The artifact imports or calls a callable that runs code, touches files, processes or the network when it is loaded.",
            Rule::UnknownGlobal => "The artifact imports a global that is neither a known-safe constructor nor known-dangerous: review it.",
            Rule::NestedPickle => "The artifact hands bytes to another deserialiser; those bytes were scanned as a pickle too.",
            Rule::BrokenPickle => "The artifact or its container is truncated or malformed; what a loader runs before the break was analysed.",
            Rule::ResourceLimit => "The artifact exceeds a bound of the scanner (a zip bomb, an endless stack); the rest was not examined.",
            Rule::MalformedHeader => "A header lies about the data (sizes, offsets, counts): loaders crash on it or misread it.",
            Rule::TemplateInjection => "A template the loader renders reaches Python internals: rendering it can run code.",
            Rule::DangerousOperator => "The model's graph runs Python, reads or writes files, or lists the filesystem when it runs.",
            Rule::CustomOperator => "The model needs an operator no standard runtime provides: native code from outside the model runs with it.",
            Rule::PathTraversal => "A path inside the artifact leaves its folder: loading or extracting it reads or writes files elsewhere.",
        }
    }

    /// MITRE ATLAS technique where one fits: code that runs when the model is loaded.
    pub fn atlas(self) -> Option<&'static str> {
        match self {
            Rule::DangerousGlobal
            | Rule::NestedPickle
            | Rule::TemplateInjection
            | Rule::DangerousOperator
            | Rule::PathTraversal => Some("AML.T0011.000"),
            Rule::UnknownGlobal | Rule::CustomOperator => Some("AML.T0010.003"),
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
