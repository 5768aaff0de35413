//! # shoal-v8: JS actions in V8 isolates (deno_core)
//!
//! Everything here is behind the crate feature `v8` (the host's feature `v8` turns it on):
//! without it the crate is empty, so `cargo build --workspace` never builds V8. Building with
//! it needs the `v8` crate's static library: online, the crate downloads it; offline, source
//! `isolates/v8/v8-env.sh` first (it points the crate at the shared, checksummed archive), or
//! rebuild the archive from source with `isolates/v8/rebuild-v8.sh` (hours).
//!
//! `V8Executor` (feature `v8`) is the JIT-compiling JS execution domain, with the same action ABI as
//! `shoal-quickjs` (results, errors and their texts come from [`shoal_isolates::abi`]). It
//! runs on a [`shoal_isolates::WorkerPool`]; each (tenant, action) is pinned by hash to one
//! worker, whose engine keeps its warm isolates. The V8 platform is created once per process.
//!
//! An **isolate** is one `deno_core::JsRuntime` — its own V8 isolate, heap and context —
//! holding one action version's code for one tenant (about 1.3 MiB of V8 heap and a few
//! milliseconds to create, against ~100 KiB and well under a millisecond for QuickJS; in
//! exchange the code is JIT-compiled). A cold start creates it with a V8 heap limit of
//! `limits.memory_mb` from the startup snapshot, which already holds the bootstrap
//! script (`console`, `process.env`, timers, `module`/`exports`, and the JS half of the ABI),
//! runs the action's code, and finds the entry point; a warm start calls the entry point
//! with fresh parameters and `__OW_*` variables. The activation's promise is driven by the
//! isolate's event loop as a local task of the worker. A process-wide watchdog thread
//! terminates JS still running at its deadline (`Failure::Timeout`); V8's near-heap-limit
//! callback terminates JS about to exhaust its heap (`Failure::MemoryExceeded`); `ArrayBuffer`
//! memory, which V8 keeps outside the heap, has a budget of the same size (`buffers`), past
//! which an allocation throws `RangeError` as in Node. An isolate
//! that timed out, ran out of memory or hit a developer error is dropped; others stay warm
//! until idle for the TTL or evicted least-recently-used over the resident limit.
//!
//! `TieredExecutor` (feature `v8`) places each action on QuickJS first and moves it to V8 for good once
//! its warm runs stay above a threshold, recording where each activation ran and why in the
//! `tier` activation annotation.
//!
//! The snapshot is made at build time (`build.rs` runs `bootstrap.js` with the `host`
//! extension into it; 625 KiB in the binary), so the first isolate of a process costs no more
//! than the others.
#![cfg(feature = "v8")]

mod buffers;
mod engine;
mod host;
mod isolate;
mod tiered;
mod watchdog;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;
use std::sync::{Arc, Once};
use std::time::Duration;

use shoal_isolates::node::DigestCache;
use shoal_isolates::{PoolConfig, PoolError, WorkerPool};
use shoal_router::{
    ActionCode, BoxFuture, EgressSlot, Executor, ExecutorStats, Failure, Invocation, Outcome,
    PrepareError,
};

use engine::{Counters, Engine, EngineLimits};

pub use tiered::{TIER_ANNOTATION, TieredConfig, TieredExecutor};

/// The executor name reported in stats and activation annotations.
const NAME: &str = "v8";

/// Settings of a [`V8Executor`]; the resident limit is executor-wide and split evenly
/// between workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V8Config {
    /// Worker threads (default: the number of cores).
    pub workers: usize,
    /// Stack of each worker thread, in bytes.
    pub worker_stack_bytes: usize,
    /// An idle isolate unused this long is dropped.
    pub idle_ttl: Duration,
    /// Most isolates resident at once (busy and idle).
    pub max_resident: usize,
}

impl Default for V8Config {
    fn default() -> Self {
        let pool = PoolConfig::default();
        V8Config {
            workers: pool.workers,
            worker_stack_bytes: pool.stack_bytes,
            idle_ttl: Duration::from_secs(600),
            max_resident: 1_000,
        }
    }
}

