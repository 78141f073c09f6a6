//! Secrets: cloud and SaaS keys by their published shapes (AWS, GitHub, GitLab, Slack,
//! Stripe, Google, OpenAI, Anthropic), JWTs, PEM private-key blocks, passwords inside
//! connection strings, and `password=` / `secret:` style assignments with high
//! entropy. Placeholders (`AKIAXXXXXXXXXXXXXXXX`, `…EXAMPLE`, `${VAR}`), git SHAs,
//! SHA-256 digests and UUIDs are not secrets.

use regex::Regex;

use std::ops::Range;

use crate::context::{
    captures_in, char_after, char_before, entropy, find_in, merge, placeholder, widen, Words,
};
use crate::{Kind, Span};

struct Shape {
    entity: &'static str,
    re: Regex,
    /// Least entropy (bits per character) of the matched key.
    min_entropy: f64,
}

/// How a needle is matched: as written, or in any ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Exact,
    Any,
}

/// Literals every match of each detector contains (shapes in order, then `jwt`, `pem`,
/// `url`, `assignment`, `aws`): the scanner finds them all in one pass first.
pub(crate) const NEEDLES: &[(Case, &[&str])] = &[
    (
        Case::Exact,
        &[
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA",
        ],
    ),
    (Case::Exact, &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
    (Case::Exact, &["github_pat_"]),
    (
        Case::Exact,
        &[
            "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glimt-", "glagent-", "gloas-",
        ],
    ),
    (Case::Exact, &["xox"]),
    (Case::Exact, &["hooks.slack.com"]),
    (Case::Exact, &["_live_", "_test_"]),
    (Case::Exact, &["AIza"]),
    // Every OpenAI and Anthropic key opens with `sk-`.
    (Case::Exact, &["sk-"]),
    (Case::Exact, &["T3BlbkFJ"]),
    (Case::Exact, &["sk-"]),
    (Case::Exact, &["sk-"]),
    (Case::Exact, &["hf_"]),
    // jwt, pem, url, assignment, aws
    (Case::Exact, &["eyJ"]),
    (Case::Exact, &["-----BEGIN"]),
    (Case::Exact, &["://"]),
    (Case::Any, &["pass", "pwd", "secret", "key", "token"]),
    (Case::Any, &["aws", "secret"]),
];

pub(crate) struct Secrets {
    shapes: Vec<Shape>,
    aws_secret: Regex,
    jwt: Regex,
    pem: Regex,
    url_password: Regex,
    assignment: Regex,
    aws_words: Words,
}

/// The patterns are constants, checked by the tests.
fn re(p: &str) -> Regex {
    crate::context::pattern(p)
}

fn span(entity: &'static str, start: usize, end: usize, score: f32) -> Span {
    Span {
        kind: Kind::Secret,
        entity,
        start,
        end,
        score,
    }
}

impl Secrets {
    pub(crate) fn new() -> Self {
        let shape = |entity, p: &str, min_entropy| Shape {
            entity,
            re: re(p),
            min_entropy,
        };
        Secrets {
            shapes: vec![
                shape(
                    "AWS_ACCESS_KEY_ID",
                    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z2-7]{16}\b",
                    2.5,
                ),
                shape("GITHUB_TOKEN", r"\bgh[pousr]_[A-Za-z0-9]{36,251}\b", 3.0),
                shape("GITHUB_TOKEN", r"\bgithub_pat_[A-Za-z0-9_]{82}\b", 3.0),
                shape(
                    "GITLAB_TOKEN",
                    r"\bgl(?:pat|dt|ptt|rt|cbt|imt|agent|oas)-[A-Za-z0-9_\-]{20,}\b",
                    3.0,
                ),
                shape("SLACK_TOKEN", r"\bxox[abprse]-[A-Za-z0-9\-]{10,}\b", 3.0),
                shape(
                    "SLACK_WEBHOOK",
                    r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}",
                    3.0,
                ),
                shape(
                    "STRIPE_KEY",
                    r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{24,}\b",
                    3.0,
                ),
                shape("GOOGLE_API_KEY", r"\bAIza[0-9A-Za-z_\-]{35}\b", 3.0),
                shape(
                    "ANTHROPIC_API_KEY",
                    r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}",
                    3.5,
                ),
                shape(
                    "OPENAI_API_KEY",
                    r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}",
                    3.5,
                ),
                shape(
                    "OPENAI_API_KEY",
                    r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}",
                    3.5,
                ),
                shape("OPENAI_API_KEY", r"\bsk-[A-Za-z0-9]{48}\b", 3.5),
                shape("HUGGINGFACE_TOKEN", r"\bhf_[A-Za-z0-9]{34,}\b", 3.0),
            ],
            aws_secret: re(r"[A-Za-z0-9/+]{40}"),
            jwt: re(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
            pem: re(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
            url_password: re(
                r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@]{1,128}:([^\s@/]{1,256})@[^\s/]+",
            ),
            assignment: re(
                r#"(?i)\b(?:password|passwd|pwd|pass|secret|client_secret|api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?key|auth[_\-]?token|access[_\-]?token|token|private[_\-]?key)\b["']?\s*(?::=|=>|[:=])\s*["']?[^\s"',;]{8,200}"#,
            ),
            aws_words: Words::new(&["aws", "secret_access", "secret access", "secretaccesskey"]),
        }
    }

    /// `hits`: (detector, start, end) of every needle found in `text`.
    pub(crate) fn scan(&self, text: &str, hits: &[(usize, usize, usize)]) -> Vec<Span> {
        let mut out = Vec::new();
        let n = self.shapes.len();
        // Each detector runs only in windows around its needles: how far a match can
        // start before its needle, and end after it.
        let mut windows: Vec<Vec<Range<usize>>> = vec![Vec::new(); n + 5];
        for &(d, start, end) in hits {
            let (back, fwd) = match d {
                9 => (256, 512),               // sk-…T3BlbkFJ…: the needle is inside
                d if d == n => (0, 16 << 10),  // JWT
                d if d == n + 1 => (0, 0),     // PEM: handled on the whole text
                d if d == n + 2 => (24, 800),  // scheme://user:password@host
                d if d == n + 3 => (24, 240),  // password = …
                d if d == n + 4 => (300, 300), // AWS secret near its context
                _ => (8, 300),
            };
            // An assignment needs `:` or `=` just after its key word (and the rest of
            // the word: `pass` in `password`).
            if d == n + 3 && !assignment_follows(text.as_bytes(), end) {
                continue;
            }
            if let Some(list) = windows.get_mut(d) {
                list.push(widen(text, start, end, back, fwd));
            }
        }
        if windows.iter().all(Vec::is_empty) {
            return out;
        }
        let windows: Vec<Vec<Range<usize>>> = windows.into_iter().map(merge).collect();
        let enabled = |i: usize| windows.get(i).is_some_and(|w| !w.is_empty());
        fn within<'t>(
            windows: &[Vec<Range<usize>>],
            i: usize,
            re: &'t Regex,
            text: &'t str,
        ) -> Vec<crate::context::M<'t>> {
            windows
                .get(i)
                .map(|ws| ws.iter().flat_map(|r| find_in(re, text, r)).collect())
                .unwrap_or_default()
        }
        for (i, s) in self.shapes.iter().enumerate() {
            for m in within(&windows, i, &s.re, text) {
                let key = m.as_str();
                if placeholder(key) || entropy(key) < s.min_entropy {
                    continue;
                }
                out.push(span(s.entity, m.start(), m.end(), 1.0));
            }
        }
        let aws = within(&windows, n + 4, &self.aws_secret, text);
        for m in aws {
            let key = m.as_str();
            let edge = |c: Option<char>| {
                c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+')
            };
            if edge(char_before(text, m.start())) || edge(char_after(text, m.end())) {
                continue;
            }
            if !self.aws_words.near(text, m.start(), m.end()) {
                continue;
            }
            if placeholder(key) || entropy(key) < 4.0 || is_hex(key) {
                continue;
            }
            out.push(span("AWS_SECRET_ACCESS_KEY", m.start(), m.end(), 0.95));
        }
        let jwts = within(&windows, n, &self.jwt, text);
        for m in jwts {
            let header = m.as_str().split('.').next().unwrap_or_default();
            if decodes_to_json_object(header) {
                out.push(span("JWT", m.start(), m.end(), 1.0));
            }
        }
        let pems: Vec<_> = if enabled(n + 1) {
            self.pem.find_iter(text).collect()
        } else {
            Vec::new()
        };
        for m in pems {
            // The whole block, to its END line; without one, to the end of the base64
            // body: redaction never leaves part of a key.
            let rest = text.get(m.end()..).unwrap_or_default();
            let end = match rest.find("-----END ") {
                Some(i) => {
                    let after = m.end() + i + "-----END ".len();
                    text.get(after..)
                        .and_then(|r| r.find("-----").map(|j| after + j + 5))
                        .unwrap_or(text.len())
                }
                None => {
                    let body = rest
                        .char_indices()
                        .find(|(_, c)| {
                            !(c.is_ascii_alphanumeric()
                                || matches!(
                                    c,
                                    '+' | '/' | '=' | '\n' | '\r' | ' ' | ':' | '-' | ','
                                ))
                        })
                        .map_or(rest.len(), |(i, _)| i);
                    m.end() + body
                }
            };
            out.push(span("PRIVATE_KEY", m.start(), end, 1.0));
        }
        let urls: Vec<_> = windows
            .get(n + 2)
            .map(|ws| {
                ws.iter()
                    .flat_map(|r| captures_in(&self.url_password, text, r))
                    .collect()
            })
            .unwrap_or_default();
        for c in urls {
            if let Some(p) = c.get(1) {
                if !placeholder(p.as_str()) && p.as_str() != "*" {
                    out.push(span("CONNECTION_STRING", p.start(), p.end(), 0.95));
                }
            }
        }
        let assignments: Vec<_> = within(&windows, n + 3, &self.assignment, text);
        for m in assignments {
            // The value is what follows the operator (`:`, `=`, `:=`, `=>`), its spaces
            // and an opening quote: found by hand, not by a capture group, which costs a
            // slower engine on every match.
            let whole = m.as_str();
            let Some(op) = whole.find([':', '=']) else {
                continue;
            };
            let rest = whole.get(op..).unwrap_or_default();
            let rest = rest
                .strip_prefix(":=")
                .or_else(|| rest.strip_prefix("=>"))
                .unwrap_or_else(|| rest.get(1..).unwrap_or_default())
                .trim_start();
            let value = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
            let v_start = m.end() - value.len();
            if value.len() < 8 {
                continue;
            }
            if placeholder(value) || is_digest_or_uuid(value) || entropy(value) < 3.0 {
                continue;
            }
            // Code, not a literal: `password = get_password()`, `token=self.token`.
            if value.contains('(')
                || value.starts_with("self.")
                || value.starts_with("os.")
                || value.starts_with("env")
            {
                continue;
            }
            let letters = value.chars().filter(char::is_ascii_alphabetic).count();
            let digits_or_symbols = value.chars().filter(|c| !c.is_ascii_alphabetic()).count();
            if letters == 0 || digits_or_symbols == 0 && value.len() < 16 {
                continue;
            }
            out.push(span("PASSWORD", v_start, m.end(), 0.8));
        }
        out
    }
}

