//! Drift between a reference dataset and a current one, column by column, and a
//! verdict for the dataset.
//!
//! The test is picked per column as Evidently picks it by default, and the output says
//! which: numerical columns with at most 1,000 reference values get the two-sample
//! Kolmogorov–Smirnov test (drift when p < 0.05), larger ones the Wasserstein distance
//! normed by the reference's standard deviation (drift at ≥ 0.1); categorical columns
//! (labels, and numbers with at most 5 distinct values) get chi-square (p < 0.05) or,
//! past 1,000 values, the Jensen–Shannon distance (≥ 0.1); text columns get token
//! signals (share of tokens never seen in the reference, ≥ 0.1). Every choice can be
//! overridden ([`Options`]).
//!
//! What the usual tools miss is reported too, as signals that drift a column on their
//! own: a jump in the share of missing values (they drop nulls before testing), values
//! or categories never seen in the reference, and for text, newly frequent tokens and
//! a change of length. Effect size and significance are kept apart: numerical columns
//! always carry the Wasserstein effect, PSI on the reference's decile bins and the KS
//! p-value, so a tiny shift over a million rows is visible without being an alarm. A
//! categorical column with many values is compared on its 50 most frequent ones plus
//! "other", against a threshold no lower than three times the distance between two
//! random halves of the reference (what sampling alone gives), so a stable
//! high-cardinality column does not false-alarm. The dataset drifts when the share of
//! drifted columns reaches `drift_share` (0.5), or when the drifted columns' severity,
//! weighed, reaches it: many strongly drifted columns are never "no drift".

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::collect::{ColumnValues, DatasetValues};
use crate::read::Storage;
use crate::stats;

/// Settings; [`Options::default`] is Evidently's defaults plus Moat's signals.
#[derive(Debug, Clone)]
pub struct Options {
    /// Columns with at most this many reference values get the small-sample tests.
    pub small_sample: usize,
    /// Numbers with at most this many distinct values are categorical.
    pub max_numeric_categories: usize,
    pub ks_p: f64,
    pub chi2_p: f64,
    pub wasserstein: f64,
    pub jensen_shannon: f64,
    pub psi: f64,
    pub text_unseen: f64,
    /// The dataset drifts at this share of drifted columns (or weighed severity).
    pub drift_share: f64,
    /// A column's missing share drifts when it moves by at least this much and a
    /// two-proportion test gives p below `null_p`.
    pub null_jump: f64,
    pub null_p: f64,
    /// Share of current values outside the reference's range (numbers) or never seen
    /// in it (categories) that drifts a column.
    pub unseen: f64,
    /// Per column: the test to use (`ks`, `wasserstein`, `psi`, `chisquare`,
    /// `jensenshannon`) and its threshold, overriding the choice above.
    pub per_column: HashMap<String, (Test, Option<f64>)>,
    /// Columns left out (identifiers, timestamps of collection).
    pub ignore: HashSet<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            small_sample: 1000,
            max_numeric_categories: 5,
            ks_p: 0.05,
            chi2_p: 0.05,
            wasserstein: 0.1,
            jensen_shannon: 0.1,
            psi: 0.1,
            text_unseen: 0.1,
            drift_share: 0.5,
            null_jump: 0.05,
            null_p: 0.001,
            unseen: 0.05,
            per_column: HashMap::new(),
            ignore: HashSet::new(),
        }
    }
}

/// The tests a column can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    Ks,
    Wasserstein,
    Psi,
    Chisquare,
    Jensenshannon,
    TextTokens,
    /// The column is missing from one side, or holds no values.
    Schema,
}

impl Test {
    pub fn parse(s: &str) -> Option<Test> {
        Some(match s {
            "ks" => Test::Ks,
            "wasserstein" => Test::Wasserstein,
            "psi" => Test::Psi,
            "chisquare" | "chi2" => Test::Chisquare,
            "jensenshannon" | "js" => Test::Jensenshannon,
            _ => return None,
        })
    }

    /// Whether the statistic is a p-value test (drift below the threshold).
    fn is_p_value(self) -> bool {
        matches!(self, Test::Ks | Test::Chisquare)
    }
}

