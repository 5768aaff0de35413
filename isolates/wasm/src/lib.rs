//! # shoal-wasm: WASM actions in wasmtime isolates
//!
//! [`WasmExecutor`] is the WebAssembly execution domain (kind `wasm`). It owns **one wasmtime
//! `Engine` for the process**, configured with the pooling instance allocator (memory, table
//! and instance slots reserved once, reused by every activation), copy-on-write memory images
//! (a module's data segments are mapped, not copied, into each new instance) and epoch
//! interruption: a ticker thread bumps the engine's epoch every [`WasmConfig::epoch_tick`]
//! while activations run (it parks once none has run for 100 ticks), and each activation's
//! store traps once the epoch passes its deadline, so an infinite loop costs
//! nothing on the hot path (no fuel accounting) and ends within a tick or two of
//! `limits.timeout`.
//!
//! Code (a base64 `.wasm` binary, or WAT text) is compiled once per
//! [`shoal_router::ActionCode::digest`] when the action is created or updated
//! ([`shoal_router::Executor::prepare`]), linked (against WASI preview 1 or `shoal.log`,
//! depending on its ABI) into an `InstancePre` and cached in memory; with a cache directory the compiled artefact is also
//! serialized to disk (under a sub-directory named after the engine's compatibility hash, and
//! checked again by wasmtime on load), so a restart does not recompile.
//!
//! Every activation gets a **fresh `Store` and instance**: WASM activations share no state,
//! unlike warm JS isolates. A module's exports choose its ABI (see [`abi`] for the exact
//! rules and the error texts): a WASI preview 1 command (`_start` reads the parameters as one
//! JSON object on stdin and writes the result JSON on stdout; `command.rs`) or the direct ABI
//! (`alloc` + `run` over the module's memory, no WASI context, about a quarter cheaper per
//! activation; `direct.rs`). A per-store resource limiter caps linear
//! memory at `limits.memory` and remembers that it refused, so a `memory.grow` bomb ends as
//! "exhausted its memory". The wasm call runs as an async wasmtime call on the thread of the
//! task that invokes it (in the host: a runtime dedicated to WASM activations, so they never
//! share threads with request handling), on a pooled fiber stack, and yields to the scheduler
//! at every epoch tick: a long run time-slices its thread with the other activations, and
//! `limits.timeout` is a `tokio::time::timeout_at` that drops the call within a tick of the
//! deadline. (Running it on tokio's blocking pool instead measured ~15 µs more per invoke.)
//! A semaphore of [`WasmConfig::max_running`] permits (never more than the pool's instance
//! slots) bounds concurrent activations. Compiling code not prepared at create time (e.g. after
//! a restart without the disk cache) happens on the invoking thread, once.

pub mod abi;
mod cache;
mod command;
mod direct;
mod run;
mod ticker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, Outcome, PrepareError,
};
use tokio::sync::Semaphore;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use cache::{Linkers, ModuleCache};
use ticker::Ticker;

/// The executor name reported in stats and activation annotations.
const NAME: &str = "wasm";

/// Settings of a [`WasmExecutor`]. Read once by [`WasmExecutor::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmConfig {
    /// Where compiled modules are serialized so a restart does not recompile them
    /// (`<data_dir>/wasm-cache` in the host); `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Instance slots of the pooling allocator: the most instances alive at once. Each slot
    /// reserves (but does not commit) address space for one linear memory.
    pub max_instances: u32,
    /// Activations running at once (at most `max_instances`); more wait for a permit.
    pub max_running: usize,
    /// Largest linear memory any instance may have, in MiB; `limits.memory` is capped by it.
    pub max_memory_mib: u64,
    /// Period of the epoch ticker: how often a running activation yields its thread, hence the
    /// granularity of timeouts. One wake-up of the ticker thread per tick while activations
    /// run (and for 100 ticks after the last); none while idle.
    pub epoch_tick: Duration,
    /// Most bytes kept from each of stdout and stderr per activation; beyond it a write traps.
    pub max_output_bytes: usize,
    /// Bytes at the start of a freed slot's linear memory (and table) that are zeroed in place
    /// instead of handed back to the kernel, so the next activation in that slot does not
    /// fault those pages in again (instantiate + invoke of a small module ~30% faster, its p99
    /// halved). The price: once used, each slot keeps this much resident, at most
    /// `max_instances` × `keep_resident` (64 MiB with the defaults). `0` returns everything.
    pub keep_resident: usize,
}

impl Default for WasmConfig {
    fn default() -> Self {
        WasmConfig {
            cache_dir: None,
            max_instances: 1_000,
            max_running: 256,
            max_memory_mib: 512,
            epoch_tick: Duration::from_millis(1),
            max_output_bytes: 16 << 20,
            keep_resident: 64 << 10,
        }
    }
}

impl WasmConfig {
    /// Checks every setting is in range (what [`WasmExecutor::new`] checks first; callers
    /// that read settings from a file check them with this before starting anything).
    pub fn validate(&self) -> Result<(), WasmError> {
        if self.max_instances == 0 || self.max_running == 0 {
            return Err(WasmError::Config(
                "max_instances and max_running must be positive",
            ));
        }
        if self.max_running > self.max_instances as usize {
            return Err(WasmError::Config("max_running cannot exceed max_instances"));
        }
        if self.max_memory_mib == 0 || self.max_memory_mib > MAX_MEMORY_MIB {
            return Err(WasmError::Config(
                "max_memory_mib must be between 1 and 4096 (a 32-bit linear memory)",
            ));
        }
        if self.epoch_tick.is_zero() {
            return Err(WasmError::Config("epoch_tick must be positive"));
        }
        if self.keep_resident as u64 > self.max_memory_mib << 20 {
            return Err(WasmError::Config(
                "keep_resident cannot exceed max_memory_mib",
            ));
        }
        Ok(())
    }
}

