//! Container actions through the real binary on a real Docker engine: Python and blackbox
//! actions over the REST API, warm reuse, pause/unpause, prewarm, capacity queueing, triggers,
//! rules and sequences across domains, and no container left behind.
//!
//! Needs the engine named by `SHOAL_TEST_DOCKER_HOST` with the images built by
//! `container-fallback/images/build.sh`; `.ci/test` starts a private `dockerd`, builds them and
//! sets the variable. The tests fail, saying so, when it is not set.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Response, Shoal};

const PYTHON_IMAGE: &str = "shoal/action-python:3.11";
/// shoal's Node.js test image (Debian's nodejs behind shoal's proxy in its `nodejs` mode).
const NODE_IMAGE: &str = "shoal/action-nodejs:20";
const BLACKBOX_IMAGE: &str = "shoal/blackbox-example:latest";

/// Reports where the container process ran, counts warm runs in a global, and logs a line.
const PY_ECHO: &str = r#"
import os, socket
runs = 0
def main(args):
    global runs
    runs += 1
    print("hello from", args.get("name", "nobody"))
    return {"args": args, "host": socket.gethostname(), "runs": runs,
            "ns": os.environ.get("__OW_NAMESPACE"), "api_host": os.environ.get("__OW_API_HOST")}
"#;

fn docker_host() -> String {
    std::env::var("SHOAL_TEST_DOCKER_HOST").unwrap_or_else(|_| {
        panic!(
            "container tests need a Docker engine: set SHOAL_TEST_DOCKER_HOST (bash .ci/test starts one and builds the test images)"
        )
    })
}

/// A shoal whose container domain uses the test engine, the test images and `extra` settings
/// (TOML keys of `[containers]`).
fn serve(dir: &std::path::Path, extra: &str) -> Shoal {
    let config = format!(
        "[containers]\ndocker_host = \"{}\"\napi_host = \"http://shoal.test\"\n{extra}\n\
         [[containers.runtimes]]\nkind = \"python:3.11\"\nimage = \"{PYTHON_IMAGE}\"\ndefault = true\n",
        docker_host()
    );
    Shoal::serve_with(dir, &config)
}

fn serve_with_prewarm(dir: &std::path::Path, extra: &str) -> Shoal {
    let config = format!(
        "[containers]\ndocker_host = \"{}\"\n{extra}\n\
         [[containers.runtimes]]\nkind = \"python:3.11\"\nimage = \"{PYTHON_IMAGE}\"\ndefault = true\n\
         prewarm = [{{count = 1, memory_mb = 256}}]\n",
        docker_host()
    );
    Shoal::serve_with(dir, &config)
}

/// `docker …` against the test engine; returns stdout.
fn docker(args: &[&str]) -> String {
    docker_try(args).unwrap_or_else(|stderr| panic!("docker {args:?}: {stderr}"))
}

