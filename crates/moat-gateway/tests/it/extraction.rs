//! Detection and false-alarm rates of the `extraction` detector, per client kind, on
//! synthetic traffic: a six-feature dataset with correlated features on different scales
//! and one log-normal (its profile made by the data crate, as `moat data profile` makes one), a linear model
//! over it, and clients of seven kinds, 300 queries each, 20 clients (seeds) per kind.
//!
//! Benign: steady users (natural rows), users that retry (each row sent one to three
//! times), time series (a slowly moving AR(1) process in the data's own space).
//! Extraction and probing: uniform-random queries over the profiled ranges,
//! Jacobian-based augmentation (Papernot et al.: seeds stepped by λ·sign of a substitute's
//! gradient), boundary search (binary search between rows of two classes), feature
//! sweeps, and gradient probing (small random steps around a point, as HopSkipJump does).
//!
//! The table is printed (`cargo test -p moat-gateway --test it extraction -- --nocapture`);
//! the test fails if any attacker kind is caught less than 90% of the time or any benign
//! kind raises a false alarm more than 5% of the time, and reports PRADA alone beside the
//! combined detector.

use std::sync::Arc;

use arrow_schema::DataType;
use moat_data::collect::{Collector, Limits, Value};
use moat_data::profile::Profile;
use moat_gateway::detect::{Extraction, ExtractionSettings};

const DIMS: usize = 6;
const QUERIES: usize = 300;
const CLIENTS: u64 = 20;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (a, b) = (self.uniform(), self.uniform());
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }
}

/// The data: x = mean + scale · (L z), z standard normal, L a fixed mixing matrix.
struct Data {
    mean: [f64; DIMS],
    scale: [f64; DIMS],
    mix: [[f64; DIMS]; DIMS],
}

impl Data {
    fn new() -> Self {
        let mut mix = [[0.0; DIMS]; DIMS];
        for (i, row) in mix.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate().take(i + 1) {
                *v = if i == j {
                    1.0
                } else {
                    0.5 / (1 + i - j) as f64
                };
            }
        }
        Data {
            mean: [50.0, 0.3, 40.0, 2.0, 1000.0, -5.0],
            scale: [15.0, 0.1, 12.0, 1.5, 400.0, 3.0],
            mix,
        }
    }
    fn row_of(&self, z: &[f64; DIMS]) -> Vec<f64> {
        (0..DIMS)
            .map(|i| {
                let v: f64 = (0..DIMS).map(|j| self.mix[i][j] * z[j]).sum();
                if i == 4 {
                    // A skewed feature (amounts): log-normal.
                    return self.mean[i] * (0.6 * v).exp();
                }
                self.mean[i] + self.scale[i] * v
            })
            .collect()
    }
    fn sample(&self, r: &mut Rng) -> Vec<f64> {
        let z = std::array::from_fn(|_| r.normal());
        self.row_of(&z)
    }
    /// A linear model: class 1 when this is positive.
    fn score(&self, x: &[f64]) -> f64 {
        x.iter()
            .enumerate()
            .map(|(i, v)| (v - self.mean[i]) / self.scale[i] * [1.0, -0.7, 0.4, 0.9, -0.3, 0.5][i])
            .sum::<f64>()
            - 0.2
    }
    fn profile(&self) -> Profile {
        let cols: Vec<(String, DataType)> = (0..DIMS)
            .map(|i| (format!("f{i}"), DataType::Float64))
            .collect();
        let refs: Vec<(&str, DataType)> =
            cols.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        let mut c = Collector::new(
            &refs,
            Limits {
                sketches: true,
                max_numbers: 100_000,
            },
        );
        let mut r = Rng::new(424242);
        for _ in 0..5000 {
            let x = self.sample(&mut r);
            let row: Vec<Value<'_>> = x.iter().map(|v| Value::Number(*v)).collect();
            c.add_row(&row);
        }
        c.profile()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Client {
    Steady,
    Retries,
    TimeSeries,
    Uniform,
    Jacobian,
    Boundary,
    Sweep,
    Probing,
}

impl Client {
    fn benign(self) -> bool {
        matches!(self, Client::Steady | Client::Retries | Client::TimeSeries)
    }
    fn name(self) -> &'static str {
        match self {
            Client::Steady => "steady users",
            Client::Retries => "users that retry",
            Client::TimeSeries => "time series",
            Client::Uniform => "uniform random",
            Client::Jacobian => "Jacobian augmentation",
            Client::Boundary => "boundary search",
            Client::Sweep => "feature sweeps",
            Client::Probing => "gradient probing",
        }
    }
}

