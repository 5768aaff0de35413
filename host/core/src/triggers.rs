//! The triggers/rules engine (spec §5.2): firing a trigger invokes the action of each of its
//! active rules, non-blocking, through [`Controller::invoke`], so JS, WASM and container
//! actions are all reached the same way; then it records the trigger activation with one
//! log line per rule. Domain-neutral: it knows rules and triggers, not executors.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use shoal_router::{ActivationId, BoxFuture};
use shoal_store::{ActivationRecord, Collection, Store};

use crate::activation::{Annotation, epoch_ms};
use crate::auth::{Authenticator, Identity};
use crate::controller::{Controller, Invoked, check_final, new_activation_id, new_transaction_id};
use crate::entity;
use crate::entity_path::{EntityPath, Form};
use crate::feeds::Firer;
use crate::messages;
use crate::rule::{FqName, Status};
use crate::stored::Filed;
use shoal_model::WhiskError;
use shoal_model::documents::{Document, Trigger};

/// One fire of a trigger: everything the engine needs after the API has answered.
#[derive(Debug)]
pub struct Fire {
    /// The trigger as stored (its rule links drive the fire).
    pub trigger: Trigger,
    /// The request body (`{}` when empty).
    pub payload: Map<String, Value>,
    /// The request headers, lower-cased, passed to rule actions as `__ow_headers`.
    pub headers: Map<String, Value>,
    /// When the fire request arrived.
    pub start: SystemTime,
    /// The transaction id of the fire request.
    pub transaction_id: String,
}

/// Runs fire `id` of `fire.trigger` for `identity`: invokes each active rule's action and
/// records the trigger activation. Costs one invoke dispatch per rule plus one log append;
/// never waits for the actions to finish. `accepted` says the fire's [`stand_in`] was stored
/// (a 202 named it): the record then replaces the stand-in.
pub async fn run(
    controller: Arc<Controller>,
    store: Arc<dyn Store>,
    identity: Arc<Identity>,
    id: ActivationId,
    fire: Fire,
    accepted: bool,
) {
    let mut args = entity::to_map(&fire.trigger.parameters);
    args.insert("__ow_headers".into(), Value::Object(fire.headers.clone()));
    args.extend(fire.payload.clone());
    let mut rules: Vec<_> = fire.trigger.links().collect();
    rules.sort_by(|a, b| a.0.cmp(b.0));
    let mut logs = Vec::with_capacity(rules.len());
    for (rule_id, link) in rules {
        let action_id = link.action.id();
        let outcome = match link.status {
            Status::Active => {
                invoke_rule(
                    &controller,
                    &identity,
                    &link.action,
                    args.clone(),
                    &fire.transaction_id,
                )
                .await
            }
            Status::Inactive => Err(WhiskError::bad_request(messages::rule_inactive(
                rule_id, &action_id,
            ))),
        };
        logs.push(log_line(rule_id, &action_id, outcome).to_string());
    }
    if !identity.limits.stores_activations() {
        return;
    }
    let name = &fire.trigger.name;
    let filed = Filed::new(&identity.namespace, name, name, false);
    // A record that is no component's is always stored, whole or not.
    let Some(doc) = controller.stored_text(filed, &identity.limits, |kept| {
        let result = match kept.keeps_result() {
            true => Value::Object(fire.payload.clone()),
            false => Value::Object(Map::new()),
        };
        let annotations = Vec::from_iter(kept.annotation());
        fire_doc(
            &identity,
            id,
            &fire,
            result,
            "success",
            kept.logs(&logs),
            &annotations,
        )
    }) else {
        return;
    };
    let record = fire_record(&identity, id, &fire, doc);
    if accepted {
        // Committed by the writer whether or not anyone waits for it.
        drop(store.put_activation_durable(record, true));
    } else {
        store.put_activation(record);
    }
}