/// `docker …` against the test engine: stdout, or stderr when it fails.
fn docker_try(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", docker_host())
        .output()
        .expect("running the docker CLI");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

/// Ids of the containers (any state) shoal created for data directory `dir`.
fn containers_of(dir: &std::path::Path) -> Vec<String> {
    let owner = std::fs::canonicalize(dir).unwrap();
    let filter = format!("label=shoal.owner={}", owner.display());
    docker(&["ps", "-aq", "--no-trunc", "--filter", &filter])
        .lines()
        .map(str::to_string)
        .collect()
}

fn put(shoal: &Shoal, name: &str, body: Value) -> Response {
    shoal.request(
        "PUT",
        &format!("/api/v1/namespaces/_/actions/{name}?overwrite=true"),
        Some(&body),
    )
}

pub(crate) fn create(shoal: &Shoal, name: &str, body: Value) {
    let r = put(shoal, name, body);
    assert_eq!(r.status, 200, "PUT {name}: {}", r.text());
}

fn python(code: &str) -> Value {
    json!({"exec": {"kind": "python:3.11", "code": code}})
}

pub(crate) fn blackbox(image: &str) -> Value {
    json!({"exec": {"kind": "blackbox", "image": image}})
}

/// Invokes blocking; returns (status, activation record).
pub(crate) fn invoke(shoal: &Shoal, name: &str, params: Value) -> (u16, Value) {
    let r = shoal.request(
        "POST",
        &format!("/api/v1/namespaces/_/actions/{name}?blocking=true"),
        Some(&params),
    );
    (r.status, r.json())
}

pub(crate) fn annotation<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    record["annotations"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

/// Polls `GET …/activations/{id}` until the record is there.
pub(crate) fn activation(shoal: &Shoal, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = shoal.request(
            "GET",
            &format!("/api/v1/namespaces/_/activations/{id}"),
            None,
        );
        if r.status == 200 {
            return r.json();
        }
        assert!(
            Instant::now() < deadline,
            "no activation {id}: {}",
            r.text()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn error_text(record: &Value) -> String {
    record["response"]["result"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Polls until `done` holds, for at most 30 s.
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until exactly the containers `ids` (in any order) are left for data directory `dir`.
fn settles_to(dir: &std::path::Path, ids: &[String]) {
    let mut want = ids.to_vec();
    want.sort();
    wait_until("the containers settle", || {
        let mut now = containers_of(dir);
        now.sort();
        now == want
    });
}

/// The stored log lines of the activation `record` describes.
fn logs_of(shoal: &Shoal, record: &Value) -> Vec<String> {
    let stored = activation(shoal, record["activationId"].as_str().unwrap());
    stored["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// OpenWhisk's stderr notice after a developer error (spec §3.4), as a log line ends.
const LOG_DATA_MISSING: &str =
    "stderr: The action did not initialize or run as expected. Log data might be missing.";

/// How many containers the engine created for data directory `dir` since `since` (Unix
/// seconds).
fn created_since(dir: &std::path::Path, since: u64) -> usize {
    let owner = std::fs::canonicalize(dir).unwrap();
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        &format!("label=shoal.owner={}", owner.display()),
        "--filter",
        "event=create",
        "--format",
        "{{.ID}}",
    ])
    .lines()
    .count()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn python_actions_follow_the_openwhisk_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    let info = shoal.request("GET", "/", None).json();
    let python_kinds = &info["runtimes"]["python"];
    assert!(
        python_kinds.as_array().is_some_and(|k| k
            .iter()
            .any(|k| k["kind"] == "python:3.11" && k["image"] == PYTHON_IMAGE)),
        "GET / lists the configured container kind: {info}"
    );

    // Cold, then warm: same container, globals kept, initTime only on the cold start.
    create(&shoal, "echo", python(PY_ECHO));
    let (status, cold) = invoke(&shoal, "echo", json!({"name": "shoal"}));
    assert_eq!(status, 200, "{cold}");
    let result = &cold["response"]["result"];
    assert_eq!(result["args"], json!({"name": "shoal"}));
    assert_eq!(result["ns"], "guest");
    assert_eq!(result["api_host"], "http://shoal.test");
    assert!(annotation(&cold, "initTime").is_some(), "{cold}");
    assert_eq!(annotation(&cold, "kind"), Some(&json!("python:3.11")));
    let logs = activation(&shoal, cold["activationId"].as_str().unwrap())["logs"].clone();
    let logs: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].ends_with("stdout: hello from shoal"), "{logs:?}");
    let (_, warm) = invoke(&shoal, "echo", json!({}));
    assert_eq!(
        warm["response"]["result"]["host"], result["host"],
        "warm reuse"
    );
    assert_eq!(warm["response"]["result"]["runs"], 2);
    assert!(annotation(&warm, "initTime").is_none(), "{warm}");

    // Non-blocking: 202 with an id, the record appears in the log.
    let r = shoal.request(
        "POST",
        "/api/v1/namespaces/_/actions/echo",
        Some(&json!({"name": "later"})),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["activationId"].as_str().unwrap().to_string();
    let record = activation(&shoal, &id);
    assert_eq!(record["response"]["result"]["args"]["name"], "later");

    // {error} is an application error; an exception a developer error; both keep their text.
    create(
        &shoal,
        "apperr",
        python("def main(a):\n    return {'error': 'nope', 'x': 1}\n"),
    );
    let (status, record) = invoke(&shoal, "apperr", json!({}));
    assert_eq!(status, 502);
    assert_eq!(record["response"]["status"], "application error");
    assert_eq!(record["response"]["result"], json!({"error": "nope"}));
    create(
        &shoal,
        "raises",
        python("def main(a):\n    raise ValueError('broken')\n"),
    );
    let (status, record) = invoke(&shoal, "raises", json!({}));
    assert_eq!(status, 502);
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(error_text(&record), "An error has occurred: broken");

    // Code that cannot load fails at /init with the proxy's message.
    create(&shoal, "badinit", python("def main(a) return 1\n"));
    let (_, record) = invoke(&shoal, "badinit", json!({}));
    assert_eq!(record["response"]["status"], "action developer error");
    assert!(
        error_text(&record).starts_with("Initialization has failed due to:"),
        "{record}"
    );

    // Time and memory limits.
    let sleepy = json!({"exec": {"kind": "python:3.11", "code": "import time\ndef main(a):\n    time.sleep(10)\n    return {}\n"}, "limits": {"timeout": 1000}});
    create(&shoal, "sleepy", sleepy);
    let began = Instant::now();
    let (_, record) = invoke(&shoal, "sleepy", json!({}));
    assert!(
        began.elapsed() < Duration::from_secs(8),
        "the timeout ended the run"
    );
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "The action exceeded its time limits of 1000 milliseconds."
    );
    assert_eq!(annotation(&record, "timeout"), Some(&json!(true)));
    let hog = json!({"exec": {"kind": "python:3.11", "code": "def main(a):\n    x = bytearray(400 * 1024 * 1024)\n    return {'n': len(x)}\n"}, "limits": {"memory": 128}});
    create(&shoal, "hog", hog);
    let (_, record) = invoke(&shoal, "hog", json!({}));
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "The action exhausted its memory and was aborted."
    );
    // Logs past limits.logs are cut, with OpenWhisk's notice last.
    let chatty = json!({"exec": {"kind": "python:3.11", "code": "def main(a):\n    for i in range(3000):\n        print('x' * 500)\n    return {}\n"}, "limits": {"logs": 1}});
    create(&shoal, "chatty", chatty);
    let (_, record) = invoke(&shoal, "chatty", json!({}));
    let logs = activation(&shoal, record["activationId"].as_str().unwrap())["logs"].clone();
    let logs = logs.as_array().unwrap();
    assert!(logs.len() < 3000, "cut at 1 MB");
    assert!(
        logs.last().and_then(Value::as_str).unwrap_or_default().ends_with(
            "stderr: Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes."
        ),
        "{:?}",
        logs.last()
    );

    // `provide-api-key` hands the invoking key to /run (and so to the action's environment).
    let key = "import os\ndef main(a):\n    return {'key': os.environ.get('__OW_API_KEY')}\n";
    create(&shoal, "nokey", python(key));
    let (_, record) = invoke(&shoal, "nokey", json!({}));
    assert_eq!(record["response"]["result"], json!({"key": null}));
    let with_key = json!({"exec": {"kind": "python:3.11", "code": key}, "annotations": [{"key": "provide-api-key", "value": true}]});
    create(&shoal, "withkey", with_key);
    let (_, record) = invoke(&shoal, "withkey", json!({}));
    assert_eq!(
        record["response"]["result"]["key"],
        crate::support::GUEST_AUTH
    );
    assert!(shoal.stop().success());
    assert!(
        containers_of(dir.path()).is_empty(),
        "no container left after stop"
    );
}

#[test]
fn blackbox_actions_run_the_image_executable() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    let missing = put(&shoal, "bb", json!({"exec": {"kind": "blackbox"}}));
    assert_eq!(missing.status, 400);
    assert!(
        missing
            .text()
            .contains("'image' must be a string defined in 'exec' for 'blackbox' actions"),
        "{}",
        missing.text()
    );
    create(&shoal, "bb", blackbox(BLACKBOX_IMAGE));
    let got = shoal
        .request("GET", "/api/v1/namespaces/_/actions/bb", None)
        .json();
    assert_eq!(
        got["exec"],
        json!({"kind": "blackbox", "image": BLACKBOX_IMAGE, "binary": false})
    );
    let (status, record) = invoke(&shoal, "bb", json!({"n": 7}));
    assert_eq!(status, 200, "{record}");
    let result = &record["response"]["result"];
    assert_eq!(result["args"], json!({"n": 7}));
    assert_eq!(result["executable"], "/action/exec");
    assert_eq!(result["activation"], record["activationId"]);
    let logs = activation(&shoal, record["activationId"].as_str().unwrap())["logs"].clone();
    assert!(
        logs.to_string().contains("blackbox action running"),
        "{logs}"
    );

    // A script given as code replaces the image's executable.
    let script = "#!/bin/sh\necho '{\"from\": \"code\"}'\n";
    create(
        &shoal,
        "bbcode",
        json!({"exec": {"kind": "blackbox", "image": BLACKBOX_IMAGE, "code": script}}),
    );
    let (_, record) = invoke(&shoal, "bbcode", json!({}));
    assert_eq!(record["response"]["result"], json!({"from": "code"}));

    // An image the engine does not have and cannot pull.
    create(&shoal, "nopull", blackbox("shoal-test/no-such-image:1"));
    let (_, record) = invoke(&shoal, "nopull", json!({}));
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "Failed to pull container image 'shoal-test/no-such-image:1'."
    );

    // An image for another CPU architecture (built by build.sh) is refused, not started.
    let foreign = "shoal-test/foreign-arch:1";
    create(&shoal, "foreign", blackbox(foreign));
    let (_, record) = invoke(&shoal, "foreign", json!({}));
    assert_eq!(record["response"]["status"], "action developer error");
    let text = error_text(&record);
    assert!(
        text.starts_with(&format!("The image '{foreign}' is built for "))
            && text.contains(", and this node runs "),
        "{text}"
    );
    assert!(shoal.stop().success());
    assert!(containers_of(dir.path()).is_empty());
}

#[test]
fn idle_containers_are_paused_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "pause_grace_ms = 300");
    create(&shoal, "echo", python(PY_ECHO));
    let (_, first) = invoke(&shoal, "echo", json!({}));
    let ids = containers_of(dir.path());
    assert_eq!(ids.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while docker(&["inspect", "-f", "{{.State.Paused}}", &ids[0]]).trim() != "true" {
        assert!(
            Instant::now() < deadline,
            "the idle container was not paused"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let (status, second) = invoke(&shoal, "echo", json!({}));
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        second["response"]["result"]["host"],
        first["response"]["result"]["host"]
    );
    assert_eq!(
        second["response"]["result"]["runs"], 2,
        "resumed, not recreated"
    );
    assert!(annotation(&second, "initTime").is_none());
    // A graceful stop while the container is paused leaves nothing behind.
    wait_until("paused again", || {
        docker(&["inspect", "-f", "{{.State.Paused}}", &ids[0]]).trim() == "true"
    });
    assert!(shoal.stop().success());
    assert!(containers_of(dir.path()).is_empty(), "the paused one too");
}

#[test]
fn cold_starts_take_a_prewarmed_container() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve_with_prewarm(dir.path(), "");
    let deadline = Instant::now() + Duration::from_secs(30);
    let stem = loop {
        // The engine may list a container it cannot inspect yet while it is being created.
        if let [one] = containers_of(dir.path()).as_slice()
            && docker_try(&["inspect", "-f", "{{.State.Running}}", one])
                .is_ok_and(|running| running.trim() == "true")
        {
            break one.clone();
        }
        assert!(Instant::now() < deadline, "no prewarmed container started");
        thread::sleep(Duration::from_millis(50));
    };
    // Running in the engine; give the pool a moment to record it as ready.
    thread::sleep(Duration::from_millis(500));
    create(&shoal, "echo", python(PY_ECHO));
    let (_, record) = invoke(&shoal, "echo", json!({}));
    assert!(annotation(&record, "initTime").is_some());
    let host = record["response"]["result"]["host"].as_str().unwrap();
    assert!(
        stem.starts_with(host),
        "ran in the prewarmed container {stem}, not {host}"
    );
    // The stem cell is replaced.
    let deadline = Instant::now() + Duration::from_secs(30);
    while containers_of(dir.path()).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the prewarmed container was not replaced"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(shoal.stop().success());
    assert!(containers_of(dir.path()).is_empty());
}

