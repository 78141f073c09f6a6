//! `moat scan`: walks the paths, hashes and scans every file, prints a table or the
//! JSON contract, and picks the exit code (0 clean, 1 a finding at or above
//! `--fail-on`, 2 a usage or I/O error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use moat_scan::Severity;
use serde::Serialize;

use crate::cli::{ScanArgs, ScanFormat, SeverityArg};
use crate::output::{self, line};

#[derive(Serialize)]
struct FileOut {
    path: String,
    format: String,
    sha256: Option<String>,
    findings: Vec<moat_scan::Located>,
    /// Every global the file's pickles import, and whether they call it.
    imports: Vec<moat_scan::ImportedGlobal>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    errors: usize,
    findings: std::collections::BTreeMap<String, usize>,
    max_severity: Option<Severity>,
    fail_on: Severity,
    failed: bool,
}

#[derive(Serialize)]
struct Out {
    files: Vec<FileOut>,
    summary: Summary,
}

fn severity(s: SeverityArg) -> Severity {
    match s {
        SeverityArg::Info => Severity::Info,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

/// Every regular file under `p` (or `p`), sorted; links are not followed.
fn walk(p: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => match std::fs::read_dir(p) {
            Ok(rd) => {
                let mut entries: Vec<PathBuf> =
                    rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                entries.sort();
                for e in entries {
                    walk(&e, out, errors);
                }
            }
            Err(e) => errors.push((p.to_owned(), e.to_string())),
        },
        Ok(m) if m.is_file() => out.push(p.to_owned()),
        Ok(_) => {}
        Err(e) => errors.push((p.to_owned(), format!("cannot read: {e}"))),
    }
}

fn scan_one(path: &Path) -> FileOut {
    let mut out = FileOut {
        path: path.display().to_string(),
        format: "unknown".into(),
        sha256: None,
        findings: Vec::new(),
        imports: Vec::new(),
        error: None,
    };
    // One pass each, side by side: the hash streams every byte on one core while the
    // scan reads only what a loader would interpret (headers, pickles, configs).
    let (hashed, scanned) = std::thread::scope(|s| {
        let hasher = s.spawn(|| crate::files::sha256_file(path));
        let scanned =
            std::fs::File::open(path).map(|f| moat_scan::scan_file(std::io::BufReader::new(f)));
        let hashed = hasher
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("hashing `{}` failed", path.display())));
        (hashed, scanned)
    });
    match hashed {
        Ok((sha, _)) => out.sha256 = Some(sha),
        Err(e) => {
            out.error = Some(format!("{e:#}"));
            return out;
        }
    }
    match scanned {
        Ok(r) => {
            out.format = r.format;
            out.findings = r.findings;
            out.imports = r.imports;
            out.error = r.error;
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

/// SARIF 2.1.0: one run, the rules that fired, one result per finding. The byte
/// offset is a region of the file for a raw file; for an archive member it stays in the
/// result's `properties.location` (SARIF regions cannot point inside a member).
fn sarif(out: &Out) -> serde_json::Value {
    use serde_json::json;
    let mut rules: Vec<moat_scan::Rule> = out
        .files
        .iter()
        .flat_map(|f| f.findings.iter().map(|x| x.rule))
        .collect();
    rules.sort_by_key(|r| r.to_string());
    rules.dedup();
    let level = |s: Severity| match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    };
    let results: Vec<serde_json::Value> = out
        .files
        .iter()
        .flat_map(|f| {
            f.findings.iter().map(move |x| {
                let mut physical = json!({ "artifactLocation": { "uri": f.path } });
                if let Some(offset) = x.location.strip_prefix("byte ").and_then(|o| o.parse::<u64>().ok()) {
                    physical["region"] = json!({ "byteOffset": offset });
                }
                json!({
                    "ruleId": x.rule.to_string(),
                    "level": level(x.severity),
                    "message": { "text": x.message },
                    "locations": [{ "physicalLocation": physical }],
                    "properties": { "severity": x.severity, "location": x.location, "technique": x.technique },
                })
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "moat",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({
                    "id": r.to_string(),
                    "shortDescription": { "text": r.description() },
                    "properties": { "technique": r.atlas() },
                })).collect::<Vec<_>>(),
            }},
            "artifacts": out.files.iter().map(|f| json!({
                "location": { "uri": f.path },
                "hashes": f.sha256.as_ref().map(|h| json!({ "sha-256": h })),
            })).collect::<Vec<_>>(),
            "results": results,
        }],
    })
}

