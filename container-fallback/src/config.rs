//! [`ContainerConfig`]: the runtime manifest (kind → image per architecture, prewarm "stem
//! cells"), the container hosts with their tags and capacities, the placement policy and the
//! pools' timeouts. Deserialised from the host's `[containers]` config section.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::placement::Policy;

/// The name of the one host of a config that lists none (its `docker_host`).
pub const LOCAL_HOST: &str = "local";

/// Settings of the container domain. Lives for the whole process.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerConfig {
    /// Whether to start the container domain at all.
    pub enabled: bool,
    /// Docker Engine API endpoint: `unix:///path/to/docker.sock` or `tcp://host:port`.
    pub docker_host: String,
    /// Docker network the containers join; shoal reaches each action proxy at the
    /// container's address on it, port 8080.
    pub network: String,
    /// The kinds served by containers, with their images. Replaces the defaults when given.
    pub runtimes: Vec<Runtime>,
    /// Whether `blackbox` actions (any image, `exec.image`) are accepted.
    pub blackbox: bool,
    /// Total memory (MB, by `limits.memory`) of the containers run at once, prewarmed and
    /// idle ones included. Past it, idle containers are removed to make room, then activations
    /// queue, first come first served, until one ends (at most for their own time limit,
    /// after which they fail as whisk internal errors). An action needing more than the whole
    /// capacity fails at once.
    pub capacity_mb: u64,
    /// Longest wait for the engine to pull an image (OpenWhisk's is 10 minutes); past it the
    /// activation fails with `Failed to pull container image '<image>'.`. Not counted against
    /// the action's time limit.
    pub pull_timeout_secs: u64,
    /// Longest wait for a started container's action proxy to listen (an initialization
    /// failure past it); the engine gets 10 s more to create and start the container (a whisk
    /// internal error past that). Not counted against the action's time limit: `/init` and
    /// `/run` each get the whole of it.
    pub start_timeout_secs: u64,
    /// How long an idle warm container stays unpaused (OpenWhisk: 10 s).
    pub pause_grace_ms: u64,
    /// How long an unused container is kept before it is removed (OpenWhisk: 10 min).
    pub idle_timeout_secs: u64,
    /// `__OW_API_HOST` as seen from inside containers (default: the host's `api_host`).
    pub api_host: Option<String>,
    /// The hosts containers run on. Empty: one host, [`LOCAL_HOST`], of `docker_host`,
    /// `network` and `capacity_mb`.
    pub hosts: Vec<HostConfig>,
    /// How a host is chosen among those that qualify: `home` (a stable home host per action,
    /// spilling over when it is full) or `least-loaded`.
    pub placement: String,
}

/// One container host (`[[containers.hosts]]`): a Docker engine or a Kubernetes cluster's
/// nodes of one architecture, with what placement may know of it beyond what the engine
/// reports.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Its name, unique among the hosts (shown by `GET /api/v1/nodes`).
    pub name: String,
    /// Docker Engine API endpoint: `unix:///path/to/docker.sock` or `tcp://host:port` (unless
    /// the host is a Kubernetes cluster).
    #[serde(default)]
    pub docker_host: String,
    /// A Kubernetes cluster instead of a Docker engine: action containers run as pods.
    #[serde(default)]
    pub kubernetes: Option<KubernetesConfig>,
    /// Docker network the containers join (default `bridge`).
    #[serde(default)]
    pub network: Option<String>,
    /// Total memory (MB, by `limits.memory`) of the containers it runs at once.
    pub capacity_mb: u64,
    /// Tags it carries (what OpenWhisk's `invoker-resources` annotation asks for: `gpu`, …).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where its containers are reached: when set, each container publishes its proxy's port
    /// on this address of the host (for engines on other machines); else shoal connects to
    /// the container's own address on `network`.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// The CPU architecture to take it for (Go's names: `amd64`, `arm64`, `ppc64le`, …),
    /// instead of what its engine reports: for a node that runs another architecture's
    /// images under emulation. Its images are pulled and started for this architecture.
    #[serde(default)]
    pub architecture: Option<String>,
    /// Client certificate, key and CA (PEM files) for a `tcp://` engine that requires TLS.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
}

