//! [`App`]: the composed platform (config, store, authenticator, controller, feeds, memory
//! budget, gateway, metrics) that request handlers and the trigger engine work with. How it
//! is put together and started is `startup`'s job.

use std::sync::Arc;
use std::time::Duration;

use shoal_containers::ContainerExecutor;
use shoal_router::EgressSlot;
use shoal_store::Store;

use crate::alarms::AlarmService;
use crate::auth::{self, Authenticator};
use crate::config::Config;
use crate::controller::Controller;
use crate::gateway::Gateway;
use crate::memory::MemoryBudget;
use crate::metrics::Metrics;

/// Everything a request handler needs. One per process.
pub struct App {
    /// Validated configuration.
    pub config: Config,
    /// Entities, subjects and the activation log.
    pub store: Arc<dyn Store>,
    /// Basic-auth lookups.
    pub auth: Arc<Authenticator>,
    /// Invocation.
    pub controller: Arc<Controller>,
    /// The alarm feeds' schedules and scheduler.
    pub alarms: Arc<AlarmService>,
    /// The container domain, when configured and its engine answered.
    pub containers: Option<Arc<ContainerExecutor>>,
    /// The isolates' memory budget.
    pub memory: Arc<MemoryBudget>,
    /// The built-in API gateway's compiled routes and rate limits.
    pub gateway: Gateway,
    /// What `GET /metrics` reports; the controller and the server feed it.
    pub metrics: Arc<Metrics>,
    /// Where the JS engines find the egress (`App::open_egress` fills it).
    pub(crate) egress: EgressSlot,
    /// What actions see as `__OW_API_HOST`.
    pub(crate) api_host: String,
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
        if let Some(containers) = &self.containers {
            containers.shutdown().await;
        }
    }
}
