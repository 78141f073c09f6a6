//! `moat attack membership`: does the model reveal which rows it was trained on?
//!
//! Threshold attacks of Yeom, Giacomelli, Fredrikson, Jha (CSF 2018): a row whose loss is
//! low (or whose confidence is high) is guessed to be a training member. For each score
//! the report gives the ROC AUC of telling training rows from holdout rows, the
//! membership advantage `max(TPR − FPR)` over thresholds (Yeom's measure), the threshold
//! that reaches it, and the true-positive rate at 1% and 0.1% false positives (Carlini
//! et al. 2022: what an attacker gains when it must be sure). An AUC near 0.5 and an
//! advantage near 0 mean the model leaks little through its outputs.
//!
//! Scores: `loss` (−cross-entropy of the true label; needs labels), `confidence`
//! (probability of the true label; needs labels) and `max-confidence` (the top
//! probability; no labels needed).

use serde::Serialize;

use crate::model::Classifier;
use crate::Error;

#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    pub method: &'static str,
    pub auc: f64,
    pub advantage: f64,
    /// Rows scoring at or above it are guessed members.
    pub threshold: f64,
    pub tpr_at_1pct_fpr: f64,
    pub tpr_at_01pct_fpr: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MembershipReport {
    pub attack: &'static str,
    pub train: usize,
    pub holdout: usize,
    pub train_accuracy: Option<f64>,
    pub holdout_accuracy: Option<f64>,
    /// The strongest method's AUC and advantage (what a gate checks).
    pub auc: f64,
    pub advantage: f64,
    pub best_method: &'static str,
    pub methods: Vec<MethodResult>,
}

/// Runs the threshold attacks. Labels are class indices, one per row, for both sets or
/// neither.
pub fn run(
    model: &dyn Classifier,
    train: &[f32],
    train_labels: Option<&[usize]>,
    holdout: &[f32],
    holdout_labels: Option<&[usize]>,
) -> Result<MembershipReport, Error> {
    if !model.gives_scores() {
        return Err(Error::Input(
            "membership inference needs probabilities and this model gives only labels".into(),
        ));
    }
    let d = model.row_len().max(1);
    for (what, x) in [("training", train), ("holdout", holdout)] {
        if x.is_empty() || !x.len().is_multiple_of(d) {
            return Err(Error::Input(format!(
                "the {what} rows hold {} values, not a non-zero multiple of the model's row of {d}",
                x.len()
            )));
        }
    }
    let (nt, nh) = (train.len() / d, holdout.len() / d);
    let labels = match (train_labels, holdout_labels) {
        (Some(a), Some(b)) => {
            if a.len() != nt || b.len() != nh {
                return Err(Error::Input(format!(
                    "{} training labels for {nt} rows, {} holdout labels for {nh} rows",
                    a.len(),
                    b.len()
                )));
            }
            Some((a, b))
        }
        (None, None) => None,
        _ => {
            return Err(Error::Input(
                "give labels for both the training and the holdout rows, or for neither".into(),
            ))
        }
    };
    let pt = model.predict_all(train)?;
    let ph = model.predict_all(holdout)?;
    let scores =
        |out: &crate::Output, n: usize, labels: Option<&[usize]>| -> (Vec<[f64; 3]>, Option<f64>) {
            let dec = out.decisions();
            let mut right = 0usize;
            let s = (0..n)
                .map(|i| {
                    let p = out.scores(i).unwrap_or_default();
                    let top = p.iter().copied().fold(0.0f32, f32::max);
                    match labels {
                        Some(l) => {
                            if dec[i] == l[i] {
                                right += 1;
                            }
                            let py = f64::from(p.get(l[i]).copied().unwrap_or(0.0));
                            [py.max(1e-12).ln(), py, f64::from(top)]
                        }
                        None => [f64::NAN, f64::NAN, f64::from(top)],
                    }
                })
                .collect();
            (s, labels.map(|_| right as f64 / n as f64))
        };
    let (st, acc_t) = scores(&pt, nt, labels.map(|l| l.0));
    let (sh, acc_h) = scores(&ph, nh, labels.map(|l| l.1));
    let names = ["loss", "confidence", "max-confidence"];
    let mut methods = Vec::new();
    for (k, name) in names.iter().enumerate() {
        if labels.is_none() && k < 2 {
            continue;
        }
        let a: Vec<f64> = st.iter().map(|s| s[k]).collect();
        let b: Vec<f64> = sh.iter().map(|s| s[k]).collect();
        methods.push(evaluate(name, &a, &b));
    }
    let best = methods
        .iter()
        .max_by(|x, y| x.auc.total_cmp(&y.auc))
        .cloned()
        .ok_or_else(|| Error::Input("no method applies".into()))?;
    Ok(MembershipReport {
        attack: "membership",
        train: nt,
        holdout: nh,
        train_accuracy: acc_t,
        holdout_accuracy: acc_h,
        auc: best.auc,
        advantage: methods.iter().map(|m| m.advantage).fold(0.0, f64::max),
        best_method: best.method,
        methods,
    })
}

