//! Third-party deployers against the real shoal binary (their npm packages are in
//! `host/tests/deployers`, installed by `npm ci --prefix host/tests/deployers --ignore-scripts`):
//! - the serverless framework with serverless-openwhisk deploying, invoking, listing and
//!   removing a service: Node.js functions as zips, a sequence, a trigger with a rule, a
//!   schedule and http events, whose routes are then called with plain HTTP;
//! - a wskdeploy manifest with an `apis:` section, deployed and undeployed by aio-lib-runtime
//!   (a JavaScript implementation of the wskdeploy manifest format).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{GUEST_AUTH, Shoal, request, run_with_timeout};

/// How long one deployer command may take (each starts a large Node.js program).
const COMMAND_LIMIT: Duration = Duration::from_secs(180);
/// How long an activation started by a trigger may take to be listed.
const EVENTUALLY: Duration = Duration::from_secs(60);

/// The deployers' directory, after checking their npm packages are installed.
fn tools_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("deployers");
    assert!(
        dir.join("node_modules")
            .join("serverless-openwhisk")
            .is_dir(),
        "host/tests/deployers/node_modules is missing: run \
         `npm ci --prefix host/tests/deployers --ignore-scripts` first"
    );
    dir
}

/// Runs `program ARGS…` in `dir` with OpenWhisk's environment pointing at `shoal`; returns
/// its output, or panics with it when the command fails.
fn run_tool(shoal: &Shoal, home: &Path, dir: &Path, program: &Path, args: &[&str]) -> String {
    let out = run_with_timeout(
        std::process::Command::new(program)
            .args(args)
            .current_dir(dir)
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
        "{} {args:?} failed ({}):\n{text}",
        program.display(),
        out.status
    );
    text
}

/// Runs `serverless ARGS…` in the service directory against `shoal`.
fn serverless(shoal: &Shoal, home: &Path, args: &[&str]) -> String {
    let dir = tools_dir();
    let program = dir.join("node_modules").join(".bin").join("serverless");
    run_tool(shoal, home, &dir.join("serverless"), &program, args)
}

fn get(shoal: &Shoal, path: &str) -> crate::support::Response {
    request(&shoal.addr, "GET", path, Some(GUEST_AUTH), None)
}

#[test]
fn a_serverless_service_deploys_runs_and_is_removed() {
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

#[test]
fn a_wskdeploy_manifest_with_apis_deploys_and_undeploys() {
    let dir = tools_dir().join("manifest");
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(data.path());
    let node = Path::new("node");
    let tenant = GUEST_AUTH.split(':').next().unwrap();

    let out = run_tool(&shoal, home.path(), &dir, node, &["deploy.cjs", "deploy"]);
    assert!(out.contains("deploy done"), "{out}");
    let api = get(
        &shoal,
        "/api/v1/web/whisk.system/apimgmt/getApi?basepath=hello-api",
    );
    let apis = api.json()["apis"].clone();
    assert_eq!(
        apis.as_array().map(Vec::len),
        Some(1),
        "found by its name: {}",
        api.text()
    );
    assert_eq!(apis[0]["value"]["apidoc"]["basePath"], "/demo");

    let greet = format!("/api/{tenant}/demo/greet?name=manifest");
    let r = request(&shoal.addr, "GET", &greet, None, None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"greeting": "Hello, manifest!"}));
    let r = request(
        &shoal.addr,
        "GET",
        &format!("/api/{tenant}/demo/greet/ann"),
        None,
        None,
    );
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, ann!"));

    let out = run_tool(&shoal, home.path(), &dir, node, &["deploy.cjs", "undeploy"]);
    assert!(out.contains("undeploy done"), "{out}");
    let r = request(&shoal.addr, "GET", &greet, None, None);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        get(&shoal, "/api/v1/namespaces/_/actions/demo/hello").status,
        404
    );
}
