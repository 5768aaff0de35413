//! Integration tests of the QuickJS execution domain: the JS action suite every JS engine
//! passes (`shoal_isolates::suite`), driven through `Arc<dyn Executor>` the way the host
//! drives it, plus what only QuickJS offers (`LocalEngine`) and what its worker pool gives (a
//! spinning action stalls no neighbour).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use shoal_isolates::suite::{Settings, action, invocation};
use shoal_quickjs::{EngineLimits, LocalEngine, QuickJsConfig, QuickJsExecutor};
use shoal_router::Executor;

fn quickjs(settings: Settings) -> Arc<dyn Executor> {
    Arc::new(
        QuickJsExecutor::with_egress(
            QuickJsConfig {
                workers: settings.workers,
                max_resident: settings.max_resident,
                idle_ttl: settings.idle_ttl,
                ..QuickJsConfig::default()
            },
            shoal_isolates::suite::echo_egress(),
        )
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

#[tokio::test]
async fn a_spinning_action_does_not_stall_actions_pinned_to_the_same_worker() {
    let exec = QuickJsExecutor::new(QuickJsConfig {
        workers: 1,
        ..QuickJsConfig::default()
    })
    .unwrap();
    let spin = action("spin", "function main() { for (;;) {} }", "main");
    let hello = action("hello", "function main(p) { return {hi: p.who}; }", "main");
    let mut spinning = exec.invoke(invocation(&spin, "tenant-a", json!({}), 5_000));
    // Make sure the spinner has started on the only worker before the neighbour asks.
    let noop = &mut std::task::Context::from_waker(std::task::Waker::noop());
    assert!(spinning.as_mut().poll(noop).is_pending());
    let neighbour = exec.invoke(invocation(&hello, "tenant-b", json!({"who": "b"}), 5_000));
    assert_eq!(neighbour.await.result, Ok(json!({"hi": "b"})));
    assert!(
        spinning.as_mut().poll(noop).is_pending(),
        "the neighbour was answered while the spinner still ran"
    );
    assert_eq!(exec.stats().hand_offs, 1);
    let spun = spinning.await;
    assert!(
        matches!(spun.result, Err(shoal_router::Failure::Timeout { .. })),
        "{:?}",
        spun.result
    );
}

#[tokio::test]
async fn timer_storms_are_refused_and_huge_delays_clamped() {
    let exec = quickjs(Settings::default());
    let storm = action(
        "storm",
        "function main() { const ids = []; let refused = null; try { for (;;) { ids.push(setTimeout(() => {}, 1e300)); } } catch (e) { refused = e.name + ': ' + e.message; } ids.forEach(clearTimeout); return {n: ids.length, refused}; }",
        "main",
    );
    let out = exec
        .invoke(invocation(&storm, "guest", json!({}), 10_000))
        .await;
    assert_eq!(
        out.result,
        Ok(
            json!({"n": 10_000, "refused": "RangeError: too many pending timers: at most 10000 per action"})
        )
    );
}

#[tokio::test]
async fn a_huge_thrown_text_is_cut_before_it_reaches_the_host() {
    let exec = quickjs(Settings::default());
    let thrower = action(
        "thrower",
        "function main() { throw 'x'.repeat(5e6); }",
        "main",
    );
    let out = exec
        .invoke(invocation(&thrower, "guest", json!({}), 10_000))
        .await;
    let Err(shoal_router::Failure::DeveloperError(error)) = out.result else {
        panic!("{:?}", out.result)
    };
    let text = error.to_string();
    assert!(text.len() < 70_000, "{} bytes", text.len());
    assert!(
        text.contains("(5000000 characters in all)"),
        "{}",
        &text[text.len() - 80..]
    );
}

#[tokio::test]
async fn a_deadline_hit_while_the_thrown_value_is_read_is_a_timeout() {
    let exec = quickjs(Settings::default());
    let thrower = action(
        "slow-to-describe",
        "function main() { throw { toString() { for (;;) {} } }; }",
        "main",
    );
    let out = exec
        .invoke(invocation(&thrower, "guest", json!({}), 500))
        .await;
    assert!(
        matches!(out.result, Err(shoal_router::Failure::Timeout { .. })),
        "{:?}",
        out.result
    );
}

/// `process.env` starts as an accessor that writes the variables on first use: code that
/// keeps its getter and reaches it again from a setter in the variables' way (while they
/// are being written), or assigns `process.env` before reading it, gets ordinary answers
/// and the worker keeps serving.
#[tokio::test]
async fn reaching_process_env_from_inside_its_own_writes_is_harmless() {
    let exec = quickjs(Settings::default());
    let code = "const get = Object.getOwnPropertyDescriptor(process, 'env').get; \
                Object.defineProperty(Object.prototype, '__OW_DEADLINE', {set(v) { globalThis.seen = (globalThis.seen || 0) + 1; globalThis.inner = typeof get.call(process); }, configurable: true}); \
                function main(p) { if (p.assign) { process.env = {mine: 1}; return {mine: process.env.mine, again: typeof get.call(process)}; } \
                  return {env: typeof process.env, data: 'value' in Object.getOwnPropertyDescriptor(process, 'env'), seen: globalThis.seen, inner: globalThis.inner}; }";
    let reentrant = action("reentrant", code, "main");
    let mut before = 0;
    for run in 1..=3 {
        let mut out = exec
            .invoke(invocation(&reentrant, "guest", json!({}), 5_000))
            .await
            .result
            .unwrap();
        // The setter runs for every write of `__OW_DEADLINE`: each run writes it.
        let seen = out["seen"].take().as_u64().unwrap();
        assert!(seen > before, "run {run}: {seen} after {before}");
        before = seen;
        let want = json!({"env": "object", "data": true, "seen": null, "inner": "object"});
        assert_eq!(out, want, "run {run}");
    }
    let assigner = action("assigner", code, "main");
    let out = exec
        .invoke(invocation(
            &assigner,
            "guest",
            json!({"assign": true}),
            5_000,
        ))
        .await;
    assert_eq!(out.result, Ok(json!({"mine": 1, "again": "object"})));
    // The kept getter, called after the assignment, leaves the code's own object in place.
    let out = exec
        .invoke(invocation(&assigner, "guest", json!({}), 5_000))
        .await;
    assert_eq!(out.result.map(|r| r["env"].clone()), Ok(json!("object")));
    let kept = "const get = Object.getOwnPropertyDescriptor(process, 'env').get; \
                function main() { process.env = {mine: 1}; const before = get.call(process).__OW_ACTIVATION_ID; \
                  return {mine: process.env.mine, id: before}; }";
    let kept = action("kept", kept, "main");
    let inv = invocation(&kept, "guest", json!({}), 5_000);
    let id = inv.env.activation_id.clone();
    let out = exec.invoke(inv).await;
    assert_eq!(out.result, Ok(json!({"mine": 1, "id": id})));
    // A `process` frozen before `process.env` is first used keeps answering it, every run.
    let frozen =
        "Object.freeze(process); function main() { return {id: process.env.__OW_ACTIVATION_ID}; }";
    let frozen = action("frozen", frozen, "main");
    for run in 0..2 {
        let inv = invocation(&frozen, "guest", json!({}), 5_000);
        let id = inv.env.activation_id.clone();
        let out = exec.invoke(inv).await;
        assert_eq!(out.result, Ok(json!({"id": id})), "run {run}");
    }
}
