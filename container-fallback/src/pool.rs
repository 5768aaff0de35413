//! [`Pool`]: every container shoal runs, and who may use it (spec §7.6). Warm containers are
//! reused only by the same action version, limits, `init` parameters and invoking namespace;
//! prewarmed "stem cells" of a kind and memory size are taken by cold starts and replaced;
//! idle warm containers are paused after a grace period and removed after an idle timeout; the
//! memory of all of them is bounded by a capacity, past which activations queue and are served
//! first come, first served.
//!
//! Getting a container never eats the action's time limit: pulling an image and starting a
//! container (until its proxy listens) have bounds of their own, and only the wait for
//! capacity is bounded by the activation's deadline.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use shoal_router::{Failure, Invocation};
use tokio::sync::Notify;

use crate::driver::{ContainerDriver, ContainerSpec, DriverError, ImageFacts, Started};
use crate::logs::LogTail;

/// The label marking containers as this pool's (its value names the owner).
pub const OWNER_LABEL: &str = "shoal.owner";

/// How long the engine may take to create and start a container (and to report a failure),
/// on top of the start timeout its proxy gets to listen, before the pool stops waiting for it.
const ENGINE_SLACK: Duration = Duration::from_secs(10);
/// How long a container whose proxy broke its connection may take to stop, so that the
/// engine can say whether it was killed for its memory.
const DYING: Duration = Duration::from_millis(500);

/// The number in the next container's name: one count for the whole process, so a host
/// replaced by a config reload never picks a name its predecessor's containers still hold.
static NAMES: AtomicU64 = AtomicU64::new(0);

/// The opening of OpenWhisk's text for an activation the platform could not place (§3.4).
pub(crate) const PROVISION_FAILED: &str = "Failed to provision resources to run the action.";

/// How long a prewarm that failed waits before its next attempt; each further failure in a
/// row doubles it, up to [`PREWARM_BACKOFF_MAX`].
const PREWARM_BACKOFF_FIRST: Duration = Duration::from_secs(2);
/// The longest wait between prewarm attempts that keep failing.
const PREWARM_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Why the pool could not provide a container: whisk internal errors, their texts the
/// activation's result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// The action needs more memory than the whole capacity: it could never run.
    #[error(
        "{} The action's memory limit of {memory_mb} MB exceeds the container capacity of {capacity_mb} MB.",
        PROVISION_FAILED
    )]
    TooLarge {
        /// The action's `limits.memory`.
        memory_mb: u64,
        /// The pool's capacity.
        capacity_mb: u64,
    },
    /// The activation waited for capacity until its deadline.
    #[error(
        "{} No container capacity became free within the action's time limit of {timeout_ms} milliseconds.",
        PROVISION_FAILED
    )]
    CapacityFull {
        /// The action's `limits.timeout`.
        timeout_ms: u64,
    },
    /// The engine did not start a container within the start timeout plus its slack.
    #[error(
        "{} The container engine did not start a container within {seconds} seconds.",
        PROVISION_FAILED
    )]
    EngineTimeout {
        /// The start timeout.
        seconds: u64,
    },
    /// The pool is shutting down.
    #[error("{} The container pool is shut down.", PROVISION_FAILED)]
    Closed,
    /// The pool's host stopped answering.
    #[error("{} Its container host stopped answering.", PROVISION_FAILED)]
    HostDown,
}

impl From<Unavailable> for Failure {
    fn from(u: Unavailable) -> Failure {
        Failure::Internal(u.to_string())
    }
}

/// What a warm container may be reused for: a digest of the invoking namespace, the action's
/// identity, version and code, its memory limit, its `init` parameters and whether it gets an
/// API key (OpenWhisk's "equal action definition and same namespace" rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WarmKey([u8; 32]);

impl WarmKey {
    /// The key of `inv`'s action as invoked by its tenant.
    pub fn of(inv: &Invocation) -> Self {
        let mut h = Sha256::new();
        let a = &inv.action;
        let memory = inv.limits.memory_mb.to_string();
        let init = serde_json::to_string(&inv.init_env).unwrap_or_default();
        let api_key = if inv.env.api_key.is_some() { "1" } else { "0" };
        for part in [&*inv.tenant, &a.fqn, &a.version, &memory, &init, api_key] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update(a.digest);
        WarmKey(h.finalize().into())
    }

    /// A key of the given digest bytes (tests and models of placement).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        WarmKey(bytes)
    }

    /// 64 bits of the key: its action's place among the hosts (see [`crate::placement`]).
    pub fn home_hash(&self) -> u64 {
        let mut first = [0; 8];
        first.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(first)
    }
}

/// The parts of a container that outlive a lease: shared with its pause timer.
#[derive(Debug)]
struct Handle {
    id: String,
    paused: AtomicBool,
    /// Serialises pause and unpause of this container.
    transitions: tokio::sync::Mutex<()>,
}

/// A running container with an action proxy, owned by one holder at a time.
#[derive(Debug)]
pub struct Container {
    handle: Arc<Handle>,
    /// Where its proxy listens.
    pub address: SocketAddr,
    /// Its output not yet collected.
    pub logs: LogTail,
    /// Its memory limit, in MB (what it counts against the capacity).
    pub memory_mb: u64,
    /// Whether its image declares that its proxy prints the log sentinels.
    pub log_sentinels: bool,
    /// The image it runs (prewarmed containers are matched by image and memory).
    image: String,
}

impl Container {
    /// The engine id.
    pub fn id(&self) -> &str {
        &self.handle.id
    }
}

/// How a container was obtained for an activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Reused warm: already initialised with this action.
    Warm,
    /// Taken from the prewarmed containers: needs `/init`.
    Prewarm,
    /// Created for this activation: needs `/init`.
    Cold,
}

