//! Integration tests of the WASM executor, driven through the `Executor` SPI with the WAT
//! fixtures of `fixtures/wasm` (compiled by wasmtime, no toolchain needed) and the C fixture
//! built by `fixtures/wasm/build.sh` (which must have run: the test fails otherwise).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value, json};
use shoal_router::{
    ActionCode, ActivationId, Executor, Failure, Invocation, Limits, Outcome, OwEnv,
};
use shoal_wasm::{WasmConfig, WasmExecutor};

const ECHO: &str = include_str!("../../../../fixtures/wasm/echo.wat");
const LOGS: &str = include_str!("../../../../fixtures/wasm/logs.wat");
const ERROR: &str = include_str!("../../../../fixtures/wasm/error.wat");
const NOT_JSON: &str = include_str!("../../../../fixtures/wasm/notjson.wat");
const LOOP: &str = include_str!("../../../../fixtures/wasm/loop.wat");
const GROW: &str = include_str!("../../../../fixtures/wasm/grow.wat");
const TRAP: &str = include_str!("../../../../fixtures/wasm/trap.wat");
const ECHO_DIRECT: &str = include_str!("../../../../fixtures/wasm/echo_direct.wat");
const LOGS_DIRECT: &str = include_str!("../../../../fixtures/wasm/logs_direct.wat");

fn executor() -> WasmExecutor {
    WasmExecutor::new(WasmConfig {
        max_instances: 32,
        max_running: 16,
        ..WasmConfig::default()
    })
    .expect("the WASM executor starts")
}

/// An action whose digest is derived from its name and code.
fn action(name: &str, code: &str, binary: bool) -> Arc<ActionCode> {
    let mut h = DefaultHasher::new();
    (name, code, binary).hash(&mut h);
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&h.finish().to_le_bytes());
    Arc::new(ActionCode {
        fqn: format!("/guest/{name}"),
        name: name.into(),
        version: "0.0.1".into(),
        kind: "wasm".into(),
        code: code.into(),
        binary,
        main: "main".into(),
        digest,
        image: None,
        host_tags: Default::default(),
    })
}

fn invocation(action: &Arc<ActionCode>, params: Value, limits: Limits) -> Invocation {
    let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
    Invocation {
        activation_id: ActivationId::from_random([7; 16]),
        action: Arc::clone(action),
        tenant: "guest".into(),
        params,
        init_env: Map::new(),
        env: OwEnv {
            api_host: "http://127.0.0.1".into(),
            api_key: None,
            namespace: "guest".into(),
            action_name: action.fqn.clone(),
            action_version: action.version.clone(),
            activation_id: "0".repeat(32),
            transaction_id: "t".into(),
            deadline: "0".into(),
        },
        limits,
        deadline: Instant::now() + Duration::from_millis(limits.timeout_ms),
    }
}

async fn run(ex: &WasmExecutor, action: &Arc<ActionCode>, params: Value) -> Outcome {
    run_with(ex, action, params, Limits::default()).await
}

async fn run_with(
    ex: &WasmExecutor,
    action: &Arc<ActionCode>,
    params: Value,
    limits: Limits,
) -> Outcome {
    ex.invoke(invocation(action, params, limits)).await
}

