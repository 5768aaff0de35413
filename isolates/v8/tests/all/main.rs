//! Integration tests of the V8 execution domain, driven through `Executor` the way the host
//! drives it. The JS case table is the QuickJS engine's own, so both engines pass one suite.

#[path = "../../../quickjs/tests/all/cases.rs"]
mod cases;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use shoal_router::{
    ActionCode, ActivationId, Executor, Failure, Invocation, Limits, Outcome, OwEnv,
};
use shoal_v8::{V8Config, V8Executor};

use cases::Expect;

/// Distinct digests and activation ids for every action and invocation of the process.
fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn action(name: &str, code: &str, main: &str) -> Arc<ActionCode> {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&unique().to_le_bytes());
    Arc::new(ActionCode {
        fqn: format!("/guest/{name}"),
        name: name.to_string(),
        version: "0.0.1".into(),
        kind: "nodejs:20".into(),
        code: code.into(),
        binary: false,
        main: main.into(),
        digest,
        image: None,
    })
}

fn invocation(action: &Arc<ActionCode>, tenant: &str, args: Value, timeout_ms: u64) -> Invocation {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&unique().to_le_bytes());
    let activation_id = ActivationId::from_random(id);
    Invocation {
        activation_id,
        action: Arc::clone(action),
        tenant: tenant.into(),
        params: match args {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        init_env: Map::new(),
        env: OwEnv {
            api_host: "https://shoal.test".into(),
            api_key: None,
            namespace: tenant.into(),
            action_name: action.fqn.clone(),
            action_version: action.version.clone(),
            activation_id: activation_id.to_string(),
            transaction_id: "tid-1".into(),
            deadline: "1700000000000".into(),
        },
        limits: Limits {
            timeout_ms,
            memory_mb: 128,
            ..Limits::default()
        },
        deadline: Instant::now() + Duration::from_millis(timeout_ms),
    }
}

fn executor(workers: usize) -> V8Executor {
    V8Executor::new(V8Config {
        workers,
        ..V8Config::default()
    })
    .unwrap()
}

async fn run(exec: &V8Executor, action: &Arc<ActionCode>, args: Value) -> Outcome {
    exec.invoke(invocation(action, "guest", args, 5_000)).await
}

fn check(name: &str, outcome: &Outcome, expect: &Expect) {
    match (expect, &outcome.result) {
        (Expect::Ok(want), Ok(got)) => assert_eq!(got, want, "{name}"),
        (Expect::AppError(want), Err(Failure::ApplicationError(got))) => {
            assert_eq!(got, want, "{name}")
        }
        (Expect::DevError(prefix), Err(Failure::DeveloperError(Value::String(got)))) => {
            assert!(got.starts_with(prefix), "{name}: {got:?} vs {prefix:?}")
        }
        (_, got) => panic!("{name}: unexpected {got:?}"),
    }
}

#[tokio::test]
async fn the_shared_case_table_passes_on_v8() {
    let exec = executor(2);
    for case in cases::all() {
        let action = action(case.name, case.code, case.main);
        let outcome = run(&exec, &action, case.params.clone()).await;
        check(case.name, &outcome, &case.expect);
    }
}

#[tokio::test]
async fn a_rejected_error_keeps_name_message_and_stack() {
    let exec = executor(1);
    let code = "async function main() { throw new RangeError('too far'); }";
    let outcome = run(&exec, &action("rejects", code, "main"), json!({})).await;
    let Err(Failure::ApplicationError(Value::Object(err))) = outcome.result else {
        panic!("unexpected {:?}", outcome.result)
    };
    assert_eq!(
        (&err["name"], &err["message"]),
        (&json!("RangeError"), &json!("too far"))
    );
    let stack = err["stack"].as_str().unwrap_or_default();
    assert!(stack.contains("rejects.js"), "{err:?}");
}

#[tokio::test]
async fn console_output_is_captured_per_activation() {
    let exec = executor(1);
    let code = r#"
        console.log('loading');
        function main() {
            console.log('a', {b: 1}, [1, 'x'], 2, null, undefined, true);
            console.info('multi\nline');
            console.error('bad', new Error('e1').message);
            console.warn('careful');
            return {};
        }"#;
    let a = action("logger", code, "main");
    let texts =
        |out: &Outcome| -> Vec<String> { out.logs.iter().map(|l| l[31..].to_string()).collect() };
    let first = run(&exec, &a, json!({})).await;
    assert_eq!(
        texts(&first),
        vec![
            "stdout: loading",
            r#"stdout: a {"b":1} [1,"x"] 2 null undefined true"#,
            "stdout: multi",
            "stdout: line",
            "stderr: bad e1",
            "stderr: careful",
        ]
    );
    assert_eq!(
        texts(&run(&exec, &a, json!({})).await).len(),
        5,
        "init logs only when cold"
    );
}

