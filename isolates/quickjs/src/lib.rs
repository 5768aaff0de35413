//! # shoal-quickjs: JS actions in QuickJS isolates
//!
//! [`QuickJsExecutor`] is the default JS execution domain. It owns a
//! [`shoal_isolates::WorkerPool`] whose every worker holds a [`LocalEngine`]; each (tenant,
//! action) is pinned by hash to one worker slot, so its warm isolate is always found where it
//! lives. A run that holds its worker past the pool's time slice gets the worker handed to a
//! fresh thread, so a CPU-bound action never stalls the others pinned to the same slot.
//!
//! An **isolate** is one QuickJS runtime plus one context holding one action version's loaded
//! code for one tenant (~100 KiB for a small action; a runtime per action measured cheaper than
//! contexts sharing a tenant runtime, whose GC scans every context, and it makes the per-action
//! memory limit, interrupt and discard exact). Each runtime allocates through a counting
//! allocator that enforces `limits.memory_mb` and reports live bytes for free; an interrupt
//! handler compares the clock to the activation's deadline every few thousand JS operations.
//!
//! Code is compiled once per [`shoal_router::ActionCode::digest`] to bytecode (at `prepare`
//! time, which also rejects syntax errors) and loaded into each new isolate. A cold start
//! creates the isolate, installs the host globals (`console`, `process.env`, timers,
//! `module`/`exports`), runs the code and finds the entry point; a warm start only writes the
//! per-activation `__OW_*` variables (and any other that changed) and calls the entry point. Promises are driven by the
//! worker: pending jobs run after each call, and the activation sleeps (as a local task, never
//! blocking the worker) until its next timer or its deadline. An isolate that timed out, ran
//! out of memory or hit a developer error is dropped; others stay warm until idle for the TTL
//! or evicted least-recently-used when the worker is over its share of the resident limits.

mod alloc;
mod bytecode;
mod code;
mod convert;
mod engine;
mod io;
mod isolate;
mod lazy;
mod node;
mod ow_env;

use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::FixedState;

use shoal_isolates::{PoolConfig, PoolError, WorkerPool};
use shoal_router::{
    ActionCode, BoxFuture, EgressSlot, Executor, ExecutorStats, Failure, Invocation, Outcome,
    PrepareError,
};

pub use engine::{EngineLimits, LocalEngine};

use code::CodeCache;
use engine::Counters;

/// The executor name reported in stats.
const NAME: &str = "quickjs";

/// Settings of a [`QuickJsExecutor`]; the limits are executor-wide and split evenly between
/// workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuickJsConfig {
    /// Worker threads (default: the number of cores).
    pub workers: usize,
    /// Stack of each worker thread, in bytes.
    pub worker_stack_bytes: usize,
    /// How long one run may hold a worker before the worker is handed to a fresh thread.
    pub slice: Duration,
    /// An idle isolate unused this long is evicted and freed (OpenWhisk keeps idle containers
    /// 10 min).
    pub idle_ttl: Duration,
    /// Most isolates resident at once (busy and idle).
    pub max_resident: usize,
    /// Most isolate heap bytes resident at once.
    pub max_resident_bytes: usize,
    /// Most distinct action codes whose bytecode is kept.
    pub code_cache_entries: usize,
    /// Most bytes of prepared code (bytecode, unzipped files) kept for them in all.
    pub code_cache_bytes: usize,
}

impl Default for QuickJsConfig {
    fn default() -> Self {
        let pool = PoolConfig::default();
        QuickJsConfig {
            workers: pool.workers,
            worker_stack_bytes: pool.stack_bytes,
            slice: pool.slice,
            idle_ttl: Duration::from_secs(600),
            max_resident: 10_000,
            max_resident_bytes: 1 << 30,
            code_cache_entries: 10_000,
            code_cache_bytes: shoal_isolates::node::CODE_CACHE_BYTES,
        }
    }
}

/// Why a [`QuickJsExecutor`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum QuickJsError {
    /// A limit is zero.
    #[error("invalid QuickJS config: {0}")]
    Config(&'static str),
    /// The worker threads could not start.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// The QuickJS execution domain: `Send + Sync`, shared as `Arc<dyn Executor>`. Lives as long
/// as the host; dropping it stops the workers (after their queued activations) and frees every
/// isolate. An invoke costs one hop to the action's worker and one back.
pub struct QuickJsExecutor {
    pool: WorkerPool<LocalEngine>,
    code: Arc<CodeCache>,
    counters: Arc<Counters>,
    /// Hashes (tenant, action) to the worker slot it is pinned to.
    hasher: FixedState,
}

impl QuickJsExecutor {
    /// Starts the workers; actions have no outbound network.
    pub fn new(config: QuickJsConfig) -> Result<Self, QuickJsError> {
        Self::with_egress(config, EgressSlot::default())
    }

    /// Starts the workers; actions' outbound requests go to the egress the host puts in
    /// `egress` (none until it does).
    pub fn with_egress(config: QuickJsConfig, egress: EgressSlot) -> Result<Self, QuickJsError> {
        if config.workers == 0 {
            return Err(QuickJsError::Config("workers must be at least 1"));
        }
        if config.max_resident == 0
            || config.max_resident_bytes == 0
            || config.code_cache_entries == 0
            || config.code_cache_bytes == 0
        {
            return Err(QuickJsError::Config(
                "resident and cache limits must be positive",
            ));
        }
        let code = Arc::new(CodeCache::new(
            config.code_cache_entries,
            config.code_cache_bytes,
        ));
        let counters = Arc::new(Counters::default());
        let limits = EngineLimits {
            idle_ttl: config.idle_ttl,
            max_resident: config.max_resident.div_ceil(config.workers),
            max_resident_bytes: config.max_resident_bytes.div_ceil(config.workers),
        };
        let pool_config = PoolConfig {
            workers: config.workers,
            stack_bytes: config.worker_stack_bytes,
            slice: config.slice,
            ..PoolConfig::default()
        };
        let (shared_code, shared_counters) = (Arc::clone(&code), Arc::clone(&counters));
        let pool = WorkerPool::new(pool_config, move |_| {
            let engine = LocalEngine::shared(
                limits,
                Arc::clone(&shared_code),
                Arc::clone(&shared_counters),
                Arc::clone(&egress),
            );
            engine.spawn_sweeper();
            engine
        })?;
        Ok(QuickJsExecutor {
            pool,
            code,
            counters,
            hasher: FixedState::default(),
        })
    }
}

impl Executor for QuickJsExecutor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        code::prepare(&self.code, code)
            .map(|_| ())
            .map_err(PrepareError)
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        let key = self
            .hasher
            .hash_one((&*invocation.tenant, &*invocation.action.fqn));
        let run = self.pool.run(
            self.pool.shard_of(key),
            move |engine: std::rc::Rc<LocalEngine>| engine.invoke(invocation),
        );
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

    /// Drops the idle isolates of every worker, and frees the evicted ones still waiting to be.
    fn trim(&self) -> BoxFuture<()> {
        Box::pin(
            self.pool
                .on_every_worker(|engine: &LocalEngine| engine.trim()),
        )
    }
}
