//! # shoal-containers: the container execution domain
//!
//! Every kind the isolates do not serve (Python, Java, Go, `blackbox` images…, and `nodejs`
//! actions that ask for full Node.js) runs here, in containers that speak OpenWhisk's
//! action-container protocol (`/init`, `/run`, log sentinels; spec §7) on container hosts.
//! [`ContainerExecutor`] implements the router's `Executor`: it takes a warm, prewarmed or new
//! container from the [`pool`], initialises it when needed, runs the activation, collects its
//! logs and maps what happened to an `Outcome` with OpenWhisk's texts ([`protocol`]).
//!
//! Containers run on the configured hosts (Docker engines, or Kubernetes clusters' nodes of
//! one architecture), each with its own pool; [`placement`] picks the host of each activation
//! by its image's architectures, its tags and its memory, and the hosts are health-checked
//! (`hosts`).
//!
//! All of it runs on a small tokio runtime of its own, so the callers' threads (the isolate
//! workers) never wait on an engine. Engines are reached through the [`ContainerDriver`]
//! trait: [`DockerDriver`] and [`KubernetesDriver`] are the real ones.

mod config;
mod docker;
mod driver;
mod hosts;
mod kubernetes;
pub mod logs;
pub mod placement;
pub mod pool;
pub mod protocol;
#[cfg(test)]
mod testing;

pub use config::{
    ContainerConfig, HostConfig, KubernetesConfig, LOCAL_HOST, Runtime, StemCell, TlsFiles,
};
pub use docker::DockerDriver;
pub use driver::{
    ContainerDriver, ContainerSpec, ContainerState, DriverError, EngineFacts, ImageFacts, LogLine,
    Started,
};
pub use kubernetes::{ARCH_LABEL, KubernetesDriver, owner_label};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, HostReport, Invocation, Outcome,
    PrepareError,
};

use crate::hosts::{Engine, HEALTH_EVERY, Host};
use crate::logs::{Collected, Cut};
use crate::placement::{Demand, Policy};
use crate::pool::{Container, Pool, PoolSettings, Removal, Start, WarmKey};
use crate::protocol::{Answer, ProxyClient};

pub use shoal_router::BLACKBOX;

/// How many containers an activation tries when their proxies answer `/init` with 503
/// ("shutting down", spec §7.2) before the last answer is its initialization failure.
const INIT_ATTEMPTS: usize = 3;
/// How long what the registry said about an image's architectures is trusted.
const PLATFORMS_FOR: Duration = Duration::from_secs(60);
/// The most images whose architectures are remembered (image names are the tenants').
const PLATFORMS_KEPT: usize = 4096;
/// The longest an activation waits to learn its image's architectures (then: unknown).
const PLATFORMS_WAIT: Duration = Duration::from_secs(10);
/// The longest one host's periodic connect or health check may take (so one slow host does
/// not hold up the others' checks for long).
const LOOK_AFTER: Duration = Duration::from_secs(10);

/// Why the container domain did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The `[containers]` settings are unusable (the message names the key).
    #[error("{0}")]
    Config(String),
    /// No engine answered, or one refused the clean-up of an earlier run.
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

/// Runs actions in containers on the configured hosts. One per process; cheap to share
/// (`Arc`).
pub struct ContainerExecutor {
    /// Owns the domain's threads; `Some` until dropped (taken to shut down without blocking).
    runtime: Option<tokio::runtime::Runtime>,
    /// Where activations and background work are spawned.
    tasks: tokio::runtime::Handle,
    domain: Arc<Domain>,
    activations: AtomicU64,
}

