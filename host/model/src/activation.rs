//! Activation records: turning an executor's result into OpenWhisk's activation response
//! (status, status code, error texts of spec §3.4) in one function, [`response_of`], the
//! record itself ([`Record`]) and its list summary. Pure logic; the controller builds records
//! from what it ran.
//!
//! A record is a typed struct, built once per activation and serialised once (into the
//! activation log) by serde's derive; no `serde_json::Value` tree is built for it and nothing
//! deep-clones it. Only the action's result is a `Value`.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};
use shoal_router::{ActivationId, Failure, MAX_RESULT_BYTES};

use crate::WhiskError;
use crate::entity::{ActionLimits, KeyValue};
use crate::messages;

/// OpenWhisk's activation status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0.
    Success,
    /// 1.
    ApplicationError,
    /// 2.
    DeveloperError,
    /// 3.
    InternalError,
}

impl Status {
    /// The `response.status` text.
    pub fn text(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::ApplicationError => "application error",
            Status::DeveloperError => "action developer error",
            Status::InternalError => "whisk internal error",
        }
    }
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::ApplicationError => 1,
            Status::DeveloperError => 2,
            Status::InternalError => 3,
        }
    }
}

/// The one place an outcome becomes an OpenWhisk response: `(status, result, size)`.
/// `timeout_ms` is the action's limit, quoted in the timeout text. Measures the result's
/// JSON length without building its text (the text is built only for an oversized result).
pub fn response_of(result: Result<Value, Failure>, timeout_ms: u64) -> (Status, Value, usize) {
    let (status, result) = match result {
        Ok(v) => (Status::Success, v),
        Err(Failure::ApplicationError(e)) => (Status::ApplicationError, json!({"error": e})),
        Err(Failure::DeveloperError(e)) => (Status::DeveloperError, json!({"error": e})),
        Err(Failure::Timeout { init }) => (
            Status::DeveloperError,
            json!({"error": messages::timed_out(timeout_ms, init)}),
        ),
        Err(Failure::MemoryExceeded) => (
            Status::DeveloperError,
            json!({"error": messages::MEMORY_EXHAUSTED}),
        ),
        Err(Failure::Internal(m)) => (Status::InternalError, json!({"error": m})),
    };
    let size = json_len(&result);
    if size > MAX_RESULT_BYTES {
        // Only an executor's own result can be this large: the text of
        // `Failure::result_too_large` (an executor's, or this one) is about 1 KiB.
        let text = result.to_string();
        return response_of(
            Err(Failure::result_too_large(text.len(), text.as_bytes())),
            timeout_ms,
        );
    }
    (status, result, size)
}

/// The length in bytes of `v`'s compact JSON text, counted without allocating it.
pub fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

/// The `response` object of an activation record: `{result, size, status, success}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Response {
    /// The action's result (or the error object).
    pub result: Value,
    /// Length of `result` as compact JSON.
    pub size: usize,
    /// The status, serialised as its text.
    #[serde(serialize_with = "status_text")]
    #[schemars(with = "String")]
    pub status: Status,
    /// Whether `status` is success.
    pub success: bool,
}

impl Response {
    /// The response of an activation that finished with `status` and `result`.
    pub fn new(status: Status, result: Value, size: usize) -> Self {
        Response {
            result,
            size,
            status,
            success: status == Status::Success,
        }
    }

    /// The response OpenWhisk records when the platform, not the action, failed with `f`.
    pub fn failure(f: Failure, timeout_ms: u64) -> Self {
        let (status, result, size) = response_of(Err(f), timeout_ms);
        Response::new(status, result, size)
    }
}

fn status_text<S: Serializer>(status: &Status, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.text())
}

fn id_text<S: Serializer>(id: &ActivationId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

fn cause_text<S: Serializer>(id: &Option<ActivationId>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_str(id.as_str()),
        None => s.serialize_none(),
    }
}

/// One `{key, value}` annotation of an activation record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Annotation {
    /// The key (a constant for every annotation shoal writes itself).
    pub key: Cow<'static, str>,
    /// The value.
    pub value: Note,
}