#[test]
fn activations_queue_when_the_capacity_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "capacity_mb = 256");
    let slow = "import time, socket\ndef main(a):\n    time.sleep(0.5)\n    return {'host': socket.gethostname()}\n";
    create(&shoal, "slow", python(slow));
    create(&shoal, "other", python(PY_ECHO));
    let addr = shoal.addr.clone();
    let calls: Vec<_> = ["slow", "slow", "other"]
        .into_iter()
        .map(|name| {
            let addr = addr.clone();
            thread::spawn(move || {
                let r = crate::support::request(
                    &addr,
                    "POST",
                    &format!("/api/v1/namespaces/_/actions/{name}?blocking=true"),
                    Some(crate::support::GUEST_AUTH),
                    Some(&json!({})),
                );
                (r.status, r.json())
            })
        })
        .collect();
    for call in calls {
        let (status, record) = call.join().unwrap();
        assert_eq!(status, 200, "queued, not failed: {record}");
    }
    assert!(
        containers_of(dir.path()).len() <= 1,
        "never more than the capacity"
    );
    assert!(shoal.stop().success());
}

#[test]
fn rules_and_sequences_mix_domains() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    create(
        &shoal,
        "double",
        python("def main(a):\n    return {'n': a.get('n', 0) * 2, 'via': 'python'}\n"),
    );
    let js =
        json!({"exec": {"kind": "nodejs:20", "code": "function main(a) { return {n: a.n + 1}; }"}});
    create(&shoal, "inc", js);
    let wasm = include_str!("../../../fixtures/wasm/echo.wat");
    create(
        &shoal,
        "wecho",
        json!({"exec": {"kind": "wasm", "code": wasm}}),
    );
    let seq =
        json!({"exec": {"kind": "sequence", "components": ["/_/inc", "/_/double", "/_/wecho"]}});
    create(&shoal, "mixed", seq);
    let (status, record) = invoke(&shoal, "mixed", json!({"n": 4}));
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        record["response"]["result"],
        json!({"params": {"n": 10, "via": "python"}}),
        "JS, then Python, then WASM"
    );

    // trigger → rule → Python action
    let r = shoal.request("PUT", "/api/v1/namespaces/_/triggers/t", Some(&json!({})));
    assert_eq!(r.status, 200, "{}", r.text());
    let rule = json!({"trigger": "/_/t", "action": "/_/double"});
    let r = shoal.request("PUT", "/api/v1/namespaces/_/rules/r", Some(&rule));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = shoal.request(
        "POST",
        "/api/v1/namespaces/_/triggers/t",
        Some(&json!({"n": 21})),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let fired = activation(&shoal, r.json()["activationId"].as_str().unwrap());
    let rule_log: Value = serde_json::from_str(fired["logs"][0].as_str().unwrap()).unwrap();
    let action_record = activation(&shoal, rule_log["activationId"].as_str().unwrap());
    assert_eq!(
        action_record["response"]["result"],
        json!({"n": 42, "via": "python"})
    );
    assert!(shoal.stop().success());
}