/// The largest linear memory a 32-bit module can address, in MiB: also the size of the
/// address-space reservation of each pool slot.
const MAX_MEMORY_MIB: u64 = 4096;

/// Why a [`WasmExecutor`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// A setting is out of range.
    #[error("invalid WASM config: {0}")]
    Config(&'static str),
    /// wasmtime refused the engine configuration (e.g. the pool could not be reserved).
    #[error("cannot start the wasmtime engine: {0}")]
    Engine(String),
    /// The cache directory cannot be created.
    #[error("cannot create the WASM cache directory {path}: {source}")]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The epoch ticker thread could not start.
    #[error("cannot start the epoch ticker: {0}")]
    Ticker(std::io::Error),
}

/// Executor-wide state shared with the blocking activations.
struct Inner {
    engine: Engine,
    linkers: Linkers,
    modules: ModuleCache,
    config: WasmConfig,
    activations: AtomicU64,
    /// [`WasmConfig::max_running`] permits: one per running activation.
    running: Semaphore,
    /// Advances the epoch while activations run.
    ticker: Arc<Ticker>,
}

/// The WASM execution domain: `Send + Sync`, shared as `Arc<dyn Executor>`. Lives as long as
/// the host; dropping it stops the epoch ticker. Holds the process's wasmtime engine (its
/// instance pool reserves address space for [`WasmConfig::max_instances`] memories up front),
/// every prepared module, and a semaphore bounding concurrent runs. An invoke runs on the
/// calling thread and costs an instantiation from the prepared `InstancePre` plus the run.
pub struct WasmExecutor {
    inner: Arc<Inner>,
}

impl WasmExecutor {
    /// Builds the engine, reserves the instance pool, creates the cache directory and starts
    /// the epoch ticker thread.
    pub fn new(config: WasmConfig) -> Result<Self, WasmError> {
        config.validate()?;
        let engine = engine(&config)?;
        let linkers = Linkers::new(&engine)?;
        let modules = ModuleCache::new(&engine, config.cache_dir.as_deref())?;
        let ticker = Ticker::start(engine.clone(), config.epoch_tick).map_err(WasmError::Ticker)?;
        Ok(WasmExecutor {
            inner: Arc::new(Inner {
                engine,
                linkers,
                modules,
                running: Semaphore::new(config.max_running),
                config,
                activations: AtomicU64::new(0),
                ticker,
            }),
        })
    }
}

impl Drop for WasmExecutor {
    fn drop(&mut self) {
        self.inner.ticker.stop();
    }
}

/// The process's engine: pooling allocator, copy-on-write images, epoch interruption.
fn engine(config: &WasmConfig) -> Result<Engine, WasmError> {
    let max_memory = usize::try_from(config.max_memory_mib << 20)
        .map_err(|_| WasmError::Config("max_memory_mib is too large"))?;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(config.max_instances)
        .total_memories(config.max_instances)
        .total_tables(config.max_instances)
        .total_stacks(config.max_instances)
        .max_memory_size(max_memory)
        .linear_memory_keep_resident(config.keep_resident)
        .table_keep_resident(config.keep_resident);
    let mut c = Config::new();
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_init_cow(true)
        .epoch_interruption(true);
    Engine::new(&c).map_err(|e| WasmError::Engine(format!("{e:#}")))
}

impl Inner {
    /// Waits for a permit, prepares (if needed) and runs one activation on the polling thread.
    /// The one future that owns the invocation: what it calls borrows it, so a suspended
    /// activation holds one copy (this future is what each resident activation costs on the
    /// heap besides its store).
    async fn invoke_here(self: Arc<Self>, invocation: Invocation) -> Outcome {
        let Ok(_permit) = self.running.acquire().await else {
            return Outcome::failed(Failure::Internal("the WASM executor stopped".into()));
        };
        let _ticking = self.ticker.enter();
        let start = SystemTime::now();
        let began = Instant::now();
        let prepared = match self
            .modules
            .get(&self.engine, &self.linkers, &invocation.action)
        {
            Ok(p) => p,
            Err(e) => return Outcome::failed(Failure::DeveloperError(e.0.into())),
        };
        // Prepared at create time: no init cost. Compiled (or loaded) just now: a cold start.
        let init_ms = prepared.fresh.then(|| began.elapsed().as_millis() as u64);
        let (result, logs) = run::activate(&self, &prepared.entry, &invocation).await;
        self.activations.fetch_add(1, Ordering::Relaxed);
        Outcome::finished(result, logs, start, init_ms)
    }
}

impl Executor for WasmExecutor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        self.inner
            .modules
            .get(&self.inner.engine, &self.inner.linkers, code)
            .map(|_| ())
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        Box::pin(Arc::clone(&self.inner).invoke_here(invocation))
    }

    fn stats(&self) -> ExecutorStats {
        let (resident, resident_bytes, cold_starts, evictions) = self.inner.modules.figures();
        ExecutorStats {
            name: NAME,
            resident,
            resident_bytes,
            cold_starts,
            activations: self.inner.activations.load(Ordering::Relaxed),
            evictions,
            hand_offs: 0,
        }
    }
}
