//! QuickJS and V8 side by side, in one run (feature `v8`): per-isolate memory (engine heap and
//! process RSS, hence resident isolates per GiB), the first cold start of the process (each
//! engine's one-time lazy work), cold start of a hello-world action, its warm invoke, and two
//! warm compute-heavy actions (a sort of 100K numbers, a hash of 1M bytes) on QuickJS, V8 and
//! tiered placement (QuickJS, moved to V8 after slow warm runs). Every activation goes
//! through `Executor::invoke` (one hop to the engine's single worker and back). Prints p50
//! and p99 of individually timed samples and V8/QuickJS ratios; no pass/fail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_benches::sample::{action, check, invocation, p50_p99};
use shoal_benches::server::rss_bytes;
use shoal_quickjs::{QuickJsConfig, QuickJsExecutor};
use shoal_router::{ActionCode, Executor, Outcome};
use shoal_v8::{TIER_ANNOTATION, TieredConfig, TieredExecutor, V8Config, V8Executor};

const HELLO: &str = include_str!("../../fixtures/js/hello.js");

/// Compute-heavy actions (each gives the same answer on every engine): a sort of 100K
/// pseudo-random numbers, and an FNV-1a hash of 1M bytes.
const COMPUTE_ACTIONS: [(&str, &str); 2] = [
    (
        "warm sort of 100K numbers",
        "function main() { let x = 1; const a = []; for (let i = 0; i < 100000; i++) { x = (x * 1103515245 + 12345) % 2147483648; a.push(x); } a.sort((p, q) => p - q); return {n: a.length, first: a[0], last: a[a.length - 1]}; }",
    ),
    (
        "warm FNV-1a hash of 1M bytes",
        "function main() { let h = 2166136261; for (let i = 0; i < 1000000; i++) { h = Math.imul(h ^ (i & 255), 16777619) >>> 0; } return {h}; }",
    ),
];

/// Idle isolates created to measure memory per isolate.
const DENSITY: u64 = 200;
/// Cold starts timed per engine (each a new action; at most [`COLD_RESIDENT`] stay resident).
const COLD: u64 = 300;
const COLD_RESIDENT: usize = 64;
/// Warm hello-world invokes timed per engine.
const WARM: usize = 10_000;
/// Warm runs of each compute-heavy action timed per placement.
const COMPUTE: usize = 30;

/// A JS engine under test, with a single worker.
struct Engine {
    name: &'static str,
    exec: Arc<dyn Executor>,
}

fn quickjs(max_resident: usize) -> Arc<dyn Executor> {
    Arc::new(
        QuickJsExecutor::new(QuickJsConfig {
            workers: 1,
            max_resident,
            ..QuickJsConfig::default()
        })
        .expect("QuickJS starts"),
    )
}

fn v8(max_resident: usize) -> Arc<dyn Executor> {
    Arc::new(
        V8Executor::new(V8Config {
            workers: 1,
            max_resident,
            ..V8Config::default()
        })
        .expect("V8 starts"),
    )
}

fn engines(max_resident: usize) -> [Engine; 2] {
    [
        Engine {
            name: "quickjs",
            exec: quickjs(max_resident),
        },
        Engine {
            name: "v8",
            exec: v8(max_resident),
        },
    ]
}

/// Action numbers never reused in this run (each new number is a new isolate).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// One cold run of `heavy`, then [`COMPUTE`] timed warm runs; also how many of those the
/// tiered executor placed on V8 (its `tier` annotation).
fn warm_runs(
    rt: &tokio::runtime::Runtime,
    exec: &dyn Executor,
    heavy: &Arc<ActionCode>,
) -> (Vec<Duration>, usize) {
    check(&rt.block_on(exec.invoke(invocation(heavy))));
    let mut on_v8 = 0;
    let warm = (0..COMPUTE)
        .map(|_| {
            let began = Instant::now();
            let outcome = rt.block_on(exec.invoke(invocation(heavy)));
            let took = began.elapsed();
            check(&outcome);
            let tier = outcome
                .annotations
                .iter()
                .find(|(k, _)| k == TIER_ANNOTATION);
            on_v8 += usize::from(tier.is_some_and(|(_, v)| v["engine"] == "v8"));
            took
        })
        .collect();
    (warm, on_v8)
}