/// AUC (Mann–Whitney, ties counted half), advantage and low-FPR rates for member scores
/// `pos` against non-member scores `neg`; higher scores mean "member".
pub fn evaluate(method: &'static str, pos: &[f64], neg: &[f64]) -> MethodResult {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let mut auc = 0.0;
    let mut advantage = 0.0f64;
    let mut threshold = f64::INFINITY;
    let (mut tpr1, mut tpr01) = (0.0f64, 0.0f64);
    let mut i = 0;
    while i < all.len() {
        // One threshold per distinct score.
        let s = all[i].0;
        let (mut dtp, mut dfp) = (0.0, 0.0);
        while i < all.len() && all[i].0.total_cmp(&s).is_eq() {
            if all[i].1 {
                dtp += 1.0;
            } else {
                dfp += 1.0;
            }
            i += 1;
        }
        auc += dfp * (tp + dtp / 2.0);
        tp += dtp;
        fp += dfp;
        let (tpr, fpr) = (tp / np.max(1.0), fp / nn.max(1.0));
        if tpr - fpr > advantage {
            advantage = tpr - fpr;
            threshold = s;
        }
        if fpr <= 0.01 {
            tpr1 = tpr1.max(tpr);
        }
        if fpr <= 0.001 {
            tpr01 = tpr01.max(tpr);
        }
    }
    MethodResult {
        method,
        auc: if np * nn > 0.0 { auc / (np * nn) } else { 0.5 },
        advantage,
        threshold,
        tpr_at_1pct_fpr: tpr1,
        tpr_at_01pct_fpr: tpr01,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn auc_of_known_cases() {
        assert_eq!(evaluate("x", &[3.0, 4.0], &[1.0, 2.0]).auc, 1.0);
        assert_eq!(evaluate("x", &[1.0, 2.0], &[3.0, 4.0]).auc, 0.0);
        assert_eq!(evaluate("x", &[1.0, 1.0], &[1.0, 1.0]).auc, 0.5);
        let r = evaluate("x", &[3.0, 4.0], &[1.0, 2.0]);
        assert_eq!(r.advantage, 1.0);
        assert_eq!(r.threshold, 3.0);
    }

    proptest! {
        /// AUC equals the share of (member, non-member) pairs ranked right, ties half.
        #[test]
        fn auc_is_the_pairwise_share(pos in proptest::collection::vec(0u8..10, 1..30), neg in proptest::collection::vec(0u8..10, 1..30)) {
            let p: Vec<f64> = pos.iter().map(|&v| f64::from(v)).collect();
            let n: Vec<f64> = neg.iter().map(|&v| f64::from(v)).collect();
            let mut pairs = 0.0;
            for a in &p { for b in &n { pairs += if a > b { 1.0 } else if a == b { 0.5 } else { 0.0 }; } }
            let want = pairs / (p.len() * n.len()) as f64;
            let got = evaluate("x", &p, &n).auc;
            prop_assert!((got - want).abs() < 1e-12);
            prop_assert!((0.0..=1.0).contains(&evaluate("x", &p, &n).advantage));
        }
    }
}