#[test]
fn a_restart_removes_what_a_killed_shoal_left() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    create(&shoal, "echo", python(PY_ECHO));
    let (status, _) = invoke(&shoal, "echo", json!({}));
    assert_eq!(status, 200);
    drop(shoal); // SIGKILL: no chance to clean up
    assert_eq!(containers_of(dir.path()).len(), 1, "left behind by kill -9");
    let shoal = serve(dir.path(), "");
    assert!(containers_of(dir.path()).is_empty(), "removed at start");
    assert!(shoal.stop().success());
}

#[test]
fn unused_containers_are_removed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "idle_timeout_secs = 1");
    create(&shoal, "echo", python(PY_ECHO));
    let (status, _) = invoke(&shoal, "echo", json!({}));
    assert_eq!(status, 200);
    assert_eq!(containers_of(dir.path()).len(), 1);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !containers_of(dir.path()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the idle container was not removed"
        );
        thread::sleep(Duration::from_millis(100));
    }
    assert!(shoal.stop().success());
}

#[test]
fn the_engine_annotation_sends_js_to_a_container() {
    let dir = tempfile::tempdir().unwrap();
    // nodejs:20 in containers uses an image this engine does not have: the failure shows
    // the action went to the container domain, not to an isolate.
    let node =
        "[[containers.runtimes]]\nkind = \"nodejs:20\"\nimage = \"shoal-test/node-missing:1\"\n";
    let shoal = serve(dir.path(), "");
    let info = shoal.request("GET", "/", None).json();
    assert!(info["runtimes"]["nodejs"].is_array());
    assert!(shoal.stop().success());
    let shoal = Shoal::serve_with(
        dir.path(),
        &format!("[containers]\ndocker_host = \"{}\"\n{node}", docker_host()),
    );
    let code = "function main() { return {in: 'isolate'}; }";
    create(
        &shoal,
        "iso",
        json!({"exec": {"kind": "nodejs:20", "code": code}}),
    );
    let (status, record) = invoke(&shoal, "iso", json!({}));
    assert_eq!(
        (status, &record["response"]["result"]),
        (200, &json!({"in": "isolate"}))
    );
    let annotated = json!({"exec": {"kind": "nodejs:20", "code": code}, "annotations": [{"key": "engine", "value": "container"}]});
    create(&shoal, "boxed", annotated);
    let (status, record) = invoke(&shoal, "boxed", json!({}));
    assert_eq!(
        error_text(&record),
        "Failed to pull container image 'shoal-test/node-missing:1'."
    );
    // The runtime manifest's image is the platform's, not the developer's.
    assert_eq!(status, 500, "{record}");
    assert_eq!(record["response"]["status"], "whisk internal error");
    assert!(shoal.stop().success());
}

