//! Performance isolation of the real binary: while another namespace's actions spin on every
//! isolate worker, `/ping`, a neighbour's blocking hello-world and a non-blocking invoke are
//! all answered, before the spinners end. (How fast they are answered is measured by the
//! `neighbours` load scenario, not asserted here.)

use serde_json::json;

use crate::support::{GUEST_AUTH, Shoal, namespace_create, request};

#[test]
fn guest_code_spinning_on_every_worker_stalls_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let noisy = namespace_create(dir.path(), "noisy");
    let shoal = Shoal::serve_with(dir.path(), "[isolates]\nworkers = 2\n");
    let put = |auth: &str, name: &str, code: &str, timeout: u64| {
        let body =
            json!({"exec": {"kind": "nodejs:20", "code": code}, "limits": {"timeout": timeout}});
        let path = format!("/api/v1/namespaces/_/actions/{name}");
        let r = request(&shoal.addr, "PUT", &path, Some(auth), Some(&body));
        assert_eq!(r.status, 200, "{}", r.text());
    };
    // Spinners that only their 50 s deadline ends: one per worker slot (the names hash apart
    // only by chance, so start enough that both slots surely hold one).
    put(&noisy, "spin", "function main() { for (;;) {} }", 50_000);
    let mut spinning = Vec::new();
    for _ in 0..6 {
        let r = request(
            &shoal.addr,
            "POST",
            "/api/v1/namespaces/_/actions/spin",
            Some(&noisy),
            None,
        );
        assert_eq!(r.status, 202, "{}", r.text());
        spinning.push(r.json()["activationId"].as_str().unwrap().to_owned());
    }
    put(
        GUEST_AUTH,
        "hello",
        "function main(p) { return {hi: p.who}; }",
        5_000,
    );
    assert_eq!(request(&shoal.addr, "GET", "/ping", None, None).status, 200);
    let hello = request(
        &shoal.addr,
        "POST",
        "/api/v1/namespaces/_/actions/hello?blocking=true&result=true",
        Some(GUEST_AUTH),
        Some(&json!({"who": "neighbour"})),
    );
    assert_eq!(hello.status, 200, "{}", hello.text());
    assert_eq!(hello.json(), json!({"hi": "neighbour"}));
    let accepted = request(
        &shoal.addr,
        "POST",
        "/api/v1/namespaces/_/actions/hello",
        Some(GUEST_AUTH),
        None,
    );
    assert_eq!(accepted.status, 202, "{}", accepted.text());
    // All of that happened while every spinner still ran: none has a record yet.
    for id in &spinning {
        let path = format!("/api/v1/namespaces/_/activations/{id}");
        let r = request(&shoal.addr, "GET", &path, Some(&noisy), None);
        assert_eq!(r.status, 404, "spinner {id} already ended: {}", r.text());
    }
}