fn log_texts(outcome: &Outcome) -> Vec<String> {
    outcome
        .logs
        .iter()
        .map(|l| {
            l.split_once(' ')
                .map(|(_, t)| t.to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_in_result_out() {
    let ex = executor();
    let echo = action("echo", ECHO, false);
    ex.prepare(&echo).expect("echo compiles");
    let out = run(&ex, &echo, json!({"name": "shoal", "n": [1, 2]})).await;
    assert_eq!(
        out.result,
        Ok(json!({"params": {"name": "shoal", "n": [1, 2]}}))
    );
    assert!(out.logs.is_empty(), "{:?}", out.logs);
    assert_eq!(out.init_ms, None, "prepared at create time: no cold start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_code_in_base64_runs() {
    let ex = executor();
    let wasm = wat::parse_str(ECHO).expect("fixture parses");
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    let echo = action("echo-bin", &b64, true);
    ex.prepare(&echo).expect("binary compiles");
    assert_eq!(
        run(&ex, &echo, json!({"a": 1})).await.result,
        Ok(json!({"params": {"a": 1}}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_lines_before_the_result_and_stderr_are_logs() {
    let ex = executor();
    let out = run(&ex, &action("logs", LOGS, false), json!({})).await;
    assert_eq!(out.result, Ok(json!({"ok": true})));
    assert_eq!(
        log_texts(&out),
        [
            "stdout: first line",
            "stdout: second line",
            "stderr: a warning"
        ]
    );
    assert!(
        out.init_ms.is_some(),
        "compiled on first invoke: cold start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_result_is_an_application_error() {
    let ex = executor();
    let out = run(&ex, &action("error", ERROR, false), json!({})).await;
    assert_eq!(
        out.result,
        Err(Failure::ApplicationError(json!("bad input")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_output_is_a_developer_error() {
    let ex = executor();
    let out = run(&ex, &action("notjson", NOT_JSON, false), json!({})).await;
    assert_eq!(
        out.result,
        Err(Failure::DeveloperError(json!(
            "The action did not produce a valid JSON or JSON Array response: this is not json"
        )))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_times_out_near_the_limit() {
    let ex = executor();
    let spin = action("loop", LOOP, false);
    ex.prepare(&spin).expect("loop compiles");
    let limits = Limits {
        timeout_ms: 200,
        ..Limits::default()
    };
    let began = Instant::now();
    let out = run_with(&ex, &spin, json!({}), limits).await;
    let took = began.elapsed();
    assert_eq!(out.result, Err(Failure::Timeout { init: false }));
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(400),
        "timed out after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_grow_bomb_exhausts_its_memory() {
    let ex = executor();
    let limits = Limits {
        memory_mb: 128,
        ..Limits::default()
    };
    let out = run_with(&ex, &action("grow", GROW, false), json!({}), limits).await;
    assert_eq!(out.result, Err(Failure::MemoryExceeded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_is_a_developer_error_with_the_trap_message() {
    let ex = executor();
    let out = run(&ex, &action("trap", TRAP, false), json!({})).await;
    let Err(Failure::DeveloperError(Value::String(text))) = &out.result else {
        panic!("expected a developer error, got {:?}", out.result);
    };
    assert!(text.starts_with("The action trapped: "), "{text}");
    assert!(text.contains("unreachable"), "{text}");
}

#[test]
fn bad_modules_are_rejected_by_prepare() {
    let ex = executor();
    let garbage = base64::engine::general_purpose::STANDARD.encode(b"\0asm\x01\0\0\0garbage");
    let err = ex
        .prepare(&action("garbage", &garbage, true))
        .expect_err("a truncated module is refused");
    assert!(err.0.starts_with("The WASM module is invalid: "), "{err}");

    let err = ex
        .prepare(&action("text", "(module (func $f (unknown)))", false))
        .expect_err("bad WAT is refused");
    assert!(err.0.starts_with("The WASM module is invalid: "), "{err}");

    let err = ex
        .prepare(&action("b64", "%%%", true))
        .expect_err("bad base64 is refused");
    assert!(err.0.contains("not valid base64"), "{err}");

    let err = ex
        .prepare(&action("noentry", "(module)", false))
        .expect_err("a module without _start is refused");
    assert!(err.0.contains("_start"), "{err}");
    assert!(err.0.contains("alloc"), "names the direct ABI too: {err}");

    let wrong_run = r#"(module (memory (export "memory") 1)
        (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i32) (i32.const 0)))"#;
    let err = ex
        .prepare(&action("wrongrun", wrong_run, false))
        .expect_err("a run with the wrong signature is refused");
    assert!(err.0.contains("run: (i32, i32) -> i64"), "{err}");

    let wasi_direct = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
        (memory (export "memory") 1)
        (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#;
    let err = ex
        .prepare(&action("wasidirect", wasi_direct, false))
        .expect_err("a direct-ABI module importing WASI is refused");
    assert!(err.0.contains("shoal.log"), "{err}");

    let imports = r#"(module (import "env" "nope" (func)) (func (export "_start")))"#;
    let err = ex
        .prepare(&action("imports", imports, false))
        .expect_err("unknown imports are refused");
    assert!(err.0.contains("imports"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_activations_of_one_action_are_isolated() {
    let ex = Arc::new(executor());
    let echo = action("echo", ECHO, false);
    ex.prepare(&echo).expect("echo compiles");
    let runs: Vec<_> = (0..64)
        .map(|i| {
            let (ex, echo) = (Arc::clone(&ex), Arc::clone(&echo));
            tokio::spawn(async move { (i, run(&ex, &echo, json!({"i": i})).await) })
        })
        .collect();
    for r in runs {
        let (i, out) = r.await.expect("task");
        assert_eq!(out.result, Ok(json!({"params": {"i": i}})));
    }
    assert_eq!(ex.stats().activations, 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_do_not_affect_other_activations() {
    let ex = Arc::new(executor());
    let echo = action("echo", ECHO, false);
    let limits = Limits {
        timeout_ms: 300,
        memory_mb: 128,
        ..Limits::default()
    };
    let bad: Vec<_> = [LOOP, GROW, TRAP]
        .into_iter()
        .enumerate()
        .map(|(i, code)| {
            let (ex, a) = (Arc::clone(&ex), action(&format!("bad{i}"), code, false));
            tokio::spawn(async move { run_with(&ex, &a, json!({}), limits).await })
        })
        .collect();
    // While the loop spins on its blocking thread, other activations still complete.
    for i in 0..10 {
        assert_eq!(
            run(&ex, &echo, json!({"i": i})).await.result,
            Ok(json!({"params": {"i": i}}))
        );
    }
    for b in bad {
        assert!(b.await.expect("task").result.is_err());
    }
    assert_eq!(
        run(&ex, &echo, json!({"after": true})).await.result,
        Ok(json!({"params": {"after": true}}))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_long_run_yields_its_thread_to_other_activations() {
    let ex = Arc::new(executor());
    let spin = action("loop", LOOP, false);
    let echo = action("echo", ECHO, false);
    let limits = Limits {
        timeout_ms: 500,
        ..Limits::default()
    };
    let spinning = {
        let (ex, spin) = (Arc::clone(&ex), Arc::clone(&spin));
        tokio::spawn(async move { run_with(&ex, &spin, json!({}), limits).await })
    };
    tokio::task::yield_now().await;
    // One thread only: the echo can finish only if the loop yields it.
    assert_eq!(
        run(&ex, &echo, json!({"k": 1})).await.result,
        Ok(json!({"params": {"k": 1}}))
    );
    assert!(
        !spinning.is_finished(),
        "the loop ran to its deadline first"
    );
    assert_eq!(
        spinning.await.expect("task").result,
        Err(Failure::Timeout { init: false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_modules_survive_a_restart_through_the_cache_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = WasmConfig {
        cache_dir: Some(dir.path().join("wasm-cache")),
        max_instances: 8,
        max_running: 4,
        ..WasmConfig::default()
    };
    let echo = action("echo", ECHO, false);
    {
        let ex = WasmExecutor::new(config.clone()).expect("starts");
        ex.prepare(&echo).expect("compiles");
    }
    let artefacts: Vec<_> = walk(&dir.path().join("wasm-cache"));
    assert_eq!(artefacts.len(), 1, "{artefacts:?}");
    assert!(artefacts[0].ends_with(".cwasm"), "{artefacts:?}");

    // A restart loads the artefact; a corrupt one is recompiled, not trusted.
    for corrupt in [false, true] {
        if corrupt {
            std::fs::write(&artefacts[0], b"corrupt").expect("overwrite");
        }
        let ex = WasmExecutor::new(config.clone()).expect("restarts");
        assert_eq!(
            run(&ex, &echo, json!({"x": 1})).await.result,
            Ok(json!({"params": {"x": 1}}))
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// A fixture compiled by `fixtures/wasm/build.sh`, as base64; fails (never skips) when missing.
fn built_fixture(file: &str) -> String {
    let path = format!(
        "{}/../../target/wasm-fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; build the compiled fixtures first with fixtures/wasm/build.sh")
    });
    base64::engine::general_purpose::STANDARD.encode(wasm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_action_built_with_clang_runs() {
    let ex = executor();
    let hello = action("hello-c", &built_fixture("hello_c.wasm"), true);
    ex.prepare(&hello).expect("the C action compiles");
    let out = run(&ex, &hello, json!({"name": "C"})).await;
    assert_eq!(
        out.result,
        Ok(json!({"lang": "c", "bytes": 12, "params": {"name": "C"}}))
    );
    assert_eq!(
        log_texts(&out),
        ["stderr: hello from C, 12 bytes of params"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assemblyscript_action_runs() {
    let ex = executor();
    let hello = action("hello-as", &built_fixture("hello_as.wasm"), true);
    ex.prepare(&hello)
        .expect("the AssemblyScript action compiles");
    let out = run(&ex, &hello, json!({"name": "AS"})).await;
    assert_eq!(
        out.result,
        Ok(json!({"lang": "assemblyscript", "params": {"name": "AS"}}))
    );
    assert_eq!(
        log_texts(&out),
        ["stderr: hello from AssemblyScript, 13 chars of params"]
    );
}

/// A direct-ABI module whose `alloc` hands out 1024 and whose `run` has `body` (returning the
/// packed result); `text` is at offset 64 and `shoal.log` is imported as `$log`.
fn direct(text: &str, body: &str) -> String {
    format!(
        r#"(module
            (import "shoal" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 64) "{text}")
            (func (export "alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "run") (param $ptr i32) (param $len i32) (result i64) {body}))"#
    )
}

/// The packed result of `len` bytes at offset 64.
fn at_64(len: usize) -> String {
    format!("(i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const {len}))")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_abi_params_in_result_out() {
    let ex = executor();
    let echo = action("echo-direct", ECHO_DIRECT, false);
    ex.prepare(&echo).expect("echo_direct compiles");
    for params in [
        json!({"name": "shoal", "n": [1, 2]}),
        json!({"big": "x".repeat(200_000)}),
    ] {
        let out = run(&ex, &echo, params.clone()).await;
        assert_eq!(out.result, Ok(json!({ "params": params })));
        assert!(out.logs.is_empty(), "{:?}", out.logs);
        assert_eq!(out.init_ms, None, "prepared at create time: no cold start");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_abi_logs_through_shoal_log() {
    let ex = executor();
    let out = run(&ex, &action("logs-direct", LOGS_DIRECT, false), json!({})).await;
    assert_eq!(out.result, Ok(json!({"ok": true})));
    assert_eq!(
        log_texts(&out),
        ["stdout: first line", "stdout: second line"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_abi_failures() {
    let ex = executor();
    let limits = Limits {
        timeout_ms: 200,
        memory_mb: 128,
        ..Limits::default()
    };
    let error = r#"{\"error\":\"bad input\"}"#;
    let log_outside = "(call $log (i32.const 65530) (i32.const 100)) (i64.const 0)";
    let cases = [
        (
            direct(error, &at_64(21)),
            Failure::ApplicationError(json!("bad input")),
        ),
        (
            direct("not json", &at_64(8)),
            Failure::DeveloperError(json!(
                "The action did not produce a valid JSON or JSON Array response: not json"
            )),
        ),
        (
            direct("", "(i64.const 0x0000fff0_00000100)"),
            Failure::DeveloperError(json!(
                "The action's run returned a result outside its linear memory: 256 bytes at 65520."
            )),
        ),
        (
            direct("", "(loop $spin (br $spin)) (i64.const 0)"),
            Failure::Timeout { init: false },
        ),
        (
            direct("", "(drop (memory.grow (i32.const 4096))) (i64.const 0)"),
            Failure::MemoryExceeded,
        ),
    ];
    for (i, (code, want)) in cases.into_iter().enumerate() {
        let out = run_with(
            &ex,
            &action(&format!("d{i}"), &code, false),
            json!({}),
            limits,
        )
        .await;
        assert_eq!(out.result, Err(want), "case {i}");
    }
    for (name, body, text) in [
        ("unreachable", "unreachable", "unreachable"),
        ("logoutside", log_outside, "outside the linear memory"),
    ] {
        let out = run(&ex, &action(name, &direct("", body), false), json!({})).await;
        let Err(Failure::DeveloperError(Value::String(message))) = &out.result else {
            panic!("{name}: expected a developer error, got {:?}", out.result);
        };
        assert!(message.starts_with("The action trapped: "), "{message}");
        assert!(message.contains(text), "{name}: {message}");
    }
    // Params that do not fit where alloc said: alloc hands out 1024 in a one-page memory.
    let out = run(
        &ex,
        &action("echo-small", &direct("", "(i64.const 0)"), false),
        json!({"big": "x".repeat(70_000)}),
    )
    .await;
    assert_eq!(
        out.result,
        Err(Failure::DeveloperError(json!(
            "The action's alloc returned a buffer outside its linear memory: 70010 bytes at 1024."
        )))
    );
}

#[test]
fn out_of_range_settings_are_refused() {
    let bad = [
        WasmConfig {
            max_instances: 0,
            ..WasmConfig::default()
        },
        WasmConfig {
            max_instances: 8,
            max_running: 9,
            ..WasmConfig::default()
        },
        WasmConfig {
            max_memory_mib: 4097,
            ..WasmConfig::default()
        },
        WasmConfig {
            epoch_tick: Duration::ZERO,
            ..WasmConfig::default()
        },
    ];
    for config in bad {
        assert!(config.validate().is_err(), "{config:?}");
        assert!(WasmExecutor::new(config).is_err());
    }
    let largest = WasmConfig {
        max_instances: 4,
        max_running: 4,
        max_memory_mib: 4096,
        ..WasmConfig::default()
    };
    assert!(
        WasmExecutor::new(largest).is_ok(),
        "4 GiB memories are allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_direct_result_is_the_truncation_error_read_in_place() {
    // run() answers a 3,000,000-byte range of its 4 MiB memory, all "a".
    let wat = r#"(module
        (memory (export "memory") 64)
        (func (export "alloc") (param i32) (result i32) i32.const 3000000)
        (func (export "run") (param i32 i32) (result i64)
            (memory.fill (i32.const 0) (i32.const 97) (i32.const 3000000))
            i64.const 3000000))"#;
    let ex = executor();
    let out = run(&ex, &action("big", wat, false), json!({})).await;
    let Err(Failure::ApplicationError(Value::String(text))) = out.result else {
        panic!("{:?}", out.result)
    };
    assert_eq!(
        text,
        format!(
            "The action produced a response that exceeded the allowed length: 3000000 > 1048576 bytes. The truncated response was: {}",
            "a".repeat(1024)
        )
    );
}
