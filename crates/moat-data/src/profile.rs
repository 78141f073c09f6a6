//! Dataset profiles: per column what a baseline needs, in kilobytes whatever the
//! dataset's size — type, row and null counts, distinct count (exact up to 1,000
//! values, HyperLogLog beyond), moments, a KLL quantile sketch, histogram bins fixed at
//! profile time (the reference's deciles; PSI is computed on them later), and the most
//! frequent labels. Columns of at most [`KEEP_VALUES`] numbers keep the numbers
//! themselves, so the small-sample tests stay exact against a baseline. Profiles are
//! versioned JSON and merge (the profile of two files is the merge of theirs).

use serde::{Deserialize, Serialize};

use crate::collect::{ColumnValues, DatasetValues, FastMap};
use crate::read::Storage;
use crate::sketch::{Distinct, Frequencies, Kll, Moments, TOP_LABELS, TOP_TOKENS};

/// The profile format's version.
pub const VERSION: u32 = 1;
/// Columns with at most this many numbers keep them.
pub const KEEP_VALUES: usize = 1000;
/// Points of the quantile sketch a baseline stands in with.
const STAND_IN: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub moat_profile: u32,
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distinctness {
    pub value: f64,
    pub exact: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Inner edges: `edges.len() + 1` bins, a value equal to an edge in the bin above.
    pub edges: Vec<f64>,
    pub counts: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    /// `numerical`, `categorical`, `text` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The Arrow type it was read as (`Int64`, `Utf8`, …).
    pub arrow_type: String,
    pub rows: u64,
    pub nulls: u64,
    pub distinct: Distinctness,
    /// Every present value distinct, when known exactly (up to 100,000 labels or
    /// 2,000,000 numbers; unknown beyond, or after merging parts that were each unique).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unique: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub std: Option<f64>,
    /// Quartiles and the 1st/99th percentiles, for people.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub quantiles: Vec<(f64, f64)>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub histogram: Option<Histogram>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top: Option<Frequencies>,
    /// Text columns: the most frequent tokens, their total, and a sketch of lengths.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tokens: Option<Frequencies>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_total: Option<u64>,
    /// What merges: the moments, the quantile sketch, the distinct sketch, and the values
    /// of a small column.
    pub sketch: ColumnSketch,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ColumnSketch {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub moments: Option<Moments>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kll: Option<Kll>,
    pub distinct: Distinct,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub values: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lengths: Option<Kll>,
}

fn kind_of(c: &ColumnValues) -> &'static str {
    match c.storage {
        Storage::Other => "other",
        Storage::Label if c.is_text() => "text",
        Storage::Label => "categorical",
        Storage::Number => "numerical",
    }
}

/// Why a profile file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("not a Moat profile ({0}); make one with `moat data profile FILE -o baseline.json`")]
    Json(#[from] serde_json::Error),
    #[error("profile format {0}, but this Moat reads format {VERSION}; profile the data again with this version")]
    Version(u32),
    #[error("a profile of {0} bytes is more than a profile can be ({MAX_PROFILE_BYTES}); is this a profile?")]
    TooLarge(usize),
}

/// The largest profile read back (a profile is kilobytes; this bounds hostile files).
pub const MAX_PROFILE_BYTES: usize = 64 << 20;