/// A signal of its own beside the test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// `missing-share`, `out-of-range`, `unseen-categories`, `new-tokens`, `length`.
    pub kind: &'static str,
    pub reference: f64,
    pub current: f64,
    pub drifted: bool,
}

/// One column's result; the first seven fields are the output contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDrift {
    pub name: String,
    /// `numerical`, `categorical` or `text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub test: Test,
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    /// Effect sizes, whatever the test: `wasserstein_normed`, `psi`, `jensenshannon`.
    pub effect: BTreeMap<&'static str, f64>,
    /// Significance beside the effect: the KS p-value of a numerical column.
    pub significance: Option<f64>,
    pub signals: Vec<Signal>,
    /// How far past its threshold the column is (1 at the threshold; 0 when not drifted).
    pub severity: f64,
    pub reference_rows: u64,
    pub current_rows: u64,
}

/// The whole report; `columns`, `drift_share` and `dataset_drift` are the contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub columns: Vec<ColumnDrift>,
    pub drift_share: f64,
    pub dataset_drift: bool,
    /// The severity-weighed share that also makes the dataset drift.
    pub weighted_share: f64,
    pub threshold_share: f64,
    pub reference_rows: u64,
    pub current_rows: u64,
}

/// Compares every column of `current` with the same column of `reference`.
pub fn compare(reference: &DatasetValues, current: &DatasetValues, o: &Options) -> DriftReport {
    let mut columns = Vec::new();
    for r in &reference.columns {
        if o.ignore.contains(&r.name) || r.storage == Storage::Other {
            continue;
        }
        let result = match current.column(&r.name) {
            Some(c) => column(r, c, o),
            None => schema_drift(r.name.clone(), r.present(), 0),
        };
        columns.push(result);
    }
    for c in &current.columns {
        if reference.column(&c.name).is_none() && !o.ignore.contains(&c.name) {
            columns.push(schema_drift(c.name.clone(), 0, c.present()));
        }
    }
    let n = columns.len().max(1) as f64;
    let drifted = columns.iter().filter(|c| c.drifted).count() as f64;
    let weighted: f64 = columns.iter().map(|c| c.severity.min(3.0)).sum::<f64>() / n;
    let drift_share = drifted / n;
    DriftReport {
        dataset_drift: drift_share >= o.drift_share || weighted >= o.drift_share,
        drift_share,
        weighted_share: weighted.min(1.0),
        threshold_share: o.drift_share,
        reference_rows: reference.rows,
        current_rows: current.rows,
        columns,
    }
}

fn schema_drift(name: String, reference_rows: u64, current_rows: u64) -> ColumnDrift {
    ColumnDrift {
        name,
        kind: "schema",
        test: Test::Schema,
        statistic: 1.0,
        p_value: None,
        threshold: 0.0,
        drifted: true,
        effect: BTreeMap::new(),
        significance: None,
        signals: Vec::new(),
        severity: 1.0,
        reference_rows,
        current_rows,
    }
}

/// Two-proportion z-test p-value (two-sided), with the pooled share.
fn proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let p = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return if p1 == p2 { 1.0 } else { 0.0 };
    }
    let z = ((p1 - p2) / se).abs();
    // 2 (1 - Φ(z)) = erfc(z / √2) = Q(1/2, z²/2).
    stats::special::gamma_q(0.5, z * z / 2.0)
}

fn severity(test: Test, statistic: f64, threshold: f64, drifted: bool) -> f64 {
    if !drifted {
        return 0.0;
    }
    if test.is_p_value() {
        // One for p at the threshold, one more per factor of 100 below it.
        (1.0 + (threshold / statistic.max(1e-300)).log10() / 2.0).max(1.0)
    } else if threshold > 0.0 {
        (statistic / threshold).max(1.0)
    } else {
        1.0
    }
}