/// What activations and the background tasks share.
struct Domain {
    config: ContainerConfig,
    /// The hosts, in config order (replaced whole by a reload).
    hosts: RwLock<Arc<Vec<Arc<Host>>>>,
    policy: Policy,
    http: ProxyClient,
    /// The pools' settings but for the capacity and stem cells, which are each host's.
    settings: PoolSettings,
    /// Architectures of images not declared in the manifest, as last asked, and when.
    platforms: Mutex<HashMap<String, Asked>>,
    /// Hosts (by name and engine) whose leftover containers were removed in this process
    /// (once: a host changed by a reload must not remove its predecessor's busy containers).
    cleaned: Mutex<HashSet<String>>,
    /// Hosts a reload removed, until shutdown (their busy containers are removed then).
    retired: Mutex<Vec<Arc<Host>>>,
}

/// When an image's architectures were asked for, and the answer (`None`: nobody knew).
type Asked = (Instant, Option<Vec<String>>);

impl ContainerExecutor {
    /// Connects to the hosts named in `config` (failing if none answers), removes the
    /// containers an earlier run of the same `owner` left on them, and starts the prewarmed
    /// containers, the idle reaper and the health checks (which connect hosts that did not
    /// answer yet). `api_host` is what containers see as `__OW_API_HOST` unless the config
    /// says otherwise.
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
        let api_host = config.api_host.clone().unwrap_or_else(|| api_host.into());
        let settings = PoolSettings {
            owner: owner.to_string(),
            capacity_mb: config.capacity_mb,
            pause_grace: Duration::from_millis(config.pause_grace_ms),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            pull_timeout: Duration::from_secs(config.pull_timeout_secs),
            start_timeout: Duration::from_secs(config.start_timeout_secs),
            env: vec![format!("__OW_API_HOST={api_host}")],
            stem_cells: Vec::new(),
            host_tags: Vec::new(),
        };
        let hosts: Vec<Arc<Host>> = config
            .hosts()
            .into_iter()
            .map(|h| Arc::new(Host::new(h)))
            .collect();
        let domain = Arc::new(Domain {
            policy: config.policy(),
            config,
            hosts: RwLock::new(Arc::new(hosts.clone())),
            http: ProxyClient::default(),
            settings,
            platforms: Mutex::new(HashMap::new()),
            cleaned: Mutex::new(HashSet::new()),
            retired: Mutex::new(Vec::new()),
        });
        let results = runtime.block_on(futures_util::future::join_all(
            hosts.iter().map(|h| domain.connect(h)),
        ));
        if results.iter().all(Result::is_err) {
            // None connected: the domain is off, for the first host's reason.
            let host = endpoint(&hosts[0].config);
            let source = results.into_iter().find_map(Result::err);
            let source = source.unwrap_or_else(|| DriverError::Engine("no host".into()));
            return Err(StartError::Engine { host, source });
        }
        for (host, result) in hosts.iter().zip(results) {
            if let Err(e) = result {
                tracing::warn!(host = %host.config.name, error = %e, "container host does not answer; it is tried again every second");
            }
        }
        let background = Arc::downgrade(&domain);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(HEALTH_EVERY);
            loop {
                tick.tick().await;
                let Some(domain) = background.upgrade() else {
                    break;
                };
                domain.look_after_hosts().await;
            }
        });
        Ok(ContainerExecutor {
            tasks: runtime.handle().clone(),
            runtime: Some(runtime),
            domain,
            activations: AtomicU64::new(0),
        })
    }

    /// The configuration it started with: the runtime manifest (kinds and images) and more.
    pub fn config(&self) -> &ContainerConfig {
        &self.domain.config
    }

    /// The pools of the connected hosts.
    fn pools(&self) -> Vec<Arc<Pool>> {
        let hosts = self.domain.hosts.read().clone();
        hosts
            .iter()
            .filter_map(|h| h.engine().map(|e| e.pool.clone()))
            .collect()
    }

    /// Live containers (busy, idle, prewarmed) on every host.
    pub fn resident(&self) -> usize {
        self.pools().iter().map(|p| p.resident()).sum()
    }

    /// Prewarmed containers ready to be taken, on every host.
    pub fn prewarmed(&self) -> usize {
        self.pools().iter().map(|p| p.prewarmed()).sum()
    }

    /// Cold starts served by a prewarmed container since start.
    pub fn prewarm_hits(&self) -> u64 {
        let hits = |p: &Arc<Pool>| p.counters.prewarm_hits.load(Ordering::Relaxed);
        self.pools().iter().map(hits).sum()
    }

    /// Replaces the hosts with those `config` lists (a reload of the config file, without a
    /// restart): hosts whose entry is unchanged are kept with their containers; new or
    /// changed ones are connected (within a second, by the health checks); dropped or
    /// changed ones take no new activations, and their containers are removed as they end.
    /// The rest of `config` is not reloaded. Refuses a config that does not validate,
    /// changing nothing; returns the names of the hosts now.
    pub fn reload_hosts(&self, config: &ContainerConfig) -> Result<Vec<String>, String> {
        config.validate()?;
        // Retiring removes containers in tasks of the domain's runtime, whoever calls.
        let _runtime = self.tasks.enter();
        let mut current = self.domain.hosts.write();
        let next: Vec<Arc<Host>> = config
            .hosts()
            .into_iter()
            .map(|wanted| {
                let same = current.iter().find(|h| h.config == wanted);
                same.cloned().unwrap_or_else(|| Arc::new(Host::new(wanted)))
            })
            .collect();
        for old in current.iter() {
            if !next.iter().any(|h| Arc::ptr_eq(h, old)) {
                tracing::info!(host = %old.config.name, "container host removed by a config reload");
                old.retire();
                self.domain.retired.lock().push(old.clone());
            }
        }
        let names = next.iter().map(|h| h.config.name.clone()).collect();
        *current = Arc::new(next);
        Ok(names)
    }

    /// Removes every container this executor runs (on hosts a reload removed too).
    /// Activations still running fail.
    pub async fn shutdown(&self) {
        let retired = self.domain.retired.lock().clone();
        let retired = retired
            .iter()
            .filter_map(|h| h.engine().map(|e| e.pool.clone()));
        let pools: Vec<Arc<Pool>> = self.pools().into_iter().chain(retired).collect();
        let _ = self
            .tasks
            .spawn(async move {
                for pool in pools {
                    pool.shutdown().await;
                }
            })
            .await;
    }
}

