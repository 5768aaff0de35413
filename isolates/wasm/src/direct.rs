//! The direct ABI: no WASI context at all. The host asks the module for a buffer with
//! `alloc(len) -> ptr`, copies the params JSON into its exported `memory`, calls
//! `run(ptr, len) -> i64` and reads the result JSON at the pointer in the high 32 bits and
//! the length in the low 32 bits. The only import on offer is `shoal.log(ptr, len)`, which
//! appends the text there to the activation's logs (see [`crate::abi`]).

use serde_json::Value;
use shoal_router::{Failure, Invocation, LogCollector, LogStream, MAX_RESULT_BYTES};
use wasmtime::{Caller, Engine, Extern, InstancePre, Linker, Store};

use crate::run::{self, Capped, MemoryCap};
use crate::{Inner, abi};

/// How much of an oversized result is handed to its error text (which quotes the first KiB,
/// backing up to a character boundary).
const MAX_RESULT_HEAD: usize = 1025;

/// The exported memory the host reads and writes.
pub(crate) const MEMORY: &str = "memory";
/// The exported allocator: `(len: i32) -> ptr: i32`.
pub(crate) const ALLOC: &str = "alloc";
/// The exported entry point: `(ptr: i32, len: i32) -> (result ptr << 32 | result len): i64`.
pub(crate) const RUN: &str = "run";
/// The one import the direct ABI offers, as (module, name): `(ptr: i32, len: i32) -> ()`.
pub(crate) const LOG: (&str, &str) = ("shoal", "log");

/// The data of a direct activation's store: its memory cap and the logs it wrote.
pub(crate) struct DirectState {
    cap: MemoryCap,
    logs: LogCollector,
}

impl Capped for DirectState {
    fn cap(&mut self) -> &mut MemoryCap {
        &mut self.cap
    }
}

/// The linker direct modules are instantiated against: `shoal.log`, nothing else.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<DirectState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(LOG.0, LOG.1, log)?;
    Ok(linker)
}

/// `shoal.log(ptr, len)`: the UTF-8 text (lossily decoded) at `ptr` becomes log lines on the
/// stdout stream, split on newlines; a range outside the memory traps.
fn log(mut caller: Caller<'_, DirectState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let Some(Extern::Memory(memory)) = caller.get_export(MEMORY) else {
        wasmtime::bail!("shoal.log needs an exported `memory`");
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let Some(text) = slice(data, ptr as u32, len as u32) else {
        wasmtime::bail!("shoal.log: {len} bytes at {ptr} lie outside the linear memory");
    };
    state
        .logs
        .push(LogStream::Stdout, &String::from_utf8_lossy(text));
    Ok(())
}

/// `len` bytes of `data` from `at`, if they are all there.
fn slice(data: &[u8], at: u32, len: u32) -> Option<&[u8]> {
    let at = at as usize;
    data.get(at..at.checked_add(len as usize)?)
}

/// Runs `invocation` through `alloc` and `run` on a fresh instance of `pre`.
pub(crate) async fn activate(
    inner: &Inner,
    pre: &InstancePre<DirectState>,
    invocation: &Invocation,
) -> (Result<Value, Failure>, Vec<String>) {
    let params = match serde_json::to_vec(&invocation.params) {
        Ok(bytes) => bytes,
        Err(e) => return (Err(Failure::Internal(e.to_string())), Vec::new()),
    };
    let state = DirectState {
        cap: MemoryCap::new(inner, invocation),
        logs: LogCollector::new(invocation.limits.log_bytes()),
    };
    let mut store = run::store(&inner.engine, state);
    let ran =
        tokio::time::timeout_at(invocation.deadline.into(), call(&mut store, pre, &params)).await;
    let result = run::settle(&mut store, ran).and_then(|answer| answer);
    (result, store.into_data().logs.finish())
}

/// Instantiates `pre`, hands it the params and runs it; the inner result is the ABI's verdict
/// on what `run` returned.
async fn call(
    store: &mut Store<DirectState>,
    pre: &InstancePre<DirectState>,
    params: &[u8],
) -> wasmtime::Result<Result<Value, Failure>> {
    let instance = run::instantiate(store, pre).await?;
    let Some(memory) = instance.get_memory(&mut *store, MEMORY) else {
        wasmtime::bail!("the module exports no `{MEMORY}`");
    };
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, ALLOC)?;
    let run = instance.get_typed_func::<(i32, i32), i64>(&mut *store, RUN)?;
    let len = i32::try_from(params.len())?;
    let ptr = alloc.call_async(&mut *store, len).await?;
    if memory
        .write(&mut *store, ptr as u32 as usize, params)
        .is_err()
    {
        return Ok(Err(abi::params_outside_memory(ptr as u32, len as u32)));
    }
    let packed = run.call_async(&mut *store, (ptr, len)).await? as u64;
    let (at, len) = ((packed >> 32) as u32, packed as u32);
    Ok(match slice(memory.data(&*store), at, len) {
        // Past the result limit the range is neither copied nor parsed: its first KiB is
        // quoted in OpenWhisk's truncation error, read in place.
        Some(bytes) if bytes.len() > MAX_RESULT_BYTES => Err(Failure::result_too_large(
            bytes.len(),
            &bytes[..MAX_RESULT_HEAD.min(bytes.len())],
        )),
        Some(bytes) => abi::classify_result(String::from_utf8_lossy(bytes).trim()),
        None => Err(abi::result_outside_memory(at, len)),
    })
}