/// A Kubernetes cluster as a container host: the nodes of one architecture (`architecture`,
/// which a Kubernetes host must name) in one namespace.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// The API server's URL, without credentials (`kubectl proxy`, or a test server); else
    /// `kubeconfig`, else the in-cluster service account or `~/.kube/config`.
    #[serde(default)]
    pub api_server: Option<String>,
    /// A kubeconfig file (its current context) with the cluster and credentials.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The namespace the pods are created in.
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

fn default_namespace() -> String {
    "default".into()
}

/// The PEM files of a TLS connection to a Docker engine.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The CA the engine's certificate is checked against.
    pub ca: PathBuf,
    /// shoal's client certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
}

/// One kind served by containers (an entry of OpenWhisk's `runtimes.json`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// Full kind, e.g. `python:3.11`.
    pub kind: String,
    /// The image whose entry point is an action proxy on port 8080.
    pub image: String,
    /// The CPU architectures `image` is built for (a multi-architecture image lists several).
    /// Empty: what the registry or an engine reports for it.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// An image per CPU architecture (`amd64 = "…"`), for runtimes built separately for each:
    /// the complete list, used instead of `image` and `platforms`.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Whether `<family>:default` resolves to this kind.
    #[serde(default)]
    pub default: bool,
    /// Whether actions of this kind must name `exec.main` (Java, .NET).
    #[serde(default)]
    pub require_main: bool,
    /// Containers of this kind started idle ahead of demand.
    #[serde(default)]
    pub prewarm: Vec<StemCell>,
}

/// A number of prewarmed containers of one memory size.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StemCell {
    /// How many to keep ready.
    pub count: usize,
    /// Their memory limit, in MB (only actions with this `limits.memory` use them).
    pub memory_mb: u64,
}

impl Default for ContainerConfig {
    fn default() -> Self {
        ContainerConfig {
            enabled: true,
            docker_host: "unix:///var/run/docker.sock".into(),
            network: "bridge".into(),
            runtimes: default_runtimes(),
            blackbox: true,
            capacity_mb: 2048,
            pull_timeout_secs: 600,
            start_timeout_secs: 60,
            pause_grace_ms: 10_000,
            idle_timeout_secs: 600,
            api_host: None,
            hosts: Vec::new(),
            placement: "home".into(),
        }
    }
}

/// OpenWhisk's managed runtimes and their official images (Docker Hub, tag `nightly`), so an
/// engine that can pull from Docker Hub serves them with no configuration. `nodejs:*` is
/// listed for actions annotated `engine: "container"`; they run in isolates otherwise.
fn default_runtimes() -> Vec<Runtime> {
    let runtime = |kind: &str, image: &str, default: bool, require_main: bool| Runtime {
        kind: kind.into(),
        image: format!("openwhisk/{image}:nightly"),
        default,
        require_main,
        platforms: Vec::new(),
        images: BTreeMap::new(),
        prewarm: Vec::new(),
    };
    vec![
        runtime("nodejs:18", "action-nodejs-v18", false, false),
        runtime("nodejs:20", "action-nodejs-v20", true, false),
        runtime("nodejs:22", "action-nodejs-v22", false, false),
        runtime("python:3.10", "action-python-v3.10", true, false),
        runtime("python:3.11", "action-python-v3.11", false, false),
        runtime("python:3.12", "action-python-v3.12", false, false),
        runtime("java:8", "java8action", true, true),
        runtime("go:1.20", "action-golang-v1.20", true, false),
        runtime("php:8.1", "action-php-v8.1", true, false),
        runtime("ruby:2.5", "action-ruby-v2.5", true, false),
        runtime("swift:5.7", "action-swift-v5.7", true, false),
        runtime("dotnet:6.0", "action-dotnet-v6.0", true, true),
        runtime("rust:1.34", "action-rust-v1.34", true, false),
    ]
}