fn column(r: &ColumnValues, c: &ColumnValues, o: &Options) -> ColumnDrift {
    let override_ = o.per_column.get(&r.name).copied();
    let distinct = r
        .number_counts
        .as_ref()
        .map_or_else(|| distinct_sorted(&r.numbers), Vec::len);
    // A profile without value counts had too many distinct numbers to keep them: its
    // stand-in quantiles are not categories.
    let profiled_many = r.bins.is_some() && r.number_counts.is_none();
    let numeric_categorical =
        r.storage == Storage::Number && !profiled_many && distinct <= o.max_numeric_categories;
    let mut out = if r.storage == Storage::Number
        && !numeric_categorical
        && !matches!(override_, Some((Test::Chisquare | Test::Jensenshannon, _)))
    {
        numerical(r, c, o, override_)
    } else if r.is_text() && override_.is_none() {
        text(r, c, o)
    } else {
        categorical(r, c, o, override_)
    };
    // The share of missing values, a drift signal of its own.
    let (rn, cn) = (r.rows, c.rows);
    let (rs, cs) = (share(r.nulls, rn), share(c.nulls, cn));
    let jumped =
        (cs - rs).abs() >= o.null_jump && proportion_p(r.nulls, rn, c.nulls, cn) < o.null_p;
    out.signals.push(Signal {
        kind: "missing-share",
        reference: rs,
        current: cs,
        drifted: jumped,
    });
    if jumped && !out.drifted {
        out.drifted = true;
        out.severity = out.severity.max(((cs - rs).abs() / o.null_jump).max(1.0));
    }
    for s in &out.signals {
        if s.drifted && !out.drifted {
            out.drifted = true;
            out.severity = out.severity.max(1.0);
        }
    }
    out
}

/// Whether an observed share exceeds the share expected by chance by at least `margin`
/// and by three standard errors of a sample of `n`.
fn beyond_chance(observed: f64, expected: f64, n: u64, margin: f64) -> bool {
    let sigma = (expected * (1.0 - expected) / n.max(1) as f64).sqrt();
    observed - expected >= margin && observed - expected > 3.0 * sigma
}

fn share(x: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        x as f64 / n as f64
    }
}

fn distinct_sorted(v: &[f64]) -> usize {
    let mut n = 0;
    let mut prev: Option<f64> = None;
    for &x in v {
        if prev != Some(x) {
            n += 1;
            prev = Some(x);
        }
    }
    n
}

/// Decile edges of a sorted sample (inner edges, duplicates dropped).
pub(crate) fn decile_edges(sorted: &[f64]) -> Vec<f64> {
    let mut edges: Vec<f64> = (1..10)
        .filter_map(|k| quantile_sorted(sorted, k as f64 / 10.0))
        .collect();
    edges.dedup();
    edges
}

/// numpy's default (linear) quantile of a sorted sample.
fn quantile_sorted(s: &[f64], q: f64) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (*s.get(lo)?, *s.get(hi)?);
    Some(a + (b - a) * (pos - lo as f64))
}

fn numerical(
    r: &ColumnValues,
    c: &ColumnValues,
    o: &Options,
    override_: Option<(Test, Option<f64>)>,
) -> ColumnDrift {
    let (a, b) = (&r.numbers, &c.numbers);
    let mut effect = BTreeMap::new();
    let mut signals = Vec::new();
    let ks = stats::ks_2samp_sorted(a, b);
    let w = stats::wasserstein_normed_sorted(a, b);
    // PSI on the bins fixed when the reference was profiled, else on its deciles.
    let psi = match &r.bins {
        Some((edges, counts)) => stats::psi(counts, &stats::bin_counts(b, edges)),
        None => {
            let edges = decile_edges(a);
            stats::psi(&stats::bin_counts(a, &edges), &stats::bin_counts(b, &edges))
        }
    };
    if let Some(w) = w {
        effect.insert("wasserstein_normed", w);
    }
    if let Some(p) = psi {
        effect.insert("psi", p);
    }
    // Values outside the reference's range.
    let range = r.range.or_else(|| Some((*a.first()?, *a.last()?)));
    if let Some((lo, hi)) = range {
        let outside = b.iter().filter(|&&v| v < lo || v > hi).count();
        let s = share(outside as u64, b.len() as u64);
        signals.push(Signal {
            kind: "out-of-range",
            reference: 0.0,
            current: s,
            drifted: s >= o.unseen,
        });
    }
    // The size of the reference, not of what is kept of it (a sample, a profile).
    let small = r.numbers_seen as usize <= o.small_sample;
    let (test, threshold) = match override_ {
        Some((t, th)) => (t, th.unwrap_or(default_threshold(t, o))),
        None if small => (Test::Ks, o.ks_p),
        None => (Test::Wasserstein, o.wasserstein),
    };
    let (statistic, p_value) = match test {
        Test::Ks => ks.map_or((0.0, Some(1.0)), |k| (k.p_value, Some(k.p_value))),
        Test::Psi => (psi.unwrap_or(0.0), None),
        _ => (w.unwrap_or(0.0), None),
    };
    let (statistic, p_value) = if test == Test::Ks {
        (ks.map_or(0.0, |k| k.statistic), p_value)
    } else {
        (statistic, p_value)
    };
    let drifted = if test.is_p_value() {
        p_value.is_some_and(|p| p < threshold)
    } else {
        statistic >= threshold
    };
    let measured = p_value.unwrap_or(statistic);
    ColumnDrift {
        name: r.name.clone(),
        kind: "numerical",
        test,
        statistic,
        p_value,
        threshold,
        drifted,
        effect,
        significance: ks.map(|k| k.p_value),
        signals,
        severity: severity(test, measured, threshold, drifted),
        reference_rows: r.present(),
        current_rows: c.present(),
    }
}