/// Why a container is removed; the stats count the first three as evictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Unused for the idle timeout.
    Idle,
    /// Removed to make room under the capacity.
    Capacity,
    /// Unfit after an activation: a developer error, a timeout, an OOM kill, logs that could
    /// not be delimited, a proxy shutting down, an engine refusing to unpause it.
    Failed,
    /// Never served: the pool shut down while it started.
    Unused,
}

struct Idle {
    key: WarmKey,
    container: Container,
    since: Instant,
    generation: u64,
}

/// An activation waiting for capacity.
struct Waiter {
    ticket: u64,
    /// Whose warm container would serve it: woken when one goes idle, and such a container
    /// is never evicted for another waiter.
    key: WarmKey,
    wake: Arc<Notify>,
}

#[derive(Default)]
struct State {
    idle: Vec<Idle>,
    prewarmed: Vec<Container>,
    /// Prewarms being created, by image and memory.
    prewarming: Vec<(String, u64)>,
    /// Image and memory of prewarms that failed in a row: how many times, and when to try
    /// again (so a missing image or a broken engine costs one attempt per backoff period,
    /// not one per top-up tick).
    prewarm_backoff: HashMap<(String, u64), (u32, tokio::time::Instant)>,
    /// MB held by every live container, starting ones included.
    used_mb: u64,
    /// Every live container's id and memory limit (MB).
    live: HashMap<String, u64>,
    /// Activations waiting for capacity, oldest first. Only the first may take a prewarmed
    /// or new container, or evict; the others wait behind it, so none is overtaken. Any of
    /// them takes its own warm container as soon as one is idle.
    queue: VecDeque<Waiter>,
    closed: bool,
    /// Set while the host does not answer: nobody may take, create or wait for a container.
    suspended: bool,
}

impl State {
    /// Lets the first waiting activation look again (capacity was freed, or a container
    /// became idle or prewarmed).
    fn wake_first(&self) {
        if let Some(w) = self.queue.front() {
            w.wake.notify_one();
        }
    }
}

/// What a pool holds at one moment (see [`Pool::occupancy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Occupancy {
    /// MB held by live and starting containers.
    pub in_use_mb: u64,
    /// Containers running an activation.
    pub busy: u64,
    /// Idle warm containers, unpaused.
    pub warm: u64,
    /// Idle warm containers, paused.
    pub paused: u64,
    /// Prewarmed containers.
    pub prewarm: u64,
}

/// Counters reported by the executor's stats.
#[derive(Debug, Default)]
pub struct Counters {
    /// Containers created for an activation (prewarm hits not included).
    pub cold_starts: AtomicU64,
    /// Activations that took a prewarmed container.
    pub prewarm_hits: AtomicU64,
    /// Containers removed after the idle timeout.
    pub idle_removals: AtomicU64,
    /// Containers removed to make room under the capacity.
    pub capacity_evictions: AtomicU64,
    /// Containers removed because an activation left them unfit.
    pub failure_removals: AtomicU64,
}

impl Counters {
    /// Containers evicted: removed when idle, for capacity, or after a failure.
    pub fn evictions(&self) -> u64 {
        self.idle_removals.load(Ordering::Relaxed)
            + self.capacity_evictions.load(Ordering::Relaxed)
            + self.failure_removals.load(Ordering::Relaxed)
    }
}

/// What a pool is told at start.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Owner label value: containers of an earlier run with it are removed at start.
    pub owner: String,
    /// Total MB of live containers.
    pub capacity_mb: u64,
    /// Idle time before a warm container is paused.
    pub pause_grace: Duration,
    /// Idle time before a container is removed.
    pub idle_timeout: Duration,
    /// Longest wait for an image to be pulled.
    pub pull_timeout: Duration,
    /// Longest wait for a started container's proxy to listen (the engine gets
    /// `ENGINE_SLACK` more to create and start it).
    pub start_timeout: Duration,
    /// Environment every container starts with (`__OW_API_HOST=…`).
    pub env: Vec<String>,
    /// Prewarmed containers to keep: (image, memory MB, count).
    pub stem_cells: Vec<(String, u64, usize)>,
    /// The tags of the pool's host: those an action asks for are passed on to its
    /// containers (a cluster keeps their pods to nodes carrying them).
    pub host_tags: Vec<String>,
}

/// The containers. Shared (`Arc`); every method may be called from any task of the runtime
/// the pool was started on. The state lock is held only for list edits, never across I/O.
pub struct Pool {
    driver: Arc<dyn ContainerDriver>,
    settings: PoolSettings,
    state: Mutex<State>,
    generations: AtomicU64,
    tickets: AtomicU64,
    /// Containers whose removal the engine failed, to try again.
    strays: Mutex<Vec<String>>,
    /// Cold starts, prewarm hits, evictions.
    pub counters: Counters,
}

/// An activation's place in the capacity queue; leaving it (on success, timeout or drop)
/// lets the next one look.
struct Place<'a> {
    pool: &'a Pool,
    ticket: u64,
    wake: Arc<Notify>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut st = self.pool.state.lock();
        if let Some(i) = st.queue.iter().position(|w| w.ticket == self.ticket) {
            st.queue.remove(i);
            if i == 0 {
                st.wake_first();
            }
        }
    }
}

/// How a container start ended.
enum Launch {
    Ready(Started),
    /// The engine (or the driver task) said why not; whose fault it is, `create` decides.
    Failed(DriverError),
    /// The engine did not answer in time; the start goes on in the background, which removes
    /// the container and gives its memory back when the engine is done.
    Abandoned(Failure),
}

