//! GGUF (llama.cpp models): a header, typed metadata key/values, tensor infos, data.
//! Only the metadata is read, sequentially, with every count and length checked
//! against what is left of the file before anything is allocated.
//!
//! The check that matters: `tokenizer.chat_template` is a Jinja template that some
//! loaders render in a sandbox that was escapable (CVE-2024-34359). Chat templates need
//! loops, conditions and string filters; they never need Python's dunder attributes
//! (`__class__`, `__subclasses__`, `__globals__`, …) or the helpers used to reach them
//! (`lipsum`, `cycler`, `joiner`): those are reported as critical.

use std::io::Read;

use crate::finding::{Finding, Rule, Severity};

/// Longest string read (a chat template is a few KiB; vocabularies hold many short ones).
const MAX_STRING: u64 = 16 << 20;
/// Most metadata entries read.
const MAX_KV: u64 = 1 << 20;
/// Most array elements read in all.
const MAX_ELEMENTS: u64 = 16 << 20;

/// Markers of a template reaching Python internals.
const ESCAPES: &[&str] = &[
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__import__",
    "__base__",
    "__bases__",
    "__init__",
    "__getattribute__",
    "__dict__",
    "__code__",
    "lipsum",
    "cycler",
    "joiner",
    "popen",
    "subprocess",
    "os.system",
    "eval(",
    "exec(",
];

/// The template with `\xNN`, `\uNNNN` and octal escapes decoded, then quotes, `~`,
/// `+`, `%s` and whitespace removed, lowercased: `'_'~'_'~'class'` reads `__class`.
fn normalize_template(t: &str) -> String {
    let mut decoded = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let (radix, n) = match chars.peek() {
                Some('x') => (16, 2),
                Some('u') => (16, 4),
                Some('U') => (16, 8),
                Some('0'..='7') => (8, 3),
                _ => (0, 0),
            };
            if n > 0 {
                let mut look = chars.clone();
                if radix == 16 {
                    look.next();
                }
                let digits: String = look.clone().take(n).collect();
                if let Some(ch) = u32::from_str_radix(&digits, radix)
                    .ok()
                    .and_then(char::from_u32)
                {
                    if digits.len() == n {
                        decoded.push(ch);
                        chars = look;
                        for _ in 0..n {
                            chars.next();
                        }
                        continue;
                    }
                }
            }
        }
        decoded.push(c);
    }
    decoded
        .replace("%s", "")
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '~' | '+') && !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

struct R<'a, T: Read> {
    r: &'a mut T,
    pos: u64,
    len: u64,
    version: u32,
    elements: u64,
}

impl<T: Read> R<'_, T> {
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, String> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(format!(
                "a length of {n} at byte {} runs past the end of the file",
                self.pos
            ));
        }
        let mut v = Vec::new();
        crate::formats::zip::read_capped(&mut *self.r, n, &mut v).map_err(|e| e.to_string())?;
        if v.len() as u64 != n {
            return Err("the file ends early".into());
        }
        self.pos += n;
        Ok(v)
    }

    fn uint(&mut self, n: u64) -> Result<u64, String> {
        let b = self.bytes(n)?;
        Ok(b.iter().rev().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
    }

    /// A count: u32 in version 1, u64 after.
    fn count(&mut self) -> Result<u64, String> {
        self.uint(if self.version == 1 { 4 } else { 8 })
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        let n = self.count()?;
        if n > MAX_STRING {
            return Err(format!("a string of {n} bytes at byte {}", self.pos));
        }
        self.bytes(n)
    }

    /// Reads one value of `ty`, returning it when it is a string.
    fn value(&mut self, ty: u64, depth: u8) -> Result<Option<Vec<u8>>, String> {
        let size = match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 => return self.string().map(Some),
            9 => {
                if depth > 2 {
                    return Err("arrays nested too deep".into());
                }
                let elem = self.uint(4)?;
                let n = self.count()?;
                self.elements = self.elements.saturating_add(n);
                if n > self.len.saturating_sub(self.pos) || self.elements > MAX_ELEMENTS {
                    return Err(format!("an array of {n} elements at byte {}", self.pos));
                }
                for _ in 0..n {
                    self.value(elem, depth + 1)?;
                }
                return Ok(None);
            }
            other => return Err(format!("unknown value type {other} at byte {}", self.pos)),
        };
        self.bytes(size)?;
        Ok(None)
    }
}