fn default_threshold(t: Test, o: &Options) -> f64 {
    match t {
        Test::Ks => o.ks_p,
        Test::Chisquare => o.chi2_p,
        Test::Wasserstein => o.wasserstein,
        Test::Jensenshannon => o.jensen_shannon,
        Test::Psi => o.psi,
        Test::TextTokens => o.text_unseen,
        Test::Schema => 0.0,
    }
}

/// Categories: the column's labels, or its few distinct numbers as labels.
pub(crate) fn category_counts(v: &ColumnValues) -> HashMap<String, f64> {
    let mut m: HashMap<String, f64> = HashMap::new();
    if let (Storage::Number, Some(counts)) = (v.storage, &v.number_counts) {
        for (value, n) in counts {
            m.insert(format!("{value}"), *n);
        }
    } else if v.storage == Storage::Number {
        // The numbers are sorted: count each run of equal values once.
        let mut run: Option<(f64, f64)> = None;
        for &x in &v.numbers {
            match &mut run {
                Some((value, n)) if *value == x => *n += 1.0,
                _ => {
                    if let Some((value, n)) = run.take() {
                        m.insert(format!("{value}"), n);
                    }
                    run = Some((x, 1.0));
                }
            }
        }
        if let Some((value, n)) = run {
            m.insert(format!("{value}"), n);
        }
    } else {
        for (k, n) in &v.labels {
            m.insert(k.clone(), *n as f64);
        }
        if v.labels_overflow > 0 {
            m.insert(OTHER.into(), v.labels_overflow as f64);
        }
    }
    m
}

/// The key that counts a reference's labels past its cap.
const OTHER: &str = "\u{0}other";

/// The categories compared: all of the reference's when few, else its 50 most frequent
/// plus one bucket for the rest (and for values it never had).
const TOP: usize = 50;

fn buckets(r: &HashMap<String, f64>) -> Vec<String> {
    // The reference's own "other" (labels past its cap) is never a bucket of its own:
    // it belongs with the rest.
    let mut keys: Vec<(&String, &f64)> = r.iter().filter(|(k, _)| k.as_str() != OTHER).collect();
    keys.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    keys.into_iter().take(TOP).map(|(k, _)| k.clone()).collect()
}

fn bucketed(m: &HashMap<String, f64>, keys: &[String]) -> Vec<f64> {
    let mut v: Vec<f64> = keys
        .iter()
        .map(|k| m.get(k).copied().unwrap_or(0.0))
        .collect();
    let known: HashSet<&String> = keys.iter().collect();
    let rest: f64 = m
        .iter()
        .filter(|(k, _)| !known.contains(k))
        .map(|(_, n)| n)
        .sum();
    v.push(rest);
    v
}

