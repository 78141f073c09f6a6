//! `tabular-anomaly` and `tabular-drift`: live rows against the model's data profile
//! (`moat data profile`).
//!
//! `tabular-anomaly` judges each request: a column the profile does not know, a column
//! missing, a value of the wrong type, a number outside the profiled range widened by
//! [`RANGE_MARGIN`] of its width, a category the profile never saw (only for columns
//! whose every label the profile holds), a missing value where the training data had
//! none. `tabular-drift` gathers the rows of every request in the data crate's
//! streaming collector (bounded sketches) and, every `drift_window` rows, compares the
//! window with the profile using the same tests as `moat data drift`; it raises one
//! finding per drifted window naming the drifted columns. Known false positives: a
//! profile made from too few rows (ranges too narrow); windows of one caller's unusual
//! but legitimate segment of the population.

use std::sync::{Arc, Mutex};

use moat_data::collect::{Collector, DatasetValues, Limits, Value};
use moat_data::drift::{self, Options};
use moat_data::profile::Profile;

use super::rows::Cell;
use super::{Detector, DetectorCx, DetectorId, Finding, Phase, Severity};
use crate::config::Kind;

/// Share of a column's profiled width a value may lie outside its range.
pub(crate) const RANGE_MARGIN: f64 = 0.1;
/// Findings reported per request at most (the rest are counted in the last one).
const MAX_FINDINGS: usize = 20;

/// What the anomaly checks need of one profiled column.
struct Column {
    name: String,
    numeric: bool,
    /// `[low, high]` a number may take.
    range: Option<(f64, f64)>,
    /// Every label, when the profile holds them all.
    labels: Option<std::collections::HashSet<String>>,
    never_null: bool,
}

fn columns(profile: &Profile, target: Option<&str>) -> Vec<Column> {
    profile
        .columns
        .iter()
        .filter(|c| Some(c.name.as_str()) != target)
        .map(|c| {
            let numeric = c.kind == "numerical";
            let range = match (numeric, c.min, c.max) {
                (true, Some(lo), Some(hi)) => {
                    let m = (hi - lo).abs() * RANGE_MARGIN;
                    Some((lo - m, hi + m))
                }
                _ => None,
            };
            let labels = match (&c.top, c.kind.as_str()) {
                (Some(f), "categorical") if f.other == 0 && c.rows >= 100 => {
                    Some(f.top.iter().map(|(k, _)| k.clone()).collect())
                }
                _ => None,
            };
            Column {
                name: c.name.clone(),
                numeric,
                range,
                labels,
                never_null: c.nulls == 0 && c.rows >= 100,
            }
        })
        .collect()
}

pub struct TabularAnomaly {
    columns: Vec<Column>,
    names: Vec<String>,
}

impl TabularAnomaly {
    pub fn new(profile: Arc<Profile>, target: Option<String>) -> Self {
        let columns = columns(&profile, target.as_deref());
        let names = columns.iter().map(|c| c.name.clone()).collect();
        TabularAnomaly { columns, names }
    }

    fn finding(severity: Severity, evidence: String) -> Finding {
        Finding {
            detector: DetectorId::TabularAnomaly,
            severity,
            // Craft adversarial data.
            atlas: "AML.T0043",
            evidence,
            repeat: false,
        }
    }
}

impl Detector for TabularAnomaly {
    fn id(&self) -> DetectorId {
        DetectorId::TabularAnomaly
    }

