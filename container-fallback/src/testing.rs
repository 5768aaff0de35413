//! What the unit tests share: a [`FakeDriver`] that runs no containers (each "container" is
//! an entry in a list, started at an address the test chose, every call recorded), pool
//! [`settings`] and an [`invocation`] builder.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use parking_lot::Mutex;
use serde_json::json;
use shoal_router::{ActionCode, ActivationId, BoxFuture, Invocation, Limits, OwEnv};

use crate::config::HostConfig;
use crate::driver::{
    ContainerDriver, ContainerSpec, ContainerState, DriverError, EngineFacts, ImageFacts, LogLine,
    Started,
};
use crate::hosts::Host;
use crate::pool::PoolSettings;

/// Image whose pull never ends.
pub const SLOW_PULL: &str = "test/slow-pull";
/// Image whose containers never finish starting.
pub const STUCK_START: &str = "test/stuck-start";

/// A driver keeping containers as ids `c0`, `c1`, … and recording every call as
/// `"<call> <id or image>"`.
#[derive(Default)]
pub struct FakeDriver {
    /// The calls so far, oldest first.
    pub calls: Mutex<Vec<String>>,
    /// Addresses handed to the next started containers (then `127.0.0.1:9`).
    pub addresses: Mutex<VecDeque<SocketAddr>>,
    /// Images whose starts fail, and with what (until removed).
    pub failing: Mutex<Vec<(String, DriverError)>>,
    /// Whether health checks fail.
    pub silent: std::sync::atomic::AtomicBool,
    /// What it says about its machine (`amd64`, `linux`).
    pub facts: EngineFacts,
    next: AtomicU64,
}

impl FakeDriver {
    fn record(&self, call: &str, what: &str) {
        self.calls.lock().push(format!("{call} {what}"));
    }

    /// The recorded calls named `call`, with their argument.
    pub fn calls_to(&self, call: &str) -> Vec<String> {
        let prefix = format!("{call} ");
        self.calls
            .lock()
            .iter()
            .filter_map(|c| c.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }
}

impl ContainerDriver for FakeDriver {
    fn facts(&self) -> &EngineFacts {
        &self.facts
    }

    fn ping(&self) -> BoxFuture<Result<(), DriverError>> {
        let silent = self.silent.load(Ordering::Relaxed);
        Box::pin(async move {
            match silent {
                true => Err(DriverError::Engine("no answer".into())),
                false => Ok(()),
            }
        })
    }

    fn image_platforms(&self, _image: &str) -> BoxFuture<Result<Option<Vec<String>>, DriverError>> {
        Box::pin(async { Ok(None) })
    }
    fn prepare_image(&self, image: &str) -> BoxFuture<Result<ImageFacts, DriverError>> {
        self.record("prepare", image);
        let slow = image == SLOW_PULL;
        Box::pin(async move {
            if slow {
                std::future::pending::<()>().await;
            }
            Ok(ImageFacts::default())
        })
    }

    fn start(&self, spec: ContainerSpec) -> BoxFuture<Result<Started, DriverError>> {
        let id = format!("c{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.record("start", &id);
        let address = self
            .addresses
            .lock()
            .pop_front()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9)));
        let failure = self
            .failing
            .lock()
            .iter()
            .find(|(image, _)| *image == spec.image)
            .map(|(_, e)| e.clone());
        Box::pin(async move {
            if spec.image == STUCK_START {
                std::future::pending::<()>().await;
            }
            match failure {
                Some(e) => Err(e),
                None => Ok(Started { id, address }),
            }
        })
    }

    fn pause(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        self.record("pause", id);
        Box::pin(async { Ok(()) })
    }

    fn unpause(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        self.record("unpause", id);
        Box::pin(async { Ok(()) })
    }

    fn remove(&self, id: &str) -> BoxFuture<Result<(), DriverError>> {
        self.record("remove", id);
        Box::pin(async { Ok(()) })
    }

    fn logs(&self, _id: &str) -> BoxStream<'static, LogLine> {
        futures_util::stream::pending().boxed()
    }

    fn state(&self, _id: &str) -> BoxFuture<Result<ContainerState, DriverError>> {
        Box::pin(async { Ok(ContainerState::default()) })
    }

    fn remove_labelled(&self, _key: &str, _value: &str) -> BoxFuture<Result<usize, DriverError>> {
        Box::pin(async { Ok(0) })
    }
}

/// A host named `test` on `driver`, connected, with pool [`settings`] of `capacity_mb`.
pub async fn host(driver: Arc<FakeDriver>, capacity_mb: u64) -> Arc<Host> {
    let host = Arc::new(Host::new(HostConfig {
        name: "test".into(),
        docker_host: "unix:///fake".into(),
        kubernetes: None,
        network: None,
        capacity_mb,
        tags: Vec::new(),
        address: None,
        architecture: None,
        tls: None,
    }));
    host.attach(driver, settings(capacity_mb), true)
        .await
        .unwrap();
    host
}

/// Pool settings for tests: `capacity_mb`, no stem cells, no environment, generous timeouts.
pub fn settings(capacity_mb: u64) -> PoolSettings {
    PoolSettings {
        owner: "/data".into(),
        capacity_mb,
        pause_grace: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(600),
        pull_timeout: Duration::from_secs(30),
        start_timeout: Duration::from_secs(20),
        env: Vec::new(),
        stem_cells: Vec::new(),
        host_tags: Vec::new(),
    }
}

/// An invocation of action `fqn` (`/ns/[pkg/]name`) of `kind` by namespace `guest`, with
/// parameters `{"name": "shoal"}`, `init` parameters `{"secret": "s3", "n": 2, "none": null}`,
/// default limits, no API key, and a deadline one timeout from now.
pub fn invocation(fqn: &str, kind: &str) -> Invocation {
    let name = fqn.rsplit('/').next().unwrap_or(fqn).to_string();
    let action = ActionCode {
        fqn: fqn.into(),
        name,
        version: "0.0.2".into(),
        kind: kind.into(),
        code: Arc::from("def main(a): return a"),
        binary: false,
        main: "main".into(),
        digest: [0; 32],
        image: None,
        host_tags: Default::default(),
    };
    let limits = Limits::default();
    Invocation {
        activation_id: ActivationId::from_random([7; 16]),
        action: Arc::new(action),
        tenant: Arc::from("guest"),
        params: json!({"name": "shoal"}).as_object().cloned().unwrap(),
        init_env: json!({"secret": "s3", "n": 2, "none": null})
            .as_object()
            .cloned()
            .unwrap(),
        env: OwEnv {
            api_host: "http://shoal.test".into(),
            api_key: None,
            namespace: "guest".into(),
            action_name: fqn.into(),
            action_version: "0.0.2".into(),
            activation_id: "07".repeat(16),
            transaction_id: "tid".into(),
            deadline: "1".into(),
        },
        limits,
        deadline: Instant::now() + Duration::from_millis(limits.timeout_ms),
    }
}
