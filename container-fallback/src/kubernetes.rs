//! [`KubernetesDriver`]: [`ContainerDriver`] on a Kubernetes cluster, through its API server
//! (the `kube` client): each action container is a pod of one container, pinned by node
//! affinity to the host's architecture (`kubernetes.io/arch`), on nodes carrying the action's
//! tags (node selector), with a memory request and limit of its memory limit, reached at its
//! pod IP on the proxy's port. Pods are named and labelled with a digest of their owner, this
//! machine and the host's name, so a start removes what an earlier run of the same node left,
//! and never another node's or another host's pods in the same namespace. Kubernetes cannot
//! freeze a pod: idle warm containers are never paused. What a host is: the cluster's nodes
//! of one architecture in one namespace.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::stream::{BoxStream, StreamExt};
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, EnvVar, Node, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use sha2::{Digest, Sha256};
use shoal_router::{BoxFuture, LogStream};

use crate::config::{HostConfig, KubernetesConfig};
use crate::driver::{
    ContainerDriver, ContainerSpec, ContainerState, DriverError, EngineFacts, ImageFacts, LogLine,
    Started, answers_within, wait_listening,
};
use crate::protocol;

/// The node label naming a node's CPU architecture.
pub const ARCH_LABEL: &str = "kubernetes.io/arch";
/// The longest wait for the API server's answer to a health check or a connect.
const API_ANSWER: Duration = Duration::from_secs(5);
/// The pause between looks at a pod that is not running yet.
const POD_POLL: Duration = Duration::from_millis(100);
/// The name of the action container in every pod.
const CONTAINER: &str = "action";
/// The longest log line kept whole; longer ones are split (a container printing without
/// line breaks must not grow shoal's memory).
const LINE_BYTES: u64 = 16 * 1024;
/// Pod reasons for waiting that mean its image cannot be had.
const PULL_FAILURES: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];
/// Pod reasons for waiting that mean its container cannot be created or started.
const START_FAILURES: [&str; 3] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Pods in one namespace of one cluster, on its nodes of one architecture. Cheap to clone.
#[derive(Clone)]
pub struct KubernetesDriver {
    pods: Api<Pod>,
    client: Client,
    facts: EngineFacts,
    /// This machine and the host's name: what its pods' names and labels are scoped by.
    scope: String,
}

impl KubernetesDriver {
    /// Connects to the cluster of `host` (which names its architecture: validated config)
    /// and reads what its nodes of that architecture have.
    pub async fn connect(
        host: &HostConfig,
        cluster: &KubernetesConfig,
    ) -> Result<Self, DriverError> {
        let mut config = match (&cluster.api_server, &cluster.kubeconfig) {
            (Some(url), _) => Config::new(url.parse::<http::Uri>().map_err(api_text)?),
            (None, Some(file)) => {
                let kubeconfig = Kubeconfig::read_from(file).map_err(api_text)?;
                Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await
                    .map_err(api_text)?
            }
            (None, None) => Config::infer().await.map_err(api_text)?,
        };
        config.default_namespace = cluster.namespace.clone();
        let client = Client::try_from(config).map_err(api)?;
        tokio::time::timeout(API_ANSWER, client.apiserver_version())
            .await
            .map_err(|_| DriverError::Engine("no answer from the API server".into()))?
            .map_err(api)?;
        let architecture = host.architecture.clone().unwrap_or_default();
        let nodes: Api<Node> = Api::all(client.clone());
        let selector = ListParams::default().labels(&format!("{ARCH_LABEL}={architecture}"));
        let listed = nodes.list(&selector).await.map_err(api)?;
        let mut facts = EngineFacts {
            architecture,
            os: "linux".into(),
            ..EngineFacts::default()
        };
        for node in listed.items {
            let capacity = node.status.and_then(|s| s.capacity).unwrap_or_default();
            facts.cpus += capacity.get("cpu").map_or(0, |q| cpus(&q.0));
            facts.memory_bytes += capacity.get("memory").map_or(0, |q| bytes(&q.0));
            if let Some(name) = node.metadata.name {
                facts.labels.push(format!("node={name}"));
            }
        }
        Ok(KubernetesDriver {
            pods: Api::namespaced(client.clone(), &cluster.namespace),
            client,
            facts,
            scope: scope(&host.name),
        })
    }