/// The `engine` and `engine-fallback` annotations of action `name`.
fn placement(shoal: &Shoal, name: &str) -> (Value, Value) {
    let doc = shoal
        .request("GET", &format!("/api/v1/namespaces/_/actions/{name}"), None)
        .json();
    let find = |key: &str| {
        doc["annotations"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["key"] == key))
            .map_or(Value::Null, |a| a["value"].clone())
    };
    (find("engine"), find("engine-fallback"))
}

#[test]
fn js_that_needs_a_real_node_falls_back_to_its_container() {
    let dir = tempfile::tempdir().unwrap();
    let node = format!("[[containers.runtimes]]\nkind = \"nodejs:20\"\nimage = \"{NODE_IMAGE}\"\n");
    let shoal = Shoal::serve_with(
        dir.path(),
        &format!("[containers]\ndocker_host = \"{}\"\n{node}", docker_host()),
    );
    let uses_fs = "const fs = require('fs');\nlet calls = 0;\nfunction main(p) { console.log('listing /'); return {root: fs.readdirSync('/').includes('proc'), calls: ++calls, who: process.env.__OW_ACTION_NAME}; }";
    create(
        &shoal,
        "needs-fs",
        json!({"exec": {"kind": "nodejs:20", "code": uses_fs}}),
    );
    let (engine, why) = placement(&shoal, "needs-fs");
    assert_eq!(engine, "container");
    assert_eq!(
        why,
        "it requires Node's 'fs' module, which shoal's JS isolates do not provide"
    );
    // A real Node.js in the kind's container runs it, warm the second time.
    for calls in 1..=2 {
        let (status, record) = invoke(&shoal, "needs-fs", json!({}));
        assert_eq!(status, 200, "{record}");
        assert_eq!(
            record["response"]["result"],
            json!({"root": true, "calls": calls, "who": "/guest/needs-fs"})
        );
        assert!(annotation(&record, "kind").is_some_and(|k| k == "nodejs:20"));
        assert!(logs_of(&shoal, &record)[0].ends_with("stdout: listing /"));
    }
    // A serverless-style zip whose dependency spawns a process falls back as a whole.
    let zip = shoal_isolates::suite::node::zip_action(
        "svc",
        &[
            ("package.json", r#"{"main": "handler.js"}"#),
            (
                "handler.js",
                "const run = require('./run');\nexports.hello = (p) => ({echo: run('echo', [p.word])});",
            ),
            (
                "run.js",
                "const cp = require('child_process');\nmodule.exports = (cmd, args) => cp.execFileSync(cmd, args).toString().trim();",
            ),
        ],
        "hello",
    );
    create(
        &shoal,
        "spawns",
        json!({"exec": {"kind": "nodejs:20", "code": &*zip.code, "binary": true, "main": "hello"}}),
    );
    assert_eq!(placement(&shoal, "spawns").0, "container");
    let (status, record) = invoke(&shoal, "spawns", json!({"word": "zipped"}));
    assert_eq!(
        (status, &record["response"]["result"]),
        (200, &json!({"echo": "zipped"})),
        "{record}"
    );
    // New code that the isolates can run drops the fallback; a developer's own choice stays.
    let plain = "function main() { return {in: 'isolate'}; }";
    create(
        &shoal,
        "needs-fs",
        json!({"exec": {"kind": "nodejs:20", "code": plain}}),
    );
    assert_eq!(placement(&shoal, "needs-fs"), (Value::Null, Value::Null));
    let (status, record) = invoke(&shoal, "needs-fs", json!({}));
    assert_eq!(
        (status, &record["response"]["result"]),
        (200, &json!({"in": "isolate"}))
    );
    let chosen = json!({"exec": {"kind": "nodejs:20", "code": uses_fs}, "annotations": [{"key": "engine", "value": "quickjs"}]});
    create(&shoal, "chosen", chosen);
    assert_eq!(placement(&shoal, "chosen"), (json!("quickjs"), Value::Null));
    assert!(shoal.stop().success());

    // Without a container domain the create still succeeds and each activation fails with a
    // developer error naming the module.
    let shoal = Shoal::serve_with(dir.path(), "[containers]\nenabled = false\n");
    create(
        &shoal,
        "alone",
        json!({"exec": {"kind": "nodejs:20", "code": uses_fs}}),
    );
    assert_eq!(placement(&shoal, "alone"), (Value::Null, Value::Null));
    let (status, record) = invoke(&shoal, "alone", json!({}));
    assert_eq!(status, 502);
    assert!(
        error_text(&record)
            .contains("Cannot find module 'fs': Node's 'fs' module is not available"),
        "{record}"
    );
    assert!(shoal.stop().success());
}

#[test]
fn an_oversized_result_has_exactly_one_error_text() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    create(
        &shoal,
        "big",
        python("def main(a):\n    return {'big': 'x' * 1100000}\n"),
    );
    let (status, record) = invoke(&shoal, "big", json!({}));
    assert_eq!(status, 502, "{}", error_text(&record));
    assert_eq!(record["response"]["status"], "application error");
    // Python's json.dumps: `{"big": "x…x"}` is 11 bytes more than the string.
    let expected = format!(
        "The action produced a response that exceeded the allowed length: 1100011 > 1048576 bytes. The truncated response was: {{\"big\": \"{}",
        "x".repeat(1024 - 9)
    );
    assert_eq!(error_text(&record), expected);
    assert_eq!(
        record["response"]["result"].as_object().unwrap().len(),
        1,
        "only the error"
    );
    assert!(shoal.stop().success());
}

