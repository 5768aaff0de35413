//! Integration tests of the QuickJS execution domain, driven through `Executor` the way the
//! host drives it (and once through `LocalEngine` directly).

mod cases;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use shoal_quickjs::{EngineLimits, LocalEngine, QuickJsConfig, QuickJsExecutor};
use shoal_router::{
    ActionCode, ActivationId, Executor, Failure, Invocation, Limits, Outcome, OwEnv,
};

use cases::Expect;

fn action(name: &str, code: &str, main: &str) -> Arc<ActionCode> {
    let mut digest = [0u8; 32];
    for (i, chunk) in digest.chunks_mut(8).enumerate() {
        let mut h = DefaultHasher::new();
        (i, code, main).hash(&mut h);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
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

fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn invocation(action: &Arc<ActionCode>, tenant: &str, args: Value, timeout_ms: u64) -> Invocation {
    let activation_id = ActivationId::from_random(rand_bytes());
    let limits = Limits {
        timeout_ms,
        memory_mb: 128,
        ..Limits::default()
    };
    Invocation {
        activation_id,
        action: Arc::clone(action),
        tenant: tenant.into(),
        params: params(args),
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
        limits,
        deadline: Instant::now() + Duration::from_millis(timeout_ms),
    }
}

fn rand_bytes() -> [u8; 16] {
    let mut h = DefaultHasher::new();
    (Instant::now(), std::thread::current().id()).hash(&mut h);
    let a = h.finish();
    a.hash(&mut h);
    let b = h.finish();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}

fn executor(workers: usize) -> QuickJsExecutor {
    QuickJsExecutor::new(QuickJsConfig {
        workers,
        ..QuickJsConfig::default()
    })
    .unwrap()
}

async fn run(exec: &QuickJsExecutor, action: &Arc<ActionCode>, args: Value) -> Outcome {
    exec.invoke(invocation(action, "guest", args, 5_000)).await
}

fn check(name: &str, outcome: &Outcome, expect: &Expect) {
    match (expect, &outcome.result) {
        (Expect::Ok(want), Ok(got)) => assert_eq!(got, want, "{name}"),
        (Expect::AppError(want), Err(Failure::ApplicationError(got))) => {
            assert_eq!(got, want, "{name}")
        }
        (Expect::DevError(prefix), Err(Failure::DeveloperError(Value::String(got)))) => {
            assert!(
                got.starts_with(prefix),
                "{name}: {got:?} does not start with {prefix:?}"
            )
        }
        (_, got) => panic!("{name}: unexpected {got:?}"),
    }
}

#[tokio::test]
async fn the_case_table_passes() {
    let exec = executor(2);
    for case in cases::all() {
        let action = action(case.name, case.code, case.main);
        let outcome = run(&exec, &action, case.params.clone()).await;
        check(case.name, &outcome, &case.expect);
    }
}

#[tokio::test]
async fn a_rejected_error_is_serialized_with_name_message_and_stack() {
    let exec = executor(1);
    let a = action(
        "rejects",
        "async function main() { throw new RangeError('too far'); }",
        "main",
    );
    let outcome = run(&exec, &a, json!({})).await;
    let Err(Failure::ApplicationError(Value::Object(err))) = outcome.result else {
        panic!("unexpected {:?}", outcome.result)
    };
    assert_eq!(err["name"], "RangeError");
    assert_eq!(err["message"], "too far");
    assert!(
        err["stack"]
            .as_str()
            .is_some_and(|s| s.contains("rejects.js")),
        "{err:?}"
    );
}

#[tokio::test]
async fn console_output_is_captured_per_activation() {
    let exec = executor(1);
    let code = r#"
        console.log('loading');
        function main(p) {
            console.log('a', {b: 1}, [1, 'x'], 2, null, undefined, true);
            console.info('multi\nline');
            console.error('bad', new Error('e1').message);
            console.warn('careful');
            console.debug('dbg');
            return {};
        }"#;
    let a = action("logger", code, "main");
    let first = run(&exec, &a, json!({})).await;
    let strip = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                assert_eq!(&l[30..31], " ", "timestamp padded to 30: {l}");
                assert!(
                    l.starts_with("20") && l[..30].trim_end().ends_with('Z'),
                    "{l}"
                );
                l[31..].to_string()
            })
            .collect()
    };
    assert_eq!(
        strip(&first.logs),
        vec![
            "stdout: loading",
            r#"stdout: a {"b":1} [1,"x"] 2 null undefined true"#,
            "stdout: multi",
            "stdout: line",
            "stderr: bad e1",
            "stderr: careful",
            "stdout: dbg",
        ]
    );
    let second = run(&exec, &a, json!({})).await;
    assert_eq!(
        strip(&second.logs).len(),
        6,
        "init logs only on the cold start"
    );

    let mut quiet = invocation(&a, "guest", json!({}), 5_000);
    quiet.limits.logs_mb = 0;
    assert!(exec.invoke(quiet).await.logs.is_empty());
}

