//! The values of a dataset's columns, gathered a batch at a time for comparison. Memory
//! is bounded whatever the file's size: at most [`MAX_NUMBERS`] numbers per column (a
//! uniform reservoir sample beyond that, seeded so runs repeat), at most [`MAX_LABELS`]
//! distinct labels per column (further ones are counted together), and at most
//! [`MAX_TOKENS`] distinct tokens per text column.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::read::{storage, ReadError, Storage, Table};

/// Numbers kept per column; beyond, a uniform sample of this size.
pub const MAX_NUMBERS: usize = 2_000_000;
/// Distinct labels counted per column; later new ones are counted as one "other".
pub const MAX_LABELS: usize = 100_000;
/// Distinct tokens counted per text column.
pub const MAX_TOKENS: usize = 200_000;
/// Labels at least this long on average, mostly distinct, read as free text.
const TEXT_MEAN_CHARS: f64 = 24.0;

/// A hasher for label and token maps (FxHash's multiply-rotate): millions of short
/// keys, no adversary to resist (a key is the dataset's own value, and every map is
/// capped).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(<[u8; 8]>::try_from(c).unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

pub type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// What one column holds.
#[derive(Debug, Clone)]
pub struct ColumnValues {
    pub name: String,
    pub storage: Storage,
    /// The Arrow type it was read as (`Int64`, `Utf8`, …), or as a stream declared it.
    pub arrow_type: String,
    /// Rows seen, nulls included.
    pub rows: u64,
    pub nulls: u64,
    /// Numbers (sorted by [`ColumnValues::finish`]), a uniform sample beyond
    /// [`MAX_NUMBERS`].
    pub numbers: Vec<f64>,
    /// Non-null numbers seen (more than `numbers.len()` when sampled).
    pub numbers_seen: u64,
    /// The smallest and largest number seen (of every value, not only the sample).
    pub range: Option<(f64, f64)>,
    /// Each distinct number and its count, when a profile stands in for the values of
    /// a column of few distinct numbers (its `numbers` are then only quantiles).
    pub number_counts: Option<Vec<(f64, f64)>>,
    /// Label counts, and the count of labels past [`MAX_LABELS`] distinct ones.
    pub labels: FastMap<String, u64>,
    pub labels_overflow: u64,
    /// Characters over all labels (for the mean length), and token counts.
    pub label_chars: u64,
    pub tokens: FastMap<String, u64>,
    pub token_total: u64,
    /// Per label, its length in characters (a sample as for numbers), for text columns.
    pub lengths: Vec<f64>,
    /// Whether tokens and lengths are kept: decided on the first batch (long labels,
    /// mostly distinct), so ordinary categories cost one map update a row.
    text_candidate: Option<bool>,
    rng: u64,
    /// Numbers (and text lengths) kept at most: [`MAX_NUMBERS`] unless a stream asked
    /// for fewer.
    max_numbers: usize,
    /// Values of another type than the column's, in a stream (a word in a numeric
    /// column): counted, not analysed.
    pub mismatched: u64,
    /// Summaries over every value (not only the kept sample), when asked for.
    pub sketches: Option<Sketches>,
    /// Fixed histogram bins (inner edges) and the reference's counts in them, when the
    /// values stand in for a profile.
    pub bins: Option<(Vec<f64>, Vec<f64>)>,
    /// A profile said this column is text.
    pub force_text: bool,
    /// Labels and tokens seen once, when the counts above are only the most frequent
    /// (a profile's): the Good–Turing estimate needs all of them.
    pub label_singletons: Option<u64>,
    pub token_singletons: Option<u64>,
}

/// Mergeable summaries kept beside the values, over every value.
#[derive(Debug, Clone, Default)]
pub struct Sketches {
    pub moments: crate::sketch::Moments,
    pub quantiles: crate::sketch::Kll,
    pub distinct: crate::sketch::Distinct,
}

