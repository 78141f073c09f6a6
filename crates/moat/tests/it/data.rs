//! `moat data drift`: the JSON contract other tools parse, exit codes, usage errors and a
//! malformed file.

use super::Moat;

fn csv(rows: usize, shift: f64, seed: u64) -> String {
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut s = String::from("amount,segment,id\n");
    for i in 0..rows {
        let v = 100.0 + 30.0 * (next() - 0.5) + shift;
        let seg = ["a", "b", "c"][(next() * 3.0) as usize % 3];
        s.push_str(&format!("{v:.3},{seg},{i}\n"));
    }
    s
}

#[test]
fn drift_contract_and_exit_codes() {
    let m = Moat::new();
    m.write("ref.csv", csv(3000, 0.0, 1).as_bytes());
    m.write("same.csv", csv(3000, 0.0, 2).as_bytes());
    m.write("shifted.csv", csv(3000, 10.0, 3).as_bytes());
    let o = m.run(&[
        "data",
        "drift",
        "same.csv",
        "--reference",
        "ref.csv",
        "--format",
        "json",
        "--ignore",
        "id",
    ]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["dataset_drift"], false);
    assert_eq!(r["drift_share"], 0.0);
    for c in r["columns"].as_array().unwrap() {
        for key in [
            "name",
            "type",
            "test",
            "statistic",
            "p_value",
            "threshold",
            "drifted",
        ] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        assert_ne!(c["name"], "id", "ignored");
    }
    let o = m.run(&[
        "data",
        "drift",
        "shifted.csv",
        "--reference",
        "ref.csv",
        "--format",
        "json",
        "--ignore",
        "id",
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let amount = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "amount")
        .unwrap();
    assert_eq!(amount["type"], "numerical");
    assert_eq!(amount["test"], "wasserstein");
    assert_eq!(amount["drifted"], true);
    assert!(amount["p_value"].is_null());
    // A test chosen per column, with its threshold.
    let o = m.run(&[
        "data",
        "drift",
        "shifted.csv",
        "--reference",
        "ref.csv",
        "--format",
        "json",
        "--test",
        "amount=ks:0.01",
    ]);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let amount = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "amount")
        .unwrap();
    assert_eq!(amount["test"], "ks");
    assert_eq!(amount["threshold"], 0.01);
    assert!(amount["p_value"].as_f64().unwrap() < 1e-10);
    // The same choices from moat.toml's [data.drift]; a flag still wins.
    m.write(
        "moat.toml",
        b"[data.drift]\nignore = [\"id\"]\ndrift_share = 0.9\n[data.drift.tests]\namount = \"psi:0.5\"\n",
    );
    let o = m.run(&[
        "data",
        "drift",
        "shifted.csv",
        "--reference",
        "ref.csv",
        "--format",
        "json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let cols = r["columns"].as_array().unwrap();
    assert!(
        cols.iter().all(|c| c["name"] != "id"),
        "ignored by the config"
    );
    let amount = cols.iter().find(|c| c["name"] == "amount").unwrap();
    assert_eq!(
        (amount["test"].as_str(), amount["threshold"].as_f64()),
        (Some("psi"), Some(0.5))
    );
    let o = m.run(&[
        "data",
        "drift",
        "shifted.csv",
        "--reference",
        "ref.csv",
        "--format",
        "json",
        "--test",
        "amount=ks",
    ]);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let amount = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "amount")
        .unwrap();
    assert_eq!(amount["test"], "ks");
    m.write("moat.toml", b"[data.drift]\nks_p = 5\n");
    let o = m.run(&["data", "drift", "same.csv", "--reference", "ref.csv"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("ks_p"), "{}", o.stderr);
    std::fs::remove_file(m.path("moat.toml")).unwrap();
    // The table for people says what happened.
    let o = m.run(&["data", "drift", "shifted.csv", "--reference", "ref.csv"]);
    assert!(o.stdout.contains("the dataset has drifted"), "{}", o.stdout);
    // Usage errors and bad files: exit 2 with a message.
    let o = m.run(&[
        "data",
        "drift",
        "same.csv",
        "--reference",
        "ref.csv",
        "--test",
        "amount=magic",
    ]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("invalid --test"), "{}", o.stderr);
    m.write("bad.csv", b"amount,segment,id\n1.0,a,1\n2.0,b\n");
    let o = m.run(&["data", "drift", "bad.csv", "--reference", "ref.csv"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("bad.csv") && o.stderr.to_lowercase().contains("line"),
        "{}",
        o.stderr
    );
}

#[test]
fn profile_merge_and_drift_against_a_baseline() {
    let m = Moat::new();
    m.write("ref.csv", csv(3000, 0.0, 1).as_bytes());
    m.write("ref2.csv", csv(3000, 0.0, 4).as_bytes());
    m.write("shifted.csv", csv(3000, 10.0, 3).as_bytes());
    let o = m.run(&["data", "profile", "ref.csv", "-o", "base.json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("wrote base.json"), "{}", o.stdout);
    let p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m.path("base.json")).unwrap()).unwrap();
    assert_eq!(p["moat_profile"], 1);
    assert_eq!(p["rows"], 3000);
    let amount = &p["columns"][0];
    for key in [
        "type",
        "rows",
        "nulls",
        "distinct",
        "min",
        "max",
        "mean",
        "std",
        "quantiles",
        "histogram",
    ] {
        assert!(amount.get(key).is_some(), "{key} missing in {amount}");
    }
    assert!(p["columns"][1]["top"]["top"].is_array());
    // Two files profiled at once are the merge of their profiles.
    let o = m.run(&["data", "profile", "ref.csv", "ref2.csv", "-o", "both.json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    m.run(&["data", "profile", "ref2.csv", "-o", "base2.json"]);
    let o = m.run(&[
        "data",
        "merge",
        "base.json",
        "base2.json",
        "-o",
        "merged.json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&std::fs::read(m.path("both.json")).unwrap()).unwrap(),
        serde_json::from_slice(&std::fs::read(m.path("merged.json")).unwrap()).unwrap(),
    );
    assert_eq!(a["rows"], 6000);
    assert_eq!(a["columns"][0]["mean"], b["columns"][0]["mean"]);
    // Drift against the baseline, as against the data.
    let args = [
        "data",
        "drift",
        "shifted.csv",
        "--format",
        "json",
        "--ignore",
        "id",
    ];
    let o = m.run(&[&args[..], &["--baseline", "base.json"]].concat());
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["columns"][0]["name"], "amount");
    assert_eq!(r["columns"][0]["drifted"], true);
    let o = m.run(&[
        "data",
        "drift",
        "ref2.csv",
        "--baseline",
        "base.json",
        "--ignore",
        "id",
    ]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    // The HTML report: one page, plots inline, nothing fetched.
    let o = m.run(
        &[
            &args[..],
            &["--baseline", "base.json", "--html", "report.html"],
        ]
        .concat(),
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let page = std::fs::read_to_string(m.path("report.html")).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(
        page.matches("<svg").count() >= 3,
        "a summary and a plot per column"
    );
    assert!(page.contains("amount") && page.contains("Dataset drift"));
    for banned in ["<script", "http://", "https://", "src="] {
        assert!(!page.contains(banned), "{banned} in the page");
    }
    // Not a profile: exit 2 and what to do.
    let o = m.run(&["data", "drift", "ref2.csv", "--baseline", "ref.csv"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("moat data profile"), "{}", o.stderr);
    // Neither a reference nor a baseline: a usage error.
    let o = m.run(&["data", "drift", "ref2.csv"]);
    assert_eq!(o.code, 2);
}

#[test]
fn check_lists_violations_and_exits_one() {
    let m = Moat::new();
    m.write("ref.csv", csv(3000, 0.0, 1).as_bytes());
    m.run(&["data", "profile", "ref.csv", "-o", "base.json"]);
    m.write(
        "constraints.toml",
        b"[dataset]\nmin_rows = 2\n\n[columns.amount]\nmin = 0\nmax = 200\n",
    );
    m.write("good.csv", b"amount,segment,id\n10.5,a,1\n20.5,b,2\n");
    let o = m.run(&[
        "data",
        "check",
        "good.csv",
        "--baseline",
        "base.json",
        "--constraints",
        "constraints.toml",
    ]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("valid"), "{}", o.stdout);
    m.write("bad.csv", b"amount,segment,id\n-1.5,a,1\n20.5,q,1\n");
    let o = m.run(&[
        "data",
        "check",
        "bad.csv",
        "--baseline",
        "base.json",
        "--constraints",
        "constraints.toml",
        "--format",
        "json",
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["passed"], false);
    let rules: Vec<&str> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["below-min", "not-allowed", "not-unique"], "{r}");
    assert_eq!(r["violations"][0]["examples"][0]["row"], 0);
    assert_eq!(r["violations"][1]["examples"][0]["value"], "q");
    // A misspelt rule is an error, not a silent pass.
    m.write("typo.toml", b"[columns.amount]\nmaximum = 3\n");
    let o = m.run(&["data", "check", "good.csv", "--constraints", "typo.toml"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("maximum"), "{}", o.stderr);
}

#[test]
fn poison_contract_ranks_rows_and_exits_one() {
    let m = Moat::new();
    // Two well-separated classes; rows 5 and 17 carry the other class's label, and
    // row 40 is copied twice with another label.
    let mut s = String::from("id,x,y,label\n");
    let mut rows = 0;
    for i in 0..400 {
        let class = i % 2;
        let (cx, cy) = if class == 0 { (0.0, 0.0) } else { (10.0, 10.0) };
        let jitter = ((i * 37) % 100) as f64 / 50.0;
        let mut label = ["low", "high"][class];
        if i == 5 || i == 17 {
            label = ["high", "low"][class];
        }
        s.push_str(&format!(
            "{i},{:.3},{:.3},{label}\n",
            cx + jitter,
            cy - jitter
        ));
        rows += 1;
    }
    for _ in 0..2 {
        s.push_str(&format!("{rows},0.800,-0.800,high\n"));
        rows += 1;
    }
    m.write("train.csv", s.as_bytes());
    let o = m.run(&[
        "data",
        "poison",
        "train.csv",
        "--label",
        "label",
        "--id",
        "id",
        "--format",
        "json",
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let listed: Vec<u64> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["row"].as_u64().unwrap())
        .collect();
    for want in [5, 17, 400, 401] {
        assert!(listed.contains(&want), "{want} not in {listed:?}\n{r}");
    }
    let first = &r["rows"][0];
    assert!(first["score"].as_f64().unwrap() > 0.5);
    assert!(first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.is_string()));
    assert!(r["findings"].is_array());
    assert!(!r["features"]["numeric"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "id"));
    // The table for people; a missing label column is an error (exit 2).
    let o = m.run(&[
        "data",
        "poison",
        "train.csv",
        "--label",
        "label",
        "--id",
        "id",
    ]);
    assert!(o.stdout.contains("label-disagreement"), "{}", o.stdout);
    let o = m.run(&["data", "poison", "train.csv", "--label", "nope"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no label column `nope`"), "{}", o.stderr);
}

#[test]
fn registered_profiles_baseline_checks_and_results_become_evidence() {
    let m = Moat::new();
    m.ok(&["init"]);
    m.write("v1.csv", csv(3000, 0.0, 1).as_bytes());
    m.write("v2.csv", csv(3000, 10.0, 2).as_bytes());
    m.write("model.onnx", b"not really onnx");
    for (v, f) in [("1", "v1.csv"), ("2", "v2.csv")] {
        m.ok(&[
            "dataset",
            "register",
            "loans",
            "--version",
            v,
            "--path",
            f,
            "--owner",
            "data-eng",
            "--sensitivity",
            "internal",
        ]);
    }
    m.ok(&[
        "model",
        "register",
        "fraud",
        "--version",
        "1.0",
        "--artifact",
        "model.onnx",
        "--dataset",
        "loans@2",
        "--owner",
        "risk",
        "--tier",
        "high",
        "--sensitivity",
        "internal",
    ]);
    // The profile is kept with the digest.
    let d = m.json(&["dataset", "show", "loans@1", "--json"]);
    assert_eq!(d["schema"]["profile"]["moat_profile"], 1, "{d}");
    assert_eq!(d["schema"]["profile"]["rows"], 3000);
    // Drift of version 2 against version 1's profile, recorded on version 2 and on the
    // model trained on it.
    let o = m.run(&[
        "data",
        "drift",
        "v2.csv",
        "--baseline-dataset",
        "loans@1",
        "--dataset",
        "loans@2",
        "--ignore",
        "id",
        "--format",
        "json",
    ]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["dataset_drift"], true);
    assert!(o.stderr.contains("for model fraud@1.0"), "{}", o.stderr);
    let ev = m.json(&["evidence", "list", "loans@2", "--dataset", "--json"]);
    let drift = ev
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "drift")
        .unwrap();
    assert_eq!(drift["verdict"], "fail");
    assert!(
        drift["summary"].as_str().unwrap().contains("amount"),
        "{drift}"
    );
    assert_eq!(drift["report"]["dataset_drift"], true);
    let ev = m.json(&["evidence", "list", "fraud@1.0", "--json"]);
    assert!(
        ev.as_array().unwrap().iter().any(|e| e["kind"] == "drift"
            && e["summary"]
                .as_str()
                .unwrap()
                .starts_with("dataset loans@2")),
        "{ev}"
    );
    // A check against the registered profile, recorded as data-check evidence.
    let o = m.run(&[
        "data",
        "check",
        "v1.csv",
        "--baseline-dataset",
        "loans@1",
        "--dataset",
        "loans@1",
    ]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let ev = m.json(&["evidence", "list", "loans@1", "--dataset", "--json"]);
    let check = ev
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "data-check")
        .unwrap();
    assert_eq!(check["verdict"], "pass");
    // The file must be the version named: another file is refused, nothing recorded.
    let o = m.run(&[
        "data",
        "check",
        "v2.csv",
        "--baseline-dataset",
        "loans@1",
        "--dataset",
        "loans@1",
    ]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("is not dataset loans@1"), "{}", o.stderr);
    // The audit log has the evidence writes.
    let log = m.ok(&["audit", "log", "--json"]);
    assert!(log.contains("evidence"), "{log}");
}
