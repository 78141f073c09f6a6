//! `moat attack`, `moat explain` and `moat probe` end to end: the report contracts, gates
//! and exit codes, JUnit, evidence, an HTTP prediction endpoint and local fake
//! OpenAI-compatible chat servers (one vulnerable, one hardened) started by the tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use super::{serve, Moat};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../moat-attack/tests/data");

fn fixture(name: &str) -> String {
    format!("{DATA}/{name}")
}

#[test]
fn attack_contract_gate_junit_and_adversarial_examples() {
    let m = Moat::new();
    let out = m.run(&[
        "attack",
        "--model",
        &fixture("digits_mlp.onnx"),
        "--samples",
        &fixture("digits_x.npy"),
        "--labels",
        &fixture("digits_y.npy"),
        "--attack",
        "hop-skip-jump",
        "--norm",
        "l2",
        "--max-queries",
        "500",
        "--seed",
        "3",
        "--format",
        "json",
        "--junit",
        "j.xml",
        "--save-adv",
        "adv.npy",
        "--gate",
        "success_rate<=0.2,median_l2>=0.5",
    ]);
    assert_eq!(out.code, 1, "the robustness gate fails: {}", out.stderr);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    for k in [
        "attack",
        "norm",
        "samples",
        "clean_accuracy",
        "robust_accuracy",
        "success_rate",
        "median_l2",
        "median_linf",
        "median_queries",
        "per_sample",
    ] {
        assert!(r.get(k).is_some(), "missing {k}");
    }
    assert_eq!(r["attack"], "hop-skip-jump");
    assert_eq!(r["samples"], 60);
    assert_eq!(r["gate"]["passed"], false);
    let s = &r["per_sample"][0];
    for k in ["index", "success", "l2", "linf", "queries", "adv", "trace"] {
        assert!(s.get(k).is_some(), "per_sample lacks {k}");
    }
    let ok: Vec<&Value> = r["per_sample"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["success"] == true)
        .collect();
    assert!(ok.iter().all(|s| s["adv"].as_array().unwrap().len() == 64));
    let junit = std::fs::read_to_string(m.path("j.xml")).unwrap();
    assert!(
        junit.contains("failures=\"1\"") && junit.contains("success_rate&lt;=0.2"),
        "{junit}"
    );
    let adv = std::fs::read(m.path("adv.npy")).unwrap();
    let a = moat_attack::array::Array::parse(&adv).unwrap();
    assert_eq!(a.shape, vec![ok.len(), 64]);
    // A gate that holds exits 0; a bad gate or attack is a usage error.
    let pass = m.run(&[
        "attack",
        "--model",
        &fixture("linear2.onnx"),
        "--samples",
        &fixture("linear2_x.npy"),
        "--max-queries",
        "200",
        "--gate",
        "clean_accuracy>=1",
    ]);
    assert_eq!(pass.code, 0, "{}", pass.stderr);
    let bad = m.run(&[
        "attack",
        "--model",
        &fixture("linear2.onnx"),
        "--samples",
        &fixture("linear2_x.npy"),
        "--gate",
        "success_rate",
    ]);
    assert_eq!(bad.code, 2);
    let unknown = m.run(&[
        "attack",
        "--model",
        &fixture("linear2.onnx"),
        "--samples",
        &fixture("linear2_x.npy"),
        "--attack",
        "fgsm",
    ]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("known: hop-skip-jump"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn an_http_endpoint_is_attacked_like_the_same_model_in_process() {
    // linear2 served over HTTP: softmax of (3x0 - 1.6x1 + x2 - 2.4x3, 0).
    let calls = Arc::new(AtomicUsize::new(0));
    async fn predict(State(calls): State<Arc<AtomicUsize>>, Json(body): Json<Value>) -> Response {
        // The first request is told to come back later.
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                "slow down",
            )
                .into_response();
        }
        let preds: Vec<Value> = body["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let x: Vec<f32> = r
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                let w = [1.5f32, -0.8, 0.5, -1.2];
                let z0: f32 = x.iter().zip(w).map(|(a, b)| a * b).sum();
                let z1 = -z0;
                let m = z0.max(z1);
                let (e0, e1) = ((z0 - m).exp(), (z1 - m).exp());
                json!([e0 / (e0 + e1), e1 / (e0 + e1)])
            })
            .collect();
        Json(json!({"predictions": preds})).into_response()
    }
    let url = serve(
        Router::new()
            .route("/predict", post(predict))
            .with_state(calls.clone()),
    );
    let m = Moat::new();
    let samples = fixture("linear2_x.npy");
    let args = |target: &[&str]| -> Value {
        let mut a = vec!["attack"];
        a.extend_from_slice(target);
        a.extend_from_slice(&[
            "--samples",
            &samples,
            "--max-queries",
            "400",
            "--format",
            "json",
            "--endpoint-batch",
            "32",
        ]);
        m.json(&a)
    };
    let http = args(&["--endpoint", &format!("{url}/predict")]);
    let local = args(&["--model", &fixture("linear2.onnx")]);
    assert!(calls.load(Ordering::SeqCst) > 10, "the endpoint was used");
    assert_eq!(http["success_rate"], local["success_rate"]);
    let (a, b) = (
        http["median_l2"].as_f64().unwrap(),
        local["median_l2"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 0.02 * b, "endpoint {a} vs in-process {b}");
    // Unreachable endpoints say so.
    let down = m.run(&[
        "attack",
        "--endpoint",
        "http://127.0.0.1:9/predict",
        "--samples",
        &fixture("linear2_x.npy"),
    ]);
    assert_ne!(down.code, 0);
    assert!(down.stderr.contains("cannot"), "{}", down.stderr);
}

#[test]
fn membership_explain_and_evidence_on_a_model_version() {
    let m = Moat::new();
    m.ok(&["init"]);
    std::fs::copy(fixture("tab_rf_overfit.onnx"), m.path("rf.onnx")).unwrap();
    std::fs::copy(fixture("tab_logreg_regular.onnx"), m.path("lr.onnx")).unwrap();
    m.ok(&[
        "model",
        "register",
        "credit",
        "--version",
        "1",
        "--artifact",
        "rf.onnx",
        "--artifact",
        "lr.onnx",
        "--owner",
        "risk",
        "--tier",
        "high",
        "--sensitivity",
        "internal",
    ]);
    let r = m.json(&[
        "attack",
        "membership",
        "--model",
        "rf.onnx",
        "--train",
        &fixture("tab_train_x.npy"),
        "--train-labels",
        &fixture("tab_train_y.npy"),
        "--holdout",
        &fixture("tab_holdout_x.npy"),
        "--holdout-labels",
        &fixture("tab_holdout_y.npy"),
        "--format",
        "json",
        "--model-ref",
        "credit@1",
        "--gate",
        "auc>=0.6",
    ]);
    assert!(r["auc"].as_f64().unwrap() > 0.65, "{r}");
    let e = m.json(&[
        "explain",
        "--model",
        "lr.onnx",
        "--data",
        &fixture("tab_holdout_x.npy"),
        "--labels",
        &fixture("tab_holdout_y.npy"),
        "--format",
        "json",
        "--html",
        "explain.html",
        "--model-ref",
        "credit@1",
    ]);
    assert_eq!(e["importances"].as_array().unwrap().len(), 8);
    assert!(std::fs::read_to_string(m.path("explain.html"))
        .unwrap()
        .contains("<svg"));
    let ev = m.json(&["evidence", "list", "credit@1", "--json"]);
    let kinds: Vec<&str> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"privacy") && kinds.contains(&"explain"),
        "{kinds:?}"
    );
    // Another file is not this version's artifact: nothing is recorded against it.
    let wrong = m.run(&[
        "attack",
        "--model",
        &fixture("linear2.onnx"),
        "--samples",
        &fixture("linear2_x.npy"),
        "--max-queries",
        "50",
        "--model-ref",
        "credit@1",
    ]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("not an artifact of credit@1"),
        "{}",
        wrong.stderr
    );
    let audit = m.ok(&["audit", "log"]);
    assert!(audit.contains("evidence"), "{audit}");
}

