//! `moat data profile | merge | drift`: profiles datasets into baselines, merges them,
//! and prints drift against a dataset or a baseline, as a table or as the JSON other
//! tools parse. Exit codes: 0 no dataset drift, 1 the dataset drifted, 2 a usage or
//! I/O error.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use moat_data::drift::{compare, DriftReport, Options, Test};
use moat_data::profile::Profile;

use crate::cli::{
    DataCheckArgs, DataCmd, DataDriftArgs, DataFormat, DataMergeArgs, DataPoisonArgs,
    DataProfileArgs,
};
use crate::config::DriftSettings;
use crate::context::UsageError;
use crate::output;

pub(crate) fn run(cmd: DataCmd, settings: &DriftSettings) -> anyhow::Result<ExitCode> {
    let result = match cmd {
        DataCmd::Profile(a) => profile(&a),
        DataCmd::Merge(a) => merge(&a),
        DataCmd::Check(a) => check(&a),
        DataCmd::Poison(a) => poison(&a),
        DataCmd::Drift(a) => drift(&a, settings),
    };
    // Exit 1 means drift: a file that cannot be read is 2, like a usage error.
    result.or_else(|e| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "moat: error: {e:#}");
        Ok(ExitCode::from(2))
    })
}

fn read(path: &Path) -> anyhow::Result<moat_data::collect::DatasetValues> {
    read_with(path, false)
}

fn read_with(path: &Path, sketches: bool) -> anyhow::Result<moat_data::collect::DatasetValues> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut table =
        moat_data::read::open(file).with_context(|| format!("cannot read `{}`", path.display()))?;
    moat_data::collect::collect_with(&mut table, sketches)
        .with_context(|| format!("cannot read `{}`", path.display()))
}

/// The profile of one dataset file.
pub(crate) fn profile_file(path: &Path) -> anyhow::Result<Profile> {
    Ok(Profile::from_values(&read_with(path, true)?))
}

pub(crate) fn load_profile(path: &Path) -> anyhow::Result<Profile> {
    let bytes = read_bounded(path, moat_data::profile::MAX_PROFILE_BYTES)?;
    Profile::from_json(&bytes).with_context(|| format!("cannot use `{}`", path.display()))
}

fn read_bounded(path: &Path, limit: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut bytes = Vec::new();
    #[expect(clippy::disallowed_methods, reason = "capped by take")]
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(bytes)
}

/// Writes next to the destination, then renames: a crash leaves the old file or the
/// new one, never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

fn profile(a: &DataProfileArgs) -> anyhow::Result<ExitCode> {
    let mut merged: Option<Profile> = None;
    for f in &a.files {
        let p = profile_file(f)?;
        match &mut merged {
            Some(m) => {
                check_same_columns(m, &p, f)?;
                m.merge(&p);
            }
            None => merged = Some(p),
        }
    }
    let p = merged.ok_or_else(|| UsageError("name at least one dataset file".into()))?;
    emit_profile(&p, a.output.as_deref(), a.format)
}

fn check_same_columns(a: &Profile, b: &Profile, path: &Path) -> anyhow::Result<()> {
    let names = |p: &Profile| p.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    if names(a) != names(b) {
        anyhow::bail!(
            "`{}` has columns {:?}, the files before it {:?}: profile datasets of the same columns together",
            path.display(),
            names(b),
            names(a)
        );
    }
    Ok(())
}