#[tokio::test]
async fn process_env_has_ow_variables_and_init_params() {
    let exec = executor(1);
    let code = "function main() { const e = process.env; return {id: e.__OW_ACTIVATION_ID, ns: e.__OW_NAMESPACE, tid: e.__OW_TRANSACTION_ID, key: e.__OW_API_KEY === undefined ? null : e.__OW_API_KEY, s: e.S, n: e.N, o: e.O}; }";
    let a = action("env", code, "main");
    let mut first = invocation(&a, "guest", json!({}), 5_000);
    first.init_env = match json!({"S": "text", "N": 3, "O": {"k": [1]}}) {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    first.env.api_key = Some("uuid:key".into());
    let id1 = first.env.activation_id.clone();
    assert_eq!(
        exec.invoke(first).await.result,
        Ok(
            json!({"id": id1, "ns": "guest", "tid": "tid-1", "key": "uuid:key", "s": "text", "n": "3", "o": "{\"k\":[1]}"})
        )
    );
    let mut second = invocation(&a, "guest", json!({}), 5_000);
    second.env.transaction_id = "tid-2".into();
    let out = exec.invoke(second).await.result.unwrap();
    assert_eq!(
        (&out["tid"], &out["key"], &out["s"]),
        (&json!("tid-2"), &Value::Null, &json!("text"))
    );
}

const COUNTER: &str = "let n = 0; function main(p) { n += 1; if (p.spin) { while (true) {} } if (p.bomb) { const a = []; while (true) { a.push('x'.repeat(1 << 16) + a.length); } } return {n}; }";

#[tokio::test]
async fn warm_isolates_keep_globals_and_tenants_never_share_one() {
    let exec = executor(2);
    let a = action("counter", COUNTER, "main");
    let first = run(&exec, &a, json!({})).await;
    assert_eq!(
        (first.result, first.init_ms.is_some()),
        (Ok(json!({"n": 1})), true)
    );
    let second = run(&exec, &a, json!({})).await;
    assert_eq!((second.result, second.init_ms), (Ok(json!({"n": 2})), None));
    for (tenant, expected) in [("alice", 1), ("bob", 1), ("alice", 2), ("bob", 2)] {
        let out = exec.invoke(invocation(&a, tenant, json!({}), 5_000)).await;
        assert_eq!(out.result, Ok(json!({"n": expected})), "{tenant}");
    }
    let stats = exec.stats();
    assert_eq!(
        (
            stats.name,
            stats.cold_starts,
            stats.activations,
            stats.resident
        ),
        ("v8", 3, 6, 3)
    );
    assert!(stats.resident_bytes > 100_000, "{stats:?}");
}

#[tokio::test]
async fn an_infinite_loop_times_out_and_everything_keeps_serving() {
    let exec = executor(1);
    let a = action("counter", COUNTER, "main");
    assert_eq!(run(&exec, &a, json!({})).await.result, Ok(json!({"n": 1})));
    let began = Instant::now();
    let out = exec
        .invoke(invocation(&a, "guest", json!({"spin": true}), 200))
        .await;
    let took = began.elapsed();
    assert_eq!(out.result, Err(Failure::Timeout { init: false }));
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(1_000),
        "{took:?}"
    );
    let again = run(&exec, &a, json!({})).await;
    assert_eq!(
        again.result,
        Ok(json!({"n": 1})),
        "the timed-out isolate was discarded"
    );
    assert!(exec.stats().evictions >= 1);

    let init_loop = action(
        "init-loop",
        "while (true) {} function main() { return {}; }",
        "main",
    );
    let out = exec
        .invoke(invocation(&init_loop, "guest", json!({}), 200))
        .await;
    assert_eq!(out.result, Err(Failure::Timeout { init: true }));
}