/// Whether `:` or `=` follows byte `at` after the rest of a key word (letters, digits,
/// `_`, `-`), an optional quote and some spaces, as the assignment pattern needs.
fn assignment_follows(b: &[u8], at: usize) -> bool {
    let rest = b.get(at..).unwrap_or_default();
    let mut i = rest
        .iter()
        .take(40)
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        .count();
    if matches!(rest.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    i += rest
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take(16)
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    matches!(rest.get(i), Some(b':' | b'='))
}

fn is_hex(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Git SHAs (40 hex), SHA-256 (64 hex) and UUIDs: identifiers, not secrets.
fn is_digest_or_uuid(s: &str) -> bool {
    let bare = s.strip_prefix("sha256:").unwrap_or(s);
    if is_hex(bare) && matches!(bare.len(), 7..=12 | 32 | 40 | 64) {
        return true;
    }
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| is_hex(p))
}

fn decodes_to_json_object(b64: &str) -> bool {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    engine
        .decode(b64.trim_end_matches('='))
        .ok()
        .is_some_and(|d| d.first() == Some(&b'{') && d.last() == Some(&b'}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&'static str, String)> {
        crate::Scanner::new()
            .scan_bytes(text)
            .into_iter()
            .filter(|s| s.kind == Kind::Secret)
            .map(|s| {
                (
                    s.entity,
                    text.get(s.start..s.end).unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn keys_by_shape() {
        assert_eq!(
            found("key AKIA2E3RT5YU7IQPZASD here"),
            [("AWS_ACCESS_KEY_ID", "AKIA2E3RT5YU7IQPZASD".to_owned())]
        );
        assert!(found("AKIAXXXXXXXXXXXXXXXX").is_empty());
        assert!(found("AKIAIOSFODNN7EXAMPLE").is_empty());
        let gh = "ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ";
        assert_eq!(found(gh), [("GITHUB_TOKEN", gh.to_owned())]);
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(found(jwt), [("JWT", jwt.to_owned())]);
    }

    #[test]
    fn blocks_urls_and_assignments() {
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            found(&format!("x {pem} y")),
            [("PRIVATE_KEY", pem.to_owned())]
        );
        assert_eq!(
            found("postgres://app:S3cr3t!pw@db:5432/x"),
            [("CONNECTION_STRING", "S3cr3t!pw".to_owned())]
        );
        assert_eq!(
            found("password = \"hX9#kq2!Lm\""),
            [("PASSWORD", "hX9#kq2!Lm".to_owned())]
        );
        for benign in [
            "password = ${DB_PASSWORD}",
            "token = 3f786850e387550fdab836ed7e6dc881de23001b",
            "secret: 123e4567-e89b-12d3-a456-426614174000",
            "password = get_password()",
            "digest sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        ] {
            assert!(found(benign).is_empty(), "{benign}: {:?}", found(benign));
        }
    }
}