impl Domain {
    /// Connects `host`'s engine and gives it a pool (once; later calls do nothing).
    async fn connect(&self, host: &Arc<Host>) -> Result<(), DriverError> {
        if host.engine().is_some() {
            return Ok(());
        }
        let driver: Arc<dyn ContainerDriver> = match &host.config.kubernetes {
            Some(cluster) => Arc::new(KubernetesDriver::connect(&host.config, cluster).await?),
            None => Arc::new(DockerDriver::connect(&host.config).await?),
        };
        let architecture = driver.facts().architecture.clone();
        let settings = PoolSettings {
            capacity_mb: host.config.capacity_mb,
            stem_cells: self.stem_cells(&architecture),
            host_tags: host.config.tags.clone(),
            ..self.settings.clone()
        };
        let incarnation = format!("{} on {}", host.config.name, endpoint(&host.config));
        let first = !self.cleaned.lock().contains(&incarnation);
        let left = host.attach(driver, settings, first).await?;
        // Only once the clean-up is done (a failed or cut-short one is tried again).
        self.cleaned.lock().insert(incarnation);
        if left > 0 {
            tracing::info!(host = %host.config.name, left, "removed containers left by an earlier run");
        }
        if let Some(engine) = host.engine() {
            engine.pool.start_prewarms();
        }
        Ok(())
    }

