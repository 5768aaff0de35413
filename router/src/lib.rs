//! # shoal-router: the execution-domain SPI and the routing table
//!
//! Every place that can run an action (a JS isolate engine, a WASM engine, a container invoker)
//! is an [`Executor`]. The host builds an [`Invocation`] (everything the executor needs and
//! nothing else), hands it to the executor chosen by the [`RoutingTable`] from the action's
//! kind, and gets back an [`Outcome`]: a result or one of a closed set of [`Failure`]s, plus
//! the captured logs and timings. Turning an outcome into an OpenWhisk activation response
//! happens in the host, in one function.
//!
//! This crate names no engine, speaks no HTTP and stores nothing; it depends on no other
//! workspace crate.

mod clock;
mod egress;
mod invocation;
pub mod json;
mod logs;
mod outcome;
pub mod sched;
mod table;

pub use clock::WallClock;
pub use egress::{
    Egress, EgressSlot, MAX_REQUESTS_IN_FLIGHT, NO_EGRESS, OutboundRequest, OutboundResponse,
    TOO_MANY_REQUESTS,
};
pub use invocation::{
    ActionCode, ActivationId, HostTags, INVOKER_RESOURCES, INVOKER_RESOURCES_STRICT, Invocation,
    Limits, OwEnv,
};
pub use logs::{LogCollector, LogStream, format_log_line};
pub use outcome::{ExecutorStats, Failure, HostReport, MAX_RESULT_BYTES, Outcome, PrepareError};
pub use table::{BLACKBOX, ENGINE_ANNOTATION, KindInfo, RouteError, RoutingTable, UnsupportedKind};

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what [`Executor::invoke`] returns. One allocation per invoke.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A place that runs actions: one implementation per execution domain.
///
/// Implementations are shared as `Arc<dyn Executor>` and called from any thread. They must
/// never panic or hang on behalf of an action: every way an action can fail is an [`Outcome`].
pub trait Executor: Send + Sync + 'static {
    /// Short, stable name of the domain this executor serves (e.g. `quickjs`), used in stats
    /// and activation annotations.
    fn name(&self) -> &'static str;

    /// Ahead-of-time work for an action's code (parse, compile, snapshot), done when an action
    /// is created or updated so that the first invoke does not pay for it. Rejects code that
    /// can never run with a message fit for a 400 response.
    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError>;

    /// Runs one activation to completion (or to its deadline) and reports what happened.
    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome>;

    /// Density and health figures (resident isolates, memory per isolate, …).
    fn stats(&self) -> ExecutorStats;

    /// Drops every idle instance (warm isolates waiting for their next activation) so that
    /// the memory they hold goes back to the host; resolves once done. Called when the
    /// process-wide memory budget runs short. The default has nothing to drop.
    fn trim(&self) -> BoxFuture<()> {
        Box::pin(std::future::ready(()))
    }

    /// The machines it places activations on (container hosts), as they are now. In-process
    /// executors have none (the default).
    fn hosts(&self) -> Vec<HostReport> {
        Vec::new()
    }
}
