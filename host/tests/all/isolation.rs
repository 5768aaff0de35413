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
