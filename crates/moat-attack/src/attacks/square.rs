//! `square`: the Square Attack (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020),
//! score-based random search on the margin loss, L∞ and L2.
//!
//! Images (`[c, h, w]` inputs) get the paper's updates: a random square window whose side
//! follows the paper's schedule of `p`, L∞ values ±ε per channel, L2 bumps renormalised onto
//! the ε-sphere; the L∞ start is the paper's vertical stripes. Tabular rows have no
//! neighbourhood, so the "square" is a random subset of `p·d` features. A proposal is
//! kept when it lowers the margin; the attack stops at the first misclassification.
//! Without `--epsilon`, the runner searches ε (doubling, then bisection).

use crate::oracle::{Norm, Oracle};
use crate::rng::Rng;
use crate::Error;

/// The paper's schedule: `p` halves at fixed fractions of the iteration budget.
fn p_at(p_init: f64, it: u64, n_iters: u64) -> f64 {
    let it = (it as f64 / n_iters.max(1) as f64 * 10_000.0) as u64;
    let halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
        .iter()
        .filter(|&&t| it > t)
        .count();
    p_init / f64::from(1u32 << halvings)
}

struct Layout {
    image: Option<(usize, usize, usize)>,
    d: usize,
}

impl Layout {
    /// The window of a proposal: indices per channel (images) or one group (tabular).
    fn window(&self, rng: &mut Rng, p: f64) -> Vec<Vec<usize>> {
        match self.image {
            Some((c, h, w)) => {
                let s = ((p * (h * w) as f64).sqrt().round() as usize).clamp(1, h.min(w));
                let (r0, c0) = (rng.below(h - s + 1), rng.below(w - s + 1));
                (0..c)
                    .map(|ch| {
                        let mut idx = Vec::with_capacity(s * s);
                        for r in r0..r0 + s {
                            for col in c0..c0 + s {
                                idx.push(ch * h * w + r * w + col);
                            }
                        }
                        idx
                    })
                    .collect()
            }
            None => {
                let k = ((p * self.d as f64).round() as usize).clamp(1, self.d);
                rng.choose(self.d, k).into_iter().map(|j| vec![j]).collect()
            }
        }
    }
}

pub(crate) fn run(
    o: &mut Oracle<'_>,
    rng: &mut Rng,
    eps: f64,
    shape: &[usize],
) -> Result<(), Error> {
    let d = o.dim();
    let x0: Vec<f64> = o.x0.iter().map(|&v| f64::from(v)).collect();
    let layout = Layout {
        image: match shape {
            [c, h, w] if *h > 1 && *w > 1 => Some((*c, *h, *w)),
            _ => None,
        },
        d,
    };
    let norm = o.norm;
    // Start.
    let mut delta = vec![0.0f64; d];
    match (norm, layout.image) {
        (Norm::Linf, Some((c, h, w))) => {
            for ch in 0..c {
                for col in 0..w {
                    let s = f64::from(rng.sign()) * eps;
                    for r in 0..h {
                        delta[ch * h * w + r * w + col] = s;
                    }
                }
            }
        }
        (Norm::Linf, None) => delta
            .iter_mut()
            .for_each(|v| *v = f64::from(rng.sign()) * eps),
        (Norm::L2, _) => {
            delta.iter_mut().for_each(|v| *v = f64::from(rng.sign()));
            rescale(&mut delta, eps);
        }
    }
    let to_row =
        |delta: &[f64]| -> Vec<f32> { x0.iter().zip(delta).map(|(a, b)| (a + b) as f32).collect() };
    let mut row = to_row(&delta);
    let Some(v) = o.query_one(&mut row)? else {
        return Ok(());
    };
    if v.adversarial {
        return Ok(());
    }
    // The perturbation actually applied, after clipping.
    delta = row
        .iter()
        .zip(&x0)
        .map(|(&r, a)| f64::from(r) - a)
        .collect();
    let mut best = v.margin.unwrap_or(f32::INFINITY);
    let n_iters = o.remaining();
    let p_init = match (norm, layout.image) {
        (Norm::Linf, Some(_)) => 0.05,
        _ => 0.1,
    };
    let mut it = 0u64;
    while !o.done() {
        it += 1;
        let p = p_at(p_init, it, n_iters);
        let groups = layout.window(rng, p);
        let mut cand = delta.clone();
        match norm {
            Norm::Linf => {
                for g in &groups {
                    let s = f64::from(rng.sign()) * eps;
                    for &j in g {
                        cand[j] = if layout.image.is_some() {
                            s
                        } else {
                            f64::from(rng.sign()) * eps
                        };
                    }
                }
            }
            Norm::L2 => {
                let idx: Vec<usize> = groups.iter().flatten().copied().collect();
                let inside = idx.iter().map(|&j| delta[j] * delta[j]).sum::<f64>().sqrt();
                let size = inside.max(eps * (idx.len() as f64 / d as f64).sqrt());
                let mut bump = vec![0.0f64; idx.len()];
                let mut k = 0;
                for g in &groups {
                    let s = f64::from(rng.sign());
                    let side = (g.len() as f64).sqrt().round().max(1.0) as usize;
                    for (n, _) in g.iter().enumerate() {
                        bump[k] = if layout.image.is_some() {
                            // A bump peaking in the middle of the window.
                            let (r, c) = ((n / side) as f64, (n % side) as f64);
                            let m = (side as f64 - 1.0) / 2.0;
                            s / (1.0 + (r - m).powi(2) + (c - m).powi(2))
                        } else {
                            f64::from(rng.sign())
                        };
                        k += 1;
                    }
                }
                let len = bump
                    .iter()
                    .map(|v| v * v)
                    .sum::<f64>()
                    .sqrt()
                    .max(f64::MIN_POSITIVE);
                for (b, &j) in bump.iter().zip(&idx) {
                    cand[j] += 1.5 * size * b / len;
                }
                rescale(&mut cand, eps);
            }
        }
        let mut row = to_row(&cand);
        let Some(v) = o.query_one(&mut row)? else {
            break;
        };
        let m = v.margin.unwrap_or(f32::INFINITY);
        if m < best {
            best = m;
            delta = row
                .iter()
                .zip(&x0)
                .map(|(&r, a)| f64::from(r) - a)
                .collect();
        }
        if v.adversarial {
            break;
        }
    }
    Ok(())
}

fn rescale(v: &mut [f64], to: f64) {
    let len = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if len > 0.0 {
        v.iter_mut().for_each(|x| *x *= to / len);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schedule_halves() {
        assert_eq!(super::p_at(0.8, 1, 10_000), 0.8);
        assert_eq!(super::p_at(0.8, 11, 10_000), 0.4);
        assert!(super::p_at(0.8, 9_999, 10_000) < 0.002);
    }
}
