//! The attacks, one file each, and the runner that applies one to every correctly
//! classified sample in parallel.
//!
//! Every attack is query-only: it sees the model through an [`Oracle`], which counts
//! queries honestly (one evaluated row is one query), clips into the bounds and keeps the
//! best adversarial point found after each query.

mod boundary;
mod feature;
mod hopskipjump;
mod noise;
mod simba;
mod square;

use rayon::prelude::*;

use crate::model::Classifier;
use crate::oracle::Oracle;
pub use crate::oracle::{Bounds, Norm};
use crate::report::{Report, SampleResult};
use crate::rng::Rng;
use crate::Error;

/// Every attack Moat ships, by stable id.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
    serde::Serialize,
)]
#[strum(serialize_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    /// HopSkipJump (Chen, Jordan, Wainwright 2020): decision-based, gradient estimates at
    /// the boundary, geometric step search, binary search back to the boundary.
    HopSkipJump,
    /// Boundary Attack (Brendel, Rauber, Bethge 2018): decision-based random walk along
    /// the boundary towards the sample.
    Boundary,
    /// Square Attack (Andriushchenko et al. 2020): score-based random search with
    /// localised square (images) or feature-subset (tabular) updates, L∞ and L2.
    Square,
    /// SimBA (Guo et al. 2019): score-based, one coordinate at a time.
    Simba,
    /// Baseline: uniform noise at epsilon (L∞ box or L2 sphere).
    NoiseUniform,
    /// Baseline: Gaussian noise scaled to epsilon.
    NoiseGaussian,
    /// Baseline for tabular data: change one feature at a time across its range.
    Feature,
}

impl AttackKind {
    pub fn needs_scores(self) -> bool {
        matches!(self, AttackKind::Square | AttackKind::Simba)
    }

    pub fn description(self) -> &'static str {
        match self {
            AttackKind::HopSkipJump => "decision-based: HopSkipJump (L2 or Linf)",
            AttackKind::Boundary => "decision-based: Boundary Attack",
            AttackKind::Square => "score-based: Square Attack (Linf or L2)",
            AttackKind::Simba => "score-based: SimBA, coordinate by coordinate",
            AttackKind::NoiseUniform => "baseline: uniform noise at epsilon",
            AttackKind::NoiseGaussian => "baseline: Gaussian noise at epsilon",
            AttackKind::Feature => "baseline: one feature at a time across its range",
        }
    }
}

/// How to run one attack.
#[derive(Debug, Clone)]
pub struct Settings {
    pub kind: AttackKind,
    pub norm: Norm,
    /// Queries per sample.
    pub max_queries: u64,
    /// With a value, success means misclassified within it in `norm`.
    pub epsilon: Option<f64>,
    pub seed: u64,
    /// Targeted attack: the class to reach.
    pub target: Option<usize>,
    /// Bounds of every value of a row; `None` means [0, 1].
    pub bounds: Option<Bounds>,
}

impl Settings {
    pub fn new(kind: AttackKind) -> Self {
        Settings {
            kind,
            norm: Norm::L2,
            max_queries: 1000,
            epsilon: None,
            seed: 0,
            target: None,
            bounds: None,
        }
    }
}

/// Starting points for decision-based attacks: the given samples and the model's
/// decision on each.
pub(crate) struct Starts<'a> {
    pub rows: &'a [f32],
    pub decisions: &'a [usize],
    pub dim: usize,
}

impl Starts<'_> {
    /// The given samples the model puts in another class than `label` (or in `target`),
    /// nearest first.
    pub(crate) fn nearest(
        &self,
        x0: &[f32],
        label: usize,
        target: Option<usize>,
        norm: Norm,
    ) -> Vec<&[f32]> {
        let mut c: Vec<(f64, &[f32])> = self
            .rows
            .chunks(self.dim)
            .zip(self.decisions)
            .filter(|&(_, &d)| match target {
                Some(t) => d == t,
                None => d != label,
            })
            .map(|(r, _)| (norm.dist(r, x0), r))
            .collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.into_iter().map(|(_, r)| r).collect()
    }
}

