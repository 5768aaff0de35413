//! Per-namespace throttles (spec §8.1) through the real binary: a namespace whose limits were
//! lowered with `shoal namespace set-limits` gets OpenWhisk's 429s, and others do not.

use serde_json::json;

use crate::support::{self, Shoal, request, run_with_timeout, shoal_command};

#[test]
fn a_namespace_over_its_invoke_rate_gets_429_and_others_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let auth = support::namespace_create(dir.path(), "slow");
    let out = run_with_timeout(
        shoal_command()
            .args([
                "namespace",
                "set-limits",
                "slow",
                "--invocations-per-minute",
                "2",
                "--data-dir",
            ])
            .arg(dir.path()),
        std::time::Duration::from_secs(20),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let code = json!({"exec": {"kind": "nodejs:default", "code": "function main() { return {ok: true}; }"}});
    for ns_auth in [auth.as_str(), support::GUEST_AUTH] {
        let r = request(
            &addr,
            "PUT",
            "/api/v1/namespaces/_/actions/a",
            Some(ns_auth),
            Some(&code),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let invoke = |a: &str| {
        request(
            &addr,
            "POST",
            "/api/v1/namespaces/_/actions/a?blocking=true",
            Some(a),
            None,
        )
    };
    assert_eq!(invoke(&auth).status, 200);
    assert_eq!(invoke(&auth).status, 200);
    let third = invoke(&auth);
    assert_eq!(third.status, 429, "{}", third.text());
    assert_eq!(
        third.json()["error"],
        "Too many requests in the last minute (count: 2, allowed: 2)."
    );
    assert_eq!(
        invoke(support::GUEST_AUTH).status,
        200,
        "guest is not throttled by slow's limits"
    );
    let limits = request(
        &addr,
        "GET",
        "/api/v1/namespaces/_/limits",
        Some(&auth),
        None,
    )
    .json();
    assert_eq!(limits["invocationsPerMinute"], 2);
    assert_eq!(limits["concurrentInvocations"], 10000);
    shoal.stop();
}
