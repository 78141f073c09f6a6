//! `moat guard scan|redact|injection|detokenize`: the guard detectors (`moat-guard`) over
//! a file or standard input, plain text or JSON lines. Plain text is scanned and redacted
//! as a stream (`moat_guard::ScanStream`, `RedactStream`): memory stays bounded whatever
//! the size of the text. Exit codes: `scan` 0 nothing found, 1
//! findings (`redact` and `detokenize` 0); 2 usage or I/O error (a JSON line that is not an object with the text
//! field is reported on stderr and makes the exit code 2, the other lines still run).

use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use moat_guard::{Mode, Redactor, Scanner};
use serde_json::Value;

use crate::cli::{GuardCmd, GuardFormat, GuardInput, RedactMode};
use crate::context::UsageError;

fn open(input: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if input == Path::new("-") {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let f =
        std::fs::File::open(input).with_context(|| format!("cannot open `{}`", input.display()))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
}

fn key(input: &GuardInput) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(p) = &input.key_file {
        let k =
            std::fs::read(p).with_context(|| format!("cannot read the key `{}`", p.display()))?;
        let trimmed = String::from_utf8_lossy(&k).trim().as_bytes().to_vec();
        return Ok(Some(trimmed));
    }
    Ok(std::env::var("MOAT_GUARD_KEY").ok().map(String::into_bytes))
}

/// One output line of `scan`, fields in contract order.
#[derive(serde::Serialize)]
struct Line {
    id: Value,
    findings: Vec<moat_guard::Finding>,
}

/// One output line of `injection`.
#[derive(serde::Serialize)]
struct InjectionLine {
    id: Value,
    injection: bool,
    score: f64,
    family: &'static str,
    signals: Vec<String>,
}

/// One unit of work: a text and, for JSON lines, its object.
enum Item {
    Text(String),
    Line(serde_json::Map<String, Value>, String),
    Bad(usize, String),
}

impl Item {
    /// The `id` to echo and the text; a bad line is reported and yields nothing.
    fn id_and_text(self, report_bad: &mut impl FnMut(usize, &str)) -> Option<(Value, String)> {
        match self {
            Item::Text(t) => Some((Value::Null, t)),
            Item::Line(o, t) => Some((o.get("id").cloned().unwrap_or(Value::Null), t)),
            Item::Bad(n, why) => {
                report_bad(n, &why);
                None
            }
        }
    }
}

/// Reads the whole input as one text, or JSON lines one by one (each handed to `f`).
fn each(input: &GuardInput, mut f: impl FnMut(Item) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut r = open(&input.input)?;
    if !input.jsonl {
        let mut bytes = Vec::new();
        #[expect(
            clippy::disallowed_methods,
            reason = "the user's own input, read as one text"
        )]
        r.read_to_end(&mut bytes).context("cannot read the input")?;
        // Invalid UTF-8 is read lossily: one U+FFFD per bad sequence.
        return f(Item::Text(String::from_utf8_lossy(&bytes).into_owned()));
    }
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)
            .context("cannot read the input")?
            == 0
        {
            return Ok(());
        }
        n += 1;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let item = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(o)) => match o.get(&input.field) {
                Some(Value::String(t)) => {
                    let t = t.clone();
                    Item::Line(o, t)
                }
                _ => Item::Bad(n, format!("no string field `{}`", input.field)),
            },
            Ok(_) => Item::Bad(n, "not a JSON object".into()),
            Err(e) => Item::Bad(n, format!("not JSON: {e}")),
        };
        f(item)?;
    }
}

fn redact_mode(m: RedactMode) -> Mode {
    match m {
        RedactMode::Mask => Mode::Mask,
        RedactMode::Tag => Mode::Tag,
        RedactMode::Hash => Mode::Hash,
        RedactMode::Tokenize => Mode::Tokenize,
    }
}

