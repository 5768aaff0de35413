//! Container actions placed on two real Docker engines of different architectures, through
//! the real binary: images for one architecture, a multi-architecture manifest list from a
//! registry on loopback, OpenWhisk's `invoker-resources` tags with and without the strict
//! policy, home hosts and spill-over, an engine stopped and one killed mid-activation, and
//! `GET /api/v1/nodes`.
//!
//! `.ci/test` starts the engines and the registry (`container-fallback/images/engine.sh`,
//! `multiarch.sh`) and names them in `SHOAL_TEST_DOCKER_HOST` (engine A, this machine's
//! amd64), `SHOAL_TEST_DOCKER_HOST_B` and its dir, bridge, subnet and TLS address, and
//! `SHOAL_TEST_REGISTRY`. Both engines run on this one x86-64 kernel, so engine B is
//! declared `arm64` in shoal's config (`architecture = "arm64"`); it pulls and starts arm64
//! images, which really run as arm64 code under qemu-user through binfmt_misc: the probe
//! image answers with `uname -m`, `aarch64` there and `x86_64` on engine A.
//!
//! The tests that stop or kill engine B hold [`ENGINE_B`], so none of them sees another's
//! outage.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::thread;

use serde_json::{Value, json};

use crate::containers::{activation, blackbox, create, error_text, invoke, wait_until};
use crate::support::{Shoal, get_with_authorization};

/// Held by every test that uses engine B.
static ENGINE_B: Mutex<()> = Mutex::new(());

/// Engine B to oneself: taken before a test uses it, and started again when the test ends,
/// whether it passed or not, so that a test that failed with the engine stopped leaves it
/// running for the next.
struct EngineB {
    _held: MutexGuard<'static, ()>,
}

impl EngineB {
    fn take() -> Self {
        let _held = ENGINE_B.lock().unwrap_or_else(|e| e.into_inner());
        EngineB { _held }
    }
}

impl Drop for EngineB {
    fn drop(&mut self) {
        // No panic here: it may run while a failed test unwinds.
        if let Err(e) = engine_b_try("start") {
            eprintln!("engine B did not start again: {e}");
        }
    }
}

/// The admin token of the test servers' `[admin]`.
const TOKEN: &str = "ops-secret";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("the host tests need {name}: bash .ci/test starts both engines and the registry")
    })
}

/// The probe image of `tag` (`amd64`, `arm64`, `multi`) in the test registry.
fn probe(tag: &str) -> String {
    format!("{}/shoal-test/arch-probe:{tag}", env("SHOAL_TEST_REGISTRY"))
}

/// `engine.sh <verb>` for engine B.
fn engine_b(verb: &str) {
    engine_b_try(verb).unwrap_or_else(|e| panic!("{e}"));
}

