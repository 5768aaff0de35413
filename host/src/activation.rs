//! Activation records: turning an executor's [`Outcome`] into OpenWhisk's activation response
//! (status, status code, error texts of spec §3.4) in one function, [`response_of`], and
//! building the stored record and its list summary.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use shoal_router::{ActivationId, Failure, Outcome};

use crate::action::ActionEntry;
use crate::messages;

/// Largest action result, in bytes (spec §8.2).
pub const MAX_RESULT_BYTES: usize = 1_048_576;

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
    /// HTTP status of a blocking invoke that finished with this status.
    pub fn http(self) -> hyper::StatusCode {
        match self {
            Status::Success => hyper::StatusCode::OK,
            Status::ApplicationError | Status::DeveloperError => hyper::StatusCode::BAD_GATEWAY,
            Status::InternalError => hyper::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The one place an outcome becomes an OpenWhisk response: `(status, result, size)`.
/// `timeout_ms` is the action's limit, quoted in the timeout text.
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
    let text = result.to_string();
    if text.len() > MAX_RESULT_BYTES {
        let mut cut = 1024.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let error = format!(
            "The action produced a response that exceeded the allowed length: {} > {MAX_RESULT_BYTES} bytes. The truncated response was: {}",
            text.len(),
            &text[..cut]
        );
        let truncated = json!({"error": error});
        let size = truncated.to_string().len();
        return (Status::ApplicationError, truncated, size);
    }
    (status, result, text.len())
}

/// The `response` object of an activation record.
pub fn response_json(status: Status, result: Value, size: usize) -> Value {
    json!({"result": result, "size": size, "status": status.text(), "success": status == Status::Success})
}

/// Epoch milliseconds of `t`.
pub fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Who invoked, and when the controller received the request.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    /// Invoking namespace (owner of the record).
    pub namespace: &'a str,
    /// Invoking subject.
    pub subject: &'a str,
    /// When the request arrived.
    pub received: SystemTime,
}

/// A finished primitive activation: the full record and its status.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The full record, as `GET …/activations/{id}` returns it.
    pub record: Value,
    /// Its status.
    pub status: Status,
}

/// Builds the record of a primitive activation from its outcome; `cause` is the enclosing
/// sequence's activation, if any.
pub fn primitive_record(
    id: ActivationId,
    caller: &Caller<'_>,
    action: &ActionEntry,
    outcome: Outcome,
    cause: Option<ActivationId>,
) -> Finished {
    let timed_out = matches!(outcome.result, Err(Failure::Timeout { .. }));
    let (status, result, size) = response_of(outcome.result, action.limits.timeout);
    let start = epoch_ms(outcome.start);
    let end = epoch_ms(outcome.end).max(start);
    let wait = outcome
        .start
        .duration_since(caller.received)
        .map_or(0, |d| d.as_millis() as u64);
    let mut annotations = vec![
        json!({"key": "limits", "value": action.limits.to_json()}),
        json!({"key": "path", "value": action.path}),
        json!({"key": "kind", "value": action.code.kind}),
        json!({"key": "timeout", "value": timed_out}),
    ];
    if let Some(binding) = &action.binding {
        annotations.push(json!({"key": "binding", "value": binding}));
    }
    if let Some(init) = outcome.init_ms {
        annotations.push(json!({"key": "initTime", "value": init}));
    }
    annotations.push(json!({"key": "waitTime", "value": wait}));
    for (k, v) in outcome.annotations {
        annotations.push(json!({"key": k, "value": v}));
    }
    if cause.is_some() {
        annotations.push(json!({"key": "causedBy", "value": "sequence"}));
    }
    let mut record = json!({
        "namespace": caller.namespace,
        "name": action.name,
        "subject": caller.subject,
        "activationId": id.as_str(),
        "start": start,
        "end": end,
        "duration": end - start,
        "response": response_json(status, result, size),
        "logs": outcome.logs,
        "version": action.version,
        "publish": false,
        "annotations": annotations,
    });
    if let Some(c) = cause {
        record["cause"] = json!(c.as_str());
    }
    Finished { record, status }
}

/// The list summary of a full record (`docs=false`): no `response`, `logs` or `subject`;
/// a top-level `statusCode`; no `end`/`duration` when `end` is 0 (trigger activations).
pub fn summary(record: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "namespace",
        "name",
        "version",
        "publish",
        "annotations",
        "activationId",
        "start",
    ] {
        if let Some(v) = record.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    let ended = record
        .get("end")
        .and_then(Value::as_i64)
        .is_some_and(|e| e != 0);
    if ended {
        for key in ["end", "duration"] {
            if let Some(v) = record.get(key) {
                out.insert(key.to_string(), v.clone());
            }
        }
    }
    if let Some(c) = record.get("cause") {
        out.insert("cause".into(), c.clone());
    }
    if ended {
        let code = match record["response"]["status"].as_str() {
            Some("success") => 0,
            Some("application error") => 1,
            Some("action developer error") => 2,
            _ => 3,
        };
        out.insert("statusCode".into(), json!(code));
    }
    Value::Object(out)
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
        assert_eq!((s.code(), s.http().as_u16()), (3, 500));
    }

    #[test]
    fn oversized_results_become_application_errors() {
        let big = json!({"x": "a".repeat(MAX_RESULT_BYTES)});
        let (s, r, _) = response_of(Ok(big), 1000);
        assert_eq!(s, Status::ApplicationError);
        let e = r["error"].as_str().unwrap();
        assert!(e.starts_with("The action produced a response that exceeded the allowed length: 1048584 > 1048576 bytes. The truncated response was: {\"x\":\"aaa"), "{e}");
    }

    #[test]
    fn summaries_drop_response_and_omit_end_for_triggers() {
        let rec = json!({"namespace":"g","name":"a","subject":"g","activationId":"x","start":1,"end":3,"duration":2,"response":{"status":"application error"},"logs":[],"version":"0.0.1","publish":false,"annotations":[]});
        let s = summary(&rec);
        assert_eq!(s["statusCode"], 1);
        assert!(
            s.get("response").is_none() && s.get("logs").is_none() && s.get("subject").is_none()
        );
        let trig = json!({"namespace":"g","name":"t","activationId":"x","start":1,"end":0,"response":{"status":"success"}});
        let s = summary(&trig);
        assert!(
            s.get("end").is_none() && s.get("duration").is_none() && s.get("statusCode").is_none()
        );
    }
}
