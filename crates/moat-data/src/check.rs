//! Validation of a dataset against a baseline profile and explicit constraints: the
//! schema (missing, extra and retyped columns), null limits, ranges, allowed
//! categories, uniqueness and row-count bounds. Every violation names its column, how
//! many values break it, and the first rows that do (0-based data rows, with the value).
//!
//! Rules come from two places. Explicit ones from [`Constraints`] (a TOML file to
//! users). Inferred ones from the baseline, unless `infer = false`: a column the
//! baseline never had empty must not be empty, a column whose every baseline value was
//! distinct (known exactly, see [`crate::profile::ColumnProfile::unique`]) stays unique, and a categorical column of few categories (all of them
//! known) keeps to them. Memory is bounded: uniqueness is checked on the first
//! [`MAX_UNIQUE`] values of a column (the report says so when it stops there).

use std::collections::{BTreeMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::collect::FastMap;
use crate::profile::Profile;
use crate::read::{storage, ReadError, Storage, Table};

/// Values per column checked for uniqueness (16 bytes of memory each).
pub const MAX_UNIQUE: usize = 5_000_000;
/// Examples kept per violation.
pub const EXAMPLES: usize = 5;
/// Baseline categories at most this many are inferred as the allowed ones.
pub const INFER_ALLOWED_MAX: usize = 50;
/// Baseline rows needed before a rule is inferred from it.
pub const INFER_MIN_ROWS: u64 = 100;

/// Explicit constraints (what a `constraints.toml` holds).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default)]
    pub dataset: DatasetRules,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRules>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRules {
    pub min_rows: Option<u64>,
    pub max_rows: Option<u64>,
    /// Columns the baseline lacks are violations unless allowed.
    #[serde(default)]
    pub allow_extra_columns: bool,
    /// Columns of the baseline the file may lack.
    #[serde(default)]
    pub optional_columns: Vec<String>,
    /// Infer rules from the baseline (see the module's documentation).
    #[serde(default = "yes")]
    pub infer: bool,
    /// A column read as another Arrow type of the same kind (Int64 as Float64) is
    /// accepted when true; a change of kind (numbers read as text) never is.
    #[serde(default)]
    pub allow_type_widening: bool,
}

fn yes() -> bool {
    true
}

impl Default for DatasetRules {
    fn default() -> Self {
        DatasetRules {
            min_rows: None,
            max_rows: None,
            allow_extra_columns: false,
            optional_columns: Vec::new(),
            infer: true,
            allow_type_widening: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRules {
    /// `numerical`, `categorical` or `text`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// No empty value at all.
    pub not_null: Option<bool>,
    /// The share of empty values at most this (0 to 1).
    pub max_null_share: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The only values allowed.
    pub allowed: Option<Vec<String>>,
    pub unique: Option<bool>,
}

/// One broken rule.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Violation {
    /// `missing-column`, `extra-column`, `retyped-column`, `row-count`, `not-null`,
    /// `null-share`, `below-min`, `above-max`, `not-allowed`, `not-unique`,
    /// `mixed-types`.
    pub rule: &'static str,
    /// The column, or `None` for the dataset's rules.
    pub column: Option<String>,
    /// Values (or rows) that break it.
    pub count: u64,
    pub message: String,
    /// The first rows that break it.
    pub examples: Vec<Example>,
    /// Whether the rule came from the constraints or was inferred from the baseline.
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Example {
    /// 0-based data row.
    pub row: u64,
    /// The value as text, `null` when empty.
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub rows: u64,
    pub columns: usize,
    /// Rules checked (explicit and inferred).
    pub rules: usize,
    pub violations: Vec<Violation>,
    pub passed: bool,
    /// Limits that cut a check short (uniqueness past [`MAX_UNIQUE`] values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The rules of one column, as checked.
#[derive(Debug, Default)]
struct Active {
    not_null: Option<&'static str>,
    max_null_share: Option<(f64, &'static str)>,
    min: Option<(f64, &'static str)>,
    max: Option<(f64, &'static str)>,
    allowed: Option<(HashSet<String>, &'static str)>,
    unique: Option<&'static str>,
}

impl Active {
    fn count(&self) -> usize {
        usize::from(self.not_null.is_some())
            + usize::from(self.max_null_share.is_some())
            + usize::from(self.min.is_some())
            + usize::from(self.max.is_some())
            + usize::from(self.allowed.is_some())
            + usize::from(self.unique.is_some())
    }
}

/// Counters of one rule on one column.
#[derive(Debug, Default)]
struct Tally {
    count: u64,
    examples: Vec<Example>,
}

impl Tally {
    fn hit(&mut self, row: u64, value: Option<String>) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(Example { row, value });
        }
    }
}

#[derive(Debug, Default)]
struct ColumnState {
    nulls: Tally,
    below: Tally,
    above: Tally,
    not_allowed: Tally,
    duplicates: Tally,
    seen: FastMap<u64, ()>,
    unique_stopped: bool,
    rows: u64,
}

const STRING_KINDS: [&str; 3] = ["categorical", "text", "other"];

fn kind_of_type(t: &DataType) -> &'static str {
    match storage(t) {
        Storage::Number => "numerical",
        Storage::Label => "categorical",
        Storage::Other => "other",
    }
}

/// Checks every batch of `table` against the baseline and the constraints.
pub fn check(
    table: &mut Table,
    baseline: Option<&Profile>,
    constraints: &Constraints,
) -> Result<CheckReport, ReadError> {
    let fields: Vec<(String, DataType)> = table
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let mut violations = Vec::new();
    let mut rules = 0usize;
    let d = &constraints.dataset;

    // The schema against the baseline.
    if let Some(b) = baseline {
        rules += 1;
        for bc in &b.columns {
            match fields.iter().find(|(n, _)| n == &bc.name) {
                None if !d.optional_columns.contains(&bc.name) => violations.push(Violation {
                    rule: "missing-column",
                    column: Some(bc.name.clone()),
                    count: 1,
                    message: format!(
                        "the baseline has column `{}` ({}), the file does not",
                        bc.name, bc.arrow_type
                    ),
                    examples: Vec::new(),
                    source: "baseline",
                }),
                None => {}
                Some((_, t)) => {
                    let (kind, was) = (kind_of_type(t), base_kind(&bc.kind));
                    let retyped = kind != was
                        || (!d.allow_type_widening
                            && !bc.arrow_type.is_empty()
                            && t.to_string() != bc.arrow_type);
                    if retyped {
                        violations.push(Violation {
                            rule: "retyped-column",
                            column: Some(bc.name.clone()),
                            count: 1,
                            message: format!(
                                "`{}` is {} ({kind}) in the file, {} ({}) in the baseline",
                                bc.name, t, bc.arrow_type, bc.kind
                            ),
                            examples: Vec::new(),
                            source: "baseline",
                        });
                    }
                }
            }
        }
        if !d.allow_extra_columns {
            for (n, t) in &fields {
                if !b.columns.iter().any(|c| &c.name == n) {
                    violations.push(Violation {
                        rule: "extra-column",
                        column: Some(n.clone()),
                        count: 1,
                        message: format!("`{n}` ({t}) is not in the baseline"),
                        examples: Vec::new(),
                        source: "baseline",
                    });
                }
            }
        }
    }
    for name in constraints.columns.keys() {
        if !fields.iter().any(|(n, _)| n == name) {
            violations.push(Violation {
                rule: "missing-column",
                column: Some(name.clone()),
                count: 1,
                message: format!(
                    "the constraints name column `{name}`, the file has no such column"
                ),
                examples: Vec::new(),
                source: "constraints",
            });
        }
    }

    // The rules of each column of the file.
    let mut active: Vec<Active> = Vec::with_capacity(fields.len());
    for (name, t) in &fields {
        let mut a = Active::default();
        let bc = baseline.and_then(|b| b.columns.iter().find(|c| &c.name == name));
        if let (true, Some(bc)) = (d.infer, bc) {
            let present = bc.rows - bc.nulls;
            if bc.rows >= INFER_MIN_ROWS && bc.nulls == 0 {
                a.not_null = Some("baseline");
            }
            if present >= INFER_MIN_ROWS && bc.unique == Some(true) {
                a.unique = Some("baseline");
            }
            if bc.kind == "categorical" && bc.rows >= INFER_MIN_ROWS {
                if let Some(top) = &bc.top {
                    if top.other == 0 && top.top.len() <= INFER_ALLOWED_MAX && a.unique.is_none() {
                        a.allowed =
                            Some((top.top.iter().map(|(k, _)| k.clone()).collect(), "baseline"));
                    }
                }
            }
        }
        if let Some(r) = constraints.columns.get(name) {
            rules += r.kind.iter().count();
            if let Some(k) = &r.kind {
                let is = kind_of_type(t);
                let ok = k == is || (is == "categorical" && STRING_KINDS.contains(&k.as_str()));
                if !ok {
                    violations.push(Violation {
                        rule: "retyped-column",
                        column: Some(name.clone()),
                        count: 1,
                        message: format!("`{name}` is {t} ({is}), the constraints say {k}"),
                        examples: Vec::new(),
                        source: "constraints",
                    });
                }
            }
            match r.not_null {
                Some(true) => a.not_null = Some("constraints"),
                Some(false) => a.not_null = None,
                None => {}
            }
            if let Some(s) = r.max_null_share {
                a.max_null_share = Some((s, "constraints"));
                // An explicit share of empties allowed replaces the inferred "never empty".
                if r.not_null.is_none() && a.not_null == Some("baseline") {
                    a.not_null = None;
                }
            }
            if let Some(m) = r.min {
                a.min = Some((m, "constraints"));
            }
            if let Some(m) = r.max {
                a.max = Some((m, "constraints"));
            }
            if let Some(v) = &r.allowed {
                a.allowed = Some((v.iter().cloned().collect(), "constraints"));
            }
            match r.unique {
                Some(true) => a.unique = Some("constraints"),
                Some(false) => a.unique = None,
                None => {}
            }
        }
        rules += a.count();
        active.push(a);
    }
    rules += usize::from(d.min_rows.is_some()) + usize::from(d.max_rows.is_some());

    let mut states: Vec<ColumnState> = fields.iter().map(|_| ColumnState::default()).collect();
    let mut row0 = 0u64;
    while let Some(batch) = table.next_batch() {
        let batch = batch?;
        check_batch(&batch, row0, &active, &mut states)?;
        row0 += batch.num_rows() as u64;
    }
    let rows = row0;

    let mut notes = Vec::new();
    for (((name, _), a), s) in fields.iter().zip(&active).zip(states) {
        let column = Some(name.clone());
        if let Some(src) = a.not_null {
            if s.nulls.count > 0 {
                violations.push(Violation {
                    rule: "not-null",
                    column: column.clone(),
                    count: s.nulls.count,
                    message: format!(
                        "{} empty values in `{name}`, which must have none",
                        s.nulls.count
                    ),
                    examples: s.nulls.examples.clone(),
                    source: src,
                });
            }
        }
        if let Some((limit, src)) = a.max_null_share {
            let share = if s.rows == 0 {
                0.0
            } else {
                s.nulls.count as f64 / s.rows as f64
            };
            if share > limit {
                violations.push(Violation {
                    rule: "null-share",
                    column: column.clone(),
                    count: s.nulls.count,
                    message: format!(
                        "{:.2}% of `{name}` is empty, more than the {:.2}% allowed",
                        share * 100.0,
                        limit * 100.0
                    ),
                    examples: s.nulls.examples.clone(),
                    source: src,
                });
            }
        }
        for (rule, tally, bound, word) in [
            ("below-min", &s.below, a.min, "below the minimum"),
            ("above-max", &s.above, a.max, "above the maximum"),
        ] {
            if let (Some((b, src)), true) = (bound, tally.count > 0) {
                violations.push(Violation {
                    rule,
                    column: column.clone(),
                    count: tally.count,
                    message: format!("{} values of `{name}` are {word} {b}", tally.count),
                    examples: tally.examples.clone(),
                    source: src,
                });
            }
        }
        if let (Some((set, src)), true) = (&a.allowed, s.not_allowed.count > 0) {
            let mut allowed: Vec<&String> = set.iter().collect();
            allowed.sort();
            let shown: Vec<&str> = allowed.iter().take(10).map(|s| s.as_str()).collect();
            violations.push(Violation {
                rule: "not-allowed",
                column: column.clone(),
                count: s.not_allowed.count,
                message: format!(
                    "{} values of `{name}` are not among the {} allowed ({}{})",
                    s.not_allowed.count,
                    set.len(),
                    shown.join(", "),
                    if set.len() > 10 { ", …" } else { "" }
                ),
                examples: s.not_allowed.examples.clone(),
                source: src,
            });
        }
        if let Some(src) = a.unique {
            if s.duplicates.count > 0 {
                violations.push(Violation {
                    rule: "not-unique",
                    column: column.clone(),
                    count: s.duplicates.count,
                    message: format!(
                        "{} values of `{name}` repeat an earlier one; it must be unique",
                        s.duplicates.count
                    ),
                    examples: s.duplicates.examples.clone(),
                    source: src,
                });
            }
            if s.unique_stopped {
                notes.push(format!(
                    "uniqueness of `{name}` was checked on its first {MAX_UNIQUE} values"
                ));
            }
        }
    }
    if let Some(min) = d.min_rows.filter(|&m| rows < m) {
        violations.push(Violation {
            rule: "row-count",
            column: None,
            count: rows,
            message: format!("{rows} rows, fewer than the {min} required"),
            examples: Vec::new(),
            source: "constraints",
        });
    }
    if let Some(max) = d.max_rows.filter(|&m| rows > m) {
        violations.push(Violation {
            rule: "row-count",
            column: None,
            count: rows,
            message: format!("{rows} rows, more than the {max} allowed"),
            examples: Vec::new(),
            source: "constraints",
        });
    }
    Ok(CheckReport {
        rows,
        columns: fields.len(),
        rules,
        passed: violations.is_empty(),
        violations,
        notes,
    })
}

fn base_kind(k: &str) -> &'static str {
    match k {
        "numerical" => "numerical",
        "categorical" | "text" => "categorical",
        _ => "other",
    }
}

fn check_batch(
    batch: &RecordBatch,
    row0: u64,
    active: &[Active],
    states: &mut [ColumnState],
) -> Result<(), ReadError> {
    let cast_error = |e: arrow_schema::ArrowError| ReadError::Malformed {
        format: "column",
        message: e.to_string(),
    };
    for ((array, a), s) in batch.columns().iter().zip(active).zip(states.iter_mut()) {
        s.rows += array.len() as u64;
        if a.count() == 0 {
            continue;
        }
        let numeric = storage(array.data_type()) == Storage::Number;
        let floats = if numeric && (a.min.is_some() || a.max.is_some()) {
            let cast = if matches!(
                array.data_type(),
                DataType::Date32
                    | DataType::Date64
                    | DataType::Timestamp(..)
                    | DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Duration(_)
            ) {
                arrow_cast::cast(
                    &arrow_cast::cast(array, &DataType::Int64).map_err(cast_error)?,
                    &DataType::Float64,
                )
            } else {
                arrow_cast::cast(array, &DataType::Float64)
            }
            .map_err(cast_error)?;
            Some(floats_of(&cast))
        } else {
            None
        };
        // Text forms, for examples, categories and uniqueness.
        let text = if a.allowed.is_some()
            || a.unique.is_some()
            || a.min.is_some()
            || a.max.is_some()
            || a.not_null.is_some()
            || a.max_null_share.is_some()
        {
            arrow_cast::cast(array, &DataType::Utf8).ok()
        } else {
            None
        };
        let text = text.as_ref().map(|t| t.as_string::<i32>());
        for i in 0..array.len() {
            let row = row0 + i as u64;
            let value = text.and_then(|t| (!t.is_null(i)).then(|| t.value(i)));
            let is_nan = floats
                .as_ref()
                .and_then(|f| f.get(i).copied().flatten())
                .is_some_and(f64::is_nan);
            if array.is_null(i) || is_nan {
                if a.not_null.is_some() || a.max_null_share.is_some() {
                    s.nulls.hit(row, None);
                }
                continue;
            }
            if let Some(Some(v)) = floats.as_ref().and_then(|f| f.get(i).copied()) {
                if a.min.is_some_and(|(m, _)| v < m) {
                    s.below.hit(row, value.map(str::to_owned));
                }
                if a.max.is_some_and(|(m, _)| v > m) {
                    s.above.hit(row, value.map(str::to_owned));
                }
            }
            if let (Some((set, _)), Some(v)) = (&a.allowed, value) {
                if !set.contains(v) {
                    s.not_allowed.hit(row, Some(v.to_owned()));
                }
            }
            if let (Some(_), Some(v), false) = (a.unique, value, s.unique_stopped) {
                let h = crate::sketch::hash64(v.as_bytes());
                if s.seen.insert(h, ()).is_some() {
                    s.duplicates.hit(row, Some(v.to_owned()));
                } else if s.seen.len() >= MAX_UNIQUE {
                    s.unique_stopped = true;
                    s.seen = FastMap::default();
                }
            }
        }
    }
    Ok(())
}

fn floats_of(a: &arrow_array::ArrayRef) -> Vec<Option<f64>> {
    a.as_primitive::<arrow_array::types::Float64Type>()
        .iter()
        .collect()
}
