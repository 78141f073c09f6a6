//! Poisoning signals in a training set: rows ranked by how suspicious they are, each
//! with its reasons, and dataset-level findings.
//!
//! - `label-disagreement`: the row's label differs from nearly all of its nearest
//!   neighbours (standardised numeric features; neighbours from the clean reference
//!   when given, so that a cluster of poisoned rows cannot vouch for itself).
//! - `duplicate-group`, `near-duplicate`, `duplicate-label-conflict`: exact copies of
//!   a row (row hashing), near copies (MinHash over text, tiny distances over numbers),
//!   and copies that carry different labels.
//! - `trigger-candidate`: a value or token strongly and unusually tied to one label —
//!   support, confidence and lift, and *unusually*: the rest of the rows that carry it
//!   point to another label (a naive Bayes model of the row without it), or it is far
//!   more frequent than in the clean reference.
//! - `value-spike`: one exact number far more frequent than its neighbourhood (a
//!   planted constant).
//! - `outlier`: isolation forest over the standardised features, and robust z-scores.
//!
//! A row's score is `1 - Π(1 - w)` over its reasons' weights. Memory: the analysed
//! rows are held (numbers as `f64`, labels and tokens interned); at most
//! [`Options::max_rows`] rows are read.

mod forest;
mod knn;
mod minhash;

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::Array;
use arrow_schema::DataType;
use serde::Serialize;

use crate::collect::FastMap;
use crate::read::{storage, ReadError, Storage, Table};

