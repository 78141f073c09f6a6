//! Scanning one file: the format is sniffed from the bytes (never the name), then each
//! part that the real loader would unpickle is simulated. Memory is bounded: a raw
//! pickle (or NumPy object array) is streamed through the simulation, whose limits
//! bound it; an archive member is inflated up to [`MAX_MEMBER`], an archive's
//! directory up to 64 MiB; tensor data is never read.

use std::io::{Read, Seek, SeekFrom};

use serde::Serialize;

use crate::finding::{Rule, Severity};
use crate::formats::{
    gguf, hdf5, keras, numpy, onnx, pickle, protobuf, safetensors, savedmodel, tar, zip,
};

/// Largest archive member inflated for scanning.
pub const MAX_MEMBER: u64 = 256 << 20;
/// Members up to this size are read and sniffed whatever their name; larger ones only
/// when the loader would unpickle them (`*.pkl`).
const SNIFF_MEMBER: u64 = 16 << 20;

/// A finding with where it is: `[member @ ]byte N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub severity: Severity,
    pub rule: Rule,
    pub message: String,
    pub location: String,
    /// MITRE ATLAS technique, when one fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technique: Option<&'static str>,
}

/// A global a pickle imports: what loading it would import, and whether it calls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedGlobal {
    /// `module.name`.
    pub global: String,
    pub called: bool,
    /// Where: `[member @ ]byte N` of the first import.
    pub location: String,
}

/// The scan of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// `pickle`, `pytorch-legacy`, `pytorch-zip`, `keras`, `keras-h5`, `hdf5`, `zip`,
    /// `numpy`, `safetensors`, `gguf`, `onnx`, `tensorflow-savedmodel`, `tar`, `unknown`;
    /// containers name what they hold: `gzip+tar`, `zlib+pickle`, `pickle+zip`, …
    pub format: String,
    pub findings: Vec<Located>,
    /// Every global the file's pickles import (at most 1,000 listed).
    pub imports: Vec<ImportedGlobal>,
    /// Set when the file could not be read at all (I/O).
    pub error: Option<String>,
}

/// Globals listed per file.
const MAX_LISTED_IMPORTS: usize = 1000;

fn list_imports(
    report: &mut FileReport,
    p: &pickle::PickleReport,
    member: Option<&str>,
    base: u64,
) {
    for i in &p.imports {
        if report.imports.len() >= MAX_LISTED_IMPORTS {
            return;
        }
        let at = i.offset + base;
        report.imports.push(ImportedGlobal {
            global: format!("{}.{}", i.module, i.name),
            called: i.called,
            location: match member {
                Some(m) => format!("{m} @ byte {at}"),
                None => format!("byte {at}"),
            },
        });
    }
}

fn located(f: &crate::Finding, member: Option<&str>) -> Located {
    Located {
        severity: f.severity,
        rule: f.rule,
        message: f.message.clone(),
        location: match member {
            Some(m) => format!("{m} @ byte {}", f.offset),
            None => format!("byte {}", f.offset),
        },
        technique: f.rule.atlas(),
    }
}

/// A finding about the file or its container (no ATLAS technique).
fn note(severity: Severity, rule: Rule, message: String, location: String) -> Located {
    Located {
        severity,
        rule,
        message,
        location,
        technique: None,
    }
}

fn looks_like_pickle(head: &[u8]) -> bool {
    match head {
        [0x80, 2..=5, ..] => true,
        // Protocol 0/1 pickles open with a mark, a global, an empty container or None.
        [b'(' | b'c' | b']' | b'}' | b')' | b'N', ..] => true,
        _ => false,
    }
}

/// Archives inside archives are followed this deep.
const MAX_NESTING: usize = 3;
/// Most bytes decompressed from one gzip or zlib stream.
const MAX_DECOMPRESSED: u64 = 8 << 30;
/// Most members walked in one tar archive.
const MAX_TAR_MEMBERS: usize = 100_000;

/// Scans one file.
pub fn scan_file<R: Read + Seek>(r: R) -> FileReport {
    scan_nested(r, 0)
}