#[tokio::test]
async fn process_env_has_ow_variables_and_init_params() {
    let exec = executor(1);
    let code = "function main() { const e = process.env; return {id: e.__OW_ACTIVATION_ID, ns: e.__OW_NAMESPACE, name: e.__OW_ACTION_NAME, version: e.__OW_ACTION_VERSION, tid: e.__OW_TRANSACTION_ID, deadline: e.__OW_DEADLINE, host: e.__OW_API_HOST, key: e.__OW_API_KEY === undefined ? null : e.__OW_API_KEY, s: e.S, n: e.N, z: e.Z, o: e.O}; }";
    let a = action("env", code, "main");
    let mut first = invocation(&a, "guest", json!({}), 5_000);
    first.init_env = params(json!({"S": "text", "N": 3, "Z": null, "O": {"k": [1]}}));
    first.env.api_key = Some("uuid:key".into());
    let id1 = first.env.activation_id.clone();
    let out = exec.invoke(first).await.result.unwrap();
    assert_eq!(
        out,
        json!({"id": id1, "ns": "guest", "name": "/guest/env", "version": "0.0.1", "tid": "tid-1",
               "deadline": "1700000000000", "host": "https://shoal.test", "key": "uuid:key",
               "s": "text", "n": "3", "z": "", "o": "{\"k\":[1]}"})
    );
    let mut second = invocation(&a, "guest", json!({}), 5_000);
    second.env.transaction_id = "tid-2".into();
    let id2 = second.env.activation_id.clone();
    let out = exec.invoke(second).await.result.unwrap();
    assert_eq!(out["id"], json!(id2));
    assert_eq!(out["tid"], "tid-2");
    assert_eq!(
        out["key"],
        Value::Null,
        "api key removed when no longer provided"
    );
    assert_eq!(out["s"], "text", "init env persists in the warm isolate");
}

const COUNTER: &str = "let n = 0; function main(p) { n += 1; if (p.spin) { while (true) {} } if (p.bomb) { const a = []; while (true) { a.push('x'.repeat(1 << 16) + a.length); } } return {n}; }";

#[tokio::test]
async fn warm_isolates_keep_globals_and_report_init_only_when_cold() {
    let exec = executor(2);
    let a = action("counter", COUNTER, "main");
    let first = run(&exec, &a, json!({})).await;
    assert_eq!(first.result, Ok(json!({"n": 1})));
    assert!(first.init_ms.is_some());
    let second = run(&exec, &a, json!({})).await;
    assert_eq!(second.result, Ok(json!({"n": 2})));
    assert_eq!(second.init_ms, None);
    assert!(second.start <= second.end);
    let stats = exec.stats();
    assert_eq!(
        (
            stats.name,
            stats.cold_starts,
            stats.activations,
            stats.resident
        ),
        ("quickjs", 1, 2, 1)
    );
    assert!(stats.resident_bytes > 10_000, "{stats:?}");
}

