//! Detections leave the request path through a bounded queue: the request only pushes
//! (never waits), a background task writes batches to the [`EventSink`] (the store).
//! When the queue is full the event is dropped and counted
//! (`moat_gateway_events_dropped_total`), so a slow store never slows traffic.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;

/// One detection, as the gateway saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: SystemTime,
    pub endpoint: String,
    pub key_id: String,
    pub detector: String,
    pub severity: String,
    pub atlas: String,
    pub mode: String,
    pub evidence: String,
}

pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Where events are kept.
pub trait EventSink: Send + Sync + 'static {
    fn write(&self, batch: Vec<Event>) -> SinkFuture<'_>;
}

/// The sending side, held by the gateway.
#[derive(Clone)]
pub struct EventQueue {
    tx: mpsc::Sender<Event>,
}

/// Events written at most per batch.
const BATCH: usize = 256;

impl EventQueue {
    /// Starts the writer task; `capacity` events may wait in memory.
    pub fn start(sink: Arc<dyn EventSink>, capacity: usize) -> Self {
        let (tx, mut rx) = mpsc::channel::<Event>(capacity.max(1));
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let n = batch.len();
                if let Err(e) = sink.write(std::mem::take(&mut batch)).await {
                    tracing::error!(error = %e, events = n, "detections could not be stored");
                }
            }
        });
        EventQueue { tx }
    }

    /// Queues an event; false when the queue is full (the event is dropped).
    pub fn push(&self, e: Event) -> bool {
        self.tx.try_send(e).is_ok()
    }
}
