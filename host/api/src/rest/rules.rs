//! `…/namespaces/{ns}/rules[/{name}]` (spec §2.6, §5.3): list (without status), get, create/
//! update and delete (with status), and enable/disable. The status is kept on the trigger.

use hyper::StatusCode;
use serde_json::Value;
use shoal_model::documents::{Rule, Trigger};

use super::call::Call;
use super::entities::{
    Kept, Stored, doc_write, existing, list_reply, now_ms, put_body, replaced, within_quota,
};
use super::reply::Reply;
use super::request::Request;
use crate::app::App;
use crate::error::ApiError;
use crate::messages;
use crate::put::CommonPut;
use crate::rule::{self, FqName, Status};
use shoal_model::WhiskError;
use shoal_store::EntityWrite;

/// `GET …/rules`: a page of the namespace's rules, without their status.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_reply(call.app, call.req, &call.ns, false, |r: Rule| r).await
}

/// A stored rule with the trigger it names (if that is still a trigger) and its id.
struct Linked {
    rule: Stored<Rule>,
    trigger: Option<Stored<Trigger>>,
    id: String,
}

/// The rule the path names, or 404, with its trigger.
async fn named(call: &Call<'_>) -> Result<Linked, ApiError> {
    let (ns, name) = (call.ns.as_str(), call.param("ruleName"));
    let rule: Stored<Rule> = existing(call.app, ns, name)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let trigger = trigger_of(call.app, &rule.doc.trigger).await?;
    Ok(Linked {
        rule,
        trigger,
        id: format!("{ns}/{name}"),
    })
}

/// `GET …/rules/{name}`: the rule with its status.
pub(crate) async fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let linked = named(call).await?;
    let status = rule::status_on(linked.trigger.as_ref().map(|t| &t.doc), &linked.id);
    Ok(Reply::json(
        StatusCode::OK,
        &linked.rule.doc.with_status(status),
    ))
}

/// `DELETE …/rules/{name}`: unlinks it from its trigger and returns it, inactive.
pub(crate) async fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let Linked { rule, trigger, id } = named(call).await?;
    let unlinked = trigger.map(|t| relinked(t, |doc| rule::unlink(doc, &id)));
    let deleted = EntityWrite::Delete {
        namespace: call.ns.clone(),
        name: rule.doc.name.clone(),
        expected_rev: Some(rule.rev),
    };
    let writes = unlinked.into_iter().chain([deleted]).collect();
    call.app.store.write_entities(writes).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &rule.doc.with_status(Status::Inactive),
    ))
}

/// `POST …/rules/{name}` `{"status": "active" | "inactive"}`: 200 `OK`.
pub(crate) async fn set_state(call: &Call<'_>) -> Result<Reply, ApiError> {
    let linked = named(call).await?;
    set_status(
        call.app,
        call.req,
        &linked.rule.doc,
        linked.trigger,
        &linked.id,
    )
    .await
}

/// The trigger a rule names, if it still exists as a trigger.
async fn trigger_of(app: &App, name: &FqName) -> Result<Option<Stored<Trigger>>, ApiError> {
    match app.store.get_entity(&name.path, &name.name).await? {
        Some(e) if e.collection == Trigger::COLLECTION => Stored::read(e).map(Some),
        _ => Ok(None),
    }
}

/// The rewrite of trigger `t` with `change` (revision-checked).
fn relinked(t: Stored<Trigger>, change: impl FnOnce(&mut Trigger)) -> EntityWrite {
    let mut doc = t.doc;
    change(&mut doc);
    doc_write(&doc.namespace, &doc.name, &doc, Some(t.rev))
}

/// Sets the rule's status on its trigger.
async fn set_status(
    app: &App,
    req: &Request,
    rule: &Rule,
    trigger: Option<Stored<Trigger>>,
    rule_id: &str,
) -> Result<Reply, ApiError> {
    let body = req.json_object()?;
    let given = body.get("status").map_or_else(String::new, |s| match s {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let status =
        Status::parse(&given).ok_or_else(|| ApiError::bad_request(messages::rule_state(&given)))?;
    match trigger {
        None if status == Status::Active => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            messages::RULE_TRIGGER_GONE,
        )),
        None => Ok(Reply::text(StatusCode::OK, "OK")),
        Some(t) => {
            if rule::status_on(Some(&t.doc), rule_id) != status {
                let link = relinked(t, |doc| rule::link(doc, rule_id, &rule.action, status));
                app.store.write_entities(vec![link]).await?;
            }
            Ok(Reply::text(StatusCode::OK, "OK"))
        }
    }
}

