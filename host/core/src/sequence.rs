//! Sequences (spec §6.1): actions of kind `sequence` whose components run one after another,
//! each receiving the previous result merged over its own parameters. This module validates
//! a sequence's components when it is created or updated and builds the sequence activation
//! record; the controller runs the components.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};
use shoal_router::ActivationId;

use crate::action::ActionEntry;
use crate::activation::{Annotation, Note, Record, Response, epoch_ms};
use crate::auth::Identity;
use crate::entity::{self, ActionLimits};
use crate::entity_path::{EntityPath, Form};
use crate::messages;
use shoal_model::WhiskError;

/// The sequence kind.
pub const KIND: &str = entity::SEQUENCE_KIND;
/// Most atomic actions a sequence may run, nested sequences inlined (`sequenceMaxLength`).
pub const MAX_LENGTH: usize = 50;
/// Deepest nesting of sequences and conductors at run time (a topmost one is 1). Stored
/// components can form a cycle that no create-time check sees, so this bounds the recursion
/// whatever the path spelling; deeper runs end with `Too many actions in the sequence.`
pub const MAX_NESTING: usize = MAX_LENGTH;

/// A component reference as users write it (`hello`, `pkg/hello`, `/ns/[pkg/]hello`), with
/// `_` and a missing namespace the caller's.
pub fn component(reference: &str, caller: &str) -> Option<EntityPath> {
    EntityPath::parse(reference, Form::Reference, caller)
}

/// Finds the action a component names, as `identity` would invoke it (the controller, which
/// runs sequences, is one).
pub trait Resolve {
    /// The action `c` names for `identity`: 404 when there is none, 403 when it is not
    /// `identity`'s to run.
    fn component(
        &self,
        identity: &Identity,
        c: &EntityPath,
    ) -> impl Future<Output = Result<Arc<ActionEntry>, WhiskError>> + Send;
}

/// Validates a sequence PUT's `exec` for the sequence `/ns/[pkg/]name` = `own` and returns the
/// stored `exec` (`{kind, components}`, fully qualified) and its `_actions` parameter list.
pub async fn build(
    resolver: &impl Resolve,
    identity: &Identity,
    exec: &Value,
    own: &str,
) -> Result<(Value, Value), WhiskError> {
    let refs = exec["components"]
        .as_array()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| WhiskError::bad_request(messages::SEQUENCE_EMPTY))?;
    let mut components = Vec::with_capacity(refs.len());
    for r in refs {
        let c = r
            .as_str()
            .and_then(|s| component(s, &identity.namespace))
            .ok_or_else(|| WhiskError::bad_request(messages::SEQUENCE_COMPONENT_MISSING))?;
        components.push(c.fqn());
    }
    let atomic = count_atomic(resolver, identity, &components, own).await?;
    if atomic > MAX_LENGTH {
        return Err(WhiskError::bad_request(messages::SEQUENCE_TOO_LONG));
    }
    let exec = json!({"kind": KIND, "components": components});
    let actions = json!([{"key": "_actions", "value": components}]);
    Ok((exec, actions))
}

/// Counts the atomic actions of `components`, inlining nested sequences (each once);
/// refuses references to `own` (at any depth) and components that do not exist. Walks the
/// components depth first, in order, stopping at the first refusal.
async fn count_atomic(
    resolver: &impl Resolve,
    identity: &Identity,
    components: &[String],
    own: &str,
) -> Result<usize, WhiskError> {
    let mut seen = HashSet::new();
    let mut pending: Vec<String> = components.iter().rev().cloned().collect();
    let mut n = 0;
    while let Some(fqn) = pending.pop() {
        if fqn == own {
            return Err(WhiskError::bad_request(messages::SEQUENCE_SELF));
        }
        let c = component(&fqn, &identity.namespace)
            .ok_or_else(|| WhiskError::bad_request(messages::SEQUENCE_COMPONENT_MISSING))?;
        let entry = resolver.component(identity, &c).await.map_err(|e| {
            // Missing or not the caller's: as OpenWhisk says it. A failing store says so.
            if e.is_platform_failure() {
                e
            } else {
                WhiskError::bad_request(messages::SEQUENCE_COMPONENT_MISSING)
            }
        })?;
        // Through a binding the spelling differs from the action it names: compare where
        // the component really lives.
        let real = format!("/{}", entry.path);
        if real == own {
            return Err(WhiskError::bad_request(messages::SEQUENCE_SELF));
        }
        if entry.code.kind == KIND {
            if seen.insert(real) {
                pending.extend(entry.components.iter().rev().cloned());
            }
        } else {
            n += 1;
        }
        if n > MAX_LENGTH {
            return Err(WhiskError::bad_request(messages::SEQUENCE_TOO_LONG));
        }
    }
    Ok(n)
}

