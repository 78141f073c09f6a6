//! Detectors on the traffic: one trait, one file per detector, an explicit list.
//!
//! A detector looks at one view of an exchange and returns findings; it does no IO and
//! no logging. Whether a finding is only logged, raised as an alert or blocks the request
//! is configuration (`detectors = { pii = "block" }` on an endpoint), applied by the
//! gateway, never by detector code.

mod extraction;
mod output_watch;
pub(crate) mod pii;
mod prompt_injection;
pub mod rows;
mod tabular;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Endpoint, Kind};

pub use extraction::{Extraction, ExtractionSettings};
pub use output_watch::OutputWatch;
pub use pii::Pii;
pub use prompt_injection::PromptInjection;
pub use rows::Rows;
pub use tabular::{TabularAnomaly, TabularDrift};

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
    /// Rows unlike the model's data profile: unknown or missing columns, values outside
    /// the profiled range, unseen categories, wrong types (`tabular` endpoints).
    TabularAnomaly,
    /// Windows of live rows compared with the data profile by the data crate's drift
    /// tests; alerts when a window drifts (`tabular` endpoints).
    TabularDrift,
    /// Model extraction and probing per key: PRADA's distance-normality test plus
    /// volume, input-space coverage, near-duplicate and sweep signals (`tabular`).
    Extraction,
    /// The model's answers: confidence collapse and a shift of the predicted-class mix
    /// against the endpoint's own baseline (`tabular`).
    OutputWatch,
}

impl DetectorId {
    /// The modes this detector can run in: window detectors judge many requests, so
    /// they cannot block one; only `pii` can redact.
    pub fn allows(self, mode: Mode) -> bool {
        match mode {
            Mode::Log | Mode::Alert => true,
            Mode::Block => !matches!(self, DetectorId::TabularDrift | DetectorId::OutputWatch),
            Mode::Redact => self == DetectorId::Pii,
        }
    }

    /// Whether it needs the endpoint's data profile (`profile = FILE`).
    pub fn needs_profile(self) -> bool {
        matches!(self, DetectorId::TabularAnomaly | DetectorId::TabularDrift)
    }
}

/// Where in the exchange a detector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The request body, before it is forwarded.
    RequestBody,
    /// A whole (non-streamed) response body, before it is returned; for server-sent
    /// events, the assembled text so far.
    ResponseBody,
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
    /// Refuse the request with `403` and the detector's id (a response: `502`
    /// `response_blocked`; a stream: cut with an error event).
    Block,
    /// Replace what was found before it goes on (`pii` only): in JSON strings of
    /// requests and responses; a stream is cut instead, as in `block`.
    Redact,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Log => "log",
            Mode::Alert => "alert",
            Mode::Block => "block",
            Mode::Redact => "redact",
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
    /// A finding already recorded for this caller, repeated so that `block` goes on
    /// refusing: enforced, not stored or logged again.
    pub repeat: bool,
}

/// What a detector sees.
pub struct DetectorCx<'a> {
    pub endpoint: &'a str,
    /// The caller's key id (never the secret).
    pub key_id: &'a str,
    pub kind: Kind,
    pub phase: Phase,
    /// The texts of the body: every string of a JSON body (for `openai` chat requests,
    /// every message's content, tool results included), or the body as text.
    pub texts: &'a [String],
    /// The body as JSON, when it is JSON.
    pub json: Option<&'a serde_json::Value>,
    /// The rows of a `tabular` request, when the body holds rows.
    pub rows: Option<&'a Rows>,
}

/// One detector on one endpoint. Detectors that judge windows of traffic (drift,
/// extraction, output) keep their state inside, bounded.
pub trait Detector: Send + Sync + 'static {
    fn id(&self) -> DetectorId;
    fn phases(&self) -> &'static [Phase];
    /// The endpoint kinds this detector understands.
    fn applies_to(&self, kind: Kind) -> bool;
    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>);
}

