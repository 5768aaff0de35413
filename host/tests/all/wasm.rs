//! WASM actions through the real binary: `GET /` advertises kind `wasm`; WAT and C actions are
//! created with PUT and invoked blocking; limits and bad modules give OpenWhisk's answers.
//! The C action is built from source by `fixtures/wasm/build.sh` (`.ci/test` runs it); the
//! test fails, naming the script, when it has not been built.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::Shoal;

const ECHO: &str = include_str!("../../../fixtures/wasm/echo.wat");
const LOGS: &str = include_str!("../../../fixtures/wasm/logs.wat");
const ERROR: &str = include_str!("../../../fixtures/wasm/error.wat");
const LOOP: &str = include_str!("../../../fixtures/wasm/loop.wat");
const GROW: &str = include_str!("../../../fixtures/wasm/grow.wat");
const ECHO_DIRECT: &str = include_str!("../../../fixtures/wasm/echo_direct.wat");
const LOGS_DIRECT: &str = include_str!("../../../fixtures/wasm/logs_direct.wat");

fn put(shoal: &Shoal, name: &str, exec: Value, limits: Option<Value>) -> crate::support::Response {
    let mut body = json!({"exec": exec});
    if let Some(limits) = limits {
        body["limits"] = limits;
    }
    shoal.request(
        "PUT",
        &format!("/api/v1/namespaces/_/actions/{name}"),
        Some(&body),
    )
}

fn create(shoal: &Shoal, name: &str, exec: Value, limits: Option<Value>) {
    let r = put(shoal, name, exec, limits);
    assert_eq!(r.status, 200, "PUT {name}: {}", r.text());
}

/// Invokes blocking and returns the activation record.
fn invoke(shoal: &Shoal, name: &str, params: Value) -> Value {
    let r = shoal.request(
        "POST",
        &format!("/api/v1/namespaces/_/actions/{name}?blocking=true"),
        Some(&params),
    );
    let record = r.json();
    assert!(
        record["response"].is_object(),
        "POST {name}: {} {}",
        r.status,
        r.text()
    );
    record
}

/// The activation's log lines (fetched: a blocking response carries none, spec §3.4), without
/// their timestamps. The log is written behind the response, so this polls briefly.
fn log_texts(shoal: &Shoal, record: &Value) -> Vec<String> {
    let id = record["activationId"].as_str().unwrap_or_default();
    let path = format!("/api/v1/namespaces/_/activations/{id}/logs");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = shoal.request("GET", &path, None);
        if r.status == 200 || Instant::now() >= deadline {
            let logs = r.json()["logs"].clone();
            return logs
                .as_array()
                .map(|lines| {
                    lines
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(|l| l.split_once(' ').map(|(_, t)| t.trim_start().to_string()))
                        .collect()
                })
                .unwrap_or_default();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Creates `echo-<abi>` and `logs-<abi>` from the two execs and checks them: params in,
/// `{"params": …}` out; `{"ok": true}` with `want_logs` as the activation's logs.
fn echo_and_logs(shoal: &Shoal, abi: &str, echo: Value, logs: Value, want_logs: &[&str]) {
    let (echo_name, logs_name) = (format!("echo-{abi}"), format!("logs-{abi}"));
    create(shoal, &echo_name, echo, None);
    let record = invoke(shoal, &echo_name, json!({"name": "shoal"}));
    assert_eq!(record["response"]["status"], "success", "{record}");
    assert_eq!(
        record["response"]["result"],
        json!({"params": {"name": "shoal"}})
    );
    create(shoal, &logs_name, logs, None);
    let record = invoke(shoal, &logs_name, json!({}));
    assert_eq!(record["response"]["result"], json!({"ok": true}));
    assert_eq!(log_texts(shoal, &record), want_logs);
}

#[test]
fn wasm_actions_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());

    let info = shoal.request("GET", "/", None).json();
    assert_eq!(info["runtimes"]["wasm"][0]["kind"], "wasm", "{info}");

    // WAT text: params in, result out; stdout lines before the result and stderr lines are
    // logs.
    echo_and_logs(
        &shoal,
        "command",
        json!({"kind": "wasm", "code": ECHO}),
        json!({"kind": "wasm:default", "code": LOGS}),
        &[
            "stdout: first line",
            "stdout: second line",
            "stderr: a warning",
        ],
    );

    // A binary module (base64 `.wasm`) answering {error}: an application error.
    let wasm = wat::parse_str(ERROR).expect("fixture parses");
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    create(
        &shoal,
        "error",
        json!({"kind": "wasm", "code": b64, "binary": true}),
        None,
    );
    let record = invoke(&shoal, "error", json!({}));
    assert_eq!(record["response"]["status"], "application error");
    assert_eq!(record["response"]["result"], json!({"error": "bad input"}));

    // Limits: the timeout and the memory cap.
    create(
        &shoal,
        "loop",
        json!({"kind": "wasm", "code": LOOP}),
        Some(json!({"timeout": 100})),
    );
    let record = invoke(&shoal, "loop", json!({}));
    assert_eq!(
        record["response"]["result"],
        json!({"error": "The action exceeded its time limits of 100 milliseconds."})
    );
    create(
        &shoal,
        "grow",
        json!({"kind": "wasm", "code": GROW}),
        Some(json!({"memory": 128})),
    );
    let record = invoke(&shoal, "grow", json!({}));
    assert_eq!(
        record["response"]["result"],
        json!({"error": "The action exhausted its memory and was aborted."})
    );

    // A malformed module is refused at create time, saying why.
    let bad = base64::engine::general_purpose::STANDARD.encode(b"\0asm\x01\0\0\0garbage!");
    let r = put(
        &shoal,
        "bad",
        json!({"kind": "wasm", "code": bad, "binary": true}),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("The WASM module is invalid"), "{error}");
}

