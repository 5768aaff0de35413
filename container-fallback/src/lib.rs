//! # shoal-containers: the container execution domain
//!
//! Every kind the isolates do not serve (Python, Java, Go, `blackbox` images…, and `nodejs`
//! actions that ask for full Node.js) runs here, in containers that speak OpenWhisk's
//! action-container protocol (`/init`, `/run`, log sentinels; spec §7) on a Docker engine.
//! [`ContainerExecutor`] implements the router's `Executor`: it takes a warm, prewarmed or new
//! container from the [`pool`], initialises it when needed, runs the activation, collects its
//! logs and maps what happened to an `Outcome` with OpenWhisk's texts ([`protocol`]).
//!
//! All of it runs on a small tokio runtime of its own, so the callers' threads (the isolate
//! workers) never wait on the engine. The engine is reached through the [`ContainerDriver`]
//! trait; [`DockerDriver`] is the real one.

mod config;
mod docker;
mod driver;
pub mod logs;
pub mod pool;
pub mod protocol;
#[cfg(test)]
mod testing;

pub use config::{ContainerConfig, Runtime, StemCell};
pub use docker::DockerDriver;
pub use driver::{
    ContainerDriver, ContainerSpec, ContainerState, DriverError, ImageFacts, LogLine, Started,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, Outcome, PrepareError,
};

use crate::logs::{Collected, Cut};
use crate::pool::{Container, Pool, PoolSettings, Removal, Start, WarmKey};
use crate::protocol::{Answer, ProxyClient};

pub use shoal_router::BLACKBOX;

/// How many containers an activation tries when their proxies answer `/init` with 503
/// ("shutting down", spec §7.2) before the last answer is its initialization failure.
const INIT_ATTEMPTS: usize = 3;

/// Why the container domain did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The `[containers]` settings are unusable (the message names the key).
    #[error("{0}")]
    Config(String),
    /// The engine did not answer, or refused the clean-up of an earlier run.
    #[error("{host}: {source}")]
    Engine {
        /// The engine endpoint.
        host: String,
        /// What went wrong.
        source: DriverError,
    },
    /// The domain's threads could not be started.
    #[error("the container domain's runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The set-up thread panicked.
    #[error("the container domain's set-up panicked")]
    Panicked,
}

/// Runs actions in containers. One per process; cheap to share (`Arc`).
pub struct ContainerExecutor {
    /// Owns the domain's threads; `Some` until dropped (taken to shut down without blocking).
    runtime: Option<tokio::runtime::Runtime>,
    /// Where activations and background work are spawned.
    tasks: tokio::runtime::Handle,
    pool: Arc<Pool>,
    http: ProxyClient,
    config: ContainerConfig,
    activations: AtomicU64,
}

impl ContainerExecutor {
    /// Connects to the engine named in `config` (failing if it does not answer), removes the
    /// containers an earlier run of the same `owner` left behind, and starts the prewarmed
    /// containers and the idle reaper. `api_host` is what containers see as `__OW_API_HOST`
    /// unless the config says otherwise.
    pub fn start(config: ContainerConfig, owner: &str, api_host: &str) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        // The set-up blocks, and the caller may be async: it runs on a thread of its own.
        std::thread::scope(|s| {
            s.spawn(|| Self::start_blocking(config, owner, api_host))
                .join()
                .map_err(|_| StartError::Panicked)?
        })
    }

    fn start_blocking(
        config: ContainerConfig,
        owner: &str,
        api_host: &str,
    ) -> Result<Self, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("shoal-containers")
            .enable_all()
            .build()?;
        let engine = |source| StartError::Engine {
            host: config.docker_host.clone(),
            source,
        };
        let driver = runtime
            .block_on(DockerDriver::connect(&config.docker_host, &config.network))
            .map_err(engine)?;
        let api_host = config.api_host.clone().unwrap_or_else(|| api_host.into());
        let settings = PoolSettings {
            owner: owner.to_string(),
            capacity_mb: config.capacity_mb,
            pause_grace: Duration::from_millis(config.pause_grace_ms),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            pull_timeout: Duration::from_secs(config.pull_timeout_secs),
            start_timeout: Duration::from_secs(config.start_timeout_secs),
            env: vec![format!("__OW_API_HOST={api_host}")],
            stem_cells: config
                .runtimes
                .iter()
                .flat_map(|r| {
                    r.prewarm
                        .iter()
                        .map(|s| (r.image.clone(), s.memory_mb, s.count))
                })
                .collect(),
        };
        let pool = Pool::new(Arc::new(driver), settings);
        let left = runtime
            .block_on(pool.clean_up_earlier_runs())
            .map_err(engine)?;
        if left > 0 {
            tracing::info!(left, "removed containers left by an earlier run");
        }
        runtime.block_on(async { pool.start_prewarms() });
        let reaper = Arc::downgrade(&pool);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(pool) = reaper.upgrade() else { break };
                pool.reap_idle();
                pool.start_prewarms();
            }
        });
        Ok(ContainerExecutor {
            tasks: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            http: ProxyClient::default(),
            config,
            activations: AtomicU64::new(0),
        })
    }

    /// The configuration it started with: the runtime manifest (kinds and images) and more.
    pub fn config(&self) -> &ContainerConfig {
        &self.config
    }

    /// Live containers (busy, idle, prewarmed).
    pub fn resident(&self) -> usize {
        self.pool.resident()
    }

    /// Prewarmed containers ready to be taken.
    pub fn prewarmed(&self) -> usize {
        self.pool.prewarmed()
    }

    /// Cold starts served by a prewarmed container since start.
    pub fn prewarm_hits(&self) -> u64 {
        self.pool.counters.prewarm_hits.load(Ordering::Relaxed)
    }

    /// Removes every container this executor runs. Activations still running fail.
    pub async fn shutdown(&self) {
        let pool = self.pool.clone();
        let _ = self.tasks.spawn(async move { pool.shutdown().await }).await;
    }

    /// The image an action runs in: its own for `blackbox`, its kind's otherwise.
    fn image_of(&self, action: &ActionCode) -> Option<String> {
        if action.kind == BLACKBOX {
            return action.image.clone().filter(|_| self.config.blackbox);
        }
        self.config.runtime(&action.kind).map(|r| r.image.clone())
    }
}

