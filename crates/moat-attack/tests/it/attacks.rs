//! Attacks against models whose boundary is known, and the laws every attack obeys.

use moat_attack::oracle::{l2, linf};
use moat_attack::{run, AttackKind, Classifier, Norm, Settings};
use strum::IntoEnumIterator as _;

use crate::{array, model};

fn settings(kind: AttackKind, norm: Norm, queries: u64, eps: Option<f64>) -> Settings {
    Settings {
        norm,
        max_queries: queries,
        epsilon: eps,
        seed: 7,
        ..Settings::new(kind)
    }
}

/// The two-class linear model of `make_models.py`: logit difference `w·x + b`.
fn linear2_margin() -> ([f64; 4], f64) {
    let w = [3.0, -1.6, 1.0, -2.4];
    // The biases cancel: the boundary passes through the centre of the cube.
    (w, 0.0)
}

#[test]
fn hop_skip_jump_l2_converges_to_the_true_minimal_distance() {
    let m = model("linear2.onnx");
    let x = array("linear2_x.npy");
    let rows = x.to_f32();
    let (w, b) = linear2_margin();
    let wn = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let r = run(
        &m,
        &rows,
        None,
        &settings(AttackKind::HopSkipJump, Norm::L2, 3000, None),
        &|| {},
    )
    .expect("runs");
    let mut checked = 0;
    for s in &r.per_sample {
        let x0 = &rows[s.index * 4..s.index * 4 + 4];
        let z = w
            .iter()
            .zip(x0)
            .map(|(a, &v)| a * f64::from(v))
            .sum::<f64>()
            + b;
        let exact = z.abs() / wn;
        // The projection onto the boundary must lie inside [0, 1]^4 for the closed form.
        let proj: Vec<f64> = x0
            .iter()
            .zip(&w)
            .map(|(&v, a)| f64::from(v) - z * a / (wn * wn))
            .collect();
        if exact < 1e-3 || proj.iter().any(|p| !(0.0..=1.0).contains(p)) {
            continue;
        }
        assert!(s.success, "sample {}", s.index);
        let found = s.l2.expect("l2");
        assert!(
            found >= exact * (1.0 - 1e-4),
            "sample {}: {found} below the exact {exact}",
            s.index
        );
        assert!(
            found <= exact * 1.03,
            "sample {}: {found} vs exact {exact}",
            s.index
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} samples had an interior projection"
    );
}

#[test]
fn every_attack_returns_genuine_adversarial_points_within_bounds() {
    let m = model("digits_mlp.onnx");
    let x = array("digits_x.npy");
    let y = array("digits_y.npy").to_labels().expect("labels");
    let rows = &x.to_f32()[..20 * 64];
    let labels = &y[..20];
    for kind in AttackKind::iter() {
        for norm in [Norm::L2, Norm::Linf] {
            let eps = match (kind, norm) {
                (AttackKind::HopSkipJump | AttackKind::Boundary, _) => None,
                (_, Norm::Linf) => Some(0.3),
                (_, Norm::L2) => Some(3.0),
            };
            let r = run(
                &m,
                rows,
                Some(labels),
                &settings(kind, norm, 600, eps),
                &|| {},
            )
            .expect("runs");
            assert_eq!(r.samples, 20);
            for s in r.per_sample.iter().filter(|s| s.success) {
                let adv = s.adv.as_ref().expect("adv with success");
                assert!(
                    adv.iter().all(|&v| (0.0..=1.0).contains(&v)),
                    "{kind} {norm:?}: out of bounds"
                );
                let decided = m.predict(adv).expect("predicts").decisions()[0];
                assert_ne!(
                    decided, labels[s.index],
                    "{kind} {norm:?}: not misclassified"
                );
                let x0 = &rows[s.index * 64..(s.index + 1) * 64];
                assert!((l2(adv, x0) - s.l2.expect("l2")).abs() < 1e-9);
                assert!((linf(adv, x0) - s.linf.expect("linf")).abs() < 1e-9);
                if let Some(e) = eps {
                    let n = if norm == Norm::L2 {
                        l2(adv, x0)
                    } else {
                        linf(adv, x0)
                    };
                    assert!(
                        moat_attack::oracle::within(n, e),
                        "{kind} {norm:?}: {n} beyond epsilon {e}"
                    );
                }
                assert!(
                    s.queries <= 600 && s.queries_total <= 600,
                    "{kind}: budget overrun"
                );
                let last = s.trace.last().expect("trace");
                assert!(last.0 == s.queries);
            }
            if matches!(
                kind,
                AttackKind::HopSkipJump | AttackKind::Boundary | AttackKind::Square
            ) {
                assert!(
                    r.success_rate > 0.5,
                    "{kind} {norm:?}: success rate {}",
                    r.success_rate
                );
            }
        }
    }
}

