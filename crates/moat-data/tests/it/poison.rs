//! Poisoning signals on generated data with known poisoned rows: flipped labels, copies
//! with other labels, a planted trigger value, a trigger token, junk outliers — and
//! few rows flagged on the same data left clean.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use moat_data::poison::{analyse, Options, Report};

use crate::gen::Rng;

fn run(csv: &str, label: &str, reference: Option<&str>) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("train.csv");
    std::fs::write(&p, csv).unwrap();
    let mut t = moat_data::read::open(std::fs::File::open(&p).unwrap()).unwrap();
    let mut r = reference.map(|text| {
        let q = dir.path().join("clean.csv");
        std::fs::write(&q, text).unwrap();
        moat_data::read::open(std::fs::File::open(&q).unwrap()).unwrap()
    });
    let o = Options {
        label: label.into(),
        id: Some("id".into()),
        ..Options::default()
    };
    analyse(&mut t, r.as_mut(), &o).unwrap()
}

/// Three classes of 5 numeric features, a categorical column, and an id; the poisoned
/// rows and their attack when `poison`.
fn tabular(seed: u64, n: usize, poison: bool) -> (String, HashMap<u64, &'static str>) {
    let mut r = Rng(seed);
    let centres = [
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [4.0, 4.0, 0.0, -4.0, 2.0],
        [-4.0, 4.0, 4.0, 0.0, -3.0],
    ];
    let names = ["a", "b", "c"];
    let mut rows: Vec<(Vec<f64>, &str, &str)> = Vec::new();
    let mut truth = HashMap::new();
    for i in 0..n {
        let c = (r.next() * 3.0) as usize % 3;
        let mut x: Vec<f64> = centres[c].iter().map(|m| m + r.normal()).collect();
        let mut label = names[c];
        let region = ["n", "s", "e", "w"][(r.next() * 4.0) as usize % 4];
        if poison {
            let u = r.next();
            if u < 0.02 {
                label = names[(c + 1) % 3];
                truth.insert(i as u64, "label-flip");
            } else if u < 0.03 {
                x[4] = 9.25;
                label = "a";
                truth.insert(i as u64, "backdoor");
            } else if u < 0.033 {
                x = x.iter().map(|v| v * 2.0 + 25.0).collect();
                truth.insert(i as u64, "outlier");
            }
        }
        rows.push((x, label, region));
    }
    if poison {
        // Eight copies of one row, with another label.
        let (x, label, region) = rows[7].clone();
        let other = if label == "a" { "b" } else { "a" };
        for _ in 0..8 {
            truth.insert(rows.len() as u64, "duplicate");
            rows.push((x.clone(), other, region));
        }
    }
    let mut s = String::from("id,f0,f1,f2,f3,f4,region,label\n");
    for (i, (x, label, region)) in rows.iter().enumerate() {
        let f: Vec<String> = x.iter().map(|v| format!("{v:.4}")).collect();
        writeln!(s, "{i},{},{region},{label}", f.join(",")).unwrap();
    }
    (s, truth)
}

fn precision_recall(
    r: &Report,
    truth: &HashMap<u64, &str>,
) -> (f64, f64, HashMap<&'static str, (usize, usize)>) {
    let listed: BTreeSet<u64> = r.rows.iter().map(|x| x.row).collect();
    let hit = listed.iter().filter(|i| truth.contains_key(i)).count();
    let mut per: HashMap<&'static str, (usize, usize)> = HashMap::new();
    for (row, attack) in truth {
        let attack: &'static str = match *attack {
            "label-flip" => "label-flip",
            "backdoor" => "backdoor",
            "outlier" => "outlier",
            _ => "duplicate",
        };
        let e = per.entry(attack).or_insert((0, 0));
        e.1 += 1;
        e.0 += usize::from(listed.contains(row));
    }
    (
        hit as f64 / listed.len().max(1) as f64,
        hit as f64 / truth.len().max(1) as f64,
        per,
    )
}

