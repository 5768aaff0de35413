//! [`App`]: the composed platform (settings, store, authenticator, controller, feeds, memory
//! budget, gateway, metrics) that request handlers work with, and its background work. How it is put together is the host's composition root's job.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shoal_router::EgressSlot;
use shoal_store::Store;

use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::writers::EntityWriters;
use shoal_core::auth::{self, Authenticator};
use shoal_core::controller::Controller;
use shoal_core::feeds::FeedProvider;
use shoal_core::memory::MemoryBudget;
use shoal_core::triggers::FeedFirer;

/// Everything a request handler needs. One per process.
pub struct App {
    /// The configuration sections the API serves by.
    pub settings: Settings,
    /// Entities, subjects and the activation log.
    pub store: Arc<dyn Store>,
    /// Basic-auth lookups.
    pub auth: Arc<Authenticator>,
    /// Invocation.
    pub controller: Arc<Controller>,
    /// The feed providers (the alarm service first).
    pub feeds: Vec<Arc<dyn FeedProvider>>,
    /// The isolates' memory budget.
    pub memory: Arc<MemoryBudget>,
    /// The built-in API gateway's compiled routes and rate limits.
    pub gateway: Gateway,
    /// What `GET /metrics` reports; the controller and the server feed it.
    pub metrics: Arc<Metrics>,
    /// Where the JS engines find the egress ([`crate::egress::open`] fills it).
    pub egress: EgressSlot,
    /// What actions see as `__OW_API_HOST`.
    pub api_host: String,
    /// Each namespace's turn to check its entity quota and write.
    pub entity_writers: EntityWriters,
}

impl App {
    /// The origin clients reach shoal at (and actions see as `__OW_API_HOST`).
    pub fn api_host(&self) -> &str {
        &self.api_host
    }

    /// Whether namespace `guest` still uses OpenWhisk's well-known development key.
    pub async fn guest_has_default_key(store: &dyn Store) -> bool {
        store
            .subject_by_namespace("guest")
            .await
            .ok()
            .flatten()
            .is_some_and(|s| format!("{}:{}", s.uuid, s.key) == auth::GUEST_AUTH)
    }

    /// Waits for activations in flight (up to `limit`), then commits the activation log.
    pub async fn shutdown(&self, limit: Duration) {
        let left = self.controller.inflight().drain(limit).await;
        if left > 0 {
            tracing::warn!(left, "shutting down with activations still running");
        }
        self.store.flush().await;
    }

    /// The platform's background work: each feed provider's (the alarm scheduler's), firing
    /// triggers through the trigger engine. Runs until the process ends; spawn it once.
    pub fn background(self: &Arc<Self>) -> impl Future<Output = ()> + Send + use<> {
        let firer = Arc::new(FeedFirer::new(
            self.auth.clone(),
            self.controller.clone(),
            self.store.clone(),
        ));
        let running: Vec<_> = self
            .feeds
            .iter()
            .map(|feed| Arc::clone(feed).run(firer.clone()))
            .collect();
        async move {
            for work in running.into_iter().map(tokio::spawn) {
                // A provider's work ends only with the process; a panic is already reported.
                let _ = work.await;
            }
        }
    }
}
