//! One activation: a fresh store and instance, the WASI command run to completion (or to its
//! deadline, or its memory cap), and the outcome read from stdout and stderr. Runs as an async
//! wasmtime call on the invoking task's thread, yielding at every epoch tick; everything here
//! lives for one activation.

use std::time::Instant;

use serde_json::Value;
use shoal_router::{Failure, Invocation, LogCollector, LogStream};
use wasmtime::{InstancePre, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::{Inner, abi};

/// The data of one activation's store: its WASI context and its memory cap.
pub(crate) struct State {
    pub(crate) wasi: WasiP1Ctx,
    cap: MemoryCap,
}

/// Caps linear memory at the activation's `limits.memory` and remembers a refusal, so that the
/// trap it causes is reported as memory exhaustion rather than as a plain trap.
struct MemoryCap {
    max_bytes: usize,
    exceeded: bool,
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

/// Runs `invocation` on a fresh instance of `pre`; returns the result and the log lines.
pub(crate) async fn activate(
    inner: &Inner,
    pre: &InstancePre<State>,
    invocation: Invocation,
) -> (Result<Value, Failure>, Vec<String>) {
    let remaining = invocation
        .deadline
        .saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return (Err(Failure::Timeout { init: false }), Vec::new());
    }
    let stdin = match serde_json::to_vec(&invocation.params) {
        Ok(bytes) => bytes,
        Err(e) => return (Err(Failure::Internal(e.to_string())), Vec::new()),
    };
    let stdout = MemoryOutputPipe::new(inner.config.max_output_bytes);
    let stderr = MemoryOutputPipe::new(inner.config.max_output_bytes);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .arg(&invocation.action.name);
    for (name, value) in invocation.env.vars() {
        wasi.env(name, value);
    }
    for (name, value) in &invocation.init_env {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        wasi.env(name, text);
    }
    let max_bytes = (invocation.limits.memory_mb.min(inner.config.max_memory_mib) << 20) as usize;
    let mut store = Store::new(
        &inner.engine,
        State {
            wasi: wasi.build_p1(),
            cap: MemoryCap {
                max_bytes,
                exceeded: false,
            },
        },
    );
    store.limiter(|s| &mut s.cap);
    // Every epoch tick, hand the thread back to the scheduler: a long run shares its thread
    // instead of holding it, and the deadline below can take effect within a tick.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));

    let ran = tokio::time::timeout_at(invocation.deadline.into(), run_start(&mut store, pre)).await;
    let memory_exceeded = store.data().cap.exceeded;
    drop(store);

    let out = String::from_utf8_lossy(&stdout.contents()).into_owned();
    let err = String::from_utf8_lossy(&stderr.contents()).into_owned();
    let (out_logs, result_text) = abi::split_output(&out);
    let mut logs = LogCollector::new(invocation.limits.log_bytes());
    for line in out_logs {
        logs.push(LogStream::Stdout, line);
    }
    let err = err.trim_end_matches('\n');
    if !err.is_empty() {
        logs.push(LogStream::Stderr, err);
    }

    let result = match ran {
        _ if memory_exceeded => Err(Failure::MemoryExceeded),
        Err(_elapsed) => Err(Failure::Timeout { init: false }),
        Ok(Ok(())) => abi::classify_result(result_text),
        Ok(Err(e)) => match (e.downcast_ref::<I32Exit>(), e.downcast_ref::<Trap>()) {
            (Some(I32Exit(0)), _) => abi::classify_result(result_text),
            (Some(_), _) => Err(abi::exited()),
            (None, Some(trap)) => Err(abi::trapped(&trap.to_string())),
            (None, None) => Err(abi::trapped(&format!("{e:#}"))),
        },
    };
    (result, logs.finish())
}

/// Instantiates `pre` into `store` and runs the command's `_start`.
async fn run_start(store: &mut Store<State>, pre: &InstancePre<State>) -> wasmtime::Result<()> {
    let instance = pre.instantiate_async(&mut *store).await?;
    instance
        .get_typed_func::<(), ()>(&mut *store, "_start")?
        .call_async(&mut *store, ())
        .await
}
