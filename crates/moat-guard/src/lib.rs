//! The guard detectors of Moat: personal data and secrets found in text, validated (a
//! card number passes Luhn and an issuer range, an IBAN its mod-97 check, an SSN the
//! rules of issue), scored with context words as Presidio does, and redacted in four
//! modes. No I/O: the gateway runs this on every request and `moat guard` on files.
//!
//! Offsets are in Unicode code points, as Python indexes strings, so findings line up
//! with what other tools report on the same text.

// A parser of untrusted text: no unwrap, no unchecked indexing, no panic (STYLE.md §2).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

mod classifier;
mod context;
mod injection;
mod normalize;
mod pii;
mod prefilter;
mod redact;
mod secrets;
mod stream;

use serde::Serialize;

pub use injection::Verdict;
pub use redact::{detokenize, Mode, RedactError, Redactor};
pub use stream::{RedactStream, ScanStream, OVERLAP, WINDOW};

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Pii,
    Secret,
    PromptInjection,
}

/// One finding: `text[start..end]` in code points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The entity type, with Presidio's names where Presidio has one
    /// (`EMAIL_ADDRESS`, `CREDIT_CARD`, …).
    #[serde(rename = "type")]
    pub entity: &'static str,
    pub start: usize,
    pub end: usize,
    /// Confidence in 0..=1, rounded to two decimals.
    pub score: f64,
}

/// A finding in byte offsets, before conversion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    pub kind: Kind,
    pub entity: &'static str,
    pub start: usize,
    pub end: usize,
    pub score: f32,
}

/// The detectors, compiled once and shared.
pub struct Scanner {
    pii: pii::Pii,
    injection: injection::Injection,
    /// Injection scores at or above this are findings.
    pub injection_threshold: f64,
    secrets: secrets::Secrets,
    /// Secret needles and personal-data trigger words: one pass over the text decides
    /// where the detectors run.
    prefilter: prefilter::Prefilter,
    /// Findings scored below this are dropped.
    pub threshold: f32,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Scanner {
            pii: pii::Pii::new(),
            injection: injection::Injection::new(),
            injection_threshold: 0.5,
            secrets: secrets::Secrets::new(),
            prefilter: prefilter::Prefilter::new(secrets::NEEDLES, &pii::TRIGGER_FAMILIES),
            threshold: 0.5,
        }
    }

    /// Every finding in `text`, sorted by start, overlaps resolved (a secret wins over
    /// personal data inside it; then the higher score, then the longer span).
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let spans = self.scan_bytes(text);
        to_code_points(text, spans)
    }

    /// The prompt-injection verdict on a text: score, verdict and the signals that
    /// fired.
    pub fn injection(&self, text: &str) -> Verdict {
        self.injection.check(text, self.injection_threshold)
    }

    /// Personal data, secrets and prompt injection together: what `moat guard scan`
    /// reports. An injection finding spans the text that triggered it.
    pub fn scan_all(&self, text: &str) -> Vec<Finding> {
        let mut spans = self.scan_bytes(text);
        let v = self.injection(text);
        if v.injection {
            spans.push(Span {
                kind: Kind::PromptInjection,
                entity: v.family,
                start: v.span.0,
                end: v.span.1,
                score: v.score as f32,
            });
            spans.sort_by_key(|s| s.start);
        }
        to_code_points(text, spans)
    }

    /// Findings in byte offsets (for redaction).
    pub(crate) fn scan_bytes(&self, text: &str) -> Vec<Span> {
        // Logs and JSON carry line breaks as the two characters `\n`: read them as the
        // spaces they stand for, or `\n+41 …` and `\nAKIA…` would not start a word. The
        // copy has the same length and character boundaries, so every offset holds.
        let unescaped;
        let text = if memchr::memchr(b'\\', text.as_bytes()).is_some() {
            unescaped = unescape_breaks(text);
            unescaped.as_str()
        } else {
            text
        };
        let (needles, triggers) = self.prefilter.scan(text);
        let mut spans = self.secrets.scan(text, &needles);
        spans.extend(self.pii.scan(text, &triggers));
        spans.retain(|s| s.score >= self.threshold && s.start < s.end);
        resolve_overlaps(spans)
    }
}

