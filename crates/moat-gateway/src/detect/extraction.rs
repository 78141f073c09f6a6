//! `extraction`: model extraction and probing, judged per key on a `tabular` endpoint.
//!
//! Five signals, each calibrated on synthetic benign traffic (steady users, clients that
//! retry, time series; `tests/it/extraction.rs` reports detection and false-alarm rates
//! per client kind), any of which flags the key:
//!
//! - `prada` (Juuti et al. 2019): the minimum L2 distance of each query to the key's
//!   earlier ones, in normal scores of the profile (each value's quantile in the
//!   training data through the normal quantile function, so skewed and discrete
//!   features do not bend the distances); natural queries give roughly normal
//!   distances, synthetic ones (Jacobian augmentation, line searches) do not. Shapiro–Wilk
//!   on the logarithms of the last `prada_window` distances (natural nearest-neighbour
//!   distances are right-skewed, their logarithms near normal), flagged below `prada_w`. Exact repeats (retries)
//!   are counted and left out first: they would put zeros in the distances.
//! - `volume`: more than `max_queries_per_hour` queries in a sliding hour.
//! - `coverage`: the share of queries outside the profile's 1st–99th percentile band in
//!   some feature, far above what the data gives (uniform-random and space-filling
//!   queries); needs the endpoint's profile.
//! - `sweep`: queries that change exactly one feature from their nearest earlier query,
//!   or lie on the line through the two queries before (feature sweeps, binary searches
//!   for the decision boundary).
//! - `probing`: many queries at a tiny distance around the same earlier query (finite
//!   differences and gradient estimates around a point): a star, where a time series is
//!   a chain.
//!
//! PRADA alone misses uniform-random and boundary-search attackers and misfires on
//! retries and time series; the other signals cover those. Known false positives: a
//! client that legitimately scans one feature (a what-if tool), a client whose traffic is
//! mostly outliers. State is bounded: [`MAX_KEYS`] keys (least recently seen forgotten),
//! [`KEPT`] queries of at most [`MAX_DIMS`] features per key.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moat_data::profile::Profile;
use serde::{Deserialize, Serialize};

use super::rows::Cell;
use super::{Detector, DetectorCx, DetectorId, Finding, Phase, Severity};
use crate::config::Kind;

/// Keys followed at once per endpoint.
pub(crate) const MAX_KEYS: usize = 2048;
/// Earlier queries a key's distances are measured against.
pub(crate) const KEPT: usize = 256;
/// Features used per query at most.
pub(crate) const MAX_DIMS: usize = 32;
const SHARDS: usize = 16;
/// Rows of one request the distance signals judge at most.
const PER_REQUEST: usize = 256;

/// `extraction = { … }` on an endpoint; every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractionSettings {
    /// Queries a key may send in a sliding hour before `volume` fires.
    pub max_queries_per_hour: u64,
    /// Queries a key sends before the other signals judge it.
    pub min_queries: usize,
    /// Distances in PRADA's test.
    pub prada_window: usize,
    /// Shapiro–Wilk `W` below which the distances are not natural.
    pub prada_w: f64,
    /// Share of the last 100 queries outside the profile's 1–99% band.
    pub coverage_share: f64,
    /// Share of the last 100 queries that are sweeps or line searches.
    pub sweep_share: f64,
    /// Queries around one earlier query, at under `probe_radius` standard units per
    /// feature, among the last 100.
    pub probe_count: usize,
    pub probe_radius: f64,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        ExtractionSettings {
            max_queries_per_hour: 10_000,
            min_queries: 50,
            prada_window: 100,
            prada_w: 0.85,
            coverage_share: 0.5,
            sweep_share: 0.3,
            probe_count: 8,
            probe_radius: 0.02,
        }
    }
}

impl ExtractionSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !(20..=5000).contains(&self.prada_window) {
            return Err("prada_window must be between 20 and 5000".into());
        }
        for (v, n) in [
            (self.prada_w, "prada_w"),
            (self.coverage_share, "coverage_share"),
            (self.sweep_share, "sweep_share"),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(format!("{n} must be in (0, 1]"));
            }
        }
        if !(self.probe_radius.is_finite() && self.probe_radius > 0.0) || self.probe_count < 2 {
            return Err("probe_radius must be positive and probe_count at least 2".into());
        }
        Ok(())
    }
}

/// One feature's normal scores: a value's quantile in the profile, through the
/// standard normal quantile function (a rank-Gauss transform), so that distances mean
/// the same on skewed and discrete features as on normal ones.
#[derive(Debug, Clone)]
struct Feature {
    /// Its position among the input columns (the profile's, the target left out).
    pos: usize,
    /// The profile's values standing in for the column, sorted.
    grid: Vec<f64>,
    std: f64,
}

