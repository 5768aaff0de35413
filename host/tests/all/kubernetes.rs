//! `deploy/kubernetes/shoal.yaml`, checked as far as this machine allows (no Kubernetes API
//! server can run here): every object reads as the API server's own type (`k8s-openapi`) and
//! writes back the same, so no field is misspelt or misplaced; and the commands its Job and
//! Deployment run are run for real, with their environment, secret and mounted config,
//! against a private PostgreSQL: the bootstrap gives `guest` a fresh key, and a node started
//! the Deployment's way answers its probes and serves that key, not the well-known one.

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret, Service};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::Value;
use shoal_store::pg_server::PgServer;

use crate::support::{GUEST_AUTH, SHOAL, STARTUP, Shoal, request, run_with_timeout};

const MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/kubernetes/shoal.yaml"
);

/// Every object of the manifest, as JSON.
fn objects() -> Vec<Value> {
    let text = std::fs::read_to_string(MANIFEST).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect()
}

/// The object of `kind` named `name`.
fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the manifest"))
}

/// `object` read as the API type `T`, checked to write back unchanged: the types skip fields
/// they do not know, so a misspelt or misplaced field shows as a difference.
fn typed<T: DeserializeOwned + Serialize>(object: &Value) -> T {
    let name = &object["metadata"]["name"];
    let typed: T = serde_json::from_value(object.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, object, "{name} does not read back as its API type");
    typed
}

#[test]
fn every_object_reads_back_unchanged_as_its_kubernetes_api_type() {
    let objects = objects();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "Service",
            "StatefulSet",
            "ConfigMap",
            "Job",
            "Deployment",
            "Service"
        ]
    );
    for o in &objects {
        match o["kind"].as_str().unwrap() {
            "Secret" => drop(typed::<Secret>(o)),
            "Service" => drop(typed::<Service>(o)),
            "StatefulSet" => drop(typed::<StatefulSet>(o)),
            "ConfigMap" => drop(typed::<ConfigMap>(o)),
            "Job" => drop(typed::<Job>(o)),
            "Deployment" => drop(typed::<Deployment>(o)),
            other => panic!("no check for kind {other}"),
        }
    }
    // The Services select the pods their workloads label.
    for (service, workload) in [("shoal", "Deployment"), ("shoal-postgres", "StatefulSet")] {
        let selector = &object(&objects, "Service", service)["spec"]["selector"];
        let labels = &object(&objects, workload, service)["spec"]["template"]["metadata"]["labels"];
        for (key, value) in selector.as_object().unwrap() {
            assert_eq!(&labels[key], value, "{service} selects {key}={value}");
        }
    }
}

/// The first container of a pod template.
fn container(spec: Option<k8s_openapi::api::core::v1::PodTemplateSpec>) -> Container {
    spec.and_then(|t| t.spec)
        .map(|p| p.containers[0].clone())
        .unwrap()
}

/// How `container` would run here: its command with the mounted paths under `root` (the
/// ConfigMap's files written there), its environment with the Secret's `url` set to
/// `store`, and the `shoal` on `PATH` this test built.
fn local(container: &Container, root: &Path, config: &ConfigMap, store: &str) -> Command {
    let mut mounts: Vec<(String, PathBuf)> = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let local = root.join(mount.name.as_str());
        std::fs::create_dir_all(&local).unwrap();
        if mount.name == "config" {
            for (file, text) in config.data.iter().flatten() {
                std::fs::write(local.join(file), text).unwrap();
            }
        }
        mounts.push((mount.mount_path.clone(), local));
    }
    let args: Vec<String> = container
        .command
        .iter()
        .chain(container.args.iter())
        .flatten()
        .map(|arg| {
            mounts.iter().fold(arg.clone(), |arg, (path, local)| {
                arg.replace(path.as_str(), &local.display().to_string())
            })
        })
        .collect();
    let bin = Path::new(SHOAL).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(&args[0]);
    command.args(&args[1..]).env("PATH", path);
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(value), _) => value.clone(),
            (None, Some(from)) => {
                let secret = from.secret_key_ref.as_ref().unwrap();
                assert_eq!(
                    (secret.name.as_str(), secret.key.as_str()),
                    ("shoal-store", "url")
                );
                store.to_string()
            }
            (None, None) => String::new(),
        };
        command.env(&var.name, value);
    }
    command
}

#[test]
fn the_bootstrap_job_and_the_deployment_run_a_node_on_postgres() {
    let objects = objects();
    let server = PgServer::start();
    server.create_database("shoal");
    let store = server.url("shoal");
    let config: ConfigMap = typed(object(&objects, "ConfigMap", "shoal-config"));
    let job: Job = typed(object(&objects, "Job", "shoal-bootstrap"));
    let deployment: Deployment = typed(object(&objects, "Deployment", "shoal"));
    let root = tempfile::tempdir().unwrap();

    let bootstrap = container(job.spec.map(|s| s.template));
    let out = run_with_timeout(
        &mut local(&bootstrap, &root.path().join("job"), &config, &store),
        STARTUP,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = stdout.lines().last().unwrap().trim().to_string();
    assert!(key.contains(':') && key != GUEST_AUTH, "{stdout}");

    let node = container(deployment.spec.map(|s| s.template));
    let env = node.env.iter().flatten();
    let listen = env.clone().find(|v| v.name == "SHOAL_LISTEN").unwrap();
    assert_eq!(listen.value.as_deref(), Some("0.0.0.0:3233"));
    let mut serve = local(&node, &root.path().join("node"), &config, &store);
    // The tests listen on loopback only; the manifest's 0.0.0.0 is what the key rotation
    // allows.
    serve.env("SHOAL_LISTEN", "127.0.0.1:0");
    let shoal = Shoal::start(serve);
    for probe in [&node.readiness_probe, &node.liveness_probe] {
        let path = probe.as_ref().and_then(|p| p.http_get.as_ref()).unwrap();
        let path = path.path.as_deref().unwrap();
        assert_eq!(
            request(&shoal.addr, "GET", path, None, None).status,
            200,
            "{path}"
        );
    }
    let actions = "/api/v1/namespaces/_/actions";
    assert_eq!(
        request(&shoal.addr, "GET", actions, Some(&key), None).status,
        200
    );
    assert_eq!(
        request(&shoal.addr, "GET", actions, Some(GUEST_AUTH), None).status,
        401
    );
    shoal.stop();
}
