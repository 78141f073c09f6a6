//! `feature`: the single-feature baseline for tabular models. Each feature in turn is
//! set to 16 values across its range (within ±ε with `--epsilon`), nearest first, with
//! every other feature unchanged; the smallest change that flips the decision wins.
//! Answers "does one field alone decide this row?".

use crate::oracle::Oracle;
use crate::Error;

const GRID: usize = 16;

pub(crate) fn run(o: &mut Oracle<'_>, eps: Option<f64>) -> Result<(), Error> {
    let d = o.dim();
    let x0 = o.x0.to_vec();
    for j in 0..d {
        if o.remaining() == 0 {
            break;
        }
        let (mut lo, mut hi) = (f64::from(o.bounds.lo[j]), f64::from(o.bounds.hi[j]));
        if let Some(e) = eps {
            lo = lo.max(f64::from(x0[j]) - e);
            hi = hi.min(f64::from(x0[j]) + e);
        }
        let mut values: Vec<f64> = (0..GRID)
            .map(|k| lo + (hi - lo) * k as f64 / (GRID - 1) as f64)
            .filter(|&v| v as f32 != x0[j])
            .collect();
        values.sort_by(|a, b| {
            (a - f64::from(x0[j]))
                .abs()
                .total_cmp(&(b - f64::from(x0[j])).abs())
        });
        let mut rows = Vec::with_capacity(values.len() * d);
        for v in &values {
            let mut r = x0.clone();
            r[j] = *v as f32;
            rows.extend(r);
        }
        o.query(&mut rows)?;
    }
    Ok(())
}