impl Drop for ContainerExecutor {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which an async caller must not do.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Executor for ContainerExecutor {
    fn name(&self) -> &'static str {
        "container"
    }

    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        match self.image_of(code) {
            Some(image) if !image.trim().is_empty() => Ok(()),
            _ => Err(PrepareError(format!(
                "no container image is configured for kind '{}'",
                code.kind
            ))),
        }
    }

    fn invoke(&self, inv: Invocation) -> BoxFuture<Outcome> {
        self.activations.fetch_add(1, Ordering::Relaxed);
        let Some(image) = self.image_of(&inv.action) else {
            return Box::pin(async {
                Outcome::failed(Failure::Internal("no container image for this kind".into()))
            });
        };
        let run = activate(self.pool.clone(), self.http.clone(), inv, image);
        let task = self.tasks.spawn(run);
        Box::pin(async move {
            task.await
                .unwrap_or_else(|e| Outcome::failed(Failure::Internal(e.to_string())))
        })
    }

    fn stats(&self) -> ExecutorStats {
        let c = &self.pool.counters;
        ExecutorStats {
            name: "container",
            resident: self.pool.resident() as u64,
            resident_bytes: self.pool.resident_bytes(),
            cold_starts: c.cold_starts.load(Ordering::Relaxed),
            activations: self.activations.load(Ordering::Relaxed),
            evictions: c.evictions(),
            hand_offs: 0,
        }
    }
}

/// One activation: a container, `/init` when it is not warm (on another container when the
/// proxy answers 503), `/run`, the logs, and the container kept warm or removed. `/init` and
/// `/run` each get the action's whole time limit (spec §7.2, §7.3); getting the container
/// has bounds of its own.
async fn activate(pool: Arc<Pool>, http: ProxyClient, inv: Invocation, image: String) -> Outcome {
    let key = WarmKey::of(&inv);
    let timeout = Duration::from_millis(inv.limits.timeout_ms);
    let mut attempts = 0;
    let (mut container, start, init_ms) = loop {
        let (mut container, how) = match pool.acquire(&inv, key, &image).await {
            Ok(c) => c,
            Err(failure) => return Outcome::failed(failure),
        };
        let (start, began) = (SystemTime::now(), Instant::now());
        if how == Start::Warm {
            break (container, start, None);
        }
        attempts += 1;
        let (deadline, deadline_ms) = deadline_after(timeout);
        let body = protocol::init_body(&inv, deadline_ms);
        let answer = http.post(container.address, "/init", &body, deadline).await;
        let init_ms = Some(began.elapsed().as_millis() as u64);
        if answer.shutting_down() && attempts < INIT_ATTEMPTS {
            pool.remove(container, Removal::Failed);
            continue;
        }
        if let Err(failure) = protocol::init_verdict(&answer) {
            let result = Err(memory_or(&pool, &container, &answer, failure).await);
            let logs = logs_of(&mut container, &inv, &result).await;
            pool.remove(container, Removal::Failed);
            return Outcome::finished(result, logs.lines, start, init_ms);
        }
        break (container, start, init_ms);
    };
    let (deadline, deadline_ms) = deadline_after(timeout);
    let body = protocol::run_body(&inv, deadline_ms);
    let answer = http.post(container.address, "/run", &body, deadline).await;
    let (result, healthy) = protocol::run_verdict(&answer);
    let result = match result {
        Err(failure) => Err(memory_or(&pool, &container, &answer, failure).await),
        ok => ok,
    };
    let logs = logs_of(&mut container, &inv, &result).await;
    pool.release(container, key, healthy && logs.delimited);
    Outcome::finished(result, logs.lines, start, init_ms)
}

/// The deadline of a request that may take `timeout` from now, as an instant and as epoch
/// milliseconds (what the proxy is told).
fn deadline_after(timeout: Duration) -> (Instant, u64) {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + timeout;
    (Instant::now() + timeout, epoch.as_millis() as u64)
}