/// `PUT …/rules/{name}`: creates it (active), or updates it with `overwrite=true` (keeping
/// its status), linking it to its trigger.
pub(crate) async fn put(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, req, identity) = (call.app, call.req, call.identity()?);
    let (ns, name) = (call.ns.as_str(), call.param("ruleName"));
    let body = put_body(req)?;
    let old: Option<Stored<Rule>> = replaced(app, req, ns, name).await?;
    let reference = |k: &str, kept: Option<&FqName>| -> Result<FqName, ApiError> {
        let given = body.get(k).filter(|v| !v.is_null());
        match given {
            Some(v) => FqName::parse(v, &identity.namespace),
            None => kept.cloned(),
        }
        .ok_or_else(|| ApiError::bad_request(messages::RULE_NEEDS_BOTH))
    };
    let old_rule = old.as_ref().map(|o| &o.doc);
    let trigger_name = reference("trigger", old_rule.map(|o| &o.trigger))?;
    let action = reference("action", old_rule.map(|o| &o.action))?;
    // Checked before the trigger is looked up: whether another namespace has a trigger of
    // that name is not for the caller to learn.
    if trigger_name.namespace() != identity.namespace {
        return Err(WhiskError::forbidden(&trigger_name.id()).into());
    }
    let trigger = trigger_of(app, &trigger_name)
        .await?
        .filter(|_| trigger_name.package().is_none())
        .ok_or_else(|| {
            ApiError::bad_request(messages::rule_trigger_missing(&trigger_name.to_string()))
        })?;
    app.controller
        .resolve(identity, action.namespace(), action.package(), &action.name)
        .await
        .map_err(|e| match e {
            WhiskError::NotFound | WhiskError::Conflict(_) => {
                ApiError::bad_request(messages::rule_action_missing(&action.to_string()))
            }
            _ => e.into(),
        })?;
    let rule_id = format!("{ns}/{name}");
    let old_trigger = match old_rule {
        Some(o) => trigger_of(app, &o.trigger).await?,
        None => None,
    };
    let status = match &old_trigger {
        Some(t) => rule::status_on(Some(&t.doc), &rule_id),
        None if old.is_some() => Status::Inactive,
        None => Status::Active,
    };
    let shared = CommonPut::parse(&body)?.apply(old_rule.map(Rule::previous));
    let rule = Rule {
        namespace: ns.to_string(),
        name: name.to_string(),
        trigger: trigger_name,
        action: action.clone(),
        version: shared.version,
        publish: shared.publish,
        annotations: shared.annotations,
        updated: now_ms(),
    };
    // The rule, its link on its trigger and its unlinking from a trigger it leaves: one
    // transaction, so no failure leaves a rule its trigger does not know, or the reverse.
    let rule_write = doc_write(ns, name, &rule, old.map(|o| o.rev));
    // Held until the writes are stored (see `within_quota`).
    let mut turn = match &rule_write {
        EntityWrite::Put { entity, .. } => Some(within_quota(call, entity).await?),
        EntityWrite::Delete { .. } => None,
    };
    let mut writes = vec![rule_write];
    let same = |t: &Stored<Trigger>| {
        t.doc.namespace == trigger.doc.namespace && t.doc.name == trigger.doc.name
    };
    let trigger = match old_trigger {
        Some(t) if !same(&t) => {
            writes.push(relinked(t, |d| rule::unlink(d, &rule_id)));
            trigger
        }
        Some(kept) => kept,
        None => trigger,
    };
    writes.push(relinked(trigger, |d| {
        rule::link(d, &rule_id, &action, status)
    }));
    let written = app.store.write_entities(writes).await;
    // The rule's link makes its trigger larger, which the quota's bound did not count.
    if let Some(turn) = turn.as_mut() {
        turn.forget();
    }
    written?;
    Ok(Reply::json(StatusCode::OK, &rule.with_status(status)))
}
