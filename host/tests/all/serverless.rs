//! The serverless framework with serverless-openwhisk (`host/tests/serverless`, installed by
//! `npm ci --prefix host/tests/serverless`) deploying, invoking, listing and removing a service
//! on the real shoal binary: Node.js functions as zips, a sequence, a trigger with a rule, a
//! schedule and http events, whose routes are then called with plain HTTP.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{GUEST_AUTH, Shoal, request, run_with_timeout};

/// How long one serverless command may take (it starts a large Node.js program).
const COMMAND_LIMIT: Duration = Duration::from_secs(180);
/// How long an activation started by a trigger may take to be listed.
const EVENTUALLY: Duration = Duration::from_secs(60);

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("serverless")
}

/// Runs `serverless ARGS…` in the service directory against `shoal`; returns its output, or
/// panics with it when the command fails.
fn serverless(shoal: &Shoal, home: &Path, args: &[&str]) -> String {
    let dir = tools_dir();
    let out = run_with_timeout(
        std::process::Command::new(dir.join("node_modules").join(".bin").join("serverless"))
            .args(args)
            .current_dir(dir.join("service"))
            .env("OW_APIHOST", shoal.url())
            .env("OW_AUTH", GUEST_AUTH)
            .env_remove("OW_NAMESPACE")
            .env_remove("OW_APIGW_ACCESS_TOKEN")
            .env("HOME", home)
            .env("SLS_TELEMETRY_DISABLED", "1")
            .env("SLS_NOTIFICATIONS_MODE", "off")
            .env("SLS_DEPRECATION_DISABLE", "*")
            .env("CI", "1")
            .env_remove("NODE_OPTIONS"),
        COMMAND_LIMIT,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "serverless {args:?} failed ({}):\n{text}",
        out.status
    );
    text
}

fn get(shoal: &Shoal, path: &str) -> crate::support::Response {
    request(&shoal.addr, "GET", path, Some(GUEST_AUTH), None)
}

#[test]
fn a_serverless_service_deploys_runs_and_is_removed() {
    let tools = tools_dir();
    assert!(
        tools
            .join("node_modules")
            .join("serverless-openwhisk")
            .is_dir(),
        "host/tests/serverless/node_modules is missing: run \
         `npm ci --prefix host/tests/serverless --ignore-scripts` first"
    );
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(data.path());
    let tenant = GUEST_AUTH.split(':').next().unwrap();
    let route = |rest: &str| format!("/api/{tenant}/shoal{rest}");

    let deployed = serverless(&shoal, home.path(), &["deploy"]);
    assert!(deployed.contains("Deployment successful"), "{deployed}");

    // Zipped Node.js functions with a local module, and the sequence over two of them.
    let out = serverless(
        &shoal,
        home.path(),
        &["invoke", "-f", "loud", "-d", r#"{"name":"seq"}"#],
    );
    assert!(out.contains("HELLO, SEQ!"), "{out}");

    // `serverless info` lists the routes through getApi.
    let info = serverless(&shoal, home.path(), &["info"]);
    let url = format!("{}{}", shoal.url(), route("/hello"));
    assert!(
        info.contains(&format!("GET {url} --> shoal-sls-dev-greet")),
        "{info}"
    );

    // The http events, called as any HTTP client would.
    let r = request(
        &shoal.addr,
        "GET",
        &format!("{}?name=sls", route("/hello")),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["greeting"], "Hello, sls!");
    let r = request(&shoal.addr, "GET", &route("/hello/bob"), None, None);
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, bob!"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    // The gateway supplied the action's `require-whisk-auth` secret; without it the web
    // action itself refuses.
    let direct = "/api/v1/web/guest/default/shoal-sls-dev-greet.json?name=x";
    assert_eq!(request(&shoal.addr, "GET", direct, None, None).status, 401);

    // The trigger's rule runs `greet` with the fired event.
    let r = request(
        &shoal.addr,
        "POST",
        "/api/v1/namespaces/_/triggers/greeted",
        Some(GUEST_AUTH),
        Some(&json!({"name": "rule"})),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        let list = get(
            &shoal,
            "/api/v1/namespaces/_/activations?name=shoal-sls-dev-greet&docs=true",
        );
        let fired = list
            .json()
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["response"]["result"] == json!({"greeting": "Hello, rule!"}));
        if fired {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rule never ran greet: {}",
            list.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The schedule is an alarm-fed trigger with its rule.
    let trigger = get(
        &shoal,
        "/api/v1/namespaces/_/triggers/shoal-sls_tick_schedule_trigger",
    );
    assert_eq!(trigger.status, 200, "{}", trigger.text());
    let feed = trigger.json()["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == "feed")
        .map(|a| a["value"].clone());
    assert_eq!(feed, Some(Value::from("/whisk.system/alarms/alarm")));
    let rule = get(
        &shoal,
        "/api/v1/namespaces/_/rules/shoal-sls_tick_schedule_rule",
    );
    assert_eq!(rule.json()["status"], "active", "{}", rule.text());

    let removed = serverless(&shoal, home.path(), &["remove"]);
    assert!(removed.contains("Resource removal successful"), "{removed}");
    let r = request(&shoal.addr, "GET", &route("/hello"), None, None);
    assert_eq!(
        r.status,
        404,
        "the routes went with the service: {}",
        r.text()
    );
    assert_eq!(
        get(&shoal, "/api/v1/namespaces/_/actions/shoal-sls-dev-greet").status,
        404
    );
    assert_eq!(
        get(&shoal, "/api/v1/namespaces/_/triggers/greeted").status,
        404
    );
}