    /// A label value for `value` (an owner) on this host of this machine.
    fn label(&self, value: &str) -> String {
        label_value(&format!("{value}|{}", self.scope))
    }

    /// The pod name of a container: its name, and a digest of the scope so that two hosts
    /// (or nodes) in one namespace never pick the same.
    fn pod_name(&self, name: &str) -> String {
        let scope = label_value(&self.scope);
        let mut base = pod_name(name);
        base.truncate(55);
        format!("{}-{}", base.trim_end_matches('-'), &scope[1..8])
    }

    /// The pod of `spec`: one container of its image and environment, its memory as request
    /// and limit, never restarted, kept to nodes of the host's architecture and the action's
    /// tags.
    fn pod(&self, spec: &ContainerSpec) -> Pod {
        let memory = Quantity(format!("{}Mi", spec.memory_mb));
        let resources = BTreeMap::from([("memory".to_string(), memory)]);
        let on_arch = NodeSelectorTerm {
            match_expressions: Some(vec![NodeSelectorRequirement {
                key: ARCH_LABEL.into(),
                operator: "In".into(),
                values: Some(vec![self.facts.architecture.clone()]),
            }]),
            ..NodeSelectorTerm::default()
        };
        let env = spec
            .env
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(name, value)| EnvVar {
                name: name.into(),
                value: Some(value.into()),
                ..EnvVar::default()
            })
            .collect();
        Pod {
            metadata: ObjectMeta {
                name: Some(self.pod_name(&spec.name)),
                labels: Some(
                    spec.labels
                        .iter()
                        .map(|(k, v)| (k.clone(), self.label(v)))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: CONTAINER.into(),
                    image: Some(spec.image.clone()),
                    env: Some(env),
                    ports: Some(vec![ContainerPort {
                        container_port: i32::from(protocol::PROXY_PORT),
                        ..ContainerPort::default()
                    }]),
                    resources: Some(ResourceRequirements {
                        requests: Some(resources.clone()),
                        limits: Some(resources),
                        ..ResourceRequirements::default()
                    }),
                    ..Container::default()
                }],
                restart_policy: Some("Never".into()),
                automount_service_account_token: Some(false),
                enable_service_links: Some(false),
                affinity: Some(Affinity {
                    node_affinity: Some(NodeAffinity {
                        required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                            node_selector_terms: vec![on_arch],
                        }),
                        ..NodeAffinity::default()
                    }),
                    ..Affinity::default()
                }),
                node_selector: (!spec.tags.is_empty())
                    .then(|| spec.tags.iter().map(|t| node_label(t)).collect()),
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    async fn start_inner(&self, spec: ContainerSpec) -> Result<Started, DriverError> {
        let pod = self.pod(&spec);
        let name = pod.metadata.name.clone().unwrap_or_default();
        self.pods
            .create(&PostParams::default(), &pod)
            .await
            .map_err(api)?;
        let started = async {
            let ip = self
                .running_ip(&name, &spec.image, spec.ready_within)
                .await?;
            let address = SocketAddr::new(ip, protocol::PROXY_PORT);
            let ready_by = Instant::now() + spec.ready_within;
            wait_listening(self, &name, address, ready_by, spec.ready_within, false).await?;
            Ok(address)
        }
        .await;
        match started {
            Ok(address) => Ok(Started { id: name, address }),
            Err(e) => {
                let _ = self.remove_inner(&name).await;
                Err(e)
            }
        }
    }

    /// Waits until the pod runs and has an address, at most `within`; fails when it ends
    /// first, when its image cannot be pulled (`image` named) or its container not created.
    async fn running_ip(
        &self,
        name: &str,
        image: &str,
        within: Duration,
    ) -> Result<IpAddr, DriverError> {
        let until = Instant::now() + within;
        loop {
            let pod = self.pods.get(name).await.map_err(api)?;
            let status = pod.status.unwrap_or_default();
            match status.phase.as_deref() {
                Some("Running") => {
                    if let Some(ip) = status.pod_ip.and_then(|ip| ip.parse().ok()) {
                        return Ok(ip);
                    }
                }
                Some("Succeeded" | "Failed") => return Err(DriverError::Exited),
                _ => {}
            }
            let waiting = (status.container_statuses.iter().flatten())
                .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
                .collect::<Vec<String>>();
            if waiting.iter().any(|r| PULL_FAILURES.contains(&r.as_str())) {
                return Err(DriverError::Pull(image.to_string()));
            }
            if waiting.iter().any(|r| START_FAILURES.contains(&r.as_str())) {
                return Err(DriverError::Exited);
            }
            if Instant::now() >= until {
                return Err(DriverError::Engine(format!(
                    "the pod did not run within {} seconds",
                    within.as_secs()
                )));
            }
            tokio::time::sleep(POD_POLL).await;
        }
    }

    async fn state_inner(&self, name: &str) -> Result<ContainerState, DriverError> {
        let pod = match self.pods.get(name).await {
            Ok(pod) => pod,
            Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(ContainerState::default()),
            Err(e) => return Err(api(e)),
        };
        let status = pod.status.unwrap_or_default();
        let container = status
            .container_statuses
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.name == CONTAINER);
        let terminated = container
            .as_ref()
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.terminated.as_ref());
        Ok(ContainerState {
            running: status.phase.as_deref() == Some("Running") && terminated.is_none(),
            oom_killed: terminated.is_some_and(|t| t.reason.as_deref() == Some("OOMKilled")),
        })
    }

    async fn remove_inner(&self, name: &str) -> Result<(), DriverError> {
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        match self.pods.delete(name, &now).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(e) => Err(api(e)),
        }
    }
}

