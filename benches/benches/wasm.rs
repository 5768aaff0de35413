//! In-process WASM figures: instantiate + invoke of the echo action (fixtures/wasm/echo.wat)
//! through `Executor::invoke` (a semaphore permit, a fresh store and instance from the prepared
//! `InstancePre`, WASI context, params on stdin, result parsed from stdout) polled on the
//! calling thread (current-thread runtime: no hop, as in the host), and the same from outside
//! a multi-thread runtime (a hop to its worker and back). Besides criterion's report it prints
//! p50 and p99 of individually timed samples.

use std::sync::Arc;

use criterion::{Criterion, criterion_group};
use shoal_benches::sample::{check, invocation, percentiles, timed};
use shoal_router::{ActionCode, Executor};
use shoal_wasm::{WasmConfig, WasmExecutor};

const ECHO: &str = include_str!("../../fixtures/wasm/echo.wat");

fn action() -> Arc<ActionCode> {
    Arc::new(ActionCode {
        fqn: "/guest/echo".into(),
        name: "echo".into(),
        version: "0.0.1".into(),
        kind: "wasm".into(),
        code: ECHO.into(),
        binary: false,
        main: "main".into(),
        digest: [1; 32],
        image: None,
    })
}

fn benches(c: &mut Criterion) {
    let executor = WasmExecutor::new(WasmConfig::default()).unwrap();
    let echo = action();
    executor.prepare(&echo).unwrap();
    let here = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    check(&here.block_on(executor.invoke(invocation(&echo))));
    c.bench_function("wasm/instantiate_invoke_here", |b| {
        b.iter(|| here.block_on(executor.invoke(invocation(&echo))))
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    check(&rt.block_on(executor.invoke(invocation(&echo))));
    c.bench_function("wasm/instantiate_invoke_hop", |b| {
        b.iter(|| rt.block_on(executor.invoke(invocation(&echo))))
    });

    percentiles(
        "instantiate + invoke, calling thread",
        timed(50_000, || here.block_on(executor.invoke(invocation(&echo)))),
    );
    percentiles(
        "instantiate + invoke, from outside the runtime (worker hop)",
        timed(20_000, || rt.block_on(executor.invoke(invocation(&echo)))),
    );
}

criterion_group!(wasm, benches);

fn main() {
    wasm();
    Criterion::default().configure_from_args().final_summary();
}
