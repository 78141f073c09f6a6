//! `simba`: SimBA (Guo, Gardner, You, Wilson, Weinberger, ICML 2019), pixel basis.
//!
//! Walks the coordinates in a random order; for each, tries a step down, then up, and
//! keeps the first that lowers the probability of the true class (raises the target's).
//! One query per try. It stops at the first misclassification. The step is ε under L∞
//! (so no value moves more than ε), ε/4 under L2 while the total stays within ε, and
//! 0.2 of the value range without `--epsilon`.

use crate::oracle::{Norm, Oracle};
use crate::rng::Rng;
use crate::Error;

pub(crate) fn run(o: &mut Oracle<'_>, rng: &mut Rng, eps: Option<f64>) -> Result<(), Error> {
    let d = o.dim();
    let x0 = o.x0.to_vec();
    let step = match (eps, o.norm) {
        (Some(e), Norm::Linf) => e,
        (Some(e), Norm::L2) => e / 4.0,
        (None, _) => 0.2 * o.bounds.range(),
    };
    let mut x = x0.clone();
    let Some(v) = o.query_one(&mut x)? else {
        return Ok(());
    };
    let mut score = v.score.unwrap_or(f32::INFINITY);
    let norm = o.norm;
    'outer: while !o.done() {
        let mut moved = false;
        for q in rng.permutation(d) {
            for sign in [-1.0f64, 1.0] {
                let mut cand = x.clone();
                let nv = f64::from(cand[q]) + sign * step;
                let nv = nv.clamp(f64::from(o.bounds.lo[q]), f64::from(o.bounds.hi[q]));
                if let Some(e) = eps {
                    let moved_by = (nv - f64::from(x0[q])).abs();
                    if norm == Norm::Linf && moved_by > e * (1.0 + 1e-9) {
                        continue;
                    }
                }
                cand[q] = nv as f32;
                if cand[q] == x[q] {
                    continue;
                }
                if let (Some(e), Norm::L2) = (eps, norm) {
                    if crate::oracle::l2(&cand, &x0) > e {
                        continue;
                    }
                }
                let Some(v) = o.query_one(&mut cand)? else {
                    break 'outer;
                };
                let s = v.score.unwrap_or(f32::INFINITY);
                if s < score || v.adversarial {
                    score = s;
                    x = cand;
                    moved = true;
                    if v.adversarial {
                        break 'outer;
                    }
                    break;
                }
            }
            if o.done() {
                break 'outer;
            }
        }
        if !moved {
            break;
        }
    }
    Ok(())
}