impl ColumnValues {
    pub(crate) fn new(name: &str, storage: Storage, seed: u64) -> Self {
        ColumnValues {
            name: name.to_owned(),
            storage,
            arrow_type: String::new(),
            rows: 0,
            nulls: 0,
            numbers: Vec::new(),
            numbers_seen: 0,
            range: None,
            number_counts: None,
            labels: FastMap::default(),
            labels_overflow: 0,
            label_chars: 0,
            tokens: FastMap::default(),
            token_total: 0,
            lengths: Vec::new(),
            text_candidate: None,
            rng: seed | 1,
            max_numbers: MAX_NUMBERS,
            mismatched: 0,
            sketches: None,
            bins: None,
            force_text: false,
            label_singletons: None,
            token_singletons: None,
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic, so a sampled comparison repeats.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn push_number(&mut self, v: f64) {
        if let Some(s) = &mut self.sketches {
            s.moments.add(v);
            s.quantiles.add(v);
            s.distinct
                .add_hash(crate::sketch::hash64(&v.to_bits().to_le_bytes()));
        }
        self.numbers_seen += 1;
        self.range = Some(match self.range {
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
            None => (v, v),
        });
        if self.numbers.len() < self.max_numbers {
            self.numbers.push(v);
        } else {
            // Algorithm R: the new value replaces a random kept one with probability
            // kept / seen.
            let j = self.next_random() % self.numbers_seen;
            if let Some(slot) = usize::try_from(j)
                .ok()
                .and_then(|j| self.numbers.get_mut(j))
            {
                *slot = v;
            }
        }
    }

    fn push_label(&mut self, s: &str) {
        if let Some(sk) = &mut self.sketches {
            sk.distinct.add_hash(crate::sketch::hash64(s.as_bytes()));
        }
        self.label_chars += s.chars().count() as u64;
        if let Some(c) = self.labels.get_mut(s) {
            *c += 1;
        } else if self.labels.len() < MAX_LABELS {
            self.labels.insert(s.to_owned(), 1);
        } else {
            self.labels_overflow += 1;
        }
        if self.text_candidate == Some(false) {
            return;
        }
        let len = s.chars().count() as f64;
        if self.lengths.len() < self.max_numbers {
            self.lengths.push(len);
        }
        for tok in tokens(s) {
            self.token_total += 1;
            if let Some(c) = self.tokens.get_mut(tok.as_str()) {
                *c += 1;
            } else if self.tokens.len() < MAX_TOKENS {
                self.tokens.insert(tok, 1);
            }
        }
    }

    /// After the first batch: whether this column could be text at all.
    fn decide_text(&mut self) {
        if self.text_candidate.is_none() && self.storage == Storage::Label && self.present() > 0 {
            let could = self.is_text();
            self.text_candidate = Some(could);
            if !could {
                self.tokens = FastMap::default();
                self.lengths = Vec::new();
                self.token_total = 0;
            }
        }
    }

    /// Sorts the numbers (and lengths) for the tests.
    fn finish(&mut self) {
        self.numbers.sort_by(f64::total_cmp);
        self.lengths.sort_by(f64::total_cmp);
    }

    /// Non-null values.
    pub fn present(&self) -> u64 {
        self.rows - self.nulls
    }

    /// Whether a label column reads as free text: long labels, mostly distinct.
    pub fn is_text(&self) -> bool {
        if self.force_text {
            return true;
        }
        let n = self.present();
        if self.storage != Storage::Label || n == 0 {
            return false;
        }
        let mean = self.label_chars as f64 / n as f64;
        let distinct = (self.labels.len() as u64 + self.labels_overflow) as f64 / n as f64;
        self.text_candidate != Some(false) && mean >= TEXT_MEAN_CHARS && distinct >= 0.5
    }
}

/// Lowercased words of a text.
pub fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

/// Every column of a dataset, read to the end.
#[derive(Debug, Clone)]
pub struct DatasetValues {
    pub rows: u64,
    pub columns: Vec<ColumnValues>,
}

impl DatasetValues {
    pub fn column(&self, name: &str) -> Option<&ColumnValues> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Reads every batch of `table` into per-column values.
pub fn collect(table: &mut Table) -> Result<DatasetValues, ReadError> {
    collect_with(table, false)
}

/// As [`collect`], with `sketches` also kept over every value (for a profile).
pub fn collect_with(table: &mut Table, sketches: bool) -> Result<DatasetValues, ReadError> {
    let mut c = Collector::for_schema(
        &table.schema,
        Limits {
            sketches,
            ..Limits::default()
        },
    );
    while let Some(batch) = table.next_batch() {
        c.add_batch(&batch?)?;
    }
    Ok(c.finish())
}

/// What a [`Collector`] keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Keep mergeable sketches over every value (what a profile needs).
    pub sketches: bool,
    /// Numbers kept per column for the tests; beyond, a uniform sample of this many
    /// (8 bytes each). At most [`MAX_NUMBERS`].
    pub max_numbers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sketches: false,
            max_numbers: MAX_NUMBERS,
        }
    }
}

/// One value of a row added to a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Number(f64),
    Text(&'a str),
    Bool(bool),
}

/// Rows a stream decides text columns on when they come one at a time.
const TEXT_DECISION_ROWS: u64 = 1024;

/// Column values gathered from a stream: Arrow batches, or rows one at a time (the
/// gateway's live traffic). Memory is bounded whatever the stream's length: per column
/// at most `max_numbers` numbers, [`MAX_LABELS`] labels and [`MAX_TOKENS`] tokens, plus
/// sketches of fixed size. [`Collector::snapshot`] gives what a drift comparison reads
/// at any point; [`Collector::profile`] the profile so far.
#[derive(Debug, Clone)]
pub struct Collector {
    columns: Vec<ColumnValues>,
    rows: u64,
}

impl Collector {
    /// A collector for columns of these names and Arrow types.
    pub fn new(columns: &[(&str, DataType)], limits: Limits) -> Self {
        let columns = columns
            .iter()
            .enumerate()
            .map(|(i, (name, t))| {
                let mut c = ColumnValues::new(name, storage(t), 0x9E37_79B9 + i as u64);
                c.arrow_type = t.to_string();
                c.max_numbers = limits.max_numbers.clamp(1, MAX_NUMBERS);
                c.sketches = limits.sketches.then(Sketches::default);
                c
            })
            .collect();
        Collector { columns, rows: 0 }
    }

