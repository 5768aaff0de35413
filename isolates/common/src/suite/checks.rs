//! The suite's checks: each starts its own executor with `make` and panics on a broken
//! contract. [`crate::js_action_suite!`] turns each into a `#[test]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shoal_router::{ActionCode, Executor, Failure, Outcome};

use super::{Make, Settings, action, cases, check, invocation, params};

/// A counter whose `spin` parameter loops forever and whose `bomb` parameter allocates
/// without end.
const COUNTER: &str = "let n = 0; function main(p) { n += 1; if (p.spin) { while (true) {} } if (p.bomb) { const a = []; while (true) { a.push('x'.repeat(1 << 16) + a.length); } } return {n}; }";

/// Every check's longest wait for a timed-out activation, far above any engine's reaction.
const TIMEOUT_SLACK: Duration = Duration::from_millis(800);

async fn run(exec: &Arc<dyn Executor>, action: &Arc<ActionCode>, args: Value) -> Outcome {
    exec.invoke(invocation(action, "guest", args, 5_000)).await
}

/// The one-shot cases of the table, each on its own action.
pub async fn the_case_table_passes(make: Make) {
    let exec = make(Settings {
        workers: 2,
        ..Settings::default()
    });
    for case in cases::all() {
        let action = action(case.name, case.code, case.main);
        let outcome = run(&exec, &action, case.params.clone()).await;
        check(case.name, &outcome.result, &case.expect);
    }
}

/// A rejected `Error` becomes an application error carrying its name, message and stack.
pub async fn a_rejected_error_keeps_name_message_and_stack(make: Make) {
    let exec = make(Settings::default());
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

/// `console.*` lines land in the activation that wrote them, timestamped and tagged with
/// their stream; what the code logs while loading belongs to the cold start only; a zero
/// log limit keeps nothing.
pub async fn console_output_is_captured_per_activation(make: Make) {
    let exec = make(Settings::default());
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
    let texts = |out: &Outcome| -> Vec<String> {
        out.logs
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
            "stdout: dbg",
        ]
    );
    let second = run(&exec, &a, json!({})).await;
    assert_eq!(texts(&second).len(), 6, "init logs only on the cold start");

    let mut quiet = invocation(&a, "guest", json!({}), 5_000);
    quiet.limits.logs_mb = 0;
    assert!(exec.invoke(quiet).await.logs.is_empty());
}

/// Every `__OW_*` variable of the activation, and `init: true` parameters as strings that
/// persist in the warm isolate while the per-activation ones change (also when the action
/// overwrote them, and when the next activation's value is the same).
pub async fn process_env_has_ow_variables_and_init_params(make: Make) {
    let exec = make(Settings::default());
    let code = "function main() { const e = process.env; const out = {id: e.__OW_ACTIVATION_ID, ns: e.__OW_NAMESPACE, name: e.__OW_ACTION_NAME, version: e.__OW_ACTION_VERSION, tid: e.__OW_TRANSACTION_ID, deadline: e.__OW_DEADLINE, host: e.__OW_API_HOST, key: e.__OW_API_KEY === undefined ? null : e.__OW_API_KEY, s: e.S, n: e.N, z: e.Z, o: e.O}; e.__OW_DEADLINE = 'overwritten'; globalThis.runs = (globalThis.runs || 0) + 1; return {...out, runs: globalThis.runs}; }";
    let a = action("env", code, "main");
    let mut first = invocation(&a, "guest", json!({}), 5_000);
    first.init_env = params(json!({"S": "text", "N": 3, "Z": null, "O": {"k": [1]}}));
    first.env.api_key = Some("uuid:key".into());
    let id1 = first.env.activation_id.clone();
    assert_eq!(
        exec.invoke(first).await.result,
        Ok(
            json!({"id": id1, "ns": "guest", "name": "/guest/env", "version": "0.0.1", "tid": "tid-1",
                   "deadline": "1700000000000", "host": "https://shoal.test", "key": "uuid:key",
                   "s": "text", "n": "3", "z": "", "o": "{\"k\":[1]}", "runs": 1})
        )
    );
    // Warm runs in the same isolate: the api key removed, back, then changed; fresh
    // per-activation variables (the deadline repeats after the action overwrote it) and the
    // init env kept.
    for (run, key) in [(2, None), (3, Some("uuid:other")), (4, Some("uuid:third"))] {
        let mut next = invocation(&a, "guest", json!({}), 5_000);
        next.env.transaction_id = format!("tid-{run}");
        next.env.api_key = key.map(Into::into);
        let id = next.env.activation_id.clone();
        let out = exec.invoke(next).await.result.unwrap();
        let got = ["id", "tid", "deadline", "ns", "s", "key", "runs"].map(|k| &out[k]);
        let want = [
            json!(id),
            json!(format!("tid-{run}")),
            json!("1700000000000"),
            json!("guest"),
            json!("text"),
            json!(key),
            json!(run),
        ];
        assert_eq!(got, want.each_ref(), "warm run {run}");
    }
}

