//! [`Host`]: one container host of the config (a Docker engine) with its own [`Pool`], whether
//! it answers, and what placement needs to know of it ([`Slot`]). A host that does not answer
//! at start is connected later, by the health checks; one that stops answering is marked
//! down, its idle containers are dropped, and activations running there fail at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::HostConfig;
use crate::driver::{ContainerDriver, DriverError};
use crate::placement::Slot;
use crate::pool::{Pool, PoolSettings, WarmKey};

/// How often every host is asked whether it answers.
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// A connected engine and the containers shoal runs on it.
pub struct Engine {
    /// The engine.
    pub driver: Arc<dyn ContainerDriver>,
    /// Its containers.
    pub pool: Arc<Pool>,
}

/// One container host. Shared (`Arc`) by the executor, the health checks and the activations
/// placed on it.
pub struct Host {
    /// Its config entry.
    pub config: HostConfig,
    name_hash: u64,
    /// Set once, when its engine first answers.
    engine: OnceLock<Engine>,
    /// Whether it answered its last health check; activations running on it watch this.
    up: watch::Sender<bool>,
    /// Set when a config reload removed it: no new activations, containers removed as they
    /// end.
    retired: AtomicBool,
}

impl Host {
    /// A host of `config`, not connected yet (down).
    pub fn new(config: HostConfig) -> Self {
        let name_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            config.name.hash(&mut h);
            h.finish()
        };
        Host {
            config,
            name_hash,
            engine: OnceLock::new(),
            up: watch::Sender::new(false),
            retired: AtomicBool::new(false),
        }
    }

    /// Its engine and pool, once connected.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.get()
    }

    /// Records its engine, with the pool `settings` describe (the host's capacity), removes
    /// the containers an earlier run left there, and marks it up. Returns how many were
    /// removed. A host connects once; later calls change nothing.
    pub async fn attach(
        &self,
        driver: Arc<dyn ContainerDriver>,
        settings: PoolSettings,
    ) -> Result<usize, DriverError> {
        if self.engine.get().is_some() {
            return Ok(0);
        }
        let pool = Pool::new(driver.clone(), settings);
        let left = pool.clean_up_earlier_runs().await?;
        if self.engine.set(Engine { driver, pool }).is_ok() {
            self.up.send_replace(true);
        }
        Ok(left)
    }

    /// Whether placement may use it: connected, answering and not retired.
    pub fn usable(&self) -> bool {
        *self.up.borrow() && !self.retired.load(Ordering::Relaxed)
    }

    /// Asks its engine whether it answers and records the answer; on the way down, its idle
    /// and prewarmed containers are dropped (they may be gone, and must not be handed out as
    /// warm when it is back). Returns whether it is up.
    pub async fn check(&self) -> bool {
        let Some(engine) = self.engine.get() else {
            return false;
        };
        let answers = engine.driver.ping().await.is_ok();
        let was = self.up.send_replace(answers);
        if was && !answers {
            tracing::warn!(host = %self.config.name, "container host stopped answering; skipped until it does");
            engine.pool.drop_idle();
        } else if !was && answers {
            tracing::info!(host = %self.config.name, "container host answers again");
        }
        answers
    }

    /// Resolves when the host is marked down (at once if it is).
    pub async fn went_down(&self) {
        let mut watching = self.up.subscribe();
        let _ = watching.wait_for(|up| !up).await;
    }

    /// Takes it out of placement (a config reload dropped it): idle containers are removed
    /// now, busy ones when their activation ends.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
        if let Some(engine) = self.engine.get() {
            engine.pool.retire();
        }
    }
}

impl Slot for Host {
    fn name_hash(&self) -> u64 {
        self.name_hash
    }

    fn up(&self) -> bool {
        self.usable()
    }

    fn architecture(&self) -> &str {
        self.engine
            .get()
            .map_or("", |e| e.driver.facts().architecture.as_str())
    }

    fn has_tag(&self, tag: &str) -> bool {
        self.config.tags.iter().any(|t| t == tag)
    }

    fn capacity_mb(&self) -> u64 {
        self.config.capacity_mb
    }

    fn free_mb(&self) -> u64 {
        self.engine.get().map_or(0, |e| e.pool.free_mb())
    }

    fn has_warm(&self, key: &WarmKey) -> bool {
        self.engine.get().is_some_and(|e| e.pool.has_warm(key))
    }
}