    /// The prewarmed containers a host of `architecture` keeps: (image, memory, count) of the
    /// runtimes with an image for it.
    fn stem_cells(&self, architecture: &str) -> Vec<(String, u64, usize)> {
        let runs_here = |r: &Runtime| {
            r.architectures()
                .is_none_or(|archs| archs.iter().any(|a| a == architecture))
        };
        let mut cells = Vec::new();
        for runtime in self.config.runtimes.iter().filter(|r| runs_here(r)) {
            if let Some(image) = runtime.image_for(architecture) {
                for cell in &runtime.prewarm {
                    cells.push((image.to_string(), cell.memory_mb, cell.count));
                }
            }
        }
        cells
    }

    /// Once a second: connects the hosts that never answered, checks the others (marking
    /// them down or up again), removes containers idle for too long and tops up the
    /// prewarmed ones.
    async fn look_after_hosts(&self) {
        let hosts = self.hosts.read().clone();
        let checks = hosts.iter().map(|host| async move {
            let looked_after = async {
                if host.engine().is_none() {
                    let _ = self.connect(host).await;
                } else if host.check().await
                    && let Some(engine) = host.engine()
                {
                    engine.pool.reap_idle();
                    engine.pool.start_prewarms();
                }
            };
            let _ = tokio::time::timeout(LOOK_AFTER, looked_after).await;
        });
        futures_util::future::join_all(checks).await;
    }

    /// The image an action runs in on a host of `architecture`: its own for `blackbox`, its
    /// kind's for that architecture otherwise.
    fn image_of(&self, action: &ActionCode, architecture: &str) -> Option<String> {
        if action.kind == BLACKBOX {
            return action.image.clone().filter(|_| self.config.blackbox);
        }
        let runtime = self.config.runtime(&action.kind)?;
        runtime.image_for(architecture).map(str::to_string)
    }

    /// The image named in errors and asked about, and the architectures it exists for: as
    /// the manifest declares them, else as the registry or an engine reports them; `None`
    /// when nobody knows, or when the connected hosts share one architecture (each engine
    /// then checks the image itself, as a single host does). Only an image's first
    /// activation waits for the answer (at most [`PLATFORMS_WAIT`]): later ones take what is
    /// known, and one a minute asks again in the background.
    async fn architectures(
        self: &Arc<Self>,
        action: &ActionCode,
        hosts: &[Arc<Host>],
    ) -> (String, Option<Vec<String>>) {
        let image = if action.kind == BLACKBOX {
            action.image.clone().unwrap_or_default()
        } else {
            match self.config.runtime(&action.kind) {
                Some(runtime) => match runtime.architectures() {
                    Some(declared) => return (runtime.image.clone(), Some(declared)),
                    None => runtime.image.clone(),
                },
                None => return (String::new(), None),
            }
        };
        if !mixed(hosts) {
            return (image, None);
        }
        let known = {
            let mut platforms = self.platforms.lock();
            match platforms.get_mut(&image) {
                Some((asked, archs)) => {
                    if asked.elapsed() >= PLATFORMS_FOR {
                        // Asked again once: later activations see the fresh time.
                        *asked = Instant::now();
                        let (domain, image) = (self.clone(), image.clone());
                        tokio::spawn(async move { domain.ask_platforms(image).await });
                    }
                    Some(archs.clone())
                }
                None => None,
            }
        };
        match known {
            Some(archs) => (image, archs),
            None => {
                // Asked in a task of its own, so that an answer that comes after the wait is
                // still recorded.
                let (domain, asked) = (self.clone(), image.clone());
                let asking = tokio::spawn(async move { domain.ask_platforms(asked).await });
                let archs = tokio::time::timeout(PLATFORMS_WAIT, asking).await;
                (image, archs.ok().and_then(Result::ok).flatten())
            }
        }
    }