#[test]
fn same_seed_same_report() {
    let m = model("digits_mlp.onnx");
    let rows = &array("digits_x.npy").to_f32()[..8 * 64];
    for kind in [
        AttackKind::HopSkipJump,
        AttackKind::Square,
        AttackKind::Boundary,
    ] {
        let s = settings(kind, Norm::L2, 300, None);
        let a = serde_json::to_string(&run(&m, rows, None, &s, &|| {}).expect("a")).expect("json");
        let b = serde_json::to_string(&run(&m, rows, None, &s, &|| {}).expect("b")).expect("json");
        assert_eq!(a, b, "{kind}");
        let other = Settings { seed: 8, ..s };
        let c =
            serde_json::to_string(&run(&m, rows, None, &other, &|| {}).expect("c")).expect("json");
        assert_ne!(a, c, "{kind}: the seed is ignored");
    }
}

#[test]
fn trace_answers_smaller_budgets() {
    let m = model("digits_mlp.onnx");
    let rows = &array("digits_x.npy").to_f32()[..10 * 64];
    let big = run(
        &m,
        rows,
        None,
        &settings(AttackKind::HopSkipJump, Norm::L2, 1000, None),
        &|| {},
    )
    .expect("big");
    let small = run(
        &m,
        rows,
        None,
        &settings(AttackKind::HopSkipJump, Norm::L2, 300, None),
        &|| {},
    )
    .expect("small");
    let at = big.at_budget(300);
    assert_eq!(at.success_rate, small.success_rate);
    assert_eq!(at.median_norm, small.median_l2);
    assert!(big.median_l2 <= small.median_l2);
}

#[test]
fn image_models_and_targeted_attacks() {
    let m = model("convnet.onnx");
    let rows = array("convnet_x.npy").to_f32();
    let r = run(
        &m,
        &rows,
        None,
        &settings(AttackKind::Square, Norm::Linf, 500, Some(0.2)),
        &|| {},
    )
    .expect("square");
    assert!(r.success_rate > 0.5, "square on images: {}", r.success_rate);
    let t = Settings {
        target: Some(2),
        ..settings(AttackKind::HopSkipJump, Norm::L2, 500, None)
    };
    let r = run(&m, &rows, None, &t, &|| {}).expect("targeted");
    for s in r.per_sample.iter().filter(|s| s.success) {
        assert_eq!(
            m.predict(s.adv.as_ref().expect("adv"))
                .expect("p")
                .decisions()[0],
            2
        );
    }
}

#[test]
fn epsilon_decides_success_and_robust_accuracy() {
    let m = model("linear2.onnx");
    let rows = array("linear2_x.npy").to_f32();
    let tiny = run(
        &m,
        &rows,
        None,
        &settings(AttackKind::HopSkipJump, Norm::L2, 500, Some(1e-4)),
        &|| {},
    )
    .expect("tiny");
    let wide = run(
        &m,
        &rows,
        None,
        &settings(AttackKind::HopSkipJump, Norm::L2, 500, Some(2.0)),
        &|| {},
    )
    .expect("wide");
    assert!(tiny.success_rate < 0.1, "{}", tiny.success_rate);
    assert!(wide.success_rate > 0.95, "{}", wide.success_rate);
    assert!(tiny.robust_accuracy > wide.robust_accuracy);
    assert_eq!(wide.clean_accuracy, 1.0);
}

#[test]
fn score_attacks_refuse_label_only_models_and_bad_input_is_an_error() {
    struct Labels;
    impl Classifier for Labels {
        fn input_shape(&self) -> &[usize] {
            &[2]
        }
        fn predict(&self, rows: &[f32]) -> Result<moat_attack::Output, moat_attack::Error> {
            Ok(moat_attack::Output::Labels(
                rows.chunks(2).map(|r| usize::from(r[0] > 0.5)).collect(),
            ))
        }
        fn gives_scores(&self) -> bool {
            false
        }
    }
    let e = run(
        &Labels,
        &[0.1, 0.2],
        None,
        &Settings::new(AttackKind::Square),
        &|| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("needs probabilities"), "{e}");
    assert!(run(
        &Labels,
        &[0.1, 0.2, 0.3],
        None,
        &Settings::new(AttackKind::HopSkipJump),
        &|| {}
    )
    .is_err());
    // Decision-only models work with decision-based attacks; x0 = 0.3 is 0.2 from the boundary.
    let r = run(
        &Labels,
        &[0.3, 0.5, 0.9, 0.5],
        None,
        &Settings::new(AttackKind::HopSkipJump),
        &|| {},
    )
    .expect("hsj");
    assert_eq!(r.success_rate, 1.0);
    let d = r.per_sample[0].l2.expect("l2");
    assert!((d - 0.2).abs() < 0.01, "{d}");
}
