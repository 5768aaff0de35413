//! The suite's stand-in for the host's egress: it answers every outbound request itself with
//! a JSON echo of what it was sent (method, URL, headers, body), and refuses host
//! `refused.test` as the host's policy refuses a private address. It proves the engines'
//! plumbing (`fetch`, `http`, the `openwhisk` client down to the request the host would
//! send); the host's end-to-end tests prove the real egress.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use shoal_router::{BoxFuture, Egress, EgressSlot, OutboundRequest, OutboundResponse};

/// Every executor the suite starts gets this egress ([`echo_egress`]).
struct Echo;

impl Egress for Echo {
    fn send(&self, request: OutboundRequest) -> BoxFuture<Result<OutboundResponse, String>> {
        Box::pin(async move {
            if request.url.contains("://refused.test") {
                return Err("connect EACCES refused.test: the egress policy does not let actions reach this address".into());
            }
            let headers: Map<String, Value> = request
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
                .collect();
            let echo = json!({
                "method": request.method,
                "url": request.url,
                "headers": headers,
                "body": String::from_utf8_lossy(&request.body),
            });
            Ok(OutboundResponse {
                status: 200,
                status_text: "OK".into(),
                url: request.url,
                redirected: false,
                headers: vec![("content-type".into(), "application/json".into())],
                body: echo.to_string().into_bytes(),
            })
        })
    }
}

/// An egress slot holding the suite's echo egress, for the executors under test.
pub fn echo_egress() -> EgressSlot {
    let slot = EgressSlot::default();
    let _ = slot.set(Arc::new(Echo));
    slot
}
