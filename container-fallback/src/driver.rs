//! [`ContainerDriver`]: what the pool needs from a container engine, and the types it speaks.
//! The Docker Engine implementation is [`crate::DockerDriver`]; tests may plug in others.

use std::net::SocketAddr;
use std::time::SystemTime;

use futures_util::stream::BoxStream;
use shoal_router::{BoxFuture, LogStream};

/// What a container is created with.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Unique container name.
    pub name: String,
    /// Image whose entry point is an action proxy listening on port 8080.
    pub image: String,
    /// Memory limit (also the swap limit: no swap), in MB.
    pub memory_mb: u64,
    /// `NAME=value` environment entries.
    pub env: Vec<String>,
    /// Labels; the pool marks every container it creates with its owner label.
    pub labels: Vec<(String, String)>,
    /// Whether to pull the image when the engine does not have it.
    pub pull: bool,
}

/// A started container: its engine id and where its action proxy listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Engine id.
    pub id: String,
    /// The proxy's address (container IP, port 8080).
    pub address: SocketAddr,
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
    /// The image is not on the engine and could not be pulled.
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
    /// Anything else the engine reported.
    #[error("container engine: {0}")]
    Engine(String),
}

/// A container engine. Every call is independent and may run concurrently with others; ids are
/// the engine's. Costs are the engine's (a create is tens to hundreds of milliseconds).
pub trait ContainerDriver: Send + Sync + 'static {
    /// Creates and starts a container, returning once its address is known. Refuses an image
    /// built for another CPU architecture than the node's.
    fn start(&self, spec: ContainerSpec) -> BoxFuture<Result<Started, DriverError>>;
    /// Freezes every process of the container.
    fn pause(&self, id: &str) -> BoxFuture<Result<(), DriverError>>;
    /// Thaws a paused container.
    fn unpause(&self, id: &str) -> BoxFuture<Result<(), DriverError>>;
    /// Removes the container, killing it if it runs.
    fn remove(&self, id: &str) -> BoxFuture<Result<(), DriverError>>;
    /// The container's output from its start, following new lines until it is removed.
    fn logs(&self, id: &str) -> BoxStream<'static, LogLine>;
    /// Whether the container was killed for exceeding its memory limit (waits briefly for it
    /// to stop, since the kill and the broken connection race).
    fn oom_killed(&self, id: &str) -> BoxFuture<bool>;
    /// Removes every container carrying label `key=value` (left over by an earlier run of the
    /// same owner, e.g. after `kill -9`); returns how many.
    fn remove_labelled(&self, key: &str, value: &str) -> BoxFuture<Result<usize, DriverError>>;
}