#[tokio::test]
async fn tenants_never_share_an_isolate() {
    let exec = executor(1);
    let a = action("counter", COUNTER, "main");
    for (tenant, expected) in [("alice", 1), ("bob", 1), ("alice", 2), ("bob", 2)] {
        let out = exec.invoke(invocation(&a, tenant, json!({}), 5_000)).await;
        assert_eq!(out.result, Ok(json!({"n": expected})), "{tenant}");
    }
    assert_eq!(exec.stats().cold_starts, 2);
}

#[tokio::test]
async fn an_infinite_loop_times_out_and_everything_keeps_serving() {
    let exec = executor(1);
    let a = action("counter", COUNTER, "main");
    let other = action("other", "function main() { return {other: true}; }", "main");
    assert_eq!(run(&exec, &a, json!({})).await.result, Ok(json!({"n": 1})));
    let began = Instant::now();
    let out = exec
        .invoke(invocation(&a, "guest", json!({"spin": true}), 200))
        .await;
    let took = began.elapsed();
    assert_eq!(out.result, Err(Failure::Timeout { init: false }));
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(600),
        "{took:?}"
    );
    let again = run(&exec, &a, json!({})).await;
    assert_eq!(
        again.result,
        Ok(json!({"n": 1})),
        "the timed-out isolate was discarded"
    );
    assert!(again.init_ms.is_some());
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
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
    assert!(out.init_ms.is_some());
}

