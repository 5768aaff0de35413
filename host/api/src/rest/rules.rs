//! `…/namespaces/{ns}/rules[/{name}]` (spec §2.6, §5.3): list (without status), get, create/
//! update and delete (with status), and enable/disable. The status is kept on the trigger.

use hyper::StatusCode;
use serde_json::{Map, Value, json};
use shoal_store::{Collection, Entity};

use super::call::Call;
use super::entities::{existing, list_reply, now_ms, put_body, replaced, store_doc};
use super::reply::Reply;
use super::request::Request;
use crate::app::App;
use crate::error::ApiError;
use crate::messages;
use crate::put::CommonPut;
use crate::rule::{self, FqName, Status};
use shoal_model::WhiskError;

/// `GET …/rules`: a page of the namespace's rules, without their status.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_reply(
        call.app,
        call.req,
        &call.ns,
        Collection::Rules,
        false,
        |d| Some(d.clone()),
    )
    .await
}

/// A stored rule with the trigger it names (if that is still a trigger) and its id.
struct Linked {
    rule: Entity,
    trigger: Option<Entity>,
    id: String,
}

/// The rule the path names, or 404, with its trigger.
async fn named(call: &Call<'_>) -> Result<Linked, ApiError> {
    let (ns, name) = (call.ns.as_str(), call.param("ruleName"));
    let rule = existing(call.app, ns, name, Collection::Rules)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let trigger_name = FqName::parse(&rule.doc["trigger"], ns);
    let trigger = trigger_of(call.app, trigger_name.as_ref()).await?;
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
        &rule::with_status(linked.rule.doc, status),
    ))
}

/// `DELETE …/rules/{name}`: unlinks it from its trigger and returns it, inactive.
pub(crate) async fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let Linked { rule, trigger, id } = named(call).await?;
    if let Some(t) = trigger {
        relink(call.app, t, |doc| rule::unlink(doc, &id)).await?;
    }
    let deleted = call
        .app
        .store
        .delete_entity(&call.ns, &rule.name, Some(rule.rev))
        .await?;
    Ok(Reply::json(
        StatusCode::OK,
        &rule::with_status(deleted.doc, Status::Inactive),
    ))
}

/// `POST …/rules/{name}` `{"status": "active" | "inactive"}`: 200 `OK`.
pub(crate) async fn set_state(call: &Call<'_>) -> Result<Reply, ApiError> {
    let linked = named(call).await?;
    set_status(call.app, call.req, &linked.rule, linked.trigger, &linked.id).await
}

/// The trigger a rule names, if it still exists as a trigger.
async fn trigger_of(app: &App, name: Option<&FqName>) -> Result<Option<Entity>, ApiError> {
    let Some(t) = name else { return Ok(None) };
    Ok(app
        .store
        .get_entity(&t.path, &t.name)
        .await?
        .filter(|e| e.collection == Collection::Triggers))
}

/// Rewrites trigger `t`'s document with `change` (revision-checked).
async fn relink(app: &App, t: Entity, change: impl FnOnce(&mut Value)) -> Result<(), ApiError> {
    let mut doc = t.doc.clone();
    change(&mut doc);
    store_doc(
        app,
        &t.namespace,
        &t.name,
        Collection::Triggers,
        &doc,
        Some(&t),
    )
    .await
}

/// Sets the rule's status on its trigger.
async fn set_status(
    app: &App,
    req: &Request,
    rule: &Entity,
    trigger: Option<Entity>,
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
                let action = FqName::parse(&rule.doc["action"], &rule.namespace)
                    .ok_or_else(ApiError::not_found)?;
                relink(app, t, |doc| rule::link(doc, rule_id, &action, status)).await?;
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
    let old = replaced(app, req, ns, name, Collection::Rules).await?;
    let old_doc = old.as_ref().map(|o| &o.doc);
    let reference = |k: &str| -> Result<FqName, ApiError> {
        let given = body
            .get(k)
            .filter(|v| !v.is_null())
            .or_else(|| old_doc.map(|d| &d[k]));
        given
            .and_then(|v| FqName::parse(v, &identity.namespace))
            .ok_or_else(|| ApiError::bad_request(messages::RULE_NEEDS_BOTH))
    };
    let (trigger_name, action) = (reference("trigger")?, reference("action")?);
    // Checked before the trigger is looked up: whether another namespace has a trigger of
    // that name is not for the caller to learn.
    if trigger_name.namespace() != identity.namespace {
        return Err(WhiskError::forbidden(&trigger_name.id()).into());
    }
    let trigger = trigger_of(app, Some(&trigger_name))
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
    let old_trigger = trigger_of(
        app,
        old_doc
            .and_then(|d| FqName::parse(&d["trigger"], ns))
            .as_ref(),
    )
    .await?;
    let status = match &old_trigger {
        Some(t) => rule::status_on(Some(&t.doc), &rule_id),
        None if old.is_some() => Status::Inactive,
        None => Status::Active,
    };
    let mut doc = Map::new();
    doc.insert("namespace".into(), json!(ns));
    doc.insert("name".into(), json!(name));
    doc.insert("trigger".into(), trigger_name.to_json());
    doc.insert("action".into(), action.to_json());
    CommonPut::parse(&body)?.apply(&mut doc, old_doc, false);
    doc.insert("updated".into(), json!(now_ms()));
    let doc = Value::Object(doc);
    store_doc(app, ns, name, Collection::Rules, &doc, old.as_ref()).await?;
    let trigger = match old_trigger {
        Some(t) if t.namespace != trigger.namespace || t.name != trigger.name => {
            relink(app, t, |d| rule::unlink(d, &rule_id)).await?;
            trigger
        }
        Some(same) => same,
        None => trigger,
    };
    relink(app, trigger, |d| rule::link(d, &rule_id, &action, status)).await?;
    Ok(Reply::json(StatusCode::OK, &rule::with_status(doc, status)))
}