/// `process.env` first reached by a warm run, in a timer's callback of a pending run, or
/// through `process.env` kept from loading, holds that run's variables, and it is an
/// ordinary data property once reached (as in Node.js): an engine that writes the variables
/// only once the action uses them must not show stale or missing ones.
pub async fn process_env_reached_late_holds_the_running_activations_variables(make: Make) {
    let exec = make(Settings::default());
    let late = "function main(p) { if (p.now) return read(); if (p.later) return new Promise((ok) => setTimeout(() => ok(read()), 1)); return {}; } \
                function read() { const e = process.env; const d = Object.getOwnPropertyDescriptor(process, 'env'); \
                  return {id: e.__OW_ACTIVATION_ID, tid: e.__OW_TRANSACTION_ID, key: e.__OW_API_KEY ?? null, data: 'value' in d, keys: Object.keys(e).filter((k) => k.startsWith('__OW_')).length}; }";
    let kept = "const env = process.env; function main() { return {id: env.__OW_ACTIVATION_ID, tid: env.__OW_TRANSACTION_ID}; }";
    for (name, code, runs) in [
        (
            "late",
            late,
            [
                json!({}),
                json!({}),
                json!({"now": true}),
                json!({"now": true}),
            ],
        ),
        (
            "later",
            late,
            [
                json!({}),
                json!({"later": true}),
                json!({"now": true}),
                json!({}),
            ],
        ),
        ("kept", kept, [json!({}), json!({}), json!({}), json!({})]),
    ] {
        let a = action(name, code, "main");
        for (run, args) in runs.into_iter().enumerate() {
            let mut inv = invocation(&a, "guest", args.clone(), 5_000);
            inv.env.transaction_id = format!("tid-{name}-{run}");
            inv.env.api_key = (run % 2 == 1).then(|| format!("uuid:{run}"));
            let id = inv.env.activation_id.clone();
            let out = exec.invoke(inv).await.result.unwrap();
            let read = name == "kept" || args != json!({});
            let want = match (read, name) {
                (false, _) => json!({}),
                (true, "kept") => json!({"id": id, "tid": format!("tid-{name}-{run}")}),
                (true, _) => json!({
                    "id": id, "tid": format!("tid-{name}-{run}"),
                    "key": (run % 2 == 1).then(|| format!("uuid:{run}")),
                    "data": true, "keys": 7 + run % 2,
                }),
            };
            assert_eq!(out, want, "{name}, run {run}");
        }
    }
}

/// A second activation reuses the isolate: globals persist and no init time is reported.
pub async fn warm_isolates_keep_globals_and_report_init_only_when_cold(make: Make) {
    let exec = make(Settings {
        workers: 2,
        ..Settings::default()
    });
    let a = action("counter", COUNTER, "main");
    let first = run(&exec, &a, json!({})).await;
    assert_eq!(first.result, Ok(json!({"n": 1})));
    assert!(first.init_ms.is_some());
    let second = run(&exec, &a, json!({})).await;
    assert_eq!((second.result, second.init_ms), (Ok(json!({"n": 2})), None));
    assert!(second.start <= second.end);
    let stats = exec.stats();
    assert_eq!(
        (
            stats.name,
            stats.cold_starts,
            stats.activations,
            stats.resident
        ),
        (exec.name(), 1, 2, 1)
    );
    assert!(stats.resident_bytes > 10_000, "{stats:?}");
}