/// The stand-in of an accepted fire (see [`shoal_store::ActivationLog::accept_activation`]): what its record is if
/// shoal stops before the fire's rules ran, a whisk internal error that says so.
pub fn stand_in(identity: &Identity, id: ActivationId, fire: &Fire) -> ActivationRecord {
    let result = json!({ "error": messages::ACTIVATION_LOST });
    let status = "whisk internal error";
    let doc = fire_doc(identity, id, fire, result, status, Vec::new(), &[]);
    fire_record(identity, id, fire, doc)
}

/// The text of the trigger activation of fire `id`.
fn fire_doc(
    identity: &Identity,
    id: ActivationId,
    fire: &Fire,
    result: Value,
    status: &str,
    logs: Vec<String>,
    annotations: &[Annotation],
) -> String {
    let size = result.to_string().len();
    json!({
        "namespace": identity.namespace,
        "name": fire.trigger.name,
        "subject": identity.subject,
        "activationId": id.as_str(),
        "start": epoch_ms(fire.start),
        "response": {"result": result, "size": size, "status": status, "success": status == "success"},
        "logs": logs,
        "version": fire.trigger.version,
        "publish": false,
        "annotations": annotations,
    })
    .to_string()
}

/// The trigger activation of fire `id` as the log stores it, `doc` its text.
fn fire_record(
    identity: &Identity,
    id: ActivationId,
    fire: &Fire,
    doc: String,
) -> ActivationRecord {
    let name = fire.trigger.name.clone();
    ActivationRecord {
        namespace: identity.namespace.clone(),
        activation_id: id.to_string(),
        filter_name: name.clone(),
        name,
        start: epoch_ms(fire.start),
        doc,
    }
}

/// Invokes one rule's action as the firing user would through the API.
async fn invoke_rule(
    controller: &Arc<Controller>,
    identity: &Identity,
    action: &FqName,
    args: Map<String, Value>,
    transaction_id: &str,
) -> Result<ActivationId, WhiskError> {
    let entry = controller
        .resolve(identity, action.namespace(), action.package(), &action.name)
        .await?;
    check_final(&entry, &args)?;
    match controller
        .invoke(identity, entry, args, None, transaction_id)
        .await?
    {
        Invoked::Pending(id) | Invoked::Done(id, _) => Ok(id),
    }
}

/// Fires triggers for the alarm service as the owner of each feed's stored key, through the
/// same engine and throttles as `POST …/triggers/{name}`. Cheap to clone (three `Arc`s).
#[derive(Clone)]
pub struct FeedFirer {
    auth: Arc<Authenticator>,
    controller: Arc<Controller>,
    store: Arc<dyn Store>,
}

impl FeedFirer {
    /// A firer checking feeds' keys with `auth` and running fires on `controller` and `store`.
    pub fn new(
        auth: Arc<Authenticator>,
        controller: Arc<Controller>,
        store: Arc<dyn Store>,
    ) -> Self {
        FeedFirer {
            auth,
            controller,
            store,
        }
    }

