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
use shoal_router::{Failure, Invocation, MAX_RESULT_BYTES};

/// What a proxy did with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// It answered: status, the body (at most the limit asked for) and the body's full length.
    Replied {
        /// HTTP status.
        status: u16,
        /// The body, cut at the read limit.
        body: Bytes,
        /// The body's length before the cut.
        length: usize,
    },
    /// The connection failed or broke (the proxy is not listening, or its process died).
    Unreachable,
    /// No answer before the deadline.
    TimedOut,
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
    /// POSTs `body` to `http://address/path` and reads at most `limit` bytes of the answer,
    /// giving up at `deadline`. With `retry_connect`, a refused connection is retried every
    /// few milliseconds until the deadline (a new container's proxy may not listen yet).
    pub async fn post(
        &self,
        address: SocketAddr,
        path: &str,
        body: &Value,
        deadline: Instant,
        limit: usize,
        retry_connect: bool,
    ) -> Answer {
        let body = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        let uri = format!("http://{address}{path}");
        let exchange = async {
            loop {
                let request = hyper::Request::post(&uri)
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()));
                let Ok(request) = request else {
                    return Answer::Unreachable;
                };
                match self.client.request(request).await {
                    Ok(response) => return read(response, limit).await,
                    Err(e) if retry_connect && e.is_connect() => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(_) => return Answer::Unreachable,
                }
            }
        };
        tokio::time::timeout_at(deadline.into(), exchange)
            .await
            .unwrap_or(Answer::TimedOut)
    }
}

/// Reads a response body, keeping at most `limit` bytes but counting all of them.
async fn read(response: hyper::Response<hyper::body::Incoming>, limit: usize) -> Answer {
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
            let room = limit.saturating_sub(kept.len());
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
/// `__OW_*` variables as strings in `env`.
pub fn init_body(inv: &Invocation) -> Value {
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

/// The `/run` body (spec §7.3). `deadline` is a string; `api_key` only when provided.
pub fn run_body(inv: &Invocation) -> Value {
    let e = &inv.env;
    let mut body = json!({
        "value": Value::Object(inv.params.clone()),
        "namespace": e.namespace,
        "action_name": e.action_name,
        "action_version": e.action_version,
        "activation_id": e.activation_id,
        "transaction_id": e.transaction_id,
        "deadline": e.deadline,
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
        Answer::TimedOut => Err(Failure::Timeout { init: true }),
        Answer::Unreachable => Err(Failure::DeveloperError(Value::String(
            "The action did not initialize and exited unexpectedly.".into(),
        ))),
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
        } => match serde_json::from_slice::<Value>(body) {
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
    match serde_json::from_slice::<Value>(body) {
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
    }

    #[test]
    fn env_values_are_strings() {
        assert_eq!(env_text(&json!("a")), "a");
        assert_eq!(env_text(&Value::Null), "");
        assert_eq!(env_text(&json!(true)), "true");
        assert_eq!(env_text(&json!({"k": [1]})), r#"{"k":[1]}"#);
    }
}