    /// Asks the hosts, in turn, which architectures `image` exists for, and records the
    /// answer (keeping an earlier one when nobody knows now).
    async fn ask_platforms(&self, image: String) -> Option<Vec<String>> {
        let hosts = self.hosts.read().clone();
        let mut archs = None;
        for engine in hosts
            .iter()
            .filter(|h| h.usable())
            .filter_map(|h| h.engine())
        {
            archs = engine.driver.image_platforms(&image).await.unwrap_or(None);
            if archs.is_some() {
                break;
            }
        }
        let mut platforms = self.platforms.lock();
        if archs.is_none()
            && let Some((_, earlier)) = platforms.get(&image)
        {
            archs = earlier.clone();
        }
        remember(&mut platforms, image, archs.clone());
        archs
    }

    /// Places `inv` on a host and runs it there.
    async fn run(self: Arc<Self>, inv: Invocation) -> Outcome {
        let key = WarmKey::of(&inv);
        let hosts = self.hosts.read().clone();
        let (image, architectures) = self.architectures(&inv.action, &hosts).await;
        let tags = &inv.action.host_tags;
        let demand = Demand {
            key: &key,
            image: &image,
            architectures: architectures.as_deref(),
            tags: &tags.tags,
            strict: tags.strict,
            memory_mb: inv.limits.memory_mb,
        };
        let host = match self.policy.place(&demand, &hosts) {
            Ok(i) => hosts[i].clone(),
            Err(unplaced) => return Outcome::failed(Failure::Internal(unplaced.to_string())),
        };
        let Some(architecture) = host.engine().map(|e| e.driver.facts().architecture.clone())
        else {
            return Outcome::failed(Failure::Internal(host_down(&host)));
        };
        let Some(image) = self.image_of(&inv.action, &architecture) else {
            return Outcome::failed(Failure::Internal(format!(
                "no container image for kind '{}' on {architecture}",
                inv.action.kind
            )));
        };
        activate(&host, &self.http, inv, key, image).await
    }
}

/// Records what `image` was found to exist for, keeping at most [`PLATFORMS_KEPT`] images
/// (the names are the tenants'): when full, answers older than [`PLATFORMS_FOR`] go, and if
/// that frees nothing, all of them (each is asked again at its next activation).
fn remember(platforms: &mut HashMap<String, Asked>, image: String, archs: Option<Vec<String>>) {
    if platforms.len() >= PLATFORMS_KEPT && !platforms.contains_key(&image) {
        platforms.retain(|_, (asked, _)| asked.elapsed() < PLATFORMS_FOR);
        if platforms.len() >= PLATFORMS_KEPT {
            platforms.clear();
        }
    }
    platforms.insert(image, (Instant::now(), archs));
}

/// Whether the connected `hosts` (up or down) run more than one architecture.
fn mixed(hosts: &[Arc<Host>]) -> bool {
    let mut archs = hosts
        .iter()
        .filter_map(|h| h.engine())
        .map(|e| e.driver.facts().architecture.as_str());
    let first = archs.next();
    archs.any(|a| Some(a) != first)
}

/// The failure of an activation whose host stopped answering.
fn host_down(host: &Host) -> String {
    format!(
        "The container host '{}' stopped answering during the activation.",
        host.config.name
    )
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
        let image = if code.kind == BLACKBOX {
            code.image.clone().filter(|_| self.domain.config.blackbox)
        } else {
            self.domain
                .config
                .runtime(&code.kind)
                .map(|r| r.image.clone())
        };
        match image {
            Some(image) if !image.trim().is_empty() => Ok(()),
            _ => Err(PrepareError(format!(
                "no container image is configured for kind '{}'",
                code.kind
            ))),
        }
    }

    fn invoke(&self, inv: Invocation) -> BoxFuture<Outcome> {
        self.activations.fetch_add(1, Ordering::Relaxed);
        let task = self.tasks.spawn(self.domain.clone().run(inv));
        Box::pin(async move {
            task.await
                .unwrap_or_else(|e| Outcome::failed(Failure::Internal(e.to_string())))
        })
    }

    fn stats(&self) -> ExecutorStats {
        let pools = self.pools();
        let sum = |f: &dyn Fn(&Pool) -> u64| pools.iter().map(|p| f(p)).sum();
        ExecutorStats {
            name: "container",
            resident: sum(&|p| p.resident() as u64),
            resident_bytes: sum(&|p| p.resident_bytes()),
            cold_starts: sum(&|p| p.counters.cold_starts.load(Ordering::Relaxed)),
            activations: self.activations.load(Ordering::Relaxed),
            evictions: sum(&|p| p.counters.evictions()),
            hand_offs: 0,
        }
    }

    fn hosts(&self) -> Vec<HostReport> {
        let hosts = self.domain.hosts.read().clone();
        hosts.iter().map(|h| report(h)).collect()
    }
}

