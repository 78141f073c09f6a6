//! `moat sign` and `moat verify`, and their interoperability with the reference
//! implementation of the OpenSSF model-signing format (the `model-signing` package):
//! a folder it signs verifies with `moat verify`, and one `moat sign` signs verifies
//! with it. `.ci/run` installs it and sets `MOAT_TEST_MODEL_SIGNING` to its command.

use std::process::Command;

use super::Moat;

/// A P-256 key for tests only.
const KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEINi5Go4Ka/WkxQQluMjIYDmZvR/EJdk/BoWT2q2ZcLjsoAoGCCqGSM49
AwEHoUQDQgAEcLzhNjBmLCTN4PmhLr7scXwFwMtYgMHx1zb/kt+8qT86TwtYrUTj
j61aKVG+VODd+rQdNbKErd7TysAGNFFg/w==
-----END EC PRIVATE KEY-----
";

fn model(m: &Moat) {
    std::fs::create_dir_all(m.path("model/sub")).unwrap();
    m.write("model/config.json", br#"{"hidden_size": 8}"#);
    m.write("model/sub/weights.bin", &[7u8; 4096]);
    m.write("model/empty", b"");
    m.write("model/\u{e9}t\u{e9}.txt", "\u{e9}".as_bytes());
    m.write("key.pem", KEY.as_bytes());
}

#[test]
fn sign_verify_and_name_what_changed() {
    let m = Moat::new();
    model(&m);
    let pubkey = m.path("key.pub");
    let out = m.ok(&["sign", "model", "--key", "key.pem"]);
    assert_eq!(out.trim(), "model/model.sig");
    // The public key as `openssl ec -pubout` writes it, from the bundle's own hint.
    let key = moat_sign::PrivateKey::from_pem(KEY).unwrap();
    std::fs::write(&pubkey, key.public_key().to_pem()).unwrap();
    let v = m.json(&["verify", "model", "--key", "key.pub", "--json"]);
    assert_eq!(v["verified"], true);
    assert_eq!(v["files"], 4);

    std::fs::write(m.path("model/sub/weights.bin"), [8u8; 4096]).unwrap();
    m.write("model/extra.py", b"print('x')");
    std::fs::remove_file(m.path("model/empty")).unwrap();
    let o = m.run(&["verify", "model", "--key", "key.pub", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["changed"], serde_json::json!(["sub/weights.bin"]));
    assert_eq!(v["added"], serde_json::json!(["extra.py"]));
    assert_eq!(v["missing"], serde_json::json!(["empty"]));
    // A public key that is not a key is a usage error.
    m.write("bad.pub", b"not a key");
    assert_eq!(m.run(&["verify", "model", "--key", "bad.pub"]).code, 2);
}

#[expect(clippy::print_stderr, reason = "tell the developer a test was skipped")]
fn reference() -> Option<String> {
    let cmd = std::env::var("MOAT_TEST_MODEL_SIGNING").ok();
    if cmd.is_none() {
        eprintln!("NOTE: MOAT_TEST_MODEL_SIGNING is not set: the interoperability test with the model-signing package was skipped (.ci/run sets it)");
    }
    cmd
}

#[test]
fn interoperates_with_the_model_signing_package() {
    let Some(py) = reference() else { return };
    let m = Moat::new();
    model(&m);
    let key = moat_sign::PrivateKey::from_pem(KEY).unwrap();
    std::fs::write(m.path("key.pub"), key.public_key().to_pem()).unwrap();
    let reference = |args: &[&str]| {
        let o = Command::new(&py)
            .args(args)
            .current_dir(m.path("."))
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    // Signed by moat, verified by the reference.
    m.ok(&["sign", "model", "--key", "key.pem"]);
    let (code, out) = reference(&[
        "verify",
        "key",
        "model",
        "--signature",
        "model/model.sig",
        "--public_key",
        "key.pub",
    ]);
    assert_eq!(code, 0, "the reference rejects moat's signature: {out}");
    // Signed by the reference, verified by moat.
    let (code, out) = reference(&[
        "sign",
        "key",
        "model",
        "--private_key",
        "key.pem",
        "--signature",
        "ref.sig",
    ]);
    assert_eq!(code, 0, "{out}");
    let v = m.json(&[
        "verify",
        "model",
        "--key",
        "key.pub",
        "--signature",
        "ref.sig",
        "--json",
    ]);
    assert_eq!(v["verified"], true, "{v}");
    // Both notice the same tampering.
    std::fs::write(m.path("model/config.json"), br#"{"hidden_size": 9}"#).unwrap();
    let o = m.run(&[
        "verify",
        "model",
        "--key",
        "key.pub",
        "--signature",
        "ref.sig",
        "--json",
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("config.json"), "{}", o.stdout);
    let (code, out) = reference(&[
        "verify",
        "key",
        "model",
        "--signature",
        "model/model.sig",
        "--public_key",
        "key.pub",
    ]);
    assert_ne!(code, 0, "{out}");
}

#[test]
fn register_verifies_signatures() {
    let m = Moat::new();
    model(&m);
    m.ok(&["init"]);
    let key = moat_sign::PrivateKey::from_pem(KEY).unwrap();
    std::fs::write(m.path("key.pub"), key.public_key().to_pem()).unwrap();
    let reg = |version: &str, tier: &str, extra: &[&str]| {
        let mut args = vec![
            "model",
            "register",
            "m",
            "--version",
            version,
            "--artifact",
            "model",
            "--owner",
            "o",
            "--tier",
            tier,
            "--sensitivity",
            "internal",
        ];
        args.extend_from_slice(extra);
        m.run(&args)
    };
    // Unsigned, in a tier that does not require it: registered without signature
    // evidence.
    let o = reg("1", "limited", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains("signature:"), "{}", o.stdout);
    // Required by configuration and absent: refused.
    m.write("moat.toml", b"[signing]\nrequired_tiers = [\"high\"]\n");
    let o = reg("2", "high", &["--signing-key", "key.pub"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(o.stderr.contains("requires a signed model"), "{}", o.stderr);
    // Signed: verified, kept as evidence.
    m.ok(&["sign", "model", "--key", "key.pem"]);
    let o = reg("2", "high", &["--signing-key", "key.pub"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("signature: pass"), "{}", o.stdout);
    let ev = m.json(&["evidence", "list", "m@2", "--json"]);
    assert!(
        ev.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "signature" && e["verdict"] == "pass"),
        "{ev}"
    );
    // A signature present but no trusted key: refused rather than ignored.
    let o = reg("3", "limited", &[]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no trusted key"), "{}", o.stderr);
    // Tampered after signing: refused, naming the file.
    m.write("model/config.json", br#"{"hidden_size": 1}"#);
    let o = reg("3", "limited", &["--signing-key", "key.pub"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("config.json"), "{}", o.stderr);
}