/// Tenants never share an isolate, and an action never sees another action's globals.
pub async fn tenants_and_actions_never_share_globals(make: Make) {
    let exec = make(Settings::default());
    let a = action("counter", COUNTER, "main");
    for (tenant, expected) in [("alice", 1), ("bob", 1), ("alice", 2), ("bob", 2)] {
        let out = exec.invoke(invocation(&a, tenant, json!({}), 5_000)).await;
        assert_eq!(out.result, Ok(json!({"n": expected})), "{tenant}");
    }
    assert_eq!(exec.stats().cold_starts, 2);

    let writer = action(
        "writer",
        "function main() { globalThis.shared = 'secret'; Object.prototype.polluted = 1; return {}; }",
        "main",
    );
    let reader = action(
        "reader",
        "function main() { return {shared: typeof shared, polluted: typeof ({}).polluted}; }",
        "main",
    );
    let clean = json!({"shared": "undefined", "polluted": "undefined"});
    for tenant in ["alice", "bob"] {
        let wrote = exec.invoke(invocation(&writer, "alice", json!({}), 5_000));
        assert_eq!(wrote.await.result, Ok(json!({})));
        let read = exec.invoke(invocation(&reader, tenant, json!({}), 5_000));
        assert_eq!(read.await.result, Ok(clean.clone()), "{tenant}");
    }
}

