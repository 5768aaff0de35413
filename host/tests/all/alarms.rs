//! Alarm schedules across a restart of the real binary (spec §5.5): after a restart every
//! alarm keeps firing, ticks missed while shoal was down are not replayed in a burst, and no
//! tick is fired twice.

use std::collections::HashSet;
use std::thread::sleep;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{GUEST_AUTH, Shoal};

fn fires(shoal: &Shoal) -> Vec<i64> {
    let list = shoal
        .request(
            "GET",
            "/api/v1/namespaces/_/activations?name=t&limit=200&docs=true",
            None,
        )
        .json();
    list.as_array()
        .expect("a list")
        .iter()
        .map(|a| a["start"].as_i64().expect("start"))
        .collect()
}

#[test]
fn an_alarm_survives_a_restart_without_replaying_missed_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let put = |path: &str, body: Value| {
        let r = shoal.request("PUT", path, Some(&body));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    };
    put(
        "/api/v1/namespaces/_/actions/tick",
        json!({"exec": {"kind": "nodejs:default", "code": "function main(p) { return p; }"}}),
    );
    put("/api/v1/namespaces/_/triggers/t", json!({}));
    put(
        "/api/v1/namespaces/_/rules/r",
        json!({"trigger": "/_/t", "action": "/_/tick"}),
    );
    let created = shoal.request(
        "POST",
        "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true",
        Some(&json!({"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": GUEST_AUTH, "cron": "* * * * * *"})),
    );
    assert_eq!(created.status, 200, "{}", created.text());
    sleep(Duration::from_millis(2_500));
    assert!(shoal.stop().success());

    sleep(Duration::from_secs(3)); // about three ticks are missed while down
    let shoal = Shoal::serve(dir.path());
    let before = fires(&shoal).len();
    assert!(before >= 2, "fired {before} times before the restart");
    sleep(Duration::from_millis(600));
    let early = fires(&shoal).len();
    assert!(
        early <= before + 1,
        "missed ticks were replayed: {before} fires before the restart, {early} right after"
    );
    sleep(Duration::from_millis(2_500));
    let starts = fires(&shoal);
    assert!(
        starts.len() >= early + 2,
        "the alarm stopped firing after the restart: {} then {}",
        early,
        starts.len()
    );
    let seconds: HashSet<i64> = starts.iter().map(|s| s / 1000).collect();
    assert_eq!(
        seconds.len(),
        starts.len(),
        "a tick fired twice: {starts:?}"
    );
    assert!(shoal.stop().success());
}