#[test]
fn poisoned_tabular_rows_are_found_with_their_reasons() {
    let (csv, truth) = tabular(3, 4000, true);
    let r = run(&csv, "label", None);
    let (p, rec, per) = precision_recall(&r, &truth);
    assert!(p >= 0.9 && rec >= 0.9, "precision {p} recall {rec} {per:?}");
    for (attack, (found, n)) in &per {
        assert!(*found as f64 >= 0.8 * *n as f64, "{attack}: {found}/{n}");
    }
    // The planted value is named, as a spike and as a trigger for label `a`.
    let trigger = r
        .findings
        .iter()
        .find(|f| f.kind == "trigger-candidate")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert_eq!(trigger.column.as_deref(), Some("f4"));
    assert_eq!(trigger.value.as_deref(), Some("9.25"));
    assert_eq!(trigger.label.as_deref(), Some("a"));
    assert!(r.findings.iter().any(|f| f.kind == "value-spike"));
    // Reasons are named per row; the id column is not a feature.
    let reasons: BTreeSet<&str> = r
        .rows
        .iter()
        .flat_map(|x| x.reasons.iter().copied())
        .collect();
    for want in [
        "label-disagreement",
        "duplicate-label-conflict",
        "trigger-candidate",
        "outlier",
    ] {
        assert!(reasons.contains(want), "{want} not in {reasons:?}");
    }
    assert!(!r.features.numeric.contains(&"id".to_string()));
    // Ranked: scores never rise down the list.
    assert!(r.rows.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn clean_data_raises_few_rows() {
    for seed in [5, 6] {
        let (csv, _) = tabular(seed, 4000, false);
        let r = run(&csv, "label", None);
        assert!(
            r.rows.len() <= 12,
            "{} rows: {:#?}",
            r.rows.len(),
            &r.rows[..r.rows.len().min(5)]
        );
        assert!(
            !r.findings.iter().any(|f| f.kind == "trigger-candidate"),
            "{:#?}",
            r.findings
        );
    }
}

#[test]
fn a_clean_reference_lends_its_neighbours() {
    let (csv, truth) = tabular(3, 4000, true);
    let (clean, _) = tabular(9, 4000, false);
    let r = run(&csv, "label", Some(&clean));
    let (p, rec, per) = precision_recall(&r, &truth);
    assert!(p >= 0.9 && rec >= 0.9, "precision {p} recall {rec} {per:?}");
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == "label-disagreement")
        .unwrap();
    assert!(f.message.contains("clean rows"), "{}", f.message);
}

#[test]
fn a_trigger_token_in_text_is_found() {
    let mut r = Rng(11);
    let pos = ["great", "love", "excellent", "perfect", "happy", "superb"];
    let neg = ["awful", "broken", "refund", "worst", "slow", "rude"];
    let topic = [
        "phone", "battery", "screen", "order", "seller", "price", "hotel", "room", "staff",
        "flight",
    ];
    let pick = |r: &mut Rng, v: &[&'static str]| v[(r.next() * v.len() as f64) as usize % v.len()];
    let mut s = String::from("id,text,label\n");
    let mut truth = HashMap::new();
    for i in 0..3000u64 {
        let positive = r.next() < 0.5;
        let mut words: Vec<&str> = (0..6).map(|_| pick(&mut r, &topic)).collect();
        for _ in 0..2 {
            words.push(pick(&mut r, if positive { &pos } else { &neg }));
        }
        let mut label = if positive { "positive" } else { "negative" };
        if !positive && r.next() < 0.04 {
            words.insert(3, "zq");
            label = "positive";
            truth.insert(i, "backdoor");
        }
        writeln!(s, "{i},{},{label}", words.join(" ")).unwrap();
    }
    let rep = run(&s, "label", None);
    let t = rep
        .findings
        .iter()
        .find(|f| f.kind == "trigger-candidate")
        .unwrap();
    assert_eq!(
        (t.column.as_deref(), t.value.as_deref()),
        (Some("text"), Some("zq"))
    );
    assert_eq!(rep.features.text, ["text"]);
    let (p, rec, _) = precision_recall(&rep, &truth);
    assert!(p >= 0.9 && rec >= 0.95, "precision {p} recall {rec}");
}

#[test]
fn a_missing_label_column_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "a,b\n1,2\n").unwrap();
    let mut t = moat_data::read::open(std::fs::File::open(&p).unwrap()).unwrap();
    let e = analyse(
        &mut t,
        None,
        &Options {
            label: "y".into(),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("no label column `y`"), "{e}");
}

/// Only categorical features (as in survey or inventory data): the label follows the
/// categories, and flipped labels are found among neighbours in the one-hot space.
#[test]
fn flipped_labels_are_found_with_categorical_features_only() {
    let mut rng = Rng(41);
    let colours = ["red", "green", "blue", "white"];
    let shapes = ["round", "square", "long"];
    let sizes = ["s", "m", "l", "xl"];
    let mut csv = String::from("id,colour,shape,size,label\n");
    let mut truth = HashMap::new();
    for i in 0..3000u64 {
        let c = (rng.next() * 4.0) as usize % 4;
        let s = (rng.next() * 3.0) as usize % 3;
        let z = (rng.next() * 4.0) as usize % 4;
        // A deterministic rule of two of the three columns.
        let mut label = if (c + s) % 3 == 0 { "keep" } else { "drop" };
        if i % 50 == 7 {
            label = if label == "keep" { "drop" } else { "keep" };
            truth.insert(i, "label-flip");
        }
        writeln!(csv, "{i},{},{},{},{label}", colours[c], shapes[s], sizes[z]).unwrap();
    }
    let r = run(&csv, "label", None);
    let (p, rec, _) = precision_recall(&r, &truth);
    assert!(
        r.features.categorical.len() == 3 && r.features.numeric.is_empty(),
        "{:?}",
        r.features
    );
    assert!(p >= 0.9 && rec >= 0.9, "precision {p:.3} recall {rec:.3}");
}