    async fn fire_now(self, trigger: String, key: String, payload: Value) -> Result<(), String> {
        let identity = match self.auth.by_key(&key).await {
            Ok(Some(identity)) => identity,
            Ok(None) => {
                return Err("the API key the feed was created with is no longer valid".into());
            }
            Err(e) => {
                // The store could not say: skip this tick, keep the alarm.
                tracing::error!(%trigger, error = %e, "could not check an alarm's key");
                return Ok(());
            }
        };
        let Some(EntityPath {
            namespace: ns,
            name,
            ..
        }) = stored_trigger(&trigger).filter(|t| t.namespace == identity.namespace)
        else {
            return Err(format!("the feed's key does not own trigger {trigger}"));
        };
        let (ns, name) = (ns.as_str(), name.as_str());
        if let Err(e) = self.controller.admit_fire(&identity) {
            // Over the namespace's fire rate: skip this tick, keep the alarm (as OpenWhisk's
            // provider does for 429s).
            tracing::warn!(%trigger, error = %e, "alarm tick throttled");
            return Ok(());
        }
        let stored = match self.store.get_entity(ns, name).await {
            Ok(Some(e)) if e.collection == Collection::Triggers => Trigger::from_doc(&e.doc),
            Ok(_) => return Err(format!("trigger {trigger} does not exist")),
            Err(e) => Err(e.into()),
        };
        let doc = match stored {
            Ok(doc) => doc,
            Err(e) => {
                tracing::error!(%trigger, error = %e, "could not read the trigger of an alarm");
                return Ok(());
            }
        };
        if !doc.has_active_rule() {
            return Ok(());
        }
        let payload = match payload {
            Value::Object(m) => m,
            other => Map::from_iter([("payload".to_string(), other)]),
        };
        let fire = Fire {
            trigger: doc,
            payload,
            headers: Map::new(),
            start: SystemTime::now(),
            transaction_id: new_transaction_id(),
        };
        // Nobody is answered with this fire's id: its record is written relaxed.
        run(
            self.controller,
            self.store,
            identity,
            new_activation_id(),
            fire,
            false,
        )
        .await;
        Ok(())
    }
}

/// The trigger a feed schedule names as `/namespace/name`; `None` when it names none.
fn stored_trigger(trigger: &str) -> Option<EntityPath> {
    EntityPath::parse(trigger, Form::Qualified, "").filter(|t| t.package.is_none())
}

impl Firer for FeedFirer {
    fn fire(&self, trigger: &str, auth_key: &str, payload: Value) -> BoxFuture<Result<(), String>> {
        Box::pin(
            self.clone()
                .fire_now(trigger.to_string(), auth_key.to_string(), payload),
        )
    }

    fn delete_trigger(&self, trigger: &str, auth_key: &str, with_rules: bool) -> BoxFuture<()> {
        let (app, trigger, key) = (self.clone(), trigger.to_string(), auth_key.to_string());
        Box::pin(async move {
            let Some(t) = stored_trigger(&trigger) else {
                return;
            };
            if !matches!(app.auth.by_key(&key).await, Ok(Some(i)) if i.namespace == t.namespace) {
                return;
            }
            let Ok(deleted) = app.store.delete_entity(&t.namespace, &t.name, None).await else {
                return;
            };
            if with_rules && let Ok(deleted) = Trigger::from_doc(&deleted.doc) {
                for (rule_id, _) in deleted.links() {
                    if let Some((rule_ns, rule)) = rule_id.split_once('/') {
                        let _ = app.store.delete_entity(rule_ns, rule, None).await;
                    }
                }
            }
        })
    }
}

/// The trigger activation's log line for one rule (spec §5.2): status code 0 when the
/// action was invoked, 3 for a platform failure, 1 otherwise.
fn log_line(rule: &str, action: &str, outcome: Result<ActivationId, WhiskError>) -> Value {
    match outcome {
        Ok(id) => json!({
            "statusCode": 0, "success": true, "activationId": id.as_str(),
            "rule": rule, "action": action,
        }),
        Err(e) => json!({
            "statusCode": if e.is_platform_failure() { 3 } else { 1 },
            "success": false, "error": e.to_string(), "rule": rule, "action": action,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_follow_openwhisk() {
        let id = crate::controller::new_activation_id();
        let ok = log_line("g/r", "g/a", Ok(id));
        assert_eq!(ok["statusCode"], 0);
        assert_eq!(ok["activationId"], id.as_str());
        let missing = log_line("g/r", "g/a", Err(WhiskError::not_found()));
        assert_eq!(
            missing,
            json!({"statusCode":1,"success":false,"error":"The requested resource does not exist.","rule":"g/r","action":"g/a"})
        );
        let internal = log_line("g/r", "g/a", Err(WhiskError::internal("x")));
        assert_eq!(internal["statusCode"], 3);
    }
}