    pub fn for_schema(schema: &arrow_schema::Schema, limits: Limits) -> Self {
        let cols: Vec<(&str, DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type().clone()))
            .collect();
        Collector::new(&cols, limits)
    }

    /// A collector for the columns of a profile, in its order (each column read as
    /// the Arrow type it was profiled as), so that what it gathers compares with it.
    pub fn for_profile(p: &crate::profile::Profile, limits: Limits) -> Self {
        let cols: Vec<(&str, DataType)> = p
            .columns
            .iter()
            .map(|c| {
                let t = c
                    .arrow_type
                    .parse::<DataType>()
                    .unwrap_or(match c.kind.as_str() {
                        "numerical" => DataType::Float64,
                        "categorical" | "text" => DataType::Utf8,
                        _ => DataType::Null,
                    });
                (c.name.as_str(), t)
            })
            .collect();
        Collector::new(&cols, limits)
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds a batch whose columns are this collector's, in order.
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<(), ReadError> {
        if batch.num_columns() != self.columns.len() {
            return Err(ReadError::Malformed {
                format: "batch",
                message: format!(
                    "{} columns where the stream has {}",
                    batch.num_columns(),
                    self.columns.len()
                ),
            });
        }
        self.rows += batch.num_rows() as u64;
        add_batch(&mut self.columns, batch)?;
        for c in &mut self.columns {
            c.decide_text();
        }
        Ok(())
    }

    /// Adds one row: a value per column, in order (missing trailing values are nulls,
    /// extra ones are ignored). A value of another type than its column's is parsed
    /// when it can be (a number in text), else counted in `mismatched`.
    pub fn add_row(&mut self, row: &[Value<'_>]) {
        self.rows += 1;
        for (i, c) in self.columns.iter_mut().enumerate() {
            c.rows += 1;
            match (c.storage, row.get(i).copied().unwrap_or(Value::Null)) {
                (_, Value::Null) | (Storage::Other, _) => c.nulls += 1,
                (Storage::Number, Value::Number(v)) if !v.is_finite() => c.nulls += 1,
                (Storage::Number, Value::Number(v)) => c.push_number(v),
                (Storage::Number, Value::Bool(b)) => c.push_number(f64::from(u8::from(b))),
                (Storage::Number, Value::Text(t)) => match t.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => c.push_number(v),
                    _ => {
                        c.nulls += 1;
                        c.mismatched += 1;
                    }
                },
                (Storage::Label, Value::Text(t)) => c.push_label(t),
                (Storage::Label, Value::Bool(b)) => c.push_label(if b { "true" } else { "false" }),
                (Storage::Label, Value::Number(v)) => c.push_label(&v.to_string()),
            }
            if self.rows == TEXT_DECISION_ROWS {
                c.decide_text();
            }
        }
    }

    /// What a comparison reads now (the collector goes on).
    pub fn snapshot(&self) -> DatasetValues {
        self.clone().finish()
    }

    pub fn finish(mut self) -> DatasetValues {
        for c in &mut self.columns {
            c.decide_text();
            c.finish();
        }
        DatasetValues {
            rows: self.rows,
            columns: self.columns,
        }
    }

    /// The profile of what was added (sketched over every value when the collector
    /// keeps sketches, else over the kept sample).
    pub fn profile(&self) -> crate::profile::Profile {
        crate::profile::Profile::from_values(&self.snapshot())
    }
}

fn add_batch(columns: &mut [ColumnValues], batch: &RecordBatch) -> Result<(), ReadError> {
    let cast_error = |e: arrow_schema::ArrowError| ReadError::Malformed {
        format: "column",
        message: e.to_string(),
    };
    for (c, array) in columns.iter_mut().zip(batch.columns()) {
        c.rows += array.len() as u64;
        c.nulls += array.null_count() as u64;
        match c.storage {
            Storage::Number => {
                // Temporal values become their integer form first (days, microseconds…).
                let as_int = matches!(
                    array.data_type(),
                    DataType::Date32
                        | DataType::Date64
                        | DataType::Timestamp(..)
                        | DataType::Time32(_)
                        | DataType::Time64(_)
                        | DataType::Duration(_)
                );
                let array = if as_int {
                    arrow_cast::cast(array, &DataType::Int64).map_err(cast_error)?
                } else {
                    array.clone()
                };
                let floats = arrow_cast::cast(&array, &DataType::Float64).map_err(cast_error)?;
                let floats = floats.as_primitive::<arrow_array::types::Float64Type>();
                for v in floats.iter().flatten() {
                    if !v.is_finite() {
                        // NaN and ±infinity are missing values, as the tools users
                        // compare with read them (Evidently turns infinities into NaN).
                        c.nulls += 1;
                    } else {
                        c.push_number(v);
                    }
                }
            }
            Storage::Label => {
                let text = arrow_cast::cast(array, &DataType::Utf8).map_err(cast_error)?;
                for v in text.as_string::<i32>().iter().flatten() {
                    c.push_label(v);
                }
            }
            Storage::Other => {}
        }
    }
    Ok(())
}