/// A busy loop stops at the deadline (`Timeout`), the isolate is discarded, and the worker
/// keeps serving; a loop while loading the code is an init timeout.
pub async fn an_infinite_loop_times_out_and_everything_keeps_serving(make: Make) {
    let exec = make(Settings::default());
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
        took >= Duration::from_millis(190) && took < Duration::from_millis(200) + TIMEOUT_SLACK,
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

/// Promises that never settle (with a pending timer, or with nothing left to run) time out
/// while another action on the same worker answers at once.
pub async fn async_actions_time_out_without_blocking_their_worker(make: Make) {
    let exec = make(Settings::default());
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
    assert!(began.elapsed() < Duration::from_millis(300) + TIMEOUT_SLACK);
}

/// Allocating without end stops at the memory limit (`MemoryExceeded`, which the host
/// reports as "exhausted its memory"), the heap is freed and everything keeps serving.
pub async fn a_memory_bomb_is_stopped_at_the_limit_and_everything_keeps_serving(make: Make) {
    let exec = make(Settings::default());
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
    assert!(bytes < 32 << 20, "the bomb's heap was freed: {bytes}");
    assert_eq!(run(&exec, &a, json!({})).await.result, Ok(json!({"n": 1})));
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
}

/// `ArrayBuffer` memory (typed arrays, `Buffer`s) counts against the memory limit too: an
/// action that keeps allocating buffers fails within its limit (out of memory, or the
/// engine's `RangeError`) instead of growing the host by a gigabyte, and what it held is
/// freed.
pub async fn array_buffers_count_against_the_memory_limit(make: Make) {
    let exec = make(Settings::default());
    let hoard = action(
        "hoard",
        "function main() { const kept = []; for (let i = 0; i < 128; i++) kept.push(new Uint8Array(8 << 20)); return {kept: kept.length}; }",
        "main",
    );
    hoard_stops_at_64_mib(&exec, &hoard, &["allocation failed"], "buffers").await;
    let other = action("other", "function main() { return {other: true}; }", "main");
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
}

/// What an engine keeps for itself stays out of reach (`Deno`, `__bootstrap`), there is no
/// `WebAssembly` (WASM actions have their own domain), and neither growable buffers nor the
/// bytes native calls return can take memory past the action's limit: an action that keeps
/// 1 GiB of cipher output, or asks for buffers that grow, fails within its limit.
pub async fn engine_internals_and_uncounted_memory_stay_out_of_reach(make: Make) {
    let exec = make(Settings::default());
    let probe = action(
        "probe",
        "function main() { let grow = 'refused'; try { const b = new ArrayBuffer(8, {maxByteLength: 1 << 30}); grow = b.resizable ? 'resizable' : 'fixed'; } catch (e) { grow = e.name; } return {deno: typeof Deno, bootstrap: typeof __bootstrap, wasm: typeof WebAssembly, grow, plain: new ArrayBuffer(8).byteLength, ctor: new Uint8Array(2).buffer.constructor === ArrayBuffer}; }",
        "main",
    );
    let out = run(&exec, &probe, json!({})).await.result;
    let seen = out.as_ref().cloned().unwrap_or_default();
    assert_eq!(
        (
            &seen["deno"],
            &seen["bootstrap"],
            &seen["wasm"],
            &seen["plain"],
            &seen["ctor"]
        ),
        (
            &json!("undefined"),
            &json!("undefined"),
            &json!("undefined"),
            &json!(8),
            &json!(true)
        ),
        "{out:?}"
    );
    // Either refused, or (on an engine that counts them) an ordinary buffer.
    assert!(
        ["RangeError", "fixed", "resizable"].contains(&seen["grow"].as_str().unwrap_or("")),
        "{seen}"
    );
    let hoard = action(
        "cipher-hoard",
        "const crypto = require('crypto'); function main() { const c = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16)); const chunk = Buffer.alloc(8 << 20); const kept = []; for (let i = 0; i < 128; i++) kept.push(c.update(chunk)); return {kept: kept.length}; }",
        "main",
    );
    hoard_stops_at_64_mib(
        &exec,
        &hoard,
        &["allocation failed", "out of memory"],
        "cipher output",
    )
    .await;
}

/// Runs `hoard` (an action keeping 1 GiB of `what`) under a 64 MiB limit: it must end out of
/// memory, or with a developer error naming one of `errors`, and what it held must be freed.
async fn hoard_stops_at_64_mib(
    exec: &Arc<dyn Executor>,
    hoard: &Arc<ActionCode>,
    errors: &[&str],
    what: &str,
) {
    let mut small = invocation(hoard, "guest", json!({}), 20_000);
    small.limits.memory_mb = 64;
    match exec.invoke(small).await.result {
        Err(Failure::MemoryExceeded) => {}
        Err(Failure::DeveloperError(why)) => {
            let why = why.to_string();
            assert!(errors.iter().any(|e| why.contains(e)), "{why}");
        }
        other => panic!("1 GiB of {what} under a 64 MiB limit: {other:?}"),
    }
    let bytes = exec.stats().resident_bytes;
    assert!(bytes < 32 << 20, "the {what} was freed: {bytes}");
}

/// A result whose JSON would be gigabytes (an array of four billion holes) fails within the
/// action's limits — out of memory or a thrown `RangeError`, as the engine's serialiser decides
/// — instead of making the host loop or allocate without bound; the worker keeps serving.
pub async fn a_result_too_big_to_serialise_fails_and_everything_keeps_serving(make: Make) {
    let exec = make(Settings::default());
    let huge = action(
        "huge",
        "function main() { const a = []; a.length = 4e9; return {a}; }",
        "main",
    );
    let mut small = invocation(&huge, "guest", json!({}), 20_000);
    small.limits.memory_mb = 32;
    let out = exec.invoke(small).await;
    assert!(
        matches!(
            out.result,
            Err(Failure::MemoryExceeded | Failure::DeveloperError(_))
        ),
        "{:?}",
        out.result
    );
    let other = action("other", "function main() { return {other: true}; }", "main");
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
}

/// A result whose JSON text is over the result limit is OpenWhisk's "exceeded the allowed
/// length" error, decided in the isolate: a few nested arrays (a million references, a few
/// MB of text) never become a tree on the host. So is a rejection reason that large.
pub async fn a_result_over_the_limit_is_refused_in_the_isolate(make: Make) {
    let exec = make(Settings::default());
    let nested = "let x = 0; for (let i = 0; i < 20; i++) x = [x, x];";
    for (name, code) in [
        (
            "big",
            format!("function main() {{ {nested} return {{x}}; }}"),
        ),
        (
            "rejects",
            format!("function main() {{ {nested} return Promise.reject({{x}}); }}"),
        ),
    ] {
        let a = action(name, &code, "main");
        let out = run(&exec, &a, json!({})).await;
        let Err(Failure::ApplicationError(Value::String(text))) = &out.result else {
            panic!(
                "{name}: not refused: {:?}",
                out.result.map(|v| v.to_string().len())
            );
        };
        assert!(
            text.starts_with("The action produced a response that exceeded the allowed length: ")
                && text.contains(r#"The truncated response was: {"x":[[[["#),
            "{name}: {text:.200}"
        );
    }
    let other = action("other", "function main() { return {other: true}; }", "main");
    assert_eq!(
        run(&exec, &other, json!({})).await.result,
        Ok(json!({"other": true}))
    );
}

/// `prepare` refuses code that can never load, naming the error and the action's file.
pub async fn prepare_rejects_syntax_errors(make: Make) {
    let exec = make(Settings::default());
    let err = exec
        .prepare(&action("broken", "function main( { return {}; }", "main"))
        .unwrap_err();
    assert!(err.0.starts_with("SyntaxError"), "{err}");
    assert!(err.0.contains("broken.js"), "{err}");
    let fine = action("fine", "const main = () => ({});", "main");
    assert!(exec.prepare(&fine).is_ok());
}

/// Many activations of one shared action and many one-off actions, in parallel over two
/// workers with room for few isolates: every result is right and the limit holds.
pub async fn concurrent_invocations_and_evictions_interleave_safely(make: Make) {
    let exec = make(Settings {
        workers: 2,
        max_resident: 6,
        ..Settings::default()
    });
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
            let out = exec.invoke(invocation(&target, "guest", json!({"i": i}), 10_000));
            (i, out.await)
        }));
    }
    for task in tasks {
        let (i, out) = task.await.unwrap();
        assert_eq!(out.result, Ok(json!({"i": i})));
    }
    let stats = exec.stats();
    assert_eq!(stats.activations, 60);
    assert_eq!(
        stats.evictions + stats.resident,
        stats.cold_starts,
        "every isolate made is resident or was evicted: {stats:?}"
    );
    // Each worker keeps its share (3) of the limit once its activations are over. A worker
    // handed off under load (a loaded machine) keeps its own share until its old thread
    // finishes, so each hand-off may add one more share for a while.
    assert!(
        stats.resident <= 6 + 3 * stats.hand_offs,
        "the resident limit holds: {stats:?}"
    );
    assert!(stats.cold_starts >= 31, "31 distinct actions: {stats:?}");
}