fn emit_profile(
    p: &Profile,
    output: Option<&Path>,
    format: DataFormat,
) -> anyhow::Result<ExitCode> {
    let bytes = p.to_json();
    match output {
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.write_all(b"\n")?;
        }
        Some(path) => {
            write_atomic(path, &bytes)?;
            match format {
                DataFormat::Json => output::json(p)?,
                DataFormat::Table => {
                    profile_table(p);
                    output::line(format!(
                        "wrote {} ({:.1} KB, {} rows, {} columns)",
                        path.display(),
                        bytes.len() as f64 / 1024.0,
                        p.rows,
                        p.columns.len()
                    ));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn profile_table(p: &Profile) {
    let opt = |x: Option<f64>| x.map_or_else(String::new, num);
    let rows: Vec<Vec<String>> = p
        .columns
        .iter()
        .map(|c| {
            let top = c.top.as_ref().map_or_else(String::new, |t| {
                t.top
                    .iter()
                    .take(3)
                    .map(|(k, n)| format!("{k} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            vec![
                c.name.clone(),
                c.kind.clone(),
                c.rows.to_string(),
                c.nulls.to_string(),
                format!(
                    "{}{}",
                    if c.distinct.exact { "" } else { "~" },
                    c.distinct.value
                ),
                opt(c.min),
                opt(c.max),
                opt(c.mean),
                opt(c.std),
                top,
            ]
        })
        .collect();
    output::table(
        &[
            "column", "type", "rows", "nulls", "distinct", "min", "max", "mean", "std", "top",
        ],
        &rows,
    );
}

fn check(a: &DataCheckArgs) -> anyhow::Result<ExitCode> {
    let baseline = a.baseline.as_deref().map(load_profile).transpose()?;
    let report = check_report(a, baseline.as_ref())?;
    print_check(a, &report)
}

fn check_report(
    a: &DataCheckArgs,
    baseline: Option<&Profile>,
) -> anyhow::Result<moat_data::check::CheckReport> {
    let constraints = match &a.constraints {
        Some(p) => {
            let bytes = read_bounded(p, 16 << 20)?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("`{}` is not UTF-8 text", p.display()))?;
            toml::from_str::<moat_data::check::Constraints>(&text)
                .with_context(|| format!("invalid constraints in `{}`", p.display()))?
        }
        None => moat_data::check::Constraints::default(),
    };
    let mut table = open_table(&a.file)?;
    moat_data::check::check(&mut table, baseline, &constraints)
        .with_context(|| format!("cannot read `{}`", a.file.display()))
}

fn print_check(
    a: &DataCheckArgs,
    report: &moat_data::check::CheckReport,
) -> anyhow::Result<ExitCode> {
    match a.format {
        DataFormat::Json => output::json(report)?,
        DataFormat::Table => check_table(report),
    }
    Ok(ExitCode::from(u8::from(!report.passed)))
}

fn check_table(r: &moat_data::check::CheckReport) {
    let rows: Vec<Vec<String>> = r
        .violations
        .iter()
        .map(|v| {
            let examples: Vec<String> = v
                .examples
                .iter()
                .map(|e| format!("row {}: {}", e.row, e.value.as_deref().unwrap_or("(empty)")))
                .collect();
            vec![
                v.rule.to_owned(),
                v.column.clone().unwrap_or_default(),
                v.count.to_string(),
                v.message.clone(),
                examples.join("; "),
            ]
        })
        .collect();
    if !rows.is_empty() {
        output::table(&["rule", "column", "count", "message", "examples"], &rows);
    }
    for n in &r.notes {
        output::line(format!("note: {n}"));
    }
    output::line(format!(
        "{} rows, {} columns, {} rules: {}",
        r.rows,
        r.columns,
        r.rules,
        if r.passed {
            "valid".to_owned()
        } else {
            format!("{} violations", r.violations.len())
        }
    ));
}

fn open_table(path: &Path) -> anyhow::Result<moat_data::read::Table> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    moat_data::read::open(file).with_context(|| format!("cannot read `{}`", path.display()))
}

fn poison(a: &DataPoisonArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.min_score) {
        return Err(UsageError("--min-score is a score: between 0 and 1".into()).into());
    }
    let o = moat_data::poison::Options {
        label: a.label.clone(),
        id: a.id.clone(),
        ignore: a.ignore.clone(),
        k: a.neighbours.clamp(3, 100),
        min_score: a.min_score,
        ..moat_data::poison::Options::default()
    };
    let mut train = open_table(&a.train)?;
    let mut reference = a.reference.as_deref().map(open_table).transpose()?;
    let report = moat_data::poison::analyse(&mut train, reference.as_mut(), &o)
        .with_context(|| format!("cannot analyse `{}`", a.train.display()))?;
    match a.format {
        DataFormat::Json => output::json(&report)?,
        DataFormat::Table => poison_table(&report, a.top),
    }
    Ok(ExitCode::from(u8::from(!report.rows.is_empty())))
}

fn poison_table(r: &moat_data::poison::Report, top: usize) {
    for f in &r.findings {
        output::line(format!("{}: {}", f.kind, f.message));
    }
    if !r.findings.is_empty() {
        output::line("");
    }
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .take(top)
        .map(|x| {
            vec![
                x.row.to_string(),
                format!("{:.2}", x.score),
                x.label.clone().unwrap_or_default(),
                x.reasons.join(", "),
                x.evidence.first().cloned().unwrap_or_default(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        output::table(&["row", "score", "label", "reasons", "evidence"], &rows);
    }
    for n in &r.notes {
        output::line(format!("note: {n}"));
    }
    output::line(format!(
        "{} of {} rows suspicious{}",
        r.rows.len(),
        r.analysed_rows,
        if r.rows.len() > top {
            format!(" ({top} shown; --format json lists all)")
        } else {
            String::new()
        }
    ));
}

fn merge(a: &DataMergeArgs) -> anyhow::Result<ExitCode> {
    let mut merged: Option<Profile> = None;
    for f in &a.profiles {
        let p = load_profile(f)?;
        match &mut merged {
            Some(m) => {
                check_same_columns(m, &p, f)?;
                m.merge(&p);
            }
            None => merged = Some(p),
        }
    }
    let p = merged.ok_or_else(|| UsageError("name the profiles to merge".into()))?;
    emit_profile(&p, Some(&a.output), DataFormat::Table)
}

/// Reads `TEST` or `TEST:THRESHOLD` (`ks`, `ks:0.01`).
pub(crate) fn parse_test(spec: &str) -> Result<(Test, Option<f64>), String> {
    let bad = || {
        format!("invalid test `{spec}`: use TEST or TEST:THRESHOLD with TEST one of ks, wasserstein, psi, chisquare, jensenshannon")
    };
    let (name, threshold) = match spec.split_once(':') {
        Some((n, th)) => {
            let v = th.parse::<f64>().map_err(|_| bad())?;
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "the threshold of `{spec}` must be a positive number"
                ));
            }
            (n, Some(v))
        }
        None => (spec, None),
    };
    let test = Test::parse(name).ok_or_else(bad)?;
    Ok((test, threshold))
}

/// The drift settings: built-in defaults, then `[data.drift]`, then the flags.
fn options(a: &DataDriftArgs, settings: &DriftSettings) -> anyhow::Result<Options> {
    let mut o = Options::default();
    let s = settings;
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = s.$f { o.$f = v; } )* };
    }
    set!(
        small_sample,
        max_numeric_categories,
        ks_p,
        chi2_p,
        wasserstein,
        jensen_shannon,
        psi,
        text_unseen,
        drift_share,
        null_jump,
        null_p,
        unseen
    );
    o.ignore.extend(s.ignore.iter().cloned());
    for (col, spec) in &s.tests {
        let t =
            parse_test(spec).map_err(|e| UsageError(format!("[data.drift.tests] `{col}`: {e}")))?;
        o.per_column.insert(col.clone(), t);
    }
    if let Some(share) = a.drift_share {
        if !(0.0..=1.0).contains(&share) {
            return Err(UsageError("--drift-share is a share: between 0 and 1".into()).into());
        }
        o.drift_share = share;
    }
    o.ignore.extend(a.ignore.iter().cloned());
    for t in &a.tests {
        let (col, spec) = t.split_once('=').ok_or_else(|| {
            UsageError(format!(
                "invalid --test `{t}`: use COLUMN=TEST or COLUMN=TEST:THRESHOLD with TEST one of ks, wasserstein, psi, chisquare, jensenshannon"
            ))
        })?;
        let t = parse_test(spec).map_err(|e| UsageError(format!("invalid --test `{t}`: {e}")))?;
        o.per_column.insert(col.to_owned(), t);
    }
    Ok(o)
}

fn drift(a: &DataDriftArgs, settings: &DriftSettings) -> anyhow::Result<ExitCode> {
    let reference = match (&a.reference, &a.baseline) {
        (Some(r), _) => read(r)?,
        (None, Some(b)) => load_profile(b)?.stand_in(),
        (None, None) => {
            return Err(UsageError(
                "name --reference FILE, --baseline PROFILE or --baseline-dataset NAME@VERSION"
                    .into(),
            )
            .into())
        }
    };
    let report = drift_report(a, &reference, settings)?;
    print_drift(a, &report)
}

fn drift_report(
    a: &DataDriftArgs,
    reference: &moat_data::collect::DatasetValues,
    settings: &DriftSettings,
) -> anyhow::Result<DriftReport> {
    let o = options(a, settings)?;
    let current = read(&a.current)?;
    if current.rows == 0 || reference.rows == 0 {
        anyhow::bail!(
            "the {} has no rows: there is nothing to compare",
            if current.rows == 0 {
                "current dataset"
            } else {
                "reference"
            }
        );
    }
    let report = compare(reference, &current, &o);
    if let Some(path) = &a.html {
        let against = a
            .reference
            .as_deref()
            .or(a.baseline.as_deref())
            .map(|p| p.display().to_string())
            .or_else(|| a.baseline_dataset.clone())
            .unwrap_or_default();
        let title = format!("Drift of {} against {against}", a.current.display());
        let page = moat_data::html::drift_page(&report, reference, &current, &title);
        write_atomic(path, page.as_bytes())?;
    }
    Ok(report)
}

fn print_drift(a: &DataDriftArgs, report: &DriftReport) -> anyhow::Result<ExitCode> {
    match a.format {
        DataFormat::Json => output::json(report)?,
        DataFormat::Table => table(report),
    }
    Ok(ExitCode::from(u8::from(report.dataset_drift)))
}

/// Whether the command reads or writes the inventory (`--dataset`,
/// `--baseline-dataset`): it then runs with the store and a caller.
pub(crate) fn needs_store(cmd: &DataCmd) -> bool {
    match cmd {
        DataCmd::Check(a) => a.dataset.is_some() || a.baseline_dataset.is_some(),
        DataCmd::Drift(a) => a.dataset.is_some() || a.baseline_dataset.is_some(),
        _ => false,
    }
}

/// `check` and `drift` against the inventory: the baseline a registered dataset
/// version's profile, and the result recorded as evidence of the dataset version (the
/// file must be that version: same digest) and of every model version trained on it.
pub(crate) async fn run_recorded(
    cmd: DataCmd,
    app: &moat_server::App,
    cx: &moat_server::Ctx,
    settings: &DriftSettings,
) -> anyhow::Result<ExitCode> {
    let result = recorded(cmd, app, cx, settings).await;
    result.or_else(|e| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "moat: error: {e:#}");
        Ok(ExitCode::from(2))
    })
}

