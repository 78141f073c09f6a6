//! All command output goes through here: one writer for stdout, tables for people,
//! JSON for programs.

use std::io::Write as _;

use serde::Serialize;

/// Writes a line to stdout. If stdout cannot be written (a full disk, a closed pipe)
/// the command stops with exit code 1: output such as a new key must not be lost
/// silently.
pub(crate) fn line(s: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{}", s.as_ref()).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = writeln!(
                std::io::stderr(),
                "moat: error: cannot write the output: {e}"
            );
        }
        std::process::exit(1);
    }
}

/// A note for the person at the terminal, on stderr.
pub(crate) fn note(s: &str) {
    let _ = writeln!(std::io::stderr(), "moat: note: {s}");
}

pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<()> {
    line(serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A plain table: a header row and aligned columns.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt = |cells: &mut dyn Iterator<Item = String>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(&c);
            if i + 1 < widths.len() {
                s.push_str(&" ".repeat(w.saturating_sub(c.chars().count())));
            }
        }
        s.trim_end().to_owned()
    };
    line(fmt(&mut headers.iter().map(|h| h.to_uppercase())));
    for r in rows {
        line(fmt(&mut r.iter().cloned()));
    }
}

/// `2026-11-25` from a timestamp.
pub(crate) fn date(t: moat_domain::Timestamp) -> String {
    moat_domain::format_time(t)[..10].to_owned()
}