/// Times one activation, checking that it succeeded.
/// The clock starts before `invoke` is called: an executor may hand the activation to its
/// worker inside `invoke`, before the returned future is first polled.
fn time<F: std::future::Future<Output = Outcome>>(
    rt: &tokio::runtime::Runtime,
    invoke: impl FnOnce() -> F,
) -> Duration {
    let began = Instant::now();
    let outcome = rt.block_on(invoke());
    let took = began.elapsed();
    check(&outcome);
    took
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// One table row: p50/p99 per engine and the second's p50 over the first's.
fn row(label: &str, figures: &[(Duration, Duration)]) {
    let cells: Vec<String> = figures
        .iter()
        .map(|(p50, p99)| format!("{} / {}", ms(*p50), ms(*p99)))
        .collect();
    let ratio = figures[1].0.as_secs_f64() / figures[0].0.as_secs_f64();
    println!("| {label} | {} | {} | {ratio:.2} |", cells[0], cells[1]);
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut numbers = Numbers(0);
    println!("| figure (p50 / p99) | quickjs | v8 | v8 / quickjs (p50) |");
    println!("|---|---|---|---|");

    // Memory first, while the process is fresh: the first isolate of each engine pays the
    // engine's one-time costs (for V8 its platform and startup snapshot) and is timed alone.
    let mut first = Vec::new();
    let mut memory = Vec::new();
    for engine in engines(10_000) {
        let one = action(numbers.next(), HELLO);
        let took = time(&rt, || engine.exec.invoke(invocation(&one)));
        first.push((took, took));
        let before = rss_bytes(std::process::id()).expect("VmRSS");
        for _ in 0..DENSITY {
            let a = action(numbers.next(), HELLO);
            check(&rt.block_on(engine.exec.invoke(invocation(&a))));
        }
        let after = rss_bytes(std::process::id()).expect("VmRSS");
        let stats = engine.exec.stats();
        let heap = stats.resident_bytes / stats.resident;
        let rss = after.saturating_sub(before) / DENSITY;
        memory.push((engine.name, heap, rss));
    }
    row("first cold start of the process", &first);

    let [qjs, v8_engine] = engines(COLD_RESIDENT);
    let mut figures = Vec::new();
    for engine in [&qjs, &v8_engine] {
        let mut cold: Vec<Duration> = (0..COLD)
            .map(|_| {
                let a = action(numbers.next(), HELLO);
                time(&rt, || engine.exec.invoke(invocation(&a)))
            })
            .collect();
        figures.push(p50_p99(&mut cold));
    }
    row("cold start, hello world", &figures);

    let mut figures = Vec::new();
    for engine in [&qjs, &v8_engine] {
        let hello = action(numbers.next(), HELLO);
        check(&rt.block_on(engine.exec.invoke(invocation(&hello))));
        let mut warm: Vec<Duration> = (0..WARM)
            .map(|_| time(&rt, || engine.exec.invoke(invocation(&hello))))
            .collect();
        figures.push(p50_p99(&mut warm));
    }
    row("warm invoke, hello world", &figures);

    // Compute-heavy actions on both engines and on tiered placement, whose cold run and first
    // slow warm runs happen on QuickJS and the rest on V8 (every warm run is in its figures).
    let tiered = TieredExecutor::new(
        quickjs(COLD_RESIDENT),
        v8(COLD_RESIDENT),
        TieredConfig::default(),
    );
    let mut tiered_lines = Vec::new();
    for (label, code) in COMPUTE_ACTIONS {
        let heavy = action(numbers.next(), code);
        let mut figures = Vec::new();
        for exec in [&qjs.exec, &v8_engine.exec] {
            let (mut warm, _) = warm_runs(&rt, exec.as_ref(), &heavy);
            figures.push(p50_p99(&mut warm));
        }
        row(label, &figures);
        let (mut warm, on_v8) = warm_runs(&rt, &tiered, &heavy);
        let (t50, t99) = p50_p99(&mut warm);
        let ratio = |fixed: Duration| t50.as_secs_f64() / fixed.as_secs_f64();
        tiered_lines.push(format!(
            "tiered, {label}: p50 {} / p99 {} ({on_v8} of {COMPUTE} warm runs on v8); p50 tiered/quickjs {:.2}, tiered/v8 {:.2}",
            ms(t50),
            ms(t99),
            ratio(figures[0].0),
            ratio(figures[1].0),
        ));
    }

    for (name, heap, rss) in &memory {
        println!(
            "{name}: per idle isolate {} KiB engine heap, {} KiB process RSS ({DENSITY} isolates) => {} resident isolates per GiB",
            heap / 1024,
            rss / 1024,
            (1u64 << 30) / (*rss).max(1)
        );
    }

    let defaults = TieredConfig::default();
    println!(
        "tiering threshold: {} consecutive warm runs over {:?}",
        defaults.slow_runs, defaults.threshold
    );
    for line in tiered_lines {
        println!("{line}");
    }
}