/// Where a host is reached: its engine's endpoint, or its cluster's API server (or
/// kubeconfig) and namespace.
fn endpoint(host: &HostConfig) -> String {
    match &host.kubernetes {
        Some(k) => {
            let server = match (&k.api_server, &k.kubeconfig) {
                (Some(url), _) => url.clone(),
                (None, Some(file)) => file.display().to_string(),
                (None, None) => "in-cluster".into(),
            };
            format!("{server} namespace {}", k.namespace)
        }
        None => host.docker_host.clone(),
    }
}

/// What `GET /api/v1/nodes` shows of `host`.
fn report(host: &Host) -> HostReport {
    let mut report = HostReport {
        name: host.config.name.clone(),
        driver: match host.config.kubernetes {
            Some(_) => "kubernetes",
            None => "docker",
        },
        endpoint: endpoint(&host.config),
        tags: host.config.tags.clone(),
        capacity_mb: host.config.capacity_mb,
        up: host.usable(),
        ..HostReport::default()
    };
    if let Some(Engine { driver, pool }) = host.engine() {
        let facts = driver.facts();
        let held = pool.occupancy();
        report.architecture = facts.architecture.clone();
        report.os = facts.os.clone();
        report.cpus = facts.cpus;
        report.memory_bytes = facts.memory_bytes;
        report.labels = facts.labels.clone();
        report.can_pause = driver.can_pause();
        report.in_use_mb = held.in_use_mb;
        report.busy = held.busy;
        report.warm = held.warm;
        report.paused = held.paused;
        report.prewarm = held.prewarm;
    }
    report
}

/// Waits for `request` unless `host` is marked down first (`None` then).
async fn unless_down<T>(host: &Host, request: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::select! {
        answer = request => Some(answer),
        () = host.went_down() => None,
    }
}

/// One activation on `host`: a container, `/init` when it is not warm (on another container
/// when the proxy answers 503), `/run`, the logs, and the container kept warm or removed.
/// `/init` and `/run` each get the action's whole time limit (spec §7.2, §7.3); getting the
/// container has bounds of its own. When the host stops answering meanwhile (its health
/// check fails, or the proxy's connection breaks and its engine does not answer either), the
/// activation fails at once as a whisk internal error.
async fn activate(
    host: &Arc<Host>,
    http: &ProxyClient,
    inv: Invocation,
    key: WarmKey,
    image: String,
) -> Outcome {
    let Some(pool) = host.engine().map(|e| e.pool.clone()) else {
        return Outcome::failed(Failure::Internal(host_down(host)));
    };
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
        let posted = http.post(container.address, "/init", &body, deadline);
        let Some(answer) = answered(host, posted).await else {
            pool.remove(container, Removal::Failed);
            return Outcome::failed(Failure::Internal(host_down(host)));
        };
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
    let posted = http.post(container.address, "/run", &body, deadline);
    let Some(answer) = answered(host, posted).await else {
        pool.remove(container, Removal::Failed);
        return Outcome::finished(
            Err(Failure::Internal(host_down(host))),
            Vec::new(),
            start,
            init_ms,
        );
    };
    let (result, healthy) = protocol::run_verdict(&answer);
    let result = match result {
        Err(failure) => Err(memory_or(&pool, &container, &answer, failure).await),
        ok => ok,
    };
    let logs = logs_of(&mut container, &inv, &result).await;
    pool.release(container, key, healthy && logs.delimited);
    Outcome::finished(result, logs.lines, start, init_ms)
}