/// Reads the metadata of a GGUF file (the reader positioned after the magic).
pub(crate) fn check<T: Read>(r: &mut T, len: u64) -> Vec<Finding> {
    let mut f = Vec::new();
    let mut rd = R {
        r,
        pos: 4,
        len,
        version: 3,
        elements: 0,
    };
    let header = (|| -> Result<(u64, u64), String> {
        rd.version = u32::try_from(rd.uint(4)?).map_err(|_| "bad version")?;
        if !(1..=3).contains(&rd.version) {
            return Err(format!("unknown GGUF version {}", rd.version));
        }
        Ok((rd.count()?, rd.count()?))
    })();
    let (tensors, kvs) = match header {
        Ok(h) => h,
        Err(why) => {
            f.push(Finding {
                severity: Severity::Medium,
                rule: Rule::MalformedHeader,
                message: format!("unreadable GGUF header: {why}"),
                offset: 4,
            });
            return f;
        }
    };
    if kvs > MAX_KV || tensors > len {
        f.push(Finding {
            severity: Severity::High,
            rule: Rule::MalformedHeader,
            message: format!("the GGUF header declares {tensors} tensors and {kvs} metadata entries: more than the file can hold"),
            offset: 8,
        });
        return f;
    }
    for _ in 0..kvs {
        let at = rd.pos;
        let step = (|| -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
            let key = rd.string()?;
            let ty = rd.uint(4)?;
            Ok((key, rd.value(ty, 0)?))
        })();
        match step {
            Ok((key, Some(text))) if key.starts_with(b"tokenizer.chat_template") => {
                let t = String::from_utf8_lossy(&text);
                // Names are also built at render time: `'_'~'_'~'class'`, `'\x5f\x5f'`,
                // `'%sclass%s'|format('__','__')`. Judge the text with escapes decoded and
                // quotes, concatenation and spaces removed too.
                let n = normalize_template(&t);
                let mut hits: Vec<&str> = ESCAPES
                    .iter()
                    .copied()
                    .filter(|m| t.contains(m) || n.contains(&m.to_lowercase()))
                    .collect();
                if hits.is_empty() && n.contains("__") {
                    hits.push("a name built with `__`");
                }
                let attr = t.contains("|attr") || n.contains("|attr(") || n.contains("attr(");
                if hits.is_empty() && attr {
                    f.push(Finding {
                        severity: Severity::High,
                        rule: Rule::TemplateInjection,
                        message: format!(
                            "`{}` reads attributes by computed name (the `attr` filter), the way templates reach Python internals: review it",
                            String::from_utf8_lossy(&key)
                        ),
                        offset: at,
                    });
                }
                if !hits.is_empty() {
                    f.push(Finding {
                        severity: Severity::Critical,
                        rule: Rule::TemplateInjection,
                        message: format!(
                            "`{}` reaches Python internals ({}): rendering it can run code (the CVE-2024-34359 class)",
                            String::from_utf8_lossy(&key),
                            hits.join(", ")
                        ),
                        offset: at,
                    });
                }
            }
            Ok(_) => {}
            Err(why) => {
                f.push(Finding {
                    severity: Severity::High,
                    rule: Rule::MalformedHeader,
                    message: format!("unreadable GGUF metadata: {why}"),
                    offset: at,
                });
                break;
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gguf(kvs: &[(&str, &str)]) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&0u64.to_le_bytes());
        v.extend_from_slice(&(kvs.len() as u64).to_le_bytes());
        for (k, s) in kvs {
            v.extend_from_slice(&(k.len() as u64).to_le_bytes());
            v.extend_from_slice(k.as_bytes());
            v.extend_from_slice(&8u32.to_le_bytes());
            v.extend_from_slice(&(s.len() as u64).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        }
        v
    }

    fn run(v: &[u8]) -> Vec<Finding> {
        let mut c = std::io::Cursor::new(v.get(4..).unwrap().to_vec());
        check(&mut c, v.len() as u64)
    }

    #[test]
    fn chat_templates() {
        let ok = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] | trim }}{% endfor %}";
        assert!(run(&gguf(&[
            ("general.name", "x"),
            ("tokenizer.chat_template", ok)
        ]))
        .is_empty());
        let evil = "{{ ().__class__.__base__.__subclasses__()[140].__init__.__globals__['popen']('id').read() }}";
        let f = run(&gguf(&[("tokenizer.chat_template", evil)]));
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].severity, f[0].rule),
            (Severity::Critical, Rule::TemplateInjection)
        );
    }

    #[test]
    fn obfuscated_names_are_seen() {
        for evil in [
            "{{ ()|attr('_'~'_'~'class'~'_'~'_') }}",
            "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
            "{{ ()|attr('%sclass%s'|format('__','__')) }}",
        ] {
            let f = run(&gguf(&[("tokenizer.chat_template", evil)]));
            assert_eq!(f.len(), 1, "{evil}: {f:?}");
            assert_eq!(f[0].severity, Severity::Critical, "{evil}");
        }
        let ordinary =
            "{% for m in messages %}{{ '<|' ~ m['role'] ~ '|>' ~ m['content'] }}{% endfor %}";
        assert!(run(&gguf(&[("tokenizer.chat_template", ordinary)])).is_empty());
    }

    #[test]
    fn absurd_counts_and_lengths() {
        let mut v = b"GGUF".to_vec();
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(run(&v)[0].rule, Rule::MalformedHeader);
        let mut v = gguf(&[("k", "v")]);
        let at = 4 + 4 + 8 + 8;
        v[at..at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
        assert_eq!(run(&v)[0].rule, Rule::MalformedHeader);
    }
}
