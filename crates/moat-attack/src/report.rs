//! The attack report: the JSON contract other tools parse (`moat attack --format json`).

use serde::Serialize;

use crate::attacks::Settings;
use crate::oracle::{l2, linf, Oracle};

/// The result for one given sample.
#[derive(Debug, Clone, Serialize)]
pub struct SampleResult {
    /// Row in the given samples.
    pub index: usize,
    pub label: usize,
    /// The model's decision on the clean sample.
    pub predicted: usize,
    /// Whether the clean sample is classified correctly (only those are attacked).
    pub attacked: bool,
    pub success: bool,
    pub l2: Option<f64>,
    pub linf: Option<f64>,
    /// Queries used when the returned point was found (all queries spent when none was).
    pub queries: u64,
    /// Queries spent on this sample in all.
    pub queries_total: u64,
    /// The full adversarial row, so anyone can re-verify it.
    pub adv: Option<Vec<f32>>,
    /// Anytime curve: `[queries, best norm so far]` at every improvement.
    pub trace: Vec<(u64, f64)>,
}

impl SampleResult {
    pub(crate) fn skipped(index: usize, label: usize, predicted: usize) -> Self {
        SampleResult {
            index,
            label,
            predicted,
            attacked: false,
            success: false,
            l2: None,
            linf: None,
            queries: 0,
            queries_total: 0,
            adv: None,
            trace: Vec::new(),
        }
    }

    pub(crate) fn from_oracle(
        index: usize,
        label: usize,
        x0: &[f32],
        o: Oracle<'_>,
        epsilon: Option<f64>,
    ) -> Self {
        let reached = o.reached_epsilon();
        let (best, trace, used) = o.into_parts();
        let success = match epsilon {
            Some(_) => reached,
            None => best.is_some(),
        };
        SampleResult {
            index,
            label,
            predicted: label,
            attacked: true,
            success,
            l2: best.as_ref().map(|b| l2(&b.adv, x0)),
            linf: best.as_ref().map(|b| linf(&b.adv, x0)),
            queries: best
                .as_ref()
                .filter(|_| success)
                .map_or(used, |b| b.queries),
            queries_total: used,
            adv: best.map(|b| b.adv),
            trace,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub attack: String,
    pub norm: String,
    pub samples: usize,
    pub clean_accuracy: f64,
    pub robust_accuracy: f64,
    pub success_rate: f64,
    pub median_l2: Option<f64>,
    pub median_linf: Option<f64>,
    pub median_queries: Option<f64>,
    pub epsilon: Option<f64>,
    pub max_queries: u64,
    pub seed: u64,
    pub targeted: Option<usize>,
    /// Samples the model classifies correctly (the attacked ones).
    pub attacked: usize,
    pub successes: usize,
    /// Queries spent on all samples together.
    pub total_queries: u64,
    pub per_sample: Vec<SampleResult>,
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    })
}

impl Report {
    pub(crate) fn new(s: &Settings, per_sample: Vec<SampleResult>) -> Self {
        let n = per_sample.len();
        let attacked = per_sample.iter().filter(|r| r.attacked).count();
        let correct = per_sample.iter().filter(|r| r.predicted == r.label).count();
        let ok: Vec<&SampleResult> = per_sample.iter().filter(|r| r.success).collect();
        let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Report {
            attack: s.kind.to_string(),
            norm: s.norm.as_str().into(),
            samples: n,
            clean_accuracy: frac(correct, n),
            robust_accuracy: frac(correct - ok.len(), n),
            success_rate: frac(ok.len(), attacked),
            median_l2: median(ok.iter().filter_map(|r| r.l2).collect()),
            median_linf: median(ok.iter().filter_map(|r| r.linf).collect()),
            median_queries: median(ok.iter().map(|r| r.queries as f64).collect()),
            epsilon: s.epsilon,
            max_queries: s.max_queries,
            seed: s.seed,
            targeted: s.target,
            attacked,
            successes: ok.len(),
            total_queries: per_sample.iter().map(|r| r.queries_total).sum(),
            per_sample,
        }
    }

    /// The adversarial rows of the successful samples, in sample order.
    pub fn adversarial_rows(&self) -> Vec<(usize, &[f32])> {
        self.per_sample
            .iter()
            .filter(|r| r.success)
            .filter_map(|r| r.adv.as_deref().map(|a| (r.index, a)))
            .collect()
    }

    /// What the same run would have reported with a smaller query budget, read off the
    /// anytime traces (epsilon unchanged).
    pub fn at_budget(&self, queries: u64) -> BudgetSummary {
        let mut norms = Vec::new();
        for r in self.per_sample.iter().filter(|r| r.attacked) {
            if let Some(&(_, n)) = r.trace.iter().take_while(|(q, _)| *q <= queries).last() {
                if self.epsilon.is_none_or(|e| crate::oracle::within(n, e)) {
                    norms.push(n);
                }
            }
        }
        let attacked = self.attacked;
        BudgetSummary {
            queries,
            success_rate: if attacked == 0 {
                0.0
            } else {
                norms.len() as f64 / attacked as f64
            },
            median_norm: median(norms),
        }
    }
}

/// One point of the budget curve.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetSummary {
    pub queries: u64,
    pub success_rate: f64,
    /// Median of the chosen norm over the successes.
    pub median_norm: Option<f64>,
}