impl Profile {
    /// Reads a profile written by [`Profile::to_json`], checking its format version.
    pub fn from_json(bytes: &[u8]) -> Result<Profile, ProfileError> {
        if bytes.len() > MAX_PROFILE_BYTES {
            return Err(ProfileError::TooLarge(bytes.len()));
        }
        #[derive(Deserialize)]
        struct Head {
            moat_profile: u32,
        }
        let head: Head = serde_json::from_slice(bytes)?;
        if head.moat_profile != VERSION {
            return Err(ProfileError::Version(head.moat_profile));
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The profile of gathered values: from their sketches when kept
    /// (`collect_with(.., true)`), else from the values themselves.
    pub fn from_values(d: &DatasetValues) -> Profile {
        let columns = d.columns.iter().map(column).collect();
        Profile {
            moat_profile: VERSION,
            rows: d.rows,
            columns,
        }
    }

    /// Merges another profile of the same columns (by name); a column only in `o` is
    /// added.
    pub fn merge(&mut self, o: &Profile) {
        self.rows += o.rows;
        for theirs in &o.columns {
            match self.columns.iter_mut().find(|c| c.name == theirs.name) {
                Some(mine) => mine.merge(theirs),
                None => self.columns.push(theirs.clone()),
            }
        }
    }

    /// The values a drift comparison reads, standing in for the profiled dataset.
    pub fn stand_in(&self) -> DatasetValues {
        DatasetValues {
            rows: self.rows,
            columns: self.columns.iter().map(ColumnProfile::stand_in).collect(),
        }
    }
}

fn column(c: &ColumnValues) -> ColumnProfile {
    let mut sketch = ColumnSketch::default();
    let mut p = ColumnProfile {
        name: c.name.clone(),
        kind: kind_of(c).into(),
        arrow_type: c.arrow_type.clone(),
        rows: c.rows,
        nulls: c.nulls,
        distinct: Distinctness {
            value: 0.0,
            exact: true,
        },
        unique: exactly_unique(c),
        min: None,
        max: None,
        mean: None,
        std: None,
        quantiles: Vec::new(),
        histogram: None,
        top: None,
        tokens: None,
        token_total: None,
        sketch: ColumnSketch::default(),
    };
    if let Some(s) = &c.sketches {
        let mut d = s.distinct.clone();
        d.seal();
        sketch.distinct = d;
        if c.storage == Storage::Number && s.moments.count > 0 {
            sketch.moments = Some(s.moments);
            sketch.kll = Some(s.quantiles.clone());
        }
    } else {
        // No sketches kept: they are made from the values (a sample beyond 2M numbers).
        for k in c.labels.keys() {
            sketch
                .distinct
                .add_hash(crate::sketch::hash64(k.as_bytes()));
        }
        if c.storage == Storage::Number && !c.numbers.is_empty() {
            let (mut m, mut k) = (Moments::default(), Kll::default());
            for &v in &c.numbers {
                m.add(v);
                k.add(v);
                sketch
                    .distinct
                    .add_hash(crate::sketch::hash64(&v.to_bits().to_le_bytes()));
            }
            sketch.moments = Some(m);
            sketch.kll = Some(k);
        }
        sketch.distinct.seal();
    }
    if c.storage == Storage::Number {
        if c.numbers_seen as usize <= KEEP_VALUES {
            sketch.values = Some(c.numbers.clone());
        }
        // Fixed bins: the deciles of the values (of the kept sample beyond 2M), counts
        // scaled to every value.
        let edges = crate::drift::decile_edges(&c.numbers);
        let counts = crate::stats::bin_counts(&c.numbers, &edges);
        let scale = c.numbers_seen as f64 / c.numbers.len().max(1) as f64;
        p.histogram = Some(Histogram {
            edges,
            counts: counts.into_iter().map(|x| x * scale).collect(),
        });
        // Few distinct numbers: their counts, so the column can be compared as
        // categories against the profile.
        let runs = number_runs(&c.numbers);
        if runs.len() <= TOP_LABELS {
            let mut counts: FastMap<String, u64> = FastMap::default();
            for (v, n) in runs {
                counts.insert(format!("{v}"), (n as f64 * scale).round() as u64);
            }
            p.top = Some(Frequencies::from_counts(&counts, 0));
        }
    }
    if c.storage == Storage::Label {
        p.top = Some(Frequencies::from_counts(&c.labels, c.labels_overflow));
        if c.is_text() {
            let kept: u64 = c.tokens.values().sum();
            p.tokens = Some(Frequencies::from_counts_top(
                &c.tokens,
                c.token_total.saturating_sub(kept),
                TOP_TOKENS,
            ));
            p.token_total = Some(c.token_total);
            let mut lengths = Kll::default();
            for &l in &c.lengths {
                lengths.add(l);
            }
            sketch.lengths = Some(lengths);
        }
    }
    p.sketch = sketch;
    p.refresh();
    p
}

/// Whether every present value is distinct, when the values kept tell exactly.
fn exactly_unique(c: &ColumnValues) -> Option<bool> {
    match c.storage {
        Storage::Label if c.labels_overflow == 0 => Some(c.labels.values().all(|&n| n == 1)),
        Storage::Number if c.numbers_seen == c.numbers.len() as u64 => {
            Some(c.numbers.windows(2).all(|w| w.first() != w.get(1)))
        }
        // A sample: a repeat in it is a repeat.
        Storage::Number if c.numbers.windows(2).any(|w| w.first() == w.get(1)) => Some(false),
        _ => None,
    }
}

/// Runs of equal values of a sorted sample: (value, count).
fn number_runs(sorted: &[f64]) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::new();
    for &x in sorted {
        match out.last_mut() {
            Some((v, n)) if *v == x => *n += 1,
            _ => {
                if out.len() > TOP_LABELS {
                    break;
                }
                out.push((x, 1));
            }
        }
    }
    out
}

impl ColumnProfile {
    /// Recomputes the fields for people from the sketches.
    fn refresh(&mut self) {
        let (d, exact) = self.sketch.distinct.estimate();
        self.distinct = Distinctness {
            value: d.round(),
            exact,
        };
        if let Some(m) = &self.sketch.moments {
            self.min = Some(m.min);
            self.max = Some(m.max);
            self.mean = Some(m.mean);
            self.std = Some(m.std());
        }
        if let Some(k) = &self.sketch.kll {
            self.quantiles = [0.01, 0.25, 0.5, 0.75, 0.99]
                .iter()
                .filter_map(|&q| k.quantile(q).map(|v| (q, v)))
                .collect();
        }
    }

