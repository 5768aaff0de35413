//! The Kubernetes host type against a scripted API server on loopback (no Kubernetes API
//! server can be installed on the machines shoal is built on). The script answers the calls
//! the driver makes as an API server does, and checks that every request body is exactly a
//! `k8s-openapi` object (it must read as the type and write back unchanged, so a misspelt or
//! misplaced field fails). For each pod it creates, it plays the kubelet: it starts shoal's
//! real action proxy (`proxy/shoal_proxy.py`, Python mode) on a loopback address of its own,
//! port 8080, reports that address as the pod IP, and serves the proxy's output as the pod's
//! log. Whatever image the pod names, that proxy runs it, but for images named `missing/…`,
//! whose pods wait with `ErrImagePull` as a kubelet reports an image it cannot pull.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use serde_json::{Map, Value, json};
use shoal_containers::{
    ContainerConfig, ContainerExecutor, HostConfig, KubernetesConfig, Runtime, owner_label,
};
use shoal_router::{ActionCode, ActivationId, Executor, HostTags, Invocation, Limits, OwEnv};

/// The namespace the test's pods live in.
const NAMESPACE: &str = "actions";
/// The owner the executor labels its pods with.
const OWNER: &str = "/var/lib/shoal-k8s-test";

/// A pod the script runs: what was created, its address, its proxy and what it printed.
struct FakePod {
    created: Value,
    ip: String,
    /// `None` for a pod whose image cannot be pulled.
    proxy: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
}

/// The scripted API server's state.
#[derive(Default)]
struct Cluster {
    pods: BTreeMap<String, FakePod>,
    /// Every request as `METHOD path?query`.
    requests: Vec<String>,
    /// Every pod body created, as sent.
    created: Vec<Value>,
    /// Bodies that were not exactly their `k8s-openapi` type.
    malformed: Vec<String>,
    next_ip: u8,
}

type Shared = Arc<Mutex<Cluster>>;

fn lock(cluster: &Shared) -> std::sync::MutexGuard<'_, Cluster> {
    cluster.lock().unwrap_or_else(|e| e.into_inner())
}

fn json_reply(status: StatusCode, body: Value) -> Response<BoxBody<Bytes, Infallible>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

fn not_found(what: &str) -> Response<BoxBody<Bytes, Infallible>> {
    json_reply(
        StatusCode::NOT_FOUND,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": format!("{what} not found"), "reason": "NotFound", "code": 404}),
    )
}

/// Whether `body` is exactly a `T`: read as one and written back, nothing changes.
fn exactly<T: serde::de::DeserializeOwned + serde::Serialize>(body: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    match back == *body {
        true => Ok(()),
        false => Err(format!(
            "not exactly its type: sent {body}, read back {back}"
        )),
    }
}

/// The pod as the API server shows it now: as created, with a status (running while its
/// proxy runs).
fn shown(pod: &mut FakePod) -> Value {
    let mut body = pod.created.clone();
    let Some(proxy) = pod.proxy.as_mut() else {
        body["status"] = json!({
            "phase": "Pending",
            "containerStatuses": [{"name": "action", "ready": false, "restartCount": 0,
                                   "image": body["spec"]["containers"][0]["image"], "imageID": "",
                                   "state": {"waiting": {"reason": "ErrImagePull"}}}],
        });
        return body;
    };
    let running = matches!(proxy.try_wait(), Ok(None));
    let state = match running {
        true => json!({"running": {"startedAt": "2026-12-07T00:00:00Z"}}),
        false => json!({"terminated": {"exitCode": 1, "reason": "Error"}}),
    };
    body["status"] = json!({
        "phase": if running { "Running" } else { "Failed" },
        "podIP": pod.ip,
        "containerStatuses": [{"name": "action", "ready": running, "restartCount": 0,
                               "image": body["spec"]["containers"][0]["image"], "imageID": "",
                               "state": state}],
    });
    body
}