/// Scans registered artifacts (already hashed) for `moat model register`.
pub(crate) fn scan_artifacts(
    artifacts: &[moat_domain::Artifact],
) -> Vec<(String, moat_scan::FileReport)> {
    artifacts
        .iter()
        .map(|a| {
            let report = match std::fs::File::open(&a.path) {
                Ok(f) => moat_scan::scan_file(std::io::BufReader::new(f)),
                Err(e) => moat_scan::FileReport {
                    format: "unknown".into(),
                    findings: Vec::new(),
                    imports: Vec::new(),
                    error: Some(e.to_string()),
                },
            };
            (a.path.clone(), report)
        })
        .collect()
}

/// The scan result as evidence of the model version: fail on critical, warn on high or
/// medium, pass otherwise; an accepted risk is part of the report and the summary.
pub(crate) fn scan_evidence(
    name: &str,
    version: &str,
    scan: &[(String, moat_scan::FileReport)],
    accepted: Option<&str>,
) -> moat_domain::NewEvidence {
    use moat_domain::{EvidenceKind, Verdict};
    let worst = scan
        .iter()
        .flat_map(|(_, r)| &r.findings)
        .map(|f| f.severity)
        .max();
    let count: usize = scan.iter().map(|(_, r)| r.findings.len()).sum();
    let verdict = match worst {
        Some(Severity::Critical) => Verdict::Fail,
        Some(Severity::High | Severity::Medium) => Verdict::Warn,
        _ => Verdict::Pass,
    };
    let mut summary = match worst {
        Some(w) => format!(
            "{count} finding(s) in {} artifact(s), worst {w}",
            scan.len()
        ),
        None => format!("no findings in {} artifact(s)", scan.len()),
    };
    if let Some(reason) = accepted.filter(|_| verdict == Verdict::Fail) {
        summary.push_str(&format!("; risk accepted: {reason}"));
    }
    moat_domain::NewEvidence {
        subject_kind: "model".into(),
        name: name.to_owned(),
        version: version.to_owned(),
        kind: EvidenceKind::Scan,
        verdict,
        summary,
        report: serde_json::json!({
            "scanner": "moat-scan",
            "accepted_risk": accepted,
            "files": scan.iter().map(|(p, r)| serde_json::json!({ "path": p, "report": r })).collect::<Vec<_>>(),
        }),
    }
}

pub(crate) fn run(a: ScanArgs) -> anyhow::Result<ExitCode> {
    let fail_on = severity(a.fail_on);
    let mut paths = Vec::new();
    let mut walk_errors = Vec::new();
    for p in &a.paths {
        walk(p, &mut paths, &mut walk_errors);
    }
    let mut files: Vec<FileOut> = paths.iter().map(|p| scan_one(p)).collect();
    for (p, e) in walk_errors {
        files.push(FileOut {
            path: p.display().to_string(),
            format: "unknown".into(),
            sha256: None,
            findings: Vec::new(),
            imports: Vec::new(),
            error: Some(e),
        });
    }
    let mut counts = std::collections::BTreeMap::new();
    for f in files.iter().flat_map(|f| &f.findings) {
        *counts.entry(f.severity.to_string()).or_insert(0) += 1;
    }
    let max = files
        .iter()
        .flat_map(|f| &f.findings)
        .map(|f| f.severity)
        .max();
    let errors = files.iter().filter(|f| f.error.is_some()).count();
    let failed = max.is_some_and(|m| m >= fail_on);
    let out = Out {
        summary: Summary {
            files: files.len(),
            errors,
            findings: counts,
            max_severity: max,
            fail_on,
            failed,
        },
        files,
    };
    match a.format {
        ScanFormat::Json => output::json(&out)?,
        ScanFormat::Sarif => output::json(&sarif(&out))?,
        ScanFormat::Table => {
            for f in &out.files {
                let verdict = match (&f.error, f.findings.iter().map(|x| x.severity).max()) {
                    (Some(e), _) => format!("ERROR: {e}"),
                    (None, Some(s)) => format!("{} finding(s), worst {s}", f.findings.len()),
                    (None, None) => "clean".to_owned(),
                };
                line(format!("{}  [{}]  {verdict}", f.path, f.format));
                for x in &f.findings {
                    line(format!(
                        "  {:<8} {:<17} {}  ({})",
                        x.severity, x.rule, x.message, x.location
                    ));
                }
            }
            line(format!(
                "{} file(s), {} error(s); worst: {}; failing at {}: {}",
                out.summary.files,
                out.summary.errors,
                max.map_or("none".to_owned(), |m| m.to_string()),
                fail_on,
                if failed { "FAIL" } else { "pass" }
            ));
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(2)
    } else if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