async fn registered_profile(
    app: &moat_server::App,
    cx: &moat_server::Ctx,
    r: &str,
) -> anyhow::Result<Profile> {
    let d = app.show_dataset(cx, r).await?;
    let p = d.dataset.schema.get("profile").ok_or_else(|| {
        anyhow::anyhow!(
            "dataset {r} has no profile (registered before profiles were kept, or not tabular); register it again or pass --baseline PROFILE"
        )
    })?;
    Profile::from_json(&serde_json::to_vec(p)?)
        .with_context(|| format!("the profile of dataset {r}"))
}

/// Checks that `path` is the registered dataset version `r` (same SHA-256).
async fn same_file(
    app: &moat_server::App,
    cx: &moat_server::Ctx,
    r: &str,
    path: &Path,
) -> anyhow::Result<moat_server::DatasetDetail> {
    let d = app.show_dataset(cx, r).await?;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let (sha, _) = crate::files::sha256_reader(&mut f, path)?;
    let digest = format!("sha256:{sha}");
    // Digests are public: a plain comparison.
    if digest != d.dataset.digest {
        anyhow::bail!(
            "`{}` is not dataset {r}: its digest is {digest}, the registered one {}; register this file as a new version first",
            path.display(),
            d.dataset.digest
        );
    }
    Ok(d)
}