/// Starts the pod's container: shoal's proxy on the pod's own loopback address (none for an
/// image named `missing/…`).
fn run_pod(created: Value, ip: String) -> FakePod {
    let log = Arc::new(Mutex::new(Vec::new()));
    let image = created["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("");
    if image.starts_with("missing/") {
        return FakePod {
            created,
            ip,
            proxy: None,
            log,
        };
    }
    let proxy = concat!(env!("CARGO_MANIFEST_DIR"), "/proxy/shoal_proxy.py");
    let mut command = Command::new("python3");
    command
        .arg(proxy)
        .env("SHOAL_PROXY_ADDRESS", &ip)
        .env("PORT", "8080")
        .env("SHOAL_PROXY_MODE", "python")
        .env(
            "SHOAL_ACTION_DIR",
            std::env::temp_dir().join(format!("shoal-k8s-{ip}")),
        )
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for e in created["spec"]["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
    {
        command.env(
            e["name"].as_str().unwrap_or(""),
            e["value"].as_str().unwrap_or(""),
        );
    }
    let mut child = command.spawn().expect("python3 runs the proxy");
    let outputs: [Box<dyn std::io::Read + Send>; 2] = [
        Box::new(child.stdout.take().expect("piped")),
        Box::new(child.stderr.take().expect("piped")),
    ];
    for output in outputs {
        let log = log.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("{at} {line}\n"));
            }
        });
    }
    FakePod {
        created,
        ip,
        proxy: Some(child),
        log,
    }
}

/// Streams a pod's log (`follow=true`) until the pod is deleted.
fn follow_log(cluster: Shared, name: String) -> Response<BoxBody<Bytes, Infallible>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(64);
    tokio::spawn(async move {
        let mut sent = 0;
        loop {
            let fresh: Option<Vec<String>> = {
                let c = lock(&cluster);
                c.pods.get(&name).map(|p| {
                    let log = p.log.lock().unwrap_or_else(|e| e.into_inner());
                    log[sent..].to_vec()
                })
            };
            let Some(fresh) = fresh else { break };
            sent += fresh.len();
            for line in fresh {
                if tx.send(Ok(Frame::data(Bytes::from(line)))).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let body = StreamBody::new(tokio_stream(rx));
    Response::new(BodyExt::boxed(body))
}

/// An mpsc receiver as a stream.
fn tokio_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) })
}

/// One request to the scripted API server.
async fn answer(
    cluster: Shared,
    req: Request<Incoming>,
) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&cluster)
        .requests
        .push(format!("{method} {path}?{query}"));
    let pods = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    let selector = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("labelSelector="))
        .map(|s| s.replace("%3D", "=").replace("%2F", "/"));
    let reply = match (method.as_str(), path.as_str()) {
        ("GET", "/version") => json_reply(
            StatusCode::OK,
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0", "gitCommit": "0",
                   "gitTreeState": "clean", "buildDate": "2025-04-01T00:00:00Z",
                   "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}),
        ),
        ("GET", "/api/v1/nodes") => {
            let nodes = [
                json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": "node-x86", "labels": {"kubernetes.io/arch": "amd64", "gpu": "true"}},
                    "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}}),
                json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": "node-arm", "labels": {"kubernetes.io/arch": "arm64"}},
                    "status": {"capacity": {"cpu": "2", "memory": "4Gi"}}}),
            ];
            let arch = selector
                .as_deref()
                .and_then(|s| s.strip_prefix("kubernetes.io/arch="));
            let items: Vec<Value> = nodes
                .into_iter()
                .filter(|n| {
                    Some(
                        n["metadata"]["labels"]["kubernetes.io/arch"]
                            .as_str()
                            .unwrap_or(""),
                    ) == arch
                })
                .collect();
            for item in &items {
                if let Err(e) = exactly::<Node>(item) {
                    lock(&cluster).malformed.push(e);
                }
            }
            json_reply(
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": items}),
            )
        }
        ("POST", p) if p == pods => {
            let mut c = lock(&cluster);
            c.created.push(body.clone());
            if let Err(e) = exactly::<Pod>(&body) {
                c.malformed.push(e.clone());
                return Ok(json_reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"kind": "Status", "code": 422, "message": e}),
                ));
            }
            let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
            c.next_ip += 1;
            let ip = format!("127.0.0.{}", 10 + c.next_ip);
            let mut created = body.clone();
            created["metadata"]["namespace"] = json!(NAMESPACE);
            let mut pod = run_pod(created, ip);
            let shown = shown(&mut pod);
            c.pods.insert(name, pod);
            json_reply(StatusCode::CREATED, shown)
        }
        ("GET", p) if p == pods => {
            let mut c = lock(&cluster);
            let (key, value) = selector
                .as_deref()
                .and_then(|s| s.split_once('='))
                .unwrap_or(("", ""));
            let items: Vec<Value> = c
                .pods
                .values_mut()
                .filter(|p| p.created["metadata"]["labels"][key] == value)
                .map(shown)
                .collect();
            json_reply(
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}),
            )
        }
        (_, p) if p.starts_with(&format!("{pods}/")) => {
            let rest = &p[pods.len() + 1..];
            let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
            let name = name.to_string();
            match (method.as_str(), sub) {
                ("GET", "log") if lock(&cluster).pods.contains_key(&name) => {
                    follow_log(cluster.clone(), name)
                }
                ("GET", "") => match lock(&cluster).pods.get_mut(&name) {
                    Some(pod) => json_reply(StatusCode::OK, shown(pod)),
                    None => not_found(&name),
                },
                ("DELETE", "") => {
                    let mut c = lock(&cluster);
                    if let Err(e) = exactly::<DeleteOptions>(&body) {
                        c.malformed.push(e);
                    }
                    match c.pods.remove(&name) {
                        Some(mut pod) => {
                            if let Some(proxy) = pod.proxy.as_mut() {
                                let _ = proxy.kill();
                                let _ = proxy.wait();
                            }
                            json_reply(StatusCode::OK, pod.created)
                        }
                        None => not_found(&name),
                    }
                }
                _ => not_found(&name),
            }
        }
        _ => not_found(&path),
    };
    Ok(reply)
}

