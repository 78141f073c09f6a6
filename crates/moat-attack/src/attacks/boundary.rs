//! `boundary`: the Boundary Attack (Brendel, Rauber, Bethge, ICLR 2018), decision-based.
//!
//! From an adversarial start it walks along the boundary: each step draws a batch of
//! orthogonal perturbations on the sphere around the sample (size δ relative to the
//! current distance), keeps those still adversarial, then moves them towards the sample
//! by ε of the distance and keeps the closest one still adversarial. δ and ε adapt to
//! the success rates, as in the paper (aiming at about half of the proposals passing).
//! The walk is in L2; with `--norm linf` the best point is ranked in L∞.

use crate::oracle::Oracle;
use crate::rng::Rng;
use crate::Error;

const BATCH: usize = 20;

pub(crate) fn run(o: &mut Oracle<'_>, rng: &mut Rng, candidates: &[&[f32]]) -> Result<(), Error> {
    let Some(start) = super::starting_point(o, rng, candidates)? else {
        return Ok(());
    };
    let x0: Vec<f64> = o.x0.iter().map(|&v| f64::from(v)).collect();
    let d = x0.len();
    // A first binary search, as Foolbox does, so the walk starts at the boundary.
    let tol = 1e-3;
    let Some(start) = super::hopskipjump::binary_search_l2(o, &start, tol)? else {
        return Ok(());
    };
    let mut x: Vec<f64> = start.iter().map(|&v| f64::from(v)).collect();
    let (mut delta, mut eps) = (0.01f64, 0.01f64);
    while !o.done() {
        let diff: Vec<f64> = x0.iter().zip(&x).map(|(a, b)| a - b).collect();
        let dist = diff.iter().map(|v| v * v).sum::<f64>().sqrt();
        if dist <= 1e-12 {
            break;
        }
        // Orthogonal proposals, projected back onto the sphere of radius `dist`.
        let mut sphere = Vec::with_capacity(BATCH * d);
        for _ in 0..BATCH {
            let mut eta: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let dot = eta.iter().zip(&diff).map(|(a, b)| a * b).sum::<f64>() / (dist * dist);
            eta.iter_mut().zip(&diff).for_each(|(e, df)| *e -= dot * df);
            let len = eta
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE);
            let cand: Vec<f64> = x
                .iter()
                .zip(&eta)
                .map(|(xi, e)| xi + delta * dist * e / len)
                .collect();
            let to: Vec<f64> = cand.iter().zip(&x0).map(|(c, s)| c - s).collect();
            let r = to
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE);
            sphere.extend(x0.iter().zip(&to).map(|(s, t)| (s + t * dist / r) as f32));
        }
        let v = o.query(&mut sphere)?;
        if v.is_empty() {
            break;
        }
        let passed: Vec<usize> = (0..v.len()).filter(|&i| v[i].adversarial).collect();
        let rate = passed.len() as f64 / v.len() as f64;
        delta = if rate > 0.5 { delta * 1.5 } else { delta / 1.5 }.clamp(1e-6, 1.0);
        if passed.is_empty() {
            continue;
        }
        // Steps towards the sample from the surviving proposals.
        let mut steps = Vec::with_capacity(passed.len() * d);
        for &i in &passed {
            let row = &sphere[i * d..(i + 1) * d];
            steps.extend(
                row.iter()
                    .zip(&x0)
                    .map(|(&c, &s)| (f64::from(c) + eps * (s - f64::from(c))) as f32),
            );
        }
        let w = o.query(&mut steps)?;
        if w.is_empty() {
            break;
        }
        let ok: Vec<usize> = (0..w.len()).filter(|&i| w[i].adversarial).collect();
        let rate = ok.len() as f64 / w.len() as f64;
        eps = if rate > 0.5 { eps * 1.5 } else { eps / 1.5 }.clamp(1e-6, 0.9);
        // Move to the closest adversarial point seen in this round.
        let mut best: Option<(f64, Vec<f64>)> = None;
        for &i in &ok {
            let row: Vec<f64> = steps[i * d..(i + 1) * d]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let dd = row
                .iter()
                .zip(&x0)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            if best.as_ref().is_none_or(|b| dd < b.0) {
                best = Some((dd, row));
            }
        }
        if best.is_none() {
            // The proposals on the sphere are as close as x: take one to keep walking.
            let i = passed[rng.below(passed.len())];
            best = Some((
                dist,
                sphere[i * d..(i + 1) * d]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect(),
            ));
        }
        if let Some((_, row)) = best {
            x = row;
        }
    }
    Ok(())
}
