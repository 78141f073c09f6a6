//! The real `moat` binary in a temporary directory: output, exit codes (0 success,
//! 1 failure, 2 usage), files it writes, and the same flows on PostgreSQL when
//! `MOAT_TEST_DATABASE_URL` is set.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SHA_MODEL: &str = "566d60bdbce622616878c49421531dda7d25885168779a37fa6b87703f86ed3a";

struct Moat {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Moat {
    fn new() -> Moat {
        Moat {
            dir: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_moat"));
        c.args(args).current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("MOAT_") {
                c.env_remove(k);
            }
        }
        if let Some(u) = &self.database_url {
            c.env("MOAT_DATABASE_URL", u);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Out {
        let o = self.command(args).output().unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs and expects success.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.code, 0,
            "moat {args:?}\nstdout: {}\nstderr: {}",
            o.stdout, o.stderr
        );
        o.stdout
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    async fn sql(&self, sql: &str) {
        let url = match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.path(".moat/moat.db").display()),
        };
        let store = moat_store::Store::open(&url, moat_store::Open::MustExist)
            .await
            .unwrap();
        let mut c = store.conn().await.unwrap();
        sqlx::query(sql).execute(&mut *c).await.unwrap();
        store.close().await;
    }
}

fn register_basics(m: &Moat) {
    m.write("model.onnx", b"not really onnx");
    m.write(
        "loans.csv",
        b"income,age,region\n1000.5,31,north\n2200,45,south\n",
    );
    m.ok(&[
        "dataset",
        "register",
        "loans",
        "--version",
        "1",
        "--path",
        "loans.csv",
        "--owner",
        "data-eng",
        "--sensitivity",
        "confidential",
    ]);
    m.ok(&[
        "model",
        "register",
        "fraud",
        "--version",
        "1.0",
        "--artifact",
        "model.onnx",
        "--dataset",
        "loans@1",
        "--owner",
        "risk",
        "--tier",
        "high",
        "--sensitivity",
        "internal",
    ]);
}

fn flows(m: &Moat) {
    let out = m.ok(&["init"]);
    assert!(out.contains("admin key (0600)"), "{out}");
    let again = m.run(&["init"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.starts_with("moat: error: already initialised"),
        "{}",
        again.stderr
    );
    register_basics(m);

    let show = m.json(&["model", "show", "fraud@1.0", "--json"]);
    // SHA-256 of b"not really onnx", computed independently.
    assert_eq!(show["artifacts"][0]["sha256"], SHA_MODEL);
    assert_eq!(show["artifacts"][0]["size"], 15);
    assert_eq!(show["lineage"][0]["dataset"], "loans");
    let ds = m.json(&["dataset", "show", "loans@1", "--json"]);
    assert_eq!(ds["format"], "csv");
    assert_eq!(ds["schema"]["columns"][0]["type"], "float");
    assert_eq!(ds["schema"]["columns"][1]["type"], "integer");
    let lineage = m.ok(&["lineage", "fraud@1.0"]);
    assert!(lineage.starts_with("dataset  loans@1"), "{lineage}");

    // Usage errors exit 2, failures exit 1, each with one clear line.
    let bad_tier = m.run(&[
        "model",
        "register",
        "x",
        "--version",
        "1",
        "--artifact",
        "model.onnx",
        "--owner",
        "o",
        "--tier",
        "extreme",
        "--sensitivity",
        "public",
    ]);
    assert_eq!(bad_tier.code, 2);
    let bad_version = m.run(&[
        "model",
        "register",
        "x",
        "--version",
        "1/2",
        "--artifact",
        "model.onnx",
        "--owner",
        "o",
        "--tier",
        "high",
        "--sensitivity",
        "public",
    ]);
    assert_eq!(bad_version.code, 2, "{}", bad_version.stderr);
    assert_eq!(bad_version.stderr.lines().count(), 1);
    let bad_ref = m.run(&["model", "show", "fraud"]);
    assert_eq!(bad_ref.code, 2);
    assert!(bad_ref.stderr.contains("expected NAME@VERSION"));
    let dup = m.run(&[
        "model",
        "register",
        "fraud",
        "--version",
        "1.0",
        "--artifact",
        "model.onnx",
        "--owner",
        "risk",
        "--tier",
        "high",
        "--sensitivity",
        "internal",
    ]);
    assert_eq!(dup.code, 1);
    assert!(dup.stderr.contains("already exists"));
    let missing = m.run(&[
        "model",
        "register",
        "y",
        "--version",
        "1",
        "--artifact",
        "nope.bin",
        "--owner",
        "o",
        "--tier",
        "high",
        "--sensitivity",
        "public",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("artifact `nope.bin` does not exist"),
        "{}",
        missing.stderr
    );
    let unknown = m.run(&["lineage", "ghost@1"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("model version `ghost@1` not found"));

    // Keys: the key alone on the last line; an auditor cannot register.
    let out = m.ok(&[
        "key",
        "create",
        "aud",
        "--role",
        "auditor",
        "--expires",
        "30d",
    ]);
    let key = out.lines().last().unwrap().to_owned();
    assert!(
        key.starts_with("moat_sk_key_") && !key.contains(' '),
        "{out}"
    );
    let denied = m.run(&[
        "--api-key",
        &key,
        "model",
        "register",
        "z",
        "--version",
        "1",
        "--artifact",
        "model.onnx",
        "--owner",
        "o",
        "--tier",
        "high",
        "--sensitivity",
        "public",
    ]);
    assert_eq!(denied.code, 1);
    assert!(
        denied
            .stderr
            .contains("permission `model.register` requires role admin, owner or data-scientist"),
        "{}",
        denied.stderr
    );
    let inv = m.ok(&["--api-key", &key, "inventory"]);
    assert!(inv.contains("fraud@1.0"));
    let keys = m.json(&["key", "list", "--json"]);
    let id = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "aud")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = m.ok(&["key", "rotate", &id, "--overlap", "1h"]);
    let new_key = rotated.lines().last().unwrap().to_owned();
    m.ok(&["--api-key", &new_key, "inventory"]);
    m.ok(&["key", "revoke", &id]);
    assert_eq!(m.run(&["--api-key", &key, "inventory"]).code, 1);

    // Governance commands.
    m.ok(&[
        "vendor",
        "add",
        "acme",
        "--source",
        "hub:https://example.org/acme",
        "--licence",
        "mit",
        "--questionnaire",
        "approved",
        "--last-review",
        "2026-10-01",
    ]);
    assert!(m.ok(&["vendor", "list"]).contains("approved"));
    m.ok(&["system", "add", "credit", "--owner", "risk"]);
    m.ok(&["system", "assign", "credit", "--model", "fraud@1.0"]);
    let systems = m.json(&["system", "list", "--json"]);
    assert_eq!(systems[0]["tier"], "high");
    m.ok(&["model", "alias", "set", "fraud", "production", "1.0"]);
    m.ok(&[
        "endpoint",
        "add",
        "scoring",
        "--model",
        "fraud",
        "--upstream",
        "http://127.0.0.1:9001",
        "--owner",
        "risk",
    ]);
    m.ok(&[
        "model",
        "classify",
        "fraud@1.0",
        "--sensitivity",
        "restricted",
    ]);
    m.ok(&["model", "review", "fraud@1.0", "--notes", "approved for Q4"]);
    m.write("report.json", br#"{"findings":[]}"#);
    m.ok(&[
        "evidence",
        "add",
        "fraud@1.0",
        "--kind",
        "scan",
        "--verdict",
        "pass",
        "--summary",
        "clean",
        "--report",
        "report.json",
    ]);
    let ev = m.json(&["evidence", "list", "fraud@1.0", "--json"]);
    assert_eq!(ev[0]["kind"], "scan");
    let history = m.json(&["model", "alias", "history", "fraud", "production", "--json"]);
    assert_eq!(history[0]["to_version"], "1.0");

    // Inventory and the overdue gate.
    let inv = m.json(&["inventory", "--json"]);
    assert!(inv
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["asset"] == "fraud@1.0" && r["overdue"] == false));
    let none = m.run(&["inventory", "--overdue"]);
    assert_eq!((none.code, none.stdout.trim()), (0, "No overdue reviews."));
}

async fn tamper_and_overdue(m: &Moat) {
    m.sql("UPDATE model_versions SET review_due = '2020-01-01T00:00:00.000Z' WHERE name = 'fraud'")
        .await;
    let overdue = m.run(&["inventory", "--overdue"]);
    assert_eq!(overdue.code, 1);
    assert!(
        overdue.stdout.contains("fraud@1.0") && overdue.stdout.contains("OVERDUE"),
        "{}",
        overdue.stdout
    );

    let ok = m.run(&["audit", "verify"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.starts_with("OK: "));
    let cp = m.ok(&["audit", "checkpoint"]);
    m.write("witness.txt", cp.as_bytes());
    m.ok(&["audit", "verify", "--checkpoint", "witness.txt"]);
    let proof = m.json(&["audit", "proof", "2", "--json"]);
    assert_eq!(proof["seq"], 2);
    assert!(m
        .ok(&["audit", "log", "--since", "2020-01-01"])
        .contains("model.register"));
    assert!(m.ok(&["audit", "public-key"]).contains('+'));

    m.sql("UPDATE audit_entries SET leaf = CAST(REPLACE(CAST(leaf AS TEXT), 'model.register', 'model.removed') AS BLOB) WHERE seq = 2").await;
    let bad = m.run(&["audit", "verify"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout.contains("entry 2 was modified"),
        "{}",
        bad.stdout
    );
}

#[tokio::test]
async fn cli_on_sqlite() {
    let m = Moat::new();
    flows(&m);
    let meta = std::fs::metadata(m.path(".moat/admin.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let key = std::fs::metadata(m.path(".moat/audit-signing.key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    tamper_and_overdue(&m).await;
}

#[tokio::test]
async fn cli_on_postgres() {
    let Some(db) = moat_test_support::TestDb::postgres().await else {
        return;
    };
    let mut m = Moat::new();
    m.database_url = Some(db.url.clone());
    flows(&m);
    // PostgreSQL keeps bytes as bytea; edit a leaf the PostgreSQL way.
    m.sql("UPDATE model_versions SET review_due = '2020-01-01T00:00:00.000Z' WHERE name = 'fraud'")
        .await;
    assert_eq!(m.run(&["inventory", "--overdue"]).code, 1);
    assert_eq!(m.run(&["audit", "verify"]).code, 0);
    m.sql("UPDATE audit_entries SET leaf = convert_to(replace(convert_from(leaf, 'UTF8'), 'model.register', 'model.removed'), 'UTF8') WHERE seq = 2").await;
    let bad = m.run(&["audit", "verify"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout.contains("entry 2 was modified"),
        "{}",
        bad.stdout
    );
    let store = db.store().await;
    db.cleanup(store).await;
}

/// An auditor with only the public key verifies the log; changes are refused.
#[test]
fn verify_only_with_the_public_key() {
    let m = Moat::new();
    m.ok(&["init"]);
    m.write("m.bin", b"x");
    m.ok(&[
        "model",
        "register",
        "m",
        "--version",
        "1",
        "--artifact",
        "m.bin",
        "--owner",
        "o",
        "--tier",
        "minimal",
        "--sensitivity",
        "public",
    ]);
    let out = m.ok(&["key", "create", "aud", "--role", "auditor"]);
    let key = out.lines().last().unwrap().to_owned();
    std::fs::rename(m.path(".moat/audit-signing.key"), m.path("elsewhere.key")).unwrap();
    let v = m.ok(&["--api-key", &key, "audit", "verify"]);
    assert!(v.starts_with("OK: "), "{v}");
    let denied = m.run(&[
        "model",
        "register",
        "m",
        "--version",
        "2",
        "--artifact",
        "m.bin",
        "--owner",
        "o",
        "--tier",
        "minimal",
        "--sensitivity",
        "public",
    ]);
    assert_ne!(denied.code, 0);
    assert!(denied.stderr.contains("read-only"), "{}", denied.stderr);
    // With a public key of another log, nothing verifies.
    std::fs::write(
        m.path(".moat/audit-signing.pub"),
        format!(
            "{}\n",
            moat_audit::SigningKey::from_seed("other.log/audit", [9; 32])
                .unwrap()
                .verifier()
        ),
    )
    .unwrap();
    assert_ne!(m.run(&["--api-key", &key, "audit", "verify"]).code, 0);
}

#[test]
fn data_dir_is_required_and_help_works() {
    let m = Moat::new();
    let o = m.run(&["inventory"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("run `moat init` first"), "{}", o.stderr);
    assert!(m.ok(&["--help"]).contains("audit"));
    assert!(m
        .ok(&["model", "register", "--help"])
        .contains("--artifact"));
    let bad = m.write("moat.toml", b"[storage]\nnope = 1\n");
    assert!(bad.exists());
    let o = m.run(&["inventory"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("unknown field `nope`"), "{}", o.stderr);
}

/// `moat serve --demo` on a fresh directory: one command gives a live dashboard.
#[test]
fn serve_demo_from_nothing() {
    let m = Moat::new();
    let mut child = m
        .command(&[
            "serve",
            "--demo",
            "--addr",
            "127.0.0.1:0",
            "--gateway-addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("Moat is serving on http://")
        .expect(&first)
        .to_owned();
    let get = |path: &str| {
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let health = get("/healthz");
    let page = get("/");
    child.kill().unwrap();
    let _ = child.wait();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        page.contains("credit-scoring@3") && page.contains("overdue"),
        "{page}"
    );
    assert!(Path::new(&m.path(".moat/admin.key")).exists());
}

/// `moat scan`: the JSON contract and the exit codes (0 clean, 1 at or above
/// `--fail-on`, 2 an I/O error), on fixtures of `moat-scan`.
#[test]
fn scan_contract_and_exit_codes() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../moat-scan/tests/data");
    let m = Moat::new();
    let clean = m.run(&[
        "scan",
        &format!("{data}/benign_state_dict.pt"),
        &format!("{data}/benign_p2.pkl"),
    ]);
    assert_eq!(clean.code, 0, "{}", clean.stdout);
    let bad = m.run(&[
        "scan",
        "--format",
        "json",
        &format!("{data}/malicious_checkpoint.bin"),
    ]);
    assert_eq!(bad.code, 1);
    let v: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["format"], "pytorch-zip");
    assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(f["error"], serde_json::Value::Null);
    let finding = &f["findings"][0];
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["rule"], "dangerous-global");
    assert_eq!(finding["location"], "archive/data.pkl @ byte 2");
    assert!(finding["message"]
        .as_str()
        .unwrap()
        .contains("posix.system"));
    assert_eq!(v["summary"]["max_severity"], "critical");
    // SARIF 2.1.0 for code-scanning UIs.
    let sarif = m.run(&[
        "scan",
        "--format",
        "sarif",
        &format!("{data}/os_system_p2.pkl"),
    ]);
    assert_eq!(sarif.code, 1);
    let s: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let result = &s["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "dangerous-global");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["byteOffset"],
        2
    );
    assert_eq!(
        s["runs"][0]["tool"]["driver"]["rules"][0]["id"],
        "dangerous-global"
    );
    // A medium finding fails only when asked to.
    let medium = format!("{data}/main_class_p4.pkl");
    assert_eq!(m.run(&["scan", &medium]).code, 0);
    assert_eq!(m.run(&["scan", "--fail-on", "medium", &medium]).code, 1);
    // Folders are walked; a missing path is an I/O error.
    assert_eq!(m.run(&["scan", data]).code, 1);
    assert_eq!(m.run(&["scan", "/nonexistent/model.pt"]).code, 2);
}

/// `moat model register` scans its artifacts: critical findings refuse the version
/// unless the risk is accepted, and the scan is kept as evidence either way.
#[test]
fn register_scans_artifacts() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../moat-scan/tests/data");
    let m = Moat::new();
    m.ok(&["init"]);
    let reg = |version: &str, file: &str, extra: &[&str]| {
        let mut args = vec![
            "model",
            "register",
            "m",
            "--version",
            version,
            "--artifact",
            file,
            "--owner",
            "o",
            "--tier",
            "limited",
            "--sensitivity",
            "internal",
        ];
        args.extend_from_slice(extra);
        m.run(&args)
    };
    let clean = reg("1", &format!("{data}/benign_state_dict.pt"), &[]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(clean.stdout.contains("scan: pass"), "{}", clean.stdout);
    let bad = format!("{data}/malicious_checkpoint.bin");
    let refused = reg("2", &bad, &[]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("critical scanner findings"),
        "{}",
        refused.stderr
    );
    assert!(
        m.run(&["model", "show", "m@2"]).code != 0,
        "nothing was registered"
    );
    let accepted = reg("2", &bad, &["--accept-risk", "quarantined research copy"]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let ev = m.json(&["evidence", "list", "m@2", "--json"]);
    assert_eq!(ev[0]["kind"], "scan");
    assert_eq!(ev[0]["verdict"], "fail");
    assert!(ev[0]["summary"]
        .as_str()
        .unwrap()
        .contains("risk accepted: quarantined research copy"));
    assert_eq!(
        ev[0]["report"]["files"][0]["report"]["format"],
        "pytorch-zip"
    );
}

/// Serves `router` on a loopback port from a thread of its own; returns the base URL.
fn serve(router: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, router).await.unwrap();
        });
    });
    format!("http://{addr}")
}

mod attack;
mod data;
mod gateway;
mod guard;
mod schemas;
mod sign;