/// POSTs `body` to `http://addr{path}` without credentials: (status, JSON body).
fn post_json(addr: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = crate::support::request(addr, "POST", path, None, Some(body));
    (r.status, r.json())
}

#[test]
fn the_proxy_refuses_overlapping_runs() {
    let label = format!("shoal.test=overlap-{}", std::process::id());
    let id = docker(&["run", "-d", "--label", &label, PYTHON_IMAGE])
        .trim()
        .to_string();
    let ip = docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &id])
        .trim()
        .to_string();
    let addr = format!("{ip}:8080");
    wait_until("the proxy listens", || {
        std::net::TcpStream::connect(&addr).is_ok()
    });
    let post = |path: &str, body: Value| post_json(&addr, path, &body);
    let code = "import time\ndef main(a):\n    time.sleep(a.get('sleep', 0))\n    return {'slept': a.get('sleep', 0)}\n";
    let init =
        json!({"value": {"name": "o", "main": "main", "code": code, "binary": false, "env": {}}});
    assert_eq!(post("/init", init).0, 200);
    let first = {
        let addr = addr.clone();
        thread::spawn(move || post_json(&addr, "/run", &json!({"value": {"sleep": 4}})))
    };
    // Well inside the first run, even on a slow machine.
    thread::sleep(Duration::from_secs(1));
    assert_eq!(
        post("/run", json!({"value": {}})),
        (
            403,
            json!({"error": "System not ready, status is running."})
        )
    );
    assert_eq!(first.join().unwrap(), (200, json!({"slept": 4})));
    assert_eq!(post("/run", json!({"value": {}})).0, 200, "free again");
    docker(&["rm", "-f", &id]);
}

