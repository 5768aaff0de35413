//! [`DockerDriver`]: [`ContainerDriver`] on a Docker engine, through the Engine API (bollard),
//! with the API version negotiated at connect time: over a Unix socket, or TCP with or without
//! TLS. Containers are reached at their address on the engine's network, or, for an engine on
//! another machine, at a port they publish on that machine's address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding, ResourcesUlimits};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::stream::{BoxStream, StreamExt};
use shoal_router::{BoxFuture, LogStream};

use crate::config::HostConfig as HostSettings;
use crate::driver::{
    ContainerDriver, ContainerSpec, ContainerState, DriverError, EngineFacts, ImageFacts, LogLine,
    Started, answers_within, wait_listening,
};
use crate::logs::SENTINELS_LABEL;
use crate::protocol;

/// The longest wait for an engine's answer to a health check or a connect.
const ENGINE_ANSWER: Duration = Duration::from_secs(5);
/// The longest wait for a registry to list an image's platforms (through the engine).
const REGISTRY_ANSWER: Duration = Duration::from_secs(5);
/// The proxy's port as the engine names it in port maps.
const PROXY_PORT_KEY: &str = "8080/tcp";
/// OpenWhisk's per-container process and file limits (spec §7.1).
const PIDS_LIMIT: i64 = 1024;
const NOFILE_LIMIT: i64 = 1024;

/// A Docker engine reached on one endpoint. Cheap to clone (the client is shared).
#[derive(Clone)]
pub struct DockerDriver {
    docker: Docker,
    network: String,
    /// What the engine reported (the architecture as configured, when it is).
    facts: EngineFacts,
    /// `os/arch` images are pulled and started for, when the host's config names its
    /// architecture (else the engine's own).
    platform: Option<String>,
    /// Where containers publish their proxy's port, for an engine on another machine.
    publish_on: Option<IpAddr>,
}

impl DockerDriver {
    /// Connects to the engine of `host` (`unix://…`, `tcp://…`, with TLS when it names the
    /// files), negotiates the API version and reads what the engine says about its machine.
    pub async fn connect(host: &HostSettings) -> Result<Self, DriverError> {
        let version = bollard::API_DEFAULT_VERSION;
        let endpoint = host.docker_host.as_str();
        let docker = match (&host.tls, endpoint.starts_with("unix://")) {
            (_, true) => Docker::connect_with_unix(endpoint, 120, version),
            (Some(tls), false) => {
                Docker::connect_with_ssl(endpoint, &tls.key, &tls.cert, &tls.ca, 120, version)
            }
            (None, false) => Docker::connect_with_http(endpoint, 120, version),
        }
        .map_err(engine)?;
        let no_answer = |_| DriverError::Engine(format!("no answer from {endpoint}"));
        let docker = tokio::time::timeout(ENGINE_ANSWER, docker.negotiate_version())
            .await
            .map_err(no_answer)?
            .map_err(engine)?;
        let info = tokio::time::timeout(ENGINE_ANSWER, docker.info())
            .await
            .map_err(no_answer)?
            .map_err(engine)?;
        let os = info.os_type.unwrap_or_else(|| "linux".into());
        let architecture = match &host.architecture {
            Some(declared) => declared.clone(),
            None => go_arch(&info.architecture.unwrap_or_default()).to_string(),
        };
        let platform = host
            .architecture
            .as_ref()
            .map(|arch| format!("{os}/{arch}"));
        Ok(DockerDriver {
            docker,
            network: host.network.clone().unwrap_or_else(|| "bridge".into()),
            facts: EngineFacts {
                architecture,
                os,
                cpus: info.ncpu.unwrap_or(0).max(0) as u64,
                memory_bytes: info.mem_total.unwrap_or(0).max(0) as u64,
                labels: info.labels.unwrap_or_default(),
            },
            platform,
            publish_on: host.address,
        })
    }

    /// The architectures the registry lists for `image`, else the engine's own copy's.
    async fn image_platforms_inner(&self, image: &str) -> Result<Option<Vec<String>>, DriverError> {
        let asked = self.docker.inspect_registry_image(image, None);
        if let Ok(Ok(listed)) = tokio::time::timeout(REGISTRY_ANSWER, asked).await {
            let mut archs: Vec<String> = listed
                .platforms
                .into_iter()
                .filter(|p| p.os.as_deref().is_none_or(|os| os == self.facts.os))
                .filter_map(|p| p.architecture)
                .collect();
            archs.sort();
            archs.dedup();
            if !archs.is_empty() {
                return Ok(Some(archs));
            }
        }
        match self.docker.inspect_image(image).await {
            Ok(inspect) => Ok(inspect
                .architecture
                .filter(|a| !a.is_empty())
                .map(|a| vec![a])),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(engine(e)),
        }
    }