impl ContainerConfig {
    /// Checks values that would make the domain unusable; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in [
            ("capacity_mb", self.capacity_mb),
            ("pull_timeout_secs", self.pull_timeout_secs),
            ("start_timeout_secs", self.start_timeout_secs),
        ] {
            if value == 0 {
                return Err(format!("containers.{key} must be at least 1"));
            }
        }
        if Policy::named(&self.placement).is_none() {
            return Err(format!(
                "containers.placement must be 'home' or 'least-loaded', got '{}'",
                self.placement
            ));
        }
        let hosts = self.hosts();
        for (i, h) in hosts.iter().enumerate() {
            let key = |k: &str| format!("containers.hosts '{}': {k}", h.name);
            if let Some(k) = &h.kubernetes {
                if !h.docker_host.is_empty() || h.architecture.is_none() {
                    return Err(format!(
                        "{} names a cluster: give it an architecture and no docker_host",
                        key("kubernetes")
                    ));
                }
                if k.api_server.is_some() && k.kubeconfig.is_some() {
                    return Err(format!(
                        "{} takes api_server or kubeconfig, not both",
                        key("kubernetes")
                    ));
                }
            } else if !(h.docker_host.starts_with("unix://") || h.docker_host.starts_with("tcp://"))
            {
                return Err(format!(
                    "{} must start with unix:// or tcp://, got '{}'",
                    key("docker_host"),
                    h.docker_host
                ));
            }
            if h.capacity_mb == 0 {
                return Err(format!("{} must be at least 1", key("capacity_mb")));
            }
            if h.name.trim().is_empty() || hosts[..i].iter().any(|o| o.name == h.name) {
                return Err(format!(
                    "containers.hosts: names must be unique and not blank, got '{}'",
                    h.name
                ));
            }
            if h.tls.is_some() && !h.docker_host.starts_with("tcp://") {
                return Err(format!("{} needs a tcp:// docker_host", key("tls")));
            }
        }
        for r in &self.runtimes {
            if !r.kind.contains(':') || r.image.trim().is_empty() {
                return Err(format!(
                    "containers.runtimes: kind '{}' needs the form family:version and an image",
                    r.kind
                ));
            }
            if !r.images.is_empty() && !r.platforms.is_empty() {
                return Err(format!(
                    "containers.runtimes: kind '{}' lists images per architecture, so its platforms are theirs: drop platforms",
                    r.kind
                ));
            }
            if r.prewarm.iter().any(|s| s.memory_mb == 0) {
                return Err(format!(
                    "containers.runtimes: prewarm memory_mb of '{}' must be at least 1",
                    r.kind
                ));
            }
        }
        Ok(())
    }

    /// The runtime serving `kind`, if configured.
    pub fn runtime(&self, kind: &str) -> Option<&Runtime> {
        self.runtimes.iter().find(|r| r.kind == kind)
    }

    /// The hosts containers run on: those listed, or the one of `docker_host`.
    pub fn hosts(&self) -> Vec<HostConfig> {
        if !self.hosts.is_empty() {
            return self.hosts.clone();
        }
        vec![HostConfig {
            name: LOCAL_HOST.into(),
            docker_host: self.docker_host.clone(),
            kubernetes: None,
            network: Some(self.network.clone()),
            capacity_mb: self.capacity_mb,
            tags: Vec::new(),
            address: None,
            architecture: None,
            tls: None,
        }]
    }

    /// The placement policy named by `placement` (the default when the name is unknown:
    /// [`ContainerConfig::validate`] refuses those).
    pub fn policy(&self) -> Policy {
        Policy::named(&self.placement).unwrap_or(Policy::Home(crate::placement::Home))
    }
}