/// The activation's logs (spec §7.4): up to both sentinels when the container's proxy prints
/// them (every runtime image; a `blackbox` image only when it says so with
/// [`logs::SENTINELS_LABEL`]) and the action did not fail as a developer error; else what
/// arrives within a short grace.
async fn logs_of(
    container: &mut Container,
    inv: &Invocation,
    result: &Result<Value, Failure>,
) -> Collected {
    let developer_error = matches!(
        result,
        Err(Failure::DeveloperError(_) | Failure::Timeout { .. } | Failure::MemoryExceeded)
    );
    let sentinels = inv.action.kind != BLACKBOX || container.log_sentinels;
    let cut = if sentinels && !developer_error {
        Cut::AtSentinels
    } else {
        Cut::AfterGrace
    };
    container
        .logs
        .collect(inv.limits.log_bytes(), cut, developer_error)
        .await
}

/// `failure`, unless the proxy became unreachable because the engine killed the container
/// for exceeding its memory limit (its main process: the proxy reports OOM kills of the
/// processes it starts itself, see [`Answer::OomKilled`]).
async fn memory_or(
    pool: &Pool,
    container: &Container,
    answer: &Answer,
    failure: Failure,
) -> Failure {
    if *answer == Answer::Unreachable && pool.oom_killed(container.id()).await {
        Failure::MemoryExceeded
    } else {
        failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, FakeDriver};
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in action proxy on a local port answering `/init` with `init` and `/run` with
    /// `200 {"ok": true}`; returns its address and how many `/init` calls it got.
    async fn proxy(init: u16) -> (SocketAddr, Arc<AtomicU64>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let inits = Arc::new(AtomicU64::new(0));
        let counted = inits.clone();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = vec![0; 64 * 1024];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let (status, body) = if request[..n].starts_with(b"POST /init") {
                    counted.fetch_add(1, Ordering::Relaxed);
                    (init, r#"{"error":"shutting down"}"#)
                } else {
                    (200, r#"{"ok":true}"#)
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (address, inits)
    }

    #[tokio::test]
    async fn a_proxy_shutting_down_at_init_sends_the_activation_to_another_container() {
        let (stopping, stopping_inits) = proxy(503).await;
        let (fine, fine_inits) = proxy(200).await;
        let driver = Arc::new(FakeDriver::default());
        driver.addresses.lock().extend([stopping, fine]);
        let pool = Pool::new(driver.clone(), testing::settings(1024));
        let inv = testing::invocation("/guest/bb", BLACKBOX);
        let outcome = activate(pool, ProxyClient::default(), inv, "test/bb".into()).await;
        assert_eq!(outcome.result, Ok(serde_json::json!({"ok": true})));
        assert_eq!(stopping_inits.load(Ordering::Relaxed), 1);
        assert_eq!(fine_inits.load(Ordering::Relaxed), 1);
        assert_eq!(driver.calls_to("start"), ["c0", "c1"]);
        assert_eq!(
            driver.calls_to("remove"),
            ["c0"],
            "the one shutting down is gone"
        );
    }

    #[tokio::test]
    async fn a_proxy_that_keeps_shutting_down_fails_the_initialization() {
        let driver = Arc::new(FakeDriver::default());
        for _ in 0..INIT_ATTEMPTS {
            let (address, _) = proxy(503).await;
            driver.addresses.lock().push_back(address);
        }
        let pool = Pool::new(driver.clone(), testing::settings(1024));
        let inv = testing::invocation("/guest/bb", BLACKBOX);
        let outcome = activate(pool, ProxyClient::default(), inv, "test/bb".into()).await;
        assert_eq!(
            outcome.result,
            Err(Failure::DeveloperError("shutting down".into()))
        );
        assert_eq!(driver.calls_to("start").len(), INIT_ATTEMPTS);
        assert!(
            outcome
                .logs
                .last()
                .is_some_and(|l| l.ends_with(logs::LOG_DATA_MISSING)),
            "{:?}",
            outcome.logs
        );
    }

    #[tokio::test]
    async fn start_failures_are_the_developers_for_blackbox_images_only() {
        let driver = Arc::new(FakeDriver::default());
        for image in ["test/runtime", "test/bb"] {
            driver
                .failing
                .lock()
                .push((image.into(), DriverError::Exited));
        }
        let pool = Pool::new(driver.clone(), testing::settings(1024));
        let python = testing::invocation("/guest/py", "python:3.11");
        let outcome = activate(
            pool.clone(),
            ProxyClient::default(),
            python,
            "test/runtime".into(),
        )
        .await;
        assert_eq!(
            outcome.result,
            Err(Failure::Internal(protocol::INIT_EXITED.into())),
            "the manifest's image is the platform's"
        );
        let blackbox = testing::invocation("/guest/bb", BLACKBOX);
        let outcome = activate(pool, ProxyClient::default(), blackbox, "test/bb".into()).await;
        assert_eq!(
            outcome.result,
            Err(Failure::DeveloperError(protocol::INIT_EXITED.into()))
        );
    }
}