/// Finds a first adversarial point: the nearest given sample of another class, else
/// uniform noise over the bounds. `None` when none is found within the budget.
pub(crate) fn starting_point(
    o: &mut Oracle<'_>,
    rng: &mut Rng,
    candidates: &[&[f32]],
) -> Result<Option<Vec<f32>>, Error> {
    for c in candidates.iter().take(5) {
        let mut row = c.to_vec();
        match o.query_one(&mut row)? {
            Some(v) if v.adversarial => return Ok(Some(row)),
            Some(_) => {}
            None => return Ok(None),
        }
    }
    let d = o.dim();
    for _ in 0..10 {
        let n = 64usize;
        let mut rows = Vec::with_capacity(n * d);
        for _ in 0..n {
            for j in 0..d {
                let (lo, hi) = (f64::from(o.bounds.lo[j]), f64::from(o.bounds.hi[j]));
                rows.push((lo + rng.uniform() * (hi - lo)) as f32);
            }
        }
        let v = o.query(&mut rows)?;
        if v.is_empty() {
            return Ok(None);
        }
        if let Some(i) = v.iter().position(|v| v.adversarial) {
            return Ok(Some(rows[i * d..(i + 1) * d].to_vec()));
        }
    }
    Ok(None)
}

/// Runs an attack that needs an epsilon without one: doubles epsilon from a small value
/// until the attack succeeds, then bisects between the last failure and the success,
/// each stage with its share of the budget.
pub(crate) fn search_epsilon(
    o: &mut Oracle<'_>,
    rng: &mut Rng,
    mut attack: impl FnMut(&mut Oracle<'_>, &mut Rng, f64) -> Result<(), Error>,
) -> Result<(), Error> {
    let range = o.bounds.range().max(f64::MIN_POSITIVE);
    let d = o.dim() as f64;
    let (mut eps, top) = match o.norm {
        Norm::Linf => (0.01 * range, range),
        Norm::L2 => (0.01 * range * d.sqrt(), range * d.sqrt()),
    };
    let stage = (o.remaining() / 12).max(20);
    let mut failed = 0.0f64;
    let mut found: Option<f64> = None;
    while o.remaining() > 0 {
        let limit = o.used().saturating_add(stage);
        o.set_stage_limit(limit);
        let before = o.best().map(|b| b.norm);
        attack(o, rng, eps)?;
        let after = o.best().map(|b| b.norm);
        let improved = after.is_some() && (before.is_none() || after < before);
        o.set_stage_limit(u64::MAX);
        if improved {
            found = Some(after.unwrap_or(eps).min(eps));
        } else {
            failed = failed.max(eps);
        }
        eps = match found {
            Some(hi) if hi - failed <= 0.01 * hi => break,
            Some(hi) => 0.5 * (failed + hi),
            None if eps >= top => break,
            None => (eps * 2.0).min(top),
        };
    }
    Ok(())
}

/// Attacks every sample the model classifies correctly, in parallel, and reports.
/// `labels` are class indices; without them the model's own decisions are the labels.
/// `progress` is called once per finished sample.
pub fn run(
    model: &dyn Classifier,
    samples: &[f32],
    labels: Option<&[usize]>,
    settings: &Settings,
    progress: &(dyn Fn() + Sync),
) -> Result<Report, Error> {
    let dim = model.row_len();
    if dim == 0 || !samples.len().is_multiple_of(dim) {
        return Err(Error::Input(format!(
            "the samples hold {} values, not a multiple of the model's row of {dim} values",
            samples.len()
        )));
    }
    let n = samples.len() / dim;
    if n == 0 {
        return Err(Error::Input("no samples to attack".into()));
    }
    if let Some(l) = labels {
        if l.len() != n {
            return Err(Error::Input(format!("{} labels for {n} samples", l.len())));
        }
    }
    if settings.kind.needs_scores() && !model.gives_scores() {
        return Err(Error::Input(format!(
            "`{}` needs probabilities and this model gives only labels; use `hop-skip-jump` or `boundary`",
            settings.kind
        )));
    }
    if let Some(e) = settings.epsilon {
        if !(e.is_finite() && e > 0.0) {
            return Err(Error::Input(format!(
                "epsilon must be a positive number, not {e}"
            )));
        }
    }
    let bounds = settings
        .bounds
        .clone()
        .unwrap_or_else(|| Bounds::uniform(dim, 0.0, 1.0));
    if bounds.lo.len() != dim || bounds.hi.len() != dim {
        return Err(Error::Input(format!(
            "bounds for {} values, the model's row has {dim}",
            bounds.lo.len()
        )));
    }
    if bounds
        .lo
        .iter()
        .zip(&bounds.hi)
        .any(|(l, h)| l.is_nan() || h.is_nan() || l > h)
    {
        return Err(Error::Input(
            "a lower bound is above its upper bound".into(),
        ));
    }
    let decisions = model.predict_all(samples)?.decisions();
    let labels: Vec<usize> = labels
        .map(<[usize]>::to_vec)
        .unwrap_or_else(|| decisions.clone());
    let starts = Starts {
        rows: samples,
        decisions: &decisions,
        dim,
    };
    let results: Vec<Result<SampleResult, Error>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let x0 = &samples[i * dim..(i + 1) * dim];
            let correct = decisions[i] == labels[i];
            let r = if !correct || settings.target == Some(labels[i]) {
                Ok(SampleResult::skipped(i, labels[i], decisions[i]))
            } else {
                attack_one(model, x0, i, labels[i], &bounds, settings, &starts)
            };
            progress();
            r
        })
        .collect();
    let results = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Report::new(settings, results))
}