impl Annotation {
    /// `{key, value}`.
    pub fn new(key: &'static str, value: Note) -> Self {
        Annotation {
            key: Cow::Borrowed(key),
            value,
        }
    }
}

/// An annotation value, typed so that building a record allocates no JSON tree.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Note {
    /// `true`/`false`.
    Bool(bool),
    /// A number (milliseconds).
    Int(i64),
    /// A fixed text.
    Static(&'static str),
    /// A text.
    Text(String),
    /// `{timeout, memory, logs, concurrency}`.
    Limits(LimitsNote),
    /// Anything an executor reported.
    Json(Value),
}

/// Action limits as an annotation value: `{timeout, memory, logs, concurrency}`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct LimitsNote {
    timeout: u64,
    memory: u64,
    logs: u64,
    concurrency: u64,
}

impl From<ActionLimits> for LimitsNote {
    fn from(l: ActionLimits) -> Self {
        LimitsNote {
            timeout: l.timeout,
            memory: l.memory,
            logs: l.logs,
            concurrency: l.concurrency,
        }
    }
}

/// The full record of an action activation (primitive, sequence or composition), as
/// `GET …/activations/{id}` returns it. Built once when the activation ends; the log gets its
/// serialised text, the caller the record itself.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Activation")]
pub struct Record {
    /// The invoking namespace, which owns the record.
    pub namespace: String,
    /// The action's simple name.
    pub name: String,
    /// The invoking subject.
    pub subject: String,
    /// The activation id.
    #[serde(rename = "activationId", serialize_with = "id_text")]
    #[schemars(with = "String")]
    pub activation_id: ActivationId,
    /// Epoch ms.
    pub start: i64,
    /// Epoch ms.
    pub end: i64,
    /// Milliseconds (for sequences: the sum of their components').
    pub duration: i64,
    /// The response.
    pub response: Response,
    /// Log lines (for sequences and compositions: their components' activation ids).
    pub logs: Vec<String>,
    /// The action's version.
    pub version: String,
    /// Always `false`.
    pub publish: bool,
    /// The annotations.
    pub annotations: Vec<Annotation>,
    /// The enclosing sequence or composition.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "cause_text")]
    #[schemars(with = "Option<String>")]
    pub cause: Option<ActivationId>,
}

impl Record {
    /// The record's status.
    pub fn status(&self) -> Status {
        self.response.status
    }

    /// The record as a JSON value (API replies that reshape it).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The record's JSON text (what the activation log stores).
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Epoch milliseconds of `t`.
pub fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An activation as a list shows it (`docs=false`): no `response`, `logs` or `subject`, a
/// top-level `statusCode`, and no `end`, `duration` or `statusCode` while it has not ended
/// (a trigger's records have no end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActivationSummary {
    /// The invoking namespace.
    pub namespace: String,
    /// The action's or trigger's simple name.
    pub name: String,
    /// The action's or trigger's version.
    #[serde(default)]
    pub version: String,
    /// Always `false`.
    #[serde(default)]
    pub publish: bool,
    /// The annotations.
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// The activation id.
    #[serde(rename = "activationId")]
    pub activation_id: String,
    /// Epoch ms.
    pub start: i64,
    /// Epoch ms, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// Milliseconds, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// The enclosing sequence or composition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// 0 success, 1 application error, 2 developer error, 3 internal error; once ended.
    #[serde(
        rename = "statusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<u8>,
}

/// The status text a stored record's `response` carries.
#[derive(Debug, Default, Deserialize)]
struct StoredResponse {
    #[serde(default)]
    status: String,
}

