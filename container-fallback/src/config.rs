//! [`ContainerConfig`]: the runtime manifest (kind → image, prewarm "stem cells") and the pool's
//! capacity and timeouts. Deserialised from the host's `[containers]` config section.

use serde::Deserialize;

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
}

/// One kind served by containers (an entry of OpenWhisk's `runtimes.json`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// Full kind, e.g. `python:3.11`.
    pub kind: String,
    /// The image whose entry point is an action proxy on port 8080.
    pub image: String,
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
        if !(self.docker_host.starts_with("unix://") || self.docker_host.starts_with("tcp://")) {
            return Err(format!(
                "containers.docker_host must start with unix:// or tcp://, got '{}'",
                self.docker_host
            ));
        }
        for r in &self.runtimes {
            if !r.kind.contains(':') || r.image.trim().is_empty() {
                return Err(format!(
                    "containers.runtimes: kind '{}' needs the form family:version and an image",
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
}
