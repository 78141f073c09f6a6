//! Audit log benchmarks on a real, durable store (SQLite in WAL mode with
//! `synchronous = FULL`, or PostgreSQL with `--database-url`):
//!
//! - append throughput: one writer, one entry per transaction; one writer, batches;
//!   eight concurrent writers, batches;
//! - full verification (`moat audit verify`'s work) of a log of `--entries` entries;
//! - inclusion proof latency at that size (median and 99th percentile).
//!
//! Run it through `bench/audit.sh`, which builds in release mode and also times the
//! `moat audit verify` command itself. Figures go to stdout as one table.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use moat_audit::SigningKey;
use moat_domain::AuthMethod;
use moat_server::{App, AuditEvent, Ctx, ServiceConfig};
use moat_store::{Open, Store};

struct Args {
    data_dir: std::path::PathBuf,
    database_url: Option<String>,
    entries: u64,
    batch: usize,
    /// Which measurements to run: `append`, `verify`, `proof` (comma-separated).
    phases: String,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        data_dir: ".moat-bench".into(),
        database_url: None,
        entries: 1_000_000,
        batch: 1000,
        phases: "append,verify,proof".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--data-dir" => a.data_dir = v.into(),
            "--database-url" => a.database_url = Some(v),
            "--entries" => a.entries = v.parse()?,
            "--batch" => a.batch = v.parse()?,
            "--phases" => a.phases = v,
            _ => anyhow::bail!(
                "unknown flag {k}; use --data-dir, --database-url, --entries, --batch"
            ),
        }
    }
    Ok(a)
}

fn events(n: usize, tag: &str) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| AuditEvent {
            action: "bench.append".into(),
            resource_kind: "bench".into(),
            resource_id: format!("{tag}-{i}"),
            details: None,
        })
        .collect()
}

fn rate(n: u64, d: Duration) -> String {
    format!("{:.0} entries/s", n as f64 / d.as_secs_f64())
}

fn say(s: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{s}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let url = a
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", a.data_dir.join("moat.db").display()));
    let store = Store::open(&url, Open::MustExist)
        .await
        .context("run `moat init` on the data directory first")?;
    let key_text = std::fs::read_to_string(a.data_dir.join("audit-signing.key"))?;
    let key = SigningKey::parse(&key_text)?;
    let mut c = store.conn().await?;
    let origin = moat_store::get_setting(&mut c, "audit.origin")
        .await?
        .context("no audit origin")?;
    drop(c);
    let app = App::new(
        store.clone(),
        ServiceConfig {
            audit_origin: origin,
            ..ServiceConfig::default()
        },
        key,
    );
    let admin = std::fs::read_to_string(a.data_dir.join("admin.key"))?;
    let cx = Ctx {
        principal: app.authenticate(&admin, AuthMethod::CliKey).await?,
        request_id: "req_bench".into(),
    };

    say(&format!(
        "backend: {:?}   target size: {} entries",
        store.backend(),
        a.entries
    ));
    say("| measurement | result |");
    say("|---|---|");

    let phase = |p: &str| a.phases.split(',').any(|x| x.trim() == p);
    if phase("append") {
        // One entry per transaction: every append is its own durable commit.
        let n = 500u64;
        let t = Instant::now();
        for i in 0..n {
            app.record_events(&cx, &events(1, &format!("single-{i}")))
                .await?;
        }
        say(&format!(
            "| append, 1 writer, 1 entry per commit | {} |",
            rate(n, t.elapsed())
        ));

        // Batched: one transaction and one signed head per batch.
        let n = 100_000u64;
        let t = Instant::now();
        for b in 0..(n as usize / a.batch) {
            app.record_events(&cx, &events(a.batch, &format!("batch-{b}")))
                .await?;
        }
        say(&format!(
            "| append, 1 writer, batches of {} | {} |",
            a.batch,
            rate(n, t.elapsed())
        ));

        // Eight concurrent writers, batched.
        let per = 25_000usize;
        let batch = a.batch;
        let t = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..8 {
            let (app, cx) = (app.clone(), cx.clone());
            tasks.push(tokio::spawn(async move {
                for b in 0..per / batch {
                    app.record_events(&cx, &events(batch, &format!("w{w}-{b}")))
                        .await?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        say(&format!(
            "| append, 8 writers, batches of {batch} each | {} |",
            rate(8 * per as u64, t.elapsed())
        ));
    }

    // Fill up to the target size.
    let (mut size, _) = app.audit_head(&cx).await?;
    let fill = Instant::now();
    while size < a.entries {
        let k = ((a.entries - size) as usize).min(10_000);
        app.record_events(&cx, &events(k, &format!("fill-{size}")))
            .await?;
        size += k as u64;
    }
    let (size, _) = app.audit_head(&cx).await?;
    if fill.elapsed() > Duration::from_secs(1) {
        say(&format!(
            "| append while filling (batches of 10000) | {} |",
            rate(size.min(a.entries), fill.elapsed())
        ));
    }

    if phase("verify") {
        let t = Instant::now();
        let v = app.audit_verify(&cx, &[]).await?;
        let took = t.elapsed();
        anyhow::ensure!(v.ok, "verification failed: {:?}", v.problems);
        say(&format!(
            "| verify {} entries (in process) | {:.2} s |",
            v.size,
            took.as_secs_f64()
        ));
    }
    if !phase("proof") {
        store.close().await;
        return Ok(());
    }

    // Inclusion proofs at this size, at random positions.
    let mut lat = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let seq = x % size;
        let t = Instant::now();
        app.prove_inclusion(seq).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    say(&format!(
        "| inclusion proof at {} entries | median {:.3} ms, p99 {:.3} ms |",
        size,
        lat[lat.len() / 2].as_secs_f64() * 1e3,
        lat[lat.len() * 99 / 100].as_secs_f64() * 1e3
    ));
    store.close().await;
    Ok(())
}