/// Hands `f` the input a block at a time.
fn read_blocks(r: &mut dyn BufRead, mut f: impl FnMut(&[u8])) -> anyhow::Result<()> {
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut block) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("cannot read the input"),
        };
        f(block.get(..n).unwrap_or_default());
    }
}

/// Writes `{"id": null, "findings": [...]}` one finding at a time, so a text with
/// millions of findings is never held: the same JSON `serde_json` writes for a [`Line`]
/// (pretty for `--format json`, one line for `jsonl`).
struct FindingsWriter<'w, W: Write> {
    out: &'w mut W,
    pretty: bool,
    first: bool,
}

impl<'w, W: Write> FindingsWriter<'w, W> {
    fn new(out: &'w mut W, format: GuardFormat) -> anyhow::Result<Self> {
        let pretty = matches!(format, GuardFormat::Json);
        out.write_all(if pretty {
            b"{\n  \"id\": null,\n  \"findings\": ["
        } else {
            b"{\"id\":null,\"findings\":["
        })?;
        Ok(FindingsWriter {
            out,
            pretty,
            first: true,
        })
    }

    fn finding(&mut self, f: &moat_guard::Finding) -> anyhow::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        if self.pretty {
            let body = serde_json::to_string_pretty(f)?;
            self.out.write_all(b"\n")?;
            for (i, line) in body.lines().enumerate() {
                if i > 0 {
                    self.out.write_all(b"\n")?;
                }
                self.out.write_all(b"    ")?;
                self.out.write_all(line.as_bytes())?;
            }
        } else {
            serde_json::to_writer(&mut *self.out, f)?;
        }
        Ok(())
    }

    fn end(self) -> anyhow::Result<()> {
        let close: &[u8] = match (self.pretty, self.first) {
            (true, true) => b"]\n}\n",
            (true, false) => b"\n  ]\n}\n",
            (false, _) => b"]}\n",
        };
        self.out.write_all(close)?;
        Ok(())
    }
}