/// Polls `GET /health` until the isolate memory budget has `mib` reserved and `waiting`
/// activations waiting for memory; fails after a minute (what takes milliseconds).
fn wait_memory(shoal: &Shoal, mib: u64, waiting: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let health = request(&shoal.addr, "GET", "/health", None, None).json();
        let memory = &health["isolateMemory"];
        if memory["reservedMib"] == json!(mib) && memory["waiting"] == json!(waiting) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never {mib} MiB reserved with {waiting} waiting: {health}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Creates (or replaces) `name` in the namespace of `auth`: `code` with the given memory and
/// time limits.
fn put(shoal: &Shoal, auth: &str, name: &str, code: &str, memory: u64, timeout: u64) {
    let body = json!({
        "exec": {"kind": "nodejs:20", "code": code},
        "limits": {"memory": memory, "timeout": timeout}
    });
    let path = format!("/api/v1/namespaces/_/actions/{name}?overwrite=true");
    let r = request(&shoal.addr, "PUT", &path, Some(auth), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Invokes `name` in the namespace of `auth`.
fn invoke(shoal: &Shoal, auth: &str, name: &str, blocking: bool) -> crate::support::Response {
    let path = format!("/api/v1/namespaces/_/actions/{name}?blocking={blocking}");
    request(&shoal.addr, "POST", &path, Some(auth), None)
}

/// An action that answers after `ms` milliseconds, holding its memory reservation meanwhile.
fn hold(ms: u64) -> String {
    format!(
        "function main() {{ return new Promise(r => setTimeout(() => r({{held: true}}), {ms})); }}"
    )
}

#[test]
fn a_full_memory_budget_drops_idle_isolates_then_queues_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let hogs = namespace_create(dir.path(), "hogs");
    let shoal = Shoal::serve_with(dir.path(), "[isolates]\nmemory_budget_mib = 512\n");
    put(
        &shoal,
        GUEST_AUTH,
        "hello",
        "function main() { return {hi: 1}; }",
        128,
        60_000,
    );
    put(&shoal, &hogs, "hog", &hold(3_000), 512, 60_000);
    put(&shoal, &hogs, "hog2", &hold(50_000), 512, 60_000);
    put(
        &shoal,
        GUEST_AUTH,
        "quick",
        "function main() { return {hi: 2}; }",
        128,
        1_000,
    );
    let invoke = |auth: &str, name: &str, blocking: bool| invoke(&shoal, auth, name, blocking);
    let warm = invoke(GUEST_AUTH, "hello", true);
    assert_eq!(warm.status, 200, "{}", warm.text());

    // The hog reserves the whole budget (one activation of its namespace may); hello waits
    // for it, and its idle isolate was dropped meanwhile, so it starts cold.
    let hog = invoke(&hogs, "hog", false);
    assert_eq!(hog.status, 202, "{}", hog.text());
    wait_memory(&shoal, 512, 0);
    let hello = invoke(GUEST_AUTH, "hello", true);
    assert_eq!(hello.status, 200, "{}", hello.text());
    let hello = hello.json();
    let annotations = hello["annotations"].as_array().unwrap();
    assert!(
        annotations.iter().any(|a| a["key"] == "initTime"),
        "the idle isolate was dropped, so this run started cold: {hello}"
    );
    let hog_id = hog.json()["activationId"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/namespaces/_/activations/{hog_id}");
    let hog = request(&shoal.addr, "GET", &path, Some(&hogs), None).json();
    assert_eq!(hog["response"]["result"], json!({"held": true}));
    assert!(
        hello["start"].as_u64() >= hog["end"].as_u64(),
        "hello ran only once the hog gave its memory back: {hello} {hog}"
    );
    let health = request(&shoal.addr, "GET", "/health", None, None).json();
    assert!(
        health["isolateMemory"]["trims"].as_u64() >= Some(1),
        "{health}"
    );

    // A second hog holds the budget far longer than quick's 1 s time limit: quick fails with
    // the capacity error, and its record says so.
    assert_eq!(invoke(&hogs, "hog2", false).status, 202);
    wait_memory(&shoal, 512, 0);
    let quick = invoke(GUEST_AUTH, "quick", true);
    assert_eq!(quick.status, 500, "{}", quick.text());
    let quick = quick.json();
    assert_eq!(
        quick["response"]["status"], "whisk internal error",
        "{quick}"
    );
    let error = quick["response"]["result"]["error"].as_str().unwrap();
    assert!(error.starts_with("The system is overloaded"), "{error}");
    let health = request(&shoal.addr, "GET", "/health", None, None).json();
    assert_eq!(health["isolateMemory"]["refused"], json!(1), "{health}");
    assert_eq!(health["isolateMemory"]["budgetMib"], json!(512), "{health}");
}

#[test]
fn one_namespace_cannot_reserve_the_memory_another_one_needs() {
    let dir = tempfile::tempdir().unwrap();
    let hogs = namespace_create(dir.path(), "hogs");
    let shoal = Shoal::serve_with(dir.path(), "[isolates]\nmemory_budget_mib = 512\n");
    put(&shoal, &hogs, "hog", &hold(50_000), 200, 60_000);
    put(
        &shoal,
        GUEST_AUTH,
        "quick",
        "function main() { return {hi: 2}; }",
        256,
        1_000,
    );
    // The first hog reserves 200 MiB; the second would take its namespace past half the
    // budget, so it waits for the first instead of taking memory others need.
    for _ in 0..2 {
        assert_eq!(invoke(&shoal, &hogs, "hog", false).status, 202);
    }
    wait_memory(&shoal, 200, 1);
    // So the guest's 256 MiB activation finds room within its 1 s time limit.
    let quick = invoke(&shoal, GUEST_AUTH, "quick", true);
    assert_eq!(quick.status, 200, "{}", quick.text());
    assert_eq!(quick.json()["response"]["result"], json!({"hi": 2}));
}
