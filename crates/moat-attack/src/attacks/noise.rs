//! `noise-uniform`, `noise-gaussian`: random-noise baselines at a given ε. Uniform noise
//! fills the L∞ box, or lies on the L2 sphere of radius ε; Gaussian noise has σ = ε
//! (L∞, clipped to the box) or σ = ε/√d (L2, shrunk into the ball). Batches of 64.

use crate::oracle::{Norm, Oracle};
use crate::rng::Rng;
use crate::Error;

pub(crate) fn run(
    o: &mut Oracle<'_>,
    rng: &mut Rng,
    eps: f64,
    gaussian: bool,
) -> Result<(), Error> {
    let d = o.dim();
    let x0 = o.x0.to_vec();
    let before = o.best().map(|b| b.norm);
    while !o.done() {
        let mut rows = Vec::with_capacity(64 * d);
        for _ in 0..64 {
            let mut delta: Vec<f64> = match (gaussian, o.norm) {
                (false, Norm::Linf) => (0..d).map(|_| (2.0 * rng.uniform() - 1.0) * eps).collect(),
                (true, Norm::Linf) => (0..d)
                    .map(|_| (rng.normal() * eps).clamp(-eps, eps))
                    .collect(),
                (false, Norm::L2) => {
                    let mut v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
                    let len = v
                        .iter()
                        .map(|x| x * x)
                        .sum::<f64>()
                        .sqrt()
                        .max(f64::MIN_POSITIVE);
                    v.iter_mut().for_each(|x| *x *= eps / len);
                    v
                }
                (true, Norm::L2) => (0..d)
                    .map(|_| rng.normal() * eps / (d as f64).sqrt())
                    .collect(),
            };
            let len = delta.iter().map(|x| x * x).sum::<f64>().sqrt();
            if o.norm == Norm::L2 && len > eps {
                delta.iter_mut().for_each(|x| *x *= eps / len);
            }
            rows.extend(
                x0.iter()
                    .zip(&delta)
                    .map(|(&a, b)| (f64::from(a) + b) as f32),
            );
        }
        let v = o.query(&mut rows)?;
        if v.is_empty() {
            break;
        }
        // A stage of the epsilon search ends at its first success.
        if o.best().map(|b| b.norm) != before {
            break;
        }
    }
    Ok(())
}
