//! The only way an attack sees the model. Every evaluated row is one query; the oracle
//! refuses rows past the budget, clips every row into the input bounds, and keeps the
//! best adversarial point found so far with its anytime trace, so what an attack returns
//! is always a point the model really misclassified.

use crate::model::Classifier;
use crate::Error;

/// Distance used to rank adversarial points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    L2,
    Linf,
}

impl Norm {
    pub fn parse(s: &str) -> Option<Norm> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "2" => Some(Norm::L2),
            "linf" | "inf" | "l-inf" => Some(Norm::Linf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Norm::L2 => "l2",
            Norm::Linf => "linf",
        }
    }

    pub fn dist(self, a: &[f32], b: &[f32]) -> f64 {
        match self {
            Norm::L2 => l2(a, b),
            Norm::Linf => linf(a, b),
        }
    }
}

pub fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

pub fn linf(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
        .fold(0.0, f64::max)
}

/// Lower and upper bound of every value of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    pub lo: Vec<f32>,
    pub hi: Vec<f32>,
}

impl Bounds {
    pub fn uniform(len: usize, lo: f32, hi: f32) -> Self {
        Bounds {
            lo: vec![lo; len],
            hi: vec![hi; len],
        }
    }

    pub fn clip(&self, row: &mut [f32]) {
        for ((x, &lo), &hi) in row.iter_mut().zip(&self.lo).zip(&self.hi) {
            *x = if x.is_nan() { lo } else { x.clamp(lo, hi) };
        }
    }

    pub fn contains(&self, row: &[f32]) -> bool {
        row.iter()
            .zip(self.lo.iter().zip(&self.hi))
            .all(|(&x, (&lo, &hi))| x >= lo && x <= hi)
    }

    /// The widest range of any value (scales default step sizes).
    pub fn range(&self) -> f64 {
        self.lo
            .iter()
            .zip(&self.hi)
            .map(|(&l, &h)| f64::from(h) - f64::from(l))
            .fold(0.0, f64::max)
    }
}

/// Whether a norm is within epsilon, allowing for float32 rounding of the rows.
pub fn within(norm: f64, epsilon: f64) -> bool {
    norm <= epsilon * (1.0 + 1e-5) + 1e-7
}

/// The best adversarial point of one sample.
#[derive(Debug, Clone)]
pub struct Best {
    pub adv: Vec<f32>,
    pub norm: f64,
    /// Queries used when it was found.
    pub queries: u64,
}

/// What the model said about one queried row.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub adversarial: bool,
    /// Margin loss, negative when adversarial: untargeted `p[label] - max other`,
    /// targeted `max other - p[target]`. `None` for decision-only models.
    pub margin: Option<f32>,
    /// The probability of the true class (untargeted) or minus that of the target.
    pub score: Option<f32>,
}

pub struct Oracle<'a> {
    model: &'a dyn Classifier,
    pub(crate) x0: &'a [f32],
    label: usize,
    target: Option<usize>,
    pub(crate) bounds: &'a Bounds,
    pub(crate) norm: Norm,
    budget: u64,
    limit: u64,
    used: u64,
    epsilon: Option<f64>,
    best: Option<Best>,
    trace: Vec<(u64, f64)>,
}

impl<'a> Oracle<'a> {
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site, every argument named there"
    )]
    pub fn new(
        model: &'a dyn Classifier,
        x0: &'a [f32],
        label: usize,
        target: Option<usize>,
        bounds: &'a Bounds,
        norm: Norm,
        budget: u64,
        epsilon: Option<f64>,
    ) -> Self {
        Oracle {
            model,
            x0,
            label,
            target,
            bounds,
            norm,
            budget,
            limit: budget,
            used: 0,
            epsilon,
            best: None,
            trace: Vec::new(),
        }
    }

    pub fn dim(&self) -> usize {
        self.x0.len()
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    pub fn remaining(&self) -> u64 {
        self.limit.min(self.budget).saturating_sub(self.used)
    }

    /// Caps the queries of one stage of an attack (`u64::MAX` lifts the cap).
    pub(crate) fn set_stage_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    pub fn best(&self) -> Option<&Best> {
        self.best.as_ref()
    }

    pub fn into_parts(self) -> (Option<Best>, Vec<(u64, f64)>, u64) {
        (self.best, self.trace, self.used)
    }

    /// True when nothing more can be learned: the budget is spent, or a success within
    /// the requested epsilon is in hand.
    pub fn done(&self) -> bool {
        self.remaining() == 0 || self.reached_epsilon()
    }

    pub fn reached_epsilon(&self) -> bool {
        match (self.epsilon, &self.best) {
            (Some(e), Some(b)) => within(b.norm, e),
            _ => false,
        }
    }

    /// Evaluates rows (clipped in place). Returns one verdict per evaluated row: fewer
    /// than asked when the budget runs out, none when it is spent.
    pub fn query(&mut self, rows: &mut [f32]) -> Result<Vec<Verdict>, Error> {
        let d = self.dim().max(1);
        let asked = rows.len() / d;
        let n = asked.min(usize::try_from(self.remaining()).unwrap_or(usize::MAX));
        if n == 0 {
            return Ok(Vec::new());
        }
        let rows = &mut rows[..n * d];
        for r in rows.chunks_mut(d) {
            self.bounds.clip(r);
        }
        let out = self.model.predict_all(rows)?;
        if out.rows() != n {
            return Err(Error::Predict {
                rows: n,
                message: format!("the model answered {} rows", out.rows()),
            });
        }
        let decisions = out.decisions();
        let mut verdicts = Vec::with_capacity(n);
        for (i, row) in rows.chunks(d).enumerate() {
            self.used += 1;
            let adversarial = match self.target {
                Some(t) => decisions[i] == t,
                None => decisions[i] != self.label,
            };
            let (margin, score) = match out.scores(i) {
                Some(p) => {
                    let pick = self.target.unwrap_or(self.label);
                    let own = p.get(pick).copied().unwrap_or(0.0);
                    let other = p
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != pick)
                        .map(|(_, &v)| v)
                        .fold(f32::NEG_INFINITY, f32::max);
                    match self.target {
                        None => (Some(own - other), Some(own)),
                        Some(_) => (Some(other - own), Some(-own)),
                    }
                }
                None => (None, None),
            };
            if adversarial {
                let norm = self.norm.dist(row, self.x0);
                if self.best.as_ref().is_none_or(|b| norm < b.norm) {
                    self.best = Some(Best {
                        adv: row.to_vec(),
                        norm,
                        queries: self.used,
                    });
                    self.trace.push((self.used, norm));
                }
            }
            verdicts.push(Verdict {
                adversarial,
                margin,
                score,
            });
        }
        Ok(verdicts)
    }

    /// One row.
    pub fn query_one(&mut self, row: &mut [f32]) -> Result<Option<Verdict>, Error> {
        Ok(self.query(row)?.first().copied())
    }
}