/// A pod name (a DNS label: lowercase letters, digits and `-`, at most 63) for a container
/// name.
fn pod_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .take(63)
        .collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// This machine's name and `host`: what a driver's pods are scoped by.
fn scope(host: &str) -> String {
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}|{host}", machine.trim())
}

/// The label value the pods of `owner` on container host `host` carry, from this machine.
pub fn owner_label(owner: &str, host: &str) -> String {
    label_value(&format!("{owner}|{}", scope(host)))
}

/// A label value for any text: label values are at most 63 letters, digits, `-`, `_`, `.`,
/// so owners (data directory paths) are labelled with a digest.
fn label_value(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("h{hex}")
}

/// The node label a tag selects: `key=value` as written, a bare tag `gpu` as `gpu=true`.
fn node_label(tag: &str) -> (String, String) {
    match tag.split_once('=') {
        Some((key, value)) => (key.into(), value.into()),
        None => (tag.into(), "true".into()),
    }
}

/// CPUs of a quantity (`4`, `3500m`), whole ones.
fn cpus(quantity: &str) -> u64 {
    match quantity.strip_suffix('m') {
        Some(milli) => milli.parse::<u64>().map_or(0, |m| m / 1000),
        None => quantity.parse::<f64>().map_or(0, |c| c as u64),
    }
}

/// Bytes of a memory quantity (`16Gi`, `16423424Ki`, `1G`, `1048576`).
fn bytes(quantity: &str) -> u64 {
    const SUFFIXES: [(&str, u64); 8] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (suffix, unit) in SUFFIXES {
        if let Some(n) = quantity.strip_suffix(suffix) {
            return n.parse::<u64>().map_or(0, |n| n.saturating_mul(unit));
        }
    }
    quantity.parse().unwrap_or(0)
}

fn api(e: kube::Error) -> DriverError {
    DriverError::Engine(format!("Kubernetes API: {e}"))
}

fn api_text(e: impl std::fmt::Display) -> DriverError {
    DriverError::Engine(format!("Kubernetes configuration: {e}"))
}

/// The lines `reader` gives, each at most [`LINE_BYTES`]: a longer one arrives in pieces, so
/// a container printing without line breaks cannot grow shoal's memory. Ends at the first
/// error or the end.
fn bounded_lines(
    reader: impl futures_util::io::AsyncBufRead + Send + 'static,
) -> impl futures_util::Stream<Item = Vec<u8>> + Send {
    use futures_util::io::{AsyncBufReadExt, AsyncReadExt};
    futures_util::stream::unfold(Box::pin(reader), |mut reader| async move {
        let mut line = Vec::new();
        let mut limited = (&mut reader).take(LINE_BYTES);
        match limited.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => None,
            Ok(_) => Some((line, reader)),
        }
    })
}

impl ContainerDriver for KubernetesDriver {
    fn facts(&self) -> &EngineFacts {
        &self.facts
    }

    fn can_pause(&self) -> bool {
        false
    }

