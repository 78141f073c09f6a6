//! The scanner on fixtures written by CPython's own pickle and zipfile modules
//! (`tests/data/make_fixtures.py`): every pickle protocol, PyTorch-style zips (stored
//! and deflated), NumPy object arrays, benign and malicious, and each evasion
//! technique covered so far. `expected.json` holds the verdict per file.

use std::collections::BTreeSet;

use moat_scan::{scan_file, Severity};

#[test]
fn fixtures_get_exactly_the_expected_findings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut fixtures = serde_json::Map::new();
    for name in ["expected.json", "expected_h5.json", "expected_joblib.json"] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap())
                .unwrap();
        fixtures.extend(v.as_object().unwrap().clone());
    }
    assert!(fixtures.len() >= 64, "{}", fixtures.len());
    for (file, want) in &fixtures {
        let r = scan_file(std::fs::File::open(format!("{dir}/{file}")).unwrap());
        assert!(r.error.is_none(), "{file}: {:?}", r.error);
        let worst = r.findings.iter().map(|f| f.severity).max();
        let want_worst = want["worst"]
            .as_str()
            .map(|s| s.parse::<Severity>().unwrap());
        assert_eq!(worst, want_worst, "{file}: {:?}", r.findings);
        let rules: BTreeSet<String> = r.findings.iter().map(|f| f.rule.to_string()).collect();
        let want_rules: BTreeSet<String> = want["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(rules, want_rules, "{file}: {:?}", r.findings);
        // The exact findings: messages, locations and techniques, per file.
        insta::with_settings!({ snapshot_suffix => file.replace('.', "_"), prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("findings", (&r.format, &r.findings));
        });
        if let Some(g) = want["global"].as_str() {
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.message.contains(&format!("`{g}`"))),
                "{file} should name `{g}`: {:?}",
                r.findings
            );
        }
    }
}

/// Inputs that once crashed a reader (found by `cargo fuzz`): each must scan without
/// panicking.
#[test]
fn fuzz_regressions() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fuzz");
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let prefixes: [&[u8]; 6] = [
            b"",
            b"\x08",
            b"\x12",
            b"\x89HDF\r\n\x1a\n",
            b"GGUF",
            b"PK\x03\x04",
        ];
        for prefix in prefixes {
            let mut b = prefix.to_vec();
            b.extend_from_slice(&bytes);
            let _ = scan_file(std::io::Cursor::new(b));
        }
    }
}

/// Every imported global is listed with whether it is called, inside archives too.
#[test]
fn imports_are_listed_with_calls() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let r = scan_file(std::fs::File::open(format!("{dir}/malicious_checkpoint.bin")).unwrap());
    let sys = r
        .imports
        .iter()
        .find(|i| i.global.ends_with(".system"))
        .unwrap();
    assert!(sys.called);
    assert!(sys.location.starts_with("archive/data.pkl @ byte "));
    let r = scan_file(std::fs::File::open(format!("{dir}/torch_save_checkpoint.pt")).unwrap());
    let storage = r
        .imports
        .iter()
        .find(|i| i.global == "torch.FloatStorage")
        .unwrap();
    assert!(!storage.called);
    let r = scan_file(std::fs::File::open(format!("{dir}/model_bundle.tar.gz")).unwrap());
    assert!(r.imports.iter().any(|i| i.called
        && i.location
            .starts_with("model/payload_after_array.joblib > byte ")));
}

/// The bypass corpus (`tests/data/bypasses`): every malicious file is flagged at high or
/// above, no benign one is.
#[test]
fn bypass_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bypasses");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap())
            .unwrap();
    let mut wrong = Vec::new();
    for (file, kind) in expected.as_object().unwrap() {
        let r = scan_file(std::fs::File::open(format!("{dir}/{file}")).unwrap());
        let worst = r.findings.iter().map(|f| f.severity).max();
        let flagged = worst.is_some_and(|w| w >= Severity::High);
        let want = kind != "benign";
        if flagged != want {
            wrong.push(format!("{file} ({kind}): {worst:?} {:?}", r.findings));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