/// The list summary of a stored record; an internal error when the record does not read as
/// one.
pub fn summary(record: &Value) -> Result<ActivationSummary, WhiskError> {
    let unreadable = |e: serde_json::Error| {
        WhiskError::internal(format!("a stored activation cannot be read: {e}"))
    };
    let mut out = ActivationSummary::deserialize(record).map_err(unreadable)?;
    let ended = out.end.is_some_and(|end| end != 0);
    if ended {
        let response = match record.get("response") {
            Some(r) => StoredResponse::deserialize(r).map_err(unreadable)?,
            None => StoredResponse::default(),
        };
        let code = [
            Status::Success,
            Status::ApplicationError,
            Status::DeveloperError,
        ]
        .into_iter()
        .find(|s| s.text() == response.status)
        .map_or(Status::InternalError.code(), Status::code);
        out.status_code = Some(code);
    } else {
        (out.end, out.duration, out.status_code) = (None, None, None);
    }
    Ok(out)
}

/// `GET …/activations/{id}/result`: the response without `statusCode`.
pub fn result_view(record: &Value) -> Value {
    record.get("response").cloned().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_classification() {
        let (s, r, _) = response_of(Ok(json!({"a":1})), 1000);
        assert_eq!((s, r), (Status::Success, json!({"a":1})));
        let (s, r, _) = response_of(Err(Failure::ApplicationError(json!("bad"))), 1000);
        assert_eq!((s, r), (Status::ApplicationError, json!({"error":"bad"})));
        let (s, r, _) = response_of(Err(Failure::Timeout { init: false }), 300);
        assert_eq!(s, Status::DeveloperError);
        assert_eq!(
            r["error"],
            "The action exceeded its time limits of 300 milliseconds."
        );
        let (_, r, _) = response_of(Err(Failure::Timeout { init: true }), 300);
        assert_eq!(
            r["error"],
            "The action exceeded its time limits of 300 milliseconds during initialization."
        );
        let (s, r, _) = response_of(Err(Failure::MemoryExceeded), 300);
        assert_eq!(
            (s, r["error"].as_str().unwrap()),
            (
                Status::DeveloperError,
                "The action exhausted its memory and was aborted."
            )
        );
        let (s, _, _) = response_of(Err(Failure::Internal("x".into())), 300);
        assert_eq!(s.code(), 3);
    }

    #[test]
    fn oversized_results_become_application_errors() {
        let big = json!({"x": "a".repeat(MAX_RESULT_BYTES)});
        let (s, r, size) = response_of(Ok(big), 1000);
        assert_eq!(s, Status::ApplicationError);
        let e = r["error"].as_str().unwrap();
        assert!(e.starts_with("The action produced a response that exceeded the allowed length: 1048584 > 1048576 bytes. The truncated response was: {\"x\":\"aaa"), "{e}");
        assert_eq!(size, json_len(&r));
    }

    #[test]
    fn an_executors_oversized_result_error_is_kept_as_it_is() {
        let failure = Failure::result_too_large(2_000_000, &[b'x'; 4096]);
        let Failure::ApplicationError(text) = failure.clone() else {
            panic!("an application error")
        };
        let (s, r, _) = response_of(Err(failure), 1000);
        assert_eq!((s, r), (Status::ApplicationError, json!({"error": text})));
    }

    #[test]
    fn summaries_drop_response_and_omit_end_for_triggers() {
        let rec = json!({"namespace":"g","name":"a","subject":"g","activationId":"x","start":1,"end":3,"duration":2,"response":{"status":"application error"},"logs":[],"version":"0.0.1","publish":false,"annotations":[]});
        let s = json!(summary(&rec).unwrap());
        assert_eq!(s["statusCode"], 1);
        assert_eq!((&s["end"], &s["duration"]), (&json!(3), &json!(2)));
        assert!(
            s.get("response").is_none() && s.get("logs").is_none() && s.get("subject").is_none()
        );
        let trig = json!({"namespace":"g","name":"t","activationId":"x","start":1,"end":0,"response":{"status":"success"}});
        let s = json!(summary(&trig).unwrap());
        assert!(
            s.get("end").is_none() && s.get("duration").is_none() && s.get("statusCode").is_none()
        );
        assert!(summary(&json!({"name": 1})).is_err());
    }
}