/// `text` with each escaped line break or tab (`\n`, `\r`, `\t`, two characters)
/// replaced by two spaces.
fn unescape_breaks(text: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    let mut i = 0;
    while let Some(at) = b.get(i..).and_then(|r| memchr::memchr(b'\\', r)) {
        let at = i + at;
        if matches!(b.get(at + 1), Some(b'n' | b'r' | b't')) {
            if let Some(pair) = b.get_mut(at..at + 2) {
                pair.copy_from_slice(b"  ");
            }
            i = at + 2;
        } else {
            // `\\` escapes a backslash: skip both.
            i = at + if b.get(at + 1) == Some(&b'\\') { 2 } else { 1 };
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes: still UTF-8.
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Overlapping spans resolved in one sweep (O(n log n) whatever their number): of two
/// that overlap, a secret beats personal data, then the higher score, then the longer.
fn resolve_overlaps(mut spans: Vec<Span>) -> Vec<Span> {
    let better = |a: &Span, b: &Span| {
        (a.kind == Kind::Secret, a.score, a.end - a.start)
            > (b.kind == Kind::Secret, b.score, b.end - b.start)
    };
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match kept.last_mut() {
            // Sorted by start, so only the last kept span can overlap this one.
            Some(last) if s.start < last.end => {
                if better(&s, last) {
                    *last = s;
                }
            }
            _ => kept.push(s),
        }
    }
    kept
}

/// Converts byte spans to code-point offsets: the code points before each span edge
/// are counted once, from the previous edge (a byte that is not a UTF-8 continuation
/// byte starts a code point), so the text is read once, only up to the last edge.
fn to_code_points(text: &str, spans: Vec<Span>) -> Vec<Finding> {
    let mut marks: Vec<usize> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
    marks.sort_unstable();
    marks.dedup();
    let bytes = text.as_bytes();
    let mut points = Vec::with_capacity(marks.len());
    let (mut pos, mut count) = (0, 0);
    for &m in &marks {
        let m = m.min(bytes.len());
        let seg = bytes.get(pos..m).unwrap_or_default();
        count += if seg.is_ascii() {
            seg.len()
        } else {
            seg.iter().filter(|&&c| (c as i8) >= -0x40).count()
        };
        pos = pos.max(m);
        points.push(count);
    }
    let at = |b: usize| {
        marks
            .binary_search(&b)
            .ok()
            .and_then(|i| points.get(i).copied())
            .unwrap_or(0)
    };
    spans
        .into_iter()
        .map(|s| Finding {
            kind: s.kind,
            entity: s.entity,
            start: at(s.start),
            end: at(s.end),
            score: (f64::from(s.score) * 100.0).round() / 100.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_line_breaks_separate_words() {
        let s = Scanner::new();
        let text = r"Phone:\n+41 36 507 52 91\nE-mail:\nCinziaDellucci@dayrep.com\n";
        let f: Vec<(String, &str)> = s
            .scan(text)
            .into_iter()
            .map(|f| {
                (
                    text.chars().skip(f.start).take(f.end - f.start).collect(),
                    f.entity,
                )
            })
            .collect();
        assert_eq!(
            f,
            [
                ("+41 36 507 52 91".to_owned(), "PHONE_NUMBER"),
                ("CinziaDellucci@dayrep.com".to_owned(), "EMAIL_ADDRESS")
            ]
        );
        // An escaped backslash before `n` is not a line break.
        assert_eq!(unescape_breaks(r"a\\nb\tc"), r"a\\nb  c");
    }

    #[test]
    fn offsets_are_code_points() {
        let s = Scanner::new();
        let text = "héllo wörld: jane.doe@example.com";
        let f = s.scan(text);
        assert_eq!(f.len(), 1);
        let found: String = text
            .chars()
            .skip(f[0].start)
            .take(f[0].end - f[0].start)
            .collect();
        assert_eq!(found, "jane.doe@example.com");
        assert_eq!(f[0].entity, "EMAIL_ADDRESS");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(text in "\\PC{0,400}") {
            static SCANNER: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
            let s = SCANNER.get_or_init(Scanner::new);
            let n = text.chars().count();
            for f in s.scan(&text) {
                proptest::prop_assert!(f.start < f.end && f.end <= n);
            }
        }
    }
}