/// The 1st and 99th percentiles in normal scores.
const BAND: f64 = 2.326_347_874_040_840_8;

impl Feature {
    fn score(&self, x: f64) -> f64 {
        let g = &self.grid;
        let n = g.len() as f64;
        let (first, last) = (g[0], g[g.len() - 1]);
        let q = moat_data::stats::normal_quantile;
        if x < first {
            return q(0.5 / n) - (first - x) / self.std;
        }
        if x > last {
            return q(1.0 - 0.5 / n) + (x - last) / self.std;
        }
        let lo = g.partition_point(|v| *v < x);
        let hi = g.partition_point(|v| *v <= x);
        let rank = if hi > lo {
            // Ties: the middle of their ranks.
            (lo + hi) as f64 / 2.0
        } else {
            let (a, b) = (g[lo - 1], g[lo]);
            lo as f64 - 0.5 + (x - a) / (b - a)
        };
        q((rank / n).clamp(0.5 / n, 1.0 - 0.5 / n))
    }
}

#[derive(Default)]
struct KeyState {
    last_seen: Option<Instant>,
    queries: u64,
    retries: u64,
    kept: VecDeque<Vec<f32>>,
    /// The last two queries, raw.
    last_raw: VecDeque<Vec<f32>>,
    distances: VecDeque<f64>,
    /// The last 100 queries: outside the band, a sweep step, and the index (in `kept`
    /// numbering, `queries`-based) of a near earlier query.
    outside: VecDeque<bool>,
    sweep: VecDeque<bool>,
    near: VecDeque<Option<u64>>,
    /// Ids of `kept`, in the same order.
    ids: VecDeque<u64>,
    hour: (Option<Instant>, u64, u64),
    flagged: Option<String>,
}

const RECENT: usize = 100;
/// Earlier queries a key needs before its distances count.
const PRADA_WARMUP: usize = 10;

fn push_bounded<T>(q: &mut VecDeque<T>, v: T, n: usize) {
    if q.len() == n {
        q.pop_front();
    }
    q.push_back(v);
}

pub struct Extraction {
    /// The profile's input columns, in order, and the numerical ones among them.
    inputs: Vec<String>,
    features: Option<Vec<Feature>>,
    settings: ExtractionSettings,
    shards: Vec<Mutex<HashMap<String, KeyState>>>,
}