#[tokio::test]
async fn async_actions_time_out_without_blocking_their_worker() {
    let exec = executor(1);
    let never = action(
        "never",
        "function main() { return new Promise(() => setTimeout(() => {}, 10000)); }",
        "main",
    );
    let forever = action(
        "forever",
        "function main() { return new Promise(() => {}); }",
        "main",
    );
    let fast = action("fast", "function main() { return {fast: true}; }", "main");
    let began = Instant::now();
    let slow = exec.invoke(invocation(&never, "guest", json!({}), 300));
    let stuck = exec.invoke(invocation(&forever, "guest", json!({}), 300));
    let quick = exec.invoke(invocation(&fast, "guest", json!({}), 5_000));
    let (slow, stuck, quick) = tokio::join!(slow, stuck, async {
        let out = quick.await;
        (out, began.elapsed())
    });
    assert_eq!(quick.0.result, Ok(json!({"fast": true})));
    assert!(
        quick.1 < Duration::from_millis(250),
        "fast action waited {:?}",
        quick.1
    );
    assert_eq!(slow.result, Err(Failure::Timeout { init: false }));
    assert_eq!(stuck.result, Err(Failure::Timeout { init: false }));
    assert!(began.elapsed() < Duration::from_millis(1_000));
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_at_the_heap_limit_and_everything_keeps_serving() {
    let exec = executor(1);
    let a = action("counter", COUNTER, "main");
    let other = action("other", "function main() { return {other: true}; }", "main");
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
    let out = exec
        .invoke(invocation(&a, "guest", json!({"bomb": true}), 20_000))
        .await;
    assert_eq!(out.result, Err(Failure::MemoryExceeded));
    assert!(
        exec.stats().resident_bytes < 32 << 20,
        "the bomb's heap was freed"
    );
    assert_eq!(run(&exec, &a, json!({})).await.result, Ok(json!({"n": 1})));
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
}

#[test]
fn prepare_rejects_syntax_errors() {
    let exec = executor(1);
    let err = exec
        .prepare(&action("broken", "function main( { return {}; }", "main"))
        .unwrap_err();
    assert!(err.0.starts_with("SyntaxError"), "{err}");
    assert!(err.0.contains("broken.js"), "{err}");
    assert!(
        exec.prepare(&action("fine", "const main = () => ({});", "main"))
            .is_ok()
    );
}

#[tokio::test]
async fn a_throwing_timer_callback_is_a_developer_error() {
    let exec = executor(1);
    let code = "function main() { return new Promise(() => setTimeout(() => { throw new Error('late'); }, 5)); }";
    let out = run(&exec, &action("late", code, "main"), json!({})).await;
    check(
        "late",
        &out,
        &Expect::DevError("An error has occurred: Error: late"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_and_evictions_interleave_isolates_safely() {
    let exec = Arc::new(
        V8Executor::new(V8Config {
            workers: 2,
            max_resident: 6,
            ..V8Config::default()
        })
        .unwrap(),
    );
    let shared = action(
        "shared",
        "async function main(p) { await new Promise(r => setTimeout(r, 5)); return {i: p.i}; }",
        "main",
    );
    let mut tasks = Vec::new();
    for i in 0..60 {
        let exec = Arc::clone(&exec);
        let target = if i % 2 == 0 {
            Arc::clone(&shared)
        } else {
            action(
                &format!("a{i}"),
                "async function main(p) { await null; return {i: p.i}; }",
                "main",
            )
        };
        tasks.push(tokio::spawn(async move {
            (
                i,
                exec.invoke(invocation(&target, "guest", json!({"i": i}), 10_000))
                    .await,
            )
        }));
    }
    for task in tasks {
        let (i, out) = task.await.unwrap();
        assert_eq!(out.result, Ok(json!({"i": i})));
    }
    let stats = exec.stats();
    assert_eq!(stats.activations, 60);
    assert!(stats.resident <= 6 && stats.evictions >= 24, "{stats:?}");
}

#[tokio::test]
async fn idle_isolates_expire_after_the_ttl() {
    let exec = V8Executor::new(V8Config {
        workers: 1,
        idle_ttl: Duration::from_millis(50),
        ..V8Config::default()
    })
    .unwrap();
    run(
        &exec,
        &action("idle", "function main() { return {}; }", "main"),
        json!({}),
    )
    .await;
    assert_eq!(exec.stats().resident, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = exec.stats();
    assert_eq!(
        (stats.resident, stats.evictions, stats.resident_bytes),
        (0, 1, 0),
        "{stats:?}"
    );
}

/// Median of `samples` (sorted in place).
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Cold start, warm hello-world, a compute-heavy action and per-isolate heap, on both JS
/// engines in one run (`--nocapture` prints them). The bounds are loose sanity limits; the
/// compute bound is the point of V8: it must beat QuickJS's interpreter.
#[tokio::test]
async fn figures_side_by_side_with_quickjs() {
    use shoal_quickjs::{QuickJsConfig, QuickJsExecutor};
    const ISOLATES: usize = 20;
    const HELLO: &str = "function main(p) { return {hello: p.name}; }";
    const SORT: &str = "function main() { let x = 1; const a = []; for (let i = 0; i < 100000; i++) { x = (x * 1103515245 + 12345) % 2147483648; a.push(x); } a.sort((p, q) => p - q); return {first: a[0], n: a.length}; }";
    let engines: Vec<(&str, Box<dyn Executor>)> = vec![
        (
            "quickjs",
            Box::new(
                QuickJsExecutor::new(QuickJsConfig {
                    workers: 1,
                    ..QuickJsConfig::default()
                })
                .unwrap(),
            ),
        ),
        ("v8", Box::new(executor(1))),
    ];
    let mut compute = Vec::new();
    for (name, exec) in &engines {
        let mut cold = Vec::new();
        for i in 0..ISOLATES {
            let a = action(&format!("cold{i}"), HELLO, "main");
            let began = Instant::now();
            let out = exec
                .invoke(invocation(&a, "guest", json!({"name": "x"}), 5_000))
                .await;
            cold.push(began.elapsed());
            assert_eq!(out.result, Ok(json!({"hello": "x"})));
        }
        let per_isolate = exec.stats().resident_bytes / ISOLATES as u64;
        let a = action("warm", HELLO, "main");
        let mut warm = Vec::new();
        for _ in 0..200 {
            let began = Instant::now();
            exec.invoke(invocation(&a, "guest", json!({"name": "x"}), 5_000))
                .await;
            warm.push(began.elapsed());
        }
        let s = action("sort", SORT, "main");
        let mut sorts = Vec::new();
        for _ in 0..5 {
            let began = Instant::now();
            let out = exec
                .invoke(invocation(&s, "guest", json!({}), 60_000))
                .await;
            sorts.push(began.elapsed());
            assert_eq!(out.result.unwrap()["n"], json!(100_000));
        }
        let (cold, warm, sort) = (median(&mut cold), median(&mut warm), median(&mut sorts));
        println!(
            "{name}: cold start {cold:?}, warm hello {warm:?}, warm sort of 100K {sort:?}, {} KiB heap per isolate",
            per_isolate / 1024
        );
        assert!(
            per_isolate < 16 << 20 && warm < Duration::from_millis(50),
            "{name}"
        );
        compute.push(sort);
    }
    assert!(
        compute[1] < compute[0],
        "V8 sorts faster than QuickJS: {compute:?}"
    );
}

#[tokio::test]
async fn tiering_moves_a_compute_heavy_action_to_v8_and_keeps_its_results() {
    use shoal_quickjs::{QuickJsConfig, QuickJsExecutor};
    use shoal_v8::{TIER_ANNOTATION, TieredConfig, TieredExecutor};
    let quickjs = QuickJsExecutor::new(QuickJsConfig {
        workers: 1,
        ..QuickJsConfig::default()
    })
    .unwrap();
    let tiered = TieredExecutor::new(
        Arc::new(quickjs),
        Arc::new(executor(1)),
        TieredConfig {
            threshold: Duration::from_millis(20),
            slow_runs: 2,
        },
    );
    let tier = |out: &Outcome| {
        out.annotations
            .iter()
            .find(|(k, _)| k == TIER_ANNOTATION)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    // A hash of 100K numbers: the same answer on both engines, ~10x faster on V8.
    let heavy = action(
        "heavy",
        "function main(p) { let h = p.seed; for (let i = 0; i < 100000; i++) { h = Math.imul(h ^ i, 16777619) >>> 0; } const a = []; for (let i = 0; i < 100000; i++) { h = Math.imul(h, 16777619) >>> 0; a.push(h); } a.sort((x, y) => x - y); return {h, min: a[0], max: a[a.length - 1]}; }",
        "main",
    );
    let light = action("light", "function main() { return {ok: true}; }", "main");
    let mut engines = Vec::new();
    let mut results = Vec::new();
    for _ in 0..5 {
        let out = tiered
            .invoke(invocation(&heavy, "guest", json!({"seed": 7}), 60_000))
            .await;
        engines.push(tier(&out)["engine"].clone());
        results.push(out.result.clone().unwrap());
        let fast = tiered
            .invoke(invocation(&light, "guest", json!({}), 5_000))
            .await;
        assert_eq!(
            tier(&fast)["engine"],
            "quickjs",
            "a fast action stays on QuickJS"
        );
    }
    // Cold (not measured), then two slow warm runs on QuickJS; V8 from then on.
    assert_eq!(engines, ["quickjs", "quickjs", "quickjs", "v8", "v8"]);
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    let moved = tiered
        .invoke(invocation(&heavy, "guest", json!({"seed": 7}), 60_000))
        .await;
    let why = tier(&moved)["moved"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        why.contains("2 consecutive warm runs on quickjs over 20 ms"),
        "{why}"
    );
    assert_eq!(tiered.stats().name, "tiered");
}