/// Why a [`V8Executor`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum V8Error {
    /// A limit is zero.
    #[error("invalid V8 config: {0}")]
    Config(&'static str),
    /// The worker threads could not start.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// The V8 execution domain: `Send + Sync`, shared as `Arc<dyn Executor>`. Lives as long as
/// the host; dropping it stops the workers (after their queued activations) and frees every
/// isolate. An invoke costs one hop to the action's worker and one back.
pub struct V8Executor {
    pool: WorkerPool<Rc<Engine>>,
    counters: Arc<Counters>,
}

impl V8Executor {
    /// Starts the workers (and, on first use in the process, the V8 platform); actions have
    /// no outbound network.
    pub fn new(config: V8Config) -> Result<Self, V8Error> {
        Self::with_egress(config, EgressSlot::default())
    }

    /// Starts the workers; actions' outbound requests go to the egress the host puts in
    /// `egress` (none until it does).
    pub fn with_egress(config: V8Config, egress: EgressSlot) -> Result<Self, V8Error> {
        if config.workers == 0 {
            return Err(V8Error::Config("workers must be at least 1"));
        }
        if config.max_resident == 0 {
            return Err(V8Error::Config("max_resident must be positive"));
        }
        static PLATFORM: Once = Once::new();
        PLATFORM.call_once(|| deno_core::JsRuntime::init_platform(None));
        watchdog::start();
        let counters = Arc::new(Counters::default());
        let limits = EngineLimits {
            idle_ttl: config.idle_ttl,
            max_resident: config.max_resident.div_ceil(config.workers),
        };
        let shared = Arc::clone(&counters);
        let files = Arc::new(DigestCache::new(
            config.max_resident,
            shoal_isolates::node::CODE_CACHE_BYTES,
        ));
        let pool = WorkerPool::new(
            PoolConfig {
                workers: config.workers,
                stack_bytes: config.worker_stack_bytes,
                ..PoolConfig::default()
            },
            move |_| {
                let engine = Engine::new(
                    limits,
                    Arc::clone(&shared),
                    Arc::clone(&files),
                    Arc::clone(&egress),
                );
                engine.spawn_sweeper();
                engine
            },
        )?;
        Ok(V8Executor { pool, counters })
    }
}

impl Executor for V8Executor {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Compiles the code on a worker's checker isolate. Blocks the calling thread for the
    /// compile (and, the first time on that worker, ~10 ms to create the checker).
    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let action = ActionCode {
            fqn: code.fqn.clone(),
            name: code.name.clone(),
            version: code.version.clone(),
            kind: code.kind.clone(),
            code: Arc::clone(&code.code),
            binary: code.binary,
            main: code.main.clone(),
            digest: code.digest,
            image: None,
            host_tags: Default::default(),
        };
        // The job is queued when `run` is called; its own reply goes through `tx`.
        drop(self.pool.run(0, move |engine: Rc<Rc<Engine>>| {
            let _ = tx.send(engine.check(&action));
            std::future::ready(())
        }));
        rx.recv()
            .unwrap_or_else(|_| Err(PoolError::WorkerGone.to_string()))
            .map_err(PrepareError)
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        let mut hasher = DefaultHasher::new();
        invocation.tenant.hash(&mut hasher);
        invocation.action.fqn.hash(&mut hasher);
        let shard = self.pool.shard_of(hasher.finish());
        let run = self.pool.run(shard, move |engine: Rc<Rc<Engine>>| {
            Engine::invoke(Rc::clone(&engine), invocation)
        });
        Box::pin(async move {
            run.await
                .unwrap_or_else(|e| Outcome::failed(Failure::Internal(e.to_string())))
        })
    }

    fn stats(&self) -> ExecutorStats {
        let mut stats = self.counters.snapshot(NAME);
        stats.hand_offs = self.pool.hand_offs();
        stats
    }

    /// Drops the idle isolates of every worker.
    fn trim(&self) -> BoxFuture<()> {
        Box::pin(
            self.pool
                .on_every_worker(|engine: &Rc<Engine>| engine.trim()),
        )
    }
}
