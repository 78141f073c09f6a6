//! `output-watch`: the answers of a `tabular` endpoint, against its own baseline.
//!
//! The first `output_baseline` predictions after start make the baseline (the mean
//! top-class confidence and its spread, the predicted-class mix); then the last
//! `output_window` predictions are compared with it every 25 answers:
//! *confidence collapse* when their mean confidence falls more than
//! `max(0.1, 4 σ / √window)` below the baseline's, *class-mix shift* when a chi-square
//! test of the two class counts gives p < 1e-4 and their Jensen–Shannon distance is at
//! least 0.1. One finding when a signal starts; none again until it has cleared.
//!
//! Answers are read as model servers write them: probabilities under `probabilities`,
//! `probability`, `probs`, `predict_proba` or `scores` (one vector per row, or one number
//! per row for a binary model), classes under `predictions`, `prediction`, `labels`,
//! `label`, `classes` or `class` (else the arg-max of the probabilities). Known false
//! positives: a baseline learned from unrepresentative first traffic (restart the
//! gateway after a deliberate model change), a legitimate shift of the population.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value as Json;

use super::{Detector, DetectorCx, DetectorId, Finding, Phase, Severity};
use crate::config::Kind;

/// Classes followed at most; the rest count as one.
const MAX_CLASSES: usize = 64;
/// Rows read from one answer at most.
const MAX_ROWS: usize = 10_000;

#[derive(Default)]
struct State {
    /// Baseline: confidences sum, sum of squares, count; class counts.
    base: (f64, f64, u64),
    base_classes: HashMap<String, u64>,
    window: VecDeque<(f64, String)>,
    since_check: usize,
    collapse: bool,
    shift: bool,
}

pub struct OutputWatch {
    baseline: usize,
    window: usize,
    state: Mutex<State>,
}

/// One prediction: the top confidence (when probabilities are given) and the class.
fn predictions(v: &Json) -> Vec<(Option<f64>, Option<String>)> {
    let get = |keys: &[&str]| keys.iter().find_map(|k| v.get(*k));
    let probs = get(&[
        "probabilities",
        "probability",
        "probs",
        "predict_proba",
        "scores",
    ]);
    let classes = get(&[
        "predictions",
        "prediction",
        "labels",
        "label",
        "classes",
        "class",
    ]);
    let as_list = |x: Option<&Json>| -> Vec<Json> {
        match x {
            Some(Json::Array(a)) => a.iter().take(MAX_ROWS).cloned().collect(),
            Some(other) => vec![other.clone()],
            None => Vec::new(),
        }
    };
    let probs = as_list(probs);
    let classes = as_list(classes);
    let n = probs.len().max(classes.len());
    (0..n)
        .map(|i| {
            let (conf, argmax) = match probs.get(i) {
                Some(Json::Array(p)) => {
                    let p: Vec<f64> = p.iter().filter_map(Json::as_f64).collect();
                    let best = p
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|(j, x)| (*x, j));
                    (best.map(|b| b.0), best.map(|b| b.1.to_string()))
                }
                Some(Json::Number(x)) => {
                    let p = x.as_f64().unwrap_or(0.0).clamp(0.0, 1.0);
                    (Some(p.max(1.0 - p)), Some(u8::from(p >= 0.5).to_string()))
                }
                _ => (None, None),
            };
            let class = match classes.get(i) {
                Some(Json::String(s)) => Some(s.chars().take(64).collect()),
                Some(Json::Number(x)) => Some(x.to_string()),
                Some(Json::Bool(b)) => Some(b.to_string()),
                _ => argmax,
            };
            (conf.filter(|c| c.is_finite()), class)
        })
        .collect()
}

impl OutputWatch {
    pub fn new(baseline: usize, window: usize) -> Self {
        OutputWatch {
            baseline,
            window,
            state: Mutex::new(State::default()),
        }
    }

    fn finding(severity: Severity, evidence: String) -> Finding {
        Finding {
            detector: DetectorId::OutputWatch,
            severity,
            // Erode ML model integrity.
            atlas: "AML.T0031",
            evidence,
            repeat: false,
        }
    }