fn scan_nested<R: Read + Seek>(mut r: R, depth: usize) -> FileReport {
    let mut report = FileReport {
        format: "unknown".into(),
        findings: Vec::new(),
        imports: Vec::new(),
        error: None,
    };
    let len = match r
        .seek(SeekFrom::End(0))
        .and_then(|n| r.seek(SeekFrom::Start(0)).map(|_| n))
    {
        Ok(n) => n,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let mut head = [0u8; 16];
    let n = read_head(&mut r, &mut head);
    let head = head.get(..n).unwrap_or_default();
    let _ = r.seek(SeekFrom::Start(0));
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let zlib = matches!(head, [0x78, b, ..] if (0x78u16 * 256 + u16::from(*b)) % 31 == 0);
    if gzip || zlib {
        report.format = if gzip { "gzip" } else { "zlib" }.into();
        let br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        let stream: Box<dyn Read + '_> = if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(br))
        } else {
            Box::new(flate2::bufread::ZlibDecoder::new(br))
        };
        scan_stream(stream.take(MAX_DECOMPRESSED), gzip, depth, &mut report);
        return report;
    }
    // LZ4 frames (joblib's `compress="lz4"`).
    if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        report.format = "lz4".into();
        let br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        let stream = lz4_flex::frame::FrameDecoder::new(br);
        scan_stream(stream.take(MAX_DECOMPRESSED), true, depth, &mut report);
        return report;
    }
    // joblib's pre-0.10 compressed files: `ZF`, the length in hex padded to 19
    // characters, then zlib.
    if head.starts_with(b"ZF0x") {
        report.format = "joblib-zfile".into();
        let _ = r.seek(SeekFrom::Start(21));
        let br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        let stream = flate2::bufread::ZlibDecoder::new(br);
        scan_stream(stream.take(MAX_DECOMPRESSED), true, depth, &mut report);
        return report;
    }
    if head.starts_with(b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)) {
        report.format = "bzip2".into();
        let br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        let stream = bzip2::bufread::MultiBzDecoder::new(br);
        scan_stream(stream.take(MAX_DECOMPRESSED), true, depth, &mut report);
        return report;
    }
    let xz = head.starts_with(b"\xfd7zXZ\x00");
    if xz || head.starts_with(&[0x5d, 0, 0]) {
        let mut out = Capped(Vec::new());
        let mut br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        let res = if xz {
            lzma_rs::xz_decompress(&mut br, &mut out)
        } else {
            let opts = lzma_rs::decompress::Options {
                memlimit: Some(MAX_MEMBER as usize),
                ..Default::default()
            };
            lzma_rs::lzma_decompress_with_options(&mut br, &mut out, &opts)
        };
        drop(br);
        // `]` then NULs could also begin a (broken) pickle: it is LZMA only if it decodes.
        if xz || !out.0.is_empty() {
            report.format = if xz { "xz" } else { "lzma" }.into();
            if out.0.len() as u64 >= MAX_MEMBER {
                report.findings.push(note(
                    Severity::High,
                    Rule::ResourceLimit,
                    format!("the stream decompresses past {MAX_MEMBER} bytes: a decompression bomb, or a file to extract and scan"),
                    "byte 0".into(),
                ));
            } else if res.is_err() && out.0.is_empty() {
                report.findings.push(note(
                    Severity::Medium,
                    Rule::BrokenPickle,
                    "the compressed stream cannot be read: loaders fail on it".into(),
                    "byte 0".into(),
                ));
                return report;
            }
            scan_stream(std::io::Cursor::new(out.0), true, depth, &mut report);
            return report;
        }
        let _ = r.seek(SeekFrom::Start(0));
    }
    let mut block = [0u8; 512];
    let n = read_head(&mut r, &mut block);
    let _ = r.seek(SeekFrom::Start(0));
    if tar::sniff(block.get(..n).unwrap_or_default()) {
        report.format = "tar".into();
        let br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        scan_tar(br, depth, &mut report);
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        scan_zip(&mut r, len, &mut report);
    } else if head.starts_with(b"\x93NUMPY") {
        report.format = "numpy".into();
        // The header (at most 1 MiB), then the pickle of an object array, streamed.
        let mut head = Vec::new();
        if let Err(e) = zip::read_capped(&mut r, len.min(1 << 20), &mut head) {
            report.error = Some(e.to_string());
            return report;
        }
        match numpy::object_array(&head) {
            Ok(Some(start)) => {
                let _ = r.seek(SeekFrom::Start(start as u64));
                let mut br = std::io::BufReader::with_capacity(1 << 20, &mut r);
                let p = pickle::scan_pickle_reader(&mut br, len.saturating_sub(start as u64));
                // numpy writes the objects as a pickle opening with PROTO; a header that
                // only seemed to name objects is followed by plain data.
                if is_pickle(&p, p.protocol.is_some()) {
                    list_imports(&mut report, &p, None, start as u64);
                    report.findings.extend(p.findings.iter().map(|f| Located {
                        location: format!("(object array) @ byte {}", f.offset + start as u64),
                        ..located(f, None)
                    }));
                }
            }
            _ => scan_npy(&head, None, &mut report),
        }
    } else if head.starts_with(hdf5::SIGNATURE) {
        let (keras_model, findings) = hdf5::check(&mut r, len);
        report.format = if keras_model { "keras-h5" } else { "hdf5" }.into();
        report
            .findings
            .extend(findings.iter().map(|f| located(f, None)));
    } else if head.starts_with(b"GGUF") {
        report.format = "gguf".into();
        let _ = r.seek(SeekFrom::Start(4));
        let mut br = std::io::BufReader::new(&mut r);
        report
            .findings
            .extend(gguf::check(&mut br, len).iter().map(|f| located(f, None)));
    } else if let Some(header_len) = safetensors_header(head, len) {
        report.format = "safetensors".into();
        let mut header = Vec::new();
        let _ = r.seek(SeekFrom::Start(8));
        if let Err(e) = zip::read_capped(&mut r, header_len, &mut header) {
            report.error = Some(e.to_string());
            return report;
        }
        report.findings.extend(
            safetensors::check(len, &header)
                .iter()
                .map(|f| located(f, None)),
        );
    } else if matches!(head.first(), Some(0x08 | 0x0a | 0x12))
        && scan_graph(&mut r, len, &mut report)
    {
        // An ONNX model or a TensorFlow SavedModel.
    } else if looks_like_pickle(head) {
        report.format = if head.starts_with(pickle::LEGACY_TORCH_MAGIC) {
            "pytorch-legacy".into()
        } else {
            "pickle".into()
        };
        // Streamed: memory is bounded by the simulation's limits, whatever the size.
        let mut br = std::io::BufReader::with_capacity(1 << 20, &mut r);
        let p = pickle::scan_pickle_reader(&mut br, len);
        list_imports(&mut report, &p, None, 0);
        report
            .findings
            .extend(p.findings.iter().map(|f| located(f, None)));
    }
    if report.format == "unknown" {
        scan_unrecognised(&mut r, len, &mut report);
    }
    if !matches!(report.format.as_str(), "zip" | "pytorch-zip" | "keras") {
        scan_trailing_zip(&mut r, len, &mut report);
    }
    report
}

