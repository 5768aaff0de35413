//! `…/namespaces/{ns}/rules[/{name}]` (spec §2.6, §5.3): list (without status), get, create/
//! update and delete (with status), and enable/disable. The status is kept on the trigger.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{Map, Value, json};
use shoal_store::{Collection, Entity};

use super::{
    Addressed, ENTITY_METHODS, Reply, Request, collection, existing, list_reply, now_ms, put_body,
    replaced, store_doc,
};
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::messages;
use crate::put::CommonPut;
use crate::rule::{self, FqName, Status};
use shoal_model::WhiskError;

/// Routes the rules collection.
pub(crate) async fn route(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&str],
) -> Result<Reply, ApiError> {
    let name = match collection(req, identity, ns, path, &ENTITY_METHODS)? {
        Addressed::List => {
            return list_reply(app, req, ns, Collection::Rules, false, |d| Some(d.clone())).await;
        }
        Addressed::One(name) => name,
    };
    let rule_id = format!("{ns}/{name}");
    match req.method {
        Method::PUT => put(app, req, identity, ns, name).await,
        _ => {
            let rule = existing(app, ns, name, Collection::Rules)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let trigger_name = FqName::parse(&rule.doc["trigger"], ns);
            let trigger = trigger_of(app, trigger_name.as_ref()).await?;
            match req.method {
                Method::GET => {
                    let status = rule::status_on(trigger.as_ref().map(|t| &t.doc), &rule_id);
                    Ok(Reply::json(
                        StatusCode::OK,
                        &rule::with_status(rule.doc, status),
                    ))
                }
                Method::DELETE => {
                    if let Some(t) = trigger {
                        relink(app, t, |doc| rule::unlink(doc, &rule_id)).await?;
                    }
                    let deleted = app.store.delete_entity(ns, name, Some(rule.rev)).await?;
                    Ok(Reply::json(
                        StatusCode::OK,
                        &rule::with_status(deleted.doc, Status::Inactive),
                    ))
                }
                _ => set_status(app, req, &rule, trigger, &rule_id).await,
            }
        }
    }
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

/// `POST …/rules/{name}` `{"status": "active" | "inactive"}`: 200 `OK`.
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

async fn put(
    app: &App,
    req: &Request,
    identity: &Identity,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
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