impl Extraction {
    pub fn new(
        profile: Option<Arc<Profile>>,
        target: Option<String>,
        settings: ExtractionSettings,
    ) -> Self {
        let inputs: Vec<String> = profile
            .iter()
            .flat_map(|p| p.columns.iter())
            .filter(|c| Some(&c.name) != target.as_ref())
            .map(|c| c.name.clone())
            .collect();
        let features = profile.map(|p| {
            let stand_in = p.stand_in();
            p.columns
                .iter()
                .filter(|c| Some(&c.name) != target.as_ref())
                .enumerate()
                .filter(|(_, c)| c.kind == "numerical")
                .filter_map(|(pos, c)| {
                    let mut grid = stand_in.column(&c.name)?.numbers.clone();
                    grid.retain(|v| v.is_finite());
                    grid.sort_by(f64::total_cmp);
                    (!grid.is_empty()).then(|| Feature {
                        pos,
                        grid,
                        std: c.std.filter(|s| *s > 0.0 && s.is_finite()).unwrap_or(1.0),
                    })
                })
                .take(MAX_DIMS)
                .collect()
        });
        Extraction {
            inputs,
            features,
            settings,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// A row's features: in normal scores (raw numbers without a profile), and raw in
    /// the profile's standard units (lines stay lines there).
    fn vector(&self, rows: &super::Rows, i: usize) -> (Vec<f32>, Vec<f32>) {
        match &self.features {
            Some(fs) => {
                // Positional rows are in the profile's order, the target left out.
                let names: Vec<&str> = self.inputs.iter().map(String::as_str).collect();
                let (vals, _) = rows.aligned(i, &names);
                fs.iter()
                    .map(|f| {
                        let x = match vals.get(f.pos).copied().flatten() {
                            Some(Cell::Number(x)) => Some(*x),
                            Some(Cell::Text(t)) => t.trim().parse::<f64>().ok(),
                            _ => None,
                        }
                        .filter(|x| x.is_finite());
                        x.map_or((0.0, 0.0), |x| (f.score(x) as f32, (x / f.std) as f32))
                    })
                    .unzip()
            }
            None => {
                let v: Vec<f32> = rows.rows[i]
                    .iter()
                    .filter_map(|(_, c)| match c {
                        Cell::Number(x) => Some(*x as f32),
                        _ => None,
                    })
                    .take(MAX_DIMS)
                    .collect();
                (v.clone(), v)
            }
        }
    }

    /// Adds one query of a key; returns the signals that fire, if any.
    fn observe(
        &self,
        st: &mut KeyState,
        (x, raw): (Vec<f32>, Vec<f32>),
        now: Instant,
    ) -> Vec<String> {
        let s = &self.settings;
        st.queries += 1;
        // Volume: a sliding hour from two fixed ones (the previous weighed by overlap).
        let (start, cur, prev) = &mut st.hour;
        let hour = Duration::from_secs(3600);
        let begun = *start.get_or_insert(now);
        let gone = now.saturating_duration_since(begun);
        if gone >= hour * 2 {
            (*start, *cur, *prev) = (Some(now), 0, 0);
        } else if gone >= hour {
            (*start, *prev, *cur) = (Some(begun + hour), *cur, 0);
        }
        *cur += 1;
        let into = now
            .saturating_duration_since(start.unwrap_or(now))
            .as_secs_f64()
            / 3600.0;
        let in_hour = *cur as f64 + *prev as f64 * (1.0 - into).max(0.0);
        let mut fired = Vec::new();
        if in_hour > s.max_queries_per_hour as f64 {
            fired.push(format!(
                "volume ({in_hour:.0} queries in the last hour, over {})",
                s.max_queries_per_hour
            ));
        }
        if x.is_empty() {
            return fired;
        }
        // Nearest earlier query.
        let d = x.len();
        let mut best = (f64::INFINITY, usize::MAX);
        for (j, k) in st.kept.iter().enumerate() {
            if k.len() != d {
                continue;
            }
            let dist: f64 = k
                .iter()
                .zip(&x)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            if dist < best.0 {
                best = (dist, j);
            }
        }
        if best.0 <= 1e-6 {
            // A retry: the same query again. Left out of every signal.
            st.retries += 1;
            return fired;
        }
        let outside = self.features.is_some() && x.iter().any(|v| f64::from(v.abs()) > BAND);
        let mut sweep = false;
        let mut near = None;
        if best.1 != usize::MAX {
            let nn = &st.kept[best.1];
            let changed = nn
                .iter()
                .zip(&x)
                .filter(|(a, b)| (*a - *b).abs() > 1e-6)
                .count();
            sweep = changed == 1 && d > 1;
            if best.0 < s.probe_radius * (d as f64).sqrt() {
                near = Some(st.ids[best.1]);
            }
            // The first distances, to a handful of earlier queries, only shrink.
            if st.kept.len() >= PRADA_WARMUP {
                push_bounded(&mut st.distances, best.0, s.prada_window);
            }
        }
        if !sweep && st.last_raw.len() == 2 && d > 1 {
            // On the line through the two queries before?
            let (a, b) = (&st.last_raw[0], &st.last_raw[1]);
            if a.len() == d && b.len() == d {
                let u: Vec<f64> = b.iter().zip(a).map(|(p, q)| f64::from(p - q)).collect();
                let v: Vec<f64> = raw.iter().zip(b).map(|(p, q)| f64::from(p - q)).collect();
                let dot: f64 = u.iter().zip(&v).map(|(p, q)| p * q).sum();
                let (nu, nv) = (
                    u.iter().map(|p| p * p).sum::<f64>().sqrt(),
                    v.iter().map(|p| p * p).sum::<f64>().sqrt(),
                );
                sweep = nu > 1e-9 && nv > 1e-9 && (dot / (nu * nv)).abs() > 0.9999;
            }
        }
        push_bounded(&mut st.outside, outside, RECENT);
        push_bounded(&mut st.sweep, sweep, RECENT);
        push_bounded(&mut st.near, near, RECENT);
        push_bounded(&mut st.kept, x, KEPT);
        push_bounded(&mut st.last_raw, raw, 2);
        push_bounded(&mut st.ids, st.queries, KEPT);
        let judged = st.queries - st.retries;
        if (judged as usize) < s.min_queries {
            return fired;
        }
        if st.distances.len() >= s.min_queries.min(s.prada_window) && judged % 10 == 0 {
            // Log distances: natural nearest-neighbour distances are right-skewed
            // (Weibull-like), their logarithms near normal.
            let ds: Vec<f64> = st.distances.iter().map(|d| d.ln()).collect();
            let w = moat_data::stats::shapiro_wilk(&ds).map_or(0.0, |t| t.w);
            if w < s.prada_w {
                fired.push(format!(
                    "prada (Shapiro–Wilk W {w:.3} over {} distances, under {})",
                    ds.len(),
                    s.prada_w
                ));
            }
        }
        let share = |q: &VecDeque<bool>| q.iter().filter(|b| **b).count() as f64 / q.len() as f64;
        if self.features.is_some() && share(&st.outside) > s.coverage_share {
            fired.push(format!(
                "coverage ({:.0}% of the last {} queries outside the data's 1–99% band)",
                share(&st.outside) * 100.0,
                st.outside.len()
            ));
        }
        if share(&st.sweep) > s.sweep_share {
            fired.push(format!(
                "sweep ({:.0}% of the last {} queries change one feature or follow a line)",
                share(&st.sweep) * 100.0,
                st.sweep.len()
            ));
        }
        let mut hubs: HashMap<u64, usize> = HashMap::new();
        for id in st.near.iter().flatten() {
            *hubs.entry(*id).or_default() += 1;
        }
        if let Some(n) = hubs.values().max().filter(|n| **n >= s.probe_count) {
            fired.push(format!(
                "probing ({n} of the last {} queries within {} standard units of one earlier query)",
                st.near.len(),
                s.probe_radius
            ));
        }
        fired
    }
}

fn shard_of(key: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3);
    }
    (h % SHARDS as u64) as usize
}

