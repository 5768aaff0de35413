//! [`Observer`]: what the controller, the throttles and the server report as they work, for
//! whoever counts it (the host's Prometheus metrics). Every method defaults to doing nothing
//! ([`Quiet`]), so a controller built without metrics pays nothing.

use std::time::Duration;

/// What the controller and the server report as they work. Every method defaults to doing
/// nothing.
pub trait Observer: Send + Sync {
    /// An activation of `namespace` ended with `status` (the record's `response.status`)
    /// after `duration`; `init` is its initialisation time when it started cold.
    fn activation(
        &self,
        _namespace: &str,
        _kind: &str,
        _status: &'static str,
        _duration: Duration,
        _init: Option<Duration>,
    ) {
    }

    /// A call of `namespace` was refused with 429 because it is over `limit`.
    fn throttled(&self, _namespace: &str, _limit: Limit) {}

    /// A blocking caller waited `waited` for its activation's record to become durable.
    fn committed(&self, _waited: Duration) {}

    /// An HTTP request to `route` (a template of the API's route table) was answered with `status`
    /// after `elapsed`.
    fn request(&self, _route: &'static str, _status: u16, _elapsed: Duration) {}
}

/// Which of a namespace's limits refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `invocationsPerMinute`.
    InvocationsPerMinute,
    /// `concurrentInvocations`.
    ConcurrentInvocations,
    /// `firesPerMinute`.
    FiresPerMinute,
}

impl Limit {
    /// The limit's name as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::InvocationsPerMinute => "invocations_per_minute",
            Limit::ConcurrentInvocations => "concurrent_invocations",
            Limit::FiresPerMinute => "fires_per_minute",
        }
    }
}

/// The observer that reports to nobody.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}