#[test]
fn init_and_run_each_get_the_whole_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    // Creating the container, /init and /run take well over the limit together; each alone
    // stays within it.
    let code = "import time\ntime.sleep(1.5)\ndef main(a):\n    time.sleep(1.5)\n    return {'ok': True}\n";
    let action =
        json!({"exec": {"kind": "python:3.11", "code": code}, "limits": {"timeout": 2500}});
    create(&shoal, "slowboth", action);
    let (status, record) = invoke(&shoal, "slowboth", json!({}));
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["response"]["result"], json!({"ok": true}));
    assert!(annotation(&record, "initTime").is_some());
    assert!(shoal.stop().success());
}

#[test]
fn a_proxy_that_never_listens_fails_the_initialization() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "start_timeout_secs = 2");
    create(&shoal, "deaf", blackbox("shoal-test/no-proxy:1"));
    let (status, record) = invoke(&shoal, "deaf", json!({}));
    assert_eq!(status, 502, "{record}");
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "The action failed during initialization: its action proxy did not listen on port 8080 within 2 seconds."
    );
    assert_eq!(annotation(&record, "timeout"), Some(&json!(false)));
    create(&shoal, "gone", blackbox("shoal-test/exits:1"));
    let (_, record) = invoke(&shoal, "gone", json!({}));
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "The action did not initialize and exited unexpectedly."
    );
    settles_to(dir.path(), &[]);
    assert!(shoal.stop().success());
}

#[test]
fn capacity_failures_are_whisk_internal_errors() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "capacity_mb = 256");
    // More memory than the whole capacity: refused at once.
    let huge = json!({"exec": {"kind": "python:3.11", "code": "def main(a):\n    return {}\n"}, "limits": {"memory": 512}});
    create(&shoal, "huge", huge);
    let (status, record) = invoke(&shoal, "huge", json!({}));
    assert_eq!(status, 500, "{record}");
    assert_eq!(record["response"]["status"], "whisk internal error");
    assert_eq!(
        error_text(&record),
        "Failed to provision resources to run the action. The action's memory limit of 512 MB exceeds the capacity of every container host that qualifies (the largest is 256 MB)."
    );

    // The capacity stays taken longer than the waiting action's time limit.
    let hold = json!({"exec": {"kind": "python:3.11", "code": "import time\ndef main(a):\n    time.sleep(4)\n    return {}\n"}, "limits": {"timeout": 20000}});
    create(&shoal, "hold", hold);
    let late = json!({"exec": {"kind": "python:3.11", "code": "def main(a):\n    return {}\n"}, "limits": {"timeout": 1000}});
    create(&shoal, "late", late);
    let r = shoal.request(
        "POST",
        "/api/v1/namespaces/_/actions/hold",
        Some(&json!({})),
    );
    assert_eq!(r.status, 202);
    wait_until("hold's container", || !containers_of(dir.path()).is_empty());
    let (status, record) = invoke(&shoal, "late", json!({}));
    assert_eq!(status, 500, "{record}");
    assert_eq!(record["response"]["status"], "whisk internal error");
    assert_eq!(
        error_text(&record),
        "Failed to provision resources to run the action. No container capacity became free within the action's time limit of 1000 milliseconds."
    );
    assert_eq!(annotation(&record, "timeout"), Some(&json!(false)));
    assert!(shoal.stop().success());
}

#[test]
fn developer_errors_discard_the_container_and_say_logs_may_be_missing() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    create(
        &shoal,
        "apperr",
        python("def main(a):\n    print('app')\n    return {'error': 'nope'}\n"),
    );
    let (_, record) = invoke(&shoal, "apperr", json!({}));
    assert_eq!(record["response"]["status"], "application error");
    let logs = logs_of(&shoal, &record);
    assert!(
        logs.len() == 1 && logs[0].ends_with("stdout: app"),
        "no notice after an application error: {logs:?}"
    );
    let kept = containers_of(dir.path());
    assert_eq!(
        kept.len(),
        1,
        "an application error keeps the container warm"
    );

    // An exception: the container is removed, the logs end with OpenWhisk's notice.
    create(
        &shoal,
        "raises",
        python("def main(a):\n    print('before')\n    raise ValueError('broken')\n"),
    );
    let (_, record) = invoke(&shoal, "raises", json!({}));
    assert_eq!(record["response"]["status"], "action developer error");
    settles_to(dir.path(), &kept);
    let logs = logs_of(&shoal, &record);
    assert!(
        logs.last().is_some_and(|l| l.ends_with(LOG_DATA_MISSING)),
        "{logs:?}"
    );

    // A timeout: the same.
    let sleepy = json!({"exec": {"kind": "python:3.11", "code": "import time\ndef main(a):\n    time.sleep(10)\n    return {}\n"}, "limits": {"timeout": 500}});
    create(&shoal, "sleepy", sleepy);
    let (_, record) = invoke(&shoal, "sleepy", json!({}));
    assert_eq!(
        error_text(&record),
        "The action exceeded its time limits of 500 milliseconds."
    );
    settles_to(dir.path(), &kept);
    let logs = logs_of(&shoal, &record);
    assert!(
        logs.last().is_some_and(|l| l.ends_with(LOG_DATA_MISSING)),
        "{logs:?}"
    );

    // A failed initialization: the same.
    create(&shoal, "badinit", python("def main(a) return 1\n"));
    let (_, record) = invoke(&shoal, "badinit", json!({}));
    assert!(error_text(&record).starts_with("Initialization has failed due to:"));
    settles_to(dir.path(), &kept);
    let logs = logs_of(&shoal, &record);
    assert!(
        logs.last().is_some_and(|l| l.ends_with(LOG_DATA_MISSING)),
        "{logs:?}"
    );
    assert!(shoal.stop().success());
    assert!(containers_of(dir.path()).is_empty());
}

