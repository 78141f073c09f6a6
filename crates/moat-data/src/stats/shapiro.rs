//! The Shapiro–Wilk test of normality, as Royston's algorithm AS R94 (1995) computes it
//! (scipy's `shapiro` runs the same algorithm): the coefficients from normal order
//! statistics with Royston's polynomial corrections for the two largest, and the p-value
//! from his normalising transformations of `W`. Valid for 3 to 5,000 values.

/// `W` and its p-value (small p: not normal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapiroWilk {
    pub w: f64,
    pub p_value: f64,
}

/// The most values the algorithm's approximations are valid for.
const MAX_N: usize = 5000;

/// Tests `x` (any order) for normality; `None` for fewer than 3 or more than
/// 5,000 values, a non-finite value, or values that are all equal.
pub fn shapiro_wilk(x: &[f64]) -> Option<ShapiroWilk> {
    let n = x.len();
    if !(3..=MAX_N).contains(&n) || x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let range = s.last()? - s.first()?;
    if range <= 0.0 {
        return None;
    }
    let a = coefficients(n);
    // Centre and scale by the range first, as AS R94 does, for accuracy.
    let mean = s.iter().sum::<f64>() / n as f64;
    let ssq: f64 = s.iter().map(|v| ((v - mean) / range).powi(2)).sum();
    // The upper half's coefficients pair the largest values with the smallest.
    let num: f64 = a
        .iter()
        .zip(s.iter().rev().zip(s.iter()))
        .map(|(ai, (hi, lo))| ai * (hi - lo) / range)
        .sum();
    let w = ((num * num) / ssq).min(1.0);
    Some(ShapiroWilk {
        w,
        p_value: p_value(w, n),
    })
}

/// `c[0] + c[1] x + c[2] x² + …`
fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, k| acc * x + k)
}

/// The upper half of the coefficients `a` (largest first; the lower half is their
/// negation).
fn coefficients(n: usize) -> Vec<f64> {
    let half = n / 2;
    if n == 3 {
        return vec![std::f64::consts::FRAC_1_SQRT_2];
    }
    let nf = n as f64;
    let an25 = nf + 0.25;
    // m_i for the upper half, largest first.
    let m: Vec<f64> = (0..half)
        .map(|i| -normal_quantile(((i + 1) as f64 - 0.375) / an25))
        .collect();
    let summ2 = 2.0 * m.iter().map(|v| v * v).sum::<f64>();
    let ssumm2 = summ2.sqrt();
    let rsn = 1.0 / nf.sqrt();
    const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056];
    const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
    let m0 = m.first().copied().unwrap_or(0.0);
    let m1 = m.get(1).copied().unwrap_or(0.0);
    let a1 = poly(&C1, rsn) + m0 / ssumm2;
    if n > 5 {
        let a2 = poly(&C2, rsn) + m1 / ssumm2;
        let fac = ((summ2 - 2.0 * m0 * m0 - 2.0 * m1 * m1) / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2))
            .sqrt();
        let mut a = vec![a1, a2];
        a.extend(m.iter().skip(2).map(|v| v / fac));
        a
    } else {
        let fac = ((summ2 - 2.0 * m0 * m0) / (1.0 - 2.0 * a1 * a1)).sqrt();
        let mut a = vec![a1];
        a.extend(m.iter().skip(1).map(|v| v / fac));
        a
    }
}

fn p_value(w: f64, n: usize) -> f64 {
    let nf = n as f64;
    if n == 3 {
        let pi6 = 6.0 / std::f64::consts::PI;
        let stqr = (0.75f64).sqrt().asin();
        return (pi6 * (w.sqrt().asin() - stqr)).clamp(0.0, 1.0);
    }
    let w1 = (1.0 - w).ln();
    let z = if n <= 11 {
        let gamma = 0.459 * nf - 2.273;
        if w1 >= gamma {
            return 1e-99;
        }
        let m = poly(&[0.5440, -0.39978, 0.025054, -0.0006714], nf);
        let s = poly(&[1.3822, -0.77857, 0.062767, -0.0020322], nf).exp();
        (-(gamma - w1).ln() - m) / s
    } else {
        let ln = nf.ln();
        let m = poly(&[-1.5861, -0.31082, -0.083751, 0.0038915], ln);
        let s = poly(&[-0.4803, -0.082676, 0.0030302], ln).exp();
        (w1 - m) / s
    };
    normal_sf(z)
}

/// `P(Z > z)` for a standard normal `Z`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

// Wichura's coefficients (AS 241, PPND16), lowest power first.
const A: [f64; 8] = [
    3.3871328727963665,
    133.14166789178438,
    1971.5909503065513,
    13731.69376550946,
    45921.95393154987,
    67265.7709270087,
    33430.57558358813,
    2509.0809287301227,
];
const B: [f64; 8] = [
    1.0,
    42.31333070160091,
    687.1870074920579,
    5394.196021424751,
    21213.794301586597,
    39307.89580009271,
    28729.085735721943,
    5226.495278852854,
];
const C: [f64; 8] = [
    1.4234371107496837,
    4.630337846156546,
    5.769497221460691,
    3.6478483247632045,
    1.2704582524523684,
    0.2417807251774506,
    0.022723844989269184,
    0.0007745450142783414,
];
const D: [f64; 8] = [
    1.0,
    2.053191626637759,
    1.6763848301838038,
    0.6897673349851,
    0.14810397642748008,
    0.015198666563616457,
    0.0005475938084995345,
    1.0507500716444169e-09,
];
const E: [f64; 8] = [
    6.657904643501104,
    5.463784911164114,
    1.7848265399172913,
    0.29656057182850487,
    0.026532189526576124,
    0.0012426609473880784,
    2.7115555687434876e-05,
    2.0103343992922881e-07,
];
const F: [f64; 8] = [
    1.0,
    0.599832206555888,
    0.1369298809227358,
    0.014875361290850615,
    0.0007868691311456133,
    1.8463183175100548e-05,
    1.421511758316446e-07,
    2.0442631033899397e-15,
];

/// The standard normal quantile, Wichura's AS 241 (PPND16, about 1e-16 relative).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let v = if r <= 5.0 {
        poly(&C, r - 1.6) / poly(&D, r - 1.6)
    } else {
        poly(&E, r - 5.0) / poly(&F, r - 5.0)
    };
    if q < 0.0 {
        -v
    } else {
        v
    }
}
