//! The kill switch and rollback as the gateway sees them: the set of quarantined model
//! versions and the version each inventory endpoint serves, read from the inventory
//! every `period` by a background task. An endpoint whose served version is in the set
//! answers `503 model_quarantined` (the reason stays with the operators: it is not shown
//! to callers); an endpoint rolled back routes to its new version's upstream. A marker
//! of key changes is read the same way, so a key revoked anywhere is dropped from every
//! gateway's cache within a period. If the inventory cannot be read, the last known
//! state stays.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub type QuarantineFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send + 'a>>;

pub type ServingFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<(String, String, String)>, String>> + Send + 'a>>;

/// Where quarantines are kept: every `NAME@VERSION` under quarantine now; and which
/// version each endpoint serves: `(endpoint, model, version)`.
pub trait QuarantineSource: Send + Sync + 'static {
    fn quarantined(&self) -> QuarantineFuture<'_>;
    fn serving(&self) -> ServingFuture<'_> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// A value that changes whenever a key is revoked or its expiry changes.
    fn keys_marker(&self) -> MarkerFuture<'_> {
        Box::pin(async { Ok(None) })
    }
}

pub type MarkerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>>;

/// The version an endpoint serves, per the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `NAME@VERSION`.
    pub model: String,
    pub version: String,
}

#[derive(Default)]
pub struct KillSwitch {
    set: RwLock<HashSet<String>>,
    served: RwLock<HashMap<String, Arc<Served>>>,
    keys_marker: std::sync::Mutex<Option<String>>,
    keys_epoch: std::sync::atomic::AtomicU64,
}

impl KillSwitch {
    /// Moves on whenever keys changed anywhere (a revocation, a rotation): the gateway
    /// drops its verified keys when it sees a new value.
    pub fn keys_epoch(&self) -> u64 {
        self.keys_epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    fn replace_keys_marker(&self, now: Option<String>) {
        let mut m = self
            .keys_marker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *m != now {
            *m = now;
            self.keys_epoch
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// The version the inventory says `endpoint` serves, when it knows the endpoint.
    pub fn served(&self, endpoint: &str) -> Option<Arc<Served>> {
        self.served
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(endpoint)
            .cloned()
    }

    fn replace_served(&self, now: Vec<(String, String, String)>) {
        let now: HashMap<String, Arc<Served>> = now
            .into_iter()
            .map(|(e, m, v)| {
                let s = Served {
                    model: format!("{m}@{v}"),
                    version: v,
                };
                (e, Arc::new(s))
            })
            .collect();
        let mut map = self
            .served
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (e, s) in &now {
            if map.get(e).is_some_and(|old| old.model != s.model) {
                tracing::warn!(endpoint = %e, model = %s.model, "endpoint now serves another version");
            }
        }
        *map = now;
    }

    pub fn is_quarantined(&self, model: &str) -> bool {
        self.set
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(model)
    }

    fn replace(&self, now: HashSet<String>) {
        let mut set = self
            .set
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *set != now {
            for m in now.difference(&set) {
                tracing::warn!(model = %m, "model version quarantined: the gateway refuses its traffic");
            }
            for m in set.difference(&now) {
                tracing::info!(model = %m, "model version released: the gateway serves it again");
            }
            *set = now;
        }
    }

    /// Reads `source` now, then every `period`, for as long as the switch is alive.
    pub async fn watch(self: Arc<Self>, source: Arc<dyn QuarantineSource>, period: Duration) {
        let weak = Arc::downgrade(&self);
        drop(self);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(me) = weak.upgrade() else { return };
            match source.quarantined().await {
                Ok(list) => me.replace(list.into_iter().collect()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read quarantines; keeping the last known set")
                }
            }
            match source.keys_marker().await {
                Ok(m) => me.replace_keys_marker(m),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read key changes; verified keys expire on their own")
                }
            }
            match source.serving().await {
                Ok(list) => me.replace_served(list),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read served versions; keeping the last known ones")
                }
            }
        }
    }
}