/// A file no format claimed. HDF5 finds its superblock after a user block (at 512,
/// 1024, 2048, … bytes); and the unpickler accepts any opcode first, so the file is
/// simulated as a pickle and reported as one when it imports something (random data
/// breaks at once and imports nothing) or when the simulation had to stop early.
fn scan_unrecognised<R: Read + Seek>(r: &mut R, len: u64, report: &mut FileReport) {
    let mut at = 512u64;
    while at + 8 <= len {
        let mut sig = [0u8; 8];
        let found = r.seek(SeekFrom::Start(at)).is_ok()
            && read_head(r, &mut sig) == 8
            && &sig == hdf5::SIGNATURE;
        if found {
            let _ = r.seek(SeekFrom::Start(0));
            let (keras_model, findings) = hdf5::check(&mut *r, len);
            report.format = if keras_model { "keras-h5" } else { "hdf5" }.into();
            report
                .findings
                .extend(findings.iter().map(|f| located(f, None)));
            return;
        }
        at = at.saturating_mul(2);
    }
    let _ = r.seek(SeekFrom::Start(0));
    let mut br = std::io::BufReader::with_capacity(1 << 20, &mut *r);
    let p = pickle::scan_pickle_reader(&mut br, len);
    if is_pickle(&p, false) {
        report.format = "pickle".into();
        report
            .findings
            .extend(p.findings.iter().map(|f| located(f, None)));
        list_imports(report, &p, None, 0);
    }
    let _ = r.seek(SeekFrom::Start(0));
}

