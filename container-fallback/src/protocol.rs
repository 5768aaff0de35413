//! OpenWhisk's action-container protocol, invoker side (spec §7.2, §7.3, §3.4): the `/init`
//! and `/run` bodies, one HTTP client for every proxy, and the mapping of each answer (or its
//! absence) to a result or a [`Failure`] with OpenWhisk's exact texts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value, json};
use shoal_router::{Failure, Invocation, MAX_RESULT_BYTES, json};

/// The port every action proxy listens on (spec §7.1).
pub const PROXY_PORT: u16 = 8080;

/// The header by which shoal's proxy says that a failed `/run` lost a process to the kernel's
/// OOM killer (it reads its memory cgroup's `oom_kill` count before and after the run).
pub const OOM_KILLED_HEADER: &str = "x-shoal-oom-killed";

/// The result text of a container that exited during `/init` (spec §3.4).
pub const INIT_EXITED: &str = "The action did not initialize and exited unexpectedly.";

/// What a proxy did with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// It answered: status, the body (at most [`MAX_RESULT_BYTES`]) and the body's full length.
    Replied {
        /// HTTP status.
        status: u16,
        /// The body, cut at the read limit.
        body: Bytes,
        /// The body's length before the cut.
        length: usize,
    },
    /// It answered that the kernel killed a process of the action for exceeding the memory
    /// limit ([`OOM_KILLED_HEADER`]).
    OomKilled,
    /// The connection failed or broke (the proxy is not listening, or its process died).
    Unreachable,
    /// No answer before the deadline.
    TimedOut,
}

impl Answer {
    /// Whether the proxy refused with 503, which means it is shutting down: the activation
    /// goes to another container (spec §7.2).
    pub fn shutting_down(&self) -> bool {
        matches!(self, Answer::Replied { status: 503, .. })
    }
}

/// One HTTP/1.1 client for every proxy (connections kept alive per container address).
#[derive(Clone)]
pub struct ProxyClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for ProxyClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(1)));
        ProxyClient {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        }
    }
}

impl ProxyClient {
    /// POSTs `body` to `http://address/path` and reads at most [`MAX_RESULT_BYTES`] of the
    /// answer, giving up at `deadline`. The proxy is known to listen (containers are handed
    /// out only then): a refused connection means it died.
    pub async fn post(
        &self,
        address: SocketAddr,
        path: &str,
        body: &Value,
        deadline: Instant,
    ) -> Answer {
        let body = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        let request = hyper::Request::post(format!("http://{address}{path}"))
            .header("content-type", "application/json")
            .body(Full::new(body));
        let Ok(request) = request else {
            return Answer::Unreachable;
        };
        let exchange = async {
            match self.client.request(request).await {
                Ok(response) => read(response).await,
                Err(_) => Answer::Unreachable,
            }
        };
        tokio::time::timeout_at(deadline.into(), exchange)
            .await
            .unwrap_or(Answer::TimedOut)
    }
}

/// Reads a response body, keeping at most [`MAX_RESULT_BYTES`] but counting all of them.
async fn read(response: hyper::Response<hyper::body::Incoming>) -> Answer {
    if response.headers().contains_key(OOM_KILLED_HEADER) {
        return Answer::OomKilled;
    }
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut kept = Vec::new();
    let mut length = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Answer::Unreachable;
        };
        if let Some(data) = frame.data_ref() {
            length += data.len();
            let room = MAX_RESULT_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Answer::Replied {
        status,
        body: kept.into(),
        length,
    }
}