impl Detector for Extraction {
    fn id(&self) -> DetectorId {
        DetectorId::Extraction
    }

    fn phases(&self) -> &'static [Phase] {
        &[Phase::RequestBody]
    }

    fn applies_to(&self, kind: Kind) -> bool {
        kind == Kind::Tabular
    }

    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>) {
        let Some(rows) = cx.rows else { return };
        let now = Instant::now();
        // A batch is judged on at most `PER_REQUEST` of its rows, spread over it (the
        // distance work is per row and kept query); the volume counts every row.
        let n = rows.rows.len();
        let step = n.div_ceil(PER_REQUEST).max(1);
        let vectors: Vec<(Vec<f32>, Vec<f32>)> =
            (0..n).step_by(step).map(|i| self.vector(rows, i)).collect();
        let unjudged = n - vectors.len();
        let mut shard = self.shards[shard_of(cx.key_id)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !shard.contains_key(cx.key_id) && shard.len() >= MAX_KEYS / SHARDS {
            // Forget the key seen longest ago.
            if let Some(old) = shard
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            {
                shard.remove(&old);
            }
        }
        let st = shard.entry(cx.key_id.to_owned()).or_default();
        st.last_seen = Some(now);
        let mut fired = Vec::new();
        if unjudged > 0 {
            // Rows past the sample still count toward the volume.
            st.hour.1 += unjudged as u64;
        }
        for x in vectors {
            for f in self.observe(st, x, now) {
                if !fired.contains(&f) {
                    fired.push(f);
                }
            }
        }
        match (&st.flagged, fired.is_empty()) {
            (None, true) => {}
            (None, false) => {
                let evidence = format!(
                    "key {} after {} queries ({} retries left out): {}",
                    cx.key_id,
                    st.queries,
                    st.retries,
                    fired.join("; ")
                );
                st.flagged = Some(evidence.clone());
                findings.push(Finding {
                    detector: DetectorId::Extraction,
                    severity: if fired.len() >= 2 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    // Extract ML model.
                    atlas: "AML.T0024.002",
                    evidence,
                    repeat: false,
                });
            }
            (Some(first), _) => findings.push(Finding {
                detector: DetectorId::Extraction,
                severity: Severity::Medium,
                atlas: "AML.T0024.002",
                evidence: format!("still flagged: {first}"),
                repeat: true,
            }),
        }
    }
}

impl Extraction {
    /// Sends `queries` (positional rows) as key `key`, one a request, and returns after
    /// how many the key was flagged, if it was: the calibration and rate tests drive the
    /// detector through this, without HTTP.
    pub fn flags_after(&self, key: &str, queries: &[Vec<f64>]) -> Option<usize> {
        for (i, q) in queries.iter().enumerate() {
            let rows = super::Rows {
                columns: None,
                rows: vec![q
                    .iter()
                    .map(|v| (String::new(), Cell::Number(*v)))
                    .collect()],
                ..super::Rows::default()
            };
            let cx = DetectorCx {
                endpoint: "e",
                key_id: key,
                kind: Kind::Tabular,
                phase: Phase::RequestBody,
                texts: &[],
                json: None,
                rows: Some(&rows),
            };
            let mut f = Vec::new();
            self.inspect(&cx, &mut f);
            if !f.is_empty() {
                return Some(i + 1);
            }
        }
        None
    }
}
