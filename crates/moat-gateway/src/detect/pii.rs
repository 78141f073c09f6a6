//! `pii`: personal data and secrets in a request or a response (the guard's detectors: validated card
//! numbers, IBANs, national ids, e-mail addresses, phone numbers, cloud and API keys).
//! Secrets are high severity, personal data medium. Known false positives: numbers that
//! pass a checksum by chance in free text (the guard's context scoring keeps them rare).

use std::sync::Arc;

use moat_guard::{Kind as GuardKind, Scanner};

use super::{Detector, DetectorCx, DetectorId, Finding, Phase, Severity};
use crate::config::Kind;

pub struct Pii {
    scanner: Arc<Scanner>,
}

impl Pii {
    pub fn new(scanner: Arc<Scanner>) -> Self {
        Pii { scanner }
    }
}

impl Detector for Pii {
    fn id(&self) -> DetectorId {
        DetectorId::Pii
    }

    fn phases(&self) -> &'static [Phase] {
        &[Phase::RequestBody, Phase::ResponseBody]
    }

    fn applies_to(&self, _kind: Kind) -> bool {
        true
    }

    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>) {
        for (i, text) in cx.texts.iter().enumerate() {
            for f in self.scanner.scan(text) {
                findings.push(finding(&f, &format!("text {i}")));
            }
        }
    }
}

/// The gateway's finding for one of the guard's, located `place` (never the text).
pub(crate) fn finding(f: &moat_guard::Finding, place: &str) -> Finding {
    let secret = f.kind == GuardKind::Secret;
    Finding {
        detector: DetectorId::Pii,
        severity: if secret {
            Severity::High
        } else {
            Severity::Medium
        },
        // Exfiltration via ML inference API / data leakage.
        atlas: if secret { "AML.T0055" } else { "AML.T0057" },
        evidence: format!(
            "{} in {place} at {}..{} (score {:.2})",
            f.entity, f.start, f.end, f.score
        ),
        repeat: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::check;

    fn d() -> Pii {
        Pii::new(Arc::new(Scanner::new()))
    }

    #[test]
    fn finds_personal_data_and_secrets_without_echoing_them() {
        let f = check(
            &d(),
            Kind::Openai,
            r#"{"messages":[{"role":"user","content":"my card is 4111 1111 1111 1111, mail jane.doe@example.com"}]}"#,
        );
        let all = format!("{f:?}");
        assert!(
            all.contains("CREDIT_CARD") && all.contains("EMAIL_ADDRESS"),
            "{all}"
        );
        assert!(!all.contains("4111") && !all.contains("jane.doe"), "{all}");
        let s = check(
            &d(),
            Kind::Generic,
            "token xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx here",
        );
        assert!(s.iter().any(|f| f.severity == Severity::High), "{s:?}");
    }

    #[test]
    fn ordinary_rows_pass() {
        assert!(check(&d(), Kind::Tabular, r#"{"rows":[[1.5,2,3],[4,5,6]]}"#).is_empty());
        assert!(check(
            &d(),
            Kind::Openai,
            r#"{"messages":[{"role":"user","content":"What is the capital of France?"}]}"#
        )
        .is_empty());
    }
}
