//! Repository automation: `cargo xtask tidy` checks the habits STYLE.md asks for that
//! no compiler checks (every Rust file opens with a `//!` comment saying what it is
//! for; no ignored or should-panic tests; no debug macros left in). `cargo test -p xtask`
//! runs the same checks, so CI enforces them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["crates", "xtask", "bench", "fuzz"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() {
                if name != "target" && name != "corpus" && name != "artifacts" {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every problem found, one line each.
fn tidy(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let ignore = ["#[", "ignore]"].concat();
    let should_panic = ["#[", "should_panic"].concat();
    let dbg = ["dbg", "!("].concat();
    for f in rust_files(root) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let rel = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!(
                "{rel}: does not open with a `//!` comment saying what the file is for"
            ));
        }
        for (what, pat) in [
            ("an ignored test", &ignore),
            ("a should-panic test", &should_panic),
            ("a debug macro", &dbg),
        ] {
            if text.contains(pat.as_str()) {
                problems.push(format!("{rel}: uses {what}"));
            }
        }
    }
    problems
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_owned()
}

fn main() -> ExitCode {
    use std::io::Write as _;
    let task = std::env::args().nth(1).unwrap_or_default();
    let mut err = std::io::stderr();
    match task.as_str() {
        "tidy" => {
            let problems = tidy(&root());
            for p in &problems {
                let _ = writeln!(err, "{p}");
            }
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            let _ = writeln!(err, "usage: cargo xtask tidy");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_is_tidy() {
        let problems = tidy(&root());
        assert!(
            problems.is_empty(),
            "cargo xtask tidy:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn tidy_finds_problems() {
        let d = std::env::temp_dir().join(format!("moat-tidy-{}", std::process::id()));
        std::fs::create_dir_all(d.join("crates/x/src")).unwrap();
        std::fs::write(d.join("crates/x/src/lib.rs"), "fn f() {}\n").unwrap();
        let p = tidy(&d);
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(p, vec!["crates/x/src/lib.rs: does not open with a `//!` comment saying what the file is for"]);
    }
}
