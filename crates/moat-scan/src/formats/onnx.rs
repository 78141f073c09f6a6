//! ONNX models (`ModelProto`): tensors whose external data lives at a location that
//! escapes the model's folder (an absolute path, `..`, a drive or a URL: loaders read,
//! and some tools write, whatever file it names), and operators from domains that no
//! standard runtime provides (loading them means loading native code from elsewhere).
//! Sub-graphs (`If`, `Loop`, `Scan` bodies) and model-local functions are walked too.

use std::io::{Read, Seek};

use super::protobuf::{Field, Span, Value, Wire, WireError};
use crate::finding::{Finding, Rule, Severity};

/// Operator domains that onnxruntime and the reference runtime ship.
const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.mlfeaturizers",
    "com.ms.internal.nhwc",
    "com.microsoft.experimental",
];

/// Sub-graphs nested deeper than this are reported, not walked.
const MAX_DEPTH: usize = 32;
/// Nodes walked in all before the scan stops.
const MAX_NODES: u64 = 5_000_000;

/// Whether the file is an ONNX model: a well-formed message with an `ir_version`
/// (field 1) and a graph (field 7).
pub(crate) fn sniff<R: Read + Seek>(w: &mut Wire<R>) -> bool {
    let whole = w.whole();
    let (mut pos, mut ir, mut graph) = (0, false, false);
    loop {
        match w.next(&mut pos, whole) {
            Ok(Some(Field {
                number: 1,
                value: Value::Varint(v),
                ..
            })) => ir = (1..=64).contains(&v),
            Ok(Some(Field {
                number: 7,
                value: Value::Bytes(_),
                ..
            })) => graph = true,
            Ok(Some(_)) => {}
            Ok(None) => return ir && graph,
            Err(_) => return false,
        }
    }
}

struct Walk<'w, R> {
    w: &'w mut Wire<R>,
    findings: Vec<Finding>,
    nodes: u64,
    /// Custom domains already reported (one finding per domain).
    reported: Vec<String>,
}

/// Checks an ONNX model.
pub(crate) fn check<R: Read + Seek>(w: &mut Wire<R>) -> Vec<Finding> {
    let whole = w.whole();
    let mut walk = Walk {
        w,
        findings: Vec::new(),
        nodes: 0,
        reported: Vec::new(),
    };
    if let Err(e) = walk.model(whole) {
        walk.findings.push(broken(&e));
    }
    walk.findings
}

pub(crate) fn broken(e: &WireError) -> Finding {
    let offset = match e {
        WireError::Malformed(at) => *at,
        WireError::Io(_) => 0,
        WireError::Limit(_) => {
            return Finding {
                severity: Severity::Medium,
                rule: Rule::ResourceLimit,
                message: format!("the graph has {e}: the rest was not examined"),
                offset: 0,
            }
        }
    };
    Finding {
        severity: Severity::Medium,
        rule: Rule::MalformedHeader,
        message: format!(
            "the model stops making sense here ({e}): loaders reject it or misread it"
        ),
        offset,
    }
}

