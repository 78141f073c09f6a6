//! Request records: one a request (redacted path, key id, status, latency, verdicts),
//! through a bounded queue to a [`RecordSink`] (the store) in batches of up to 512.
//!
//! What happens when the store falls behind is the operator's explicit choice:
//!
//! - `drop` (the default): a request never waits; a record that finds the queue full is
//!   dropped and counted (`moat_gateway_log_dropped_total`).
//! - `block`: a request's answer waits until its record is committed (group commit:
//!   every waiter of a batch is released by its one transaction), so no answered request
//!   lacks its record; if the store cannot take it after three tries, the gateway
//!   withholds the answer with `503 log_unavailable` rather than answer unlogged.
//! - `off`: no records.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::events::SinkFuture;
use crate::metrics::Metrics;

/// One request, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub at: SystemTime,
    pub endpoint: String,
    pub key_id: String,
    pub method: String,
    /// Path and query, personal data and secrets replaced by the guard's tags.
    pub path: String,
    pub status: u16,
    /// The gateway's error code when it answered itself.
    pub code: Option<&'static str>,
    pub latency: Duration,
    pub request_bytes: Option<u64>,
    /// `detector:mode` of every detector that found something.
    pub verdicts: Vec<String>,
    /// The redacted request body, when the endpoint logs bodies.
    pub body: Option<String>,
}

/// Where records are kept.
pub trait RecordSink: Send + Sync + 'static {
    /// Stores a batch in one transaction (called again with the same batch on failure).
    fn write<'a>(&'a self, batch: &'a [Record]) -> SinkFuture<'a>;
}

/// What a full queue means for traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    #[default]
    Drop,
    Block,
    Off,
}

/// `[gateway] log = { … }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub policy: Policy,
    /// Records waiting in memory at most.
    pub queue: usize,
    /// Days a record is kept (the retention job of `moat serve`).
    pub retention_days: u32,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            policy: Policy::Drop,
            queue: 10_000,
            retention_days: 90,
        }
    }
}

/// Why a record was not taken (only under `block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLogged;

/// A record and who waits for it; no record is a flush marker.
type Item = (Option<Record>, Option<oneshot::Sender<bool>>);

const BATCH: usize = 512;
/// Under `drop`, how long the writer lets a batch gather after its first record: a
/// commit a record would cost the store more than the requests themselves.
const LINGER: Duration = Duration::from_millis(10);
const TRIES: u32 = 3;
/// One write may take this long before it counts as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The sending side, held by the gateway.
#[derive(Clone)]
pub struct RecordQueue {
    tx: mpsc::Sender<Item>,
    policy: Policy,
    capacity: usize,
    metrics: Metrics,
}

impl RecordQueue {
    /// Starts the writer task.
    pub fn start(
        sink: Arc<dyn RecordSink>,
        settings: LogSettings,
        metrics: Metrics,
    ) -> RecordQueue {
        let capacity = settings.queue.max(1);
        let (tx, mut rx) = mpsc::channel::<Item>(capacity);
        let m = metrics.clone();
        let depth_tx = tx.downgrade();
        tokio::spawn(async move {
            let mut items: Vec<Item> = Vec::with_capacity(BATCH);
            let linger = settings.policy == Policy::Drop;
            while rx.recv_many(&mut items, BATCH).await > 0 {
                // (`block` needs no wait: its waiters pile up while a commit runs.)
                let flushing = items.iter().any(|(r, _)| r.is_none());
                if linger && !flushing && items.len() < BATCH {
                    tokio::time::sleep(LINGER).await;
                    while items.len() < BATCH {
                        match rx.try_recv() {
                            Ok(i) => items.push(i),
                            Err(_) => break,
                        }
                    }
                }
                let (records, acks): (Vec<Option<Record>>, Vec<Option<oneshot::Sender<bool>>>) =
                    items.drain(..).unzip();
                let records: Vec<Record> = records.into_iter().flatten().collect();
                let n = records.len();
                let mut ok = records.is_empty();
                for attempt in 0..TRIES {
                    if ok {
                        break;
                    }
                    // A store that hangs counts as failing: `block` must answer.
                    match tokio::time::timeout(WRITE_TIMEOUT, sink.write(&records)).await {
                        Ok(Ok(())) => ok = true,
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, records = n, attempt, "request records could not be stored");
                        }
                        Err(_) => {
                            tracing::error!(
                                records = n,
                                attempt,
                                "the store did not take request records within {WRITE_TIMEOUT:?}"
                            );
                        }
                    }
                    if !ok && attempt + 1 < TRIES {
                        tokio::time::sleep(Duration::from_millis(100 << (2 * attempt))).await;
                    }
                }
                match (n, ok) {
                    (0, _) => {}
                    (n, true) => m.log_written(n as u64),
                    (n, false) => m.log_failed(n as u64),
                }
                for a in acks.into_iter().flatten() {
                    let _ = a.send(ok);
                }
                if let Some(tx) = depth_tx.upgrade() {
                    m.log_depth(capacity - tx.capacity());
                }
            }
        });
        RecordQueue {
            tx,
            policy: settings.policy,
            capacity,
            metrics,
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Hands a record over: under `drop` at once (a full queue drops it, counted); under
    /// `block` once it is committed, or `NotLogged` when the store could not take it.
    pub async fn push(&self, r: Record) -> Result<(), NotLogged> {
        let out = match self.policy {
            Policy::Off => return Ok(()),
            Policy::Drop => {
                if self.tx.try_send((Some(r), None)).is_err() {
                    self.metrics.log_dropped();
                }
                Ok(())
            }
            Policy::Block => {
                let (ack, done) = oneshot::channel();
                if self.tx.send((Some(r), Some(ack))).await.is_err() {
                    return Err(NotLogged);
                }
                self.metrics.log_depth(self.capacity - self.tx.capacity());
                match done.await {
                    Ok(true) => Ok(()),
                    _ => Err(NotLogged),
                }
            }
        };
        self.metrics.log_depth(self.capacity - self.tx.capacity());
        out
    }
}

