//! Drift end to end, from CSV files: the test picked per column, the signals the usual
//! tools miss (a jump in missing values, unseen categories), no false alarm on a stable
//! high-cardinality column or on a tiny shift over many rows, and a dataset verdict that
//! weighs severity.

use moat_data::drift::{compare, DriftReport, Options, Test};

use crate::gen::{spec, write_csv, Spec};

fn drift(reference: &Spec, current: &Spec) -> DriftReport {
    let dir = tempfile::tempdir().unwrap();
    let a = write_csv(dir.path(), "ref.csv", reference);
    let b = write_csv(dir.path(), "cur.csv", current);
    let read = |p: &std::path::Path| {
        let mut t = moat_data::read::open(std::fs::File::open(p).unwrap()).unwrap();
        moat_data::collect::collect(&mut t).unwrap()
    };
    compare(&read(&a), &read(&b), &Options::default())
}

fn col<'a>(r: &'a DriftReport, name: &str) -> &'a moat_data::drift::ColumnDrift {
    r.columns.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn same_distribution_no_drift_and_the_test_is_named() {
    let r = drift(&spec(5000, 1), &spec(5000, 2));
    let drifted: Vec<_> = r
        .columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| &c.name)
        .collect();
    assert!(drifted.is_empty(), "{drifted:?}\n{r:#?}");
    assert!(!r.dataset_drift);
    assert_eq!(col(&r, "amount").test, Test::Wasserstein);
    assert_eq!(col(&r, "segment").test, Test::Jensenshannon);
    // Small samples get the significance tests.
    let small = drift(&spec(400, 1), &spec(400, 2));
    assert_eq!(col(&small, "amount").test, Test::Ks);
    assert_eq!(col(&small, "segment").test, Test::Chisquare);
    assert!(
        !col(&small, "amount").drifted,
        "{:?}",
        col(&small, "amount")
    );
}

#[test]
fn a_shift_drifts_the_column() {
    let r = drift(
        &spec(5000, 1),
        &Spec {
            shift: 0.5,
            ..spec(5000, 2)
        },
    );
    let a = col(&r, "amount");
    assert!(a.drifted && a.statistic > 0.3, "{a:?}");
    assert!(a.significance.unwrap() < 1e-10);
    assert!(!col(&r, "segment").drifted);
}

#[test]
fn a_jump_in_missing_values_is_drift_on_its_own() {
    // The values that are there have the same distribution: only the share of empty
    // cells changes (2% to 30%), which tools that drop nulls first never see.
    let r = drift(
        &spec(5000, 1),
        &Spec {
            null_share: 0.3,
            ..spec(5000, 2)
        },
    );
    let s = col(&r, "score");
    assert!(s.drifted, "{s:?}");
    let m = s
        .signals
        .iter()
        .find(|x| x.kind == "missing-share")
        .unwrap();
    assert!(m.drifted && m.current > 0.25 && m.reference < 0.05, "{m:?}");
}

#[test]
fn unseen_categories_drift_the_column() {
    let r = drift(
        &spec(5000, 1),
        &Spec {
            new_category: true,
            ..spec(5000, 2)
        },
    );
    let s = col(&r, "segment");
    assert!(s.drifted, "{s:?}");
    assert!(s
        .signals
        .iter()
        .any(|x| x.kind == "unseen-categories" && x.drifted));
}

#[test]
fn a_stable_high_cardinality_column_does_not_alarm() {
    // 20,000 possible ids, Zipf-like, two independent samples of the same distribution.
    for rows in [300, 1000, 3000, 20_000, 100_000] {
        let r = drift(&spec(rows, 11), &spec(rows, 12));
        let u = col(&r, "user_id");
        assert!(!u.drifted, "{rows} rows: {u:?}");
    }
}

#[test]
fn a_tiny_shift_at_large_n_is_visible_but_no_alarm() {
    // 0.05 standard deviations over 200,000 rows: KS is certain of it, the effect small.
    let r = drift(
        &spec(200_000, 1),
        &Spec {
            shift: 0.05,
            ..spec(200_000, 2)
        },
    );
    let a = col(&r, "amount");
    assert!(!a.drifted, "{a:?}");
    assert!(a.significance.unwrap() < 1e-6, "{a:?}");
    let w = a.effect["wasserstein_normed"];
    assert!(w > 0.03 && w < 0.1, "{w}");
}

#[test]
fn severity_weighs_the_dataset_verdict() {
    // Two of five columns drift strongly: 40% < 50%, yet the dataset has drifted.
    let r = drift(
        &spec(5000, 1),
        &Spec {
            shift: 3.0,
            null_share: 0.6,
            ..spec(5000, 2)
        },
    );
    assert!((r.drift_share - 0.4).abs() < 1e-9, "{r:#?}");
    assert!(r.dataset_drift, "{r:#?}");
}