/// Serves the script on a free loopback port; returns its address.
async fn api_server(cluster: Shared) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(cluster.clone(), req));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    address
}

fn python_action(tags: &[&str]) -> Arc<ActionCode> {
    Arc::new(action_code(tags))
}

/// A Python action that prints a line and greets `name`, asking for `tags`.
fn action_code(tags: &[&str]) -> ActionCode {
    ActionCode {
        fqn: "/guest/hello".into(),
        name: "hello".into(),
        version: "0.0.1".into(),
        kind: "python:3.11".into(),
        code: "def main(args):\n    print('hello from the pod')\n    return {'greeting': 'hi ' + args.get('name', '?')}\n".into(),
        binary: false,
        main: "main".into(),
        digest: [1; 32],
        image: None,
        host_tags: HostTags {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            strict: true,
        },
    }
}

fn invocation(action: &Arc<ActionCode>) -> Invocation {
    let mut params = Map::new();
    params.insert("name".into(), json!("kube"));
    Invocation {
        activation_id: ActivationId::from_random([3; 16]),
        action: action.clone(),
        tenant: Arc::from("guest"),
        params,
        init_env: Map::new(),
        env: OwEnv {
            api_host: "http://shoal.test".into(),
            api_key: None,
            namespace: "guest".into(),
            action_name: action.fqn.clone(),
            action_version: "0.0.1".into(),
            activation_id: "0".repeat(32),
            transaction_id: "k8s".into(),
            deadline: "0".into(),
        },
        limits: Limits::default(),
        deadline: Instant::now() + Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_as_pods_pinned_to_the_architecture_and_tags_and_are_cleaned_up() {
    let cluster = Shared::default();
    let address = api_server(cluster.clone()).await;
    // Pods an earlier run of this node left on each host (after a kill -9), and one of
    // another node sharing the namespace, which must be left alone.
    for (name, owner, host) in [
        ("shoal-left-x86", OWNER, "cluster-x86"),
        ("shoal-left-arm", OWNER, "cluster-arm"),
        ("other-node", "/var/lib/another-node", "cluster-x86"),
    ] {
        let leftover = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "labels": {"shoal.owner": owner_label(owner, host)}},
            "spec": {"containers": [{"name": "action", "image": "missing/old"}]}});
        let mut c = lock(&cluster);
        c.next_ip += 1;
        let ip = format!("127.0.0.{}", 10 + c.next_ip);
        c.pods.insert(name.into(), run_pod(leftover, ip));
    }
    // One cluster, two hosts: its amd64 nodes (tagged gpu) and its arm64 nodes.
    let host = |name: &str, arch: &str, tags: Vec<String>| HostConfig {
        name: name.into(),
        docker_host: String::new(),
        kubernetes: Some(KubernetesConfig {
            api_server: Some(format!("http://{address}")),
            kubeconfig: None,
            namespace: NAMESPACE.into(),
        }),
        network: None,
        capacity_mb: 1024,
        tags,
        address: None,
        architecture: Some(arch.into()),
        tls: None,
    };
    let config = ContainerConfig {
        hosts: vec![
            host("cluster-x86", "amd64", vec!["gpu".into()]),
            host("cluster-arm", "arm64", Vec::new()),
        ],
        runtimes: vec![Runtime {
            kind: "python:3.11".into(),
            image: "example/action-python:3.11".into(),
            platforms: vec!["amd64".into()],
            images: BTreeMap::new(),
            default: true,
            require_main: false,
            prewarm: Vec::new(),
        }],
        pause_grace_ms: 10,
        ..ContainerConfig::default()
    };
    let executor = tokio::task::spawn_blocking(move || {
        ContainerExecutor::start(config, OWNER, "http://shoal.test")
    })
    .await
    .unwrap()
    .expect("the executor connects to the scripted API server");
    let left: Vec<String> = lock(&cluster).pods.keys().cloned().collect();
    assert_eq!(
        left,
        ["other-node"],
        "this node's leftovers are removed at start"
    );
    let hosts = executor.hosts();
    assert_eq!(hosts.len(), 2);
    assert_eq!(
        (hosts[1].architecture.as_str(), hosts[1].cpus),
        ("arm64", 2)
    );
    let host = &hosts[0];
    assert_eq!(
        (host.driver, host.architecture.as_str()),
        ("kubernetes", "amd64")
    );
    assert_eq!((host.cpus, host.memory_bytes), (4, 8 << 30));
    assert!(host.up && !host.can_pause);

    let action = python_action(&["gpu"]);
    let outcome = executor.invoke(invocation(&action)).await;
    assert_eq!(outcome.result, Ok(json!({"greeting": "hi kube"})));
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.ends_with("stdout: hello from the pod")),
        "{:?}",
        outcome.logs
    );
    let created = lock(&cluster).created.last().cloned().unwrap();
    let spec = &created["spec"];
    assert_eq!(
        spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"][0],
        json!({"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]})
    );
    assert_eq!(spec["nodeSelector"], json!({"gpu": "true"}));
    assert_eq!(
        spec["containers"][0]["resources"],
        json!({"requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}})
    );
    assert_eq!(spec["containers"][0]["image"], "example/action-python:3.11");
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(
        created["metadata"]["labels"]["shoal.owner"],
        json!(owner_label(OWNER, "cluster-x86"))
    );
    let env = spec["containers"][0]["env"].as_array().unwrap();
    assert!(env.contains(&json!({"name": "__OW_API_HOST", "value": "http://shoal.test"})));

    // Warm: the same pod (Kubernetes hosts never pause: `can_pause` is false above).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = executor.invoke(invocation(&action)).await;
    assert_eq!(again.result, Ok(json!({"greeting": "hi kube"})));
    assert_eq!(again.init_ms, None, "warm");
    assert_eq!(lock(&cluster).created.len(), 1);
    assert_eq!(executor.hosts()[0].warm, 1);

    // A tag the cluster's host does not carry: no host qualifies.
    let cpu_only = python_action(&["tpu"]);
    let refused = executor.invoke(invocation(&cpu_only)).await;
    let text = format!("{:?}", refused.result);
    assert!(
        text.contains("carries the tags the action requires (tpu)"),
        "{text}"
    );

    // An image the kubelet cannot pull: the pod waits with ErrImagePull, which fails the
    // activation as the engine's pull failure does, and the pod and its memory are given
    // back.
    let missing = Arc::new(ActionCode {
        fqn: "/guest/missing".into(),
        name: "missing".into(),
        kind: "blackbox".into(),
        image: Some("missing/image:1".into()),
        digest: [2; 32],
        ..action_code(&[])
    });
    let failed = executor.invoke(invocation(&missing)).await;
    assert_eq!(
        failed.result,
        Err(shoal_router::Failure::DeveloperError(
            "Failed to pull container image 'missing/image:1'.".into()
        ))
    );
    let pending: Vec<String> = lock(&cluster).pods.keys().cloned().collect();
    assert_eq!(
        pending.len(),
        2,
        "the warm pod and the other node's: {pending:?}"
    );

    executor.shutdown().await;
    let c = lock(&cluster);
    let left: Vec<&String> = c.pods.keys().collect();
    assert_eq!(
        left,
        ["other-node"],
        "every pod of this node is deleted at shutdown"
    );
    assert!(c.malformed.is_empty(), "{:?}", c.malformed);
    let unexpected: Vec<&String> = c
        .requests
        .iter()
        .filter(|r| {
            !(r.starts_with("GET /")
                || r.starts_with("POST /api/v1/namespaces/actions/pods?")
                || r.starts_with("DELETE /api/v1/namespaces/actions/pods/"))
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
}