impl RecordQueue {
    /// Waits until every record queued before this call has been written (or given up
    /// on): `moat serve` calls it on shutdown, so a clean stop loses no record.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send((None, Some(ack))).await.is_ok() {
            let _ = done.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A store that takes `delay` per batch and keeps what it took; fails while `down`.
    #[derive(Default)]
    struct SlowStore {
        delay: Duration,
        kept: Mutex<Vec<Record>>,
        down: std::sync::atomic::AtomicBool,
    }

    impl RecordSink for SlowStore {
        fn write<'a>(&'a self, batch: &'a [Record]) -> SinkFuture<'a> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err("the store is down".into());
                }
                self.kept.lock().unwrap().extend_from_slice(batch);
                Ok(())
            })
        }
    }

    fn record(i: usize) -> Record {
        Record {
            at: SystemTime::now(),
            endpoint: "e".into(),
            key_id: format!("k{i}"),
            method: "POST".into(),
            path: "/e/p".into(),
            status: 200,
            code: None,
            latency: Duration::from_micros(50),
            request_bytes: Some(10),
            verdicts: Vec::new(),
            body: None,
        }
    }

    fn settings(policy: Policy, queue: usize) -> LogSettings {
        LogSettings {
            policy,
            queue,
            retention_days: 90,
        }
    }

    #[tokio::test]
    async fn drop_never_waits_and_counts_what_it_drops() {
        let store = Arc::new(SlowStore {
            delay: Duration::from_millis(200),
            ..SlowStore::default()
        });
        let m = Metrics::new();
        let q = RecordQueue::start(store.clone(), settings(Policy::Drop, 10), m.clone());
        let t = std::time::Instant::now();
        for i in 0..1000 {
            q.push(record(i)).await.unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
        let kept = store.kept.lock().unwrap().len();
        let text = m.encode();
        let dropped: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("moat_gateway_log_dropped_total "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(dropped > 900, "{text}");
        assert_eq!(
            kept + dropped,
            1000,
            "every record is kept or counted: {text}"
        );
    }

    #[tokio::test]
    async fn block_releases_a_request_only_once_its_record_is_stored() {
        let store = Arc::new(SlowStore {
            delay: Duration::from_millis(20),
            ..SlowStore::default()
        });
        let q = RecordQueue::start(store.clone(), settings(Policy::Block, 8), Metrics::new());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let q = q.clone();
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let r = record(i);
                q.push(r.clone()).await.unwrap();
                // Acknowledged means stored.
                assert!(store
                    .kept
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|k| k.key_id == r.key_id));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(store.kept.lock().unwrap().len(), 200);
        // A store that stays down: the request learns its record was not kept.
        store.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(q.push(record(999)).await, Err(NotLogged));
    }
}
