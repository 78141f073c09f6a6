//! The pickle machine, simulated: every opcode of protocols 0 to 5 is decoded and its
//! effect on the stack and memo is modelled, but nothing is imported or called. What
//! the pickle imports (`GLOBAL`, `STACK_GLOBAL`, `INST`, extension codes) and calls
//! (`REDUCE`, `OBJ`, `INST`, `NEWOBJ`, `NEWOBJ_EX`) is recorded and judged, including
//! names built on the stack or fetched from the memo, attributes reached through
//! `getattr`, and bytes handed to another deserialiser (a nested pickle, scanned too).
//!
//! Only what the analysis needs is materialised: short strings (names), byte strings
//! up to a cap (nested pickles), small tuples (call arguments); every other value is a
//! placeholder. Memory is bounded by [`Limits`], not by the file: an opcode-dense
//! pickle of a million integers costs a few bytes of stack.
//!
//! A truncated or malformed pickle is analysed up to the break (payloads run before
//! the loader fails) and the break is reported. After `STOP`, a following pickle (as in
//! legacy PyTorch files) is scanned too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

use crate::checks::globals::{judge, Judgement};
use crate::finding::{Finding, Rule, Severity};

/// Resource bounds of one simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Values on the stack (a placeholder is 24 bytes).
    pub max_stack: usize,
    /// Memo entries.
    pub max_memo: usize,
    /// Distinct globals recorded.
    pub max_imports: usize,
    /// Longest string kept as a name or argument; longer ones become placeholders.
    pub max_string: usize,
    /// Largest byte string kept (a candidate nested pickle).
    pub max_bytes: usize,
    /// Total bytes kept across all kept byte strings.
    pub max_kept: usize,
    /// Nesting of pickles inside pickles.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stack: 1 << 20,
            max_memo: 1 << 20,
            max_imports: 10_000,
            max_string: 4096,
            max_bytes: 16 << 20,
            max_kept: 64 << 20,
            max_depth: 8,
        }
    }
}

/// A global the pickle imports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// Offset of the first opcode that imported it.
    pub offset: u64,
    /// Whether the pickle also calls it.
    pub called: bool,
    /// How many times it is imported.
    pub count: u64,
}

/// What the simulation found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PickleReport {
    pub protocol: Option<u8>,
    pub opcodes: u64,
    /// Every global imported, in order of first appearance.
    pub imports: Vec<Import>,
    pub findings: Vec<Finding>,
    /// Whether the pickle ended with `STOP` (and nothing was cut off).
    pub complete: bool,
}

#[derive(Debug, Clone)]
enum V {
    Mark,
    Other,
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    /// A global, by index into the imports.
    Global(usize),
    /// The result of calling a global, with its first string argument (for
    /// `__import__("os")` and `import_module("os")`).
    Called(Option<Rc<str>>),
    Tuple(Rc<[V]>),
    /// A small integer (array shapes, alignment).
    Int(i64),
    /// A dict's first entries whose keys are strings and whose values are not dicts
    /// (the state of joblib's array wrappers); shared, as Python shares it, through the
    /// memo.
    Dict(Entries),
    /// A list's first items that are not containers (array shapes given as lists).
    List(Rc<RefCell<Vec<V>>>),
    /// A `joblib.numpy_pickle.NumpyArrayWrapper`: its `BUILD` is followed by the
    /// array's raw bytes (or, for object arrays, a pickle of its own) in the stream.
    ArrayWrapper,
}

/// The kept entries of a dict.
type Entries = Rc<RefCell<Vec<(Rc<str>, V)>>>;

