//! [`ContainerDriver`]: what the pool needs from a container engine, and the types it speaks.
//! The Docker Engine implementation is [`crate::DockerDriver`]; tests may plug in others.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use futures_util::stream::BoxStream;
use shoal_router::{BoxFuture, Failure, LogStream};

use crate::protocol;

/// What a container is created with.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Unique container name.
    pub name: String,
    /// Image whose entry point is an action proxy listening on port 8080 (already on the
    /// engine: see [`ContainerDriver::prepare_image`]).
    pub image: String,
    /// Memory limit (also the swap limit: no swap), in MB.
    pub memory_mb: u64,
    /// `NAME=value` environment entries.
    pub env: Vec<String>,
    /// Labels; the pool marks every container it creates with its owner label.
    pub labels: Vec<(String, String)>,
    /// How long the proxy of the running container may take to accept connections (counted
    /// from the engine reporting the container running).
    pub ready_within: Duration,
}

/// What the pool learns about an image before it creates containers of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageFacts {
    /// Whether the image declares, with the label [`crate::logs::SENTINELS_LABEL`]` = "true"`,
    /// that its action proxy prints OpenWhisk's log sentinels.
    pub log_sentinels: bool,
}

/// What an engine says about the machine it runs on (read once, at connect).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineFacts {
    /// Its CPU architecture, in Go's names (as images name theirs), or what the host's config
    /// says to take it for.
    pub architecture: String,
    /// Its operating system (`linux`).
    pub os: String,
    /// Its CPUs.
    pub cpus: u64,
    /// Its memory, in bytes.
    pub memory_bytes: u64,
    /// The engine's own labels (`key=value`).
    pub labels: Vec<String>,
}

/// A started container: its engine id and where its action proxy listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Engine id.
    pub id: String,
    /// The proxy's address (container IP, port 8080).
    pub address: SocketAddr,
}

/// What the engine says about a container now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerState {
    /// Whether its main process runs (a paused container runs).
    pub running: bool,
    /// Whether the engine recorded that it was killed for exceeding its memory limit. Engines
    /// set this when the container's main process is killed; an OOM kill of a child process
    /// of a container that keeps running is reported by shoal's proxy instead.
    pub oom_killed: bool,
}

/// One line a container wrote, as the engine recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Which stream.
    pub stream: LogStream,
    /// When the engine received it.
    pub at: SystemTime,
    /// The text, without its line break.
    pub text: String,
}

/// Why a driver call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The image is not on the engine and could not be pulled (in time).
    #[error("Failed to pull container image '{0}'.")]
    Pull(String),
    /// The image is built for another CPU architecture than the engine's node.
    #[error("The image '{image}' is built for {image_arch}, and this node runs {node_arch}.")]
    Architecture {
        /// The image.
        image: String,
        /// Its architecture (Go names: `amd64`, `arm64`, …).
        image_arch: String,
        /// The node's.
        node_arch: String,
    },
    /// The container stopped before its proxy accepted a connection.
    #[error("{}", protocol::INIT_EXITED)]
    Exited,
    /// The container runs, but its proxy did not accept connections by the time asked for.
    #[error(
        "The action failed during initialization: its action proxy did not listen on port {} within {seconds} seconds.",
        protocol::PROXY_PORT
    )]
    NeverListened {
        /// How long it was given.
        seconds: u64,
    },
    /// Anything else the engine reported.
    #[error("container engine: {0}")]
    Engine(String),
}

impl DriverError {
    /// The activation's failure when a container of an image could not be had: a developer
    /// error when the image is the developer's (`developers_image`: a blackbox image) and the
    /// image, not the engine, is to blame; a whisk internal error otherwise (a runtime image
    /// from the manifest is the platform's, as OpenWhisk tells a blackbox startup error from
    /// a whisk one).
    pub fn failure(self, developers_image: bool) -> Failure {
        if developers_image && !matches!(self, DriverError::Engine(_)) {
            Failure::DeveloperError(self.to_string().into())
        } else {
            Failure::Internal(self.to_string())
        }
    }
}

/// A container engine. Every call is independent and may run concurrently with others; ids are
/// the engine's. Costs are the engine's (a create is tens to hundreds of milliseconds, a pull
/// seconds to minutes).
pub trait ContainerDriver: Send + Sync + 'static {
    /// What the engine reported about its machine when connected.
    fn facts(&self) -> &EngineFacts;
    /// Whether the engine can freeze containers (idle warm ones are paused only then).
    fn can_pause(&self) -> bool {
        true
    }
    /// Checks that the engine answers (one cheap call).
    fn ping(&self) -> BoxFuture<Result<(), DriverError>>;
    /// The CPU architectures `image` exists for, as its registry reports them (every
    /// platform of a multi-architecture manifest list) or, when the registry cannot be asked,
    /// as the engine's own copy says; `None` when neither knows the image.
    fn image_platforms(&self, image: &str) -> BoxFuture<Result<Option<Vec<String>>, DriverError>>;
    /// Makes `image` available on the engine, pulling it when missing, and reads what the pool
    /// needs to know about it. Refuses an image built for another CPU architecture than the
    /// node's.
    fn prepare_image(&self, image: &str) -> BoxFuture<Result<ImageFacts, DriverError>>;
    /// Creates and starts a container, returning once its proxy accepts connections (or
    /// failing, with the container removed, when it stops first or does not listen within
    /// `spec.ready_within` of running).
    fn start(&self, spec: ContainerSpec) -> BoxFuture<Result<Started, DriverError>>;
    /// Freezes every process of the container.
    fn pause(&self, id: &str) -> BoxFuture<Result<(), DriverError>>;
    /// Thaws a paused container.
    fn unpause(&self, id: &str) -> BoxFuture<Result<(), DriverError>>;
    /// Removes the container, killing it if it runs (paused ones included).
    fn remove(&self, id: &str) -> BoxFuture<Result<(), DriverError>>;
    /// The container's output from its start, following new lines until it is removed.
    fn logs(&self, id: &str) -> BoxStream<'static, LogLine>;
    /// The container's state; a container the engine does not know is neither running nor
    /// OOM-killed.
    fn state(&self, id: &str) -> BoxFuture<Result<ContainerState, DriverError>>;
    /// Removes every container carrying label `key=value` (left over by an earlier run of the
    /// same owner, e.g. after `kill -9`); returns how many.
    fn remove_labelled(&self, key: &str, value: &str) -> BoxFuture<Result<usize, DriverError>>;
}