/// The `/init` body (spec §7.2): the action's code and its `init` parameters plus the
/// `__OW_*` variables as strings in `env`, `__OW_DEADLINE` being `deadline_ms` (epoch
/// milliseconds at which this `/init` times out).
pub fn init_body(inv: &Invocation, deadline_ms: u64) -> Value {
    let action = &inv.action;
    let mut env: Map<String, Value> = inv
        .init_env
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(env_text(v))))
        .collect();
    for (k, v) in inv.env.vars() {
        if k != "__OW_API_HOST" {
            env.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    env.insert(
        "__OW_DEADLINE".into(),
        Value::String(deadline_ms.to_string()),
    );
    let mut value = json!({
        "name": action.name,
        "main": action.main,
        "binary": action.binary,
        "env": env,
    });
    if !action.code.is_empty() {
        value["code"] = Value::String(action.code.to_string());
    }
    json!({ "value": value })
}

/// An `init` parameter as an environment string: strings as they are, `null` as empty,
/// everything else as compact JSON.
fn env_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `/run` body (spec §7.3). `deadline` is `deadline_ms` (epoch milliseconds at which this
/// run times out) as a string; `api_key` only when the action's `provide-api-key` is truthy.
pub fn run_body(inv: &Invocation, deadline_ms: u64) -> Value {
    let e = &inv.env;
    let mut body = json!({
        "value": Value::Object(inv.params.clone()),
        "namespace": e.namespace,
        "action_name": e.action_name,
        "action_version": e.action_version,
        "activation_id": e.activation_id,
        "transaction_id": e.transaction_id,
        "deadline": deadline_ms.to_string(),
    });
    if let Some(key) = &e.api_key {
        body["api_key"] = Value::String(key.clone());
    }
    body
}

/// How `/init` went: `Ok` or the failure to report (the container is discarded then).
/// `Unreachable` is left to the caller, which first asks the engine about an OOM kill.
pub fn init_verdict(answer: &Answer) -> Result<(), Failure> {
    match answer {
        Answer::Replied { status: 200, .. } => Ok(()),
        Answer::Replied { body, .. } => Err(Failure::DeveloperError(
            error_field(body).unwrap_or_else(|| {
                Value::String(format!(
                    "The action failed during initialization: {}",
                    String::from_utf8_lossy(body)
                ))
            }),
        )),
        Answer::OomKilled => Err(Failure::MemoryExceeded),
        Answer::TimedOut => Err(Failure::Timeout { init: true }),
        Answer::Unreachable => Err(Failure::DeveloperError(INIT_EXITED.into())),
    }
}

/// How `/run` went (spec §3.4): the result, or the failure and whether the container is
/// still fit for another activation (developer errors and timeouts discard it).
pub fn run_verdict(answer: &Answer) -> (Result<Value, Failure>, bool) {
    match answer {
        Answer::Replied {
            status: 200,
            body,
            length,
        } if *length > MAX_RESULT_BYTES => (Err(Failure::result_too_large(*length, body)), true),
        Answer::Replied {
            status: 200, body, ..
        } => match json::parse(body) {
            Ok(Value::Object(mut o)) => match o.remove("error") {
                Some(error) => (Err(Failure::ApplicationError(error)), true),
                None => (Ok(Value::Object(o)), true),
            },
            Ok(array @ Value::Array(_)) => (Ok(array), true),
            _ => (Err(not_json(body)), false),
        },
        Answer::Replied { body, .. } => (
            Err(error_field(body).map_or_else(|| not_json(body), Failure::DeveloperError)),
            false,
        ),
        Answer::OomKilled => (Err(Failure::MemoryExceeded), false),
        Answer::TimedOut => (Err(Failure::Timeout { init: false }), false),
        Answer::Unreachable => (
            Err(Failure::DeveloperError(Value::String(
                "The action did not produce a valid response and exited unexpectedly.".into(),
            ))),
            false,
        ),
    }
}

/// The `error` field of a JSON object body, if it is one.
fn error_field(body: &[u8]) -> Option<Value> {
    match json::parse(body) {
        Ok(Value::Object(mut o)) => o.remove("error"),
        _ => None,
    }
}

fn not_json(body: &[u8]) -> Failure {
    let text = if body.is_empty() {
        "The action did not produce a valid JSON or JSON Array response.".to_string()
    } else {
        format!(
            "The action did not produce a valid JSON or JSON Array response: {}",
            String::from_utf8_lossy(body)
        )
    };
    Failure::DeveloperError(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn replied(status: u16, body: &str) -> Answer {
        Answer::Replied {
            status,
            body: Bytes::copy_from_slice(body.as_bytes()),
            length: body.len(),
        }
    }

    #[test]
    fn run_answers_map_to_openwhisk_outcomes() {
        assert_eq!(
            run_verdict(&replied(200, r#"{"a":1}"#)).0,
            Ok(json!({"a":1}))
        );
        assert_eq!(run_verdict(&replied(200, "[1]")).0, Ok(json!([1])));
        assert_eq!(
            run_verdict(&replied(200, r#"{"error":"no","x":1}"#)),
            (Err(Failure::ApplicationError(json!("no"))), true)
        );
        assert_eq!(
            run_verdict(&replied(502, r#"{"error":"An error has occurred: boom"}"#)),
            (
                Err(Failure::DeveloperError(json!(
                    "An error has occurred: boom"
                ))),
                false
            )
        );
        assert_eq!(
            run_verdict(&replied(200, "42")).0,
            Err(Failure::DeveloperError(json!(
                "The action did not produce a valid JSON or JSON Array response: 42"
            )))
        );
        assert_eq!(
            run_verdict(&replied(500, "")).0,
            Err(Failure::DeveloperError(json!(
                "The action did not produce a valid JSON or JSON Array response."
            )))
        );
        assert_eq!(
            run_verdict(&Answer::TimedOut),
            (Err(Failure::Timeout { init: false }), false)
        );
    }

    #[test]
    fn oversized_results_are_application_errors_with_the_prefix() {
        let answer = Answer::Replied {
            status: 200,
            body: Bytes::from_static(b"{\"a\""),
            length: MAX_RESULT_BYTES + 1,
        };
        assert_eq!(
            run_verdict(&answer),
            (
                Err(Failure::ApplicationError(json!(
                    "The action produced a response that exceeded the allowed length: 1048577 > 1048576 bytes. The truncated response was: {\"a\""
                ))),
                true
            )
        );
    }

    #[test]
    fn oom_kills_and_shutdowns_reported_by_the_proxy() {
        assert_eq!(
            run_verdict(&Answer::OomKilled),
            (Err(Failure::MemoryExceeded), false)
        );
        assert_eq!(
            init_verdict(&Answer::OomKilled),
            Err(Failure::MemoryExceeded)
        );
        assert!(replied(503, "").shutting_down());
        assert!(!replied(502, "").shutting_down());
    }

    #[test]
    fn init_answers_map_to_openwhisk_outcomes() {
        assert_eq!(init_verdict(&replied(200, "{}")), Ok(()));
        assert_eq!(
            init_verdict(&replied(502, r#"{"error":"bad code"}"#)),
            Err(Failure::DeveloperError(json!("bad code")))
        );
        assert_eq!(
            init_verdict(&replied(500, "oops")),
            Err(Failure::DeveloperError(json!(
                "The action failed during initialization: oops"
            )))
        );
        assert_eq!(
            init_verdict(&Answer::TimedOut),
            Err(Failure::Timeout { init: true })
        );
        assert_eq!(
            init_verdict(&Answer::Unreachable),
            Err(Failure::DeveloperError(json!(INIT_EXITED)))
        );
    }

    fn invocation(api_key: Option<&str>) -> Invocation {
        let mut inv = testing::invocation("/guest/pkg/hello", "python:3.11");
        inv.env.api_key = api_key.map(str::to_string);
        inv
    }

    #[test]
    fn init_bodies_carry_code_and_init_parameters_and_the_environment_as_strings() {
        let body = init_body(&invocation(None), 1_700_000_060_000);
        let value = &body["value"];
        assert_eq!(value["name"], "hello");
        assert_eq!(value["main"], "main");
        assert_eq!(value["binary"], false);
        assert_eq!(value["code"], "def main(a): return a");
        let env = value["env"].as_object().unwrap();
        assert_eq!(env["secret"], "s3");
        assert_eq!(env["n"], "2");
        assert_eq!(env["none"], "");
        assert_eq!(env["__OW_NAMESPACE"], "guest");
        assert_eq!(env["__OW_ACTION_NAME"], "/guest/pkg/hello");
        assert_eq!(env["__OW_ACTION_VERSION"], "0.0.2");
        assert_eq!(env["__OW_ACTIVATION_ID"], "07".repeat(16));
        assert_eq!(env["__OW_TRANSACTION_ID"], "tid");
        assert_eq!(
            env["__OW_DEADLINE"], "1700000060000",
            "this init's own deadline"
        );
        assert!(env.values().all(Value::is_string));
        assert!(
            !env.contains_key("__OW_API_HOST"),
            "the container's own environment"
        );
        assert!(!env.contains_key("__OW_API_KEY"));
        let with_key = init_body(&invocation(Some("u:k")), 1);
        assert_eq!(with_key["value"]["env"]["__OW_API_KEY"], "u:k");
    }

    #[test]
    fn run_bodies_have_a_string_deadline_and_a_key_only_when_provided() {
        let body = run_body(&invocation(None), 1_700_000_060_000);
        assert_eq!(
            body,
            json!({
                "value": {"name": "shoal"},
                "namespace": "guest",
                "action_name": "/guest/pkg/hello",
                "action_version": "0.0.2",
                "activation_id": "07".repeat(16),
                "transaction_id": "tid",
                "deadline": "1700000060000",
            })
        );
        let body = run_body(&invocation(Some("u:k")), 5);
        assert_eq!(body["api_key"], "u:k");
        assert_eq!(body["deadline"], "5");
    }

    #[test]
    fn env_values_are_strings() {
        assert_eq!(env_text(&json!("a")), "a");
        assert_eq!(env_text(&Value::Null), "");
        assert_eq!(env_text(&json!(true)), "true");
        assert_eq!(env_text(&json!({"k": [1]})), r#"{"k":[1]}"#);
    }
}