/// What a sequence run collected: its components' activation ids, the summed duration, the
/// largest component memory and the response that ends it.
#[derive(Debug, Default)]
pub struct Run {
    /// Component activation ids, in order.
    pub ids: Vec<String>,
    /// Sum of component durations, ms.
    pub duration: i64,
    /// Largest component memory limit, MB.
    pub memory: u64,
    /// The last (or short-circuiting) component's response.
    pub last: Option<Response>,
    /// When the first component started (epoch ms).
    pub first_start: Option<i64>,
}

impl Run {
    /// A run that ended before any component started, with `response`.
    pub fn failed(response: Response) -> Run {
        Run {
            last: Some(response),
            ..Run::default()
        }
    }
}

/// The record of a sequence (spec §6.1) or of a conductor's composition (§6.2, which adds the
/// `conductor: true` annotation).
pub fn record(
    id: ActivationId,
    identity: &Identity,
    sequence: &ActionEntry,
    cause: Option<ActivationId>,
    received: std::time::SystemTime,
    run: Run,
) -> Record {
    let response = run.last.unwrap_or_else(|| {
        Response::failure(
            shoal_router::Failure::Internal(messages::SEQUENCE_FAILED.into()),
            sequence.limits.timeout,
        )
    });
    let limits = ActionLimits {
        memory: if run.memory > 0 {
            run.memory
        } else {
            sequence.limits.memory
        },
        ..sequence.limits
    };
    let start = epoch_ms(received);
    let wait = run.first_start.map_or(0, |f| (f - start).max(0));
    let mut annotations = vec![
        Annotation::new("topmost", Note::Bool(cause.is_none())),
        Annotation::new("path", Note::Text(sequence.path.clone())),
        Annotation::new("kind", Note::Static(KIND)),
        Annotation::new("limits", Note::Limits(limits.into())),
        Annotation::new("waitTime", Note::Int(wait)),
    ];
    if sequence.conductor {
        annotations.push(Annotation::new("conductor", Note::Bool(true)));
    }
    if let Some(binding) = &sequence.binding {
        annotations.push(Annotation::new("binding", Note::Text(binding.clone())));
    }
    if cause.is_some() {
        annotations.push(Annotation::new("causedBy", Note::Static("sequence")));
    }
    let end = epoch_ms(std::time::SystemTime::now()).max(start);
    Record {
        namespace: identity.namespace.clone(),
        name: sequence.name.clone(),
        subject: identity.subject.clone(),
        activation_id: id,
        start,
        end,
        duration: run.duration,
        response,
        logs: run.ids,
        version: sequence.version.clone(),
        publish: false,
        annotations,
        cause,
    }
}

/// Whether a component's result stops the sequence (a top-level `error` field).
pub fn short_circuits(result: &Value) -> bool {
    result.get("error").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_references() {
        let p = |s: &str| component(s, "guest").map(|c| c.fqn());
        assert_eq!(
            p("/whisk.system/utils/echo").unwrap(),
            "/whisk.system/utils/echo"
        );
        assert_eq!(p("/_/hello").unwrap(), "/guest/hello");
        assert_eq!(p("/_/pkg/hello").unwrap(), "/guest/pkg/hello");
        assert_eq!(p("hello").unwrap(), "/guest/hello");
        assert_eq!(p("pkg/hello").unwrap(), "/guest/pkg/hello");
        assert!(p("/a/b/c/d").is_none());
        assert!(p("/a/").is_none());
    }

    #[test]
    fn errors_short_circuit() {
        assert!(short_circuits(&json!({"error": "x"})));
        assert!(!short_circuits(&json!({"ok": 1})));
        assert!(!short_circuits(&json!([1])));
    }
}
