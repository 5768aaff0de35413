//! In-process WASM figures: instantiate + invoke of the echo action through `Executor::invoke`
//! (a semaphore permit, a fresh store and instance from the prepared `InstancePre`, params in,
//! result parsed) in both ABIs: the WASI command (`fixtures/wasm/echo.wat`: WASI context,
//! params on stdin, result from stdout) and the direct ABI (`fixtures/wasm/echo_direct.wat`:
//! `alloc` + `run`, no WASI). Polled on the calling thread (current-thread runtime: no hop, as
//! in the host), and the command once more from outside a multi-thread runtime (a hop to its
//! worker and back). Besides criterion's report it prints p50 and p99 of individually timed
//! samples, the two ABIs interleaved in rounds so that both see the same machine, and their
//! ratio.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use shoal_benches::sample::{check, invocation, percentiles, timed};
use shoal_router::{ActionCode, Executor};
use shoal_wasm::{WasmConfig, WasmExecutor};

const ECHO: &str = include_str!("../../fixtures/wasm/echo.wat");
const ECHO_DIRECT: &str = include_str!("../../fixtures/wasm/echo_direct.wat");

fn action(name: &str, code: &str, digest: u8) -> Arc<ActionCode> {
    Arc::new(ActionCode {
        fqn: format!("/guest/{name}"),
        name: name.into(),
        version: "0.0.1".into(),
        kind: "wasm".into(),
        code: code.into(),
        binary: false,
        main: "main".into(),
        digest: [digest; 32],
        image: None,
        host_tags: Default::default(),
    })
}

/// The `q` quantile of `samples`, in microseconds.
fn p(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6
}

fn benches(c: &mut Criterion) {
    let executor = WasmExecutor::new(WasmConfig::default()).unwrap();
    let command = action("echo", ECHO, 1);
    let direct = action("echo-direct", ECHO_DIRECT, 2);
    executor.prepare(&command).unwrap();
    executor.prepare(&direct).unwrap();
    let here = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let invoke = |code: &Arc<ActionCode>| here.block_on(executor.invoke(invocation(code)));
    for code in [&command, &direct] {
        let out = invoke(code);
        check(&out);
        assert_eq!(
            out.result,
            Ok(serde_json::json!({"params": {"name": "bench"}}))
        );
    }
    c.bench_function("wasm/instantiate_invoke_here", |b| {
        b.iter(|| invoke(&command))
    });
    c.bench_function("wasm/instantiate_invoke_direct_here", |b| {
        b.iter(|| invoke(&direct))
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    check(&rt.block_on(executor.invoke(invocation(&command))));
    c.bench_function("wasm/instantiate_invoke_hop", |b| {
        b.iter(|| rt.block_on(executor.invoke(invocation(&command))))
    });

    let (mut wasi, mut fast) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        wasi.extend(timed(5_000, || invoke(&command)));
        fast.extend(timed(5_000, || invoke(&direct)));
    }
    let mut ratio = |q| p(&mut fast, q) / p(&mut wasi, q);
    let (r50, r99) = (ratio(0.5), ratio(0.99));
    percentiles(
        "instantiate + invoke, WASI command ABI, calling thread",
        wasi,
    );
    percentiles("instantiate + invoke, direct ABI, calling thread", fast);
    println!("direct / WASI command: p50 x{r50:.2}, p99 x{r99:.2}");
    percentiles(
        "instantiate + invoke, WASI command ABI, from outside the runtime (worker hop)",
        timed(20_000, || {
            rt.block_on(executor.invoke(invocation(&command)))
        }),
    );
}

criterion_group!(wasm, benches);

fn main() {
    wasm();
    Criterion::default().configure_from_args().final_summary();
}
