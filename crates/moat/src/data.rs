//! `moat data drift`: reads two datasets with `moat-data` and prints the drift report,
//! as a table or as the JSON other tools parse. Exit codes: 0 no dataset drift, 1 the
//! dataset drifted, 2 a usage or I/O error.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use moat_data::drift::{compare, DriftReport, Options, Test};

use crate::cli::{DataCmd, DataDriftArgs, DataFormat};
use crate::context::UsageError;
use crate::output;

pub(crate) fn run(cmd: DataCmd) -> anyhow::Result<ExitCode> {
    let result = match cmd {
        DataCmd::Drift(a) => drift(&a),
    };
    // Exit 1 means drift: a file that cannot be read is 2, like a usage error.
    result.or_else(|e| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "moat: error: {e:#}");
        Ok(ExitCode::from(2))
    })
}

fn read(path: &Path) -> anyhow::Result<moat_data::collect::DatasetValues> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut table =
        moat_data::read::open(file).with_context(|| format!("cannot read `{}`", path.display()))?;
    moat_data::collect::collect(&mut table)
        .with_context(|| format!("cannot read `{}`", path.display()))
}

fn options(a: &DataDriftArgs) -> anyhow::Result<Options> {
    let mut o = Options {
        drift_share: a.drift_share,
        ignore: a.ignore.iter().cloned().collect(),
        ..Options::default()
    };
    if !(0.0..=1.0).contains(&a.drift_share) {
        return Err(UsageError("--drift-share is a share: between 0 and 1".into()).into());
    }
    for t in &a.tests {
        let bad = || {
            UsageError(format!(
                "invalid --test `{t}`: use COLUMN=TEST or COLUMN=TEST:THRESHOLD with TEST one of ks, wasserstein, psi, chisquare, jensenshannon"
            ))
        };
        let (col, spec) = t.split_once('=').ok_or_else(bad)?;
        let (name, threshold) = match spec.split_once(':') {
            Some((n, th)) => (n, Some(th.parse::<f64>().map_err(|_| bad())?)),
            None => (spec, None),
        };
        let test = Test::parse(name).ok_or_else(bad)?;
        o.per_column.insert(col.to_owned(), (test, threshold));
    }
    Ok(o)
}

fn drift(a: &DataDriftArgs) -> anyhow::Result<ExitCode> {
    let o = options(a)?;
    let reference = read(&a.reference)?;
    let current = read(&a.current)?;
    let report = compare(&reference, &current, &o);
    match a.format {
        DataFormat::Json => output::json(&report)?,
        DataFormat::Table => table(&report),
    }
    Ok(ExitCode::from(u8::from(report.dataset_drift)))
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
