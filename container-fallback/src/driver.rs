//! [`ContainerDriver`]: what the pool needs from a container engine, and the types it speaks.
//! The Docker Engine implementation is [`crate::DockerDriver`]; tests may plug in others.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

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
    /// Tags of the action that its host carries: a cluster keeps the pod to nodes with them.
    pub tags: Vec<String>,
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

impl LogLine {
    /// One line as an engine reports it with timestamps (`<RFC 3339 time> <text>`, with or
    /// without its line break); a line without a readable time gets now.
    pub fn stamped(stream: LogStream, raw: &[u8]) -> LogLine {
        let text = String::from_utf8_lossy(raw);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let (at, text) = match text.split_once(' ') {
            Some((ts, rest)) => match chrono::DateTime::parse_from_rfc3339(ts) {
                Ok(t) => (SystemTime::from(t), rest),
                Err(_) => (SystemTime::now(), text),
            },
            None => (SystemTime::now(), text),
        };
        LogLine {
            stream,
            at,
            text: text.to_string(),
        }
    }
}

/// A health check: `answer` (an engine's cheapest call) within `within`.
pub(crate) async fn answers_within<T, E: std::fmt::Display>(
    answer: impl std::future::Future<Output = Result<T, E>>,
    within: Duration,
) -> Result<(), DriverError> {
    match tokio::time::timeout(within, answer).await {
        Ok(answer) => answer
            .map(drop)
            .map_err(|e| DriverError::Engine(e.to_string())),
        Err(_) => Err(DriverError::Engine("no answer to a health check".into())),
    }
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
    /// Whether [`ContainerDriver::logs`] reports both of a container's streams as stdout.
    fn merges_streams(&self) -> bool {
        false
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

/// How long one connection attempt to a starting proxy may take.
const CONNECT_ATTEMPT: Duration = Duration::from_millis(200);
/// The pause between connection attempts to a starting proxy.
const CONNECT_RETRY: Duration = Duration::from_millis(5);
/// Every how many refused attempts the engine is asked whether the container still runs.
const STATE_EVERY: u64 = 20;
/// How long a connection through an engine's port forwarder must stay open to count as
/// reaching the container's proxy (see `held_open`).
const FORWARD_SETTLES: Duration = Duration::from_millis(100);

/// Waits until the proxy of container `id` on `driver` accepts a connection at `address`
/// (through an engine's port forwarder when `forwarded`: see `held_open`); fails when
/// the container stops first or `ready_by` passes.
pub(crate) async fn wait_listening(
    driver: &dyn ContainerDriver,
    id: &str,
    address: SocketAddr,
    ready_by: Instant,
    given: Duration,
    forwarded: bool,
) -> Result<(), DriverError> {
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        let connect = tokio::net::TcpStream::connect(address);
        let connected = match tokio::time::timeout(CONNECT_ATTEMPT, connect).await {
            Ok(Ok(stream)) => !forwarded || held_open(stream).await,
            _ => false,
        };
        if connected {
            // A container that exited gives its address back, and the engine may hand it
            // to another container at once: whoever answered is this container's proxy
            // only if the container is still running (it has held the address since it
            // started).
            return match driver.state(id).await {
                Ok(s) if !s.running => Err(DriverError::Exited),
                _ => Ok(()),
            };
        }
        // A refused connection costs microseconds; ask the engine only now and then, and
        // always before giving up (a container that stopped has "exited", not "never
        // listened"). Only its word that the container stopped counts: a busy engine may
        // fail to answer.
        let out_of_time = Instant::now() >= ready_by;
        if (out_of_time || attempt.is_multiple_of(STATE_EVERY))
            && matches!(driver.state(id).await, Ok(s) if !s.running)
        {
            return Err(DriverError::Exited);
        }
        if out_of_time {
            return Err(DriverError::NeverListened {
                seconds: given.as_secs(),
            });
        }
        tokio::time::sleep(CONNECT_RETRY).await;
    }
}

/// Whether a connection to a published port reached a listening proxy. The engine's port
/// forwarder accepts every connection and closes it when the container does not listen
/// (yet): one it keeps open for [`FORWARD_SETTLES`] reached the proxy. Costs that long.
async fn held_open(mut stream: tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    match tokio::time::timeout(FORWARD_SETTLES, stream.read(&mut byte)).await {
        Err(_) => true,
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
    }
}
