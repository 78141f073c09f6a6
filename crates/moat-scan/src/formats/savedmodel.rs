//! TensorFlow SavedModel (`saved_model.pb`): graph and function-library operations that
//! run Python, read or write files, or list the filesystem when the model runs. The
//! checkpoint operations every SavedModel carries (`SaveV2`, `RestoreV2`,
//! `MergeV2Checkpoints`, …) read and write the model's own variables and are not
//! reported.
//!
//! Keras models saved as SavedModels also carry `keras_metadata.pb` (`SavedMetadata`:
//! one node per object, with a JSON config) from which `tf.keras.models.load_model`
//! rebuilds the layers, `Lambda` bytecode included: each node's config is judged as a
//! Keras config.

use std::io::{Read, Seek};

use super::keras;
use super::onnx::{broken, clip};
use super::protobuf::{Field, Span, Value, Wire, WireError};
use crate::finding::{Finding, Rule, Severity};

/// Nodes walked in all before the scan stops.
const MAX_NODES: u64 = 5_000_000;

/// Operations judged, with severity and what they do.
fn judge_op(op: &str) -> Option<(Severity, &'static str)> {
    Some(match op {
        "PyFunc" | "PyFuncStateless" | "EagerPyFunc" => {
            (Severity::Critical, "runs arbitrary Python code")
        }
        "ReadFile" | "WholeFileReader" | "WholeFileReaderV2" | "ImmutableConst" => {
            (Severity::High, "reads any file it is given")
        }
        "WriteFile" => (Severity::High, "writes any file it is given"),
        "MatchingFiles" => (Severity::High, "lists files on the machine"),
        "TextLineReader"
        | "TextLineReaderV2"
        | "FixedLengthRecordReader"
        | "FixedLengthRecordReaderV2"
        | "TFRecordReader"
        | "TFRecordReaderV2"
        | "LMDBReader"
        | "IdentityReader"
        | "IdentityReaderV2" => (Severity::Medium, "reads files"),
        "DatasetToTFRecord"
        | "ExperimentalDatasetToTFRecord"
        | "CreateSummaryFileWriter"
        | "WriteRawProtoSummary"
        | "SaveDataset"
        | "SaveDatasetV2"
        | "SnapshotDataset"
        | "SnapshotDatasetV2" => (Severity::Medium, "writes files"),
        "DebugIdentity"
        | "DebugIdentityV2"
        | "DebugIdentityV3"
        | "DebugNanCount"
        | "DebugNumericSummary" => (Severity::Medium, "can dump tensors to files or URLs"),
        _ => return None,
    })
}

/// Whether the file is a SavedModel: a well-formed message whose `meta_graphs` (field
/// 2) is a message holding a `graph_def` (field 2).
pub(crate) fn sniff<R: Read + Seek>(w: &mut Wire<R>) -> bool {
    let whole = w.whole();
    let (mut pos, mut meta) = (0, None);
    loop {
        match w.next(&mut pos, whole) {
            Ok(Some(Field {
                number: 1,
                value: Value::Varint(v),
                ..
            })) if v > 8 => return false,
            Ok(Some(Field {
                number: 2,
                value: Value::Bytes(s),
                ..
            })) => meta = meta.or(Some(s)),
            Ok(Some(Field { number: 1 | 2, .. })) => {}
            Ok(Some(_)) | Err(_) => return false,
            Ok(None) => break,
        }
    }
    let Some(meta) = meta else { return false };
    let mut pos = meta.start;
    while let Ok(Some(f)) = w.next(&mut pos, meta) {
        if let (2, Value::Bytes(g)) = (f.number, f.value) {
            return w.is_message(g, 1 << 20);
        }
    }
    false
}

struct Walk<'w, R> {
    w: &'w mut Wire<R>,
    findings: Vec<Finding>,
    nodes: u64,
    /// Ops already reported (one finding per op and place).
    reported: Vec<String>,
}