/// The proxy's answer to a request on `host`, or `None` when the host stopped answering: it
/// was marked down meanwhile, or the connection broke and its engine does not answer a
/// health check now either.
async fn answered(
    host: &Host,
    request: impl std::future::Future<Output = Answer>,
) -> Option<Answer> {
    let answer = unless_down(host, request).await?;
    if answer == Answer::Unreachable && !host.still_answers().await {
        return None;
    }
    Some(answer)
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

    /// `inv` run on `host` in a container of `image`.
    async fn run(host: &Arc<Host>, inv: Invocation, image: &str) -> Outcome {
        let key = WarmKey::of(&inv);
        activate(host, &ProxyClient::default(), inv, key, image.into()).await
    }

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
        let host = testing::host(driver.clone(), 1024).await;
        let inv = testing::invocation("/guest/bb", BLACKBOX);
        let outcome = run(&host, inv, "test/bb").await;
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
        let host = testing::host(driver.clone(), 1024).await;
        let inv = testing::invocation("/guest/bb", BLACKBOX);
        let outcome = run(&host, inv, "test/bb").await;
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
        let host = testing::host(driver.clone(), 1024).await;
        let python = testing::invocation("/guest/py", "python:3.11");
        let outcome = run(&host, python, "test/runtime").await;
        assert_eq!(
            outcome.result,
            Err(Failure::Internal(protocol::INIT_EXITED.into())),
            "the manifest's image is the platform's"
        );
        let blackbox = testing::invocation("/guest/bb", BLACKBOX);
        let outcome = run(&host, blackbox, "test/bb").await;
        assert_eq!(
            outcome.result,
            Err(Failure::DeveloperError(protocol::INIT_EXITED.into()))
        );
    }

    #[test]
    fn remembered_architectures_stay_bounded_whatever_the_image_names() {
        let mut platforms = HashMap::new();
        for n in 0..3 * PLATFORMS_KEPT {
            remember(&mut platforms, format!("tenant/image-{n}"), None);
            assert!(platforms.len() <= PLATFORMS_KEPT);
        }
        remember(&mut platforms, "kept".into(), Some(vec!["arm64".into()]));
        remember(&mut platforms, "kept".into(), Some(vec!["amd64".into()]));
        assert_eq!(platforms["kept"].1, Some(vec!["amd64".to_string()]));
    }

    #[tokio::test]
    async fn a_host_that_stops_answering_fails_its_running_activation_at_once() {
        // A proxy that accepts connections and never answers: the activation waits on it,
        // and says so when it connects.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (connected, waiting) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut held = Vec::new();
            let mut connected = Some(connected);
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                if let Some(tx) = connected.take() {
                    let _ = tx.send(());
                }
            }
        });
        let driver = Arc::new(FakeDriver::default());
        driver.addresses.lock().push_back(address);
        let host = testing::host(driver.clone(), 1024).await;
        let inv = testing::invocation("/guest/bb", BLACKBOX);
        let running = tokio::spawn({
            let host = host.clone();
            async move { run(&host, inv, "test/bb").await }
        });
        waiting.await.unwrap();
        driver
            .silent
            .store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(host.check().await, "one failed health check is not enough");
        assert!(!host.check().await, "the second in a row marks it down");
        let outcome = running.await.unwrap();
        assert_eq!(
            outcome.result,
            Err(Failure::Internal(
                "The container host 'test' stopped answering during the activation.".into()
            ))
        );
        let pool = &host.engine().unwrap().pool;
        assert_eq!(pool.resident(), 0, "its container is given up");
        assert_eq!(pool.free_mb(), 1024, "and its memory given back");
    }
}
