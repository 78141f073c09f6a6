//! Test datasets: a CSV of five columns (a normal amount, a score with missing values,
//! a four-way segment, Zipf-distributed user ids, a flag), with knobs for drift.

use std::io::Write as _;

/// A small deterministic generator (xorshift) and the normal distribution by Box–Muller.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-300), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// Zipf-like rank in 1..=n (inverse-CDF on a harmonic approximation).
    pub(crate) fn zipf(&mut self, n: u64) -> u64 {
        let h = (n as f64).ln() + 0.5772;
        ((self.next() * h).exp() - 0.5).clamp(1.0, n as f64) as u64
    }
}

pub(crate) struct Spec {
    pub(crate) rows: usize,
    pub(crate) seed: u64,
    pub(crate) shift: f64,
    pub(crate) null_share: f64,
    pub(crate) new_category: bool,
}

pub(crate) fn write_csv(dir: &std::path::Path, name: &str, s: &Spec) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "amount,score,segment,user_id,flag").unwrap();
    let mut r = Rng(s.seed);
    for _ in 0..s.rows {
        let amount = 100.0 + 15.0 * r.normal() + 15.0 * s.shift;
        let score = if r.next() < s.null_share {
            String::new()
        } else {
            format!("{:.4}", r.normal())
        };
        let u = r.next();
        let segment = if s.new_category && u < 0.2 {
            "enterprise"
        } else if u < 0.5 {
            "retail"
        } else if u < 0.8 {
            "smb"
        } else {
            "public"
        };
        let user = r.zipf(20_000);
        let flag = if r.next() < 0.3 { "true" } else { "false" };
        writeln!(f, "{amount:.3},{score},{segment},u{user},{flag}").unwrap();
    }
    path
}

pub(crate) fn spec(rows: usize, seed: u64) -> Spec {
    Spec {
        rows,
        seed,
        shift: 0.0,
        null_share: 0.02,
        new_category: false,
    }
}