#[derive(Debug, Clone)]
pub struct Options {
    /// The label column.
    pub label: String,
    /// An identifier column, left out of the analysis (it is in no row's features).
    pub id: Option<String>,
    /// Other columns left out.
    pub ignore: Vec<String>,
    /// Neighbours consulted per row.
    pub k: usize,
    /// Rows listed from this score.
    pub min_score: f64,
    /// Rows read at most (the rest of the file is not analysed, and the report says so).
    pub max_rows: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            label: String::new(),
            id: None,
            ignore: Vec::new(),
            k: 10,
            min_score: 0.5,
            max_rows: 2_000_000,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Suspicious rows, most suspicious first.
    pub rows: Vec<RowFinding>,
    pub findings: Vec<Finding>,
    /// Rows analysed, and per label how many.
    pub analysed_rows: u64,
    pub labels: BTreeMap<String, u64>,
    /// The columns each analysis used.
    pub features: Features,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Features {
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    pub text: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowFinding {
    /// 0-based data row.
    pub row: u64,
    pub score: f64,
    pub reasons: Vec<&'static str>,
    pub label: Option<String>,
    /// What each reason saw, for people.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `trigger-candidate`, `value-spike`, `duplicate-group`, `near-duplicate`,
    /// `label-disagreement`, `outlier`.
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Rows concerned.
    pub rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift: Option<f64>,
    /// The first rows concerned.
    pub examples: Vec<u64>,
}

/// A text column's values with at least this many words on average (and mostly
/// distinct) is text.
const TEXT_WORDS: f64 = 4.0;
const NULL: u32 = u32::MAX;

/// Interned strings of a column.
#[derive(Default)]
struct Interner {
    ids: FastMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }
    fn name(&self, i: u32) -> Option<&str> {
        self.values.get(i as usize).map(String::as_str)
    }
}

enum Col {
    Numeric(Vec<f64>),
    Strings(Vec<u32>, Interner),
}

/// A dataset held for analysis.
struct Data {
    names: Vec<String>,
    cols: Vec<Col>,
    labels: Vec<u32>,
    rows: usize,
    truncated: bool,
}

fn load(table: &mut Table, o: &Options, labels: &mut Interner) -> Result<Data, ReadError> {
    let fields: Vec<(String, DataType)> = table
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let label_at = fields
        .iter()
        .position(|(n, _)| n == &o.label)
        .ok_or_else(|| ReadError::Malformed {
            format: "dataset",
            message: format!(
                "no label column `{}` (the columns are {})",
                o.label,
                fields
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    let keep: Vec<usize> = (0..fields.len())
        .filter(|&i| {
            let n = fields.get(i).map(|f| f.0.as_str()).unwrap_or_default();
            i != label_at
                && Some(n) != o.id.as_deref()
                && !o.ignore.iter().any(|x| x == n)
                && fields
                    .get(i)
                    .is_some_and(|f| storage(&f.1) != Storage::Other)
        })
        .collect();
    let mut names = Vec::new();
    let mut cols = Vec::new();
    for &i in &keep {
        if let Some((n, t)) = fields.get(i) {
            names.push(n.clone());
            cols.push(match storage(t) {
                Storage::Number => Col::Numeric(Vec::new()),
                _ => Col::Strings(Vec::new(), Interner::default()),
            });
        }
    }
    let mut label_ids = Vec::new();
    let mut rows = 0usize;
    let mut truncated = false;
    let err = |e: arrow_schema::ArrowError| ReadError::Malformed {
        format: "column",
        message: e.to_string(),
    };
    while let Some(batch) = table.next_batch() {
        let batch = batch?;
        let take = batch.num_rows().min(o.max_rows - rows);
        if take < batch.num_rows() {
            truncated = true;
        }
        let batch = batch.slice(0, take);
        if let Some(a) = batch.columns().get(label_at) {
            let t = arrow_cast::cast(a, &DataType::Utf8).map_err(err)?;
            let t = t.as_string::<i32>();
            for v in t.iter() {
                label_ids.push(v.map_or(NULL, |s| labels.id(s)));
            }
        }
        for (&i, col) in keep.iter().zip(cols.iter_mut()) {
            let Some(a) = batch.columns().get(i) else {
                continue;
            };
            match col {
                Col::Numeric(v) => {
                    let a = if matches!(
                        a.data_type(),
                        DataType::Date32
                            | DataType::Date64
                            | DataType::Timestamp(..)
                            | DataType::Time32(_)
                            | DataType::Time64(_)
                            | DataType::Duration(_)
                    ) {
                        arrow_cast::cast(a, &DataType::Int64).map_err(err)?
                    } else {
                        a.clone()
                    };
                    let f = arrow_cast::cast(&a, &DataType::Float64).map_err(err)?;
                    v.extend(
                        f.as_primitive::<arrow_array::types::Float64Type>()
                            .iter()
                            .map(|x| x.unwrap_or(f64::NAN)),
                    );
                }
                Col::Strings(v, int) => {
                    let t = arrow_cast::cast(a, &DataType::Utf8).map_err(err)?;
                    for s in t.as_string::<i32>().iter() {
                        v.push(s.map_or(NULL, |s| int.id(s)));
                    }
                }
            }
        }
        rows += take;
        if rows >= o.max_rows {
            truncated = truncated || table.next_batch().is_some();
            break;
        }
    }
    Ok(Data {
        names,
        cols,
        labels: label_ids,
        rows,
        truncated,
    })
}

/// Per-column roles after loading.
struct Roles {
    numeric: Vec<usize>,
    categorical: Vec<usize>,
    text: Vec<usize>,
}

fn roles(d: &Data) -> Roles {
    let mut r = Roles {
        numeric: Vec::new(),
        categorical: Vec::new(),
        text: Vec::new(),
    };
    for (i, c) in d.cols.iter().enumerate() {
        match c {
            Col::Numeric(_) => r.numeric.push(i),
            Col::Strings(v, int) => {
                let present = v.iter().filter(|&&x| x != NULL).count().max(1);
                let words: usize = v
                    .iter()
                    .filter(|&&x| x != NULL)
                    .take(20_000)
                    .map(|&x| int.name(x).map_or(0, |s| s.split_whitespace().count()))
                    .sum();
                let sampled = present.min(20_000);
                let mean_words = words as f64 / sampled.max(1) as f64;
                let distinct = int.values.len() as f64 / present as f64;
                if mean_words >= TEXT_WORDS && distinct >= 0.3 {
                    r.text.push(i);
                } else {
                    r.categorical.push(i);
                }
            }
        }
    }
    r
}

/// Weights of the reasons in a row's score.
mod weight {
    pub(super) const DUPLICATE_CONFLICT: f64 = 0.8;
    pub(super) const DUPLICATE: f64 = 0.4;
    pub(super) const DUPLICATE_MANY: f64 = 0.55;
    pub(super) const NEAR_DUPLICATE: f64 = 0.35;
    pub(super) const NEAR_DUPLICATE_MANY: f64 = 0.5;
    pub(super) const TRIGGER_AGAINST_CONTENT: f64 = 0.9;
    pub(super) const TRIGGER: f64 = 0.55;
    pub(super) const VALUE_SPIKE: f64 = 0.3;
    pub(super) const OUTLIER: f64 = 0.3;
    pub(super) const OUTLIER_STRONG: f64 = 0.5;
}

#[derive(Default, Clone)]
struct RowState {
    reasons: Vec<(&'static str, f64, String)>,
}

struct Scores {
    rows: Vec<RowState>,
}

impl Scores {
    fn add(&mut self, row: usize, reason: &'static str, w: f64, evidence: String) {
        if let Some(r) = self.rows.get_mut(row) {
            // One weight per reason: the strongest.
            if let Some(x) = r.reasons.iter_mut().find(|x| x.0 == reason) {
                if w > x.1 {
                    x.1 = w;
                    x.2 = evidence;
                }
            } else {
                r.reasons.push((reason, w, evidence));
            }
        }
    }
}

/// Analyses `train` (and the clean `reference` when given, of the same columns).
pub fn analyse(
    train: &mut Table,
    reference: Option<&mut Table>,
    o: &Options,
) -> Result<Report, ReadError> {
    let mut labels = Interner::default();
    let d = load(train, o, &mut labels)?;
    let r = match reference {
        Some(t) => Some(load(t, o, &mut labels)?),
        None => None,
    };
    if let Some(r) = &r {
        if r.names != d.names {
            return Err(ReadError::Malformed {
                format: "reference",
                message: format!(
                    "the reference has columns {:?}, the training set {:?}: they must match",
                    r.names, d.names
                ),
            });
        }
    }
    let roles = roles(&d);
    let mut notes = Vec::new();
    if d.truncated {
        notes.push(format!(
            "only the first {} rows were analysed; sample the file to analyse all of it",
            d.rows
        ));
    }
    let mut scores = Scores {
        rows: vec![RowState::default(); d.rows],
    };
    let mut findings = Vec::new();

    let x = standardise(&d, r.as_ref(), &roles.numeric);
    let dim = roles.numeric.len();
    let rx = r.as_ref().map(|r| standardise_with(r, r, &roles.numeric));

    // Neighbours see the numbers and the categories of few values; near copies and
    // outliers the numbers only.
    let spec = onehot_spec(r.as_ref().unwrap_or(&d), &roles.categorical);
    let (fx, fdim) = neighbour_space(&d, r.as_ref().unwrap_or(&d), &roles.numeric, &spec);
    let frx = r
        .as_ref()
        .map(|r| neighbour_space(r, r, &roles.numeric, &spec).0);

    duplicates(&d, &roles, &labels, &mut scores, &mut findings, &mut notes);
    if dim >= 2 {
        near_copies(&d, &x, dim, &mut scores, &mut findings);
    }
    if fdim > 0 {
        neighbours(
            &d,
            r.as_ref(),
            &fx,
            frx.as_deref(),
            fdim,
            o,
            &labels,
            &mut scores,
            &mut findings,
            &mut notes,
        );
    } else {
        notes.push(
            "no numeric features or categories of few values: label disagreement with neighbours was not analysed"
                .into(),
        );
    }
    if dim > 0 {
        outliers(&d, &x, rx.as_deref(), dim, &mut scores, &mut findings);
    } else {
        notes.push("no numeric features: outliers were not analysed".into());
    }
    let spikes = value_spikes(&d, &roles, &mut scores, &mut findings);
    triggers(
        &d,
        r.as_ref(),
        &roles,
        &spikes,
        &labels,
        &mut scores,
        &mut findings,
    );

    let mut rows: Vec<RowFinding> = scores
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            if s.reasons.is_empty() {
                return None;
            }
            let score = 1.0 - s.reasons.iter().map(|x| 1.0 - x.1).product::<f64>();
            (score >= o.min_score).then(|| RowFinding {
                row: i as u64,
                score: (score * 1e4).round() / 1e4,
                reasons: s.reasons.iter().map(|x| x.0).collect(),
                label: d
                    .labels
                    .get(i)
                    .and_then(|&l| labels.name(l))
                    .map(str::to_owned),
                evidence: s.reasons.iter().map(|x| x.2.clone()).collect(),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for &l in &d.labels {
        if let Some(n) = labels.name(l) {
            *counts.entry(n.to_owned()).or_insert(0) += 1;
        }
    }
    let name = |v: &[usize]| v.iter().filter_map(|&i| d.names.get(i).cloned()).collect();
    Ok(Report {
        rows,
        findings,
        analysed_rows: d.rows as u64,
        labels: counts,
        features: Features {
            numeric: name(&roles.numeric),
            categorical: name(&roles.categorical),
            text: name(&roles.text),
        },
        notes,
    })
}

/// Centre and scale of each numeric column (median and IQR/1.349, else the standard
/// deviation), from the reference when given: robust to the outliers being looked for.
fn scales(src: &Data, cols: &[usize]) -> Vec<(f64, f64)> {
    cols.iter()
        .map(|&c| {
            let Some(Col::Numeric(v)) = src.cols.get(c) else {
                return (0.0, 1.0);
            };
            let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            if s.is_empty() {
                return (0.0, 1.0);
            }
            s.sort_by(f64::total_cmp);
            let q = |p: f64| {
                let pos = p * (s.len() - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                let (a, b) = (
                    s.get(lo).copied().unwrap_or(0.0),
                    s.get(hi).copied().unwrap_or(0.0),
                );
                a + (b - a) * (pos - lo as f64)
            };
            let med = q(0.5);
            let iqr = (q(0.75) - q(0.25)) / 1.349;
            let scale = if iqr > 0.0 {
                iqr
            } else {
                let n = s.len() as f64;
                let mean = s.iter().sum::<f64>() / n;
                (s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
            };
            (med, if scale > 0.0 { scale } else { 1.0 })
        })
        .collect()
}

/// Categorical columns of at most this many categories join the neighbour space.
const ONEHOT_MAX: usize = 16;
/// A category's coordinate: two rows that differ in one such column are one standard
/// deviation apart, as if they differed by one in a numeric column.
const ONEHOT_SCALE: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// The categorical columns of few categories, each with its categories (named, as the
/// two sets intern them apart), from `by`: what the neighbour space one-hot encodes.
fn onehot_spec(by: &Data, cols: &[usize]) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for &c in cols {
        let Some(Col::Strings(v, int)) = by.cols.get(c) else {
            continue;
        };
        let mut counts: FastMap<u32, u64> = FastMap::default();
        for &x in v {
            if x != NULL {
                *counts.entry(x).or_insert(0) += 1;
            }
        }
        if counts.len() < 2 || counts.len() > ONEHOT_MAX {
            continue;
        }
        let mut cats: Vec<(u32, u64)> = counts.into_iter().collect();
        cats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let names = cats
            .iter()
            .filter_map(|&(x, _)| int.name(x).map(str::to_owned))
            .collect();
        out.push((c, names));
    }
    out
}

/// The neighbour space of `of`: its numeric columns standardised by `by`, then the
/// one-hot categories of `spec` (a category `by` never had is all zeros). Returns the
/// row-major points and their dimension.
fn neighbour_space(
    of: &Data,
    by: &Data,
    numeric: &[usize],
    spec: &[(usize, Vec<String>)],
) -> (Vec<f64>, usize) {
    let nd = numeric.len();
    let cd: usize = spec.iter().map(|(_, c)| c.len()).sum();
    let dim = nd + cd;
    if cd == 0 {
        return (standardise_with(of, by, numeric), nd);
    }
    let num = standardise_with(of, by, numeric);
    let mut x = vec![0.0; of.rows * dim];
    for i in 0..of.rows {
        if let (Some(dst), Some(src)) = (
            x.get_mut(i * dim..i * dim + nd),
            num.get(i * nd..(i + 1) * nd),
        ) {
            dst.copy_from_slice(src);
        }
    }
    let mut offset = nd;
    for (c, cats) in spec {
        if let Some(Col::Strings(v, int)) = of.cols.get(*c) {
            // This set's ids to coordinates.
            let slot: FastMap<u32, usize> = cats
                .iter()
                .enumerate()
                .filter_map(|(k, name)| int.ids.get(name).map(|&id| (id, k)))
                .collect();
            for (i, x_id) in v.iter().enumerate() {
                if let Some(&k) = slot.get(x_id) {
                    if let Some(cell) = x.get_mut(i * dim + offset + k) {
                        *cell = ONEHOT_SCALE;
                    }
                }
            }
        }
        offset += cats.len();
    }
    (x, dim)
}

fn standardise(d: &Data, r: Option<&Data>, cols: &[usize]) -> Vec<f64> {
    standardise_with(d, r.unwrap_or(d), cols)
}

/// `of`'s numeric columns, standardised with the centre and scale of `by`, row-major;
/// a missing value sits at the centre.
fn standardise_with(of: &Data, by: &Data, cols: &[usize]) -> Vec<f64> {
    let sc = scales(by, cols);
    let mut x = vec![0.0; of.rows * cols.len()];
    for (j, (&c, &(m, s))) in cols.iter().zip(&sc).enumerate() {
        if let Some(Col::Numeric(v)) = of.cols.get(c) {
            for (i, &val) in v.iter().enumerate() {
                if let Some(slot) = x.get_mut(i * cols.len() + j) {
                    // Clipped, so one absurd value cannot dominate every distance.
                    *slot = if val.is_finite() {
                        ((val - m) / s).clamp(-50.0, 50.0)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
    x
}

fn row_hash(d: &Data, i: usize) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for c in &d.cols {
        let v = match c {
            Col::Numeric(v) => v
                .get(i)
                .map_or(0, |x| if x.is_nan() { u64::MAX } else { x.to_bits() }),
            Col::Strings(v, _) => u64::from(v.get(i).copied().unwrap_or(NULL)),
        };
        h = crate::sketch::hash64(&(h ^ v).to_le_bytes());
    }
    h
}

fn label_of(d: &Data, i: usize) -> u32 {
    d.labels.get(i).copied().unwrap_or(NULL)
}

/// Flags a group of copies: the rows that carry a minority label when labels differ,
/// else every copy after the first.
#[allow(clippy::too_many_arguments)]
fn flag_group(
    d: &Data,
    g: &[u32],
    labels: &Interner,
    scores: &mut Scores,
    conflicts_only: bool,
    reason: &'static str,
    w: f64,
    what: &str,
) -> bool {
    let mut by_label: BTreeMap<u32, usize> = BTreeMap::new();
    for &i in g {
        *by_label.entry(label_of(d, i as usize)).or_insert(0) += 1;
    }
    let first = g.first().copied().unwrap_or(0);
    if by_label.len() > 1 {
        let top = by_label.values().copied().max().unwrap_or(0);
        let tied = by_label.values().filter(|&&n| n == top).count() > 1;
        let shown: Vec<String> = by_label
            .iter()
            .map(|(l, n)| format!("{}×{n}", labels.name(*l).unwrap_or("(none)")))
            .collect();
        // Where rows repeat naturally (coarse features) and a clear majority (two
        // thirds of three or more copies) agrees, the minority is what is suspect. Else
        // which copy is right cannot be told (a planted flood of copies is a majority
        // too): all are flagged, those of a minority label the more.
        let clear = conflicts_only && !tied && g.len() >= 3 && top * 3 >= g.len() * 2;
        for &i in g {
            let n = by_label.get(&label_of(d, i as usize)).copied().unwrap_or(0);
            if clear && n == top {
                continue;
            }
            let w = if tied || n < top {
                weight::DUPLICATE_CONFLICT
            } else {
                weight::DUPLICATE_CONFLICT * 0.75
            };
            scores.add(
                i as usize,
                "duplicate-label-conflict",
                w,
                format!(
                    "{what} of row {first} with other labels ({})",
                    shown.join(", ")
                ),
            );
        }
        return true;
    }
    if !conflicts_only {
        for &i in g.iter().skip(1) {
            scores.add(
                i as usize,
                reason,
                w,
                format!("{what} of row {first} ({} copies)", g.len()),
            );
        }
    }
    false
}

fn duplicates(
    d: &Data,
    roles: &Roles,
    labels: &Interner,
    scores: &mut Scores,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    if d.rows < 2 || d.cols.is_empty() {
        return;
    }
    let mut groups: FastMap<u64, Vec<u32>> = FastMap::default();
    for i in 0..d.rows {
        groups.entry(row_hash(d, i)).or_default().push(i as u32);
    }
    let distinct = groups.len() as f64 / d.rows as f64;
    // Rows that repeat naturally (few, coarse features) say nothing by repeating.
    let natural = distinct < 0.9;
    if natural {
        notes.push(format!(
            "only {:.0}% of rows are distinct: copies are ordinary here, only copies with other labels are flagged",
            distinct * 100.0
        ));
    }
    let mut dup: Vec<Vec<u32>> = groups.into_values().filter(|g| g.len() > 1).collect();
    dup.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let mut conflicts = 0;
    for g in &dup {
        let w = if g.len() >= 3 {
            weight::DUPLICATE_MANY
        } else {
            weight::DUPLICATE
        };
        if flag_group(
            d,
            g,
            labels,
            scores,
            natural,
            "duplicate-group",
            w,
            "a copy",
        ) {
            conflicts += 1;
        }
    }
    if !dup.is_empty() {
        let copies: usize = dup.iter().map(|g| g.len() - 1).sum();
        findings.push(Finding {
            kind: "duplicate-group",
            message: format!(
                "{} groups of identical rows ({copies} copies beyond the first of each; {conflicts} groups with differing labels); the largest has {} rows",
                dup.len(),
                dup.first().map_or(0, Vec::len)
            ),
            column: None,
            value: None,
            label: None,
            rows: copies as u64,
            support: None,
            confidence: None,
            lift: None,
            examples: dup.first().map(|g| g.iter().take(10).map(|&x| u64::from(x)).collect()).unwrap_or_default(),
        });
    }
    // Near-duplicate texts.
    if roles.text.is_empty() {
        return;
    }
    let sigs: Vec<Option<[u64; minhash::HASHES]>> = (0..d.rows)
        .map(|i| {
            let mut text = String::new();
            for &c in &roles.text {
                if let Some(Col::Strings(v, int)) = d.cols.get(c) {
                    if let Some(s) = v.get(i).and_then(|&x| int.name(x)) {
                        text.push_str(s);
                        text.push('\n');
                    }
                }
            }
            minhash::signature(&text)
        })
        .collect();
    let near: Vec<Vec<u32>> = minhash::groups(&sigs, minhash::NEAR)
        .into_iter()
        // Exact copies are counted above.
        .filter(|g| {
            let first = g.first().map_or(0, |&i| row_hash(d, i as usize));
            g.iter().any(|&i| row_hash(d, i as usize) != first)
        })
        .collect();
    let in_groups: usize = near.iter().map(Vec::len).sum();
    let natural_near = in_groups as f64 > 0.1 * d.rows as f64;
    let mut conflicts = 0;
    for g in &near {
        let w = if g.len() >= 3 {
            weight::NEAR_DUPLICATE_MANY
        } else {
            weight::NEAR_DUPLICATE
        };
        if flag_group(
            d,
            g,
            labels,
            scores,
            natural_near,
            "near-duplicate",
            w,
            "a near copy",
        ) {
            conflicts += 1;
        }
    }
    if !near.is_empty() {
        findings.push(Finding {
            kind: "near-duplicate",
            message: format!(
                "{} groups of near-identical texts (MinHash Jaccard ≥ {}, {in_groups} rows; {conflicts} groups with differing labels)",
                near.len(),
                minhash::NEAR
            ),
            column: None,
            value: None,
            label: None,
            rows: in_groups as u64,
            support: None,
            confidence: None,
            lift: None,
            examples: near.first().map(|g| g.iter().take(10).map(|&x| u64::from(x)).collect()).unwrap_or_default(),
        });
    }
}

#[allow(clippy::too_many_arguments)]
/// Near copies in number space: rows far closer to each other than rows usually are.
fn near_copies(d: &Data, x: &[f64], dim: usize, scores: &mut Scores, findings: &mut Vec<Finding>) {
    let own = knn::KdTree::new(x, dim);
    // Near copies in number space: far closer to each other than rows usually are.
    let nn: Vec<f64> = (0..d.rows)
        .map(|i| {
            let q = x.get(i * dim..(i + 1) * dim).unwrap_or_default();
            own.nearest(q, 1, Some(i as u32))
                .first()
                .map_or(f64::INFINITY, |p| p.1.sqrt())
        })
        .collect();
    let mut sorted: Vec<f64> = nn.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    if median > 0.0 {
        let eps = median / 50.0;
        let mut close = 0u64;
        for i in 0..d.rows {
            let dist = nn.get(i).copied().unwrap_or(f64::INFINITY);
            if dist > 0.0 && dist < eps {
                let q = x.get(i * dim..(i + 1) * dim).unwrap_or_default();
                let group: Vec<u32> = own
                    .nearest(q, 20, None)
                    .into_iter()
                    .filter(|p| p.1.sqrt() < eps)
                    .map(|p| p.0)
                    .collect();
                let mut g = group.clone();
                g.sort_unstable();
                // Conflicting labels among near copies, or a cluster of three or more.
                let first = g.first().copied().unwrap_or(0);
                let mine = label_of(d, i);
                let others = g
                    .iter()
                    .filter(|&&j| label_of(d, j as usize) != mine)
                    .count();
                if others * 2 > g.len() {
                    scores.add(
                        i,
                        "duplicate-label-conflict",
                        weight::DUPLICATE_CONFLICT * 0.9,
                        format!("a near copy (distance {dist:.2e}) of rows with other labels"),
                    );
                    close += 1;
                } else if g.len() >= 3 && i as u32 != first {
                    scores.add(
                        i,
                        "near-duplicate",
                        weight::NEAR_DUPLICATE,
                        format!("one of {} rows within {eps:.2e} of each other", g.len()),
                    );
                    close += 1;
                }
            }
        }
        if close > 0 {
            findings.push(Finding {
                kind: "near-duplicate",
                message: format!(
                    "{close} rows are near copies in feature space (nearest row at under 1/50 of the usual distance)"
                ),
                column: None,
                value: None,
                label: None,
                rows: close,
                support: None,
                confidence: None,
                lift: None,
                examples: Vec::new(),
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn neighbours(
    d: &Data,
    r: Option<&Data>,
    x: &[f64],
    rx: Option<&[f64]>,
    dim: usize,
    o: &Options,
    labels: &Interner,
    scores: &mut Scores,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let own = knn::KdTree::new(x, dim);
    // Label disagreement with the nearest neighbours.
    let (pool_x, pool_labels, from_reference) = match (r, rx) {
        (Some(r), Some(rx)) if r.labels.iter().any(|&l| l != NULL) => (rx, &r.labels, true),
        _ => (x, &d.labels, false),
    };
    if !from_reference && r.is_some() {
        notes.push("the reference has no labels: neighbours come from the training set".into());
    }
    let k = o.k.max(3);
    let (max_agree, min_share) = if from_reference {
        (0.3, 0.6)
    } else {
        (0.2, 0.7)
    };
    let vote = |tree: &knn::KdTree<'_>, q: &[f64], mine: u32, skip: Option<u32>, pool: &[u32]| {
        let mut votes: FastMap<u32, usize> = FastMap::default();
        for (j, _) in tree.nearest(q, k, skip) {
            let l = pool.get(j as usize).copied().unwrap_or(NULL);
            if l != NULL {
                *votes.entry(l).or_insert(0) += 1;
            }
        }
        let total: usize = votes.values().sum();
        if total < 3 {
            return None;
        }
        let agree = votes.get(&mine).copied().unwrap_or(0) as f64 / total as f64;
        let (&other, &n) = votes
            .iter()
            .filter(|(l, _)| **l != mine)
            .max_by_key(|(l, n)| (**n, std::cmp::Reverse(**l)))?;
        let share = n as f64 / total as f64;
        (agree <= max_agree && share >= min_share).then_some((other, n, total, share))
    };
    let tree = if from_reference {
        knn::KdTree::new(pool_x, dim)
    } else {
        own
    };
    let mut flags = Vec::new();
    for i in 0..d.rows {
        let mine = label_of(d, i);
        if mine == NULL {
            continue;
        }
        let q = x.get(i * dim..(i + 1) * dim).unwrap_or_default();
        let skip = (!from_reference).then_some(i as u32);
        if let Some((other, n, total, share)) = vote(&tree, q, mine, skip, pool_labels) {
            // 0.5 at the floor, toward 0.95 when every neighbour disagrees.
            let w = 0.5 + 0.45 * ((share - min_share) / (1.0 - min_share)).clamp(0.0, 1.0);
            flags.push(Disagreement {
                row: i,
                own: mine,
                w,
                evidence: format!(
                    "{n} of its {total} nearest {} are `{}`, it is `{}`",
                    if from_reference { "clean rows" } else { "rows" },
                    labels.name(other).unwrap_or(""),
                    labels.name(mine).unwrap_or("")
                ),
            });
        }
    }
    // How often clean rows of each label disagree so with their own neighbours.
    let natural = match (r, from_reference) {
        (Some(r), true) => {
            let mut flagged: FastMap<u32, (u64, u64)> = FastMap::default();
            for i in 0..r.rows {
                let mine = label_of(r, i);
                if mine == NULL {
                    continue;
                }
                let q = pool_x.get(i * dim..(i + 1) * dim).unwrap_or_default();
                let e = flagged.entry(mine).or_insert((0, 0));
                e.1 += 1;
                if vote(&tree, q, mine, Some(i as u32), pool_labels).is_some() {
                    e.0 += 1;
                }
            }
            Some(
                flagged
                    .into_iter()
                    .map(|(l, (f, n))| (l, f as f64 / n.max(1) as f64))
                    .collect(),
            )
        }
        _ => None,
    };
    apply_disagreements(
        flags,
        d,
        natural,
        scores,
        findings,
        &format!(
            "carry a label that their {k} nearest {} mostly do not",
            if from_reference {
                "clean rows"
            } else {
                "neighbours"
            }
        ),
    );
}

/// A row whose label its neighbours (or its content) contradict.
struct Disagreement {
    row: usize,
    own: u32,
    w: f64,
    evidence: String,
}

/// Scores the disagreements, discounted by how often rows of the same label disagree
/// anyway: a label that is noisy by nature (a rare class sprinkled among a common
/// one) says little when it disagrees. The rate is the clean reference's when known,
/// else the training set's own.
fn apply_disagreements(
    flags: Vec<Disagreement>,
    d: &Data,
    natural: Option<FastMap<u32, f64>>,
    scores: &mut Scores,
    findings: &mut Vec<Finding>,
    what: &str,
) {
    if flags.is_empty() {
        return;
    }
    let rates: FastMap<u32, f64> = natural.unwrap_or_else(|| {
        let mut n: FastMap<u32, (u64, u64)> = FastMap::default();
        for &l in &d.labels {
            n.entry(l).or_insert((0, 0)).1 += 1;
        }
        for f in &flags {
            n.entry(f.own).or_insert((0, 0)).0 += 1;
        }
        n.into_iter()
            .map(|(l, (f, t))| (l, f as f64 / t.max(1) as f64))
            .collect()
    });
    let mut listed = 0u64;
    let mut examples = Vec::new();
    for f in &flags {
        // Up to 5% of a label's rows disagreeing is what a clean set or a modest attack
        // gives; beyond, the weight falls with the square of the rate.
        let rate = rates.get(&f.own).copied().unwrap_or(0.0).clamp(0.0, 1.0);
        let factor = ((1.0 - rate) / 0.95).min(1.0);
        let w = f.w * factor * factor;
        scores.add(
            f.row,
            "label-disagreement",
            w,
            if rate >= 0.05 {
                format!(
                    "{} ({:.0}% of rows with this label disagree so)",
                    f.evidence,
                    rate * 100.0
                )
            } else {
                f.evidence.clone()
            },
        );
        listed += 1;
        if examples.len() < 10 {
            examples.push(f.row as u64);
        }
    }
    findings.push(Finding {
        kind: "label-disagreement",
        message: format!("{listed} rows {what}"),
        column: None,
        value: None,
        label: None,
        rows: listed,
        support: None,
        confidence: None,
        lift: None,
        examples,
    });
}

/// Robust z-score from which a value is an outlier (in a column of ordinary tails).
const Z_OUTLIER: f64 = 8.0;

fn outliers(
    d: &Data,
    x: &[f64],
    rx: Option<&[f64]>,
    dim: usize,
    scores: &mut Scores,
    findings: &mut Vec<Finding>,
) {
    let fit_on = rx.unwrap_or(x);
    let forest = forest::Forest::fit(fit_on, dim, 0x5eed);
    let own: Vec<f64> = (0..d.rows)
        .map(|i| forest.score(x.get(i * dim..(i + 1) * dim).unwrap_or_default()))
        .collect();
    // The threshold: what is rare among the clean rows (or the rows themselves).
    let mut base: Vec<f64> = match rx {
        Some(rx) => (0..rx.len() / dim.max(1))
            .map(|i| forest.score(rx.get(i * dim..(i + 1) * dim).unwrap_or_default()))
            .collect(),
        None => own.clone(),
    };
    base.sort_by(f64::total_cmp);
    let q = |p: f64| {
        base.get(((base.len().saturating_sub(1)) as f64 * p) as usize)
            .copied()
            .unwrap_or(0.5)
    };
    // Far above what ordinary rows score: the 99th percentile plus twice its distance
    // from the median (a fixed share would flag clean data by construction).
    let (q50, q99) = (q(0.5), q(0.99));
    let threshold = (q99 + 2.0 * (q99 - q50)).max(0.62);
    let strong = threshold + 0.03;
    // Robust z: a value 8 scaled units out is an outlier whatever the forest says —
    // unless the column's tail reaches that far anyway (skewed or sparse columns): then
    // twice the 99.5th percentile of its |z| among ordinary rows.
    let fit_rows = fit_on.len() / dim.max(1);
    let z_limit: Vec<f64> = (0..dim)
        .map(|j| {
            let mut col: Vec<f64> = (0..fit_rows)
                .filter_map(|i| fit_on.get(i * dim + j).map(|v| v.abs()))
                .collect();
            col.sort_by(f64::total_cmp);
            let q995 = col
                .get(((col.len().saturating_sub(1)) as f64 * 0.995) as usize)
                .copied()
                .unwrap_or(0.0);
            (2.0 * q995).max(Z_OUTLIER)
        })
        .collect();
    let mut flagged = 0u64;
    let mut examples = Vec::new();
    for (i, &s) in own.iter().enumerate() {
        let row = x.get(i * dim..(i + 1) * dim).unwrap_or_default();
        let zmax = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let z_out = row.iter().zip(&z_limit).any(|(v, lim)| v.abs() >= *lim);
        if s >= threshold || z_out {
            let w = if s >= strong || z_out {
                weight::OUTLIER_STRONG
            } else {
                weight::OUTLIER
            };
            scores.add(
                i,
                "outlier",
                w,
                format!(
                    "isolation score {s:.3} (threshold {threshold:.3}), largest robust z {zmax:.1}"
                ),
            );
            flagged += 1;
            if examples.len() < 10 {
                examples.push(i as u64);
            }
        }
    }
    if flagged > 0 {
        findings.push(Finding {
            kind: "outlier",
            message: format!(
                "{flagged} rows are outliers (isolation forest score ≥ {threshold:.3}, far above the {q99:.3} of the 99th percentile, or a robust z-score ≥ 8 and twice what the column's ordinary tail reaches)"
            ),
            column: None,
            value: None,
            label: None,
            rows: flagged,
            support: None,
            confidence: None,
            lift: None,
            examples,
        });
    }
}

/// A planted constant: (column index, value).
type Spike = (usize, f64);

fn value_spikes(
    d: &Data,
    roles: &Roles,
    scores: &mut Scores,
    findings: &mut Vec<Finding>,
) -> Vec<Spike> {
    let mut out = Vec::new();
    for &c in &roles.numeric {
        let Some(Col::Numeric(v)) = d.cols.get(c) else {
            continue;
        };
        let mut counts: FastMap<u64, u32> = FastMap::default();
        let mut present = 0usize;
        for &x in v {
            if x.is_finite() {
                present += 1;
                *counts.entry(x.to_bits()).or_insert(0) += 1;
            }
        }
        if present < 50 {
            continue;
        }
        let mut distinct: Vec<(f64, u32)> = counts
            .iter()
            .map(|(&b, &n)| (f64::from_bits(b), n))
            .collect();
        distinct.sort_by(|a, b| a.0.total_cmp(&b.0));
        let continuous = distinct.len() as f64 >= 0.5 * present as f64;
        let floor = (5.0f64).max(0.002 * present as f64);
        let name = d.names.get(c).cloned().unwrap_or_default();
        for (idx, &(value, n)) in distinct.iter().enumerate() {
            // Not the ends: a floor of zeros or a cap is ordinary.
            if idx == 0 || idx + 1 == distinct.len() {
                continue;
            }
            let neighbours = distinct
                .get(idx.saturating_sub(3)..(idx + 4).min(distinct.len()))
                .unwrap_or_default()
                .iter()
                .filter(|x| x.0 != value)
                .map(|x| x.1)
                .max()
                .unwrap_or(0);
            let spike = if continuous {
                f64::from(n) >= floor && n >= 5 * neighbours.max(1)
            } else {
                n >= 10 && n >= 5 * neighbours.max(1) && distinct.len() >= 10
            };
            if !spike {
                continue;
            }
            out.push((c, value));
            let mut examples = Vec::new();
            for (i, &x) in v.iter().enumerate() {
                if x == value {
                    scores.add(
                        i,
                        "value-spike",
                        weight::VALUE_SPIKE,
                        format!("`{name}` = {value}, a value {n} rows share"),
                    );
                    if examples.len() < 10 {
                        examples.push(i as u64);
                    }
                }
            }
            findings.push(Finding {
                kind: "value-spike",
                message: format!(
                    "{n} rows have `{name}` = {value} exactly, at least 5 times more than any nearby value"
                ),
                column: Some(name.clone()),
                value: Some(format!("{value}")),
                label: None,
                rows: u64::from(n),
                support: Some(u64::from(n)),
                confidence: None,
                lift: None,
                examples,
            });
        }
    }
    out
}

/// Items of a row for the trigger search and the naive Bayes model: text tokens,
/// categorical values, numeric deciles and planted constants.
fn row_items(
    d: &Data,
    roles: &Roles,
    edges: &[(usize, Vec<f64>)],
    spikes: &[Spike],
    vocab: &mut Interner,
    i: usize,
    out: &mut Vec<u32>,
) {
    out.clear();
    for &c in &roles.text {
        if let Some(Col::Strings(v, int)) = d.cols.get(c) {
            if let Some(s) = v.get(i).and_then(|&x| int.name(x)) {
                for t in crate::collect::tokens(s) {
                    out.push(vocab.id(&format!("{c}\u{1}{t}")));
                }
            }
        }
    }
    for &c in &roles.categorical {
        if let Some(Col::Strings(v, int)) = d.cols.get(c) {
            if let Some(s) = v.get(i).and_then(|&x| int.name(x)) {
                out.push(vocab.id(&format!("{c}\u{2}{s}")));
            }
        }
    }
    for (c, e) in edges {
        if let Some(Col::Numeric(v)) = d.cols.get(*c) {
            if let Some(&x) = v.get(i).filter(|x| x.is_finite()) {
                let bin = e.partition_point(|&edge| edge <= x);
                out.push(vocab.id(&format!("{c}\u{3}{bin}")));
                if spikes.iter().any(|&(sc, sv)| sc == *c && sv == x) {
                    out.push(vocab.id(&format!("{c}\u{4}{x}")));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

/// The column and value of an item, for people.
fn describe(d: &Data, item: &str) -> (String, String) {
    for (sep, _) in [
        ('\u{1}', "token"),
        ('\u{2}', "value"),
        ('\u{3}', "bin"),
        ('\u{4}', "value"),
    ] {
        if let Some((c, v)) = item.split_once(sep) {
            let col = c
                .parse::<usize>()
                .ok()
                .and_then(|c| d.names.get(c).cloned())
                .unwrap_or_default();
            return (col, v.to_owned());
        }
    }
    (String::new(), item.to_owned())
}

fn deciles(v: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return Vec::new();
    }
    let mut e: Vec<f64> = (1..10)
        .filter_map(|k| s.get(k * (s.len() - 1) / 10).copied())
        .collect();
    e.dedup();
    e
}

#[allow(clippy::too_many_arguments)]
fn triggers(
    d: &Data,
    r: Option<&Data>,
    roles: &Roles,
    spikes: &[Spike],
    labels: &Interner,
    scores: &mut Scores,
    findings: &mut Vec<Finding>,
) {
    let n_labels = labels.values.len();
    if n_labels < 2 {
        return;
    }
    let edges: Vec<(usize, Vec<f64>)> = roles
        .numeric
        .iter()
        .filter_map(|&c| match d.cols.get(c) {
            Some(Col::Numeric(v)) => Some((c, deciles(v))),
            _ => None,
        })
        .collect();
    let mut vocab = Interner::default();
    // Presence counts per item and label.
    let mut per_label: Vec<Vec<u32>> = Vec::new();
    let mut label_n = vec![0u32; n_labels];
    let mut rows_items: Vec<Vec<u32>> = Vec::with_capacity(d.rows);
    let mut buf = Vec::new();
    for i in 0..d.rows {
        row_items(d, roles, &edges, spikes, &mut vocab, i, &mut buf);
        let l = label_of(d, i);
        if let Some(n) = label_n.get_mut(l as usize) {
            *n += 1;
            for &t in &buf {
                if per_label.len() <= t as usize {
                    per_label.resize(t as usize + 1, vec![0; n_labels]);
                }
                if let Some(c) = per_label
                    .get_mut(t as usize)
                    .and_then(|v| v.get_mut(l as usize))
                {
                    *c += 1;
                }
            }
        }
        rows_items.push(buf.clone());
    }
    let total: u32 = label_n.iter().sum();
    if total == 0 {
        return;
    }
    // Reference shares of each item, for "far more frequent than in clean data".
    let ref_support: Option<(FastMap<u32, u32>, u32)> = r.map(|r| {
        let mut m: FastMap<u32, u32> = FastMap::default();
        let mut b = Vec::new();
        let mut probe = Interner {
            ids: vocab.ids.clone(),
            values: vocab.values.clone(),
        };
        for i in 0..r.rows {
            row_items(r, roles, &edges, spikes, &mut probe, i, &mut b);
            for &t in &b {
                if (t as usize) < vocab.values.len() {
                    *m.entry(t).or_insert(0) += 1;
                }
            }
        }
        (m, r.rows as u32)
    });
    // Naive Bayes log-likelihoods of item presence, Laplace-smoothed.
    let ll = |t: u32, l: usize| -> f64 {
        let c = per_label
            .get(t as usize)
            .and_then(|v| v.get(l))
            .copied()
            .unwrap_or(0);
        let n = label_n.get(l).copied().unwrap_or(0);
        ((f64::from(c) + 1.0) / (f64::from(n) + 2.0)).ln()
    };
    let prior: Vec<f64> = label_n
        .iter()
        .map(|&n| ((f64::from(n) + 1.0) / (f64::from(total) + n_labels as f64)).ln())
        .collect();
    // Text: a label its content contradicts. Naive Bayes posteriors, leaving the row
    // itself out, judged as confident learning does: against each label's own typical
    // confidence (the mean posterior of its rows), not one fixed cut.
    if !roles.text.is_empty() {
        let posteriors: Vec<Option<Vec<f64>>> = rows_items
            .iter()
            .enumerate()
            .map(|(i, items)| {
                let own = label_of(d, i) as usize;
                if own >= n_labels {
                    return None;
                }
                let scores: Vec<f64> = (0..n_labels)
                    .map(|l| {
                        let minus = u32::from(l == own);
                        let n = label_n.get(l).copied().unwrap_or(0).saturating_sub(minus);
                        let p =
                            ((f64::from(n) + 1.0) / (f64::from(total - 1) + n_labels as f64)).ln();
                        p + items
                            .iter()
                            .map(|&x| {
                                let c = per_label
                                    .get(x as usize)
                                    .and_then(|v| v.get(l))
                                    .copied()
                                    .unwrap_or(0);
                                ((f64::from(c.saturating_sub(minus)) + 1.0) / (f64::from(n) + 2.0))
                                    .ln()
                            })
                            .sum::<f64>()
                    })
                    .collect();
                let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
                let z: f64 = e.iter().sum();
                Some(e.into_iter().map(|x| x / z).collect())
            })
            .collect();
        // Per label, the mean posterior its own rows give it.
        let mut sum = vec![0.0; n_labels];
        let mut cnt = vec![0u64; n_labels];
        for (i, p) in posteriors.iter().enumerate() {
            if let Some(p) = p {
                let own = label_of(d, i) as usize;
                if let (Some(s), Some(c), Some(v)) =
                    (sum.get_mut(own), cnt.get_mut(own), p.get(own))
                {
                    *s += v;
                    *c += 1;
                }
            }
        }
        let typical: Vec<f64> = sum
            .iter()
            .zip(&cnt)
            .map(|(s, &c)| s / c.max(1) as f64)
            .collect();
        let mut flags = Vec::new();
        for (i, p) in posteriors.iter().enumerate() {
            let Some(p) = p else { continue };
            let own = label_of(d, i) as usize;
            let mine = p.get(own).copied().unwrap_or(0.0);
            let t_own = typical.get(own).copied().unwrap_or(0.0);
            // Another label at its own typical confidence, or simply the likeliest by
            // far while this row's label is well below what its rows typically get.
            let at = |l: usize| p.get(l).copied().unwrap_or(0.0);
            let best = (0..n_labels)
                .filter(|&l| l != own)
                .max_by(|&a, &b| at(a).total_cmp(&at(b)));
            let contradicted = best.is_some_and(|b| {
                let pb = at(b);
                (pb >= typical.get(b).copied().unwrap_or(1.0) && mine < t_own && mine < 0.5)
                    || (pb >= 0.5 && mine < (0.5 * t_own).min(0.3))
            });
            if let (Some(best), true) = (best, contradicted) {
                let pb = p.get(best).copied().unwrap_or(0.0);
                flags.push(Disagreement {
                    row: i,
                    own: own as u32,
                    w: 0.5 + 0.45 * ((pb - mine).clamp(0.0, 1.0)),
                    evidence: format!(
                        "its content reads as `{}` (posterior {pb:.2}; `{}` {mine:.2}, where its rows typically have {t_own:.2})",
                        labels.name(best as u32).unwrap_or(""),
                        labels.name(own as u32).unwrap_or("")
                    ),
                });
            }
        }
        apply_disagreements(
            flags,
            d,
            None,
            scores,
            findings,
            "carry a label their content contradicts (naive Bayes over the other rows)",
        );
    }
    let min_support = 5u32.max((0.0005 * f64::from(total)).ceil() as u32);
    // Candidates: frequent enough, rare enough, nearly always one label, above its share.
    let mut candidates: FastMap<u32, (usize, u32, u32, f64, f64)> = FastMap::default();
    for (t, counts) in per_label.iter().enumerate() {
        let support: u32 = counts.iter().sum();
        if support < min_support || f64::from(support) > 0.3 * f64::from(total) {
            continue;
        }
        let Some((target, &hits)) = counts.iter().enumerate().max_by_key(|(_, &c)| c) else {
            continue;
        };
        let confidence = f64::from(hits) / f64::from(support);
        let p = f64::from(label_n.get(target).copied().unwrap_or(0)) / f64::from(total);
        let lift = confidence / p.max(1e-12);
        if confidence >= 0.9 && lift >= 1.3 {
            candidates.insert(t as u32, (target, support, hits, confidence, lift));
        }
    }
    // The rows of each candidate's label that carry it.
    let mut carrying: FastMap<u32, Vec<usize>> = FastMap::default();
    for (i, items) in rows_items.iter().enumerate() {
        let l = label_of(d, i) as usize;
        for t in items {
            if candidates.get(t).is_some_and(|c| c.0 == l) {
                carrying.entry(*t).or_default().push(i);
            }
        }
    }
    let mut found = Vec::new();
    for (&t, &(target, support, hits, confidence, lift)) in &candidates {
        let rows_of = carrying.remove(&t).unwrap_or_default();
        // Content: what the rest of each carrying row says, without this item.
        let against_rows: Vec<bool> = rows_of
            .iter()
            .map(|&i| {
                let items = rows_items.get(i).map(Vec::as_slice).unwrap_or_default();
                let best = (0..n_labels)
                    .map(|l| {
                        let s: f64 = prior.get(l).copied().unwrap_or(0.0)
                            + items
                                .iter()
                                .filter(|&&x| x != t)
                                .map(|&x| ll(x, l))
                                .sum::<f64>();
                        (l, s)
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(target, |x| x.0);
                best != target
            })
            .collect();
        let against = against_rows.iter().filter(|&&a| a).count();
        let against_share = against as f64 / rows_of.len().max(1) as f64;
        let enriched = ref_support.as_ref().map(|(m, n)| {
            let rs = f64::from(m.get(&t).copied().unwrap_or(0)) / f64::from((*n).max(1));
            let ts = f64::from(support) / f64::from(total);
            (ts >= 5.0 * rs.max(1.0 / f64::from((*n).max(1))), rs)
        });
        if against_share >= 0.4 || enriched.is_some_and(|e| e.0) {
            found.push((
                t,
                target,
                support,
                hits,
                confidence,
                lift,
                against_share,
                enriched,
                rows_of,
                against_rows,
            ));
        }
    }
    // Strongest first; at most 50 reported.
    found.sort_by(|a, b| b.6.total_cmp(&a.6).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    for (
        t,
        target,
        support,
        hits,
        confidence,
        lift,
        against_share,
        enriched,
        carrying,
        against_rows,
    ) in found.into_iter().take(50)
    {
        let item = vocab.name(t).unwrap_or_default().to_owned();
        let (column, value) = describe(d, &item);
        let label = labels.name(target as u32).unwrap_or_default().to_owned();
        for (&i, &against) in carrying.iter().zip(&against_rows) {
            let w = if against {
                weight::TRIGGER_AGAINST_CONTENT
            } else {
                weight::TRIGGER
            };
            scores.add(
                i,
                "trigger-candidate",
                w,
                format!(
                    "`{column}` has `{value}`, which goes with `{label}` in {:.0}% of {support} rows{}",
                    confidence * 100.0,
                    if against { "; the rest of this row points to another label" } else { "" }
                ),
            );
        }
        let reference_note = match enriched {
            Some((true, rs)) => format!("; {:.3}% of clean rows have it", rs * 100.0),
            _ => String::new(),
        };
        findings.push(Finding {
            kind: "trigger-candidate",
            message: format!(
                "`{column}` = `{value}` goes with label `{label}` in {hits} of {support} rows (confidence {confidence:.2}, lift {lift:.2}); in {:.0}% of them the rest of the row points to another label{reference_note}",
                against_share * 100.0
            ),
            column: Some(column),
            value: Some(value),
            label: Some(label),
            rows: u64::from(hits),
            support: Some(u64::from(support)),
            confidence: Some((confidence * 1e4).round() / 1e4),
            lift: Some((lift * 1e4).round() / 1e4),
            examples: carrying.iter().take(10).map(|&i| i as u64).collect(),
        });
    }
}