fn categorical(
    r: &ColumnValues,
    c: &ColumnValues,
    o: &Options,
    override_: Option<(Test, Option<f64>)>,
) -> ColumnDrift {
    let (rm, cm) = (category_counts(r), category_counts(c));
    let keys = buckets(&rm);
    let (rv, cv) = (bucketed(&rm, &keys), bucketed(&cm, &keys));
    let mut effect = BTreeMap::new();
    let js = stats::jensen_shannon(&rv, &cv);
    if let Some(j) = js {
        effect.insert("jensenshannon", j);
    }
    let psi = stats::psi(&rv, &cv);
    if let Some(p) = psi {
        effect.insert("psi", p);
    }
    let present = r.present() as usize;
    let (test, mut threshold) = match override_ {
        Some((t, th)) => (t, th.unwrap_or(default_threshold(t, o))),
        None if present <= o.small_sample => (Test::Chisquare, o.chi2_p),
        None => (Test::Jensenshannon, o.jensen_shannon),
    };
    // Many categories: what two halves of the reference differ by is the floor.
    if rm.len() > TOP && !test.is_p_value() {
        let floor = 3.0 * split_half_distance(r, &keys, test);
        threshold = threshold.max(floor);
    }
    let (statistic, p_value) = match test {
        Test::Chisquare => {
            // Two samples, each with its own noise: the test of homogeneity of the 2×k
            // table (a goodness-of-fit test against the reference's shares takes them
            // as exact, and false-alarms on a small reference of many categories).
            // The categories tested are the most frequent of both samples together:
            // chosen by the table's column totals, which (unlike the reference's own
            // most frequent) does not bias the test.
            let mut both = rm.clone();
            for (k, n) in &cm {
                *both.entry(k.clone()).or_insert(0.0) += n;
            }
            let keys = buckets(&both);
            let (a, b) = pool_sparse(&bucketed(&rm, &keys), &bucketed(&cm, &keys));
            match stats::chi2_contingency(&a, &b) {
                Some((s, p, _)) => (s, Some(p)),
                None => (0.0, Some(1.0)),
            }
        }
        Test::Psi => (psi.unwrap_or(0.0), None),
        _ => (js.unwrap_or(0.0), None),
    };
    let drifted = if test.is_p_value() {
        p_value.is_some_and(|p| p < threshold)
    } else {
        statistic >= threshold
    };
    // Categories the reference never had, against what a sample of the same
    // distribution would bring anyway (Good–Turing: the share of the reference's
    // values seen once).
    let unseen: f64 = cm
        .iter()
        .filter(|(k, _)| !rm.contains_key(*k))
        .map(|(_, n)| n)
        .sum();
    let unseen_share = share(unseen as u64, c.present());
    let singletons = r.label_singletons.map_or_else(
        || rm.values().filter(|&&n| n == 1.0).count() as f64,
        |s| s as f64,
    );
    // A reference whose rarest labels were not all kept (a profile keeps the most
    // frequent, the collector caps its map) may have had any label outside what it
    // kept: its share of such values is also what a sample may bring.
    let expected = (singletons + r.labels_overflow as f64) / r.present().max(1) as f64;
    let signals = vec![Signal {
        kind: "unseen-categories",
        reference: expected,
        current: unseen_share,
        drifted: beyond_chance(unseen_share, expected, c.present(), o.unseen),
    }];
    let measured = p_value.unwrap_or(statistic);
    ColumnDrift {
        name: r.name.clone(),
        kind: "categorical",
        test,
        statistic,
        p_value,
        threshold,
        drifted,
        effect,
        significance: None,
        signals,
        severity: severity(test, measured, threshold, drifted),
        reference_rows: r.present(),
        current_rows: c.present(),
    }
}

/// Categories pooled while a cell of the 2×k table is expected to hold fewer than 5
/// values (and the pool joined to the smallest other category while still that
/// sparse): the chi-square approximation does not hold for sparse cells.
fn pool_sparse(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>) {
    const MIN_EXPECTED: f64 = 5.0;
    let (ta, tb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let n = ta + tb;
    let smaller = ta.min(tb);
    let sparse = |x: f64, y: f64| n > 0.0 && (x + y) * smaller / n < MIN_EXPECTED;
    let (mut xa, mut xb) = (Vec::new(), Vec::new());
    let (mut pa, mut pb) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        if sparse(x, y) {
            pa += x;
            pb += y;
        } else {
            xa.push(x);
            xb.push(y);
        }
    }
    if pa + pb > 0.0 {
        let smallest = xa
            .iter()
            .zip(&xb)
            .map(|(x, y)| x + y)
            .enumerate()
            .min_by(|p, q| p.1.total_cmp(&q.1))
            .map(|(i, _)| i);
        match smallest {
            Some(i) if sparse(pa, pb) => {
                if let (Some(x), Some(y)) = (xa.get_mut(i), xb.get_mut(i)) {
                    *x += pa;
                    *y += pb;
                }
            }
            _ => {
                xa.push(pa);
                xb.push(pb);
            }
        }
    }
    (xa, xb)
}

