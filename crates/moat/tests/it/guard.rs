//! `moat guard`: the JSON lines contract (`id` echoed, code-point offsets, Presidio
//! entity names), redaction modes end to end, exit codes.

use std::io::Write as _;
use std::process::Stdio;

use super::Moat;

#[test]
fn scan_contract_redaction_and_exit_codes() {
    let m = Moat::new();
    m.write(
        "in.jsonl",
        "{\"id\":7,\"text\":\"écrire à jane@example.com, carte 5555 5555 5555 4444\"}\n{\"id\":\"x\",\"text\":\"rien\"}\n"
            .as_bytes(),
    );
    let o = m.run(&["guard", "scan", "in.jsonl", "--jsonl", "--format", "jsonl"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let lines: Vec<serde_json::Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], 7);
    let f = &lines[0]["findings"];
    assert_eq!(f[0]["kind"], "pii");
    assert_eq!(f[0]["type"], "EMAIL_ADDRESS");
    // Code points, as Python indexes: "écrire à " is 9 characters (11 bytes).
    assert_eq!(
        (f[0]["start"].as_u64(), f[0]["end"].as_u64()),
        (Some(9), Some(25))
    );
    assert_eq!(f[1]["type"], "CREDIT_CARD");
    assert_eq!(lines[1], serde_json::json!({"id": "x", "findings": []}));

    let o = m.run(&["guard", "redact", "in.jsonl", "--jsonl", "--mode", "tag"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("<EMAIL_ADDRESS_1>") && o.stdout.contains("<CREDIT_CARD_1>"),
        "{}",
        o.stdout
    );

    // Tokenize and back, through stdin.
    let text = "password: Zq8!vN2#rT5w, mail bob@example.org\n";
    let run = |args: &[&str], input: &str| {
        let mut c = m.command(args);
        c.env("MOAT_GUARD_KEY", "test-key")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, tok) = run(&["guard", "redact", "--mode", "tokenize"], text);
    assert_eq!(code, Some(0));
    assert!(!tok.contains("Zq8!") && !tok.contains("bob@"), "{tok}");
    let (code, back) = run(&["guard", "detokenize"], &tok);
    assert_eq!(code, Some(0));
    assert_eq!(back, text);

    // A line that is not an object with the field: reported, exit 2.
    m.write("bad.jsonl", b"{\"id\":1}\n");
    assert_eq!(m.run(&["guard", "scan", "bad.jsonl", "--jsonl"]).code, 2);
    // hash without a key is a usage error.
    assert_eq!(
        m.run(&["guard", "redact", "in.jsonl", "--jsonl", "--mode", "hash"])
            .code,
        2
    );
}

/// Plain text is scanned and redacted as a stream, a window at a time: the result is the
/// one the whole text gives (here through the JSON lines path, which reads it at once),
/// across window edges, for a single 3 MB line.
#[test]
fn long_plain_text_is_streamed_with_the_same_result() {
    let m = Moat::new();
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 3 << 20 {
        text.push_str(&format!("entrée {i}: écrire à jane{}@example.com ", i % 9));
        if i % 7 == 0 {
            text.push_str("carte 5555 5555 5555 4444, ");
        }
        i += 1;
    }
    m.write("big.txt", text.as_bytes());
    let line = serde_json::json!({"id": null, "text": text}).to_string();
    m.write("big.jsonl", format!("{line}\n").as_bytes());
    let whole = m.run(&["guard", "scan", "big.jsonl", "--jsonl", "--format", "jsonl"]);
    let streamed = m.run(&["guard", "scan", "big.txt", "--format", "jsonl"]);
    assert_eq!(streamed.code, 1, "{}", streamed.stderr);
    let a: serde_json::Value = serde_json::from_str(whole.stdout.trim()).unwrap();
    let b: serde_json::Value = serde_json::from_str(streamed.stdout.trim()).unwrap();
    assert!(a["findings"].as_array().unwrap().len() > 50_000);
    assert!(a == b, "streamed findings differ from the whole text's");
    // The pretty form is the same document.
    let pretty = m.run(&["guard", "scan", "big.txt"]);
    let c: serde_json::Value = serde_json::from_str(&pretty.stdout).unwrap();
    assert!(b == c);
    // Redaction: the same text out.
    let whole = m.run(&["guard", "redact", "big.jsonl", "--jsonl", "--mode", "tag"]);
    let streamed = m.run(&["guard", "redact", "big.txt", "--mode", "tag"]);
    let a: serde_json::Value = serde_json::from_str(whole.stdout.trim()).unwrap();
    assert!(a["text"].as_str() == Some(streamed.stdout.as_str()));
    // No findings: an empty list, in both forms.
    m.write("none.txt", b"nothing to see");
    assert_eq!(
        m.run(&["guard", "scan", "none.txt"]).stdout,
        "{\n  \"id\": null,\n  \"findings\": []\n}\n"
    );
    assert_eq!(
        m.run(&["guard", "scan", "none.txt", "--format", "jsonl"])
            .stdout,
        "{\"id\":null,\"findings\":[]}\n"
    );
}