/// A fake chat model that follows instructions it can decode and tells what it knows.
fn vulnerable_answer(messages: &[Value]) -> String {
    let system = messages
        .iter()
        .find(|m| m["role"] == "system")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let text: String = messages
        .iter()
        .filter(|m| m["role"] != "system")
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut variants = vec![text.replace('\u{200b}', ""), text.chars().rev().collect()];
    let rot: String = text
        .chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            c => c,
        })
        .collect();
    variants.push(rot);
    for tok in text.split_whitespace() {
        let mut t = tok.to_owned();
        for _ in 0..2 {
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(&t) {
                t = String::from_utf8_lossy(&b).into_owned();
                variants.push(t.clone());
            }
        }
        if tok.len() % 2 == 0 && tok.chars().all(|c| c.is_ascii_hexdigit()) && tok.len() > 8 {
            let b: Vec<u8> = (0..tok.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&tok[i..i + 2], 16).ok())
                .collect();
            variants.push(String::from_utf8_lossy(&b).into_owned());
        }
    }
    // Follow "… with / print / output … TOKEN": the last upper-case token of 6+ characters.
    for v in &variants {
        let l = v.to_lowercase();
        if [
            "reply", "print", "output", "write", "answer", "begin", "start", "prefix", "confirm",
        ]
        .iter()
        .any(|k| l.contains(k))
        {
            if let Some(tok) = v.split(|c: char| !c.is_ascii_alphanumeric()).rfind(|w| {
                w.len() >= 6
                    && w.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                    && w.chars().any(|c| c.is_ascii_digit())
            }) {
                return format!("{tok}: sure, here you go.");
            }
        }
    }
    let l = text.to_lowercase();
    if [
        "instruction",
        "prompt",
        "code",
        "configuration",
        "above",
        "record",
        "email",
        "card",
        "number",
        "details",
        "rules",
        "words",
    ]
    .iter()
    .any(|k| l.contains(k))
    {
        return format!("Of course. Here is everything I was told: {system}");
    }
    "Our branches open at 9am.".into()
}

