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
