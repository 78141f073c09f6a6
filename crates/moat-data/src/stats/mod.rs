//! Two-sample statistics for drift, computed as the reference implementations compute
//! them, so the numbers agree with scipy's to 1e-9 relative (the tests compare them
//! with values a committed script made with scipy): the Kolmogorov–Smirnov test
//! (`ks_2samp`), the first Wasserstein distance (`wasserstein_distance`), the chi-square
//! goodness-of-fit test (`chisquare`), the Jensen–Shannon distance (`jensenshannon`,
//! natural logarithm), the population stability index on fixed bins, and the
//! one-sample Shapiro–Wilk normality test (`shapiro`, for the gateway's PRADA detector).

mod kolmogorov;
mod ks;
mod shapiro;
pub(crate) mod special;

pub use kolmogorov::kstwo_sf;
pub use ks::{ks_2samp_sorted, Ks, MAX_EXACT_N};
pub use shapiro::{normal_quantile, normal_sf, shapiro_wilk, ShapiroWilk};

/// The first Wasserstein (earth mover's) distance between two sorted samples:
/// `∫ |F_a - F_b|`, summed over the gaps between consecutive values of both.
pub fn wasserstein_sorted(a: &[f64], b: &[f64]) -> Option<f64> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return None;
    }
    let (fa, fb) = (na as f64, nb as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    // Walk every value of both samples in order (duplicates included, as scipy's
    // concatenated and sorted array holds them). When the next value is past the
    // previous one, every value up to the previous one has been taken: `i` and `j` are
    // the counts that scipy's searchsorted(side='right') gives at it.
    loop {
        let (x, from_a) = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => {
                if x <= y {
                    (x, true)
                } else {
                    (y, false)
                }
            }
            (Some(&x), None) => (x, true),
            (None, Some(&y)) => (y, false),
            (None, None) => break,
        };
        if let Some(p) = prev {
            let delta = x - p;
            if delta != 0.0 {
                total += (i as f64 / fa - j as f64 / fb).abs() * delta;
            }
        }
        if from_a {
            i += 1;
        } else {
            j += 1;
        }
        prev = Some(x);
    }
    Some(total)
}

/// The Wasserstein distance divided by the reference's standard deviation (population,
/// as numpy's `std`): Evidently's "normed" form, comparable across columns.
pub fn wasserstein_normed_sorted(reference: &[f64], current: &[f64]) -> Option<f64> {
    let w = wasserstein_sorted(reference, current)?;
    let std = population_std(reference)?;
    Some(if std > 0.0 {
        w / std
    } else if w == 0.0 {
        0.0
    } else {
        f64::INFINITY
    })
}

/// The population standard deviation (two passes, as numpy).
pub fn population_std(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Some(var.sqrt())
}

/// Chi-square goodness of fit of observed counts against expected counts (scipy
/// `chisquare(f_obs, f_exp)`, `len - 1` degrees of freedom): (statistic, p-value).
pub fn chisquare(observed: &[f64], expected: &[f64]) -> Option<(f64, f64)> {
    if observed.len() != expected.len() || observed.len() < 2 {
        return None;
    }
    let stat: f64 = observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e) * (o - e) / e)
        .sum();
    let dof = (observed.len() - 1) as f64;
    Some((stat, special::chi2_sf(stat, dof)))
}

/// Chi-square test of homogeneity of two samples' category counts: the 2×k contingency
/// table (scipy `chi2_contingency([a, b])`, with its Yates continuity correction when
/// there is one degree of freedom): (statistic, p-value, degrees of freedom).
/// Categories empty in both samples are left out, as scipy cannot score them.
pub fn chi2_contingency(a: &[f64], b: &[f64]) -> Option<(f64, f64, usize)> {
    if a.len() != b.len() {
        return None;
    }
    let cols: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0.0)
        .map(|(x, y)| (*x, *y))
        .collect();
    let (ta, tb): (f64, f64) = cols.iter().fold((0.0, 0.0), |s, c| (s.0 + c.0, s.1 + c.1));
    let n = ta + tb;
    if cols.len() < 2 || ta <= 0.0 || tb <= 0.0 {
        return None;
    }
    let dof = cols.len() - 1;
    let mut stat = 0.0;
    for (x, y) in &cols {
        let col = x + y;
        for (o, row) in [(*x, ta), (*y, tb)] {
            let e = row * col / n;
            let mut d = (o - e).abs();
            if dof == 1 {
                d = (d - 0.5f64.min(d)).max(0.0);
            }
            stat += d * d / e;
        }
    }
    Some((stat, special::chi2_sf(stat, dof as f64), dof))
}

/// The Jensen–Shannon distance between two distributions given as counts or shares
/// (each normalised first), with natural logarithms (scipy `jensenshannon`).
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    if sp <= 0.0 || sq <= 0.0 {
        return None;
    }
    let rel_entr = |x: f64, y: f64| {
        if x > 0.0 && y > 0.0 {
            x * (x / y).ln()
        } else if x == 0.0 && y >= 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    };
    let (mut left, mut right) = (0.0, 0.0);
    for (a, b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        left += rel_entr(a, m);
        right += rel_entr(b, m);
    }
    Some(((left + right) / 2.0).max(0.0).sqrt())
}

/// Shares below this are raised to it before the PSI's logarithm (Evidently's floor).
pub const PSI_FLOOR: f64 = 0.0001;

/// The population stability index of two distributions over the same bins, given as
/// counts: `Σ (r - c) ln(r / c)` over the shares, a zero share counted as [`PSI_FLOOR`].
pub fn psi(reference: &[f64], current: &[f64]) -> Option<f64> {
    if reference.len() != current.len() || reference.is_empty() {
        return None;
    }
    let (sr, sc) = (reference.iter().sum::<f64>(), current.iter().sum::<f64>());
    if sr <= 0.0 || sc <= 0.0 {
        return None;
    }
    let floor = |x: f64| if x == 0.0 { PSI_FLOOR } else { x };
    Some(
        reference
            .iter()
            .zip(current)
            .map(|(r, c)| {
                let (r, c) = (floor(r / sr), floor(c / sc));
                (r - c) * (r / c).ln()
            })
            .sum(),
    )
}

/// Counts of a sorted sample in the `edges.len() + 1` bins that the inner `edges` make,
/// as numpy's `histogram` counts with outer edges at ±∞: a value equal to an edge falls
/// in the bin above it.
pub fn bin_counts(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(edges.len() + 1);
    let mut below = 0usize;
    for &e in edges {
        let n = sorted.partition_point(|&v| v < e);
        out.push((n - below) as f64);
        below = n;
    }
    out.push((sorted.len() - below) as f64);
    out
}
