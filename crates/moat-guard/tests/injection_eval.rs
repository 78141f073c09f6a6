//! Prompt-injection quality: precision, recall, F1 and the false-positive rate on benign
//! prompts, on two labelled sets that the classifier never trained on:
//!
//! - `tests/data/injection_eval.jsonl`, the evaluation split `train/train_injection.py`
//!   holds back from its own sources (same sources and generators as training);
//! - `tests/data/injection_heldout.jsonl`, from `train/make_heldout.py`: other sources
//!   altogether (PyRIT's jailbreak templates and extraction seeds, DeepEval's and NeMo
//!   Guardrails' prompt templates, PyRIT's scoring rubrics, hand-written texts and their
//!   disguises), reported per source.
//!
//! Issue #5 goals: F1 ≥ 0.90 with at most 2% false positives on benign prompts.

#![expect(
    clippy::print_stdout,
    reason = "the report is what these tests are read for"
)]

use std::collections::BTreeMap;

struct Counts {
    tp: u32,
    fp: u32,
    fnn: u32,
    tn: u32,
}

impl Counts {
    fn f1(&self) -> f64 {
        let p = f64::from(self.tp) / f64::from((self.tp + self.fp).max(1));
        let r = f64::from(self.tp) / f64::from((self.tp + self.fnn).max(1));
        2.0 * p * r / (p + r).max(1e-9)
    }
    fn fpr(&self) -> f64 {
        f64::from(self.fp) / f64::from((self.fp + self.tn).max(1))
    }
    fn line(&self) -> String {
        let p = f64::from(self.tp) / f64::from((self.tp + self.fp).max(1));
        let r = f64::from(self.tp) / f64::from((self.tp + self.fnn).max(1));
        format!(
            "precision {p:.3} recall {r:.3} F1 {:.3} false-positive rate {:.3} (tp {} fp {} fn {} tn {})",
            self.f1(),
            self.fpr(),
            self.tp,
            self.fp,
            self.fnn,
            self.tn
        )
    }
}

/// Every text of `file` judged: the totals, then one line per source.
fn measure(file: &str) -> (Counts, String) {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let s = moat_guard::Scanner::new();
    let mut all = Counts {
        tp: 0,
        fp: 0,
        fnn: 0,
        tn: 0,
    };
    let mut by_source: BTreeMap<String, Counts> = BTreeMap::new();
    let mut misses = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let source = v["source"]
            .as_str()
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("")
            .to_owned();
        let attack = v["label"] == "injection";
        let got = s.injection(text).injection;
        let c = by_source.entry(source).or_insert(Counts {
            tp: 0,
            fp: 0,
            fnn: 0,
            tn: 0,
        });
        for c in [&mut all, c] {
            match (attack, got) {
                (true, true) => c.tp += 1,
                (true, false) => c.fnn += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
            }
        }
        if attack != got {
            let what = if attack { "missed" } else { "false alarm" };
            misses.push(format!("{what}: {:.100}", text.replace('\n', " ")));
        }
    }
    let mut report = all.line();
    for (source, c) in &by_source {
        if source.is_empty() {
            continue;
        }
        if c.tp + c.fnn > 0 {
            report += &format!("\n  {source}: recall {}/{}", c.tp, c.tp + c.fnn);
        }
        if c.fp + c.tn > 0 {
            report += &format!("\n  {source}: false alarms {}/{}", c.fp, c.fp + c.tn);
        }
    }
    report += "\n";
    report += &misses.join("\n");
    (all, report)
}

#[test]
fn f1_and_false_positives() {
    let (c, report) = measure("injection_eval.jsonl");
    println!("{report}");
    assert!(c.f1() >= 0.90 && c.fpr() <= 0.02, "{report}");
}

#[test]
fn heldout_sources() {
    let (c, report) = measure("injection_heldout.jsonl");
    println!("{report}");
    // Measured 2026-12-03: F1 0.957, false-positive rate 0.012 on 1,112 texts.
    assert!(c.f1() >= 0.93 && c.fpr() <= 0.02, "{report}");
}
