//! Membership inference and permutation importance on committed scikit-learn models.

use moat_attack::explain::{self, ExplainSettings};
use moat_attack::membership;

use crate::{array, model};

fn split() -> (Vec<f32>, Vec<usize>, Vec<f32>, Vec<usize>) {
    (
        array("tab_train_x.npy").to_f32(),
        array("tab_train_y.npy").to_labels().expect("labels"),
        array("tab_holdout_x.npy").to_f32(),
        array("tab_holdout_y.npy").to_labels().expect("labels"),
    )
}

#[test]
fn membership_flags_the_overfitted_model_and_not_the_regularised_one() {
    let (tx, ty, hx, hy) = split();
    let over = membership::run(
        &model("tab_rf_overfit.onnx"),
        &tx,
        Some(&ty),
        &hx,
        Some(&hy),
    )
    .expect("runs");
    let fair = membership::run(
        &model("tab_logreg_regular.onnx"),
        &tx,
        Some(&ty),
        &hx,
        Some(&hy),
    )
    .expect("runs");
    assert!(over.auc > 0.65, "overfitted AUC {}", over.auc);
    assert!(
        over.advantage > 0.25,
        "overfitted advantage {}",
        over.advantage
    );
    assert!(fair.auc < 0.56, "regularised AUC {}", fair.auc);
    assert!(
        fair.advantage < 0.1,
        "regularised advantage {}",
        fair.advantage
    );
    assert!(over.train_accuracy > over.holdout_accuracy);
    // Without labels only the top-confidence score applies.
    let unl = membership::run(&model("tab_rf_overfit.onnx"), &tx, None, &hx, None).expect("runs");
    assert_eq!(unl.methods.len(), 1);
    assert!(membership::run(&model("tab_rf_overfit.onnx"), &tx, Some(&ty), &hx, None).is_err());
}

#[test]
fn permutation_importance_finds_the_features_a_linear_model_uses() {
    // linear2's logit difference weighs the features 3.0, 1.6, 1.0 and 2.4.
    let m = model("linear2.onnx");
    let x = array("linear2_x.npy").to_f32();
    let y = moat_attack::Classifier::predict(&m, &x)
        .expect("predicts")
        .decisions();
    let s = ExplainSettings {
        repeats: 20,
        seed: 1,
        ..ExplainSettings::default()
    };
    let r = explain::run(&m, &x, &y, &s).expect("runs");
    assert_eq!(r.baseline_accuracy, 1.0);
    assert_eq!(r.importances[0].feature, "f0");
    assert!(r
        .importances
        .iter()
        .all(|i| i.ci_low <= i.importance && i.importance <= i.ci_high));
    assert_eq!(r.partial_dependence.len(), 3);
    // Raising f0 raises the first class's probability (its weight is positive).
    let pd = r
        .partial_dependence
        .iter()
        .find(|p| p.feature == "f0")
        .expect("f0");
    assert!(pd.mean_probability[0].last() > pd.mean_probability[0].first());
    let page = explain::html(&r, "linear2");
    assert!(page.contains("<svg") && !page.contains("<script"));
    let again = explain::run(&m, &x, &y, &s).expect("runs");
    assert_eq!(
        serde_json::to_string(&r).expect("json"),
        serde_json::to_string(&again).expect("json")
    );
}