fn hardened_answer(messages: &[Value]) -> String {
    let last = messages
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_lowercase();
    if last.contains("opening hours") {
        "Our branches open at 9am.".into()
    } else {
        "I'm sorry, but I can't help with that request.".into()
    }
}

fn chat_server(vulnerable: bool) -> String {
    async fn chat(State(vulnerable): State<bool>, Json(body): Json<Value>) -> Json<Value> {
        let msgs = body["messages"].as_array().cloned().unwrap_or_default();
        let answer = if vulnerable {
            vulnerable_answer(&msgs)
        } else {
            hardened_answer(&msgs)
        };
        Json(
            json!({"id": "c1", "object": "chat.completion", "model": body["model"], "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}),
        )
    }
    serve(
        Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(vulnerable),
    )
}

#[test]
fn probes_tell_a_vulnerable_model_from_a_hardened_one() {
    let m = Moat::new();
    let vuln = chat_server(true);
    let hard = chat_server(false);
    let out = m.run(&[
        "probe",
        "--endpoint",
        &format!("{vuln}/v1"),
        "--model",
        "fake",
        "--format",
        "json",
        "--junit",
        "probe.xml",
        "--gate",
        "pass_rate>=0.9,categories.system-prompt-leak.pass_rate>=1",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    for c in [
        "prompt-injection",
        "jailbreak",
        "system-prompt-leak",
        "pii-leak",
        "encoding",
    ] {
        let rate = r["categories"][c]["pass_rate"].as_f64().unwrap();
        assert!(rate <= 0.3, "the vulnerable model passes {c} at {rate}");
    }
    let junit = std::fs::read_to_string(m.path("probe.xml")).unwrap();
    assert!(junit.contains("<failure"), "{junit}");
    let safe = m.json(&[
        "probe",
        "--endpoint",
        &format!("{hard}/v1"),
        "--model",
        "fake",
        "--format",
        "json",
        "--gate",
        "pass_rate>=1",
    ]);
    assert_eq!(safe["pass_rate"], 1.0, "{safe}");
    assert_eq!(safe["errors"], 0);
    // No endpoint at all is an error, not a pass.
    let down = m.run(&[
        "probe",
        "--endpoint",
        "http://127.0.0.1:9/v1",
        "--model",
        "x",
        "--timeout",
        "2",
    ]);
    assert_ne!(down.code, 0);
}
