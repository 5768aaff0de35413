//! In-process QuickJS figures: a warm hello-world invoke on the current thread's engine (no
//! hop; with the `Invocation` built per call as the controller does, and without that share),
//! the same through `QuickJsExecutor::invoke` (hop to a worker and back), and a cold
//! start (a new action: compile, isolate, load, first invoke), with room and when it must
//! evict the least recently used isolate first, and the engine floor: the same call made
//! with rquickjs alone. Besides criterion's report it
//! prints p50 and p99 of individually timed samples.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use shoal_benches::sample::{action, check, invocation, percentiles, timed, timed_apart};
use shoal_benches::server::rss_bytes;
use shoal_isolates::suite::node::zip_action;
use shoal_quickjs::{EngineLimits, LocalEngine, QuickJsConfig, QuickJsExecutor};
use shoal_router::{Executor, Outcome};

/// The allocator the `shoal` binary ships with: what the host allocates per activation (the
/// invocation, the result's JSON) costs what it costs there. Against the system allocator the
/// warm invoke measured ~x1.05 slower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HELLO: &str = include_str!("../../fixtures/js/hello.js");

/// The files of a zip action that requires the `openwhisk` client (as serverless ships one).
const OPENWHISK_ZIP: &[(&str, &str)] = &[
    ("package.json", r#"{"name": "ow", "main": "index.js"}"#),
    (
        "index.js",
        "const openwhisk = require('openwhisk');\nexports.main = (p) => { const ow = openwhisk({apihost: 'http://127.0.0.1:1', api_key: 'a:b'}); return {ready: typeof ow.actions.invoke}; };",
    ),
];

/// Polls a future that is expected to be ready at once (a synchronous action).
fn ready<F: Future<Output = Outcome>>(f: F) -> Outcome {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(o) => o,
        Poll::Pending => panic!("hello-world should finish synchronously"),
    }
}

fn limits() -> EngineLimits {
    EngineLimits {
        idle_ttl: Duration::from_secs(600),
        max_resident: 2_000,
        max_resident_bytes: 1 << 30,
    }
}

fn benches(c: &mut Criterion) {
    let engine = LocalEngine::new(limits());
    let hello = action(0, HELLO);
    check(&ready(engine.invoke(invocation(&hello))));
    c.bench_function("quickjs/warm_invoke_local", |b| {
        b.iter(|| ready(engine.invoke(invocation(&hello))))
    });
    // The invoke alone: the controller's share (building the `Invocation`) left out, and
    // (criterion drops a batch's outputs after timing it) dropping the outcome too.
    c.bench_function("quickjs/warm_invoke_local_prebuilt", |b| {
        b.iter_batched(
            || invocation(&hello),
            |inv| ready(engine.invoke(inv)),
            criterion::BatchSize::SmallInput,
        )
    });

    // A new hello-world action each call: a cold start on `engine`.
    let mut n = 1_000_000u64;
    let mut cold = move |engine: &LocalEngine| {
        n += 1;
        let code = action(n, &format!("{HELLO} var k = {n};"));
        ready(engine.invoke(invocation(&code)))
    };
    c.bench_function("quickjs/cold_start_local", |b| b.iter(|| cold(&engine)));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let executor = QuickJsExecutor::new(QuickJsConfig::default()).unwrap();
    check(&rt.block_on(executor.invoke(invocation(&hello))));
    c.bench_function("quickjs/warm_invoke_executor", |b| {
        b.iter(|| rt.block_on(executor.invoke(invocation(&hello))))
    });

    let stats = engine.stats();
    println!(
        "resident hello-world isolates: {}, heap bytes each: {}",
        stats.resident,
        stats.resident_bytes / stats.resident.max(1)
    );
    percentiles(
        "warm invoke, local engine",
        timed(100_000, || ready(engine.invoke(invocation(&hello)))),
    );
    percentiles(
        "warm invoke, local engine, invocation built beforehand",
        timed_apart(
            100_000,
            || invocation(&hello),
            |inv| ready(engine.invoke(inv)),
        ),
    );
    percentiles(
        "the same call on QuickJS alone (the engine floor)",
        engine_floor(100_000),
    );
    percentiles(
        "warm invoke, executor (worker hop)",
        timed(20_000, || rt.block_on(executor.invoke(invocation(&hello)))),
    );
    // A fresh engine with room for every sample: the cold start alone. Below, the engine of
    // the criterion runs is full, so each cold start there also evicts (frees) the least
    // recently used isolate first.
    let roomy = LocalEngine::new(EngineLimits {
        max_resident: 10_000,
        ..limits()
    });
    percentiles(
        "cold start with room (no eviction), local engine",
        timed(5_000, || cold(&roomy)),
    );
    drop(roomy);
    percentiles(
        "cold start evicting the oldest isolate, freed inline (no reaper), local engine",
        timed(5_000, || cold(&engine)),
    );
    // As on a worker: the engine's reaper frees the evicted isolate once the activation has
    // answered and the worker's `LocalSet` has nothing else to run (between samples).
    let local = tokio::task::LocalSet::new();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let reaped = local.block_on(&current, async {
        let worker = LocalEngine::new(limits());
        worker.spawn_sweeper();
        for _ in 0..limits().max_resident {
            check(&cold(&worker));
        }
        let mut samples = Vec::with_capacity(5_000);
        for _ in 0..5_000 {
            samples.extend(timed(1, || cold(&worker)));
            tokio::task::yield_now().await;
        }
        samples
    });
    percentiles(
        "cold start evicting the oldest isolate, freed after the answer (as on a worker)",
        reaped,
    );
    // A zip action (package.json + index.js) that requires the preinstalled `openwhisk`
    // client and builds one: the Node layer, the loader, the client module and the entry.
    let zips: Vec<_> = (0..1_000)
        .map(|_| zip_action("owzip", OPENWHISK_ZIP, "main"))
        .collect();
    check(&ready(engine.invoke(invocation(&zips[0]))));
    let mut next = zips.iter().skip(1).cycle();
    percentiles(
        "cold start, zip action requiring openwhisk, local engine",
        timed(999, || {
            let zip = next.next().unwrap();
            ready(engine.invoke(invocation(zip)))
        }),
    );
}