fn emit(out: &mut impl Write, v: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

pub(crate) fn run(cmd: GuardCmd) -> anyhow::Result<ExitCode> {
    let scanner = Scanner::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bad = 0usize;
    let mut found = 0usize;
    let is_scan = matches!(cmd, GuardCmd::Scan(_) | GuardCmd::Injection(_));
    let mut report_bad = |n: usize, why: &str| {
        bad += 1;
        let _ = writeln!(std::io::stderr(), "moat: line {n}: {why}: skipped");
    };
    match cmd {
        // Plain text is streamed: bounded memory whatever its size.
        GuardCmd::Scan(a) if !a.input.jsonl => {
            let mut r = open(&a.input.input)?;
            let mut writer = FindingsWriter::new(&mut out, a.format)?;
            let mut stream = moat_guard::ScanStream::new(&scanner);
            let mut failed = None;
            let mut emit_one = |f: moat_guard::Finding| {
                found += 1;
                if failed.is_none() {
                    failed = writer.finding(&f).err();
                }
            };
            read_blocks(&mut r, |block| {
                stream.push(block, &mut emit_one);
            })?;
            stream.finish(&mut emit_one);
            if let Some(e) = failed {
                return Err(e);
            }
            writer.end()?;
        }
        GuardCmd::Redact(a) if !a.input.jsonl => {
            let key = key(&a.input)?;
            let redactor = Redactor::new(&scanner, redact_mode(a.mode), key.as_deref())
                .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))?;
            let mut r = open(&a.input.input)?;
            let mut stream = moat_guard::RedactStream::new(&redactor);
            let mut failed = None;
            read_blocks(&mut r, |block| {
                let text = stream.push(block);
                if failed.is_none() {
                    failed = out.write_all(text.as_bytes()).err();
                }
            })?;
            if let Some(e) = failed {
                return Err(e).context("cannot write the output");
            }
            let (tail, n) = stream.finish();
            out.write_all(tail.as_bytes())?;
            found += n;
        }
        GuardCmd::Scan(a) => {
            let mut all = Vec::new();
            each(&a.input, |item| {
                let Some((id, text)) = item.id_and_text(&mut report_bad) else {
                    return Ok(());
                };
                let findings = scanner.scan_all(&text);
                found += findings.len();
                let v = Line { id, findings };
                match a.format {
                    GuardFormat::Jsonl => emit(&mut out, &v),
                    GuardFormat::Json => {
                        all.push(v);
                        Ok(())
                    }
                }
            })?;
            if let GuardFormat::Json = a.format {
                if a.input.jsonl {
                    serde_json::to_writer_pretty(&mut out, &all)?;
                } else {
                    let one = all.pop().unwrap_or(Line {
                        id: Value::Null,
                        findings: Vec::new(),
                    });
                    serde_json::to_writer_pretty(&mut out, &one)?;
                }
                out.write_all(b"\n")?;
            }
        }
        GuardCmd::Redact(a) => {
            let key = key(&a.input)?;
            let redactor = Redactor::new(&scanner, redact_mode(a.mode), key.as_deref())
                .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))?;
            let field = a.input.field.clone();
            each(&a.input, |item| match item {
                Item::Text(t) => {
                    let (r, n) = redactor.redact(&t);
                    found += n;
                    out.write_all(r.as_bytes())?;
                    Ok(())
                }
                Item::Line(mut o, t) => {
                    let (r, n) = redactor.redact(&t);
                    found += n;
                    o.insert(field.clone(), Value::String(r));
                    emit(&mut out, &Value::Object(o))
                }
                Item::Bad(n, why) => {
                    report_bad(n, &why);
                    Ok(())
                }
            })?;
        }
        // A plain text is judged on its first 256 KiB, as the detector reads any text:
        // the rest is not read.
        GuardCmd::Injection(a) if !a.input.jsonl => {
            let mut scanner = scanner;
            scanner.injection_threshold = a.threshold;
            let mut bytes = Vec::new();
            let mut first = open(&a.input.input)?.take(256 << 10);
            #[expect(clippy::disallowed_methods, reason = "capped at 256 KiB by `take`")]
            first
                .read_to_end(&mut bytes)
                .context("cannot read the input")?;
            let v = scanner.injection(&String::from_utf8_lossy(&bytes));
            found += usize::from(v.injection);
            emit(
                &mut out,
                &InjectionLine {
                    id: Value::Null,
                    injection: v.injection,
                    score: v.score,
                    family: v.family,
                    signals: v.signals,
                },
            )?;
        }
        GuardCmd::Injection(a) => {
            let mut scanner = scanner;
            scanner.injection_threshold = a.threshold;
            each(&a.input, |item| {
                let Some((id, text)) = item.id_and_text(&mut report_bad) else {
                    return Ok(());
                };
                let v = scanner.injection(&text);
                found += usize::from(v.injection);
                emit(
                    &mut out,
                    &InjectionLine {
                        id,
                        injection: v.injection,
                        score: v.score,
                        family: v.family,
                        signals: v.signals,
                    },
                )
            })?;
        }
        GuardCmd::Detokenize(input) => {
            let key = key(&input)?.ok_or_else(|| {
                anyhow::Error::new(UsageError(
                    "detokenize needs the key (--key-file or MOAT_GUARD_KEY)".into(),
                ))
            })?;
            let field = input.field.clone();
            each(&input, |item| match item {
                Item::Text(t) => {
                    out.write_all(moat_guard::detokenize(&t, &key)?.as_bytes())?;
                    Ok(())
                }
                Item::Line(mut o, t) => {
                    o.insert(
                        field.clone(),
                        Value::String(moat_guard::detokenize(&t, &key)?),
                    );
                    emit(&mut out, &Value::Object(o))
                }
                Item::Bad(n, why) => {
                    report_bad(n, &why);
                    Ok(())
                }
            })?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if bad > 0 {
        2
    } else if is_scan && found > 0 {
        1
    } else {
        0
    }))
}