/// [`engine_b`], with what went wrong instead of a panic.
fn engine_b_try(verb: &str) -> Result<(), String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../container-fallback/images/engine.sh"
    );
    let var = |name| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let out = Command::new("bash")
        .arg(script)
        .arg(verb)
        .env("SHOAL_DOCKER_DIR", var("SHOAL_TEST_DOCKER_DIR_B")?)
        .env("SHOAL_DOCKER_BRIDGE", var("SHOAL_TEST_DOCKER_BRIDGE_B")?)
        .env("SHOAL_DOCKER_BIP", var("SHOAL_TEST_DOCKER_BIP_B")?)
        .env("SHOAL_DOCKER_TCP", var("SHOAL_TEST_DOCKER_TCP_B")?)
        .output()
        .map_err(|e| format!("running engine.sh: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "engine.sh {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The `[containers]` of a shoal on engine A as `x86` (when `x86`) and engine B as `arm`
/// (when `arm`, with `arm_extra_mb` more capacity); see [`serve`].
fn hosts_config(capacity_mb: u64, placement: &str, x86: bool, arm: bool) -> String {
    hosts_config_with(capacity_mb, 0, placement, x86, arm)
}

fn hosts_config_with(
    capacity_mb: u64,
    arm_extra_mb: u64,
    placement: &str,
    x86: bool,
    arm: bool,
) -> String {
    let tls = format!("{}/tls", env("SHOAL_TEST_DOCKER_DIR_B"));
    let mut config = format!(
        "[admin]\ntoken = \"{TOKEN}\"\n\
         [containers]\napi_host = \"http://shoal.test\"\nplacement = \"{placement}\"\n"
    );
    if x86 {
        config += &format!(
            "[[containers.hosts]]\nname = \"x86\"\ndocker_host = \"{}\"\ncapacity_mb = {capacity_mb}\n",
            env("SHOAL_TEST_DOCKER_HOST")
        );
    }
    if arm {
        config += &format!(
            "[[containers.hosts]]\nname = \"arm\"\ndocker_host = \"tcp://{}\"\ncapacity_mb = {}\n\
             tags = [\"gpu\"]\narchitecture = \"arm64\"\naddress = \"127.0.0.1\"\n\
             tls = {{ ca = \"{tls}/ca.pem\", cert = \"{tls}/cert.pem\", key = \"{tls}/key.pem\" }}\n",
            env("SHOAL_TEST_DOCKER_TCP_B"),
            capacity_mb + arm_extra_mb
        );
    }
    config
}

/// A shoal on both engines: `x86` (engine A on its Unix socket, as the engine reports it)
/// and `arm` (engine B over TCP with TLS as a remote engine is reached, declared arm64,
/// tagged `gpu`, its containers reached through ports they publish on 127.0.0.1), each with
/// room for `capacity_mb`.
fn serve(dir: &std::path::Path, capacity_mb: u64, placement: &str) -> Shoal {
    Shoal::serve_with(dir, &hosts_config(capacity_mb, placement, true, true))
}

/// `GET /api/v1/nodes` as the operator: the hosts by name.
fn nodes(shoal: &Shoal) -> Vec<Value> {
    let r = get_with_authorization(&shoal.addr, "/api/v1/nodes", &format!("Bearer {TOKEN}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["hosts"].as_array().cloned().unwrap_or_default()
}

fn node(shoal: &Shoal, name: &str) -> Value {
    nodes(shoal)
        .into_iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

/// The architecture the action's container reported (`uname -m`), or the failure.
fn ran_on(shoal: &Shoal, action: &str, params: Value) -> Result<String, String> {
    let (status, record) = invoke(shoal, action, params);
    // Past a blocking invoke's 60 s wait (a slow first pull), the record comes later.
    let record = match (status, record["activationId"].as_str()) {
        (202, Some(id)) => activation(shoal, id),
        _ => record,
    };
    match record["response"]["result"]["arch"].as_str() {
        Some(arch) => Ok(arch.to_string()),
        None => Err(format!(
            "{}: {}",
            record["response"]["status"],
            error_text(&record)
        )),
    }
}

/// A blackbox action of `image`, with `annotations`.
fn action(shoal: &Shoal, name: &str, image: &str, annotations: Value) {
    let mut body = blackbox(image);
    body["annotations"] = annotations;
    body["limits"] = json!({"timeout": 180_000, "memory": 256});
    create(shoal, name, body);
}

fn up(shoal: &Shoal, name: &str, want: bool) {
    wait_until(&format!("host {name} up = {want}"), || {
        nodes(shoal)
            .iter()
            .any(|h| h["name"] == name && h["up"] == want)
    });
}

#[test]
fn nodes_lists_the_hosts_to_the_operator_only() {
    let _b = EngineB::take();
    let dir = tempfile::tempdir().unwrap();
    let config = hosts_config_with(512, 512, "home", true, true);
    let shoal = Shoal::serve_with(dir.path(), &config);
    let anonymous = crate::support::request(&shoal.addr, "GET", "/api/v1/nodes", None, None);
    assert_eq!(anonymous.status, 401);
    let wrong = get_with_authorization(&shoal.addr, "/api/v1/nodes", "Bearer nope");
    assert_eq!(wrong.status, 401);
    up(&shoal, "arm", true);
    let hosts = nodes(&shoal);
    assert_eq!(hosts.len(), 2);
    let (x86, arm) = (&hosts[0], &hosts[1]);
    assert_eq!(
        (&x86["name"], &x86["architecture"]),
        (&json!("x86"), &json!("amd64"))
    );
    assert_eq!(
        (&arm["name"], &arm["architecture"]),
        (&json!("arm"), &json!("arm64"))
    );
    assert_eq!(arm["tags"], json!(["gpu"]));
    assert_eq!(
        (&x86["capacityMB"], &arm["capacityMB"]),
        (&json!(512), &json!(1024))
    );
    assert_eq!(x86["os"], "linux");
    assert!(x86["cpus"].as_u64().unwrap() >= 1);
    assert!(x86["memory"].as_u64().unwrap() > 0);
    assert_eq!(x86["up"], true);
    assert_eq!(
        x86["containers"],
        json!({"busy": 0, "warm": 0, "paused": 0, "prewarm": 0})
    );
    let scrape = crate::support::request(&shoal.addr, "GET", "/metrics", None, None).text();
    assert!(
        scrape.contains("shoal_container_host_up{host=\"arm\",architecture=\"arm64\"} 1"),
        "{scrape}"
    );
    shoal.stop();

    // Without a token the operator's routes are off.
    let dir = tempfile::tempdir().unwrap();
    let plain = Shoal::serve(dir.path());
    let r = get_with_authorization(&plain.addr, "/api/v1/nodes", &format!("Bearer {TOKEN}"));
    assert_eq!(r.status, 403);
    assert!(r.text().contains("[admin] token"), "{}", r.text());
}

#[test]
fn images_and_tags_choose_the_host_and_a_stopped_engine_is_named_in_the_error() {
    let _b = EngineB::take();
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), 1024, "home");
    up(&shoal, "arm", true);
    action(&shoal, "arm-only", &probe("arm64"), json!([]));
    action(&shoal, "x86-only", &probe("amd64"), json!([]));
    action(&shoal, "multi", &probe("multi"), json!([]));
    action(
        &shoal,
        "gpu",
        &probe("multi"),
        json!([{"key": "invoker-resources", "value": ["gpu"]}]),
    );
    action(
        &shoal,
        "gpu-lax",
        &probe("multi"),
        json!([
            {"key": "invoker-resources", "value": ["gpu"]},
            {"key": "invoker-resources-strict-policy", "value": "false"}
        ]),
    );
    for _ in 0..3 {
        assert_eq!(ran_on(&shoal, "arm-only", json!({})), Ok("aarch64".into()));
        assert_eq!(ran_on(&shoal, "x86-only", json!({})), Ok("x86_64".into()));
        assert_eq!(ran_on(&shoal, "gpu", json!({})), Ok("aarch64".into()));
        assert_eq!(ran_on(&shoal, "gpu-lax", json!({})), Ok("aarch64".into()));
    }
    let multi = ran_on(&shoal, "multi", json!({})).unwrap();
    assert!(multi == "aarch64" || multi == "x86_64", "{multi}");

    engine_b("stop");
    up(&shoal, "arm", false);
    let stopped = format!(
        "\"whisk internal error\": Failed to provision resources to run the action. No container host that is up runs an architecture the image '{}' is built for (arm64).",
        probe("arm64")
    );
    assert_eq!(ran_on(&shoal, "arm-only", json!({})), Err(stopped));
    assert_eq!(
        ran_on(&shoal, "gpu", json!({})),
        Err("\"whisk internal error\": Failed to provision resources to run the action. No container host that is up carries the tags the action requires (gpu).".into())
    );
    assert_eq!(
        ran_on(&shoal, "gpu-lax", json!({})),
        Ok("x86_64".into()),
        "lax falls back"
    );
    assert_eq!(ran_on(&shoal, "x86-only", json!({})), Ok("x86_64".into()));
    assert_eq!(ran_on(&shoal, "multi", json!({})), Ok("x86_64".into()));

    engine_b("start");
    up(&shoal, "arm", true);
    assert_eq!(
        ran_on(&shoal, "arm-only", json!({})),
        Ok("aarch64".into()),
        "used again"
    );
    assert_eq!(ran_on(&shoal, "gpu", json!({})), Ok("aarch64".into()));
    shoal.stop();
}

#[test]
fn an_action_keeps_its_home_host_while_it_has_room_and_spills_over_when_full() {
    let _b = EngineB::take();
    let dir = tempfile::tempdir().unwrap();
    // Room for one 256 MB container per host.
    let shoal = serve(dir.path(), 256, "home");
    up(&shoal, "arm", true);
    action(&shoal, "roomy", &probe("multi"), json!([]));
    let home = ran_on(&shoal, "roomy", json!({})).unwrap();
    for _ in 0..4 {
        assert_eq!(
            ran_on(&shoal, "roomy", json!({})).as_ref(),
            Ok(&home),
            "stays home"
        );
    }
    let home_host = if home == "aarch64" { "arm" } else { "x86" };
    let kept = &node(&shoal, home_host)["containers"];
    let kept = kept["warm"].as_u64().unwrap() + kept["paused"].as_u64().unwrap();
    assert_eq!(kept, 1, "reused warm");
    // A long activation holds the home host's only room: the next one spills over.
    let long = shoal.request(
        "POST",
        "/api/v1/namespaces/_/actions/roomy",
        Some(&json!({"sleep": 120})),
    );
    assert_eq!(long.status, 202, "{}", long.text());
    wait_until("the long activation holds its home", || {
        node(&shoal, home_host)["containers"]["busy"] == 1
    });
    let other = ran_on(&shoal, "roomy", json!({})).unwrap();
    assert_ne!(other, home, "spilled over");
    // A graceful stop would wait for the long activation: kill shoal and remove its
    // containers from both engines instead.
    drop(shoal);
    let owner = std::fs::canonicalize(dir.path()).unwrap();
    for engine in [
        env("SHOAL_TEST_DOCKER_HOST"),
        env("SHOAL_TEST_DOCKER_HOST_B"),
    ] {
        let filter = format!("label=shoal.owner={}", owner.display());
        let listed = Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .env("DOCKER_HOST", &engine)
            .output()
            .expect("docker ps");
        let ids = String::from_utf8_lossy(&listed.stdout).into_owned();
        for id in ids.split_whitespace() {
            let _ = Command::new("docker")
                .args(["rm", "-f", id])
                .env("DOCKER_HOST", &engine)
                .output();
        }
    }
}

#[test]
fn an_engine_killed_mid_activation_fails_it_and_the_next_one_runs_elsewhere() {
    let _b = EngineB::take();
    let dir = tempfile::tempdir().unwrap();
    let shoal = serve(dir.path(), 1024, "least-loaded");
    up(&shoal, "arm", true);
    action(
        &shoal,
        "long",
        &probe("multi"),
        json!([
            {"key": "invoker-resources", "value": ["gpu"]},
            {"key": "invoker-resources-strict-policy", "value": false}
        ]),
    );
    let addr = shoal.addr.clone();
    let running = thread::spawn(move || {
        let r = crate::support::request(
            &addr,
            "POST",
            "/api/v1/namespaces/_/actions/long?blocking=true",
            Some(crate::support::GUEST_AUTH),
            Some(&json!({"sleep": 150})),
        );
        r.json()
    });
    wait_until("the long activation runs on engine B", || {
        node(&shoal, "arm")["containers"]["busy"] == 1
    });
    engine_b("kill");
    let record = running.join().unwrap();
    let record = match record["activationId"].as_str() {
        Some(id) if record.get("response").is_none() => activation(&shoal, id),
        _ => record,
    };
    assert_eq!(
        record["response"]["status"], "whisk internal error",
        "{record}"
    );
    assert_eq!(
        error_text(&record),
        "The container host 'arm' stopped answering during the activation."
    );
    assert_eq!(node(&shoal, "arm")["up"], false);
    assert_eq!(
        ran_on(&shoal, "long", json!({})),
        Ok("x86_64".into()),
        "elsewhere"
    );
    shoal.stop();
}

#[test]
fn hosts_are_added_and_removed_by_a_reload_without_a_restart() {
    let _b = EngineB::take();
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(dir.path(), &hosts_config(512, "home", true, false));
    action(&shoal, "arm-only", &probe("arm64"), json!([]));
    action(&shoal, "x86-only", &probe("amd64"), json!([]));
    assert!(
        ran_on(&shoal, "arm-only", json!({})).is_err(),
        "no arm64 host yet"
    );
    assert_eq!(ran_on(&shoal, "x86-only", json!({})), Ok("x86_64".into()));

    // The file the server was started with, rewritten: engine B added, then A removed.
    let file = dir.path().join("test-config.toml");
    let reload = |x86: bool, arm: bool| {
        let config = hosts_config(512, "home", x86, arm);
        std::fs::write(&file, format!("{}{config}", crate::support::RAISED_LIMITS)).unwrap();
        shoal.signal(libc::SIGHUP);
    };
    reload(true, true);
    up(&shoal, "arm", true);
    assert_eq!(ran_on(&shoal, "arm-only", json!({})), Ok("aarch64".into()));
    assert_eq!(
        ran_on(&shoal, "x86-only", json!({})),
        Ok("x86_64".into()),
        "x86 kept"
    );
    reload(false, true);
    wait_until("x86 is gone", || nodes(&shoal).len() == 1);
    // The one host left is arm64: its engine refuses the amd64 image.
    let refused = ran_on(&shoal, "x86-only", json!({})).unwrap_err();
    assert!(refused.contains(&probe("amd64")), "{refused}");
    // A file that does not validate changes nothing.
    std::fs::write(&file, "[containers]\nplacement = \"random\"\n").unwrap();
    shoal.signal(libc::SIGHUP);
    wait_until("the reload is refused", || {
        let log = shoal.stderr.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().any(|l| {
            l.contains("container hosts not reloaded") && l.contains("containers.placement")
        })
    });
    assert_eq!(ran_on(&shoal, "arm-only", json!({})), Ok("aarch64".into()));
    assert_eq!(nodes(&shoal).len(), 1);
    shoal.stop();
}
