//! Outbound HTTP from actions: what an isolate's `fetch` (and Node's `http` client, and the
//! `openwhisk` client) asks the host to send. The host owns the one HTTP client and the
//! egress policy; executors only carry requests to it through an [`EgressSlot`].

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::BoxFuture;

/// One outbound request, fully buffered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// Request body (empty for none).
    pub body: Vec<u8>,
    /// Whether redirects are followed (`fetch`'s `redirect: "follow"`).
    pub follow_redirects: bool,
    /// The calling activation's deadline: the request fails when it passes.
    pub deadline: Instant,
    /// Most response body bytes accepted (the action's memory limit): a larger body fails the
    /// request instead of growing the host.
    pub max_body_bytes: usize,
    /// The namespace the calling activation runs for: the egress meters requests in flight
    /// per namespace, so one cannot take every outbound slot of the host.
    pub tenant: Arc<str>,
}

/// The response to an [`OutboundRequest`], fully buffered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub status_text: String,
    /// The final URL (after redirects).
    pub url: String,
    /// Whether a redirect was followed.
    pub redirected: bool,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// Sends actions' outbound requests, applying the host's egress policy. `Err` is a network
/// error as the action should see it (refused by policy, unreachable, timed out).
pub trait Egress: Send + Sync + 'static {
    /// Sends `request`; the future is `Send` and runs wherever the caller polls it.
    fn send(&self, request: OutboundRequest) -> BoxFuture<Result<OutboundResponse, String>>;
}

/// Where an executor finds the host's [`Egress`]: filled once by the host after it has built
/// the executors (the egress needs the host's API, which needs the executors). Empty means
/// actions have no network.
pub type EgressSlot = Arc<OnceLock<Arc<dyn Egress>>>;

/// The error an action sees when no egress was installed.
pub const NO_EGRESS: &str = "outbound network access is not available to this action";

/// Most outbound requests one isolate may have in flight: each holds its body and a task of
/// the host outside the action's memory limit.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 256;

/// The error an action sees past [`MAX_REQUESTS_IN_FLIGHT`].
pub const TOO_MANY_REQUESTS: &str =
    "too many outbound requests in flight: at most 256 at once per action";
