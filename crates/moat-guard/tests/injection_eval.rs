//! Prompt-injection quality on the evaluation split (`tests/data/injection_eval.jsonl`,
//! written by `train/train_injection.py` from texts never trained on): precision,
//! recall, F1 and the false-positive rate on benign prompts (hard negatives included).

#[test]
fn f1_and_false_positives() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/injection_eval.jsonl"
    );
    let s = moat_guard::Scanner::new();
    let (mut tp, mut fp, mut fnn, mut tn) = (0u32, 0u32, 0u32, 0u32);
    let mut misses = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let attack = v["label"] == "injection";
        let got = s.injection(text).injection;
        match (attack, got) {
            (true, true) => tp += 1,
            (true, false) => {
                fnn += 1;
                misses.push(format!("missed: {text:.100}"));
            }
            (false, true) => {
                fp += 1;
                misses.push(format!("false alarm: {text:.100}"));
            }
            (false, false) => tn += 1,
        }
    }
    let p = f64::from(tp) / f64::from((tp + fp).max(1));
    let r = f64::from(tp) / f64::from((tp + fnn).max(1));
    let f1 = 2.0 * p * r / (p + r).max(1e-9);
    let fpr = f64::from(fp) / f64::from((fp + tn).max(1));
    let report = format!("precision {p:.3} recall {r:.3} F1 {f1:.3} false-positive rate {fpr:.3} (tp {tp} fp {fp} fn {fnn} tn {tn})\n{}", misses.join("\n"));
    // Issue #5 goals: F1 ≥ 0.90, at most 2% false positives on benign prompts.
    assert!(f1 >= 0.90 && fpr <= 0.02, "{report}");
}