/// The distance between two halves of the reference (alternate labels), on the same
/// buckets: what sampling alone gives for a column this size.
fn split_half_distance(r: &ColumnValues, keys: &[String], test: Test) -> f64 {
    let (mut h1, mut h2): (HashMap<String, f64>, HashMap<String, f64>) = Default::default();
    for (k, &n) in &r.labels {
        // Split each category's count in two as a fair coin would, deterministically.
        let a = (n / 2) as f64
            + if n % 2 == 1 && hash(k) % 2 == 0 {
                1.0
            } else {
                0.0
            };
        h1.insert(k.clone(), a);
        h2.insert(k.clone(), n as f64 - a);
    }
    let (v1, v2) = (bucketed(&h1, keys), bucketed(&h2, keys));
    match test {
        Test::Psi => stats::psi(&v1, &v2),
        _ => stats::jensen_shannon(&v1, &v2),
    }
    .unwrap_or(0.0)
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn text(r: &ColumnValues, c: &ColumnValues, o: &Options) -> ColumnDrift {
    // Share of current tokens the reference never used.
    let unseen: u64 = c
        .tokens
        .iter()
        .filter(|(t, _)| !r.tokens.contains_key(*t))
        .map(|(_, n)| *n)
        .sum();
    let unseen_share = share(unseen, c.token_total);
    // A vocabulary keeps growing: tokens seen once in the reference (Good–Turing) are
    // the share a sample of the same text would bring anyway.
    let once = r
        .token_singletons
        .unwrap_or_else(|| r.tokens.values().filter(|&&n| n == 1).count() as u64);
    // Tokens the reference had but did not keep (past its cap, or a profile's rarest)
    // may be any of the current ones: their share is also expected.
    let kept: u64 = r.tokens.values().sum();
    let not_kept = r.token_total.saturating_sub(kept);
    let expected = share(once + not_kept, r.token_total).min(1.0);
    let mut effect = BTreeMap::new();
    effect.insert("unseen_tokens", unseen_share);
    effect.insert("unseen_tokens_expected", expected);
    let wl = stats::wasserstein_normed_sorted(&r.lengths, &c.lengths).unwrap_or(0.0);
    effect.insert("length_wasserstein_normed", wl);
    // Newly frequent tokens: current share at least 5 times the reference's (floored).
    let rt = r.token_total.max(1) as f64;
    let ct = c.token_total.max(1) as f64;
    // A token the reference lacks had at most half a count, or, when the reference
    // kept only its most frequent tokens, at most the least frequent kept one.
    let floor = if not_kept > 0 {
        r.tokens.values().min().map_or(0.5, |&m| m as f64) / rt
    } else {
        0.5 / rt
    };
    let enriched = c
        .tokens
        .iter()
        .filter(|(t, &n)| {
            let cs = n as f64 / ct;
            let rs = r.tokens.get(*t).map_or(floor, |&m| m as f64 / rt);
            n >= 20 && cs >= 0.005 && cs >= 5.0 * rs
        })
        .count();
    let threshold = o.text_unseen;
    let drifted = beyond_chance(unseen_share, expected, c.token_total, threshold);
    let signals = vec![
        Signal {
            kind: "new-tokens",
            reference: 0.0,
            current: enriched as f64,
            drifted: enriched >= 3,
        },
        Signal {
            kind: "length",
            reference: 0.0,
            current: wl,
            drifted: wl >= o.wasserstein * 2.0,
        },
    ];
    ColumnDrift {
        name: r.name.clone(),
        kind: "text",
        test: Test::TextTokens,
        statistic: unseen_share,
        p_value: None,
        threshold,
        drifted,
        effect,
        significance: None,
        signals,
        severity: severity(Test::TextTokens, unseen_share, threshold, drifted),
        reference_rows: r.present(),
        current_rows: c.present(),
    }
}
