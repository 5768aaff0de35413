//! Several shoal processes (nodes) on one PostgreSQL database (a private server each test
//! starts): what one node writes, another serves — actions, namespaces, activation records —
//! a changed action is served in its new form by every node, alarms and throttles hold for
//! the cluster, PostgreSQL going away is a 503 that heals, a killed node's acknowledged
//! activations are ended by another, and `deploy/cluster.sh` runs it all behind HAProxy.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shoal_store::pg_server::PgServer;

use crate::support::{GUEST_AUTH, Shoal, request, run_with_timeout, shoal_command};

/// Two nodes on one fresh database, each with its own data directory.
struct Cluster {
    server: PgServer,
    dirs: tempfile::TempDir,
    nodes: Vec<Shoal>,
}

impl Cluster {
    fn start(n: usize) -> Cluster {
        let server = PgServer::start();
        server.create_database("shoal");
        let url = server.url("shoal");
        let dirs = tempfile::tempdir().unwrap();
        let nodes = (0..n)
            .map(|i| {
                let dir = dirs.path().join(format!("node{i}"));
                Shoal::serve_with_args(&dir, "", &["--store", &url])
            })
            .collect();
        Cluster {
            server,
            dirs,
            nodes,
        }
    }
}

/// The action document of a JS action answering `{"says": word}`.
fn says(word: &str) -> Value {
    let code = format!("function main() {{ return {{ says: {word:?} }} }}");
    json!({"exec": {"kind": "nodejs:20", "code": code}})
}