impl Runtime {
    /// The image to run on a host of `architecture`: its own from `images`, else `image`
    /// (`None` when `images` lists others only).
    pub fn image_for(&self, architecture: &str) -> Option<&str> {
        if self.images.is_empty() {
            Some(&self.image)
        } else {
            self.images.get(architecture).map(String::as_str)
        }
    }

    /// The architectures its images are built for, as declared (`None`: ask the registry or
    /// an engine about `image`).
    pub fn architectures(&self) -> Option<Vec<String>> {
        if !self.images.is_empty() {
            Some(self.images.keys().cloned().collect())
        } else if !self.platforms.is_empty() {
            Some(self.platforms.clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_name_openwhisk_images_and_validate() {
        let c = ContainerConfig::default();
        c.validate().unwrap();
        assert_eq!(
            c.runtime("python:3.11").unwrap().image,
            "openwhisk/action-python-v3.11:nightly"
        );
        assert!(c.runtime("java:8").unwrap().require_main);
    }

    #[test]
    fn bad_values_are_named() {
        let c = ContainerConfig {
            docker_host: "/var/run/docker.sock".into(),
            ..ContainerConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("docker_host"));
        let c = ContainerConfig {
            capacity_mb: 0,
            ..ContainerConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("capacity_mb"));
        let c = ContainerConfig {
            start_timeout_secs: 0,
            ..ContainerConfig::default()
        };
        assert_eq!(
            c.validate().unwrap_err(),
            "containers.start_timeout_secs must be at least 1"
        );
    }

    #[test]
    fn hosts_default_to_the_one_engine_and_are_checked() {
        let c = ContainerConfig::default();
        let hosts = c.hosts();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, LOCAL_HOST);
        assert_eq!(hosts[0].capacity_mb, c.capacity_mb);
        let two: ContainerConfig = toml_of(
            r#"placement = "least-loaded"
            [[hosts]]
            name = "x86"
            docker_host = "unix:///a.sock"
            capacity_mb = 512
            [[hosts]]
            name = "arm"
            docker_host = "tcp://10.0.0.2:2375"
            capacity_mb = 1024
            tags = ["gpu"]
            address = "10.0.0.2"
            architecture = "arm64""#,
        );
        two.validate().unwrap();
        assert_eq!(two.policy().name(), "least-loaded");
        assert_eq!(two.hosts()[1].tags, ["gpu"]);
        let twins = ContainerConfig {
            hosts: vec![two.hosts[0].clone(), two.hosts[0].clone()],
            ..two.clone()
        };
        assert!(twins.validate().unwrap_err().contains("unique"));
        let bad_policy = ContainerConfig {
            placement: "random".into(),
            ..two
        };
        assert!(
            bad_policy
                .validate()
                .unwrap_err()
                .contains("containers.placement")
        );
    }

    #[test]
    fn runtimes_name_an_image_per_architecture_or_the_platforms_of_one() {
        let c: ContainerConfig = toml_of(
            r#"[[runtimes]]
            kind = "python:3.11"
            image = "py"
            platforms = ["amd64", "ppc64le"]
            [[runtimes]]
            kind = "go:1.20"
            image = "go"
            images = { amd64 = "go-x86", arm64 = "go-arm" }
            [[runtimes]]
            kind = "php:8.1"
            image = "php""#,
        );
        c.validate().unwrap();
        let py = c.runtime("python:3.11").unwrap();
        assert_eq!(py.architectures().unwrap(), ["amd64", "ppc64le"]);
        assert_eq!(py.image_for("ppc64le"), Some("py"));
        let go = c.runtime("go:1.20").unwrap();
        assert_eq!(go.architectures().unwrap(), ["amd64", "arm64"]);
        assert_eq!(go.image_for("arm64"), Some("go-arm"));
        assert_eq!(go.image_for("s390x"), None);
        assert_eq!(c.runtime("php:8.1").unwrap().architectures(), None);
    }

    fn toml_of(text: &str) -> ContainerConfig {
        toml::from_str(text).unwrap()
    }
}