fn attack_one(
    model: &dyn Classifier,
    x0: &[f32],
    index: usize,
    label: usize,
    bounds: &Bounds,
    s: &Settings,
    starts: &Starts<'_>,
) -> Result<SampleResult, Error> {
    let mut rng = Rng::for_sample(s.seed, index as u64);
    let mut o = Oracle::new(
        model,
        x0,
        label,
        s.target,
        bounds,
        s.norm,
        s.max_queries,
        s.epsilon,
    );
    let candidates = starts.nearest(x0, label, s.target, s.norm);
    match s.kind {
        AttackKind::HopSkipJump => hopskipjump::run(&mut o, &mut rng, &candidates)?,
        AttackKind::Boundary => boundary::run(&mut o, &mut rng, &candidates)?,
        AttackKind::Square => match s.epsilon {
            Some(e) => square::run(&mut o, &mut rng, e, model.input_shape())?,
            None => search_epsilon(&mut o, &mut rng, |o, r, e| {
                square::run(o, r, e, model.input_shape())
            })?,
        },
        AttackKind::Simba => simba::run(&mut o, &mut rng, s.epsilon)?,
        AttackKind::NoiseUniform | AttackKind::NoiseGaussian => {
            let gaussian = s.kind == AttackKind::NoiseGaussian;
            match s.epsilon {
                Some(e) => noise::run(&mut o, &mut rng, e, gaussian)?,
                None => search_epsilon(&mut o, &mut rng, |o, r, e| noise::run(o, r, e, gaussian))?,
            }
        }
        AttackKind::Feature => feature::run(&mut o, s.epsilon)?,
    }
    Ok(SampleResult::from_oracle(index, label, x0, o, s.epsilon))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator as _;

    #[test]
    fn attack_ids_are_stable() {
        let ids: Vec<String> = AttackKind::iter().map(|k| k.to_string()).collect();
        assert_eq!(
            ids,
            [
                "hop-skip-jump",
                "boundary",
                "square",
                "simba",
                "noise-uniform",
                "noise-gaussian",
                "feature"
            ]
        );
    }
}