/// The engine floor of a warm invoke: the same hello-world call made with rquickjs alone, on
/// one runtime (on the same allocator) and context with no shoal around it: a parameters
/// object `{name}` built, `main` called, and its greeting read out as a host string. What
/// the warm invoke costs above this is shoal's own work: the `__OW_*` variables, the
/// result's full JSON reading, the isolate's bookkeeping, the clock.
fn engine_floor(count: usize) -> Vec<Duration> {
    let rt = rquickjs::Runtime::new_with_alloc(rquickjs::allocator::RustAllocator).unwrap();
    let context = rquickjs::Context::full(&rt).unwrap();
    context.with(|ctx| {
        ctx.eval::<(), _>(HELLO).unwrap();
        let main: rquickjs::Function = ctx.globals().get("main").unwrap();
        (0..count)
            .map(|_| {
                let t = Instant::now();
                // The JS values are freed inside the block, as an invoke frees its own.
                let greeting: String = {
                    let params = rquickjs::Object::new(ctx.clone()).unwrap();
                    params.set("name", "bench").unwrap();
                    let result: rquickjs::Object = main.call((params,)).unwrap();
                    result.get("greeting").unwrap()
                };
                assert_eq!(greeting, "Hello, bench!");
                t.elapsed()
            })
            .collect()
    })
}

/// RSS per resident action: 10,000 distinct hello-world actions (no Node layer), then 10,000
/// that use it (`require('path')`), each left warm on its own engine.
fn density() {
    let pid = std::process::id();
    // Both sets stay resident, so the second is not measured in memory the first gave back.
    let mut engines = Vec::new();
    for (label, code) in [
        ("hello-world", HELLO.to_string()),
        (
            "using the Node layer (require('path'))",
            format!("const path = require('path');\n{HELLO}"),
        ),
    ] {
        let engine = LocalEngine::new(EngineLimits {
            max_resident: 20_000,
            max_resident_bytes: 8 << 30,
            ..limits()
        });
        let before = rss_bytes(pid).unwrap_or(0);
        for n in 0..10_000u64 {
            let action = action(5_000_000 + n, &format!("{code} var k = {n};"));
            check(&ready(engine.invoke(invocation(&action))));
        }
        let after = rss_bytes(pid).unwrap_or(0);
        println!(
            "10,000 resident {label}: RSS +{} MiB, {} KiB per action",
            after.saturating_sub(before) >> 20,
            after.saturating_sub(before) / 10_000 / 1024
        );
        engines.push(engine);
    }
}

criterion_group!(quickjs, benches);

fn main() {
    density();
    quickjs();
    Criterion::default().configure_from_args().final_summary();
}