/// Checks a SavedModel.
pub(crate) fn check<R: Read + Seek>(w: &mut Wire<R>) -> Vec<Finding> {
    let whole = w.whole();
    let mut walk = Walk {
        w,
        findings: Vec::new(),
        nodes: 0,
        reported: Vec::new(),
    };
    if let Err(e) = walk.saved_model(whole) {
        walk.findings.push(broken(&e));
    }
    walk.findings
}

impl<R: Read + Seek> Walk<'_, R> {
    fn saved_model(&mut self, m: Span) -> Result<(), WireError> {
        let mut pos = m.start;
        while let Some(f) = self.w.next(&mut pos, m)? {
            if let (2, Value::Bytes(meta)) = (f.number, f.value) {
                let mut p = meta.start;
                while let Some(g) = self.w.next(&mut p, meta)? {
                    if let (2, Value::Bytes(graph)) = (g.number, g.value) {
                        self.graph(graph)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// GraphDef: node = 1, library = 2 (FunctionDefLibrary: function = 1; FunctionDef:
    /// signature = 1 (OpDef name = 1), node_def = 3).
    fn graph(&mut self, g: Span) -> Result<(), WireError> {
        let mut pos = g.start;
        while let Some(f) = self.w.next(&mut pos, g)? {
            match (f.number, f.value) {
                (1, Value::Bytes(n)) => self.node(n, "the graph")?,
                (2, Value::Bytes(lib)) => {
                    let mut p = lib.start;
                    while let Some(func) = self.w.next(&mut p, lib)? {
                        if let (1, Value::Bytes(fd)) = (func.number, func.value) {
                            self.function(fd)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn function(&mut self, fd: Span) -> Result<(), WireError> {
        let mut name = String::new();
        let mut nodes = Vec::new();
        let mut pos = fd.start;
        while let Some(f) = self.w.next(&mut pos, fd)? {
            match (f.number, f.value) {
                (1, Value::Bytes(sig)) => {
                    let mut p = sig.start;
                    while let Some(x) = self.w.next(&mut p, sig)? {
                        if let (1, Value::Bytes(s)) = (x.number, x.value) {
                            name = self.w.string(s)?.unwrap_or_default();
                        }
                    }
                }
                (3, Value::Bytes(n)) => nodes.push(n),
                _ => {}
            }
            if nodes.len() as u64 > MAX_NODES {
                return Err(WireError::Limit(MAX_NODES));
            }
        }
        let place = format!("function `{}`", clip(&name));
        for n in nodes {
            self.node(n, &place)?;
        }
        Ok(())
    }

    /// NodeDef: name = 1, op = 2, attr = 5 (map entry: key = 1, AttrValue value = 2
    /// with s = 2).
    fn node(&mut self, n: Span, place: &str) -> Result<(), WireError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(WireError::Limit(MAX_NODES));
        }
        let (mut name, mut op) = (String::new(), String::new());
        let mut output_stream = None;
        let mut pos = n.start;
        while let Some(f) = self.w.next(&mut pos, n)? {
            match (f.number, f.value) {
                (1, Value::Bytes(s)) => name = self.w.string(s)?.unwrap_or_default(),
                (2, Value::Bytes(s)) => op = self.w.string(s)?.unwrap_or_default(),
                (5, Value::Bytes(entry)) => {
                    if let Some(v) = self.attr_string(entry, "output_stream")? {
                        output_stream = Some(v);
                    }
                }
                _ => {}
            }
        }
        let judged = judge_op(&op)
            .map(|(s, what)| (s, what.to_owned()))
            .or_else(|| {
                // PrintV2 writes wherever `output_stream` says: `file://…` is any file.
                let to_file = op == "PrintV2"
                    && output_stream
                        .as_deref()
                        .is_some_and(|s| s.starts_with("file://"));
                to_file.then(|| {
                    (
                        Severity::High,
                        format!(
                            "writes to `{}`",
                            clip(output_stream.as_deref().unwrap_or_default())
                        ),
                    )
                })
            });
        if let Some((severity, what)) = judged {
            let key = format!("{op}\0{place}");
            if !self.reported.contains(&key) {
                self.reported.push(key);
                self.findings.push(Finding {
                    severity,
                    rule: Rule::DangerousOperator,
                    message: format!(
                        "{place} runs `{}` (node `{}`), which {what} when the model runs",
                        clip(&op),
                        clip(&name)
                    ),
                    offset: n.start,
                });
            }
        }
        Ok(())
    }

    /// The string value of attribute `key` in a map entry, if it is that key.
    fn attr_string(&mut self, entry: Span, key: &str) -> Result<Option<String>, WireError> {
        let (mut k, mut v) = (None, None);
        let mut pos = entry.start;
        while let Some(f) = self.w.next(&mut pos, entry)? {
            match (f.number, f.value) {
                (1, Value::Bytes(s)) => k = self.w.string(s)?,
                (2, Value::Bytes(s)) => v = Some(s),
                _ => {}
            }
        }
        let (Some(k), Some(v)) = (k, v) else {
            return Ok(None);
        };
        if k != key {
            return Ok(None);
        }
        let mut pos = v.start;
        while let Some(f) = self.w.next(&mut pos, v)? {
            if let (2, Value::Bytes(s)) = (f.number, f.value) {
                return self.w.string(s);
            }
        }
        Ok(None)
    }
}

/// Largest node config read from `keras_metadata.pb`.
const MAX_KERAS_METADATA: u64 = 16 << 20;

/// Whether the file is a `keras_metadata.pb`: only `nodes` (field 1) messages, the
/// first with a `_tf_keras…` identifier (field 4).
pub(crate) fn sniff_keras_metadata<R: Read + Seek>(w: &mut Wire<R>) -> bool {
    let whole = w.whole();
    let mut pos = 0;
    let mut first = None;
    loop {
        match w.next(&mut pos, whole) {
            Ok(Some(Field {
                number: 1,
                value: Value::Bytes(s),
                ..
            })) => first = first.or(Some(s)),
            Ok(None) => break,
            _ => return false,
        }
    }
    let Some(node) = first else { return false };
    let mut p = node.start;
    while let Ok(Some(f)) = w.next(&mut p, node) {
        if let (4, Value::Bytes(s)) = (f.number, f.value) {
            return w
                .string(s)
                .ok()
                .flatten()
                .is_some_and(|id| id.starts_with("_tf_keras"));
        }
    }
    false
}

/// Judges every node config of a `keras_metadata.pb` (SavedObject: node_path = 3,
/// metadata = 5).
pub(crate) fn check_keras_metadata<R: Read + Seek>(w: &mut Wire<R>) -> Vec<Finding> {
    let mut out = Vec::new();
    let whole = w.whole();
    let mut pos = 0;
    let result = (|| -> Result<(), WireError> {
        while let Some(f) = w.next(&mut pos, whole)? {
            let Value::Bytes(node) = f.value else {
                continue;
            };
            let (mut path, mut metadata) = (String::new(), None);
            let mut p = node.start;
            while let Some(x) = w.next(&mut p, node)? {
                match (x.number, x.value) {
                    (3, Value::Bytes(s)) => path = w.string(s)?.unwrap_or_default(),
                    (5, Value::Bytes(s)) => metadata = Some(s),
                    _ => {}
                }
            }
            let Some(m) = metadata else { continue };
            match w.bytes_upto(m, MAX_KERAS_METADATA)? {
                Some(json) if !json.is_empty() => {
                    out.extend(keras::check_config(&json).into_iter().map(|mut x| {
                        x.offset = node.start;
                        x.message = format!("{} (node `{}`)", x.message, clip(&path));
                        x
                    }));
                }
                Some(_) => {}
                None => out.push(Finding {
                    severity: Severity::Medium,
                    rule: Rule::ResourceLimit,
                    message: format!(
                        "the config of node `{}` is larger than {MAX_KERAS_METADATA} bytes: not examined",
                        clip(&path)
                    ),
                    offset: node.start,
                }),
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        out.push(broken(&e));
    }
    out
}
