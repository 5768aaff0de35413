//! What OpenWhisk's tools send that shoal once refused: wskdeploy's `version: 1.0`, and the
//! dot segments in `wsk project export`'s paths (which a browser-grade client would have
//! removed itself, so these requests go over a plain socket).

use serde_json::json;

use crate::support::{GUEST_AUTH, Shoal, namespace_create, request};

#[test]
fn versions_are_completed_and_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let code = json!({"kind": "nodejs:20", "code": "function main() { return {}; }"});
    for (path, body) in [
        ("actions/a1", json!({"exec": code, "version": "1.0"})),
        ("packages/p1", json!({"version": "1.0"})),
        ("triggers/t1", json!({"version": "1.0"})),
    ] {
        let path = format!("/api/v1/namespaces/_/{path}");
        let r = request(&shoal.addr, "PUT", &path, Some(GUEST_AUTH), Some(&body));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["version"], "1.0.0", "{path}");
    }
    for bad in ["0.0.0", "1.0.0.0", "one"] {
        let body = json!({"exec": code, "version": bad});
        let path = "/api/v1/namespaces/_/actions/a2";
        let r = request(&shoal.addr, "PUT", path, Some(GUEST_AUTH), Some(&body));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        let want = format!("\"{bad}\" is not a valid semantic version");
        assert!(
            r.json()["error"].as_str().unwrap().ends_with(&want),
            "{}",
            r.text()
        );
    }
}

#[test]
fn dot_segments_are_removed_before_routing_and_authorising() {
    let dir = tempfile::tempdir().unwrap();
    let other = namespace_create(dir.path(), "other");
    let shoal = Shoal::serve(dir.path());
    let body =
        json!({"exec": {"kind": "nodejs:20", "code": "function main() { return {hi: 1}; }"}});
    let put = "/api/v1/namespaces/_/actions/hello";
    let r = request(&shoal.addr, "PUT", put, Some(GUEST_AUTH), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());

    // What `wsk project export` sends for a feed action, here for an action of one's own.
    let path = "/api/v1/namespaces/_/actions/../../guest/actions/./hello?blocking=true&result=true";
    let r = request(&shoal.addr, "POST", path, Some(GUEST_AUTH), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"hi": 1}));
    let r = request(
        &shoal.addr,
        "GET",
        "/api/v1/namespaces/_/actions/../../whisk.system/actions/alarms/alarm",
        Some(GUEST_AUTH),
        None,
    );
    assert_eq!(
        r.status,
        200,
        "whisk.system's alarm feed is public: {}",
        r.text()
    );

    // A path that climbs into another namespace is that namespace's path, checked as such.
    let path = "/api/v1/namespaces/other/actions/../../guest/actions/hello";
    let r = request(&shoal.addr, "GET", path, Some(&other), None);
    assert_eq!(r.status, 403, "{}", r.text());
    // Climbing above the root stops there.
    let r = request(&shoal.addr, "GET", "/../../../ping", None, None);
    assert_eq!((r.status, r.text()), (200, "pong".to_string()));
}
