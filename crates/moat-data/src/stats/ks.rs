//! The two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp` computes
//! it with `method='auto'`: the exact p-value when both samples have at most 10,000
//! values (Hodges' lattice-path counts), the asymptotic one otherwise
//! (`kstwo.sf(d, round(m·n / (m + n)))`), and the asymptotic one too when the exact
//! computation overflows.

use super::kolmogorov::kstwo_sf;

/// The largest sample size for which `auto` tries the exact p-value (scipy's `MAX_AUTO_N`).
pub const MAX_EXACT_N: usize = 10_000;

/// A test result.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Ks {
    /// `D = sup |F_a(x) - F_b(x)|`.
    pub statistic: f64,
    pub p_value: f64,
    /// Whether the p-value is the exact one.
    pub exact: bool,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The two-sided test on two sorted samples (NaN-free); `None` when one is empty.
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> Option<Ks> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // The ECDFs at every value of both samples, right-continuous (scipy: searchsorted
    // side='right'), compared in the same floating-point operations.
    let (f1, f2) = (n1 as f64, n2 as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut max_s, mut min_s) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&v| v <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
        let diff = i as f64 / f1 - j as f64 / f2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    let mut d = if min_s > max_s { min_s } else { max_s };
    let (n1u, n2u) = (n1 as u64, n2 as u64);
    let g = gcd(n1u, n2u);
    if n1.max(n2) <= MAX_EXACT_N {
        let lcm = (n1u / g) * n2u;
        let h = (d * lcm as f64).round() as u64;
        d = h as f64 / lcm as f64;
        if h == 0 {
            return Some(Ks {
                statistic: d,
                p_value: 1.0,
                exact: true,
            });
        }
        let prob = if n1 == n2 {
            prob_outside_square(n1u, h)
        } else {
            outer_prob_inside(n1u, n2u, g, h)
        };
        if prob.is_finite() && (0.0..=1.0).contains(&prob) {
            return Some(Ks {
                statistic: d,
                p_value: prob,
                exact: true,
            });
        }
    }
    let (m, n) = if f1 >= f2 { (f1, f2) } else { (f2, f1) };
    let en = m * n / (m + n);
    Some(Ks {
        statistic: d,
        p_value: kstwo_sf(en.round() as u64, d).clamp(0.0, 1.0),
        exact: false,
    })
}

/// `P(D_{n,n} ≥ h/n)`: twice the alternating sum of binomial ratios, by a Horner-like
/// evaluation that avoids cancellation.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (nf / hf).floor() as i64;
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// `P(D_{m,n} ≥ h / lcm(m, n))` for `m ≠ n`, by the lattice paths that stay strictly
/// inside the band `|x/m - y/n| < h/lcm`: one column of the path-probability table at a
/// time, a sliding window of it, in probabilities rather than counts.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (n_i, h_i) = (n as i64, h as i64);
    let ceil_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).ceil() as i64 };
    let floor_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).floor() as i64 };
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h_i, mg).min(n_i + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n_i + 1).max(1) as usize;
    let mut a = vec![1.0f64; len_a];
    for x in a.iter_mut().take(maxj.max(0) as usize) {
        *x = 0.0;
    }
    for i in 1..=(m as i64) {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h_i, mg) + 1).max(0).min(n_i);
        maxj = ceil_div(ng * i + h_i, mg).min(n_i + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let prev = usize::try_from(jj + minj - lastminj)
                .ok()
                .and_then(|k| a.get(k))
                .copied()
                .unwrap_or(1.0);
            val = (prev * fi + val * j as f64) / (fi + j as f64);
            if let Some(x) = usize::try_from(jj).ok().and_then(|k| a.get_mut(k)) {
                *x = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            for k in (maxj - minj)..(maxj - minj + (lastlen - curlen)) {
                if let Some(x) = usize::try_from(k).ok().and_then(|k| a.get_mut(k)) {
                    *x = 1.0;
                }
            }
        }
    }
    usize::try_from(maxj - minj - 1)
        .ok()
        .and_then(|k| a.get(k))
        .copied()
        .unwrap_or(f64::NAN)
}