    async fn prepare_image_inner(&self, image: &str) -> Result<ImageFacts, DriverError> {
        let inspect = match self.docker.inspect_image(image).await {
            Err(e) if not_found(&e) => {
                self.pull(image).await?;
                self.docker.inspect_image(image).await.map_err(engine)?
            }
            other => other.map_err(engine)?,
        };
        // An image built for another architecture would die at its first instruction with a
        // confusing "exec format error": refuse it with a clear message instead.
        let image_arch = inspect.architecture.unwrap_or_default();
        if !image_arch.is_empty() && image_arch != self.facts.architecture {
            return Err(DriverError::Architecture {
                image: image.to_string(),
                image_arch,
                node_arch: self.facts.architecture.clone(),
            });
        }
        let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
        Ok(ImageFacts {
            log_sentinels: labels.get(SENTINELS_LABEL).is_some_and(|v| v == "true"),
        })
    }

    async fn pull(&self, image: &str) -> Result<(), DriverError> {
        let mut options = CreateImageOptionsBuilder::new().from_image(image);
        if let Some(platform) = &self.platform {
            options = options.platform(platform);
        }
        let options = options.build();
        let mut progress = self.docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step.map_err(|_| DriverError::Pull(image.to_string()))?;
        }
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, DriverError> {
        let bytes = (spec.memory_mb * 1024 * 1024) as i64;
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.iter().cloned().collect()),
            host_config: Some(HostConfig {
                memory: Some(bytes),
                memory_swap: Some(bytes),
                pids_limit: Some(PIDS_LIMIT),
                ulimits: Some(vec![ResourcesUlimits {
                    name: Some("nofile".into()),
                    soft: Some(NOFILE_LIMIT),
                    hard: Some(NOFILE_LIMIT),
                }]),
                network_mode: Some(self.network.clone()),
                port_bindings: self.publish_on.map(|ip| {
                    let any_port = PortBinding {
                        host_ip: Some(ip.to_string()),
                        host_port: Some(String::new()),
                    };
                    HashMap::from([(PROXY_PORT_KEY.to_string(), Some(vec![any_port]))])
                }),
                ..HostConfig::default()
            }),
            exposed_ports: self.publish_on.map(|_| vec![PROXY_PORT_KEY.to_string()]),
            ..ContainerCreateBody::default()
        };
        let mut options = CreateContainerOptionsBuilder::new().name(&spec.name);
        if let Some(platform) = &self.platform {
            options = options.platform(platform);
        }
        let options = options.build();
        let created = self.docker.create_container(Some(options), body).await;
        Ok(created.map_err(engine)?.id)
    }

    async fn start_inner(&self, spec: ContainerSpec) -> Result<Started, DriverError> {
        let id = self.create(&spec).await?;
        let started = async {
            self.docker
                .start_container(
                    &id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await
                .map_err(engine)?;
            let inspect = self
                .docker
                .inspect_container(&id, None)
                .await
                .map_err(engine)?;
            if inspect.state.and_then(|s| s.running) != Some(true) {
                return Err(DriverError::Exited);
            }
            let address = self.proxy_address(inspect.network_settings)?;
            // The proxy's time counts from its container running: a busy engine's slow
            // create or start is not the image's fault.
            let ready_by = Instant::now() + spec.ready_within;
            let forwarded = self.publish_on.is_some();
            wait_listening(self, &id, address, ready_by, spec.ready_within, forwarded).await?;
            Ok(address)
        }
        .await;
        match started {
            Ok(address) => Ok(Started { id, address }),
            Err(e) => {
                let _ = self.remove_inner(&id).await;
                Err(e)
            }
        }
    }

    /// Where a started container's proxy is reached: the port it published on the host's
    /// address, or its own address on the network.
    fn proxy_address(
        &self,
        settings: Option<bollard::models::NetworkSettings>,
    ) -> Result<SocketAddr, DriverError> {
        let settings = settings.unwrap_or_default();
        if let Some(ip) = self.publish_on {
            return settings
                .ports
                .and_then(|ports| ports.get(PROXY_PORT_KEY).cloned().flatten())
                .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port))
                .and_then(|port| port.parse::<u16>().ok())
                .map(|port| SocketAddr::new(ip, port))
                .ok_or_else(|| {
                    DriverError::Engine(format!("the container published no port on {ip}"))
                });
        }
        settings
            .networks
            .and_then(|n| n.get(&self.network).and_then(|e| e.ip_address.clone()))
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, protocol::PROXY_PORT))
            .ok_or_else(|| {
                DriverError::Engine(format!(
                    "container has no address on network '{}'",
                    self.network
                ))
            })
    }

    async fn state_inner(&self, id: &str) -> Result<ContainerState, DriverError> {
        match self.docker.inspect_container(id, None).await {
            Ok(inspect) => {
                let state = inspect.state.unwrap_or_default();
                Ok(ContainerState {
                    running: state.running == Some(true),
                    oom_killed: state.oom_killed == Some(true),
                })
            }
            Err(e) if not_found(&e) => Ok(ContainerState::default()),
            Err(e) => Err(engine(e)),
        }
    }

    async fn remove_inner(&self, id: &str) -> Result<(), DriverError> {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        match self.docker.remove_container(id, Some(options)).await {
            Err(e) if !not_found(&e) => Err(engine(e)),
            _ => Ok(()),
        }
    }
}

