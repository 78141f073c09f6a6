//! Validation: the schema against a baseline, rules inferred from it, explicit
//! constraints, and the rows each violation names.

use moat_data::check::{check, CheckReport, ColumnRules, Constraints, DatasetRules};
use moat_data::profile::Profile;

fn table(dir: &std::path::Path, name: &str, text: &str) -> moat_data::read::Table {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    moat_data::read::open(std::fs::File::open(&p).unwrap()).unwrap()
}

fn baseline(dir: &std::path::Path) -> Profile {
    let mut text = String::from("id,amount,segment\n");
    for i in 0..500 {
        text.push_str(&format!(
            "{i},{}.5,{}\n",
            10 + i % 80,
            ["a", "b", "c"][i % 3]
        ));
    }
    let mut t = table(dir, "base.csv", &text);
    Profile::from_values(&moat_data::collect::collect_with(&mut t, true).unwrap())
}

fn rule<'a>(r: &'a CheckReport, rule: &str) -> Option<&'a moat_data::check::Violation> {
    r.violations.iter().find(|v| v.rule == rule)
}

#[test]
fn a_conforming_file_passes_with_the_inferred_rules() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline(dir.path());
    let mut t = table(
        dir.path(),
        "ok.csv",
        "id,amount,segment\n900,12.5,a\n901,55.5,c\n",
    );
    let r = check(&mut t, Some(&b), &Constraints::default()).unwrap();
    assert!(r.passed, "{r:#?}");
    // Schema, and per column: not-null (3), id unique, segment's categories.
    assert_eq!(r.rules, 6, "{r:#?}");
}

#[test]
fn schema_changes_are_violations() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline(dir.path());
    let mut t = table(dir.path(), "x.csv", "id,amount,note\n1,abc,x\n2,def,y\n");
    let r = check(&mut t, Some(&b), &Constraints::default()).unwrap();
    assert!(!r.passed);
    let missing = rule(&r, "missing-column").unwrap();
    assert_eq!(missing.column.as_deref(), Some("segment"));
    assert_eq!(
        rule(&r, "extra-column").unwrap().column.as_deref(),
        Some("note")
    );
    let retyped = rule(&r, "retyped-column").unwrap();
    assert_eq!(retyped.column.as_deref(), Some("amount"));
    assert!(retyped.message.contains("Float64"), "{}", retyped.message);
    // Allowed when said so.
    let relaxed = Constraints {
        dataset: DatasetRules {
            allow_extra_columns: true,
            optional_columns: vec!["segment".into()],
            ..DatasetRules::default()
        },
        ..Constraints::default()
    };
    let mut t = table(dir.path(), "y.csv", "id,amount,note\n1,2.5,x\n");
    let r = check(&mut t, Some(&b), &relaxed).unwrap();
    assert!(r.passed, "{r:#?}");
}

#[test]
fn every_violation_names_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline(dir.path());
    let mut c = Constraints::default();
    c.columns.insert(
        "amount".into(),
        ColumnRules {
            min: Some(0.0),
            max: Some(100.0),
            ..ColumnRules::default()
        },
    );
    c.dataset.min_rows = Some(10);
    let text = "id,amount,segment\n1,5.5,a\n2,,b\n2,-3.5,zz\n4,250.5,c\n5,7.5,\n";
    let mut t = table(dir.path(), "v.csv", text);
    let r = check(&mut t, Some(&b), &c).unwrap();
    let get = |name: &str| rule(&r, name).unwrap_or_else(|| panic!("{name}: {r:#?}"));
    let rows = |name: &str| get(name).examples.iter().map(|e| e.row).collect::<Vec<_>>();
    assert_eq!(rows("below-min"), [2]);
    assert_eq!(get("below-min").examples[0].value.as_deref(), Some("-3.5"));
    assert_eq!(rows("above-max"), [3]);
    assert_eq!(rows("not-unique"), [2]);
    assert_eq!(get("not-unique").source, "baseline");
    assert_eq!(rows("not-allowed"), [2]);
    // Two columns have an empty cell (amount, segment).
    let nulls: Vec<_> = r
        .violations
        .iter()
        .filter(|v| v.rule == "not-null")
        .collect();
    assert_eq!(nulls.len(), 2, "{r:#?}");
    assert_eq!(get("row-count").count, 5);
    assert_eq!(get("below-min").source, "constraints");
}

#[test]
fn a_null_share_limit_and_inference_off() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline(dir.path());
    let mut c = Constraints {
        dataset: DatasetRules {
            infer: false,
            ..DatasetRules::default()
        },
        ..Constraints::default()
    };
    c.columns.insert(
        "amount".into(),
        ColumnRules {
            max_null_share: Some(0.25),
            ..ColumnRules::default()
        },
    );
    let mut t = table(
        dir.path(),
        "n.csv",
        "id,amount,segment\n1,,q\n1,,q\n3,1.5,q\n",
    );
    let r = check(&mut t, Some(&b), &c).unwrap();
    // Only the explicit rule: duplicates and new categories are not checked.
    assert_eq!(r.violations.len(), 1, "{r:#?}");
    let v = &r.violations[0];
    assert_eq!((v.rule, v.count), ("null-share", 2));
    assert!(v.message.contains("66.67%"), "{}", v.message);
}

#[test]
fn constraints_read_from_toml_reject_unknown_keys() {
    let c: Constraints =
        toml_like(r#"{"dataset":{"min_rows":1},"columns":{"x":{"allowed":["a"],"unique":true}}}"#)
            .unwrap();
    assert_eq!(c.dataset.min_rows, Some(1));
    assert!(c.dataset.infer);
    assert!(toml_like(r#"{"columns":{"x":{"minimum":1}}}"#).is_err());
}

/// The constraints' serde form (the CLI reads it from TOML; JSON has the same shape).
fn toml_like(s: &str) -> Result<Constraints, serde_json::Error> {
    serde_json::from_str(s)
}

#[test]
fn an_explicit_null_share_replaces_the_inferred_never_empty() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline(dir.path());
    let mut c = Constraints::default();
    c.columns.insert(
        "amount".into(),
        ColumnRules {
            max_null_share: Some(0.5),
            ..ColumnRules::default()
        },
    );
    let mut t = table(
        dir.path(),
        "n.csv",
        "id,amount,segment\n1,,q\n2,2.5,q\n3,1.5,q\n",
    );
    let r = check(&mut t, Some(&b), &c).unwrap();
    assert!(
        !r.violations
            .iter()
            .any(|v| v.column.as_deref() == Some("amount")
                && (v.rule == "not-null" || v.rule == "null-share")),
        "{r:#?}"
    );
    // Without the explicit limit, the baseline's "never empty" holds.
    let mut t = table(
        dir.path(),
        "n2.csv",
        "id,amount,segment\n1,,q\n2,2.5,q\n3,1.5,q\n",
    );
    let r = check(&mut t, Some(&b), &Constraints::default()).unwrap();
    assert!(
        r.violations
            .iter()
            .any(|v| v.column.as_deref() == Some("amount") && v.rule == "not-null"),
        "{r:#?}"
    );
}
