//! The WASI command ABI: a WASI preview 1 context per activation (params on stdin, stdout and
//! stderr captured in memory, `__OW_*` in the environment), `_start` run to completion, the
//! result and the logs read from the captured output (see [`crate::abi`]).

use serde_json::Value;
use shoal_router::{Failure, Invocation, LogCollector, LogStream};
use wasmtime::{Engine, InstancePre, Linker, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

use crate::run::{self, Capped, MemoryCap};
use crate::{Inner, abi};

/// The entry point of a WASI preview 1 command.
pub(crate) const ENTRY: &str = "_start";

/// The data of a command activation's store: its WASI context and its memory cap.
pub(crate) struct CommandState {
    wasi: WasiP1Ctx,
    cap: MemoryCap,
}

impl Capped for CommandState {
    fn cap(&mut self) -> &mut MemoryCap {
        &mut self.cap
    }
}

/// The linker command modules are instantiated against: WASI preview 1, nothing else.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<CommandState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut CommandState| &mut s.wasi)?;
    Ok(linker)
}

/// Runs `invocation` as a WASI command on a fresh instance of `pre`.
pub(crate) async fn activate(
    inner: &Inner,
    pre: &InstancePre<CommandState>,
    invocation: &Invocation,
) -> (Result<Value, Failure>, Vec<String>) {
    let stdin = match serde_json::to_vec(&invocation.params) {
        Ok(bytes) => bytes,
        Err(e) => return (Err(Failure::Internal(e.to_string())), Vec::new()),
    };
    let stdout = MemoryOutputPipe::new(inner.config.max_output_bytes);
    let stderr = MemoryOutputPipe::new(inner.config.max_output_bytes);
    let state = CommandState {
        wasi: context(invocation, stdin, &stdout, &stderr),
        cap: MemoryCap::new(inner, invocation),
    };
    let mut store = run::store(&inner.engine, state);
    let ran = tokio::time::timeout_at(invocation.deadline.into(), start(&mut store, pre)).await;
    let settled = run::settle(&mut store, ran);
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
    let result = settled.and_then(|()| abi::classify_result(result_text));
    (result, logs.finish())
}

/// The WASI context of one activation: `stdin` as its stdin, the two pipes as stdout and
/// stderr, the action's name as its only argument, `__OW_*` and `init: true` parameters as
/// its environment. Built outside the async code so that the builder (which keeps a spare
/// context of its own) is gone before the activation is suspended.
fn context(
    invocation: &Invocation,
    stdin: Vec<u8>,
    stdout: &MemoryOutputPipe,
    stderr: &MemoryOutputPipe,
) -> WasiP1Ctx {
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
    wasi.build_p1()
}

/// Instantiates `pre` into `store` and runs the command's `_start`; `proc_exit(0)` is the same
/// as returning from it.
async fn start(
    store: &mut Store<CommandState>,
    pre: &InstancePre<CommandState>,
) -> wasmtime::Result<()> {
    let instance = run::instantiate(store, pre).await?;
    let ran = instance
        .get_typed_func::<(), ()>(&mut *store, ENTRY)?
        .call_async(&mut *store, ())
        .await;
    match ran {
        Err(e) if matches!(e.downcast_ref::<I32Exit>(), Some(I32Exit(0))) => Ok(()),
        other => other,
    }
}
