//! # shoal-isolates: what the in-process isolate engines share
//!
//! JS engines are `!Send`, so every engine crate (`shoal-quickjs`, later V8 and WASM) runs its
//! isolates on a [`WorkerPool`]: a fixed set of threads, each owning a per-thread engine state
//! and driving it with a single-threaded tokio runtime and `LocalSet`, so that timers and
//! promises of many activations interleave on one thread. Jobs reach a worker over an
//! unbounded channel; a job is pinned to a shard by hashing whatever must stay on one thread
//! (for JS: the tenant and the action), so warm isolates are always found where they live.
//!
//! [`abi`] is the engine-neutral half of the JS action ABI: how a returned, rejected or thrown
//! value becomes an [`shoal_router::Outcome`] result (OpenWhisk spec §3.4/§7.3), the exact
//! error texts, and how `init: true` parameters are turned into `process.env` strings. Engines
//! only report *what* the action did; this module decides what it means.
//!
//! [`node`] is the Node.js layer both JS engines load: CommonJS `require` with Node's module
//! resolution, the built-in modules (`buffer`, `events`, `crypto`, `http`, the `openwhisk`
//! client…) written once in JavaScript, and the files of zip actions.
//!
//! `suite` (cargo feature `test-suite`, for tests only) is the one JS action test suite that
//! every JS engine passes, written against `Arc<dyn Executor>`.

pub mod abi;
mod counters;
pub mod node;
mod pool;
#[cfg(feature = "test-suite")]
pub mod suite;

pub use counters::EngineCounters;
pub use pool::{PoolConfig, PoolError, WorkerPool, lower_this_thread_priority};
