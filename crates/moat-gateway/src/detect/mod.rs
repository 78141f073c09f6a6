//! Detectors on the traffic: one trait, one file per detector, an explicit list.
//!
//! A detector looks at one view of an exchange and returns findings; it does no IO and
//! no logging. Whether a finding is only logged, raised as an alert or blocks the request
//! is configuration (`detectors = { pii = "block" }` on an endpoint), applied by the
//! gateway, never by detector code.

mod pii;
mod prompt_injection;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Kind;

pub use pii::Pii;
pub use prompt_injection::PromptInjection;

/// Stable ids, used in configuration; never renamed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum DetectorId {
    /// Personal data and secrets (`moat-guard`): card numbers, IBANs, e-mail addresses,
    /// phone numbers, national ids, API keys and tokens.
    Pii,
    /// Prompt injection and jailbreaks in any message of a chat request, tool results
    /// included (`openai` endpoints).
    PromptInjection,
}

/// Where in the exchange a detector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    RequestBody,
}

/// What the gateway does with a detector's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Record it.
    #[default]
    Log,
    /// Record it as an alert (a warning in the log, counted in metrics).
    Alert,
    /// Refuse the request with `403` and the detector's id.
    Block,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Log => "log",
            Mode::Alert => "alert",
            Mode::Block => "block",
        }
    }
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One finding. `evidence` never holds the matched text itself, only what it was and
/// where (for personal data and secrets: the entity type and the offsets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub detector: DetectorId,
    pub severity: Severity,
    /// MITRE ATLAS technique.
    pub atlas: &'static str,
    pub evidence: String,
}

/// What a detector sees.
pub struct DetectorCx<'a> {
    pub endpoint: &'a str,
    pub kind: Kind,
    pub phase: Phase,
    /// The texts of the body: every string of a JSON body (for `openai` chat requests,
    /// every message's content, tool results included), or the body as text.
    pub texts: &'a [String],
}

pub trait Detector: Send + Sync + 'static {
    fn id(&self) -> DetectorId;
    fn phases(&self) -> &'static [Phase];
    /// The endpoint kinds this detector understands.
    fn applies_to(&self, kind: Kind) -> bool;
    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>);
}

/// Every detector Moat ships, in display order, sharing one compiled guard scanner.
pub fn builtin() -> Vec<Arc<dyn Detector>> {
    let scanner = Arc::new(moat_guard::Scanner::new());
    vec![
        Arc::new(Pii::new(scanner.clone())),
        Arc::new(PromptInjection::new(scanner)),
    ]
}

/// The texts a detector reads from a body: JSON strings (keys skipped; members in key
/// order, items in order), else the body as UTF-8 (lossy). At most `MAX_TEXTS` strings.
pub fn body_texts(body: &[u8]) -> Vec<String> {
    const MAX_TEXTS: usize = 10_000;
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let mut out = Vec::new();
            let mut stack = vec![&v];
            while let Some(v) = stack.pop() {
                if out.len() >= MAX_TEXTS {
                    break;
                }
                match v {
                    serde_json::Value::String(s) => out.push(s.clone()),
                    serde_json::Value::Array(a) => stack.extend(a.iter().rev()),
                    serde_json::Value::Object(o) => stack.extend(o.values().rev()),
                    _ => {}
                }
            }
            out
        }
        Err(_) => vec![String::from_utf8_lossy(body).into_owned()],
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    /// Runs `d` on one text as a request body of an endpoint of `kind`.
    pub(crate) fn check(d: &dyn Detector, kind: Kind, body: &str) -> Vec<Finding> {
        let texts = body_texts(body.as_bytes());
        let cx = DetectorCx {
            endpoint: "e",
            kind,
            phase: Phase::RequestBody,
            texts: &texts,
        };
        let mut f = Vec::new();
        if d.applies_to(kind) {
            d.inspect(&cx, &mut f);
        }
        f
    }

    #[test]
    fn ids_are_unique_listed_and_stable() {
        let ids: Vec<String> = DetectorId::iter().map(|d| d.to_string()).collect();
        assert_eq!(
            ids,
            ["pii", "prompt-injection"],
            "a rename breaks configurations"
        );
        let listed: Vec<DetectorId> = builtin().iter().map(|d| d.id()).collect();
        assert_eq!(listed, DetectorId::iter().collect::<Vec<_>>());
    }

    #[test]
    fn json_strings_are_read_in_order() {
        let t = body_texts(
            br#"{"messages":[{"role":"user","content":"a"},{"role":"tool","content":"b"}]}"#,
        );
        // Object members in key order, array items in order.
        assert_eq!(t, ["a", "user", "b", "tool"]);
        assert_eq!(body_texts(b"plain text"), ["plain text"]);
    }
}