/// Invokes `name` blocking on `node` and returns what it says.
fn invoke(node: &Shoal, name: &str) -> (String, String) {
    let res = node.request(
        "POST",
        &format!("/api/v1/namespaces/_/actions/{name}?blocking=true"),
        Some(&json!({})),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let record = res.json();
    let id = record["activationId"].as_str().unwrap().to_string();
    let said = record["response"]["result"]["says"]
        .as_str()
        .unwrap()
        .to_string();
    (id, said)
}

#[test]
fn nodes_on_one_database_serve_each_others_writes() {
    let cluster = Cluster::start(2);
    let [a, b] = [&cluster.nodes[0], &cluster.nodes[1]];
    let put = a.request(
        "PUT",
        "/api/v1/namespaces/_/actions/shared",
        Some(&says("one")),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    // Created on a, invoked on b; its record is read back on a.
    let (id, said) = invoke(b, "shared");
    assert_eq!(said, "one");
    let record = a.request(
        "GET",
        &format!("/api/v1/namespaces/_/activations/{id}"),
        None,
    );
    assert_eq!(record.status, 200, "{}", record.text());
    assert_eq!(record.json()["response"]["result"], json!({"says": "one"}));
    // a caches the action by invoking it; b changes it; a serves the new code once the
    // change reaches it (a bound on a hang, not a timing expectation).
    assert_eq!(invoke(a, "shared").1, "one");
    let update = b.request(
        "PUT",
        "/api/v1/namespaces/_/actions/shared?overwrite=true",
        Some(&says("two")),
    );
    assert_eq!(update.status, 200, "{}", update.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    while invoke(a, "shared").1 != "two" {
        assert!(
            Instant::now() < deadline,
            "node a never served the changed action"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_namespace_created_or_rotated_against_the_database_reaches_every_node() {
    let cluster = Cluster::start(2);
    let out = run_with_timeout(
        shoal_command()
            .args(["namespace", "create", "team", "--store"])
            .arg(cluster.server.url("shoal")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let auth = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for node in &cluster.nodes {
        let res = request(&node.addr, "GET", "/api/v1/namespaces", Some(&auth), None);
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.json(), json!(["team"]));
        let guest = request(
            &node.addr,
            "GET",
            "/api/v1/namespaces",
            Some(GUEST_AUTH),
            None,
        );
        assert_eq!(guest.json(), json!(["guest"]));
    }
    // A key rotated in the database reaches every node, which had the old one cached: the
    // change stream drops it (waited for up to a minute, a bound on a hang).
    let out = run_with_timeout(
        shoal_command()
            .args(["namespace", "rotate-key", "team", "--store"])
            .arg(cluster.server.url("shoal")),
        Duration::from_secs(60),
    );
    assert!(out.status.success());
    let rotated = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(rotated, auth);
    let deadline = Instant::now() + Duration::from_secs(60);
    for node in &cluster.nodes {
        let status =
            |key: &str| request(&node.addr, "GET", "/api/v1/namespaces", Some(key), None).status;
        while (status(&auth), status(&rotated)) != (401, 200) {
            assert!(
                Instant::now() < deadline,
                "node {} kept the old key",
                node.addr
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_node_answers_503_while_postgres_is_down_and_recovers_by_itself() {
    let cluster = Cluster::start(1);
    let node = &cluster.nodes[0];
    let put = node.request(
        "PUT",
        "/api/v1/namespaces/_/actions/steady",
        Some(&says("up")),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(invoke(node, "steady").1, "up");
    cluster.server.stop();
    let down = node.request("GET", "/api/v1/namespaces/_/actions/steady", None);
    assert_eq!(down.status, 503, "{}", down.text());
    let error = down.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("PostgreSQL"), "{error}");
    cluster.server.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = node.request("GET", "/api/v1/namespaces/_/actions/steady", None);
        if up.status == 200 {
            break;
        }
        assert_eq!(up.status, 503, "{}", up.text());
        assert!(Instant::now() < deadline, "the node never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    while node.request("GET", "/health", None).status != 200 {
        assert!(
            Instant::now() < deadline,
            "the node never reported the store up again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (id, said) = invoke(node, "steady");
    assert_eq!(said, "up");
    let record = node.request(
        "GET",
        &format!("/api/v1/namespaces/_/activations/{id}"),
        None,
    );
    assert_eq!(record.status, 200, "{}", record.text());
}

/// How long PostgreSQL stays stopped under load in the outage test.
const OUTAGE: Duration = Duration::from_secs(10);

#[test]
fn postgres_stopped_for_10_s_under_load_loses_no_acknowledged_activation() {
    let cluster = Cluster::start(2);
    crate::durability::deploy(&cluster.nodes[0]);
    let addrs: Vec<String> = cluster.nodes.iter().map(|n| n.addr.clone()).collect();
    let healthy = |addrs: &[String]| {
        addrs.iter().all(|addr| {
            crate::support::try_request(addr, "GET", "/health", None, None)
                .is_ok_and(|h| h.status == 200)
        })
    };
    // Load on both nodes: some acknowledged before the outage, PostgreSQL stopped for 10 s,
    // then restarted, and the load goes on until both nodes are healthy again and more
    // activations were acknowledged after it.
    let (mut stopped, mut restarted) = (None::<Instant>, None::<usize>);
    let (acked, statuses) = crate::durability::load(&addrs, |n| match (stopped, restarted) {
        (None, _) => {
            if n >= 30 {
                cluster.server.stop();
                stopped = Some(Instant::now());
            }
            false
        }
        (Some(at), None) => {
            if at.elapsed() >= OUTAGE {
                cluster.server.restart();
                restarted = Some(n);
            }
            false
        }
        (Some(_), Some(before)) => n >= before + 30 && healthy(&addrs),
    });
    assert!(statuses.contains(&503), "the outage was never seen");
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 202 | 503)),
        "{statuses:?}"
    );
    for node in &cluster.nodes {
        crate::durability::assert_kept(node, &acked);
    }
}

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_activation() {
    let mut cluster = Cluster::start(2);
    crate::durability::deploy(&cluster.nodes[0]);
    let addrs: Vec<String> = cluster.nodes.iter().map(|n| n.addr.clone()).collect();
    let victim = cluster.nodes.remove(0);
    let mut victim = Some(victim);
    // Load on both nodes; node a is SIGKILLed once 40 activations were acknowledged, and the
    // load goes on (on b, and refused connections on a) until 40 more were.
    let (acked, _) = crate::durability::load(&addrs, |n| {
        if n >= 40
            && let Some(node) = victim.take()
        {
            assert!(!node.stop_with(libc::SIGKILL).success());
        }
        victim.is_none() && n >= 80
    });
    // Node b ends what a accepted and never finished once a's lease has run out; every
    // acknowledged activation has its record there (assert_kept waits up to a minute each).
    crate::durability::assert_kept(&cluster.nodes[0], &acked);
}

/// How many times trigger `t` fired, as `node` reads the activation log.
fn fired(node: &Shoal) -> u64 {
    let res = node.request(
        "GET",
        "/api/v1/namespaces/_/activations?name=t&count=true",
        None,
    );
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["activations"].as_u64().unwrap_or_default()
}

/// Waits (a bound on a hang, not a timing expectation) until `node` has seen `t` fire at
/// least `n` times.
fn until_fired(node: &Shoal, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while fired(node) < n {
        assert!(Instant::now() < deadline, "trigger t never fired {n} times");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_alarm_keeps_firing_when_the_node_it_was_created_on_dies() {
    let mut cluster = Cluster::start(2);
    let a = &cluster.nodes[0];
    for (path, body) in [
        ("/api/v1/namespaces/_/actions/tick", says("tick")),
        ("/api/v1/namespaces/_/triggers/t", json!({})),
        (
            "/api/v1/namespaces/_/rules/r",
            json!({"trigger": "/_/t", "action": "/_/tick"}),
        ),
    ] {
        let res = a.request("PUT", path, Some(&body));
        assert_eq!(res.status, 200, "{path}: {}", res.text());
    }
    let created = a.request(
        "POST",
        "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true",
        Some(&json!({"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": GUEST_AUTH, "cron": "* * * * * *"})),
    );
    assert_eq!(created.status, 200, "{}", created.text());
    let b = &cluster.nodes[1];
    until_fired(b, 2);
    let node_a = cluster.nodes.remove(0);
    assert!(!node_a.stop_with(libc::SIGKILL).success());
    let b = &cluster.nodes[0];
    let before = fired(b);
    until_fired(b, before + 3);
}

/// The current epoch minute: the window per-minute throttles count in.
fn minute() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

#[test]
fn a_per_minute_limit_holds_for_the_cluster_as_a_whole() {
    let cluster = Cluster::start(2);
    let url = cluster.server.url("shoal");
    crate::support::set_limits(
        cluster.dirs.path(),
        "guest",
        &["--invocations-per-minute", "4", "--store", &url],
    );
    let put = cluster.nodes[0].request(
        "PUT",
        "/api/v1/namespaces/_/actions/limited",
        Some(&says("ok")),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    // Each node counts the other (heartbeats every 2 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    for node in &cluster.nodes {
        while node.request("GET", "/health", None).json()["nodes"] != 2 {
            assert!(
                Instant::now() < deadline,
                "the nodes never counted each other"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Within one minute the two nodes admit 4 invokes together, 2 each; an attempt that
    // straddles a minute boundary (the windows restart) is made again.
    for _attempt in 0..3 {
        let began = minute();
        let admitted: Vec<usize> = cluster
            .nodes
            .iter()
            .map(|node| {
                (0..4)
                    .map(|_| {
                        node.request(
                            "POST",
                            "/api/v1/namespaces/_/actions/limited?blocking=true",
                            Some(&json!({})),
                        )
                        .status
                    })
                    .filter(|status| *status == 200)
                    .count()
            })
            .collect();
        if minute() == began {
            assert_eq!(admitted, [2, 2], "each node admits its half of 4 a minute");
            return;
        }
        std::thread::sleep(Duration::from_secs(61));
    }
    panic!("three attempts straddled a minute boundary");
}

/// A cluster started by `deploy/cluster.sh` in a temporary directory; stopped on drop.
struct Scripted {
    dir: tempfile::TempDir,
    port: u16,
}

impl Scripted {
    fn script() -> std::process::Command {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/cluster.sh");
        let mut command = std::process::Command::new("bash");
        command.arg(script);
        command
    }

    fn start(nodes: usize) -> Scripted {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        // Every node, restarted ones too, reads the raised limits: the flows invoke more
        // often a minute than OpenWhisk's default allows.
        std::fs::write(
            dir.path().join("limits.toml"),
            crate::support::RAISED_LIMITS,
        )
        .unwrap();
        let cluster = Scripted { dir, port };
        let out = run_with_timeout(
            cluster
                .env(&mut Scripted::script())
                .args(["start", &nodes.to_string()]),
            Duration::from_secs(120),
        );
        assert!(
            out.status.success(),
            "deploy/cluster.sh start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn env<'c>(&self, command: &'c mut std::process::Command) -> &'c mut std::process::Command {
        command
            .env("SHOAL_BIN", crate::support::SHOAL)
            .env("SHOAL_CLUSTER_DIR", self.dir.path().join("cluster"))
            .env("SHOAL_CLUSTER_PORT", self.port.to_string())
            .env("SHOAL_CLUSTER_CONFIG", self.dir.path().join("limits.toml"))
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs `deploy/cluster.sh ARGS…` on this cluster and checks it succeeded.
    fn run(&self, args: &[&str]) {
        let out = run_with_timeout(
            self.env(&mut Scripted::script()).args(args),
            Duration::from_secs(120),
        );
        assert!(
            out.status.success(),
            "deploy/cluster.sh {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits (a bound on a hang, not a timing expectation) until every one of the `nodes`
    /// answers `GET /health` with 200, asked directly rather than through the balancer.
    fn until_healthy(&self, nodes: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 1..=nodes {
            let path = self.dir.path().join(format!("cluster/node{i}/port"));
            let addr = format!(
                "127.0.0.1:{}",
                std::fs::read_to_string(path).unwrap().trim()
            );
            while crate::support::try_request(&addr, "GET", "/health", None, None)
                .map_or(true, |r| r.status != 200)
            {
                assert!(Instant::now() < deadline, "node {i} never became healthy");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Runs the npm client's wsk-style session (`host/tests/e2e/cluster-flow.mjs`) through
    /// the balancer, its names tagged with `tag`.
    fn flow(&self, tag: &str) {
        let e2e = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e");
        let out = run_with_timeout(
            std::process::Command::new("node")
                .args(["cluster-flow.mjs", tag])
                .current_dir(e2e)
                .env("SHOAL_API_HOST", format!("http://{}", self.addr()))
                .env("SHOAL_AUTH", GUEST_AUTH)
                .env_remove("NODE_OPTIONS"),
            Duration::from_secs(300),
        );
        assert!(
            out.status.success(),
            "the cluster flow {tag} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The pid of node `i` (from 1).
    fn node_pid(&self, i: usize) -> i32 {
        let path = self.dir.path().join(format!("cluster/node{i}/pid"));
        std::fs::read_to_string(path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = run_with_timeout(
            self.env(&mut Scripted::script()).arg("stop"),
            Duration::from_secs(60),
        );
    }
}

#[test]
fn the_cluster_script_balances_nodes_and_survives_one_killed() {
    let cluster = Scripted::start(2);
    let addr = cluster.addr();
    let call = |method: &str, path: &str, body: Option<&Value>| {
        request(&addr, method, path, Some(GUEST_AUTH), body)
    };
    let put = call(
        "PUT",
        "/api/v1/namespaces/_/actions/balanced",
        Some(&says("hi")),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let invoke_all = || {
        (0..6)
            .map(|_| {
                let res = call(
                    "POST",
                    "/api/v1/namespaces/_/actions/balanced?blocking=true",
                    Some(&json!({})),
                );
                assert_eq!(res.status, 200, "{}", res.text());
                res.json()["activationId"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
    };
    for id in invoke_all() {
        let record = call(
            "GET",
            &format!("/api/v1/namespaces/_/activations/{id}"),
            None,
        );
        assert_eq!(record.status, 200, "{}", record.text());
    }
    let pid = cluster.node_pid(1);
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is a node this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    // Once the node is gone (its port refuses connections; a connection made while it was
    // dying may have reached it, and such a request is failed, never sent twice), the
    // balancer sends what would reach it to the other one.
    let port = std::fs::read_to_string(cluster.dir.path().join("cluster/node1/port")).unwrap();
    let node = format!("127.0.0.1:{}", port.trim());
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&node).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the killed node still accepts connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for id in invoke_all() {
        let record = call(
            "GET",
            &format!("/api/v1/namespaces/_/activations/{id}"),
            None,
        );
        assert_eq!(record.status, 200, "{}", record.text());
    }
}

#[test]
fn the_npm_client_works_through_the_balancer_across_node_and_database_restarts() {
    let cluster = Scripted::start(2);
    cluster.flow("first");
    cluster.run(&["restart-node", "1"]);
    cluster.until_healthy(2);
    cluster.flow("after-node-restart");
    cluster.run(&["restart-db"]);
    cluster.until_healthy(2);
    cluster.flow("after-database-restart");
}

#[test]
fn the_acknowledged_activations_of_a_killed_node_are_ended_by_another() {
    let mut cluster = Cluster::start(2);
    let slow = json!({"exec": {"kind": "nodejs:20",
        "code": "function main() { return new Promise(r => setTimeout(() => r({done: true}), 50000)) }"}});
    let a = &cluster.nodes[0];
    let put = a.request("PUT", "/api/v1/namespaces/_/actions/slow", Some(&slow));
    assert_eq!(put.status, 200, "{}", put.text());
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let res = a.request(
                "POST",
                "/api/v1/namespaces/_/actions/slow",
                Some(&json!({})),
            );
            assert_eq!(res.status, 202, "{}", res.text());
            res.json()["activationId"].as_str().unwrap().to_string()
        })
        .collect();
    let node_a = cluster.nodes.remove(0);
    assert!(!node_a.stop_with(libc::SIGKILL).success());
    // Node b takes a for dead once its lease (10 s) runs out, and ends what it accepted.
    let b = &cluster.nodes[0];
    let deadline = Instant::now() + Duration::from_secs(90);
    for id in ids {
        let path = format!("/api/v1/namespaces/_/activations/{id}");
        let record = loop {
            let res = b.request("GET", &path, None);
            if res.status == 200 {
                break res.json();
            }
            assert_eq!(res.status, 404, "{}", res.text());
            assert!(Instant::now() < deadline, "activation {id} was never ended");
            std::thread::sleep(Duration::from_millis(250));
        };
        assert_eq!(
            record["response"]["status"], "whisk internal error",
            "{record}"
        );
    }
    let health = b.request("GET", "/health", None).json();
    assert_eq!(health["recoveredActivations"], 3, "{health}");
}