    fn merges_streams(&self) -> bool {
        true
    }

    fn ping(&self) -> BoxFuture<Result<(), DriverError>> {
        let client = self.client.clone();
        Box::pin(async move { answers_within(client.apiserver_version(), API_ANSWER).await })
    }

    fn image_platforms(&self, _image: &str) -> BoxFuture<Result<Option<Vec<String>>, DriverError>> {
        // The API server cannot look into registries.
        Box::pin(async { Ok(None) })
    }

    fn prepare_image(&self, _image: &str) -> BoxFuture<Result<ImageFacts, DriverError>> {
        // The kubelet pulls; an image's labels cannot be read through the API, so blackbox
        // images' logs are cut after the grace period.
        Box::pin(async { Ok(ImageFacts::default()) })
    }

    fn start(&self, spec: ContainerSpec) -> BoxFuture<Result<Started, DriverError>> {
        let this = self.clone();
        Box::pin(async move { this.start_inner(spec).await })
    }

    fn pause(&self, _id: &str) -> BoxFuture<Result<(), DriverError>> {
        Box::pin(async { Err(DriverError::Engine("Kubernetes cannot pause a pod".into())) })
    }

    fn unpause(&self, _id: &str) -> BoxFuture<Result<(), DriverError>> {
        Box::pin(async { Err(DriverError::Engine("Kubernetes cannot pause a pod".into())) })
    }

    fn remove(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        let (this, id) = (self.clone(), id.to_string());
        Box::pin(async move { this.remove_inner(&id).await })
    }

    fn logs(&self, id: &str) -> BoxStream<'static, LogLine> {
        let (pods, id) = (self.pods.clone(), id.to_string());
        let follow = LogParams {
            follow: true,
            timestamps: true,
            container: Some(CONTAINER.into()),
            ..LogParams::default()
        };
        futures_util::stream::once(async move { pods.log_stream(&id, &follow).await })
            .filter_map(|opened| std::future::ready(opened.ok()))
            .flat_map(bounded_lines)
            // Kubernetes merges a container's streams: every line comes as stdout.
            .map(|line| LogLine::stamped(LogStream::Stdout, &line))
            .boxed()
    }

    fn state(&self, id: &str) -> BoxFuture<Result<ContainerState, DriverError>> {
        let (this, id) = (self.clone(), id.to_string());
        Box::pin(async move { this.state_inner(&id).await })
    }

    fn remove_labelled(&self, key: &str, value: &str) -> BoxFuture<Result<usize, DriverError>> {
        let this = self.clone();
        let selector = ListParams::default().labels(&format!("{key}={}", self.label(value)));
        Box::pin(async move {
            let listed = this.pods.list(&selector).await.map_err(api)?;
            let names: Vec<String> = listed
                .items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .collect();
            for name in &names {
                this.remove_inner(name).await?;
            }
            Ok(names.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_without_breaks_arrives_in_bounded_pieces() {
        let mut text = vec![b'x'; 40 * 1024];
        text.extend_from_slice(b"\nshort\n");
        let reader = futures_util::io::Cursor::new(text);
        let lines: Vec<Vec<u8>> = bounded_lines(reader).collect().await;
        let sizes: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(sizes, [16 * 1024, 16 * 1024, 8 * 1024 + 1, 6]);
    }

    #[test]
    fn names_labels_and_quantities_take_kubernetes_forms() {
        assert_eq!(
            pod_name("shoal_0a1b2c3d_7_guest_pkg_Hello"),
            "shoal-0a1b2c3d-7-guest-pkg-hello"
        );
        assert_eq!(pod_name(&"x".repeat(80)).len(), 63);
        assert_eq!(pod_name("a_"), "a");
        let owner = label_value("/var/lib/shoal");
        assert_eq!(owner.len(), 41);
        assert!(owner.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(node_label("gpu"), ("gpu".into(), "true".into()));
        assert_eq!(node_label("zone=eu-1"), ("zone".into(), "eu-1".into()));
        assert_eq!(cpus("4"), 4);
        assert_eq!(cpus("3500m"), 3);
        assert_eq!(bytes("16Gi"), 16 << 30);
        assert_eq!(bytes("16423424Ki"), 16_423_424 << 10);
        assert_eq!(bytes("1G"), 1_000_000_000);
        assert_eq!(bytes("12345"), 12345);
    }
}
