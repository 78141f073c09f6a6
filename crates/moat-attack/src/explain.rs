//! `moat explain`: permutation feature importance with confidence intervals, and partial
//! dependence of the top features: the explainability evidence high-risk tiers need.
//!
//! Importance of a feature is the drop in accuracy when its column is shuffled across
//! rows (Breiman 2001; the model is never refit), repeated with seeded permutations; the
//! interval is the mean ± Student's t (95%) times the standard error over repeats.
//! Partial dependence (Friedman 2001) sets a feature to each value of a grid over its
//! observed range (5th to 95th percentile) for every row and averages the predicted
//! probabilities per class.

use serde::Serialize;

use crate::model::Classifier;
use crate::rng::Rng;
use crate::Error;

#[derive(Debug, Clone)]
pub struct ExplainSettings {
    pub repeats: usize,
    pub seed: u64,
    /// Partial dependence for this many of the most important features.
    pub top: usize,
    pub grid: usize,
    /// Feature names (`f0`, `f1`, … when absent).
    pub names: Option<Vec<String>>,
}

impl Default for ExplainSettings {
    fn default() -> Self {
        ExplainSettings {
            repeats: 10,
            seed: 0,
            top: 3,
            grid: 20,
            names: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    pub feature: String,
    pub index: usize,
    /// Mean drop in accuracy.
    pub importance: f64,
    pub std: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependence {
    pub feature: String,
    pub index: usize,
    pub grid: Vec<f64>,
    /// `mean_probability[class][grid point]`.
    pub mean_probability: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExplainReport {
    pub method: &'static str,
    pub rows: usize,
    pub features: usize,
    pub repeats: usize,
    pub seed: u64,
    pub baseline_accuracy: f64,
    /// Most important first.
    pub importances: Vec<Importance>,
    pub partial_dependence: Vec<Dependence>,
    pub queries: u64,
}

/// Two-sided 95% Student's t quantile for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        d if d <= 30 => T[d - 1],
        d if d <= 60 => 2.000,
        d if d <= 120 => 1.980,
        _ => 1.960,
    }
}

pub fn run(
    model: &dyn Classifier,
    x: &[f32],
    y: &[usize],
    s: &ExplainSettings,
) -> Result<ExplainReport, Error> {
    let d = model.row_len().max(1);
    if x.is_empty() || !x.len().is_multiple_of(d) {
        return Err(Error::Input(format!(
            "the data holds {} values, not a multiple of the model's row of {d}",
            x.len()
        )));
    }
    let n = x.len() / d;
    if y.len() != n {
        return Err(Error::Input(format!("{} labels for {n} rows", y.len())));
    }
    if s.repeats < 2 {
        return Err(Error::Input(
            "use at least 2 repeats for an interval".into(),
        ));
    }
    let names: Vec<String> = match &s.names {
        Some(v) if v.len() == d => v.clone(),
        Some(v) => {
            return Err(Error::Input(format!(
                "{} feature names for {d} features",
                v.len()
            )))
        }
        None => (0..d).map(|j| format!("f{j}")).collect(),
    };
    let mut queries = 0u64;
    let accuracy = |rows: &[f32], queries: &mut u64| -> Result<f64, Error> {
        let dec = model.predict_all(rows)?.decisions();
        *queries += n as u64;
        Ok(dec.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / n as f64)
    };
    let base = accuracy(x, &mut queries)?;
    let mut rng = Rng::for_sample(s.seed, u64::MAX);
    let mut imps = Vec::with_capacity(d);
    let mut work = x.to_vec();
    for j in 0..d {
        let mut drops = Vec::with_capacity(s.repeats);
        for _ in 0..s.repeats {
            let perm = rng.permutation(n);
            for (i, &p) in perm.iter().enumerate() {
                work[i * d + j] = x[p * d + j];
            }
            drops.push(base - accuracy(&work, &mut queries)?);
        }
        for i in 0..n {
            work[i * d + j] = x[i * d + j];
        }
        let m = drops.iter().sum::<f64>() / drops.len() as f64;
        let var = drops.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (drops.len() - 1) as f64;
        let sd = var.sqrt();
        let half = t95(drops.len() - 1) * sd / (drops.len() as f64).sqrt();
        imps.push(Importance {
            feature: names[j].clone(),
            index: j,
            importance: m,
            std: sd,
            ci_low: m - half,
            ci_high: m + half,
        });
    }
    imps.sort_by(|a, b| {
        b.importance
            .total_cmp(&a.importance)
            .then(a.index.cmp(&b.index))
    });
    let mut pds = Vec::new();
    if model.gives_scores() {
        for imp in imps.iter().take(s.top) {
            let j = imp.index;
            let mut col: Vec<f64> = (0..n).map(|i| f64::from(x[i * d + j])).collect();
            col.sort_by(f64::total_cmp);
            let q = |p: f64| col[((p * (n - 1) as f64).round() as usize).min(n - 1)];
            let (lo, hi) = (q(0.05), q(0.95));
            let g = s.grid.max(2);
            let grid: Vec<f64> = if hi > lo {
                (0..g)
                    .map(|k| lo + (hi - lo) * k as f64 / (g - 1) as f64)
                    .collect()
            } else {
                vec![lo]
            };
            let mut mean: Vec<Vec<f64>> = Vec::new();
            for (k, &v) in grid.iter().enumerate() {
                for i in 0..n {
                    work[i * d + j] = v as f32;
                }
                let out = model.predict_all(&work)?;
                queries += n as u64;
                let classes = out.scores(0).map_or(0, <[f32]>::len);
                if mean.is_empty() {
                    mean = vec![vec![0.0; grid.len()]; classes];
                }
                for i in 0..n {
                    for (c, &p) in out.scores(i).unwrap_or_default().iter().enumerate() {
                        if let Some(m) = mean.get_mut(c) {
                            m[k] += f64::from(p) / n as f64;
                        }
                    }
                }
            }
            for i in 0..n {
                work[i * d + j] = x[i * d + j];
            }
            pds.push(Dependence {
                feature: imp.feature.clone(),
                index: j,
                grid,
                mean_probability: mean,
            });
        }
    }
    Ok(ExplainReport {
        method: "permutation-importance",
        rows: n,
        features: d,
        repeats: s.repeats,
        seed: s.seed,
        baseline_accuracy: base,
        importances: imps,
        partial_dependence: pds,
        queries,
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained HTML page: an importance chart with intervals and one partial
/// dependence plot per top feature (inline SVG, no script, no network).
pub fn html(r: &ExplainReport, title: &str) -> String {
    let mut s = String::new();
    s.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>");
    s.push_str(&esc(title));
    s.push_str("</title><style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}svg{background:#fafafa;border:1px solid #eee;margin:4px}</style></head><body>");
    s.push_str(&format!(
        "<h1>{}</h1><p>Permutation importance: drop in accuracy when a feature is shuffled, {} repeats, seed {}, {} rows, baseline accuracy {:.4}. Bars show the mean, lines the 95% interval.</p>",
        esc(title), r.repeats, r.seed, r.rows, r.baseline_accuracy
    ));
    let shown: Vec<&Importance> = r.importances.iter().take(30).collect();
    let top = shown
        .iter()
        .map(|i| i.ci_high.max(i.importance))
        .fold(1e-9, f64::max);
    let low = shown.iter().map(|i| i.ci_low.min(0.0)).fold(0.0, f64::min);
    let (w, row_h, left) = (640.0, 18.0, 160.0);
    let h = row_h * shown.len() as f64 + 30.0;
    let xs = |v: f64| left + (v - low) / (top - low) * (w - left - 20.0);
    s.push_str(&format!(
        "<svg width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"importance\">"
    ));
    s.push_str(&format!(
        "<line x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{h}\" stroke=\"#999\"/>",
        xs(0.0)
    ));
    for (k, i) in shown.iter().enumerate() {
        let y = 10.0 + k as f64 * row_h;
        let (a, b) = (xs(0.0), xs(i.importance));
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#4a78c2\"/><line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#222\"/>",
            left - 6.0, y + 12.0, esc(&i.feature), a.min(b), y + 2.0, (b - a).abs().max(0.5), row_h - 6.0,
            xs(i.ci_low), xs(i.ci_high), y + row_h / 2.0, y + row_h / 2.0
        ));
    }
    s.push_str("</svg>");
    s.push_str(
        "<table><tr><th>feature</th><th>importance</th><th>std</th><th>95% interval</th></tr>",
    );
    for i in &r.importances {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>[{:.4}, {:.4}]</td></tr>",
            esc(&i.feature),
            i.importance,
            i.std,
            i.ci_low,
            i.ci_high
        ));
    }
    s.push_str("</table>");
    if !r.partial_dependence.is_empty() {
        s.push_str("<h2>Partial dependence</h2><p>Mean predicted probability of each class when the feature is set to each value, for every row.</p>");
    }
    let colours = [
        "#4a78c2", "#d9822b", "#3a9a5b", "#c23b3b", "#8a5cc2", "#7a7a7a", "#2bb5c2", "#c2b02b",
        "#c25ca8", "#5c3a1e",
    ];
    for p in &r.partial_dependence {
        let (w, h, pad) = (360.0, 220.0, 30.0);
        let (g0, g1) = (
            p.grid.first().copied().unwrap_or(0.0),
            p.grid.last().copied().unwrap_or(1.0),
        );
        let gx = |v: f64| pad + if g1 > g0 { (v - g0) / (g1 - g0) } else { 0.5 } * (w - 2.0 * pad);
        let gy = |v: f64| h - pad - v.clamp(0.0, 1.0) * (h - 2.0 * pad);
        s.push_str(&format!("<figure style=\"display:inline-block\"><svg width=\"{w}\" height=\"{h}\"><rect x=\"{pad}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>", w - 2.0 * pad, h - 2.0 * pad));
        for (c, series) in p.mean_probability.iter().enumerate() {
            let pts: Vec<String> = p
                .grid
                .iter()
                .zip(series)
                .map(|(&g, &v)| format!("{:.1},{:.1}", gx(g), gy(v)))
                .collect();
            s.push_str(&format!("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>class {c}</title></polyline>", colours[c % colours.len()], pts.join(" ")));
        }
        s.push_str(&format!(
            "<text x=\"{pad}\" y=\"{}\" font-size=\"11\">{g0:.3}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{g1:.3}</text><text x=\"4\" y=\"{}\" font-size=\"11\">1</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text></svg><figcaption>{} (classes: {})</figcaption></figure>",
            h - 10.0, w - pad, h - 10.0, pad + 4.0, h - pad, esc(&p.feature),
            (0..p.mean_probability.len()).map(|c| format!("<span style=\"color:{}\">{c}</span>", colours[c % colours.len()])).collect::<Vec<_>>().join(" ")
        ));
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn t_quantiles() {
        assert_eq!(super::t95(9), 2.262);
        assert_eq!(super::t95(1000), 1.96);
    }
}
