//! Density of WASM activations: how much resident memory each of 10,000 live instances of a
//! one-page module costs. Every instance is a real activation through `Executor::invoke` of
//! `fixtures/wasm/sleep.wat` (fresh store, WASI context, instance from the pool, params on
//! stdin), suspended inside the guest in WASI `poll_oneoff` for `--hold-ms`; while all of
//! them are suspended (checked: every activation has been polled and none has finished) the
//! bench reads the process's `VmRSS` and `VmSize` from `/proc/self/status` and prints the
//! deltas over the baseline taken after the executor, its pool and the prepared module exist
//! and one activation has run. Then it waits for every activation and checks its result.
//!
//! `cargo bench -p shoal-benches --bench wasm_density [-- --instances 10000 --hold-ms 4000]`

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use shoal_benches::sample::{check, invocation};
use shoal_router::{ActionCode, Executor, Invocation};
use shoal_wasm::{WasmConfig, WasmExecutor};

const SLEEP: &str = include_str!("../../fixtures/wasm/sleep.wat");

struct Args {
    instances: u32,
    hold_ms: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        instances: 10_000,
        hold_ms: 4_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--instances" => args.instances = number(it.next(), &a) as u32,
            "--hold-ms" => args.hold_ms = number(it.next(), &a),
            // cargo bench passes `--bench`; criterion-style flags mean nothing here.
            _ => {}
        }
    }
    args
}

fn number(value: Option<String>, flag: &str) -> u64 {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{flag} needs a number"))
}

/// Bytes the C heap (glibc malloc, this bench's allocator) has handed out and not freed.
fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

/// `(VmRSS, VmSize)` of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmSize:"))
}

fn sleep_action() -> Arc<ActionCode> {
    Arc::new(ActionCode {
        fqn: "/guest/sleep".into(),
        name: "sleep".into(),
        version: "0.0.1".into(),
        kind: "wasm".into(),
        code: SLEEP.into(),
        binary: false,
        main: "main".into(),
        digest: [2; 32],
        image: None,
        host_tags: Default::default(),
    })
}

fn sleeping(code: &Arc<ActionCode>, ms: u64) -> Invocation {
    let mut inv = invocation(code);
    inv.params.insert("ms".into(), json!(ms));
    inv
}

/// Polls `fut`, counting in `started` once its first poll returned (it is then suspended in
/// the guest, or yielded at an epoch tick on its way there).
async fn counted<F: Future>(fut: F, started: Arc<AtomicUsize>) -> F::Output {
    let mut fut = pin!(fut);
    let mut first = true;
    poll_fn(|cx| {
        let polled = fut.as_mut().poll(cx);
        if std::mem::take(&mut first) {
            started.fetch_add(1, Ordering::Relaxed);
        }
        polled
    })
    .await
}

fn main() {
    let args = parse_args();
    let n = args.instances;
    let executor = Arc::new(
        WasmExecutor::new(WasmConfig {
            max_instances: n,
            max_running: n as usize,
            ..WasmConfig::default()
        })
        .expect("the WASM executor starts with a pool of that size"),
    );
    let code = sleep_action();
    executor.prepare(&code).expect("sleep.wat compiles");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    check(&rt.block_on(executor.invoke(sleeping(&code, 0))));
    let (rss0, vm0) = memory();
    let heap0 = heap_in_use();

    let (rss, vm, heap, spawned_in) = rt.block_on(async {
        let started = Arc::new(AtomicUsize::new(0));
        let began = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let run = executor.invoke(sleeping(&code, args.hold_ms));
                tokio::spawn(counted(run, Arc::clone(&started)))
            })
            .collect();
        while started.load(Ordering::Relaxed) < n as usize {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let spawned_in = began.elapsed();
        // Let activations that yielded at an epoch tick on the way reach their sleep.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (rss, vm) = memory();
        let heap = heap_in_use();
        assert!(
            tasks.iter().all(|t| !t.is_finished()),
            "an activation finished before the measurement: raise --hold-ms"
        );
        for t in tasks {
            check(&t.await.expect("activation task"));
        }
        (rss, vm, heap, spawned_in)
    });
    let (rss_after, _) = memory();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{n} concurrent WASM activations of a 1-page module (fixtures/wasm/sleep.wat), all suspended in poll_oneoff; started in {:.0} ms",
        spawned_in.as_secs_f64() * 1e3
    );
    println!(
        "  RSS baseline (engine, pool, module, one run) {:>9.1} MiB",
        mib(rss0)
    );
    println!(
        "  RSS with {n} resident                    {:>9.1} MiB  (+{:.1} MiB, {:.1} KiB per instance; target <= 200 MiB for 10,000: {})",
        mib(rss),
        mib(rss - rss0),
        (rss - rss0) as f64 / 1024.0 / f64::from(n),
        if n == 10_000 && rss - rss0 <= 200 << 20 {
            "met"
        } else if n == 10_000 {
            "not met"
        } else {
            "n/a"
        }
    );
    println!(
        "    of which heap (stores, WASI contexts, tasks) {:.1} KiB per instance, the rest pool pages (stacks, memories, instance data)",
        heap.saturating_sub(heap0) as f64 / 1024.0 / f64::from(n)
    );
    println!(
        "  RSS after all finished                    {:>9.1} MiB",
        mib(rss_after)
    );
    println!(
        "  virtual size: baseline {:.1} GiB (the pool's reservations), +{:.1} MiB with {n} resident",
        vm0 as f64 / f64::from(1 << 30),
        mib(vm.saturating_sub(vm0))
    );
}