impl<R: Read + Seek> Walk<'_, R> {
    fn model(&mut self, m: Span) -> Result<(), WireError> {
        let mut pos = m.start;
        while let Some(f) = self.w.next(&mut pos, m)? {
            match (f.number, f.value) {
                // opset_import: OperatorSetIdProto { domain = 1 }
                (8, Value::Bytes(s)) => {
                    if let Some(domain) = self.string_field(s, 1)? {
                        self.domain(&domain, None, f.at);
                    }
                }
                (7, Value::Bytes(s)) => self.graph(s, 0)?,
                // functions: FunctionProto { node = 7, opset_import = 9 }
                (25, Value::Bytes(s)) => self.function(s)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn function(&mut self, s: Span) -> Result<(), WireError> {
        let mut pos = s.start;
        while let Some(f) = self.w.next(&mut pos, s)? {
            if let (7, Value::Bytes(n)) = (f.number, f.value) {
                self.node(n, 1)?;
            }
        }
        Ok(())
    }

    fn graph(&mut self, g: Span, depth: usize) -> Result<(), WireError> {
        if depth > MAX_DEPTH {
            self.findings.push(Finding {
                severity: Severity::Medium,
                rule: Rule::ResourceLimit,
                message: format!(
                    "sub-graphs nest deeper than {MAX_DEPTH}: the rest was not examined"
                ),
                offset: g.start,
            });
            return Ok(());
        }
        let mut pos = g.start;
        while let Some(f) = self.w.next(&mut pos, g)? {
            match (f.number, f.value) {
                (1, Value::Bytes(n)) => self.node(n, depth)?,
                // initializer (5) and sparse_initializer (15: values = 1, indices = 2)
                (5, Value::Bytes(t)) => self.tensor(t)?,
                (15, Value::Bytes(st)) => {
                    let mut p = st.start;
                    while let Some(x) = self.w.next(&mut p, st)? {
                        if let (1 | 2, Value::Bytes(t)) = (x.number, x.value) {
                            self.tensor(t)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn node(&mut self, n: Span, depth: usize) -> Result<(), WireError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(WireError::Limit(MAX_NODES));
        }
        let (mut op, mut domain) = (String::new(), String::new());
        let mut pos = n.start;
        while let Some(f) = self.w.next(&mut pos, n)? {
            match (f.number, f.value) {
                (4, Value::Bytes(s)) => op = self.w.string(s)?.unwrap_or_default(),
                (7, Value::Bytes(s)) => domain = self.w.string(s)?.unwrap_or_default(),
                (5, Value::Bytes(a)) => self.attribute(a, depth)?,
                _ => {}
            }
        }
        self.domain(&domain, Some(&op), n.start);
        Ok(())
    }

    /// AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11.
    fn attribute(&mut self, a: Span, depth: usize) -> Result<(), WireError> {
        let mut pos = a.start;
        while let Some(f) = self.w.next(&mut pos, a)? {
            match (f.number, f.value) {
                (5 | 10, Value::Bytes(t)) => self.tensor(t)?,
                (6 | 11, Value::Bytes(g)) => self.graph(g, depth + 1)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// TensorProto: name = 8, external_data = 13 (StringStringEntryProto key = 1,
    /// value = 2).
    fn tensor(&mut self, t: Span) -> Result<(), WireError> {
        let mut pos = t.start;
        let mut name = String::new();
        let mut location = None;
        while let Some(f) = self.w.next(&mut pos, t)? {
            match (f.number, f.value) {
                (8, Value::Bytes(s)) => name = self.w.string(s)?.unwrap_or_default(),
                (13, Value::Bytes(e)) => {
                    let key = self.string_field(e, 1)?;
                    if key.as_deref() == Some("location") {
                        location = self.string_field(e, 2)?.map(|v| (v, f.at));
                    }
                }
                _ => {}
            }
        }
        if let Some((loc, at)) = location {
            if let Some(why) = escapes(&loc) {
                self.findings.push(Finding {
                    severity: Severity::High,
                    rule: Rule::PathTraversal,
                    message: format!(
                        "tensor `{}` keeps its data at `{}` ({why}): loading the model reads a file outside its folder",
                        clip(&name),
                        clip(&loc)
                    ),
                    offset: at,
                });
            }
        }
        Ok(())
    }

    fn domain(&mut self, domain: &str, op: Option<&str>, at: u64) {
        if STANDARD_DOMAINS.contains(&domain) || self.reported.iter().any(|d| d == domain) {
            return;
        }
        self.reported.push(domain.to_owned());
        let what = match op {
            Some(op) => format!("operator `{}` of domain `{}`", clip(op), clip(domain)),
            None => format!("operator domain `{}`", clip(domain)),
        };
        // onnxruntime-extensions runs Python functions registered under this domain.
        let python = domain == "ai.onnx.contrib" && op.is_some_and(|o| o.starts_with("Py"));
        self.findings.push(Finding {
            severity: if python { Severity::High } else { Severity::Medium },
            rule: Rule::CustomOperator,
            message: format!(
                "the model uses {what}, which no standard runtime provides: running it loads native{} code from outside the model",
                if python { " or Python" } else { "" }
            ),
            offset: at,
        });
    }

    /// String field `number` of a small message; the last one, as protobuf parsers
    /// keep the last value of a repeated singular field.
    fn string_field(&mut self, s: Span, number: u64) -> Result<Option<String>, WireError> {
        let mut pos = s.start;
        let mut last = None;
        while let Some(f) = self.w.next(&mut pos, s)? {
            if let (true, Value::Bytes(v)) = (f.number == number, f.value) {
                last = Some(v);
            }
        }
        match last {
            Some(v) => self.w.string(v),
            None => Ok(None),
        }
    }
}

/// At most 120 characters of a name from the file, escaped for one line.
pub(crate) fn clip(s: &str) -> String {
    let t: String = s.chars().take(120).collect();
    t.escape_debug().to_string()
}

/// Why an external-data location leaves the model's folder, if it does.
pub(crate) fn escapes(loc: &str) -> Option<&'static str> {
    let l = loc.replace('\\', "/");
    if l.starts_with('/') {
        return Some("an absolute path");
    }
    let b = l.as_bytes();
    if b.len() >= 2 && b.get(1) == Some(&b':') && b.first().is_some_and(u8::is_ascii_alphabetic) {
        return Some("a path on another drive");
    }
    if l.contains("://") {
        return Some("a URL");
    }
    if l.contains('\0') {
        return Some("a path with a NUL byte");
    }
    if l.split('/').any(|c| c == "..") {
        return Some("a path that climbs out with `..`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_that_escape() {
        assert!(escapes("weights.bin").is_none());
        assert!(escapes("data/weights.bin").is_none());
        assert!(escapes("../../etc/passwd").is_some());
        assert!(escapes("data/../../x").is_some());
        assert!(escapes("/etc/passwd").is_some());
        assert!(escapes("C:\\Windows\\win.ini").is_some());
        assert!(escapes("..\\secret").is_some());
        assert!(escapes("file:///etc/passwd").is_some());
        // A name that merely contains dots stays inside.
        assert!(escapes("w..bin").is_none());
    }
}