/// Whether a simulation found a pickle rather than data: it imported something, it
/// stopped on a limit (the loader would go on), or, when the bytes open like a pickle,
/// it ran to `STOP` or through a few opcodes.
fn is_pickle(p: &pickle::PickleReport, opens_like_one: bool) -> bool {
    // Text read as protocol 0 "imports" whole lines: only Python names count.
    let ident = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    p.imports
        .iter()
        .any(|i| ident(i.module.trim()) && ident(i.name.trim()))
        || p.findings.iter().any(|f| f.rule == Rule::ResourceLimit)
        || (opens_like_one && (p.complete || p.opcodes > 2))
}

/// A file that does not start like a zip but ends like one (a polyglot: a pickle, a
/// tar or anything with an archive appended) is what `zipfile.is_zipfile` and Keras
/// accept: its members are scanned too.
fn scan_trailing_zip<R: Read + Seek>(r: &mut R, len: u64, report: &mut FileReport) {
    if !zip::has_end_record(r, len) {
        return;
    }
    // Four bytes that happen to read `PK 05 06` in tensor data are not an archive.
    if !zip::members(r, len).is_ok_and(|m| !m.is_empty()) {
        return;
    }
    let mut sub = FileReport {
        format: String::new(),
        findings: Vec::new(),
        imports: Vec::new(),
        error: None,
    };
    scan_zip(r, len, &mut sub);
    report.format = format!("{}+{}", report.format, sub.format);
    report.findings.push(note(
        Severity::Medium,
        Rule::MalformedHeader,
        format!("the file is also a zip archive (a polyglot): loaders that look for an archive at its end read other content than those that read it as `{}`", report.format.split('+').next().unwrap_or_default()),
        "end of file".into(),
    ));
    report.findings.extend(sub.findings);
}

