//! Integration tests of the audit engine against independent references: published
//! Certificate Transparency test vectors, and a Python implementation of RFC 6962
//! written from the RFC (`tests/reference/rfc6962.py`).

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use moat_audit::{
    consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion, Frontier,
    Hash, NodeId,
};
use serde_json::{json, Value};

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn build(leaves: &[Vec<u8>]) -> (Vec<Hash>, HashMap<NodeId, Hash>) {
    let mut f = Frontier::default();
    let mut nodes = HashMap::new();
    let mut roots = vec![f.root()];
    for l in leaves {
        nodes.extend(f.append(leaf_hash(l)));
        roots.push(f.root());
    }
    (roots, nodes)
}

#[test]
fn published_ct_vectors() {
    let v: Value = serde_json::from_str(include_str!("../data/ct_vectors.json")).unwrap();
    let leaves: Vec<Vec<u8>> = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex::decode(l.as_str().unwrap()).unwrap())
        .collect();
    let (roots, nodes) = build(&leaves);
    for (l, want) in leaves.iter().zip(v["leaf_hashes"].as_array().unwrap()) {
        assert_eq!(hex::encode(leaf_hash(l)), want.as_str().unwrap());
    }
    for r in v["roots"].as_array().unwrap() {
        let size = r["size"].as_u64().unwrap() as usize;
        assert_eq!(
            hex::encode(roots[size]),
            r["root"].as_str().unwrap(),
            "root {size}"
        );
    }
    for p in v["inclusion"].as_array().unwrap() {
        let (i, n) = (p["index"].as_u64().unwrap(), p["size"].as_u64().unwrap());
        let want: Vec<Hash> = p["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| h(x.as_str().unwrap()))
            .collect();
        let got = inclusion_proof(i, n, |id| nodes.get(&id).copied()).unwrap();
        assert_eq!(got, want, "inclusion {i} {n}");
        assert!(verify_inclusion(
            i,
            n,
            &leaf_hash(&leaves[i as usize]),
            &want,
            &roots[n as usize]
        ));
    }
    for p in v["consistency"].as_array().unwrap() {
        let (m, n) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        let want: Vec<Hash> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| h(x.as_str().unwrap()))
            .collect();
        let got = consistency_proof(m, n, |id| nodes.get(&id).copied()).unwrap();
        assert_eq!(got, want, "consistency {m} {n}");
        assert!(verify_consistency(
            m,
            n,
            &roots[m as usize],
            &roots[n as usize],
            &want
        ));
    }
}

/// Random-looking leaves of varied lengths, the same on every run.
fn leaves(n: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
                .iter()
                .cycle()
                .take(i % 41)
                .copied()
                .collect()
        })
        .collect()
}

#[test]
fn agrees_with_python_reference() {
    let n = 70usize;
    let leaves = leaves(n);
    let (roots, nodes) = build(&leaves);
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 1..=n as u64 {
        for i in (0..size).step_by(3) {
            inclusion.push((i, size));
        }
        for m in (0..=size).step_by(2) {
            consistency.push((m, size));
        }
    }
    let query = json!({
        "leaves": leaves.iter().map(hex::encode).collect::<Vec<_>>(),
        "roots": (0..=n).collect::<Vec<_>>(),
        "inclusion": inclusion,
        "consistency": consistency,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/rfc6962.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs the reference implementation");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(query.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hexes = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    };
    let want_roots = hexes(&answer["roots"]);
    for (size, want) in want_roots.iter().enumerate() {
        assert_eq!(&hex::encode(roots[size]), want, "root of {size}");
    }
    for ((i, size), want) in inclusion
        .iter()
        .zip(answer["inclusion"].as_array().unwrap())
    {
        let got: Vec<String> = inclusion_proof(*i, *size, |id| nodes.get(&id).copied())
            .unwrap()
            .iter()
            .map(hex::encode)
            .collect();
        assert_eq!(got, hexes(want), "inclusion {i} {size}");
    }
    for ((m, size), want) in consistency
        .iter()
        .zip(answer["consistency"].as_array().unwrap())
    {
        let got: Vec<String> = consistency_proof(*m, *size, |id| nodes.get(&id).copied())
            .unwrap()
            .iter()
            .map(hex::encode)
            .collect();
        assert_eq!(got, hexes(want), "consistency {m} {size}");
    }
}

#[test]
fn python_reference_self_test_passes() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/rfc6962.py");
    let st = Command::new("python3")
        .arg(script)
        .arg("--self-test")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}
