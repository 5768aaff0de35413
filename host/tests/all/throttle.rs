//! Per-namespace limits set with `shoal namespace set-limits`, through the real binary: a
//! namespace whose throttles were lowered gets OpenWhisk's 429s and others do not; a namespace
//! with `storeActivations: false` gets every result but keeps nothing in the activation log.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{self, Shoal, request, set_limits};

#[test]
fn a_namespace_over_its_invoke_rate_gets_429_and_others_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let auth = support::namespace_create(dir.path(), "slow");
    set_limits(dir.path(), "slow", &["--invocations-per-minute", "2"]);
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
    // Two a minute: two calls pass, and of the next three at least one is refused even if
    // a minute turns over among them (at most four can pass within two minutes).
    assert_eq!(invoke(&auth).status, 200);
    assert_eq!(invoke(&auth).status, 200);
    let refused = (0..3)
        .map(|_| invoke(&auth))
        .find(|r| r.status != 200)
        .expect("two a minute: five calls cannot all pass");
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(
        refused.json()["error"],
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

/// Everything one namespace does that OpenWhisk records: a blocking invoke, a non-blocking
/// one, a web action, a sequence and a trigger fire with one rule. Returns the ids the API
/// handed out and checks that every caller got its result.
fn activate_everything(addr: &str, ns: &str, auth: &str) -> Vec<String> {
    let call = |method: &str, path: &str, body: Option<&Value>| {
        request(addr, method, path, Some(auth), body)
    };
    let code = "function main(p) { return {hello: p.name || 'you'}; }";
    let api = "/api/v1/namespaces/_";
    for (path, body) in [
        (
            "actions/a",
            json!({"exec": {"kind": "nodejs:default", "code": code},
                   "annotations": [{"key": "web-export", "value": true}]}),
        ),
        (
            "actions/seq",
            json!({"exec": {"kind": "sequence", "components": [format!("/{ns}/a")]}}),
        ),
        ("triggers/t", json!({})),
        ("rules/r", json!({"trigger": "/_/t", "action": "/_/a"})),
    ] {
        let r = call("PUT", &format!("{api}/{path}"), Some(&body));
        assert_eq!(r.status, 200, "PUT {path}: {}", r.text());
    }
    let mut ids = Vec::new();
    let blocking = call(
        "POST",
        &format!("{api}/actions/a?blocking=true"),
        Some(&json!({"name": "x"})),
    );
    assert_eq!(blocking.status, 200, "{}", blocking.text());
    let record = blocking.json();
    assert_eq!(record["response"]["result"], json!({"hello": "x"}));
    assert_eq!(record["namespace"], ns);
    ids.push(record["activationId"].as_str().unwrap().to_string());
    let queued = call("POST", &format!("{api}/actions/a"), None);
    assert_eq!(queued.status, 202, "{}", queued.text());
    ids.push(queued.json()["activationId"].as_str().unwrap().to_string());
    let web = request(
        addr,
        "GET",
        &format!("/api/v1/web/{ns}/default/a.json?name=web"),
        None,
        None,
    );
    assert_eq!(web.status, 200, "{}", web.text());
    assert_eq!(web.json()["hello"], "web");
    ids.push(
        web.header("x-openwhisk-activation-id")
            .expect("web responses name their activation")
            .to_string(),
    );
    let seq = call(
        "POST",
        &format!("{api}/actions/seq?blocking=true&result=true"),
        Some(&json!({"name": "seq"})),
    );
    assert_eq!(seq.status, 200, "{}", seq.text());
    assert_eq!(seq.json(), json!({"hello": "seq"}));
    let fired = call("POST", &format!("{api}/triggers/t"), Some(&json!({})));
    assert_eq!(fired.status, 202, "{}", fired.text());
    ids.push(fired.json()["activationId"].as_str().unwrap().to_string());
    ids
}

#[test]
fn a_namespace_that_does_not_store_activations_gets_results_and_leaves_no_records() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = support::namespace_create(dir.path(), "quiet");
    set_limits(dir.path(), "quiet", &["--store-activations", "false"]);
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let limits = |auth: &str| {
        request(
            &addr,
            "GET",
            "/api/v1/namespaces/_/limits",
            Some(auth),
            None,
        )
        .json()
    };
    assert_eq!(limits(&quiet)["storeActivations"], false);
    assert!(
        limits(support::GUEST_AUTH)
            .get("storeActivations")
            .is_none(),
        "reported only when set"
    );
    let quiet_ids = activate_everything(&addr, "quiet", &quiet);
    let guest_ids = activate_everything(&addr, "guest", support::GUEST_AUTH);
    let count = |auth: &str| {
        request(
            &addr,
            "GET",
            "/api/v1/namespaces/_/activations?count=true",
            Some(auth),
            None,
        )
        .json()["activations"]
            .as_u64()
            .unwrap()
    };
    // guest, which stores: invoke, non-blocking invoke, web, sequence + its component,
    // trigger + its rule's action. Its records arriving bounds when quiet's would have.
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(support::GUEST_AUTH) < 7 {
        assert!(
            Instant::now() < deadline,
            "guest's activations were not recorded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let get = |auth: &str, id: &str| {
        request(
            &addr,
            "GET",
            &format!("/api/v1/namespaces/_/activations/{id}"),
            Some(auth),
            None,
        )
    };
    for id in &guest_ids {
        assert_eq!(get(support::GUEST_AUTH, id).status, 200, "guest {id}");
    }
    for id in &quiet_ids {
        let r = get(&quiet, id);
        assert_eq!(r.status, 404, "quiet {id}: {}", r.text());
        assert_eq!(r.json()["error"], "The requested resource does not exist.");
    }
    assert_eq!(count(&quiet), 0);
    let listed = request(
        &addr,
        "GET",
        "/api/v1/namespaces/_/activations",
        Some(&quiet),
        None,
    );
    assert_eq!(listed.json(), json!([]));
    shoal.stop();
}

#[test]
fn a_namespace_past_its_stored_bytes_per_minute_keeps_records_without_their_logs() {
    let dir = tempfile::tempdir().unwrap();
    let chatty = support::namespace_create(dir.path(), "chatty");
    set_limits(
        dir.path(),
        "chatty",
        &["--activation-bytes-per-minute", "40000"],
    );
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let code = "function main() { console.log('x'.repeat(30000)); return {ok: true}; }";
    let action = json!({"exec": {"kind": "nodejs:default", "code": code}});
    let api = "/api/v1/namespaces/_";
    for auth in [chatty.as_str(), support::GUEST_AUTH] {
        let r = request(
            &addr,
            "PUT",
            &format!("{api}/actions/log"),
            Some(auth),
            Some(&action),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let limits = request(&addr, "GET", &format!("{api}/limits"), Some(&chatty), None).json();
    assert_eq!(limits["activationBytesPerMinute"], 40000);
    // Invokes `auth`'s action; returns the stored record, after checking that the caller got
    // the result.
    let invoke_and_read = |auth: &str| {
        let r = request(
            &addr,
            "POST",
            &format!("{api}/actions/log?blocking=true"),
            Some(auth),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let answered = r.json();
        assert_eq!(answered["response"]["result"], json!({"ok": true}));
        let id = answered["activationId"].as_str().unwrap().to_string();
        let path = format!("{api}/activations/{id}");
        let stored = request(&addr, "GET", &path, Some(auth), None);
        assert_eq!(stored.status, 200, "{}", stored.text());
        stored.json()
    };
    let whole = |record: &Value| record["logs"][0].as_str().unwrap().len() > 30000;
    let first = invoke_and_read(&chatty);
    assert!(whole(&first), "a fresh minute stores ~31 KB of 40 KB whole");
    // Two records of ~31 KB do not fit one minute's 40 KB, so of the next four at least one
    // is stored lean, unless every one of them started a new minute.
    let lean = (0..4)
        .map(|_| invoke_and_read(&chatty))
        .find(|r| !whole(r))
        .expect("five 31 KB records cannot all fit 40 KB a minute");
    let note = lean["logs"][0].as_str().unwrap();
    assert!(
        note.contains("stderr: shoal stored this activation without its logs: its namespace")
            && note.contains("(activationBytesPerMinute) is 40000."),
        "{note}"
    );
    assert_eq!(lean["logs"].as_array().unwrap().len(), 1);
    assert_eq!(lean["response"]["result"], json!({"ok": true}));
    let annotation = lean["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "notStored")
        .expect("the record names what it left out");
    assert_eq!(annotation["value"], json!(["logs"]));
    let guest = invoke_and_read(support::GUEST_AUTH);
    assert!(whole(&guest), "guest's own limit is the default 16 MiB");
    shoal.stop();
}

#[test]
fn a_namespace_cannot_store_entities_past_its_quota() {
    let dir = tempfile::tempdir().unwrap();
    let small = support::namespace_create(dir.path(), "small");
    set_limits(dir.path(), "small", &["--entity-bytes", "6000"]);
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let api = "/api/v1/namespaces/_";
    let put = |auth: &str, path: &str, body: &Value| {
        let path = format!("{api}/{path}?overwrite=true");
        request(&addr, "PUT", &path, Some(auth), Some(body))
    };
    let action = |bytes: usize| {
        let code = format!("function main() {{ return {{}}; }} //{}", "x".repeat(bytes));
        json!({"exec": {"kind": "nodejs:default", "code": code}})
    };
    let limits = request(&addr, "GET", &format!("{api}/limits"), Some(&small), None).json();
    assert_eq!(limits["entityBytes"], 6000);
    // Each action's document is its code and ~300 bytes more.
    assert_eq!(put(&small, "actions/a", &action(3000)).status, 200);
    let refused = put(&small, "actions/b", &action(3000));
    assert_eq!(refused.status, 413, "{}", refused.text());
    let text = refused.json()["error"].as_str().unwrap().to_owned();
    assert!(
        text.starts_with("The namespace's entities larger than allowed: ")
            && text.ends_with(" > 6000 bytes (entityBytes)."),
        "{text}"
    );
    let missing = request(
        &addr,
        "GET",
        &format!("{api}/actions/b"),
        Some(&small),
        None,
    );
    assert_eq!(missing.status, 404, "a refused PUT stores nothing");
    // Replacing an action counts its new size, not both.
    assert_eq!(put(&small, "actions/a", &action(3500)).status, 200);
    assert_eq!(put(&small, "triggers/t", &json!({})).status, 200);
    let rule = json!({"trigger": "/_/t", "action": "/_/a",
                      "annotations": [{"key": "big", "value": "y".repeat(4000)}]});
    let refused = put(&small, "rules/r", &rule);
    assert_eq!(refused.status, 413, "rules count too: {}", refused.text());
    assert_eq!(
        put(support::GUEST_AUTH, "actions/b", &action(3000)).status,
        200,
        "guest's quota is its own"
    );
    shoal.stop();
}

/// PUTs sent at once each see the quota before any of them is stored: they take turns, so
/// no two pass on the same sum.
#[test]
fn puts_sent_at_once_cannot_take_a_namespace_past_its_quota() {
    let dir = tempfile::tempdir().unwrap();
    let small = support::namespace_create(dir.path(), "small");
    set_limits(dir.path(), "small", &["--entity-bytes", "200000"]);
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    // Each action's document is ~150 KB: one fits, no two do.
    let code = format!(
        "function main() {{ return {{}}; }} //{}",
        "x".repeat(150_000)
    );
    let body = json!({"exec": {"kind": "nodejs:default", "code": code}});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let puts: Vec<_> = (0..12)
            .map(|i| {
                let (addr, small, body) = (&addr, &small, &body);
                s.spawn(move || {
                    let path = format!("/api/v1/namespaces/_/actions/a{i}");
                    request(addr, "PUT", &path, Some(small), Some(body)).status
                })
            })
            .collect();
        puts.into_iter().map(|p| p.join().unwrap()).collect()
    });
    let stored = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 413).count();
    assert_eq!((stored, refused), (1, 11), "{statuses:?}");
    let list = request(
        &addr,
        "GET",
        "/api/v1/namespaces/_/actions",
        Some(&small),
        None,
    );
    assert_eq!(list.json().as_array().map(Vec::len), Some(1));
    shoal.stop();
}

#[test]
fn far_past_its_stored_bytes_a_namespace_keeps_compositions_but_not_their_components() {
    let dir = tempfile::tempdir().unwrap();
    let tight = support::namespace_create(dir.path(), "tight");
    // One byte a minute: every record is past the limit, and the first one's cost is owed.
    set_limits(dir.path(), "tight", &["--activation-bytes-per-minute", "1"]);
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let call = |method: &str, path: &str, body: Option<&Value>| {
        let path = format!("/api/v1/namespaces/_/{path}");
        request(&addr, method, &path, Some(&tight), body)
    };
    let code = "function main(p) { console.log('step'); return {n: (p.n || 0) + 1}; }";
    let step = json!({"exec": {"kind": "nodejs:default", "code": code}});
    assert_eq!(call("PUT", "actions/step", Some(&step)).status, 200);
    let seq = json!({"exec": {"kind": "sequence", "components": ["/tight/step", "/tight/step", "/tight/step"]}});
    assert_eq!(call("PUT", "actions/seq", Some(&seq)).status, 200);
    let r = call("POST", "actions/seq?blocking=true", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["response"]["result"],
        json!({"n": 3}),
        "the caller gets it all"
    );
    let id = r.json()["activationId"].as_str().unwrap().to_owned();
    let stored = call("GET", &format!("activations/{id}"), None).json();
    assert_eq!(stored["response"]["result"], json!({}));
    assert_eq!(stored["response"]["size"], 7, "the size the result had");
    let notes: Vec<&Value> = stored["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["key"] == "notStored")
        .collect();
    assert_eq!(notes, [&json!({"key": "notStored", "value": ["result"]})]);
    let components: Vec<String> = stored["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        components.len(),
        3,
        "the composition keeps its component ids"
    );
    let statuses: Vec<u16> = components
        .iter()
        .map(|c| call("GET", &format!("activations/{c}"), None).status)
        .collect();
    // The first component's record went into debt; past twice the limit, the rest are not
    // stored.
    assert_eq!(statuses, [200, 404, 404]);
    let first = call("GET", &format!("activations/{}", components[0]), None).json();
    assert_eq!(first["response"]["result"], json!({}));
    shoal.stop();
}
