//! The distribution of the two-sided one-sample Kolmogorov–Smirnov statistic `D_n`, whose
//! survival function gives the asymptotic two-sample p-value (scipy: `kstwo.sf(d, n)`).
//! The same algorithms as scipy, chosen by the same rules (Simard and L'Ecuyer 2011):
//! Ruben–Gambino near the ends, the Durbin matrix (Marsaglia, Tsang and Wang 2003) and
//! Pomeranz's recursion for small `n·d²`, Pelz–Good's approximation for large `n`, and
//! twice the exact one-sided Smirnov probability (Birnbaum–Tingey) in the tail.

use super::special::ln_gamma;

const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128
const E128: i32 = 128;
const PI_SQUARED: f64 = std::f64::consts::PI * std::f64::consts::PI;
const SQRT2PI: f64 = 2.506_628_274_631_000_2;
const SQRT3: f64 = 1.732_050_807_568_877_2;
const MIN_LOG: f64 = -708.0;
const LOG_2PI: f64 = 1.837_877_066_409_345_3;
/// Bernoulli-number coefficients of Stirling's series, B_2j / (2j (2j-1)), j = 8..1.
const STIRLING: [f64; 8] = [
    -0.029_550_653_594_771_242,
    0.006_410_256_410_256_41,
    -0.001_917_526_917_526_917_6,
    0.000_841_750_841_750_841_7,
    -0.000_595_238_095_238_095_3,
    0.000_793_650_793_650_793_7,
    -0.002_777_777_777_777_778,
    0.083_333_333_333_333_33,
];

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `x · 2^e`.
fn ldexp(x: f64, e: i32) -> f64 {
    x * 2f64.powi(e)
}

/// `ln(n! / n^n)`.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * x + c);
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

/// `P(D_n > d)`.
pub fn kstwo_sf(n: u64, d: f64) -> f64 {
    if n == 0 || d.is_nan() {
        return f64::NAN;
    }
    let nf = n as f64;
    if d >= 1.0 {
        return 0.0;
    }
    if d <= 0.0 {
        return 1.0;
    }
    let t = nf * d;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - d).powf(nf));
    }
    if d >= 0.5 {
        return clip(2.0 * smirnov_sf(n, d));
    }
    let nxsquared = t * d;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - durbin_cdf(n, d));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, d));
        }
        return clip(2.0 * smirnov_sf(n, d));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, d));
    }
    let cdf = if n <= 100_000 && nf * d.powf(1.5) <= 1.4 {
        durbin_cdf(n, d)
    } else {
        pelz_good_cdf(n, d)
    };
    clip(1.0 - cdf)
}

/// The one-sided Smirnov survival function `P(D_n^+ > d)`, by the Birnbaum–Tingey sum
/// `d Σ_{v ≤ n(1-d)} C(n,v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v)`, in logarithms.
pub(crate) fn smirnov_sf(n: u64, d: f64) -> f64 {
    if d <= 0.0 {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let last = (nf * (1.0 - d)).floor() as u64;
    let ln_n_fact = ln_gamma(nf + 1.0);
    let mut sum = 0.0;
    let mut peak: f64 = 0.0;
    for v in 0..=last {
        let vf = v as f64;
        let evn = d + vf / nf;
        let omevn = 1.0 - evn;
        let term = if omevn > 0.0 {
            (ln_n_fact - ln_gamma(vf + 1.0) - ln_gamma(nf - vf + 1.0)
                + (vf - 1.0) * evn.ln()
                + (nf - vf) * omevn.ln())
            .exp()
        } else if v == n {
            // (1 - d - v/n)^0 with v = n: the last term is evn^(n-1).
            evn.powf(nf - 1.0)
        } else {
            0.0
        };
        sum += term;
        peak = peak.max(term);
        // Past the largest term the terms only shrink: stop when they no longer count.
        if term < peak * 1e-18 && v > 16 {
            break;
        }
    }
    clip(sum * d)
}

/// `P(D_n ≤ d)` by the Durbin matrix, as Marsaglia, Tsang and Wang compute it.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    let nf = n as f64;
    if d >= 1.0 {
        return 1.0;
    }
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    let at = |i: usize, j: usize| i * m + j;
    let mut v = vec![0.0f64; m];
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0f64;
    for j in 1..=m {
        if let Some(x) = w.get_mut(j - 1) {
            *x = fac;
        }
        fac /= j as f64;
        if let Some(x) = v.get_mut(j - 1) {
            *x = (1.0 - h.powi(j as i32)) * fac;
        }
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    if let Some(x) = v.last_mut() {
        *x = (1.0 + tt) * fac;
    }
    // H[i-1:, i] = w[:m-i+1] for i in 1..m; H[:, 0] = v; H[-1, :] = flip(v).
    for i in 1..m {
        for r in (i - 1)..m {
            if let (Some(slot), Some(&val)) = (hm.get_mut(at(r, i)), w.get(r - (i - 1))) {
                *slot = val;
            }
        }
    }
    for r in 0..m {
        if let (Some(slot), Some(&val)) = (hm.get_mut(at(r, 0)), v.get(r)) {
            *slot = val;
        }
    }
    for c in 0..m {
        if let (Some(slot), Some(&val)) = (hm.get_mut(at(m - 1, c)), v.get(m - 1 - c)) {
            *slot = val;
        }
    }
    let matmul = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; m * m];
        for i in 0..m {
            for l in 0..m {
                let x = a.get(at(i, l)).copied().unwrap_or(0.0);
                if x == 0.0 {
                    continue;
                }
                for j in 0..m {
                    if let (Some(o), Some(y)) = (out.get_mut(at(i, j)), b.get(at(l, j))) {
                        *o += x * y;
                    }
                }
            }
        }
        out
    };
    let mut pwr = vec![0.0f64; m * m];
    for i in 0..m {
        if let Some(x) = pwr.get_mut(at(i, i)) {
            *x = 1.0;
        }
    }
    let (mut nn, mut expnt, mut hexpnt) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm);
        hexpnt *= 2;
        if hm.get(at(k - 1, k - 1)).is_some_and(|x| x.abs() > EP128) {
            for x in &mut hm {
                *x /= EP128;
            }
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr.get(at(k - 1, k - 1)).copied().unwrap_or(0.0);
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    clip(p)
}

