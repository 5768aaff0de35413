//! [`EngineCounters`]: the figures every isolate engine reports through `Executor::stats`.

use std::sync::atomic::{AtomicU64, Ordering};

use shoal_router::ExecutorStats;

/// Executor-wide counters shared by every worker of one engine. Updated with relaxed
/// atomics (a few nanoseconds each); lives as long as the executor.
#[derive(Debug, Default)]
pub struct EngineCounters {
    /// Isolates resident now.
    pub resident: AtomicU64,
    /// Bytes the resident isolates hold (engine-reported).
    pub resident_bytes: AtomicU64,
    /// Cold starts so far.
    pub cold_starts: AtomicU64,
    /// Activations completed so far.
    pub activations: AtomicU64,
    /// Isolates evicted or discarded so far: engines count one whenever a resident isolate is
    /// dropped, so `evictions + resident == cold_starts` always holds.
    pub evictions: AtomicU64,
}

impl EngineCounters {
    /// The counters as `ExecutorStats` of executor `name`.
    pub fn snapshot(&self, name: &'static str) -> ExecutorStats {
        ExecutorStats {
            name,
            resident: self.resident.load(Ordering::Relaxed),
            resident_bytes: self.resident_bytes.load(Ordering::Relaxed),
            cold_starts: self.cold_starts.load(Ordering::Relaxed),
            activations: self.activations.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            hand_offs: 0,
        }
    }
}
