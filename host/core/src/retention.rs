//! The activation log's upkeep: how long it keeps records, applied by a background task that
//! asks the store ([`shoal_store::ActivationLog::expire_activations`]) every
//! [`UPKEEP_EVERY`], starting at once (which also lays out a new PostgreSQL log's first days).

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use shoal_store::Store;

use crate::activation::epoch_ms;

/// How often the upkeep runs. A record outlives its retention by at most this (SQLite) or a
/// day and this (PostgreSQL, which drops whole days).
pub const UPKEEP_EVERY: Duration = Duration::from_secs(3600);

/// Starts the upkeep of `store`'s activation log, keeping every namespace's records `days`
/// (`None`: until a namespace's own retention says otherwise). The task ends once the store
/// is dropped; a failed run is logged and tried again at the next period.
pub fn spawn(store: &Arc<dyn Store>, days: Option<u32>) -> tokio::task::JoinHandle<()> {
    let store: Weak<dyn Store> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(store) = store.upgrade() else {
                return;
            };
            match store
                .expire_activations(days, epoch_ms(SystemTime::now()))
                .await
            {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed activations past their retention"),
                Err(e) => tracing::warn!(error = %e, "the activation log's upkeep failed"),
            }
        }
    })
}
