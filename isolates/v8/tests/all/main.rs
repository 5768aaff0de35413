//! Integration tests of the V8 execution domain: the JS action suite every JS engine passes
//! (`shoal_isolates::suite`), driven through `Arc<dyn Executor>` the way the host drives it.
//! Tiering between QuickJS and V8 is tested where both engines meet, in the host.

use std::sync::Arc;

use shoal_isolates::suite::Settings;
use shoal_router::Executor;
use shoal_v8::{V8Config, V8Executor};

fn v8(settings: Settings) -> Arc<dyn Executor> {
    Arc::new(
        V8Executor::with_egress(
            V8Config {
                workers: settings.workers,
                max_resident: settings.max_resident,
                idle_ttl: settings.idle_ttl,
                ..V8Config::default()
            },
            shoal_isolates::suite::echo_egress(),
        )
        .expect("the V8 executor starts"),
    )
}

shoal_isolates::js_action_suite!(v8);

/// The thread that ends runs at their deadline starts with the executor, in its caller's
/// scheduling class: never in an isolate worker's `SCHED_BATCH` (nor `SCHED_IDLE` after a
/// hand-off), where a wake-up at a deadline would wait for the running guest.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_deadline_watchdog_runs_in_the_normal_scheduling_class() {
    use shoal_isolates::suite::{action, invocation};
    let executor = v8(Settings::default());
    let hello = action("hello", "function main() { return {ok: true}; }", "main");
    let out = executor
        .invoke(invocation(&hello, "guest", serde_json::json!({}), 1_000))
        .await;
    assert_eq!(out.result, Ok(serde_json::json!({"ok": true})));
    // `None`: the normal class.
    assert_eq!(
        shoal_router::sched::threads_named("shoal-v8-watchd"),
        [None]
    );
}

/// The runner's own copy of the result limit (it refuses longer results in the isolate) is
/// the host's.
#[test]
fn the_runner_refuses_results_at_the_hosts_limit() {
    let runner = include_str!("../../src/bootstrap.js");
    let limit = format!(
        "const MAX_RESULT_BYTES = {};",
        shoal_router::MAX_RESULT_BYTES
    );
    assert!(runner.contains(&limit), "bootstrap.js lacks `{limit}`");
}