#[test]
fn logs_that_cannot_be_delimited_discard_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    // The action sends the process's stdout (the proxy's too) to /dev/null: the proxy's
    // stdout sentinel never reaches the engine.
    let code = "import os, socket, sys\ndef main(a):\n    print('last words', flush=True)\n    sys.stdout = open(os.devnull, 'w')\n    return {'host': socket.gethostname()}\n";
    create(&shoal, "mute", python(code));
    let (status, first) = invoke(&shoal, "mute", json!({}));
    assert_eq!(status, 200, "{first}");
    let logs = logs_of(&shoal, &first);
    assert!(logs[0].ends_with("stdout: last words"), "{logs:?}");
    assert!(
        logs.last().is_some_and(|l| l.ends_with(LOG_DATA_MISSING)),
        "{logs:?}"
    );
    settles_to(dir.path(), &[]);
    let (_, second) = invoke(&shoal, "mute", json!({}));
    assert!(annotation(&second, "initTime").is_some(), "a new container");
    assert_ne!(
        second["response"]["result"]["host"],
        first["response"]["result"]["host"]
    );
    assert!(shoal.stop().success());
}

#[test]
fn blackbox_images_without_sentinels_are_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    create(&shoal, "foreign", blackbox("shoal-test/foreign-proxy:1"));
    let (status, first) = invoke(&shoal, "foreign", json!({}));
    assert_eq!(status, 200, "{first}");
    let (_, second) = invoke(&shoal, "foreign", json!({}));
    // Waiting for sentinels that never come would end in discarding the container.
    assert_eq!(second["response"]["result"]["runs"], 2, "kept warm");
    assert_eq!(
        second["response"]["result"]["host"],
        first["response"]["result"]["host"]
    );
    let logs = logs_of(&shoal, &second);
    assert!(
        logs.len() == 1 && logs[0].ends_with("stdout: foreign run 2"),
        "{logs:?}"
    );
    assert!(shoal.stop().success());
}

#[test]
fn executables_killed_for_their_memory_report_it() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    let script = "#!/bin/sh\nexec python3 -c 'x = bytearray(400 * 1024 * 1024)'\n";
    let action = json!({"exec": {"kind": "blackbox", "image": BLACKBOX_IMAGE, "code": script}, "limits": {"memory": 128}});
    create(&shoal, "exechog", action);
    let (status, record) = invoke(&shoal, "exechog", json!({}));
    assert_eq!(status, 502, "{record}");
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "The action exhausted its memory and was aborted."
    );
    settles_to(dir.path(), &[]);
    assert!(shoal.stop().success());
}

#[test]
fn a_proxy_shutting_down_at_init_is_replaced_then_fails_the_initialization() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    create(&shoal, "stopping", blackbox("shoal-test/init-503:1"));
    let since = unix_now();
    let (status, record) = invoke(&shoal, "stopping", json!({}));
    assert_eq!(status, 502, "{record}");
    assert_eq!(record["response"]["status"], "action developer error");
    assert_eq!(
        error_text(&record),
        "The action failed during initialization: shutting down"
    );
    assert_eq!(
        created_since(dir.path(), since),
        3,
        "each 503 sent the activation to a new container"
    );
    settles_to(dir.path(), &[]);
    assert!(shoal.stop().success());
}

#[test]
fn init_parameters_reach_init_and_not_the_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), "");
    let code = "import os\nAT_INIT = os.environ.get('token')\nCOUNT = os.environ.get('count')\ndef main(a):\n    return {'at_init': AT_INIT, 'count': COUNT, 'args': a}\n";
    let action = json!({
        "exec": {"kind": "python:3.11", "code": code},
        "parameters": [
            {"key": "token", "value": "t0k", "init": true},
            {"key": "count", "value": 3, "init": true},
            {"key": "plain", "value": 1},
        ],
    });
    create(&shoal, "initp", action);
    let (status, record) = invoke(&shoal, "initp", json!({"extra": true}));
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        record["response"]["result"],
        json!({"at_init": "t0k", "count": "3", "args": {"plain": 1, "extra": true}})
    );
    assert!(shoal.stop().success());
}