/// A writer that keeps at most [`MAX_MEMBER`] bytes, then fails.
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = (MAX_MEMBER as usize).saturating_sub(self.0.len());
        if room == 0 {
            return Err(std::io::Error::other("decompressed output past the cap"));
        }
        let n = buf.len().min(room);
        self.0.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A decompressed stream: a tar archive, a pickle (as `joblib.dump(compress=…)` and
/// `gzip.open` write), or another format held in memory (up to [`MAX_MEMBER`]).
fn scan_stream(mut s: impl Read, strict: bool, depth: usize, report: &mut FileReport) {
    let mut head = Vec::new();
    if let Err(e) = zip::read_capped(&mut s, 512, &mut head) {
        if !strict {
            // Two bytes that merely look like a zlib header: not a stream.
            report.format = "unknown".into();
            return;
        }
        report.findings.push(note(
            Severity::Medium,
            Rule::BrokenPickle,
            format!("the compressed stream cannot be read ({e}): loaders fail on it"),
            "byte 0".into(),
        ));
        return;
    }
    let mut chained = std::io::Cursor::new(head.clone()).chain(s);
    if tar::sniff(&head) {
        report.format.push_str("+tar");
        scan_tar(chained, depth, report);
    } else if looks_like_pickle(&head) {
        report.format.push_str("+pickle");
        let p = pickle::scan_pickle_reader(&mut chained, MAX_DECOMPRESSED);
        list_imports(report, &p, Some("(decompressed)"), 0);
        report.findings.extend(p.findings.iter().map(|f| Located {
            location: format!("(decompressed) @ byte {}", f.offset),
            ..located(f, None)
        }));
    } else {
        let mut data = Vec::new();
        if zip::read_capped(&mut chained, MAX_MEMBER, &mut data).is_ok() {
            nest(data, "(decompressed)", depth, report);
        }
    }
}

/// Scans a member held in memory as a file of its own, its findings placed under
/// `member`.
fn nest(data: Vec<u8>, member: &str, depth: usize, report: &mut FileReport) {
    if depth + 1 > MAX_NESTING {
        report.findings.push(note(
            Severity::Medium,
            Rule::ResourceLimit,
            format!("`{member}` is an archive nested more than {MAX_NESTING} deep: not examined"),
            member.to_owned(),
        ));
        return;
    }
    let inner = scan_nested(std::io::Cursor::new(data), depth + 1);
    if report.format.ends_with(")") || inner.format == "unknown" {
        // Nothing to add to the format.
    } else if !report.format.contains('+') {
        report.format = format!("{}+{}", report.format, inner.format);
    }
    report
        .findings
        .extend(inner.findings.into_iter().map(|f| Located {
            location: format!("{member} > {}", f.location),
            ..f
        }));
    let room = MAX_LISTED_IMPORTS.saturating_sub(report.imports.len());
    report.imports.extend(
        inner
            .imports
            .into_iter()
            .take(room)
            .map(|i| ImportedGlobal {
                location: format!("{member} > {}", i.location),
                ..i
            }),
    );
}

fn scan_tar(mut r: impl Read, depth: usize, report: &mut FileReport) {
    let mut findings = Vec::new();
    let mut imports = Vec::new();
    let result = tar::walk(&mut r, MAX_TAR_MEMBERS, |h, body| {
        let name = h.name.escape_debug().to_string();
        if let Some(why) = onnx::escapes(&h.name) {
            findings.push(note(Severity::Medium, Rule::PathTraversal, format!("the member name `{name}` ({why}) leads outside the archive's folder: extracting it writes elsewhere"), h.name.clone()));
        }
        if matches!(h.kind, b'1' | b'2') {
            if let Some(why) = onnx::escapes(&h.link) {
                findings.push(note(Severity::High, Rule::PathTraversal, format!("`{name}` links to `{}` ({why}): extracting the archive reaches files outside it", h.link.escape_debug()), h.name.clone()));
            }
            return;
        }
        // Folders, devices and FIFOs hold no data; every other type flag, unknown ones
        // included, is extracted as a regular file by tarfile and GNU tar.
        if matches!(h.kind, b'3' | b'4' | b'5' | b'6' | b'g') {
            return;
        }
        if h.size <= MAX_MEMBER {
            let mut data = Vec::new();
            if zip::read_capped(body, h.size, &mut data).is_ok() {
                let mut sub = FileReport {
                    format: String::new(),
                    findings: Vec::new(),
                    imports: Vec::new(),
                    error: None,
                };
                nest(data, &h.name, depth, &mut sub);
                findings.extend(sub.findings);
                imports.extend(sub.imports);
            }
            return;
        }
        let mut head = [0u8; 16];
        let n = read_head(body, &mut head);
        let head = head.get(..n).unwrap_or_default();
        if looks_like_pickle(head) {
            let mut chained = std::io::Cursor::new(head.to_vec()).chain(body);
            let p = pickle::scan_pickle_reader(&mut chained, h.size);
            findings.extend(p.findings.iter().map(|f| located(f, Some(&h.name))));
        } else {
            findings.push(note(Severity::Medium, Rule::ResourceLimit, format!("`{name}` ({} bytes) is too large to examine inside this archive: extract it and scan it", h.size), h.name.clone()));
        }
    });
    report.findings.extend(findings);
    let room = MAX_LISTED_IMPORTS.saturating_sub(report.imports.len());
    report.imports.extend(imports.into_iter().take(room));
    if let Err(why) = result {
        report.findings.push(note(
            Severity::Medium,
            Rule::BrokenPickle,
            format!("the tar archive cannot be read past a point ({why}): extractors stop or misread it"),
            "tar".into(),
        ));
    }
}

/// Scans a protobuf graph format when the file is one; false when it is neither.
fn scan_graph<R: Read + Seek>(r: &mut R, len: u64, report: &mut FileReport) -> bool {
    let mut w = protobuf::Wire::new(&mut *r, len);
    let findings = if onnx::sniff(&mut w) {
        report.format = "onnx".into();
        onnx::check(&mut w)
    } else if savedmodel::sniff(&mut w) {
        report.format = "tensorflow-savedmodel".into();
        savedmodel::check(&mut w)
    } else if savedmodel::sniff_keras_metadata(&mut w) {
        report.format = "keras-metadata".into();
        savedmodel::check_keras_metadata(&mut w)
    } else {
        drop(w);
        let _ = r.seek(SeekFrom::Start(0));
        return false;
    };
    report
        .findings
        .extend(findings.iter().map(|f| located(f, None)));
    true
}

fn read_head<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|b| !b.is_empty()) {
        match r.read(rest) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// A safetensors file: an 8-byte header length that fits the file, then `{`.
fn safetensors_header(head: &[u8], len: u64) -> Option<u64> {
    let n = u64::from_le_bytes(head.get(..8)?.try_into().ok()?);
    ((2..=safetensors::MAX_HEADER).contains(&n) && n + 8 <= len && head.get(8) == Some(&b'{'))
        .then_some(n)
}

fn scan_npy(data: &[u8], member: Option<&str>, report: &mut FileReport) {
    match numpy::object_array(data) {
        Ok(Some(start)) => {
            let p = pickle::scan_pickle(data.get(start..).unwrap_or_default());
            if !is_pickle(&p, p.protocol.is_some()) {
                return;
            }
            list_imports(report, &p, member, start as u64);
            report.findings.extend(p.findings.iter().map(|f| Located {
                location: format!(
                    "{}(object array) @ byte {}",
                    member.map(|m| format!("{m} ")).unwrap_or_default(),
                    f.offset as usize + start
                ),
                ..located(f, member)
            }));
        }
        Ok(None) => {}
        Err(why) => report.findings.push(note(
            Severity::Low,
            Rule::BrokenPickle,
            format!("the .npy header is unreadable: {why}"),
            member.unwrap_or("byte 0").to_owned(),
        )),
    }
}

fn scan_zip<R: Read + Seek>(r: &mut R, len: u64, report: &mut FileReport) {
    report.format = "zip".into();
    let members = match zip::members(r, len) {
        Ok(m) => m,
        Err(why) => {
            // Unreadable to every loader: a finding, not a failure.
            report.findings.push(note(
                Severity::Medium,
                Rule::BrokenPickle,
                format!("the archive cannot be read ({why}); no loader can use it as is"),
                "byte 0".into(),
            ));
            return;
        }
    };
    if members
        .iter()
        .any(|m| m.name.ends_with("/data.pkl") || m.name == "data.pkl")
    {
        report.format = "pytorch-zip".into();
    }
    // Keras v3: config.json at the root (Keras builds the model from it alone, and
    // reads the last copy when the archive lists it twice).
    let markers = members
        .iter()
        .any(|m| m.name == "metadata.json" || m.name.starts_with("model.weights"));
    for cfg in members.iter().filter(|m| m.name == "config.json") {
        match zip::read_member(r, cfg, MAX_MEMBER) {
            Ok((data, _)) => {
                let keras_like = markers || keras::looks_like_config(&data);
                if keras_like {
                    report.format = "keras".into();
                    report
                        .findings
                        .extend(keras::check_config(&data).iter().map(|f| Located {
                            location: "config.json".into(),
                            ..located(f, Some("config.json"))
                        }));
                }
            }
            Err(_) if markers => report.findings.push(note(
                Severity::Medium,
                Rule::BrokenPickle,
                "the Keras config.json cannot be read".into(),
                "config.json".into(),
            )),
            Err(_) => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    for m in &members {
        if !seen.insert(m.name.clone()) {
            report.findings.push(note(
                Severity::Medium,
                Rule::BrokenPickle,
                format!(
                    "the archive lists `{}` twice: loaders disagree on which copy they read",
                    m.name
                ),
                m.name.clone(),
            ));
        }
        if let Some(why) = onnx::escapes(&m.name) {
            report.findings.push(note(
                Severity::Medium,
                Rule::PathTraversal,
                format!(
                    "the member name `{}` ({why}) leads outside the archive's folder: extracting it writes elsewhere",
                    m.name.escape_debug()
                ),
                m.name.clone(),
            ));
        }
        // PyTorch's zip reader matches member names without regard to case.
        let lower = m.name.to_ascii_lowercase();
        let unpickled_by_loader = lower.ends_with(".pkl") || lower.ends_with(".pickle");
        if !(unpickled_by_loader || m.size <= SNIFF_MEMBER || m.name.ends_with(".npy")) {
            continue;
        }
        if m.size > 1000 * m.compressed.max(1) && m.size > SNIFF_MEMBER {
            report.findings.push(note(
                Severity::High,
                Rule::ResourceLimit,
                format!(
                    "`{}` would inflate {} bytes from {}: a zip bomb",
                    m.name, m.size, m.compressed
                ),
                m.name.clone(),
            ));
            continue;
        }
        match zip::read_member(r, m, MAX_MEMBER) {
            Ok((data, renamed)) => {
                if renamed {
                    report.findings.push(note(Severity::Low, Rule::BrokenPickle, format!("the local header of `{}` names another file than the directory: read as the directory says, as PyTorch does", m.name), m.name.clone()));
                }
                if data.starts_with(b"\x93NUMPY") {
                    scan_npy(&data, Some(&m.name), report);
                } else {
                    let p = pickle::scan_pickle(&data);
                    // A member that merely starts like a pickle but is not one is data.
                    let opens = looks_like_pickle(data.get(..2).unwrap_or_default());
                    if unpickled_by_loader || is_pickle(&p, opens) {
                        report.findings.extend(p.findings.iter().map(|f| located(f, Some(&m.name))));
                        list_imports(report, &p, Some(&m.name), 0);
                    }
                }
            }
            Err(zip::MemberError::TooLarge(n)) => report.findings.push(note(Severity::High, Rule::ResourceLimit, format!("`{}` inflates past {MAX_MEMBER} bytes (declared {n}): a zip bomb or an oversized pickle", m.name), m.name.clone())),
            Err(zip::MemberError::Unsupported(method)) => report.findings.push(note(Severity::Low, Rule::BrokenPickle, format!("`{}` uses compression method {method}, which loaders do not read", m.name), m.name.clone())),
            Err(zip::MemberError::Broken(why)) => report.findings.push(note(Severity::Medium, Rule::BrokenPickle, format!("`{}` cannot be read: {why}", m.name), m.name.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = scan_file(Cursor::new(&bytes));
            let mut z = b"PK\x03\x04".to_vec();
            z.extend_from_slice(&bytes);
            z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0\x30\0\0\0\0\0\0\0\0\0");
            let _ = scan_file(Cursor::new(&z));
        }
    }

    #[test]
    fn hostile_archives_are_findings() {
        // An end record pointing its directory past the end of the file.
        let mut z = b"PK\x03\x04".to_vec();
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\x7f\0\0\0\0\0\0");
        let r = scan_file(Cursor::new(&z));
        assert_eq!(r.format, "zip");
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.contains("cannot be read")),
            "{:?}",
            r.findings
        );
        // A deflate bomb: 300 MiB of zeros in a member named like a pickle.
        use std::io::Write as _;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            enc.write_all(&zeros).unwrap();
        }
        let deflated = enc.finish().unwrap();
        let name = b"bomb/data.pkl";
        let mut f = Vec::new();
        f.extend_from_slice(b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0");
        f.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        f.extend_from_slice(&(300u32 << 20).to_le_bytes());
        f.extend_from_slice(&(name.len() as u16).to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes());
        f.extend_from_slice(name);
        f.extend_from_slice(&deflated);
        let cd_at = f.len() as u32;
        f.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0");
        f.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        f.extend_from_slice(&(300u32 << 20).to_le_bytes());
        f.extend_from_slice(&(name.len() as u16).to_le_bytes());
        f.extend_from_slice(&[0u8; 12]);
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(name);
        let cd_len = f.len() as u32 - cd_at;
        f.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        f.extend_from_slice(&cd_len.to_le_bytes());
        f.extend_from_slice(&cd_at.to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes());
        let r = scan_file(Cursor::new(&f));
        assert!(
            r.findings
                .iter()
                .any(|x| x.rule == Rule::ResourceLimit && x.message.contains("zip bomb")),
            "{:?}",
            r.findings
        );
    }
}