#[test]
fn direct_abi_actions_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());

    // Exports `alloc` and `run`, no `_start`: the direct ABI, chosen at create time.
    let wasm = wat::parse_str(ECHO_DIRECT).expect("fixture parses");
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    echo_and_logs(
        &shoal,
        "direct",
        json!({"kind": "wasm", "code": b64, "binary": true}),
        json!({"kind": "wasm", "code": LOGS_DIRECT}),
        &["stdout: first line", "stdout: second line"],
    );

    // A direct-ABI module may import only shoal.log: refused at create time, saying why.
    let wasi = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
        (memory (export "memory") 1)
        (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#;
    let r = put(
        &shoal,
        "wasi-direct",
        json!({"kind": "wasm", "code": wasi}),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("may import only `shoal.log`"), "{error}");
    let r = shoal.request("GET", "/api/v1/namespaces/_/actions/wasi-direct", None);
    assert_eq!(r.status, 404, "a refused action is not stored");
}

#[test]
fn the_wasm_config_section_reaches_the_executor() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(
        dir.path(),
        "[wasm]\nmax_memory_mib = 4\ndisk_cache = false\n",
    );
    // Grows its memory by 8 MiB, within `limits.memory` (256 MB by default) but over the
    // configured ceiling of 4 MiB.
    let grow8 = r#"(module
        (memory (export "memory") 1)
        (data (i32.const 16) "{\"ok\":true}")
        (func (export "alloc") (param i32) (result i32) (i32.const 1024))
        (func (export "run") (param i32 i32) (result i64)
            (if (i32.eq (memory.grow (i32.const 128)) (i32.const -1)) (then unreachable))
            (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 11))))"#;
    create(
        &shoal,
        "grow8",
        json!({"kind": "wasm", "code": grow8}),
        None,
    );
    let record = invoke(&shoal, "grow8", json!({}));
    assert_eq!(
        record["response"]["result"],
        json!({"error": "The action exhausted its memory and was aborted."})
    );
    assert!(
        !dir.path().join("wasm-cache").exists(),
        "disk_cache = false writes no compiled modules"
    );
}

/// A fixture compiled by `fixtures/wasm/build.sh`, as base64; fails (never skips) when missing.
fn built_fixture(file: &str) -> String {
    let path = format!(
        "{}/../target/wasm-fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; build the compiled fixtures first with fixtures/wasm/build.sh")
    });
    base64::engine::general_purpose::STANDARD.encode(wasm)
}

#[test]
fn c_and_assemblyscript_actions_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    for (name, file, lang, log) in [
        (
            "hello-c",
            "hello_c.wasm",
            "c",
            "stderr: hello from C, 12 bytes of params",
        ),
        (
            "hello-as",
            "hello_as.wasm",
            "assemblyscript",
            "stderr: hello from AssemblyScript, 12 chars of params",
        ),
    ] {
        create(
            &shoal,
            name,
            json!({"kind": "wasm", "code": built_fixture(file), "binary": true}),
            None,
        );
        let record = invoke(&shoal, name, json!({"name": "C"}));
        assert_eq!(record["response"]["status"], "success", "{record}");
        let result = &record["response"]["result"];
        assert_eq!(result["lang"], lang, "{result}");
        assert_eq!(result["params"], json!({"name": "C"}), "{result}");
        assert_eq!(log_texts(&shoal, &record), [log]);
    }
}

#[test]
fn a_sequence_mixes_a_js_and_a_wasm_action() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let js = "function main(p) { return {name: p.name.toUpperCase()}; }";
    create(
        &shoal,
        "upper",
        json!({"kind": "nodejs:default", "code": js}),
        None,
    );
    create(&shoal, "echo", json!({"kind": "wasm", "code": ECHO}), None);
    create(
        &shoal,
        "both",
        json!({"kind": "sequence", "components": ["/guest/upper", "/guest/echo"]}),
        None,
    );
    let record = invoke(&shoal, "both", json!({"name": "shoal"}));
    assert_eq!(record["response"]["status"], "success", "{record}");
    assert_eq!(
        record["response"]["result"],
        json!({"params": {"name": "SHOAL"}})
    );
}