    fn check(&self, st: &mut State, findings: &mut Vec<Finding>) {
        let n = st.window.len() as f64;
        let confs: Vec<f64> = st
            .window
            .iter()
            .map(|w| w.0)
            .filter(|c| !c.is_nan())
            .collect();
        let (s, ss, k) = st.base;
        if k >= 20 && confs.len() >= self.window / 2 {
            let mean = s / k as f64;
            let sd = (ss / k as f64 - mean * mean).max(0.0).sqrt();
            let now = confs.iter().sum::<f64>() / confs.len() as f64;
            let margin = (4.0 * sd / (confs.len() as f64).sqrt()).max(0.1);
            let collapsed = now < mean - margin;
            if collapsed && !st.collapse {
                findings.push(Self::finding(
                    Severity::High,
                    format!(
                        "confidence collapse: mean top-class confidence {now:.3} over the last {} answers, baseline {mean:.3} (σ {sd:.3})",
                        confs.len()
                    ),
                ));
            }
            st.collapse = collapsed;
        }
        // Class mix: the baseline's classes plus any new one, in a fixed order.
        let mut names: Vec<&String> = st.base_classes.keys().collect();
        for (_, c) in &st.window {
            if !st.base_classes.contains_key(c) && !names.contains(&c) {
                names.push(c);
            }
        }
        names.sort();
        if names.len() >= 2 && n >= 20.0 {
            let base: Vec<f64> = names
                .iter()
                .map(|c| *st.base_classes.get(*c).unwrap_or(&0) as f64)
                .collect();
            let cur: Vec<f64> = names
                .iter()
                .map(|c| st.window.iter().filter(|w| &&w.1 == c).count() as f64)
                .collect();
            let p = moat_data::stats::chi2_contingency(&base, &cur).map_or(1.0, |t| t.1);
            let js = moat_data::stats::jensen_shannon(&base, &cur).unwrap_or(0.0);
            let shifted = p < 1e-4 && js >= 0.1;
            if shifted && !st.shift {
                let share = |v: &[f64]| {
                    let t: f64 = v.iter().sum();
                    names
                        .iter()
                        .zip(v)
                        .map(|(c, x)| format!("{c} {:.0}%", 100.0 * x / t.max(1.0)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                findings.push(Self::finding(
                    Severity::Medium,
                    format!(
                        "predicted-class mix shift (Jensen–Shannon {js:.3}, p {p:.1e}): last {} answers {}; baseline {}",
                        st.window.len(),
                        share(&cur),
                        share(&base)
                    ),
                ));
            }
            st.shift = shifted;
        }
    }
}

impl Detector for OutputWatch {
    fn id(&self) -> DetectorId {
        DetectorId::OutputWatch
    }

    fn phases(&self) -> &'static [Phase] {
        &[Phase::ResponseBody]
    }

    fn applies_to(&self, kind: Kind) -> bool {
        kind == Kind::Tabular
    }

    fn inspect(&self, cx: &DetectorCx<'_>, findings: &mut Vec<Finding>) {
        let Some(v) = cx.json else { return };
        let preds = predictions(v);
        if preds.is_empty() {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for (conf, class) in preds {
            let class = class.unwrap_or_else(|| "?".into());
            if (st.base.2 as usize) < self.baseline {
                if let Some(c) = conf {
                    st.base.0 += c;
                    st.base.1 += c * c;
                }
                st.base.2 += 1;
                let known = st.base_classes.len();
                let key = if known >= MAX_CLASSES && !st.base_classes.contains_key(&class) {
                    "(other)".to_owned()
                } else {
                    class
                };
                *st.base_classes.entry(key).or_default() += 1;
                continue;
            }
            let class =
                if st.base_classes.contains_key(&class) || st.base_classes.len() < MAX_CLASSES {
                    class
                } else {
                    "(other)".to_owned()
                };
            if st.window.len() == self.window {
                st.window.pop_front();
            }
            st.window.push_back((conf.unwrap_or(f64::NAN), class));
            st.since_check += 1;
            if st.window.len() == self.window && st.since_check >= 25 {
                st.since_check = 0;
                self.check(&mut st, findings);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed(d: &OutputWatch, answers: impl Iterator<Item = Json>) -> Vec<Finding> {
        let mut f = Vec::new();
        for a in answers {
            let cx = DetectorCx {
                endpoint: "e",
                key_id: "k",
                kind: Kind::Tabular,
                phase: Phase::ResponseBody,
                texts: &[],
                json: Some(&a),
                rows: None,
            };
            d.inspect(&cx, &mut f);
        }
        f
    }

    fn answer(i: usize, p: f64) -> Json {
        // Class 1 every third answer.
        let cls = u8::from(i % 3 == 0);
        let hi = if cls == 1 { [1.0 - p, p] } else { [p, 1.0 - p] };
        json!({"predictions": [cls], "probabilities": [hi]})
    }

    #[test]
    fn steady_answers_raise_nothing_and_a_collapse_or_shift_is_caught_once() {
        let d = OutputWatch::new(300, 100);
        let steady = (0..1000).map(|i| answer(i, 0.9 + 0.05 * ((i % 7) as f64 / 7.0)));
        assert!(feed(&d, steady).is_empty());
        // Near-uniform answers: collapse.
        let f = feed(&d, (0..300).map(|i| answer(i, 0.55)));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].evidence.starts_with("confidence collapse"), "{f:?}");
        // Recovered, then every answer class 1: a shift.
        assert!(feed(&d, (0..300).map(|i| answer(i, 0.92))).is_empty());
        let f = feed(
            &d,
            (0..300).map(|_| json!({"predictions": [1], "probabilities": [[0.08, 0.92]]})),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].evidence.starts_with("predicted-class mix shift"),
            "{f:?}"
        );
    }

    #[test]
    fn answers_are_read_in_the_usual_shapes() {
        let p = predictions(&json!({"probabilities": [[0.2, 0.8], [0.9, 0.1]]}));
        assert_eq!(
            p,
            [(Some(0.8), Some("1".into())), (Some(0.9), Some("0".into()))]
        );
        let p = predictions(&json!({"probability": 0.3, "label": "deny"}));
        assert_eq!(p, [(Some(0.7), Some("deny".into()))]);
        assert!(predictions(&json!({"choices": []})).is_empty());
    }
}