/// An integer as Python's `int()` reads it: surrounding spaces, a sign, and
/// underscores between digits.
fn python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let v: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Python's `codecs.escape_decode`, as protocol 0 `STRING` arguments are read.
fn escape_decode(t: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while let Some(&c) = t.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = t.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'x' => {
                let h = t.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match t.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// Python's `raw-unicode-escape` decoding of protocol 0 `UNICODE` arguments: only
/// `\uXXXX` and `\UXXXXXXXX` are escapes.
fn raw_unicode_escape_decode(t: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(t);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let n = match chars.peek() {
                Some('u') => 4,
                Some('U') => 8,
                _ => 0,
            };
            if n > 0 {
                let rest: String = chars.clone().skip(1).take(n).collect();
                if let Some(ch) = (rest.len() == n)
                    .then(|| u32::from_str_radix(&rest, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                {
                    out.push(ch);
                    for _ in 0..=n {
                        chars.next();
                    }
                    continue;
                }
            }
        }
        out.push(c);
    }
    out.into_bytes()
}

/// Builtin types whose plain methods `getattr` may fetch (how `str.lower` pickles).
const BUILTIN_TYPES: &[&str] = &[
    "str",
    "bytes",
    "bytearray",
    "dict",
    "list",
    "set",
    "frozenset",
    "tuple",
    "int",
    "float",
    "complex",
    "bool",
];

/// Entries kept per dict.
const DICT_ENTRIES: usize = 64;

/// Why the simulation stopped early.
enum Stop {
    Broken(&'static str),
    Limit(&'static str),
}

/// The bytes of a pickle, read through a window: memory holds at most the longest
/// value the analysis keeps, never the file.
struct Input<'a> {
    src: &'a mut dyn Read,
    buf: Vec<u8>,
    /// Read position in `buf`, and how far `buf` is filled.
    at: usize,
    end: usize,
    /// Absolute position of `buf[0]`.
    origin: u64,
    /// Length of the input.
    total: u64,
}

/// Bytes read from the source at a time.
const WINDOW: usize = 256 << 10;

impl<'a> Input<'a> {
    fn new(src: &'a mut dyn Read, total: u64) -> Self {
        Input {
            src,
            buf: Vec::new(),
            at: 0,
            end: 0,
            origin: 0,
            total,
        }
    }

    fn pos(&self) -> u64 {
        self.origin + self.at as u64
    }

    fn remaining(&self) -> u64 {
        self.total.saturating_sub(self.pos())
    }

    /// Makes at least `need` bytes available after the read position, if the input
    /// has them; returns how many are.
    fn fill(&mut self, need: usize) -> Result<usize, Stop> {
        if self.end - self.at >= need {
            return Ok(self.end - self.at);
        }
        if self.at > 0 {
            self.buf.copy_within(self.at..self.end, 0);
            self.origin += self.at as u64;
            self.end -= self.at;
            self.at = 0;
        }
        let want = need.max(WINDOW);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < need {
            let room = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.src.read(room) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Stop::Broken("the file cannot be read")),
            }
        }
        Ok(self.end - self.at)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Stop> {
        if self.fill(n)? < n {
            return Err(Stop::Broken("truncated: a length runs past the end"));
        }
        let s = self
            .buf
            .get(self.at..self.at + n)
            .ok_or(Stop::Broken("truncated"))?;
        self.at += n;
        Ok(s)
    }

    /// Passes over `n` bytes without keeping them.
    fn skip(&mut self, n: u64) -> Result<(), Stop> {
        let buffered = (self.end - self.at) as u64;
        if n <= buffered {
            self.at += usize::try_from(n).unwrap_or(0);
            return Ok(());
        }
        let rest = n - buffered;
        self.origin += self.end as u64;
        self.at = 0;
        self.end = 0;
        let copied = std::io::copy(&mut (&mut self.src).take(rest), &mut std::io::sink())
            .map_err(|_| Stop::Broken("the file cannot be read"))?;
        self.origin += copied;
        if copied < rest {
            return Err(Stop::Broken("truncated: a length runs past the end"));
        }
        Ok(())
    }

    fn peek(&mut self) -> Option<u8> {
        self.fill(1).ok()?;
        self.buf
            .get(self.at)
            .copied()
            .filter(|_| self.end > self.at)
    }

    /// A text argument up to its end of line, at most `max` bytes long.
    fn line(&mut self, max: usize) -> Result<&[u8], Stop> {
        let mut searched = 0;
        loop {
            let avail = self.end - self.at;
            let window = self
                .buf
                .get(self.at + searched..self.end)
                .unwrap_or_default();
            if let Some(i) = window.iter().position(|&b| b == b'\n') {
                let n = searched + i;
                let s = self
                    .buf
                    .get(self.at..self.at + n)
                    .ok_or(Stop::Broken("truncated"))?;
                self.at += n + 1;
                return Ok(s);
            }
            searched = avail;
            if avail > max {
                return Err(Stop::Limit(
                    "a text argument is longer than the scanner keeps",
                ));
            }
            if self.fill(avail + WINDOW)? == avail {
                return Err(Stop::Broken(
                    "truncated: a text argument has no end of line",
                ));
            }
        }
    }
}

struct Machine<'a> {
    input: Input<'a>,
    /// `builtins.getattr` was imported: whether every call so far only fetched a
    /// method of a builtin type (`getattr(str, "lower")`, how methods are pickled), and
    /// where it was imported. Judged when it is used, or at the end.
    getattr: Option<(bool, u64)>,
    getattr_reported: bool,
    base: u64,
    limits: Limits,
    depth: usize,
    stack: Vec<V>,
    memo: HashMap<u64, V>,
    index: HashMap<(String, String), usize>,
    kept: usize,
    report: PickleReport,
}

/// Simulates `data` as a pickle with the default [`Limits`].
pub fn scan_pickle(data: &[u8]) -> PickleReport {
    scan_with(data, Limits::default(), 0, 0)
}

/// Simulates the `len` bytes `r` yields as a pickle with the default [`Limits`],
/// streaming: memory is bounded by the limits, not by `len`.
pub fn scan_pickle_reader(r: &mut dyn Read, len: u64) -> PickleReport {
    scan_stream(r, len, Limits::default(), 0, 0)
}

/// The first pickle of a legacy PyTorch file: the magic number `0x1950a86a20f9469cfc6c`.
pub(crate) const LEGACY_TORCH_MAGIC: &[u8] =
    b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";

pub(crate) fn scan_with(data: &[u8], limits: Limits, depth: usize, base: u64) -> PickleReport {
    let mut r = data;
    scan_stream(&mut r, data.len() as u64, limits, depth, base)
}

fn scan_stream(
    r: &mut dyn Read,
    len: u64,
    limits: Limits,
    depth: usize,
    base: u64,
) -> PickleReport {
    let mut m = Machine {
        input: Input::new(r, len),
        getattr: None,
        getattr_reported: false,
        base,
        limits,
        depth,
        stack: Vec::new(),
        memo: HashMap::new(),
        index: HashMap::new(),
        kept: 0,
        report: PickleReport::default(),
    };
    // A legacy (pre-zip) PyTorch file holds five pickles (magic number, protocol,
    // system info, the object, the storage keys) and then raw storage bytes.
    let legacy = m
        .input
        .fill(LEGACY_TORCH_MAGIC.len())
        .is_ok_and(|_| m.input.buf.starts_with(LEGACY_TORCH_MAGIC));
    let mut pickles = 0;
    loop {
        match m.run() {
            Ok(()) => {
                m.report.complete = true;
                pickles += 1;
                // Another pickle may follow (legacy PyTorch files hold several).
                if m.input.peek() == Some(0x80)
                    && m.input.remaining() > 2
                    && !(legacy && pickles >= 5)
                {
                    m.stack.clear();
                    m.memo.clear();
                    continue;
                }
                break;
            }
            Err(Stop::Broken(why)) => {
                m.report.complete = false;
                let offset = m.base + m.input.pos();
                m.finding(
                    Severity::Medium,
                    Rule::BrokenPickle,
                    format!("the pickle is broken at byte {offset} ({why}); everything before the break runs when it is loaded"),
                    offset,
                );
                break;
            }
            Err(Stop::Limit(why)) => {
                m.report.complete = false;
                let offset = m.base + m.input.pos();
                // The loader goes on where the scanner stopped: fail closed.
                m.finding(
                    Severity::High,
                    Rule::ResourceLimit,
                    format!("analysis stopped at byte {offset}: {why}; the rest of the pickle was not examined"),
                    offset,
                );
                break;
            }
        }
    }
    if let Some((_, offset)) = m.getattr.filter(|(safe_only, _)| !*safe_only) {
        m.getattr_finding(offset);
    }
    m.report
}

impl Machine<'_> {
    /// The finding for `builtins.getattr`, once: it reaches any attribute of anything.
    fn getattr_finding(&mut self, offset: u64) {
        if self.getattr_reported {
            return;
        }
        self.getattr_reported = true;
        if let Judgement::Dangerous(sev, why) = judge("builtins", "getattr") {
            self.finding(
                sev,
                Rule::DangerousGlobal,
                format!("imports `builtins.getattr`, which {why}: loading this file can run code"),
                offset,
            );
        }
    }

    fn finding(&mut self, severity: Severity, rule: Rule, message: String, offset: u64) {
        self.report.findings.push(Finding {
            severity,
            rule,
            message,
            offset,
        });
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Stop> {
        self.input.take(n)
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        Ok(*self.take(1)?.first().ok_or(Stop::Broken("truncated"))?)
    }

    fn le(&mut self, n: usize) -> Result<u64, Stop> {
        let b = self.take(n)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    }

    fn len(&mut self, n: usize) -> Result<usize, Stop> {
        let v = self.le(n)?;
        let v = usize::try_from(v).map_err(|_| Stop::Broken("a length does not fit in memory"))?;
        if v as u64 > self.input.remaining() {
            return Err(Stop::Broken(
                "truncated: a declared length runs past the end",
            ));
        }
        Ok(v)
    }

    fn line(&mut self) -> Result<&[u8], Stop> {
        self.input.line(self.limits.max_bytes)
    }

    fn push(&mut self, v: V) -> Result<(), Stop> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(Stop::Limit("the stack grew past its limit"));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Result<V, Stop> {
        self.stack.pop().ok_or(Stop::Broken("stack underflow"))
    }

    fn top(&self) -> Result<&V, Stop> {
        self.stack.last().ok_or(Stop::Broken("stack underflow"))
    }

    /// Pops everything down to the topmost mark (and the mark).
    fn pop_mark(&mut self) -> Result<Vec<V>, Stop> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, V::Mark))
            .ok_or(Stop::Broken("no mark on the stack"))?;
        let items = self.stack.split_off(at);
        Ok(items.into_iter().skip(1).collect())
    }

    fn string(&self, b: &[u8]) -> V {
        if b.len() > self.limits.max_string {
            return V::Other;
        }
        V::Str(Rc::from(String::from_utf8_lossy(b).as_ref()))
    }

    fn bytes(&mut self, b: &[u8]) -> V {
        if b.len() > self.limits.max_bytes || self.kept + b.len() > self.limits.max_kept {
            return V::Other;
        }
        self.kept += b.len();
        V::Bytes(Rc::from(b))
    }

    /// The arguments of a call: the items of a tuple, or the one value given.
    fn call_args(args: V) -> Vec<V> {
        match args {
            V::Tuple(t) => t.to_vec(),
            other => vec![other],
        }
    }

    fn tuple(items: Vec<V>) -> V {
        if items.len() > 16 {
            return V::Other;
        }
        V::Tuple(Rc::from(items))
    }

    fn import(&mut self, module: &str, name: &str, offset: u64) -> Result<usize, Stop> {
        let key = (module.to_owned(), name.to_owned());
        if let Some(&i) = self.index.get(&key) {
            if let Some(imp) = self.report.imports.get_mut(i) {
                imp.count += 1;
            }
            return Ok(i);
        }
        if self.report.imports.len() >= self.limits.max_imports {
            return Err(Stop::Limit("too many distinct globals"));
        }
        let i = self.report.imports.len();
        self.report.imports.push(Import {
            module: module.to_owned(),
            name: name.to_owned(),
            offset,
            called: false,
            count: 1,
        });
        self.index.insert(key, i);
        // Named as Python 3 knows it (`__builtin__` is `builtins`), as the loader maps it.
        let what = format!(
            "{}.{name}",
            crate::checks::globals::canonical_module(module)
        );
        let builtin = crate::checks::globals::canonical_module(module.trim()) == "builtins";
        if builtin && name.trim() == "getattr" {
            self.getattr.get_or_insert((true, offset));
            return Ok(i);
        }
        match judge(module, name) {
            Judgement::Safe => {}
            Judgement::Dangerous(sev, why) => self.finding(
                sev,
                Rule::DangerousGlobal,
                format!("imports `{what}`, which {why}: loading this file can run code"),
                offset,
            ),
            Judgement::Deserializer(sev, why) => self.finding(
                sev,
                Rule::DangerousGlobal,
                format!("imports `{what}`, which {why}"),
                offset,
            ),
            Judgement::Unknown => self.finding(
                Severity::Medium,
                Rule::UnknownGlobal,
                format!("imports `{what}`, which is on neither the safe nor the dangerous list: review it"),
                offset,
            ),
        }
        Ok(i)
    }

    /// Records a call of `callee` with `args`; returns the value it leaves.
    fn call(&mut self, callee: V, args: &[V], offset: u64) -> Result<V, Stop> {
        let i = match callee {
            V::Global(i) => i,
            // Calling the result of a call (`getattr(...)(...)`) or anything else: the
            // dangerous part was judged where the callable came from.
            _ => return Ok(V::Other),
        };
        let (module, name) = match self.report.imports.get_mut(i) {
            Some(imp) => {
                imp.called = true;
                (imp.module.clone(), imp.name.clone())
            }
            None => return Ok(V::Other),
        };
        let first_str = args.iter().find_map(|a| match a {
            V::Str(s) => Some(s.clone()),
            _ => None,
        });
        let judgement = judge(&module, &name);
        // getattr(obj, "name"): the attribute reached is a global of its own.
        let builtin = matches!(module.trim(), "builtins" | "__builtin__");
        if builtin && name.trim() == "getattr" {
            let safe = match (args.first(), args.get(1)) {
                (Some(V::Global(g)), Some(V::Str(attr))) => {
                    let ty = self.report.imports.get(*g).map(|o| {
                        (
                            crate::checks::globals::canonical_module(o.module.trim()).to_owned(),
                            o.name.clone(),
                        )
                    });
                    matches!(ty, Some((m, n)) if m == "builtins" && BUILTIN_TYPES.contains(&n.as_str()))
                        && !attr.starts_with('_')
                        && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                }
                _ => false,
            };
            if safe {
                return Ok(V::Other);
            }
            if let Some((safe_only, at)) = self.getattr {
                self.getattr = Some((false, at));
                if safe_only {
                    self.getattr_finding(at);
                }
            }
        }
        if let (true, "getattr", Some(obj), Some(V::Str(attr))) =
            (builtin, name.as_str(), args.first(), args.get(1))
        {
            let path = match obj {
                V::Global(g) => self
                    .report
                    .imports
                    .get(*g)
                    .map(|o| format!("{}.{}", o.module, o.name)),
                V::Called(Some(m)) => Some(m.to_string()),
                _ => None,
            };
            if let Some(path) = path {
                let attr = attr.clone();
                let g = self.import(&path, &attr, offset)?;
                return Ok(V::Global(g));
            }
        }
        if let Judgement::Deserializer(..) = judgement {
            for a in args.iter().chain(
                args.iter()
                    .flat_map(|a| match a {
                        V::Tuple(t) => t.to_vec(),
                        _ => Vec::new(),
                    })
                    .collect::<Vec<_>>()
                    .iter(),
            ) {
                if let V::Bytes(b) = a {
                    self.nested(&format!("{module}.{name}"), b.clone(), offset)?;
                }
            }
        }
        Ok(V::Called(first_str))
    }

    fn nested(&mut self, via: &str, bytes: Rc<[u8]>, offset: u64) -> Result<(), Stop> {
        if self.depth + 1 > self.limits.max_depth {
            return Err(Stop::Limit("pickles nested too deep"));
        }
        let inner = scan_with(&bytes, self.limits, self.depth + 1, offset);
        let worst = inner.findings.iter().map(|f| f.severity).max();
        self.finding(
            worst.map_or(Severity::High, |w| w.max(Severity::High)),
            Rule::NestedPickle,
            format!(
                "passes {} bytes to `{via}`, which loads them as another pickle ({} findings inside)",
                bytes.len(),
                inner.findings.len()
            ),
            offset,
        );
        for f in inner.findings {
            self.report.findings.push(Finding {
                message: format!("in the nested pickle: {}", f.message),
                ..f
            });
        }
        for imp in inner.imports {
            self.report.imports.push(imp);
        }
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), Stop> {
        let v = self
            .memo
            .get(&key)
            .cloned()
            .ok_or(Stop::Broken("memo key not found"))?;
        self.push(v)
    }

    fn memo_put(&mut self, key: u64) -> Result<(), Stop> {
        let v = self.top()?.clone();
        if self.memo.len() >= self.limits.max_memo && !self.memo.contains_key(&key) {
            return Err(Stop::Limit("the memo grew past its limit"));
        }
        self.memo.insert(key, v);
        Ok(())
    }

    /// Adds key/value pairs (flat) to a kept dict.
    fn set_items(target: &V, items: Vec<V>) {
        let V::Dict(d) = target else { return };
        let mut d = d.borrow_mut();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            if d.len() >= DICT_ENTRIES {
                break;
            }
            if let V::Str(k) = k {
                // No dict inside a kept dict: no reference cycles.
                // A list may be a dict's value (its items are scalars, see `append`).
                let v = match v {
                    V::List(l) => V::List(l),
                    v => Self::acyclic(v),
                };
                d.push((k, v));
            }
        }
    }

    /// What a kept container may hold: scalars, and tuples of scalars (a shape). No
    /// container that could lead back to itself: no reference cycles.
    fn acyclic(v: V) -> V {
        let scalar = |v: &V| {
            matches!(
                v,
                V::Int(_) | V::Str(_) | V::Other | V::Called(_) | V::Global(_)
            )
        };
        match v {
            V::Tuple(t) if t.iter().all(scalar) => V::Tuple(t),
            v if scalar(&v) => v,
            _ => V::Other,
        }
    }

    /// Appends items to a kept list (no containers inside: no reference cycles).
    fn append(target: &V, items: Vec<V>) {
        let V::List(l) = target else { return };
        let mut l = l.borrow_mut();
        for v in items {
            if l.len() >= DICT_ENTRIES {
                break;
            }
            l.push(Self::acyclic(v));
        }
    }

    fn is_array_wrapper(&self, cls: &V) -> bool {
        let V::Global(i) = cls else { return false };
        self.report.imports.get(*i).is_some_and(|g| {
            g.name == "NumpyArrayWrapper" && g.module.ends_with("joblib.numpy_pickle")
        })
    }

    /// What joblib's unpickler reads right after building an array wrapper: an
    /// alignment byte and padding (joblib 1.2 and later), then the array's bytes; or,
    /// for an object array, a pickle of its own, which is simulated here.
    fn joblib_array(&mut self, state: &V) -> Result<(), Stop> {
        let V::Dict(d) = state else {
            return Err(Stop::Broken("a joblib array without its description"));
        };
        let (shape, descr, aligned) = {
            let d = d.borrow();
            let get = |k: &str| d.iter().find(|(n, _)| &**n == k).map(|(_, v)| v.clone());
            (
                get("shape"),
                get("dtype"),
                get("numpy_array_alignment_bytes"),
            )
        };
        let Some(V::Called(Some(descr))) = descr else {
            return Err(Stop::Broken("a joblib array whose dtype cannot be read"));
        };
        // A structured dtype (`V…`) may hold an object field: joblib then writes a pickle
        // (protocol 5, opening with PROTO) where plain data would begin with the
        // alignment byte (1 to 16) or raw values.
        let inline_pickle = descr.starts_with('V')
            && self.input.fill(2).is_ok_and(|n| n >= 2)
            && self.input.buf.get(self.input.at) == Some(&0x80)
            && self
                .input
                .buf
                .get(self.input.at + 1)
                .is_some_and(|p| (2..=5).contains(p));
        if descr.starts_with('O') || inline_pickle {
            // A pickle inside the pickle, with a stack and memo of its own.
            let stack = std::mem::take(&mut self.stack);
            let memo = std::mem::take(&mut self.memo);
            let r = self.run();
            self.stack = stack;
            self.memo = memo;
            return r;
        }
        // `f8`, `i4`, `S3`, `V16`, `M8`: the number is bytes; `U5`: characters of 4 bytes.
        let n: u64 = descr
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .map_err(|_| Stop::Broken("a joblib array of an unknown dtype"))?;
        let itemsize = if descr.starts_with('U') { n * 4 } else { n };
        let dims: Option<Vec<V>> = match shape {
            Some(V::Tuple(dims)) => Some(dims.to_vec()),
            Some(V::List(items)) => Some(items.borrow().clone()),
            _ => None,
        };
        let count = dims
            .and_then(|dims| {
                dims.iter().try_fold(1u64, |acc, d| match d {
                    V::Int(n) if *n >= 0 => acc.checked_mul(*n as u64),
                    _ => None,
                })
            })
            .ok_or(Stop::Broken("a joblib array whose shape cannot be read"))?;
        if matches!(aligned, Some(V::Int(_))) {
            let pad = self.u8()?;
            self.input.skip(u64::from(pad))?;
        }
        let n = count
            .checked_mul(itemsize)
            .filter(|n| *n <= self.input.remaining())
            .ok_or(Stop::Broken("a joblib array runs past the end"))?;
        self.input.skip(n)
    }

    fn text_int(line: &[u8]) -> Result<u64, Stop> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| python_int(s).and_then(|v| u64::try_from(v).ok()))
            .ok_or(Stop::Broken("a memo key is not a number"))
    }

    /// Runs opcodes up to `STOP`.
    fn run(&mut self) -> Result<(), Stop> {
        loop {
            let offset = self.base + self.input.pos();
            let op = self.u8()?;
            self.report.opcodes += 1;
            match op {
                b'.' => return Ok(()),
                b'(' => self.push(V::Mark)?,
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                // Numbers, None, booleans: placeholders.
                b'F' | b'I' | b'L' => {
                    let line = self.line()?;
                    let v = if op == b'F' {
                        V::Other
                    } else {
                        std::str::from_utf8(line)
                            .ok()
                            .map(|t| t.trim().trim_end_matches('L'))
                            .and_then(python_int)
                            .map_or(V::Other, V::Int)
                    };
                    self.push(v)?;
                }
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.push(V::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.le(1)?;
                    self.push(V::Int(v as i64))?;
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.push(V::Int(v as i64))?;
                }
                b'G' => {
                    self.take(8)?;
                    self.push(V::Other)?;
                }
                0x8a => {
                    let n = self.len(1)?;
                    let b = self.take(n)?;
                    let v = if n <= 8 {
                        let mut x = b
                            .iter()
                            .rev()
                            .fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
                        // Sign-extend from the top bit of the last byte.
                        if n > 0 && n < 8 && b.last().is_some_and(|l| l & 0x80 != 0) {
                            x |= u64::MAX << (8 * n);
                        }
                        V::Int(x as i64)
                    } else {
                        V::Other
                    };
                    self.push(v)?;
                }
                0x8b => {
                    let n = self.len(4)?;
                    self.input.skip(n as u64)?;
                    self.push(V::Other)?;
                }
                b'N' | 0x88 | 0x89 => self.push(V::Other)?,
                // Persistent ids (torch storages): the loader's hook decides; a value.
                b'P' => {
                    self.line()?;
                    self.push(V::Other)?;
                }
                b'Q' => {
                    self.pop()?;
                    self.push(V::Other)?;
                }
                // Strings.
                b'S' | b'V' => {
                    let raw = self.line()?.to_vec();
                    let text = if op == b'S' {
                        let t = raw.as_slice();
                        let t = t
                            .strip_prefix(b"'")
                            .and_then(|t| t.strip_suffix(b"'"))
                            .or_else(|| t.strip_prefix(b"\"").and_then(|t| t.strip_suffix(b"\"")));
                        escape_decode(t.ok_or(Stop::Broken("a STRING argument is not quoted"))?)
                    } else {
                        raw_unicode_escape_decode(&raw)
                    };
                    let v = self.string(&text);
                    self.push(v)?;
                }
                b'T' | b'X' | 0x8d | b'U' | 0x8c => {
                    let n = match op {
                        b'T' | b'X' => self.len(4)?,
                        0x8d => self.len(8)?,
                        _ => self.len(1)?,
                    };
                    if n > self.limits.max_bytes.max(self.limits.max_string) {
                        self.input.skip(n as u64)?;
                        self.push(V::Other)?;
                        continue;
                    }
                    let s = self.take(n)?.to_vec();
                    // Protocol 0-2 byte strings (T, U) are str in Python 2, bytes when
                    // loaded with encoding="bytes": keep them both ways.
                    let v = if matches!(op, b'T' | b'U') && n > self.limits.max_string {
                        self.bytes(&s)
                    } else {
                        self.string(&s)
                    };
                    self.push(v)?;
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => self.len(4)?,
                        b'C' => self.len(1)?,
                        _ => self.len(8)?,
                    };
                    if n > self.limits.max_bytes {
                        self.input.skip(n as u64)?;
                        self.push(V::Other)?;
                        continue;
                    }
                    let s = self.take(n)?.to_vec();
                    let v = self.bytes(&s);
                    self.push(v)?;
                }
                0x97 | 0x98 => {
                    if op == 0x97 {
                        self.push(V::Other)?;
                    } else {
                        self.top()?;
                    }
                }
                // Containers.
                b'}' => self.push(V::Dict(Rc::default()))?,
                b']' => self.push(V::List(Rc::default()))?,
                0x8f => self.push(V::Other)?,
                b')' => self.push(V::Tuple(Rc::from(Vec::new())))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    let d = V::Dict(Rc::default());
                    Self::set_items(&d, items);
                    self.push(d)?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let l = V::List(Rc::default());
                    Self::append(&l, items);
                    self.push(l)?;
                }
                0x91 => {
                    self.pop_mark()?;
                    self.push(V::Other)?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Self::tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err(Stop::Broken("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    if items.iter().any(|v| matches!(v, V::Mark)) {
                        return Err(Stop::Broken("a mark inside a tuple"));
                    }
                    self.push(Self::tuple(items))?;
                }
                b'a' => {
                    let v = self.pop()?;
                    Self::append(self.top()?, vec![v]);
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    Self::append(self.top()?, items);
                }
                0x90 => {
                    self.pop_mark()?;
                    self.top()?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    Self::set_items(self.top()?, items);
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    Self::set_items(self.top()?, vec![key, value]);
                }
                // Memo.
                b'g' => {
                    let k = Self::text_int(self.line()?)?;
                    self.memo_get(k)?;
                }
                b'h' => {
                    let k = self.le(1)?;
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.le(4)?;
                    self.memo_get(k)?;
                }
                b'p' => {
                    let k = Self::text_int(self.line()?)?;
                    self.memo_put(k)?;
                }
                b'q' => {
                    let k = self.le(1)?;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.le(4)?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?;
                }
                // Imports.
                b'c' | b'i' => {
                    let module = String::from_utf8_lossy(self.line()?).into_owned();
                    let name = String::from_utf8_lossy(self.line()?).into_owned();
                    let g = self.import(&module, &name, offset)?;
                    if op == b'c' {
                        self.push(V::Global(g))?;
                    } else {
                        let args = self.pop_mark()?;
                        let v = self.call(V::Global(g), &args, offset)?;
                        self.push(v)?;
                    }
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (V::Str(m), V::Str(n)) => {
                            let g = self.import(&m, &n, offset)?;
                            self.push(V::Global(g))?;
                        }
                        _ => {
                            self.finding(
                                Severity::High,
                                Rule::DangerousGlobal,
                                "imports a global whose name is not a plain string (built at load time): its target cannot be known".into(),
                                offset,
                            );
                            self.push(V::Other)?;
                        }
                    }
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => self.le(1)?,
                        0x83 => self.le(2)?,
                        _ => self.le(4)?,
                    };
                    self.finding(
                        Severity::Medium,
                        Rule::UnknownGlobal,
                        format!("imports extension code {code}, a global registered with copyreg at load time: review it"),
                        offset,
                    );
                    self.push(V::Other)?;
                }
                // Calls.
                b'R' => {
                    let args = self.pop()?;
                    let callee = self.pop()?;
                    let args = Self::call_args(args);
                    let v = self.call(callee, &args, offset)?;
                    self.push(v)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?.into_iter();
                    let callee = items.next().ok_or(Stop::Broken("OBJ without a class"))?;
                    let args: Vec<V> = items.collect();
                    let v = self.call(callee, &args, offset)?;
                    self.push(v)?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let args = Self::call_args(args);
                    let wrapper = self.is_array_wrapper(&cls);
                    let v = self.call(cls, &args, offset)?;
                    self.push(if wrapper { V::ArrayWrapper } else { v })?;
                }
                0x92 => {
                    self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let args = Self::call_args(args);
                    let v = self.call(cls, &args, offset)?;
                    self.push(v)?;
                }
                b'b' => {
                    // obj.__setstate__(state) or a __dict__ update; the object stays.
                    let state = self.pop()?;
                    if matches!(self.top()?, V::ArrayWrapper) {
                        self.joblib_array(&state)?;
                    }
                }
                // Framing and protocol.
                0x80 => {
                    let p = self.u8()?;
                    self.report.protocol.get_or_insert(p);
                }
                0x95 => {
                    self.le(8)?;
                }
                _ => return Err(Stop::Broken("unknown opcode")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &PickleReport) -> Vec<(Severity, Rule)> {
        r.findings.iter().map(|f| (f.severity, f.rule)).collect()
    }

    #[test]
    fn reduce_of_os_system_is_critical_and_called() {
        // Protocol 0: cos\nsystem\n(S'echo hi'\ntR.
        let r = scan_pickle(b"cos\nsystem\n(S'echo hi'\ntR.");
        assert_eq!(rules(&r), vec![(Severity::Critical, Rule::DangerousGlobal)]);
        assert!(r.imports[0].called);
        assert!(r.complete);
    }

    #[test]
    fn stack_global_through_the_memo() {
        // Protocol 4: names pushed, memoized, fetched back, then STACK_GLOBAL.
        let mut p = vec![0x80, 4];
        p.extend_from_slice(b"\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93\x8c\x02id\x85R.");
        let r = scan_pickle(&p);
        assert_eq!(r.imports[0].module, "posix");
        assert!(r.imports[0].called);
        assert_eq!(rules(&r), vec![(Severity::Critical, Rule::DangerousGlobal)]);
    }

    #[test]
    fn getattr_reaches_the_attribute() {
        // getattr(__import__('os'), 'system')('id')
        let p = b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(S'os'\ntRS'system'\ntR(S'id'\ntR.";
        let r = scan_pickle(p);
        let names: Vec<String> = r
            .imports
            .iter()
            .map(|i| format!("{}.{}", i.module, i.name))
            .collect();
        assert!(names.contains(&"os.system".to_string()), "{names:?}");
        assert!(r.imports.iter().find(|i| i.module == "os").unwrap().called);
    }

    #[test]
    fn broken_pickle_reports_what_ran_and_the_break() {
        let r = scan_pickle(b"cos\nsystem\n(S'echo hi'\ntR\xff");
        assert_eq!(
            rules(&r),
            vec![
                (Severity::Critical, Rule::DangerousGlobal),
                (Severity::Medium, Rule::BrokenPickle)
            ]
        );
        assert!(!r.complete);
    }

    #[test]
    fn nested_pickle_is_scanned() {
        let inner = b"cos\nsystem\n(S'id'\ntR.";
        let mut p = b"cpickle\nloads\n(C".to_vec();
        p.push(inner.len() as u8);
        p.extend_from_slice(inner);
        p.extend_from_slice(b"tR.");
        let r = scan_pickle(&p);
        assert!(r
            .findings
            .iter()
            .any(|f| f.rule == Rule::NestedPickle && f.severity == Severity::Critical));
        assert!(r.findings.iter().any(|f| f
            .message
            .starts_with("in the nested pickle: imports `os.system`")));
    }

    #[test]
    fn safe_state_dict_shapes_are_clean() {
        // collections.OrderedDict() with a torch rebuild call and a persistent id.
        let p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08QK\x00K\x04\x85q\tK\x01\x85q\n\x89ccollections\nOrderedDict\nq\x0b)Rq\x0ctq\rRq\x0es.";
        let r = scan_pickle(p);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert!(r.complete);
    }

    #[test]
    fn text_past_the_limit_fails_closed() {
        // A protocol 0 text argument longer than the scanner keeps: the loader reads on,
        // so the stop is a high finding, not a quiet one.
        let mut p = b"S'".to_vec();
        p.resize(300 << 10, b'a');
        p.extend_from_slice(b"'\n0cos\nsystem\n(S'x'\ntR.");
        let mut r = &p[..];
        let limits = Limits {
            max_bytes: 64,
            ..Limits::default()
        };
        let got = scan_stream(&mut r, p.len() as u64, limits, 0, 0);
        assert_eq!(rules(&got), vec![(Severity::High, Rule::ResourceLimit)]);
    }

    #[test]
    fn streams_past_windows_and_skipped_values() {
        // A 20 MiB byte string (past what is kept: skipped, not buffered), a text
        // argument that straddles reading windows, then the payload.
        let mut p = vec![0x80, 4, 0x8e];
        p.extend_from_slice(&(20u64 << 20).to_le_bytes());
        p.resize(p.len() + (20 << 20), 7);
        p.push(b'0');
        p.extend_from_slice(b"S'");
        p.resize(p.len() + (300 << 10), b'a');
        p.extend_from_slice(b"'\n0");
        p.extend_from_slice(b"cos\nsystem\n(S'echo'\ntR.");
        let mut r = &p[..];
        let streamed = scan_pickle_reader(&mut r, p.len() as u64);
        assert!(streamed.complete, "{:?}", streamed.findings);
        assert_eq!(
            rules(&streamed),
            vec![(Severity::Critical, Rule::DangerousGlobal)]
        );
        assert_eq!(streamed.findings, scan_pickle(&p).findings);
    }

    #[test]
    fn hostile_lengths_and_limits() {
        // A BINBYTES8 claiming 2^60 bytes.
        let mut p = vec![0x80, 4, 0x8e];
        p.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert_eq!(
            rules(&scan_pickle(&p)),
            vec![(Severity::Medium, Rule::BrokenPickle)]
        );
        // An endless stack.
        let p = vec![b'N'; 100];
        let r = scan_with(
            &p,
            Limits {
                max_stack: 10,
                ..Limits::default()
            },
            0,
            0,
        );
        assert_eq!(rules(&r), vec![(Severity::High, Rule::ResourceLimit)]);
        // A nesting bomb stops at the depth limit.
        let mut inner = b"N.".to_vec();
        for _ in 0..12 {
            let mut outer = b"cpickle\nloads\n(B".to_vec();
            outer.extend_from_slice(&(inner.len() as u32).to_le_bytes());
            outer.extend_from_slice(&inner);
            outer.extend_from_slice(b"tR.");
            inner = outer;
        }
        let r = scan_pickle(&inner);
        assert!(r.findings.iter().any(|f| f.rule == Rule::ResourceLimit));
    }

    #[test]
    fn opcode_dense_pickles_use_little_memory() {
        // A list of 200,000 small ints in batches of 1000, as pickle writes it.
        let mut p = vec![0x80, 4, b']', b'q', 0];
        for _ in 0..200 {
            p.push(b'(');
            for i in 0..1000u32 {
                p.push(b'K');
                p.push((i % 256) as u8);
            }
            p.push(b'e');
        }
        p.push(b'.');
        let r = scan_pickle(&p);
        assert!(r.findings.is_empty() && r.complete);
        assert_eq!(r.opcodes, 4 + 200 * 1002);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
            let _ = scan_pickle(&bytes);
        }
    }
}