/// Over the resident limit the least recently used isolate goes first.
pub async fn least_recently_used_isolates_are_evicted_over_the_resident_limit(make: Make) {
    let exec = make(Settings {
        max_resident: 3,
        ..Settings::default()
    });
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

/// `trim` drops the idle isolates of every worker (memory pressure): globals are gone and
/// the next run is a cold start.
pub async fn trim_drops_every_idle_isolate(make: Make) {
    let exec = make(Settings {
        workers: 2,
        ..Settings::default()
    });
    let actions: Vec<_> = (0..4)
        .map(|i| action(&format!("t{i}"), COUNTER, "main"))
        .collect();
    for a in &actions {
        assert_eq!(run(&exec, a, json!({})).await.result, Ok(json!({"n": 1})));
    }
    assert_eq!(exec.stats().resident, 4);
    let evicted = exec.stats().evictions;
    exec.trim().await;
    let stats = exec.stats();
    assert_eq!((stats.resident, stats.evictions), (0, evicted + 4));
    for a in &actions {
        let out = run(&exec, a, json!({})).await;
        assert_eq!(
            (out.result, out.init_ms.is_some()),
            (Ok(json!({"n": 1})), true)
        );
    }
}

/// Results nest as deep as shoal reads JSON ([`shoal_router::json::MAX_DEPTH`]); deeper ones
/// are the developer error of a `JSON.stringify` that threw.
pub async fn results_nest_up_to_the_json_depth_limit(make: Make) {
    let exec = make(Settings::default());
    let code = "function main(p) { let v = {leaf: true}; for (let i = 1; i < p.depth; i++) v = {v}; return v; }";
    let a = action("deep", code, "main");
    let depth = shoal_router::json::MAX_DEPTH;
    let mut want = json!({"leaf": true});
    for _ in 1..depth {
        want = json!({ "v": want });
    }
    let out = run(&exec, &a, json!({"depth": depth})).await;
    assert_eq!(out.result, Ok(want));
    let out = run(&exec, &a, json!({"depth": depth + 1})).await;
    let text = format!("An error has occurred: RangeError: JSON nested deeper than {depth} levels");
    assert_eq!(out.result, Err(Failure::DeveloperError(json!(text))));
}

/// An isolate idle longer than the TTL is dropped with its memory.
pub async fn idle_isolates_expire_after_the_ttl(make: Make) {
    let exec = make(Settings {
        idle_ttl: Duration::from_millis(50),
        ..Settings::default()
    });
    let idle = action("idle", "function main() { return {}; }", "main");
    run(&exec, &idle, json!({})).await;
    assert_eq!(exec.stats().resident, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = exec.stats();
    assert_eq!(
        (stats.resident, stats.evictions, stats.resident_bytes),
        (0, 1, 0),
        "{stats:?}"
    );
}