    fn phases(&self) -> &'static [Phase] {
        &[Phase::RequestBody]
    }

    fn applies_to(&self, kind: Kind) -> bool {
        kind == Kind::Tabular
    }

    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>) {
        let Some(rows) = cx.rows else {
            if cx.json.is_some() || !cx.texts.is_empty() {
                findings.push(Self::finding(
                    Severity::Low,
                    "the request holds no rows in a known shape".into(),
                ));
            }
            return;
        };
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let mut found: Vec<String> = Vec::new();
        let mut worst = Severity::Low;
        let mut note = |sev: Severity, s: String| {
            worst = worst.max(sev);
            found.push(s);
        };
        if rows.ambiguous {
            note(
                Severity::Medium,
                "the body holds rows under more than one key (`rows`, `instances`, …): the model server may read others than the ones inspected".into(),
            );
        }
        if rows.truncated {
            note(
                Severity::Medium,
                format!(
                    "the body holds more than {} rows or {} values a row: the rest was not inspected",
                    super::rows::MAX_ROWS,
                    super::rows::MAX_VALUES
                ),
            );
        }
        for i in 0..rows.rows.len() {
            if !rows.named && rows.rows[i].len() != names.len() {
                note(
                    Severity::Medium,
                    format!(
                        "row {i} has {} values where the profile has {} columns",
                        rows.rows[i].len(),
                        names.len()
                    ),
                );
            }
            let (vals, unknown) = rows.aligned(i, &names);
            for u in unknown {
                note(
                    Severity::Medium,
                    format!("row {i}: unknown column `{}`", clip(u)),
                );
            }
            for (c, v) in self.columns.iter().zip(vals) {
                match v {
                    None if rows.named => note(
                        Severity::Low,
                        format!("row {i}: column `{}` missing", c.name),
                    ),
                    None => {}
                    Some(Cell::Null) if c.never_null => note(
                        Severity::Low,
                        format!("row {i}: `{}` is null, never null in the profile", c.name),
                    ),
                    Some(Cell::Null) => {}
                    Some(Cell::Nested) => note(
                        Severity::Medium,
                        format!("row {i}: `{}` holds an array or object", c.name),
                    ),
                    Some(v @ (Cell::Number(_) | Cell::Text(_))) if c.numeric => {
                        let x = match v {
                            Cell::Number(x) => Some(*x),
                            Cell::Text(t) => t.trim().parse::<f64>().ok(),
                            _ => None,
                        };
                        match (x, c.range) {
                            (None, _) => note(
                                Severity::Medium,
                                format!("row {i}: `{}` is text in a numerical column", c.name),
                            ),
                            (Some(x), Some((lo, hi))) if x < lo || x > hi => note(
                                Severity::Medium,
                                // The value itself may be personal data: only where it lies.
                                format!(
                                    "row {i}: `{}` {} the profiled range [{lo:.4}, {hi:.4}]",
                                    c.name,
                                    if x < lo { "below" } else { "above" }
                                ),
                            ),
                            _ => {}
                        }
                    }
                    Some(other) => {
                        let label = match other {
                            Cell::Text(t) => t.clone(),
                            Cell::Number(x) => x.to_string(),
                            Cell::Bool(b) => b.to_string(),
                            _ => continue,
                        };
                        if let Some(known) = &c.labels {
                            if !known.contains(&label) {
                                // The value itself may be personal data: only its size.
                                note(
                                    Severity::Low,
                                    format!(
                                        "row {i}: `{}` holds a category the profile never saw ({} chars)",
                                        c.name,
                                        label.chars().count()
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        let total = found.len();
        for (n, e) in found.into_iter().enumerate() {
            if n + 1 == MAX_FINDINGS && total > MAX_FINDINGS {
                findings.push(Self::finding(
                    worst,
                    format!("{} more anomalies in this request", total - n),
                ));
                break;
            }
            findings.push(Self::finding(worst.min(Severity::Medium), e));
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Rows kept for the drift comparison: a uniform sample per column beyond this.
const DRIFT_SAMPLE: usize = 5000;

pub struct TabularDrift {
    profile: Arc<Profile>,
    /// What the profile stands in with, made once.
    reference: DatasetValues,
    window: usize,
    options: Options,
    state: Mutex<Collector>,
}

impl TabularDrift {
    pub fn new(profile: Arc<Profile>, target: Option<String>, window: usize) -> Self {
        let mut options = Options::default();
        if let Some(t) = target {
            options.ignore.insert(t);
        }
        let reference = profile.stand_in();
        let state = Mutex::new(Self::collector(&profile));
        TabularDrift {
            profile,
            reference,
            window,
            options,
            state,
        }
    }

    fn collector(p: &Profile) -> Collector {
        Collector::for_profile(
            p,
            Limits {
                sketches: false,
                max_numbers: DRIFT_SAMPLE,
            },
        )
    }
}

impl Detector for TabularDrift {
    fn id(&self) -> DetectorId {
        DetectorId::TabularDrift
    }

    fn phases(&self) -> &'static [Phase] {
        &[Phase::RequestBody]
    }

    fn applies_to(&self, kind: Kind) -> bool {
        kind == Kind::Tabular
    }

    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>) {
        let Some(rows) = cx.rows else { return };
        let names: Vec<&str> = self
            .profile
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let target = self.options.ignore.iter().next().map(String::as_str);
        // Positional rows leave the target out.
        let inputs: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| Some(*n) != target)
            .collect();
        let full = {
            let mut c = self.state.lock().unwrap_or_else(|p| p.into_inner());
            for i in 0..rows.rows.len() {
                let (vals, _) = rows.aligned(i, &inputs);
                let mut by_input = vals.into_iter();
                let row: Vec<Value<'_>> = names
                    .iter()
                    .map(|n| {
                        if Some(*n) == target {
                            return Value::Null;
                        }
                        match by_input.next().flatten() {
                            Some(Cell::Number(x)) => Value::Number(*x),
                            Some(Cell::Text(t)) => Value::Text(t),
                            Some(Cell::Bool(b)) => Value::Bool(*b),
                            _ => Value::Null,
                        }
                    })
                    .collect();
                c.add_row(&row);
            }
            if c.rows() as usize >= self.window {
                Some(std::mem::replace(&mut *c, Self::collector(&self.profile)))
            } else {
                None
            }
        };
        // The comparison runs outside the lock: other requests go on filling the next
        // window meanwhile.
        if let Some(window) = full {
            let current = window.finish();
            let report = drift::compare(&self.reference, &current, &self.options);
            if report.dataset_drift {
                let mut cols: Vec<&drift::ColumnDrift> =
                    report.columns.iter().filter(|c| c.drifted).collect();
                cols.sort_by(|a, b| b.severity.total_cmp(&a.severity));
                let names: Vec<String> = cols
                    .iter()
                    .take(10)
                    .map(|c| format!("{} ({:?} {:.3})", c.name, c.test, c.statistic))
                    .collect();
                findings.push(Finding {
                    detector: DetectorId::TabularDrift,
                    severity: if report.drift_share >= 0.75 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    // Erode ML model integrity: inputs unlike the training data.
                    atlas: "AML.T0031",
                    evidence: format!(
                        "the last {} rows drift from the profile: {} of {} columns ({:.0}%): {}",
                        report.current_rows,
                        cols.len(),
                        report.columns.len(),
                        report.drift_share * 100.0,
                        names.join(", ")
                    ),
                    repeat: false,
                });
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::Rows;

    /// A profile of 2,000 rows: `income` ~ N(50, 10), `age` 20..70, `region` one of
    /// three, `label` 0/1.
    pub(crate) fn profile() -> Profile {
        use arrow_schema::DataType;
        let cols = [
            ("income", DataType::Float64),
            ("age", DataType::Float64),
            ("region", DataType::Utf8),
            ("label", DataType::Int64),
        ];
        let mut c = Collector::new(
            &cols,
            Limits {
                sketches: true,
                max_numbers: 100_000,
            },
        );
        let mut rng = 7u64;
        for i in 0..2000 {
            let income = 50.0 + 10.0 * normal(&mut rng);
            let age = 20.0 + (i % 50) as f64;
            let region = ["north", "south", "east"][i % 3];
            c.add_row(&[
                Value::Number(income),
                Value::Number(age),
                Value::Text(region),
                Value::Number((i % 2) as f64),
            ]);
        }
        c.profile()
    }

    /// A standard normal draw (xorshift and Box–Muller).
    pub(crate) fn normal(s: &mut u64) -> f64 {
        let mut u = || {
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            ((*s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (a, b) = (u(), u());
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }

    fn cx<'a>(rows: &'a Rows, texts: &'a [String]) -> DetectorCx<'a> {
        DetectorCx {
            endpoint: "e",
            key_id: "k",
            kind: Kind::Tabular,
            phase: Phase::RequestBody,
            texts,
            json: None,
            rows: Some(rows),
        }
    }

    fn rows(v: serde_json::Value) -> Rows {
        Rows::from_json(&v).expect("rows")
    }

    #[test]
    fn ordinary_rows_pass_and_odd_ones_are_named() {
        let d = TabularAnomaly::new(Arc::new(profile()), Some("label".into()));
        let mut f = Vec::new();
        let ok = rows(serde_json::json!({"rows": [[52.0, 33, "north"], [41.5, 60, "east"]]}));
        d.inspect(&cx(&ok, &[]), &mut f);
        assert!(f.is_empty(), "{f:?}");
        let odd = rows(serde_json::json!({"instances": [
            {"income": 5000.0, "age": 30, "region": "atlantis", "ssn": "x"},
            {"income": "lots", "age": 30, "region": "north"}
        ]}));
        d.inspect(&cx(&odd, &[]), &mut f);
        let all = format!("{f:?}");
        for want in [
            "`income` above the profiled range",
            "unknown column `ssn`",
            "category the profile never saw (8 chars)",
            "`income` is text in a numerical column",
        ] {
            assert!(all.contains(want), "missing {want}: {all}");
        }
        assert!(!all.contains("atlantis"), "values are not echoed: {all}");
        let short = rows(serde_json::json!({"rows": [[1.0, 2.0]]}));
        f.clear();
        d.inspect(&cx(&short, &[]), &mut f);
        assert!(format!("{f:?}").contains("2 values where the profile has 3 columns"));
    }

    #[test]
    fn a_shifted_window_drifts_and_a_like_one_does_not() {
        let d = TabularDrift::new(Arc::new(profile()), Some("label".into()), 500);
        let mut rng = 99u64;
        let mut run = |shift: f64, regions: &[&str]| {
            let mut f = Vec::new();
            for b in 0..10 {
                let batch: Vec<serde_json::Value> = (0..50)
                    .map(|i| {
                        let income = 50.0 + shift + 10.0 * normal(&mut rng);
                        serde_json::json!([
                            income,
                            20 + (b * 50 + i) % 50,
                            regions[i % regions.len()]
                        ])
                    })
                    .collect();
                let r = rows(serde_json::json!({ "rows": batch }));
                d.inspect(&cx(&r, &[]), &mut f);
            }
            f
        };
        let same = run(0.0, &["north", "south", "east"]);
        assert!(same.is_empty(), "{same:?}");
        let shifted = run(25.0, &["north"]);
        assert_eq!(shifted.len(), 1, "{shifted:?}");
        let e = &shifted[0].evidence;
        assert!(e.contains("income") && e.contains("region"), "{e}");
        assert!(!e.contains("age"), "{e}");
    }
}