impl Pool {
    /// A pool on `driver`. Call [`Pool::clean_up_earlier_runs`] before use.
    pub fn new(driver: Arc<dyn ContainerDriver>, settings: PoolSettings) -> Arc<Self> {
        Arc::new(Pool {
            driver,
            settings,
            state: Mutex::new(State::default()),
            generations: AtomicU64::new(0),
            tickets: AtomicU64::new(0),
            strays: Mutex::new(Vec::new()),
            counters: Counters::default(),
        })
    }

    /// Removes the containers an earlier run of the same owner left behind (after a crash or
    /// `kill -9`); returns how many.
    pub async fn clean_up_earlier_runs(&self) -> Result<usize, DriverError> {
        self.driver
            .remove_labelled(OWNER_LABEL, &self.settings.owner)
            .await
    }

    /// Whether the engine says container `id` was killed for exceeding its memory limit.
    /// The kill and the broken connection that made the caller ask race: a dying container
    /// gets half a second to stop. Costs one engine call every 25 ms meanwhile.
    pub async fn oom_killed(&self, id: &str) -> bool {
        let until = Instant::now() + DYING;
        loop {
            match self.driver.state(id).await {
                Ok(s) if s.oom_killed => return true,
                Ok(s) if s.running && Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                _ => return false,
            }
        }
    }

    /// Live containers (busy, idle, prewarmed).
    pub fn resident(&self) -> usize {
        self.state.lock().live.len()
    }

    /// The memory limits of the live containers, in bytes: what they may use, and what the
    /// capacity counts.
    pub fn resident_bytes(&self) -> u64 {
        self.state.lock().live.values().sum::<u64>() * 1024 * 1024
    }

    /// Prewarmed containers ready to be taken.
    pub fn prewarmed(&self) -> usize {
        self.state.lock().prewarmed.len()
    }

    /// MB of the capacity not held by busy or starting containers: what an activation could
    /// have here, by evicting idle and prewarmed containers if need be.
    pub fn free_mb(&self) -> u64 {
        let st = self.state.lock();
        let evictable: u64 = st.idle.iter().map(|i| i.container.memory_mb).sum::<u64>()
            + st.prewarmed.iter().map(|c| c.memory_mb).sum::<u64>();
        let held = st.used_mb.saturating_sub(evictable);
        self.settings.capacity_mb.saturating_sub(held)
    }

    /// Whether an idle container is kept warm for `key`.
    pub fn has_warm(&self, key: &WarmKey) -> bool {
        self.state.lock().idle.iter().any(|i| i.key == *key)
    }

    /// What it holds now: MB in use, and how many containers are busy, warm (unpaused),
    /// paused and prewarmed.
    pub fn occupancy(&self) -> Occupancy {
        let st = self.state.lock();
        let paused = st
            .idle
            .iter()
            .filter(|i| i.container.handle.paused.load(Ordering::Relaxed))
            .count() as u64;
        let idle = st.idle.len() as u64;
        let prewarm = st.prewarmed.len() as u64;
        Occupancy {
            in_use_mb: st.used_mb,
            busy: (st.live.len() as u64).saturating_sub(idle + prewarm),
            warm: idle - paused,
            paused,
            prewarm,
        }
    }

    /// Suspends the pool while its host does not answer (`true`): activations waiting for
    /// capacity and new ones fail at once, as whisk internal errors; resumes it (`false`).
    pub fn suspend(&self, suspended: bool) {
        let mut st = self.state.lock();
        if st.suspended == suspended {
            return;
        }
        st.suspended = suspended;
        for waiter in &st.queue {
            waiter.wake.notify_one();
        }
    }

    /// Retries the container removals the engine failed (while its host did not answer):
    /// their containers may still run, unaccounted. Called when the host answers.
    pub async fn remove_strays(&self) {
        let strays = std::mem::take(&mut *self.strays.lock());
        for id in strays {
            if self.driver.remove(&id).await.is_err() {
                self.strays.lock().push(id);
            }
        }
    }

    /// Refuses new activations and removes the idle and prewarmed containers now; busy ones
    /// are removed as their activations end (a config reload dropped the host).
    pub fn retire(self: &Arc<Self>) {
        {
            let mut st = self.state.lock();
            st.closed = true;
            st.wake_first();
        }
        self.drop_idle();
    }

    /// Removes the idle and prewarmed containers (their host stopped answering: they may be
    /// gone, and must not be handed out as warm when it answers again).
    pub fn drop_idle(self: &Arc<Self>) {
        let dropped: Vec<Container> = {
            let mut st = self.state.lock();
            let idle = std::mem::take(&mut st.idle)
                .into_iter()
                .map(|i| i.container);
            let prewarmed = std::mem::take(&mut st.prewarmed);
            idle.chain(prewarmed).collect()
        };
        for container in dropped {
            self.remove(container, Removal::Failed);
        }
    }