    fn merge(&mut self, o: &ColumnProfile) {
        self.rows += o.rows;
        self.nulls += o.nulls;
        self.sketch.distinct.merge(&o.sketch.distinct);
        // Two unique parts are unique together only if no value is in both: known when
        // the distinct count is still exact.
        self.unique = match (self.unique, o.unique) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => match self.sketch.distinct.estimate() {
                (d, true) => Some(d as u64 == self.rows - self.nulls),
                _ => None,
            },
            _ => None,
        };
        match (&mut self.sketch.moments, &o.sketch.moments) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.sketch.moments = Some(*b),
            _ => {}
        }
        match (&mut self.sketch.kll, &o.sketch.kll) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.sketch.kll = Some(b.clone()),
            _ => {}
        }
        self.sketch.values = match (&self.sketch.values, &o.sketch.values) {
            (Some(a), Some(b)) if a.len() + b.len() <= KEEP_VALUES => {
                let mut v: Vec<f64> = a.iter().chain(b).copied().collect();
                v.sort_by(f64::total_cmp);
                Some(v)
            }
            _ => None,
        };
        // The bins stay those of the first profile; the other's values are spread over
        // them by its own quantile sketch.
        if let (Some(h), Some(k)) = (&mut self.histogram, &o.sketch.kll) {
            let pts = k.quantiles(STAND_IN);
            let counts = crate::stats::bin_counts(&pts, &h.edges);
            let scale = k.count as f64 / pts.len().max(1) as f64;
            for (a, b) in h.counts.iter_mut().zip(counts) {
                *a += b * scale;
            }
        }
        self.top = match (self.top.take(), &o.top) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                // The counts of a numeric column's values hold only while all are kept.
                (self.kind != "numerical" || a.other == 0).then_some(a)
            }
            (a, None) if self.kind != "numerical" => a,
            (None, Some(b)) if self.kind != "numerical" => Some(b.clone()),
            _ => None,
        };
        if let (Some(a), Some(b)) = (&mut self.tokens, &o.tokens) {
            a.merge(b);
        }
        self.token_total = match (self.token_total, o.token_total) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        if let (Some(a), Some(b)) = (&mut self.sketch.lengths, &o.sketch.lengths) {
            a.merge(b);
        }
        self.refresh();
    }

    /// Values standing in for the profiled column: its own numbers when it kept them,
    /// else points of its quantile sketch (with the true count), its labels and tokens.
    fn stand_in(&self) -> ColumnValues {
        let storage = match self.kind.as_str() {
            "numerical" => Storage::Number,
            "categorical" | "text" => Storage::Label,
            _ => Storage::Other,
        };
        let mut c = ColumnValues::new(&self.name, storage, 1);
        c.rows = self.rows;
        c.nulls = self.nulls;
        if storage == Storage::Number {
            c.numbers = match (&self.sketch.values, &self.sketch.kll) {
                (Some(v), _) => v.clone(),
                (None, Some(k)) => k.quantiles(STAND_IN),
                (None, None) => Vec::new(),
            };
            c.numbers.sort_by(f64::total_cmp);
            c.numbers_seen = self.rows - self.nulls;
            c.range = self.sketch.moments.map(|m| (m.min, m.max));
            c.number_counts = self.top.as_ref().map(|t| {
                t.top
                    .iter()
                    .filter_map(|(k, n)| Some((k.parse::<f64>().ok()?, *n as f64)))
                    .collect()
            });
            c.bins = self
                .histogram
                .as_ref()
                .map(|h| (h.edges.clone(), h.counts.clone()));
        }
        if let (Some(t), Storage::Label) = (&self.top, storage) {
            let mut m: FastMap<String, u64> = FastMap::default();
            for (k, v) in &t.top {
                m.insert(k.clone(), *v);
            }
            c.labels = m;
            c.labels_overflow = t.other;
            c.label_chars = 0;
            c.label_singletons = Some(t.singletons);
        }
        if let Some(t) = &self.tokens {
            for (k, v) in &t.top {
                c.tokens.insert(k.clone(), *v);
            }
            c.token_total = self.token_total.unwrap_or(0);
            c.token_singletons = Some(t.singletons);
            c.force_text = true;
            if let Some(l) = &self.sketch.lengths {
                c.lengths = l.quantiles(STAND_IN);
            }
        }
        c
    }
}
