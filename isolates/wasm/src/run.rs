//! One activation, whatever its ABI: a fresh store (memory cap, epoch yield), the ABI's run
//! under the deadline, and how a run that did not finish normally becomes a [`Failure`].
//! Runs as an async wasmtime call on the invoking task's thread, yielding at every epoch tick;
//! everything here lives for one activation.

use std::time::Instant;

use serde_json::Value;
use shoal_router::{Failure, Invocation};
use tokio::time::error::Elapsed;
use wasmtime::{Engine, Instance, InstancePre, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::I32Exit;

use crate::cache::Entry;
use crate::{Inner, abi, command, direct};

/// Runs `invocation` on a fresh instance of `entry`; returns the result and the log lines.
pub(crate) async fn activate(
    inner: &Inner,
    entry: &Entry,
    invocation: &Invocation,
) -> (Result<Value, Failure>, Vec<String>) {
    if invocation.deadline <= Instant::now() {
        return (Err(Failure::Timeout { init: false }), Vec::new());
    }
    match entry {
        Entry::Command(pre) => command::activate(inner, pre, invocation).await,
        Entry::Direct(pre) => direct::activate(inner, pre, invocation).await,
    }
}

/// Caps linear memory at the activation's `limits.memory` and remembers a refusal, so that the
/// trap it causes is reported as memory exhaustion rather than as a plain trap.
pub(crate) struct MemoryCap {
    max_bytes: usize,
    exceeded: bool,
}

impl MemoryCap {
    /// The cap for `invocation`: its `limits.memory`, at most the executor's largest memory.
    pub(crate) fn new(inner: &Inner, invocation: &Invocation) -> Self {
        let mib = invocation.limits.memory_mb.min(inner.config.max_memory_mib);
        MemoryCap {
            max_bytes: usize::try_from(mib << 20).unwrap_or(usize::MAX),
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            wasmtime::bail!(
                "linear memory of {desired} bytes exceeds the limit of {} bytes",
                self.max_bytes
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables are bounded by the pooling allocator's slot size.
        Ok(true)
    }
}

/// The data of an activation's store, whatever its ABI: it carries the memory cap.
pub(crate) trait Capped: Send + 'static {
    /// The activation's memory cap.
    fn cap(&mut self) -> &mut MemoryCap;
}

/// Instantiates `pre` into `store`. The instantiation future (about 1 KiB) is boxed so that it
/// is not part of the state every suspended activation keeps for its whole run.
pub(crate) async fn instantiate<T: Capped>(
    store: &mut Store<T>,
    pre: &InstancePre<T>,
) -> wasmtime::Result<Instance> {
    Box::pin(pre.instantiate_async(store)).await
}

/// A fresh store holding `data`: linear memory capped by its [`MemoryCap`], and handing the
/// thread back to the scheduler at every epoch tick, so a long run shares its thread instead
/// of holding it and the deadline can take effect within a tick.
pub(crate) fn store<T: Capped>(engine: &Engine, data: T) -> Store<T> {
    let mut store = Store::new(engine, data);
    store.limiter(|s| s.cap() as &mut dyn ResourceLimiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store
}

/// How a run under `tokio::time::timeout_at` ended, as the activation's result: a refused
/// `memory.grow` wins (it surfaces as a trap), then the deadline, then the run's own answer.
pub(crate) fn settle<T: Capped, R>(
    store: &mut Store<T>,
    ran: Result<wasmtime::Result<R>, Elapsed>,
) -> Result<R, Failure> {
    match ran {
        _ if store.data_mut().cap().exceeded => Err(Failure::MemoryExceeded),
        Err(_elapsed) => Err(Failure::Timeout { init: false }),
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(
            match (e.downcast_ref::<I32Exit>(), e.downcast_ref::<Trap>()) {
                (Some(_), _) => abi::exited(),
                (None, Some(trap)) => abi::trapped(&trap.to_string()),
                (None, None) => abi::trapped(&format!("{e:#}")),
            },
        ),
    }
}