    /// A container for `inv` running `image`: a warm one of the same [`WarmKey`] (unpaused if
    /// needed), else a prewarmed one of the same image and memory, else a new one. When the
    /// capacity is full, idle containers are removed to make room; when none is idle, the
    /// activation queues behind earlier ones until a container ends, at most until
    /// `inv.deadline`. An action needing more than the whole capacity fails at once.
    pub async fn acquire(
        self: &Arc<Self>,
        inv: &Invocation,
        key: WarmKey,
        image: &str,
    ) -> Result<(Container, Start), Failure> {
        let memory_mb = inv.limits.memory_mb;
        let capacity_mb = self.settings.capacity_mb;
        if memory_mb > capacity_mb {
            return Err(Unavailable::TooLarge {
                memory_mb,
                capacity_mb,
            }
            .into());
        }
        let mut place = None;
        loop {
            match self.next_step(&mut place, key, image, memory_mb) {
                Step::Warm(container) => {
                    // Leave the queue before the unpause (an engine call): the next in line
                    // need not wait for it. One that fails to resume (rare) queues again.
                    drop(place.take());
                    if let Some(container) = self.resume(container).await {
                        return Ok((container, Start::Warm));
                    }
                }
                Step::Prewarm(container) => {
                    // Leave the queue first: a waiting activation stops prewarms.
                    drop(place.take());
                    self.counters.prewarm_hits.fetch_add(1, Ordering::Relaxed);
                    self.replenish(image.to_string(), memory_mb);
                    return Ok((container, Start::Prewarm));
                }
                Step::Create => {
                    // The memory is reserved: the next in line may look now.
                    drop(place.take());
                    let developers_image = inv.action.kind == crate::BLACKBOX;
                    let action = &inv.env.action_name;
                    let tags: Vec<String> = (inv.action.host_tags.tags.iter())
                        .filter(|t| self.settings.host_tags.contains(t))
                        .cloned()
                        .collect();
                    let container = self
                        .create(image, memory_mb, (action, tags), developers_image)
                        .await?;
                    self.counters.cold_starts.fetch_add(1, Ordering::Relaxed);
                    return Ok((container, Start::Cold));
                }
                Step::Evicted(victim) => self.remove(victim, Removal::Capacity),
                Step::Wait(wake) => {
                    let deadline = tokio::time::Instant::from_std(inv.deadline);
                    if tokio::time::timeout_at(deadline, wake.notified())
                        .await
                        .is_err()
                    {
                        let timeout_ms = inv.limits.timeout_ms;
                        return Err(Unavailable::CapacityFull { timeout_ms }.into());
                    }
                }
                Step::Closed => return Err(Unavailable::Closed.into()),
                Step::Down => return Err(Unavailable::HostDown.into()),
            }
        }
    }