fn queries(kind: Client, d: &Data, p: &Profile, seed: u64) -> Vec<Vec<f64>> {
    let mut r = Rng::new(seed * 7919 + kind as u64);
    let mut out = Vec::new();
    let range: Vec<(f64, f64)> = p
        .columns
        .iter()
        .map(|c| (c.min.unwrap(), c.max.unwrap()))
        .collect();
    match kind {
        Client::Steady => {
            while out.len() < QUERIES {
                out.push(d.sample(&mut r));
            }
        }
        Client::Retries => {
            while out.len() < QUERIES {
                let x = d.sample(&mut r);
                let times = 1 + (r.uniform() * 3.0) as usize;
                for _ in 0..times {
                    out.push(x.clone());
                }
            }
        }
        Client::TimeSeries => {
            let phi: f64 = 0.9;
            let mut z: [f64; DIMS] = std::array::from_fn(|_| r.normal());
            while out.len() < QUERIES {
                for v in &mut z {
                    *v = phi * *v + (1.0 - phi * phi).sqrt() * r.normal();
                }
                out.push(d.row_of(&z));
            }
        }
        Client::Uniform => {
            while out.len() < QUERIES {
                out.push(
                    range
                        .iter()
                        .map(|(lo, hi)| lo + (hi - lo) * r.uniform())
                        .collect(),
                );
            }
        }
        Client::Jacobian => {
            // x + λ·sign(∂F_c/∂x) of the attacker's substitute F: the sign pattern
            // depends on the point (a substitute is a network, retrained each round).
            let mut set: Vec<Vec<f64>> = (0..10).map(|_| d.sample(&mut r)).collect();
            out.extend(set.iter().cloned());
            while out.len() < QUERIES {
                let mut next = Vec::new();
                for x in &set {
                    let y: Vec<f64> = (0..DIMS)
                        .map(|i| {
                            let s = if r.uniform() < 0.5 { -1.0 } else { 1.0 };
                            x[i] + 0.1 * d.scale[i] * s
                        })
                        .collect();
                    next.push(y);
                }
                out.extend(next.iter().cloned());
                set.extend(next);
            }
        }
        Client::Boundary => {
            while out.len() < QUERIES {
                let a = d.sample(&mut r);
                let mut b = d.sample(&mut r);
                while (d.score(&a) > 0.0) == (d.score(&b) > 0.0) {
                    b = d.sample(&mut r);
                }
                out.push(a.clone());
                out.push(b.clone());
                let (mut lo, mut hi) = (a, b);
                for _ in 0..12 {
                    let mid: Vec<f64> = lo.iter().zip(&hi).map(|(x, y)| (x + y) / 2.0).collect();
                    if (d.score(&mid) > 0.0) == (d.score(&lo) > 0.0) {
                        lo = mid.clone();
                    } else {
                        hi = mid.clone();
                    }
                    out.push(mid);
                }
            }
        }
        Client::Sweep => {
            while out.len() < QUERIES {
                let x = d.sample(&mut r);
                for (j, (lo, hi)) in range.iter().enumerate() {
                    for k in 0..20 {
                        let mut y = x.clone();
                        y[j] = lo + (hi - lo) * k as f64 / 19.0;
                        out.push(y);
                    }
                }
            }
        }
        Client::Probing => {
            while out.len() < QUERIES {
                let x = d.sample(&mut r);
                out.push(x.clone());
                for _ in 0..30 {
                    let u: Vec<f64> = (0..DIMS).map(|_| r.normal()).collect();
                    let n = u.iter().map(|v| v * v).sum::<f64>().sqrt();
                    out.push(
                        (0..DIMS)
                            .map(|i| x[i] + 0.01 * d.scale[i] * u[i] / n)
                            .collect(),
                    );
                }
            }
        }
    }
    out.truncate(QUERIES);
    out
}

/// PRADA only: every other signal out of reach.
fn prada_only() -> ExtractionSettings {
    ExtractionSettings {
        max_queries_per_hour: u64::MAX,
        coverage_share: 1.0,
        sweep_share: 1.0,
        probe_count: usize::MAX,
        ..ExtractionSettings::default()
    }
}

#[test]
#[expect(clippy::print_stdout, reason = "the test reports its rate table")]
fn extraction_clients_are_caught_and_benign_ones_are_not() {
    let d = Data::new();
    let p = Arc::new(d.profile());
    let kinds = [
        Client::Steady,
        Client::Retries,
        Client::TimeSeries,
        Client::Uniform,
        Client::Jacobian,
        Client::Boundary,
        Client::Sweep,
        Client::Probing,
    ];
    println!("| client | kind | flagged (all signals) | median queries to flag | flagged (PRADA alone) |");
    println!("|---|---|---|---|---|");
    let mut bad = Vec::new();
    for kind in kinds {
        let combined = Extraction::new(Some(p.clone()), None, ExtractionSettings::default());
        let prada = Extraction::new(Some(p.clone()), None, prada_only());
        let mut flagged = Vec::new();
        let mut prada_flagged = 0;
        for seed in 0..CLIENTS {
            let q = queries(kind, &d, &p, seed);
            let key = format!("key-{seed}");
            if let Some(n) = combined.flags_after(&key, &q) {
                flagged.push(n);
            }
            if prada.flags_after(&key, &q).is_some() {
                prada_flagged += 1;
            }
        }
        flagged.sort_unstable();
        let rate = flagged.len() as f64 / CLIENTS as f64;
        let median = flagged
            .get(flagged.len() / 2)
            .map_or("–".to_owned(), |n| n.to_string());
        println!(
            "| {} | {} | {:.2} | {} | {:.2} |",
            kind.name(),
            if kind.benign() {
                "benign (false alarms)"
            } else {
                "attack (detection)"
            },
            rate,
            median,
            prada_flagged as f64 / CLIENTS as f64
        );
        if kind.benign() && rate > 0.05 {
            bad.push(format!("{}: false-alarm rate {rate:.2}", kind.name()));
        }
        if !kind.benign() && rate < 0.9 {
            bad.push(format!("{}: detection rate {rate:.2}", kind.name()));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
