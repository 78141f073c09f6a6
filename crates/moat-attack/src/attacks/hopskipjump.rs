//! `hop-skip-jump`: HopSkipJump (Chen, Jordan, Wainwright, IEEE S&P 2020), untargeted or
//! targeted, L2 or L∞, from decisions alone.
//!
//! From an adversarial start (the nearest given sample of another class, else noise) it
//! binary-searches to the boundary, then repeats: estimate the gradient direction at the
//! boundary from the decisions on `100·√t` random probes (batched), step along it with a
//! geometric step search, and binary-search back to the boundary. The paper's θ sets the
//! probe radius; the binary search runs to a relative tolerance of `min(θ, 10⁻³)`, finer
//! than the paper's θ on low-dimensional tabular models, where θ alone leaves the point
//! several percent off the boundary.

use crate::oracle::{Norm, Oracle};
use crate::rng::Rng;
use crate::Error;

pub(crate) fn run(o: &mut Oracle<'_>, rng: &mut Rng, candidates: &[&[f32]]) -> Result<(), Error> {
    let Some(start) = super::starting_point(o, rng, candidates)? else {
        return Ok(());
    };
    let x0 = o.x0.to_vec();
    let d = x0.len();
    let df = d as f64;
    let theta = match o.norm {
        Norm::L2 => 1.0 / (df.sqrt() * df),
        Norm::Linf => 1.0 / (df * df),
    };
    let tol = theta.min(1e-3);
    let Some(mut x) = binary_search(o, &x0, &start, tol)? else {
        return Ok(());
    };
    let mut dist = o.norm.dist(&x, &x0);
    let range = o.bounds.range();
    for t in 1u64.. {
        if o.done() || dist <= 0.0 {
            break;
        }
        let delta = if t == 1 {
            0.1 * range
        } else {
            match o.norm {
                Norm::L2 => df.sqrt() * theta * dist,
                Norm::Linf => df * theta * dist,
            }
        };
        // The probe count never depends on the budget left, so a run's first N queries
        // are exactly those of a run with budget N and its trace answers smaller budgets.
        let evals = ((100.0 * (t as f64).sqrt()) as usize).min(10_000);
        let Some(grad) = estimate_gradient(o, rng, &x, delta, evals)? else {
            break;
        };
        let update: Vec<f64> = match o.norm {
            Norm::L2 => grad,
            Norm::Linf => grad.iter().map(|g| g.signum()).collect(),
        };
        // Geometric step search from dist/√t, halving until the step stays adversarial.
        let mut eps = o.norm.dist(&x, &x0).max(f64::MIN_POSITIVE) / (t as f64).sqrt();
        let mut stepped = None;
        for _ in 0..30 {
            let mut cand: Vec<f32> = x
                .iter()
                .zip(&update)
                .map(|(&xi, &u)| (f64::from(xi) + eps * u) as f32)
                .collect();
            match o.query_one(&mut cand)? {
                None => break,
                Some(v) if v.adversarial => {
                    stepped = Some(cand);
                    break;
                }
                Some(_) => eps /= 2.0,
            }
        }
        let moved = stepped.is_some();
        let from = stepped.unwrap_or_else(|| x.clone());
        match binary_search(o, &x0, &from, tol)? {
            Some(b) => {
                let nd = o.norm.dist(&b, &x0);
                if nd < dist || moved {
                    x = b;
                    dist = nd;
                }
            }
            None => break,
        }
    }
    Ok(())
}

/// Monte-Carlo estimate of the unit direction towards the adversarial side at `x`.
fn estimate_gradient(
    o: &mut Oracle<'_>,
    rng: &mut Rng,
    x: &[f32],
    delta: f64,
    n: usize,
) -> Result<Option<Vec<f64>>, Error> {
    let d = x.len();
    let mut dirs = Vec::with_capacity(n * d);
    let mut rows = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut u: Vec<f64> = match o.norm {
            Norm::L2 => (0..d).map(|_| rng.normal()).collect(),
            Norm::Linf => (0..d).map(|_| 2.0 * rng.uniform() - 1.0).collect(),
        };
        let len = u
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        u.iter_mut().for_each(|v| *v /= len);
        for j in 0..d {
            let p = f64::from(x[j]) + delta * u[j];
            let p = p.clamp(f64::from(o.bounds.lo[j]), f64::from(o.bounds.hi[j]));
            rows.push(p as f32);
            // The probe actually taken, after clipping.
            dirs.push((p - f64::from(x[j])) / delta);
        }
    }
    let verdicts = o.query(&mut rows)?;
    if verdicts.is_empty() {
        return Ok(None);
    }
    let m = verdicts.len();
    let phi: Vec<f64> = verdicts
        .iter()
        .map(|v| if v.adversarial { 1.0 } else { -1.0 })
        .collect();
    let mean = phi.iter().sum::<f64>() / m as f64;
    let baseline = if mean.abs() == 1.0 { 0.0 } else { mean };
    let mut g = vec![0.0f64; d];
    for (k, &p) in phi.iter().enumerate() {
        let w = p - baseline;
        for j in 0..d {
            g[j] += w * dirs[k * d + j];
        }
    }
    let len = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    if len.is_nan() || len <= 0.0 {
        return Ok(None);
    }
    g.iter_mut().for_each(|v| *v /= len);
    Ok(Some(g))
}

/// The point between `x0` (not adversarial) and `adv` (adversarial) closest to the
/// boundary on the adversarial side: L2 along the segment, L∞ by shrinking the box.
pub(crate) fn binary_search(
    o: &mut Oracle<'_>,
    x0: &[f32],
    adv: &[f32],
    tol: f64,
) -> Result<Option<Vec<f32>>, Error> {
    let norm = o.norm;
    let blend = |a: f64| -> Vec<f32> {
        match norm {
            Norm::L2 => x0
                .iter()
                .zip(adv)
                .map(|(&s, &t)| ((1.0 - a) * f64::from(s) + a * f64::from(t)) as f32)
                .collect(),
            Norm::Linf => {
                let r = a * crate::oracle::linf(x0, adv);
                x0.iter()
                    .zip(adv)
                    .map(|(&s, &t)| f64::from(t).clamp(f64::from(s) - r, f64::from(s) + r) as f32)
                    .collect()
            }
        }
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut best = adv.to_vec();
    while hi - lo > tol {
        let mid = 0.5 * (lo + hi);
        let mut cand = blend(mid);
        match o.query_one(&mut cand)? {
            None => break,
            Some(v) if v.adversarial => {
                hi = mid;
                best = cand;
            }
            Some(_) => lo = mid,
        }
    }
    Ok(Some(best))
}

/// The L2 binary search, whatever norm ranks the results (the Boundary Attack walks in L2).
pub(crate) fn binary_search_l2(
    o: &mut Oracle<'_>,
    adv: &[f32],
    tol: f64,
) -> Result<Option<Vec<f32>>, Error> {
    let x0 = o.x0.to_vec();
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut best = adv.to_vec();
    while hi - lo > tol {
        let mid = 0.5 * (lo + hi);
        let mut cand: Vec<f32> = x0
            .iter()
            .zip(adv)
            .map(|(&s, &t)| ((1.0 - mid) * f64::from(s) + mid * f64::from(t)) as f32)
            .collect();
        match o.query_one(&mut cand)? {
            None => break,
            Some(v) if v.adversarial => {
                hi = mid;
                best = cand;
            }
            Some(_) => lo = mid,
        }
    }
    Ok(Some(best))
}