/// Whether the engine answered 404 (no such image or container).
fn not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The Go name of a kernel's architecture name (`docker info` reports the kernel's; images
/// report Go's).
fn go_arch(kernel: &str) -> &str {
    match kernel {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        "i686" | "i386" => "386",
        other => other,
    }
}

fn engine(e: BollardError) -> DriverError {
    DriverError::Engine(e.to_string())
}

impl ContainerDriver for DockerDriver {
    fn facts(&self) -> &EngineFacts {
        &self.facts
    }

    fn ping(&self) -> BoxFuture<Result<(), DriverError>> {
        let docker = self.docker.clone();
        Box::pin(async move { answers_within(docker.ping(), ENGINE_ANSWER).await })
    }

    fn image_platforms(&self, image: &str) -> BoxFuture<Result<Option<Vec<String>>, DriverError>> {
        let (this, image) = (self.clone(), image.to_string());
        Box::pin(async move { this.image_platforms_inner(&image).await })
    }
    fn prepare_image(&self, image: &str) -> BoxFuture<Result<ImageFacts, DriverError>> {
        let (this, image) = (self.clone(), image.to_string());
        Box::pin(async move { this.prepare_image_inner(&image).await })
    }

    fn start(&self, spec: ContainerSpec) -> BoxFuture<Result<Started, DriverError>> {
        let this = self.clone();
        Box::pin(async move { this.start_inner(spec).await })
    }

    fn pause(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        let (docker, id) = (self.docker.clone(), id.to_string());
        Box::pin(async move { docker.pause_container(&id).await.map_err(engine) })
    }

    fn unpause(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        let (docker, id) = (self.docker.clone(), id.to_string());
        Box::pin(async move { docker.unpause_container(&id).await.map_err(engine) })
    }

    fn remove(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        let (this, id) = (self.clone(), id.to_string());
        Box::pin(async move { this.remove_inner(&id).await })
    }

    fn logs(&self, id: &str) -> BoxStream<'static, LogLine> {
        let options = LogsOptionsBuilder::new()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .build();
        self.docker
            .logs(id, Some(options))
            .take_while(|r| std::future::ready(r.is_ok()))
            .filter_map(|r| {
                std::future::ready(match r {
                    Ok(LogOutput::StdOut { message }) => {
                        Some(LogLine::stamped(LogStream::Stdout, &message))
                    }
                    Ok(LogOutput::StdErr { message }) => {
                        Some(LogLine::stamped(LogStream::Stderr, &message))
                    }
                    _ => None,
                })
            })
            .boxed()
    }

    fn state(&self, id: &str) -> BoxFuture<Result<ContainerState, DriverError>> {
        let (this, id) = (self.clone(), id.to_string());
        Box::pin(async move { this.state_inner(&id).await })
    }

    fn remove_labelled(&self, key: &str, value: &str) -> BoxFuture<Result<usize, DriverError>> {
        let this = self.clone();
        let filters = HashMap::from([("label", vec![format!("{key}={value}")])]);
        Box::pin(async move {
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            let found = this
                .docker
                .list_containers(Some(options))
                .await
                .map_err(engine)?;
            let ids: Vec<String> = found.into_iter().filter_map(|c| c.id).collect();
            for id in &ids {
                this.remove_inner(id).await?;
            }
            Ok(ids.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_architectures_get_go_names() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("s390x"), "s390x");
    }

    #[test]
    fn engine_log_records_keep_their_time_and_text() {
        let line = LogLine::stamped(
            LogStream::Stderr,
            b"2026-11-23T16:35:21.359338993Z hello world\n",
        );
        assert_eq!(line.text, "hello world");
        assert_eq!(line.stream, LogStream::Stderr);
        let at: chrono::DateTime<chrono::Utc> = line.at.into();
        assert_eq!(at.to_rfc3339(), "2026-11-23T16:35:21.359338993+00:00");
        assert_eq!(
            LogLine::stamped(LogStream::Stdout, b"no-time").text,
            "no-time"
        );
    }
}