    /// What the activation holding `place` (none yet: just arrived) does next. Its own warm
    /// container it takes at once, whatever the queue (that needs no capacity); only the first
    /// in the queue (or an arrival when nobody waits) may take a prewarmed container, create
    /// one or evict; anyone else queues, and is given a place if it has none.
    fn next_step<'a>(
        &'a self,
        place: &mut Option<Place<'a>>,
        key: WarmKey,
        image: &str,
        memory_mb: u64,
    ) -> Step {
        let mut st = self.state.lock();
        if st.closed {
            return Step::Closed;
        }
        if st.suspended {
            return Step::Down;
        }
        if let Some(i) = st.idle.iter().position(|c| c.key == key) {
            return Step::Warm(st.idle.swap_remove(i).container);
        }
        let first = st.queue.front().map(|w| w.ticket);
        let my_turn = match place {
            None => first.is_none(),
            Some(p) => first == Some(p.ticket),
        };
        if my_turn {
            if let Some(i) = st
                .prewarmed
                .iter()
                .position(|c| c.image == image && c.memory_mb == memory_mb)
            {
                return Step::Prewarm(st.prewarmed.swap_remove(i));
            }
            if st.used_mb + memory_mb <= self.settings.capacity_mb {
                st.used_mb += memory_mb;
                return Step::Create;
            }
            // Make room: the longest-idle warm container no waiter wants, then a prewarmed
            // one.
            let wanted = |k: &WarmKey| st.queue.iter().any(|w| w.key == *k);
            let oldest = (0..st.idle.len())
                .filter(|&i| !wanted(&st.idle[i].key))
                .min_by_key(|&i| st.idle[i].since);
            if let Some(i) = oldest {
                return Step::Evicted(st.idle.swap_remove(i).container);
            }
            if !st.prewarmed.is_empty() {
                return Step::Evicted(st.prewarmed.swap_remove(0));
            }
        }
        let place = place.get_or_insert_with(|| {
            let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
            let wake = Arc::new(Notify::new());
            st.queue.push_back(Waiter {
                ticket,
                key,
                wake: wake.clone(),
            });
            Place {
                pool: self,
                ticket,
                wake,
            }
        });
        Step::Wait(place.wake.clone())
    }

    /// Unpauses a warm container taken from the idle list; `None` (and the container removed)
    /// if the engine refuses.
    async fn resume(self: &Arc<Self>, container: Container) -> Option<Container> {
        let handle = container.handle.clone();
        let _transition = handle.transitions.lock().await;
        if handle.paused.load(Ordering::Acquire) {
            if self.driver.unpause(&handle.id).await.is_err() {
                drop(_transition);
                self.remove(container, Removal::Failed);
                return None;
            }
            handle.paused.store(false, Ordering::Release);
        }
        Some(container)
    }

    /// Creates a container whose memory is already counted in `used_mb`: the image pulled
    /// within the pull timeout, the container started and its proxy listening within the
    /// start timeout (the engine's own steps get `ENGINE_SLACK` more). On failure the memory
    /// is given back (once the engine is done with it); the image's faults are developer
    /// errors only when it is `developers_image`.
    async fn create(
        self: &Arc<Self>,
        image: &str,
        memory_mb: u64,
        (action, tags): (&str, Vec<String>),
        developers_image: bool,
    ) -> Result<Container, Failure> {
        let prepared =
            tokio::time::timeout(self.settings.pull_timeout, self.driver.prepare_image(image))
                .await;
        let failure = match prepared {
            Ok(Ok(facts)) => match self.launch(image, memory_mb, action, tags).await {
                Launch::Failed(e) => e.failure(developers_image),
                Launch::Ready(started) => return self.register(started, facts, image, memory_mb),
                Launch::Abandoned(failure) => return Err(failure),
            },
            Ok(Err(e)) => e.failure(developers_image),
            Err(_) => DriverError::Pull(image.to_string()).failure(developers_image),
        };
        self.give_back(memory_mb);
        Err(failure)
    }

    /// Starts a container of `image` on the engine, waiting at most the start timeout (plus
    /// the engine's slack) for it.
    async fn launch(
        self: &Arc<Self>,
        image: &str,
        memory_mb: u64,
        action: &str,
        tags: Vec<String>,
    ) -> Launch {
        let n = NAMES.fetch_add(1, Ordering::Relaxed);
        let spec = ContainerSpec {
            name: container_name(&self.settings.owner, n, action),
            image: image.to_string(),
            memory_mb,
            tags,
            env: self.settings.env.clone(),
            labels: vec![(OWNER_LABEL.to_string(), self.settings.owner.clone())],
            ready_within: self.settings.start_timeout,
        };
        let mut starting = tokio::spawn(self.driver.start(spec));
        let bound = self.settings.start_timeout + ENGINE_SLACK;
        match tokio::time::timeout(bound, &mut starting).await {
            Ok(Ok(Ok(started))) => Launch::Ready(started),
            Ok(Ok(Err(e))) => Launch::Failed(e),
            Ok(Err(join)) => Launch::Failed(DriverError::Engine(join.to_string())),
            Err(_) => {
                let pool = self.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(started)) = starting.await {
                        let _ = pool.driver.remove(&started.id).await;
                    }
                    pool.give_back(memory_mb);
                });
                let seconds = bound.as_secs();
                Launch::Abandoned(Unavailable::EngineTimeout { seconds }.into())
            }
        }
    }

    /// Records a started container as live and starts following its logs.
    fn register(
        self: &Arc<Self>,
        started: Started,
        facts: ImageFacts,
        image: &str,
        memory_mb: u64,
    ) -> Result<Container, Failure> {
        let closed = {
            let mut st = self.state.lock();
            st.live.insert(started.id.clone(), memory_mb);
            st.closed
        };
        let container = Container {
            logs: LogTail::follow(self.driver.logs(&started.id), self.driver.merges_streams()),
            handle: Arc::new(Handle {
                id: started.id,
                paused: AtomicBool::new(false),
                transitions: tokio::sync::Mutex::new(()),
            }),
            address: started.address,
            memory_mb,
            log_sentinels: facts.log_sentinels,
            image: image.to_string(),
        };
        if closed {
            self.remove(container, Removal::Unused);
            return Err(Unavailable::Closed.into());
        }
        Ok(container)
    }

    /// Gives back the memory of a container that never became live.
    fn give_back(&self, memory_mb: u64) {
        let mut st = self.state.lock();
        st.used_mb -= memory_mb;
        st.wake_first();
    }

    /// Gives a container back after an activation: kept warm for `key` when `healthy`
    /// (paused after the grace period), removed otherwise.
    pub fn release(self: &Arc<Self>, container: Container, key: WarmKey, healthy: bool) {
        if !healthy {
            self.remove(container, Removal::Failed);
            return;
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let handle = container.handle.clone();
        {
            let mut st = self.state.lock();
            if st.closed {
                drop(st);
                self.remove(container, Removal::Unused);
                return;
            }
            st.idle.push(Idle {
                key,
                container,
                since: Instant::now(),
                generation,
            });
            st.wake_first();
            if let Some(w) = st.queue.iter().skip(1).find(|w| w.key == key) {
                w.wake.notify_one();
            }
        }
        if !self.driver.can_pause() {
            return;
        }
        let pool = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(pool.settings.pause_grace).await;
            let _transition = handle.transitions.lock().await;
            let still_idle = pool
                .state
                .lock()
                .idle
                .iter()
                .any(|i| i.generation == generation);
            if still_idle && pool.driver.pause(&handle.id).await.is_ok() {
                handle.paused.store(true, Ordering::Release);
            }
        });
    }

    /// Removes a container in the background and gives its memory back.
    pub fn remove(self: &Arc<Self>, container: Container, why: Removal) {
        {
            let mut st = self.state.lock();
            st.used_mb -= container.memory_mb;
            st.live.remove(container.id());
            st.wake_first();
        }
        let counter = match why {
            Removal::Idle => Some(&self.counters.idle_removals),
            Removal::Capacity => Some(&self.counters.capacity_evictions),
            Removal::Failed => Some(&self.counters.failure_removals),
            Removal::Unused => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let pool = self.clone();
        tokio::spawn(async move {
            if let Err(e) = pool.driver.remove(container.id()).await {
                tracing::warn!(id = container.id(), error = %e, "container removal failed; tried again when its host answers");
                pool.strays.lock().push(container.id().to_string());
            }
        });
    }

    /// Starts one prewarmed container of `image` and `memory_mb` if fewer than `want` exist or
    /// are starting, the capacity allows and no activation waits for it; runs in the
    /// background.
    pub fn prewarm(self: &Arc<Self>, image: String, memory_mb: u64, want: usize) {
        {
            let mut st = self.state.lock();
            let have = st
                .prewarmed
                .iter()
                .filter(|c| c.image == image && c.memory_mb == memory_mb)
                .count()
                + st.prewarming
                    .iter()
                    .filter(|(i, m)| *i == image && *m == memory_mb)
                    .count();
            let room = st.used_mb + memory_mb <= self.settings.capacity_mb;
            let backing_off = st
                .prewarm_backoff
                .get(&(image.clone(), memory_mb))
                .is_some_and(|(_, retry_at)| tokio::time::Instant::now() < *retry_at);
            if st.closed || have >= want || !room || !st.queue.is_empty() || backing_off {
                return;
            }
            st.used_mb += memory_mb;
            st.prewarming.push((image.clone(), memory_mb));
        }
        let pool = self.clone();
        tokio::spawn(async move {
            // Stem cells are of the manifest's runtime images: the platform's.
            let created = pool
                .create(&image, memory_mb, ("prewarm", Vec::new()), false)
                .await;
            let mut st = pool.state.lock();
            if let Some(i) = st
                .prewarming
                .iter()
                .position(|(i, m)| *i == image && *m == memory_mb)
            {
                st.prewarming.swap_remove(i);
            }
            match created {
                Ok(container) => {
                    st.prewarm_backoff.remove(&(image, memory_mb));
                    st.prewarmed.push(container);
                    st.wake_first();
                }
                Err(failure) => {
                    let now = tokio::time::Instant::now();
                    let (failures, retry_at) = st
                        .prewarm_backoff
                        .entry((image.clone(), memory_mb))
                        .or_insert((0, now));
                    // Prewarms started together fail together: one failure per round.
                    if *retry_at <= now {
                        *failures += 1;
                        let wait = PREWARM_BACKOFF_FIRST
                            .saturating_mul(1 << (*failures - 1).min(16))
                            .min(PREWARM_BACKOFF_MAX);
                        *retry_at = now + wait;
                        tracing::warn!(%image, ?failure, retry_in = ?wait, "prewarm failed");
                    }
                }
            }
        });
    }

    /// Tops up the configured prewarmed containers (in the background). Called at start and
    /// periodically, so stem cells taken while the capacity was full come back later.
    pub fn start_prewarms(self: &Arc<Self>) {
        for (image, memory_mb, count) in &self.settings.stem_cells {
            for _ in 0..*count {
                self.prewarm(image.clone(), *memory_mb, *count);
            }
        }
    }

    /// Replaces a prewarmed container of `image` and `memory_mb` that was just taken.
    fn replenish(self: &Arc<Self>, image: String, memory_mb: u64) {
        let want = self
            .settings
            .stem_cells
            .iter()
            .find(|(i, m, _)| *i == image && *m == memory_mb)
            .map(|(_, _, n)| *n);
        if let Some(want) = want {
            self.prewarm(image, memory_mb, want);
        }
    }

    /// Removes warm containers idle for longer than the idle timeout. Called periodically.
    pub fn reap_idle(self: &Arc<Self>) {
        let now = Instant::now();
        let expired: Vec<Container> = {
            let mut st = self.state.lock();
            let (old, keep): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut st.idle)
                .into_iter()
                .partition(|i| now.duration_since(i.since) >= self.settings.idle_timeout);
            st.idle = keep;
            old.into_iter().map(|i| i.container).collect()
        };
        for container in expired {
            self.remove(container, Removal::Idle);
        }
    }

    /// Refuses new activations and removes every live container (busy ones included: their
    /// activations fail; paused ones too). Returns when the engine has removed them.
    pub async fn shutdown(&self) {
        let ids: Vec<String> = {
            let mut st = self.state.lock();
            st.closed = true;
            st.idle.clear();
            st.prewarmed.clear();
            st.wake_first();
            st.live.drain().map(|(id, _)| id).collect()
        };
        for id in ids {
            if let Err(e) = self.driver.remove(&id).await {
                tracing::warn!(%id, error = %e, "container removal failed");
            }
        }
        let _ = self.clean_up_earlier_runs().await;
    }
}

