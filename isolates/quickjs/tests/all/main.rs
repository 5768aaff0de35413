//! Integration tests of the QuickJS execution domain: the JS action suite every JS engine
//! passes (`shoal_isolates::suite`), driven through `Arc<dyn Executor>` the way the host
//! drives it, plus what only QuickJS offers (`LocalEngine`, serving from any worker).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use shoal_isolates::suite::{Settings, action, invocation};
use shoal_quickjs::{EngineLimits, LocalEngine, QuickJsConfig, QuickJsExecutor};
use shoal_router::{ActionCode, Executor};

fn quickjs(settings: Settings) -> Arc<dyn Executor> {
    Arc::new(
        QuickJsExecutor::new(QuickJsConfig {
            workers: settings.workers,
            max_resident: settings.max_resident,
            idle_ttl: settings.idle_ttl,
            ..QuickJsConfig::default()
        })
        .expect("the QuickJS executor starts"),
    )
}

shoal_isolates::js_action_suite!(quickjs);

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
    let exec = Arc::new(
        QuickJsExecutor::new(QuickJsConfig {
            workers: 2,
            ..QuickJsConfig::default()
        })
        .unwrap(),
    );
    let counter = action(
        "home",
        "let n = 0; function main() { n += 1; return { n }; }",
        "main",
    );
    // First served by worker 1 (its home from now on), then by worker 0, then from outside
    // the pool: every call reaches the same isolate.
    assert_eq!(run_on(&exec, 1, &counter).await, json!({"n": 1}));
    assert_eq!(run_on(&exec, 0, &counter).await, json!({"n": 2}));
    let outside = exec.invoke(invocation(&counter, "guest", json!({}), 5_000));
    assert_eq!(outside.await.result, Ok(json!({"n": 3})));
    assert_eq!(run_on(&exec, 1, &counter).await, json!({"n": 4}));
}
