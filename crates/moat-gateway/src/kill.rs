//! The kill switch as the gateway sees it: the set of quarantined model versions, read
//! from the inventory every `period` by a background task. An endpoint whose `model` is
//! in the set answers `503 model_quarantined` (the reason stays with the operators: it
//! is not shown to callers). If the inventory cannot be read, the last known set stays.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub type QuarantineFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send + 'a>>;

/// Where quarantines are kept: every `NAME@VERSION` under quarantine now.
pub trait QuarantineSource: Send + Sync + 'static {
    fn quarantined(&self) -> QuarantineFuture<'_>;
}

#[derive(Default)]
pub struct KillSwitch {
    set: RwLock<HashSet<String>>,
}

impl KillSwitch {
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
        }
    }
}