async fn recorded(
    cmd: DataCmd,
    app: &moat_server::App,
    cx: &moat_server::Ctx,
    settings: &DriftSettings,
) -> anyhow::Result<ExitCode> {
    use moat_domain::{EvidenceKind, NewEvidence, Verdict};
    let (subject, kind, verdict, summary, report, code) = match cmd {
        DataCmd::Check(a) => {
            let baseline = match (&a.baseline, &a.baseline_dataset) {
                (Some(p), _) => Some(load_profile(p)?),
                (None, Some(r)) => Some(registered_profile(app, cx, r).await?),
                (None, None) => None,
            };
            if a.baseline.is_none() && a.baseline_dataset.is_none() && a.constraints.is_none() {
                return Err(UsageError(
                    "name --baseline, --baseline-dataset or --constraints".into(),
                )
                .into());
            }
            let detail = match &a.dataset {
                Some(r) => Some(same_file(app, cx, r, &a.file).await?),
                None => None,
            };
            let report = check_report(&a, baseline.as_ref())?;
            let code = print_check(&a, &report)?;
            let summary = if report.passed {
                format!("valid: {} rows, {} rules", report.rows, report.rules)
            } else {
                let rules: std::collections::BTreeSet<&str> =
                    report.violations.iter().map(|v| v.rule).collect();
                format!(
                    "{} violations ({})",
                    report.violations.len(),
                    rules.into_iter().collect::<Vec<_>>().join(", ")
                )
            };
            let verdict = if report.passed {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            (
                detail,
                EvidenceKind::DataCheck,
                verdict,
                summary,
                serde_json::to_value(&report)?,
                code,
            )
        }
        DataCmd::Drift(a) => {
            let reference = match (&a.reference, &a.baseline, &a.baseline_dataset) {
                (Some(r), _, _) => read(r)?,
                (None, Some(b), _) => load_profile(b)?.stand_in(),
                (None, None, Some(r)) => registered_profile(app, cx, r).await?.stand_in(),
                (None, None, None) => return Err(UsageError(
                    "name --reference FILE, --baseline PROFILE or --baseline-dataset NAME@VERSION"
                        .into(),
                )
                .into()),
            };
            let detail = match &a.dataset {
                Some(r) => Some(same_file(app, cx, r, &a.current).await?),
                None => None,
            };
            let report = drift_report(&a, &reference, settings)?;
            let code = print_drift(&a, &report)?;
            let drifted: Vec<&str> = report
                .columns
                .iter()
                .filter(|c| c.drifted)
                .map(|c| c.name.as_str())
                .collect();
            let verdict = if report.dataset_drift {
                Verdict::Fail
            } else if drifted.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Warn
            };
            let summary = format!(
                "{} of {} columns drifted{}{}",
                drifted.len(),
                report.columns.len(),
                if drifted.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", drifted.join(", "))
                },
                if report.dataset_drift {
                    "; the dataset has drifted"
                } else {
                    ""
                }
            );
            (
                detail,
                EvidenceKind::Drift,
                verdict,
                summary,
                serde_json::to_value(&report)?,
                code,
            )
        }
        _ => return Err(UsageError("this command records no evidence".into()).into()),
    };
    if let Some(d) = subject {
        let (name, version) = (d.dataset.name.clone(), d.dataset.version.clone());
        let e = app
            .add_evidence(
                cx,
                NewEvidence {
                    subject_kind: "dataset".into(),
                    name: name.clone(),
                    version: version.clone(),
                    kind,
                    verdict,
                    summary: summary.clone(),
                    report: report.clone(),
                },
            )
            .await?;
        output::note(&format!(
            "recorded evidence {} for dataset {name}@{version}",
            e.id
        ));
        // Lineage: the models built from this dataset version carry it too.
        for m in &d.used_by {
            let e = app
                .add_evidence(
                    cx,
                    NewEvidence {
                        subject_kind: "model".into(),
                        name: m.model.clone(),
                        version: m.model_version.clone(),
                        kind,
                        verdict,
                        summary: format!("dataset {name}@{version} ({}): {summary}", m.how),
                        report: report.clone(),
                    },
                )
                .await?;
            output::note(&format!(
                "recorded evidence {} for model {}@{} (trained on it)",
                e.id, m.model, m.model_version
            ));
        }
    }
    Ok(code)
}

fn num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e4).contains(&x.abs()) {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

fn table(r: &DriftReport) {
    let rows: Vec<Vec<String>> = r
        .columns
        .iter()
        .map(|c| {
            let signals: Vec<&str> = c
                .signals
                .iter()
                .filter(|s| s.drifted)
                .map(|s| s.kind)
                .collect();
            vec![
                c.name.clone(),
                c.kind.to_owned(),
                serde_json::to_value(c.test)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                c.p_value.map_or_else(|| num(c.statistic), num),
                num(c.threshold),
                if c.drifted { "DRIFT" } else { "ok" }.to_owned(),
                signals.join(", "),
            ]
        })
        .collect();
    output::table(
        &[
            "column",
            "type",
            "test",
            "value",
            "threshold",
            "drift",
            "signals",
        ],
        &rows,
    );
    output::line(format!(
        "{} of {} columns drifted (share {:.2}, weighed {:.2}; threshold {:.2}): {}",
        r.columns.iter().filter(|c| c.drifted).count(),
        r.columns.len(),
        r.drift_share,
        r.weighted_share,
        r.threshold_share,
        if r.dataset_drift {
            "the dataset has drifted"
        } else {
            "no dataset drift"
        }
    ));
}
