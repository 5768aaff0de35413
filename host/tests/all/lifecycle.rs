//! Process-level behaviour of `shoal serve`: configuration from the environment, graceful shutdown
//! on SIGTERM/SIGINT without losing acknowledged activations, and refusing to expose the
//! well-known guest key on a public address, and keys rotated while it runs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{GUEST_AUTH, Shoal, request, run_with_timeout, shoal_command};

#[test]
fn serves_from_environment_configuration_and_stops_on_sigint() {
    let data = tempfile::tempdir().expect("temp data dir");
    let mut cmd = shoal_command();
    cmd.arg("serve")
        .env("SHOAL_LISTEN", "127.0.0.1:0")
        .env("SHOAL_DATA_DIR", data.path());
    let shoal = Shoal::start(cmd);

    let ping = request(&shoal.addr, "GET", "/ping", None, None);
    assert_eq!(ping.status, 200);
    assert_eq!(ping.text(), "pong");
    let namespaces = shoal.request("GET", "/api/v1/namespaces", None);
    assert_eq!(namespaces.status, 200, "{}", namespaces.text());
    assert_eq!(namespaces.json(), json!(["guest"]));

    let exit = shoal.stop_with(libc::SIGINT);
    assert!(
        exit.success(),
        "shoal did not exit cleanly on SIGINT: {exit}"
    );
    assert!(
        std::fs::read_dir(data.path())
            .expect("data dir")
            .next()
            .is_some(),
        "SHOAL_DATA_DIR was not used"
    );
}

#[test]
fn graceful_shutdown_keeps_every_acknowledged_activation() {
    let data = tempfile::tempdir().expect("temp data dir");
    let shoal = Shoal::serve(data.path());

    // a little asynchronous work, so some activations are still running when SIGTERM arrives
    let code = "function main(p) { return new Promise(r => setTimeout(() => r({ i: p.i }), 20)) }";
    let created = shoal.request(
        "PUT",
        "/api/v1/namespaces/_/actions/durable",
        Some(&json!({ "exec": { "kind": "nodejs:default", "code": code } })),
    );
    assert_eq!(created.status, 200, "{}", created.text());

    let acknowledged: Vec<(i64, String)> = (0..8)
        .map(|i| {
            let res = shoal.request(
                "POST",
                "/api/v1/namespaces/_/actions/durable",
                Some(&json!({ "i": i })),
            );
            assert_eq!(res.status, 202, "{}", res.text());
            let id = res.json()["activationId"]
                .as_str()
                .expect("activationId")
                .to_owned();
            (i, id)
        })
        .collect();

    let exit = shoal.stop();
    assert!(
        exit.success(),
        "shoal did not exit cleanly on SIGTERM: {exit}"
    );

    let shoal = Shoal::serve(data.path());
    for (i, id) in &acknowledged {
        let res = shoal.request(
            "GET",
            &format!("/api/v1/namespaces/_/activations/{id}"),
            None,
        );
        assert_eq!(
            res.status,
            200,
            "acknowledged activation {id} lost: {}",
            res.text()
        );
        let activation = res.json();
        assert_eq!(activation["activationId"], Value::from(id.as_str()));
        assert_eq!(activation["name"], "durable");
        assert_eq!(activation["response"]["status"], "success", "{activation}");
        assert_eq!(activation["response"]["result"], json!({ "i": i }));
    }
    let listed = shoal.request(
        "GET",
        "/api/v1/namespaces/_/activations?name=durable&limit=0",
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(
        listed.json().as_array().map(Vec::len),
        Some(acknowledged.len()),
        "{}",
        listed.text()
    );
    let exit = shoal.stop();
    assert!(
        exit.success(),
        "shoal did not exit cleanly on SIGTERM: {exit}"
    );
}

#[test]
fn refuses_a_public_address_with_the_well_known_guest_key() {
    let data = tempfile::tempdir().expect("temp data dir");
    let out = run_with_timeout(
        shoal_command()
            .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
            .arg(data.path()),
        Duration::from_secs(20),
    );
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "shoal must refuse 0.0.0.0 with the well-known guest key\n{output}"
    );
    assert!(!output.contains("listening on"), "{output}");
    assert!(
        output.to_ascii_lowercase().contains("key") && output.contains("shoal namespace"),
        "the error should say how to set keys (a `shoal namespace …` command): {output}"
    );
}

#[test]
fn a_key_rotated_while_shoal_runs_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let ping = |auth: &str| {
        request(
            &shoal.addr,
            "GET",
            "/api/v1/namespaces/_/limits",
            Some(auth),
            None,
        )
        .status
    };
    assert_eq!(ping(GUEST_AUTH), 200);
    let out = run_with_timeout(
        shoal_command()
            .args(["namespace", "rotate-key", "guest", "--data-dir"])
            .arg(dir.path()),
        Duration::from_secs(20),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(ping(&rotated), 200, "the new key works at once");
    let started = Instant::now();
    while ping(GUEST_AUTH) != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the old key still works"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    shoal.stop();
}
