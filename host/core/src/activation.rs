//! The record of a primitive activation, built by the controller from what an executor
//! reported ([`primitive_record`]); the record's types and texts are the model's, re-exported
//! here.

use std::borrow::Cow;
use std::time::SystemTime;

use shoal_router::{ActivationId, Failure, Outcome};

use crate::action::ActionEntry;
pub use shoal_model::activation::{
    Annotation, LimitsNote, Note, Record, Response, Status, epoch_ms, json_len, response_of,
    result_view, summary,
};

/// Who invoked, and when the controller received the request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Invoking namespace (owner of the record).
    pub namespace: String,
    /// Invoking subject.
    pub subject: String,
    /// When the request arrived.
    pub received: SystemTime,
}

/// Builds the record of a primitive activation from its outcome; `cause` is the enclosing
/// sequence's activation, if any.
pub fn primitive_record(
    id: ActivationId,
    caller: Caller,
    action: &ActionEntry,
    outcome: Outcome,
    cause: Option<ActivationId>,
) -> Record {
    let timed_out = matches!(outcome.result, Err(Failure::Timeout { .. }));
    let (status, result, size) = response_of(outcome.result, action.limits.timeout);
    let start = epoch_ms(outcome.start);
    let end = epoch_ms(outcome.end).max(start);
    let wait = outcome
        .start
        .duration_since(caller.received)
        .map_or(0, |d| d.as_millis() as i64);
    let mut annotations = Vec::with_capacity(8 + outcome.annotations.len());
    annotations.extend([
        Annotation::new("limits", Note::Limits(action.limits.into())),
        Annotation::new("path", Note::Text(action.path.clone())),
        Annotation::new("kind", Note::Text(action.code.kind.clone())),
        Annotation::new("timeout", Note::Bool(timed_out)),
    ]);
    if let Some(binding) = &action.binding {
        annotations.push(Annotation::new("binding", Note::Text(binding.clone())));
    }
    if let Some(init) = outcome.init_ms {
        annotations.push(Annotation::new(
            "initTime",
            Note::Int(i64::try_from(init).unwrap_or(i64::MAX)),
        ));
    }
    annotations.push(Annotation::new("waitTime", Note::Int(wait)));
    for (k, v) in outcome.annotations {
        annotations.push(Annotation {
            key: Cow::Owned(k),
            value: Note::Json(v),
        });
    }
    if cause.is_some() {
        annotations.push(Annotation::new("causedBy", Note::Static("sequence")));
    }
    Record {
        namespace: caller.namespace,
        name: action.name.clone(),
        subject: caller.subject,
        activation_id: id,
        start,
        end,
        duration: end - start,
        response: Response::new(status, result, size),
        logs: outcome.logs,
        version: action.version.clone(),
        publish: false,
        annotations,
        cause,
    }
}