/// The endpoints of row `i` in Pomeranz's recursion.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n ≤ d)` by Pomeranz's recursion.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = 2 * (ll as usize + 1);
    let mut gpower = vec![1.0f64; npwrs];
    let mut twogpower = vec![1.0f64; npwrs];
    let mut onem2gpower = vec![1.0f64; npwrs];
    let (g_n, two_g_n, one_m2g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        let mf = m as f64;
        let prev = |v: &[f64]| v.get(m - 1).copied().unwrap_or(0.0);
        let (a, b, c) = (prev(&gpower), prev(&twogpower), prev(&onem2gpower));
        if let Some(x) = gpower.get_mut(m) {
            *x = a * g_n / mf;
        }
        if let Some(x) = twogpower.get_mut(m) {
            *x = b * two_g_n / mf;
        }
        if let Some(x) = onem2gpower.get_mut(m) {
            *x = c * one_m2g_n / mf;
        }
    }
    let mut v0 = vec![0.0f64; npwrs];
    let mut v1 = vec![0.0f64; npwrs];
    if let Some(x) = v1.first_mut() {
        *x = 1.0;
    }
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut expnt = 0i32;
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (nj1, nj2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = nj2 - k1 + 1;
        if ln2 > 0 {
            // conv = convolve(V0[k1 - V0s ..][..ln2], pwrs[..ln2]);
            // V1[..j2 - j1 + 1] = conv[j1 - k1 ..].
            let base = k1 - v0s;
            let conv_start = nj1 - k1;
            let conv_len = (nj2 - nj1 + 1).max(0) as usize;
            for (o, out) in v1.iter_mut().take(conv_len).enumerate() {
                let idx = conv_start + o as i64;
                let mut s = 0.0;
                for a in 0..ln2 {
                    let b = idx - a;
                    if b < 0 || b >= ln2 {
                        continue;
                    }
                    let va = usize::try_from(base + a)
                        .ok()
                        .and_then(|i| v0.get(i))
                        .copied()
                        .unwrap_or(0.0);
                    let pb = usize::try_from(b)
                        .ok()
                        .and_then(|i| pwrs.get(i))
                        .copied()
                        .unwrap_or(0.0);
                    s += va * pb;
                }
                *out = s;
            }
            let mx = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if mx > 0.0 && mx < EM128 {
                v1.iter_mut().for_each(|x| *x *= EP128);
                expnt -= E128;
            }
            v1s = v0s + nj1 - k1;
        }
    }
    let mut ans = usize::try_from(ni - v1s)
        .ok()
        .and_then(|i| v1.get(i))
        .copied()
        .unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    clip(ans)
}

/// Pelz and Good's approximation of `P(D_n ≤ x)`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI_SQUARED / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let pi4 = PI_SQUARED * PI_SQUARED;
    let pi6 = pi4 * PI_SQUARED;
    let k1a = -z2;
    let k1b = PI_SQUARED / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * PI_SQUARED / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = PI_SQUARED * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / std::f64::consts::PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (ki, c) in k.iter_mut().zip(coeffs) {
            *ki = *ki * qpower + c;
        }
    }
    let denom = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (ki, dn) in k.iter_mut().zip(denom) {
        *ki = *ki * q * SQRT2PI / dn;
    }
    let q2 = (-PI_SQUARED / 2.0 / z2).exp();
    let sqrt3z = SQRT3 * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let ks = kk as f64;
        let ks2 = ks * ks;
        let qp = q2.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = std::f64::consts::PI * ks;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * PI_SQUARED * SQRT2PI / (-36.0 * z3);
    k[3] += k3extra * PI_SQUARED * SQRT2PI / (216.0 * z6);
    for (i, ki) in k.iter_mut().enumerate() {
        *ki /= nf.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}
