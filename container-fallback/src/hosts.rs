//! [`Host`]: one container host of the config (a Docker engine or a Kubernetes cluster) with
//! its own [`Pool`], whether it answers, and what placement needs to know of it ([`Slot`]). A
//! host that does not answer at start is connected later, by the health checks; one that
//! fails two health checks in a row (or one, when an activation's connection broke too) is
//! marked down: its idle containers are dropped, activations waiting for its capacity or
//! running there fail at once, and it takes no new ones until it answers again.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::HostConfig;
use crate::driver::{ContainerDriver, DriverError};
use crate::placement::Slot;
use crate::pool::{Pool, PoolSettings, WarmKey};

/// How often every host is asked whether it answers.
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);
/// Failed health checks in a row that mark a host down (one slow answer does not).
const DOWN_AFTER: u32 = 2;

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
    /// Health checks failed in a row.
    failures: AtomicU32,
}

impl Host {
    /// A host of `config`, not connected yet (down).
    pub fn new(config: HostConfig) -> Self {
        // A digest, not std's hasher: every node, whatever it was built with, must give an
        // action the same home.
        let name_hash = {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(config.name.as_bytes());
            let mut first = [0; 8];
            first.copy_from_slice(&digest[..8]);
            u64::from_le_bytes(first)
        };
        Host {
            config,
            name_hash,
            engine: OnceLock::new(),
            up: watch::Sender::new(false),
            retired: AtomicBool::new(false),
            failures: AtomicU32::new(0),
        }
    }

    /// Its engine and pool, once connected.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.get()
    }

    /// Records its engine, with the pool `settings` describe (the host's capacity), removes
    /// the containers an earlier run left there when `clean_up` (the first host of its engine
    /// in this process: a host changed by a reload must not remove its predecessor's busy
    /// containers), and marks it up unless a reload retired it meanwhile. Returns how many
    /// were removed. A host connects once; later calls change nothing.
    pub async fn attach(
        &self,
        driver: Arc<dyn ContainerDriver>,
        settings: PoolSettings,
        clean_up: bool,
    ) -> Result<usize, DriverError> {
        if self.engine.get().is_some() {
            return Ok(0);
        }
        let pool = Pool::new(driver.clone(), settings);
        let left = match clean_up {
            true => pool.clean_up_earlier_runs().await?,
            false => 0,
        };
        if self.engine.set(Engine { driver, pool }).is_ok() {
            match self.retired.load(Ordering::Relaxed) {
                true => self.retire(),
                false => {
                    self.up.send_replace(true);
                }
            }
        }
        Ok(left)
    }

    /// Whether placement may use it: connected, answering and not retired.
    pub fn usable(&self) -> bool {
        self.answering() && !self.retired.load(Ordering::Relaxed)
    }

    /// The periodic health check: asks its engine whether it answers and marks it down
    /// after [`DOWN_AFTER`] failures in a row, up at the first answer (then retrying the
    /// removals that failed meanwhile). Returns whether it is up.
    pub async fn check(&self) -> bool {
        let Some(engine) = self.engine.get() else {
            return false;
        };
        if engine.driver.ping().await.is_ok() {
            self.failures.store(0, Ordering::Relaxed);
            self.mark(engine, true);
            // In a task of its own: a slow engine must not hold up the checks, and a retry
            // cut short would lose the ids it had not tried yet.
            let pool = engine.pool.clone();
            tokio::spawn(async move { pool.remove_strays().await });
            return true;
        }
        let failed = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failed >= DOWN_AFTER {
            self.mark(engine, false);
        }
        self.answering()
    }

    /// Whether it answers, asked now because an activation's connection to a container
    /// broke: one failed check is then enough to mark it down.
    pub async fn still_answers(&self) -> bool {
        let Some(engine) = self.engine.get() else {
            return false;
        };
        if engine.driver.ping().await.is_ok() {
            return true;
        }
        self.mark(engine, false);
        false
    }

    /// Records whether it is up; on the way down its pool is suspended (activations waiting
    /// for its capacity fail, idle and prewarmed containers are dropped: they may be gone,
    /// and must not be handed out as warm when it is back).
    fn mark(&self, engine: &Engine, up: bool) {
        let was = self.up.send_replace(up);
        // Every time, not only on a change: a check and an activation's ping may mark it at
        // once, and the pool must end as the last answer says.
        engine.pool.suspend(!up);
        if was && !up {
            tracing::warn!(host = %self.config.name, "container host stopped answering; skipped until it does");
            engine.pool.drop_idle();
        } else if !was && up {
            tracing::info!(host = %self.config.name, "container host answers");
        }
    }

    /// Whether it answered its last health checks.
    fn answering(&self) -> bool {
        *self.up.borrow()
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