enum Step {
    Warm(Container),
    Prewarm(Container),
    Create,
    Evicted(Container),
    Wait(Arc<Notify>),
    Closed,
    Down,
}

/// `shoal_<owner digest>_<n>_<action>`, the action's name reduced to the characters Docker
/// accepts (`/guest/pkg/a` → `guest_pkg_a`).
fn container_name(owner: &str, n: u64, action: &str) -> String {
    let digest = Sha256::digest(owner.as_bytes());
    let tag: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let action: String = action
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("shoal_{tag}_{n}_{}", action.trim_matches('_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, FakeDriver, SLOW_PULL, STUCK_START};
    use tokio::task::JoinHandle;

    const IMAGE: &str = "test/python";

    fn pool(capacity_mb: u64) -> (Arc<Pool>, Arc<FakeDriver>) {
        let driver = Arc::new(FakeDriver::default());
        let settings = PoolSettings {
            stem_cells: vec![(IMAGE.into(), 256, 1)],
            ..testing::settings(capacity_mb)
        };
        (Pool::new(driver.clone(), settings), driver)
    }

    /// An invocation of `/guest/<name>` needing `memory_mb`.
    fn inv(name: &str, memory_mb: u64) -> Invocation {
        let mut inv = testing::invocation(&format!("/guest/{name}"), "python:3.11");
        inv.limits.memory_mb = memory_mb;
        inv
    }

    async fn take(pool: &Arc<Pool>, inv: &Invocation) -> Result<(Container, Start), Failure> {
        pool.acquire(inv, WarmKey::of(inv), IMAGE).await
    }

    fn used_mb(pool: &Pool) -> u64 {
        pool.state.lock().used_mb
    }

    /// Asks for a container for `/guest/<name>` in a task of its own; yields its memory.
    fn spawn_take(
        pool: &Arc<Pool>,
        name: &str,
        memory_mb: u64,
    ) -> JoinHandle<Result<u64, Failure>> {
        let (pool, inv) = (pool.clone(), inv(name, memory_mb));
        tokio::spawn(async move { take(&pool, &inv).await.map(|(c, _)| c.memory_mb) })
    }

    /// Waits until `n` activations queue.
    async fn until_queued(pool: &Pool, n: usize) {
        while pool.state.lock().queue.len() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_containers_make_room_and_the_capacity_is_never_exceeded() {
        let (pool, driver) = pool(512);
        let (a, b, c) = (inv("a", 256), inv("b", 256), inv("c", 256));
        let (first, how) = take(&pool, &a).await.unwrap();
        assert_eq!(how, Start::Cold);
        let (second, _) = take(&pool, &b).await.unwrap();
        pool.release(first, WarmKey::of(&a), true);
        let (third, how) = take(&pool, &c).await.unwrap();
        assert_eq!(how, Start::Cold);
        assert_eq!(used_mb(&pool), 512);
        assert_eq!(pool.resident(), 2);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            driver.calls_to("remove"),
            ["c0"],
            "a's idle container made room"
        );
        assert_eq!(pool.counters.capacity_evictions.load(Ordering::Relaxed), 1);
        assert_eq!(pool.resident_bytes(), 512 * 1024 * 1024);
        pool.release(second, WarmKey::of(&b), true);
        pool.release(third, WarmKey::of(&c), true);
        let (again, how) = take(&pool, &b).await.unwrap();
        assert_eq!((again.id(), how), ("c1", Start::Warm));
    }

    #[tokio::test(start_paused = true)]
    async fn an_action_larger_than_the_capacity_fails_at_once() {
        let (pool, driver) = pool(256);
        let err = take(&pool, &inv("big", 512)).await.unwrap_err();
        assert_eq!(
            err,
            Failure::Internal(
                "Failed to provision resources to run the action. The action's memory limit of 512 MB exceeds the container capacity of 256 MB.".into()
            )
        );
        assert!(driver.calls.lock().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_capacity_ends_the_wait_at_the_deadline_as_an_internal_error() {
        let (pool, _) = pool(256);
        let (busy, _) = take(&pool, &inv("busy", 256)).await.unwrap();
        let mut waiting = inv("waiting", 256);
        waiting.limits.timeout_ms = 1000;
        waiting.deadline = Instant::now() + Duration::from_millis(1000);
        let err = take(&pool, &waiting).await.unwrap_err();
        assert_eq!(
            err,
            Failure::Internal(
                "Failed to provision resources to run the action. No container capacity became free within the action's time limit of 1000 milliseconds.".into()
            )
        );
        assert!(pool.state.lock().queue.is_empty(), "it left the queue");
        pool.release(busy, WarmKey::of(&inv("busy", 256)), true);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_activations_are_served_in_arrival_order() {
        let (pool, _) = pool(256);
        let (busy, _) = take(&pool, &inv("busy", 256)).await.unwrap();
        let served = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for n in 0..4 {
            let (waiter, served) = (pool.clone(), served.clone());
            waiters.push(tokio::spawn(async move {
                let inv = inv(&format!("w{n}"), 256);
                let (container, _) = take(&waiter, &inv).await.unwrap();
                served.lock().push(n);
                // Hold it a while: the others stay queued meanwhile.
                tokio::time::sleep(Duration::from_millis(10)).await;
                waiter.release(container, WarmKey::of(&inv), false);
            }));
            // Let it queue before the next one arrives.
            until_queued(&pool, n + 1).await;
        }
        pool.release(busy, WarmKey::of(&inv("busy", 256)), false);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*served.lock(), [0, 1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_arrival_queues_behind_waiters_even_when_it_could_go_first() {
        let (pool, _) = pool(512);
        let (busy, _) = take(&pool, &inv("busy", 256)).await.unwrap();
        // Needs all 512 MB: waits.
        let big = spawn_take(&pool, "big", 512);
        until_queued(&pool, 1).await;
        // 256 MB are free, but the big one came first.
        let small = spawn_take(&pool, "small", 256);
        until_queued(&pool, 2).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !small.is_finished(),
            "256 MB are free, but it stays behind the big one"
        );
        pool.release(busy, WarmKey::of(&inv("busy", 256)), false);
        assert_eq!(big.await.unwrap(), Ok(512));
        small.abort();
    }

    /// A 512 MB pool held by `one` and `two` (256 MB each), with `big` (512 MB) first in the
    /// queue.
    struct Full {
        pool: Arc<Pool>,
        one: Invocation,
        first: Container,
        two: Invocation,
        second: Container,
        big: JoinHandle<Result<u64, Failure>>,
    }

    async fn full() -> Full {
        let (pool, _) = pool(512);
        let (one, two) = (inv("one", 256), inv("two", 256));
        let (first, _) = take(&pool, &one).await.unwrap();
        let (second, _) = take(&pool, &two).await.unwrap();
        let big = spawn_take(&pool, "big", 512);
        until_queued(&pool, 1).await;
        Full {
            pool,
            one,
            first,
            two,
            second,
            big,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_activation_takes_its_warm_container_whatever_the_queue() {
        let f = full().await;
        // `one`'s container goes idle; `one` asks again before the queue's head looks.
        f.pool.release(f.first, WarmKey::of(&f.one), true);
        let (again, how) = take(&f.pool, &f.one).await.unwrap();
        assert_eq!(
            (again.id(), how),
            ("c0", Start::Warm),
            "no need to queue for it"
        );
        assert!(!f.big.is_finished());
        f.pool.release(again, WarmKey::of(&f.one), false);
        f.pool.release(f.second, WarmKey::of(&f.two), false);
        assert_eq!(f.big.await.unwrap(), Ok(512));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_containers_are_paused_after_the_grace_unless_reused_and_unpaused_when_taken() {
        let (pool, driver) = pool(1024);
        let a = inv("a", 256);
        let (container, _) = take(&pool, &a).await.unwrap();
        pool.release(container, WarmKey::of(&a), true);
        tokio::time::sleep(Duration::from_secs(6)).await;
        let (container, how) = take(&pool, &a).await.unwrap();
        assert_eq!(how, Start::Warm);
        pool.release(container, WarmKey::of(&a), true);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(
            driver.calls_to("pause").is_empty(),
            "the first grace ended while it was reused"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(driver.calls_to("pause"), ["c0"]);
        let (container, how) = take(&pool, &a).await.unwrap();
        assert_eq!((container.id(), how), ("c0", Start::Warm));
        assert_eq!(driver.calls_to("unpause"), ["c0"]);
    }

    #[tokio::test(start_paused = true)]
    async fn stats_tell_cold_starts_prewarm_hits_and_evictions_apart() {
        let (pool, _) = pool(1024);
        pool.start_prewarms();
        while pool.prewarmed() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let a = inv("a", 256);
        let (container, how) = take(&pool, &a).await.unwrap();
        assert_eq!(how, Start::Prewarm);
        pool.release(container, WarmKey::of(&a), false);
        let b = inv("b", 128);
        let (container, how) = take(&pool, &b).await.unwrap();
        assert_eq!(how, Start::Cold);
        pool.release(container, WarmKey::of(&b), true);
        let c = &pool.counters;
        assert_eq!(c.prewarm_hits.load(Ordering::Relaxed), 1);
        assert_eq!(c.cold_starts.load(Ordering::Relaxed), 1);
        assert_eq!(c.failure_removals.load(Ordering::Relaxed), 1);
        assert_eq!(c.evictions(), 1);
        pool.reap_idle();
        assert_eq!(c.evictions(), 1, "not idle for long enough");
        pool.shutdown().await;
        assert_eq!(c.evictions(), 1, "removals at shutdown are no evictions");
        assert_eq!(pool.resident(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn pulls_and_starts_have_their_own_bounds() {
        let (pool, driver) = pool(1024);
        let mut inv = testing::invocation("/guest/a", crate::BLACKBOX);
        inv.limits.memory_mb = 256;
        let began = tokio::time::Instant::now();
        let (pool, inv) = (&pool, &inv);
        let failure = |image| async move {
            pool.acquire(inv, WarmKey::of(inv), image)
                .await
                .unwrap_err()
        };
        assert_eq!(
            failure(SLOW_PULL).await,
            Failure::DeveloperError("Failed to pull container image 'test/slow-pull'.".into())
        );
        let waited = began.elapsed();
        assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31));
        assert_eq!(used_mb(pool), 0, "the memory is given back");
        assert_eq!(
            failure(STUCK_START).await,
            Failure::Internal(
                "Failed to provision resources to run the action. The container engine did not start a container within 30 seconds.".into()
            )
        );
        assert_eq!(used_mb(pool), 256, "held until the engine is done with it");
        assert_eq!(
            driver.calls_to("start"),
            ["c0"],
            "none after the failed pull"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failing_prewarms_back_off_and_recover() {
        let (pool, driver) = pool(1024);
        const BROKEN: &str = "test/broken";
        let engine_error = DriverError::Engine("no such image".into());
        driver.failing.lock().push((BROKEN.into(), engine_error));
        let starts = || driver.calls_to("start").len();
        // Two stem cells wanted: both attempts of a round fail together.
        let round = || async {
            pool.prewarm(BROKEN.into(), 256, 2);
            pool.prewarm(BROKEN.into(), 256, 2);
            // Let the background creations end (the fake engine answers at once).
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        round().await;
        assert_eq!(starts(), 2);
        assert_eq!(used_mb(&pool), 0, "failed prewarms give their memory back");
        round().await;
        assert_eq!(starts(), 2, "no retry at once");
        tokio::time::advance(PREWARM_BACKOFF_FIRST).await;
        round().await;
        assert_eq!(starts(), 4, "a retry after the backoff");
        tokio::time::advance(PREWARM_BACKOFF_FIRST).await;
        round().await;
        assert_eq!(starts(), 4, "the backoff doubled, once per round");
        // Other images are not held back.
        pool.prewarm(IMAGE.into(), 256, 1);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(pool.prewarmed(), 1);
        // The image is fixed: the next round after the backoff succeeds and clears it.
        driver.failing.lock().clear();
        tokio::time::advance(PREWARM_BACKOFF_FIRST).await;
        round().await;
        assert_eq!(pool.prewarmed(), 3);
        assert!(pool.state.lock().prewarm_backoff.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_queued_activation_gets_its_warm_container_before_the_head_evicts_it() {
        let f = full().await;
        // `one` asks again, behind the head.
        let again = {
            let (pool, one) = (f.pool.clone(), inv("one", 256));
            tokio::spawn(async move {
                take(&pool, &one)
                    .await
                    .map(|(c, how)| (c.id().to_string(), how))
            })
        };
        until_queued(&f.pool, 2).await;
        f.pool.release(f.first, WarmKey::of(&f.one), true);
        assert_eq!(
            again.await.unwrap(),
            Ok(("c0".to_string(), Start::Warm)),
            "woken for its own container, which the head did not evict"
        );
        assert!(!f.big.is_finished());
        f.pool.release(f.second, WarmKey::of(&f.two), false);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(!f.big.is_finished(), "256 MB are still in use by one");
    }

    #[test]
    fn container_names_separate_number_and_action() {
        let name = container_name("/data", 7, "/guest/pkg/hello.v2");
        let (tag, rest) = name
            .strip_prefix("shoal_")
            .unwrap()
            .split_once('_')
            .unwrap();
        assert_eq!(tag.len(), 8);
        assert_eq!(rest, "7_guest_pkg_hello_v2");
        assert!(container_name("/data", 8, "prewarm").ends_with("_8_prewarm"));
    }
}