#[tokio::test]
async fn async_actions_time_out_without_blocking_their_worker() {
    let exec = executor(1);
    let never = action(
        "never",
        "function main() { return new Promise(() => setTimeout(() => {}, 10000)); }",
        "main",
    );
    let fast = action("fast", "function main() { return {fast: true}; }", "main");
    let began = Instant::now();
    let slow = exec.invoke(invocation(&never, "guest", json!({}), 300));
    let quick = exec.invoke(invocation(&fast, "guest", json!({}), 5_000));
    let (slow, quick) = tokio::join!(slow, async {
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
    assert!(began.elapsed() < Duration::from_millis(800));
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_at_the_limit_and_everything_keeps_serving() {
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
    let bytes = exec.stats().resident_bytes;
    assert!(bytes < 16 << 20, "the bomb's heap was freed: {bytes}");
    assert_eq!(run(&exec, &a, json!({})).await.result, Ok(json!({"n": 1})));
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
}

#[test]
fn prepare_rejects_syntax_errors() {
    let exec = executor(1);
    let broken = action("broken", "function main( { return {}; }", "main");
    let err = exec.prepare(&broken).unwrap_err();
    assert!(err.0.starts_with("SyntaxError"), "{err}");
    assert!(err.0.contains("broken.js"), "{err}");
    assert!(
        exec.prepare(&action("fine", "function main() {}", "main"))
            .is_ok()
    );
}

#[tokio::test]
async fn invoking_unprepared_broken_code_is_an_init_failure() {
    let exec = executor(1);
    let broken = action("broken", "function main( {", "main");
    let out = run(&exec, &broken, json!({})).await;
    check(
        "broken",
        &out,
        &Expect::DevError("Initialization has failed due to: SyntaxError"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_of_one_and_many_actions() {
    let exec = Arc::new(executor(2));
    let shared = action(
        "shared",
        "async function main(p) { await new Promise(r => setTimeout(r, 5)); return {i: p.i}; }",
        "main",
    );
    let mut tasks = Vec::new();
    for i in 0..200 {
        let exec = Arc::clone(&exec);
        let target = if i % 2 == 0 {
            Arc::clone(&shared)
        } else {
            action(
                &format!("a{i}"),
                "function main(p) { return {i: p.i}; }",
                "main",
            )
        };
        tasks.push(tokio::spawn(async move {
            (
                i,
                exec.invoke(invocation(&target, "guest", json!({"i": i}), 5_000))
                    .await,
            )
        }));
    }
    for task in tasks {
        let (i, out) = task.await.unwrap();
        assert_eq!(out.result, Ok(json!({"i": i})));
    }
    let stats = exec.stats();
    assert_eq!(stats.activations, 200);
    assert!(stats.cold_starts >= 101, "{stats:?}");
}

#[tokio::test]
async fn least_recently_used_isolates_are_evicted_over_the_resident_limit() {
    let config = QuickJsConfig {
        workers: 1,
        max_resident: 3,
        ..QuickJsConfig::default()
    };
    let exec = QuickJsExecutor::new(config).unwrap();
    let actions: Vec<_> = (0..5)
        .map(|i| {
            action(
                &format!("e{i}"),
                "let n = 0; function main() { return {n: ++n}; }",
                "main",
            )
        })
        .collect();
    for a in &actions {
        assert_eq!(run(&exec, a, json!({})).await.result, Ok(json!({"n": 1})));
    }
    let stats = exec.stats();
    assert_eq!((stats.resident, stats.evictions), (3, 2), "{stats:?}");
    assert_eq!(
        run(&exec, &actions[4], json!({})).await.result,
        Ok(json!({"n": 2})),
        "recent ones stay warm"
    );
    assert_eq!(
        run(&exec, &actions[0], json!({})).await.result,
        Ok(json!({"n": 1})),
        "oldest was evicted"
    );
}

#[tokio::test]
async fn idle_isolates_expire_after_the_ttl() {
    let config = QuickJsConfig {
        workers: 1,
        idle_ttl: Duration::from_millis(50),
        ..QuickJsConfig::default()
    };
    let exec = QuickJsExecutor::new(config).unwrap();
    let a = action("idle", "function main() { return {}; }", "main");
    run(&exec, &a, json!({})).await;
    assert_eq!(exec.stats().resident, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = exec.stats();
    assert_eq!(
        (stats.resident, stats.evictions, stats.resident_bytes),
        (0, 1, 0),
        "{stats:?}"
    );
}

#[test]
fn the_local_engine_runs_on_the_current_thread() {
    let engine = LocalEngine::new(EngineLimits {
        idle_ttl: Duration::from_secs(60),
        max_resident: 10,
        max_resident_bytes: 1 << 30,
    });
    let a = action(
        "local",
        "let n = 0; function main(p) { return {n: ++n, who: p.who}; }",
        "main",
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    for n in 1..=3 {
        let out = rt.block_on(engine.invoke(invocation(&a, "guest", json!({"who": "me"}), 1_000)));
        assert_eq!(out.result, Ok(json!({"n": n, "who": "me"})));
    }
    assert_eq!(engine.stats().cold_starts, 1);
}

/// Invokes from inside worker `worker` (as the host's HTTP server does) and returns the
/// result, so a test can choose which worker serves the request.
async fn run_on(exec: &Arc<QuickJsExecutor>, worker: usize, action: &Arc<ActionCode>) -> Value {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let (e, a) = (Arc::clone(exec), Arc::clone(action));
    let serve = exec.run_on_workers(move |i| {
        let job = (i == worker).then(|| {
            let (e, a, tx) = (Arc::clone(&e), Arc::clone(&a), tx.lock().unwrap().take());
            async move {
                let outcome = e.invoke(invocation(&a, "guest", json!({}), 5_000)).await;
                let _ = tx.unwrap().send(outcome.result.unwrap());
            }
        });
        async move {
            if let Some(job) = job {
                job.await;
            }
        }
    });
    serve.await;
    rx.await.unwrap()
}

#[tokio::test]
async fn an_action_keeps_one_warm_isolate_whichever_worker_serves_it() {
    let exec = Arc::new(executor(2));
    let counter = action(
        "home",
        "let n = 0; function main() { n += 1; return { n }; }",
        "main",
    );
    // First served by worker 1 (its home from now on), then by worker 0, then from outside
    // the pool: every call reaches the same isolate.
    assert_eq!(run_on(&exec, 1, &counter).await, json!({"n": 1}));
    assert_eq!(run_on(&exec, 0, &counter).await, json!({"n": 2}));
    assert_eq!(
        run(&exec, &counter, json!({})).await.result.unwrap(),
        json!({"n": 3})
    );
    assert_eq!(run_on(&exec, 1, &counter).await, json!({"n": 4}));
}
