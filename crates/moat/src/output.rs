//! All command output goes through here: one writer for stdout, tables for people,
//! JSON for programs.

use std::io::Write as _;

use serde::Serialize;

/// Writes a line to stdout. A closed pipe (`moat … | head`) is not an error.
pub(crate) fn line(s: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", s.as_ref());
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