/// What detectors of every endpoint share: one compiled guard scanner.
#[derive(Clone)]
pub struct Shared {
    pub scanner: Arc<moat_guard::Scanner>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            scanner: Arc::new(moat_guard::Scanner::new()),
        }
    }
}

/// The detector `id` for endpoint `ep`: the registry of every detector Moat ships.
/// Fails when the endpoint lacks what the detector needs (a data profile).
pub fn build(id: DetectorId, ep: &Endpoint, shared: &Shared) -> Result<Arc<dyn Detector>, String> {
    let profile = || {
        ep.profile.clone().ok_or_else(|| {
            format!(
                "detector `{id}` compares traffic with the model's data profile: set `profile = \"baseline.json\"` (made by `moat data profile`)"
            )
        })
    };
    Ok(match id {
        DetectorId::Pii => Arc::new(Pii::new(shared.scanner.clone())),
        DetectorId::PromptInjection => Arc::new(PromptInjection::new(shared.scanner.clone())),
        DetectorId::TabularAnomaly => Arc::new(TabularAnomaly::new(profile()?, ep.target.clone())),
        DetectorId::TabularDrift => Arc::new(TabularDrift::new(
            profile()?,
            ep.target.clone(),
            ep.drift_window,
        )),
        DetectorId::Extraction => Arc::new(Extraction::new(
            ep.profile.clone(),
            ep.target.clone(),
            ep.extraction.clone(),
        )),
        DetectorId::OutputWatch => Arc::new(OutputWatch::new(ep.output_baseline, ep.output_window)),
    })
}

/// The texts a detector reads from a body: JSON strings (keys skipped; members in key
/// order, items in order), else the body as UTF-8 (lossy). Every string is read: the
/// body itself is bounded (`max_body_bytes`, `max_response_bytes`), so padding cannot
/// push a finding out of sight.
pub fn body_texts(body: &[u8]) -> Vec<String> {
    parse_body(body).1
}

/// A body as JSON (when it is) and the texts [`body_texts`] reads from it.
pub fn parse_body(body: &[u8]) -> (Option<serde_json::Value>, Vec<String>) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let texts = json_texts(&v);
            (Some(v), texts)
        }
        Err(_) => (None, vec![String::from_utf8_lossy(body).into_owned()]),
    }
}

/// Every string of a JSON value, in the order [`body_texts`] gives.
pub fn json_texts(v: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => stack.extend(a.iter().rev()),
            serde_json::Value::Object(o) => stack.extend(o.values().rev()),
            _ => {}
        }
    }
    out
}

/// Replaces personal data and secrets in every string of a JSON value, in place, with
/// the guard's tags (`<EMAIL_ADDRESS_1>`); returns how many were replaced.
pub fn redact_json(redactor: &moat_guard::Redactor<'_>, v: &mut serde_json::Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(s) => {
                let (r, k) = redactor.redact(s);
                if k > 0 {
                    *s = r;
                    n += k;
                }
            }
            serde_json::Value::Array(a) => stack.extend(a.iter_mut().rev()),
            serde_json::Value::Object(o) => stack.extend(o.values_mut().rev()),
            _ => {}
        }
    }
    n
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
            key_id: "k",
            kind,
            phase: Phase::RequestBody,
            texts: &texts,
            json: None,
            rows: None,
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
            [
                "pii",
                "prompt-injection",
                "tabular-anomaly",
                "tabular-drift",
                "extraction",
                "output-watch"
            ],
            "a rename breaks configurations"
        );
    }

    #[test]
    fn every_id_builds_and_names_itself() {
        let mut ep = crate::config::tests::endpoint("e", Kind::Tabular);
        let shared = Shared::default();
        for id in DetectorId::iter() {
            if id.needs_profile() {
                let e = build(id, &ep, &shared).err().expect("needs a profile");
                assert!(e.contains("moat data profile"), "{e}");
            }
        }
        ep.profile = Some(Arc::new(crate::detect::tabular::tests::profile()));
        for id in DetectorId::iter() {
            assert_eq!(build(id, &ep, &shared).expect("builds").id(), id);
        }
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
