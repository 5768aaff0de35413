//! `…/namespaces/{ns}/actions[/{name}]` (spec §2.3, §3.5): list, get, create/update, delete
//! and invoke.

use std::sync::Arc;
use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use shoal_store::{Collection, Entity};

use super::{Page, Reply, Request, allow, owner_only};
use crate::action::{self, ActionPut};
use crate::activation::epoch_ms;
use crate::app::App;
use crate::auth::Identity;
use crate::controller::{Invoked, MAX_BLOCKING_WAIT};
use crate::entity;
use crate::error::ApiError;
use crate::messages;

/// Largest `exec` accepted on PUT (spec §8.2).
const MAX_EXEC_BYTES: usize = 48 * 1024 * 1024;
/// Largest `parameters` / `annotations` accepted on PUT.
const MAX_PARAMS_BYTES: usize = 1024 * 1024;

/// Routes the actions collection.
pub async fn route(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&str],
) -> Result<Reply, ApiError> {
    match path {
        [] | [""] => {
            owner_only(identity, ns, ns)?;
            allow(req, &[Method::GET])?;
            list(app, req, ns)
        }
        [name] => {
            entity::valid_entity_name(name).map_err(ApiError::bad_request)?;
            owner_only(identity, ns, &format!("{ns}/{name}"))?;
            allow(
                req,
                &[Method::GET, Method::PUT, Method::DELETE, Method::POST],
            )?;
            match req.method {
                Method::GET => get(app, req, ns, name),
                Method::PUT => put(app, req, ns, name),
                Method::DELETE => delete(app, ns, name),
                _ => invoke(app, req, identity, ns, name).await,
            }
        }
        _ => Err(ApiError::not_found()),
    }
}

fn list(app: &App, req: &Request, ns: &str) -> Result<Reply, ApiError> {
    let page = Page::parse(req, "actions")?;
    if page.count {
        let n = app.store.count_entities(ns, Collection::Actions, true)?;
        return Ok(Reply::json(StatusCode::OK, &json!({"actions": n})));
    }
    let rows = app
        .store
        .list_entities(ns, Collection::Actions, true, page.skip, page.limit)?;
    let out: Vec<Value> = rows
        .iter()
        .map(|e| {
            let d = &e.doc;
            json!({
                "namespace": d["namespace"], "name": d["name"], "version": d["version"],
                "publish": d["publish"], "annotations": d["annotations"], "limits": d["limits"],
                "exec": {"binary": d["exec"]["binary"]}, "updated": d["updated"],
            })
        })
        .collect();
    Ok(Reply::json(StatusCode::OK, &Value::Array(out)))
}

/// The stored action `ns/name`: 404 when missing, 409 when the name is another collection's.
fn existing(app: &App, ns: &str, name: &str) -> Result<Option<Entity>, ApiError> {
    match app.store.get_entity(ns, name)? {
        Some(e) if e.collection != Collection::Actions => Err(ApiError::new(
            StatusCode::CONFLICT,
            messages::NOT_IN_COLLECTION,
        )),
        other => Ok(other),
    }
}

fn get(app: &App, req: &Request, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let e = existing(app, ns, name)?.ok_or_else(ApiError::not_found)?;
    let doc = if req.flag("code", true)? {
        e.doc
    } else {
        action::without_code(e.doc)
    };
    Ok(Reply::json(StatusCode::OK, &doc))
}

fn put(app: &App, req: &Request, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let body = Value::Object(req.json_object()?);
    for (field, max) in [
        ("exec", MAX_EXEC_BYTES),
        ("parameters", MAX_PARAMS_BYTES),
        ("annotations", MAX_PARAMS_BYTES),
    ] {
        if let Some(v) = body.get(field) {
            let n = v.to_string().len();
            if n > max {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("{field} larger than allowed: {n} > {max} bytes."),
                ));
            }
        }
    }
    let overwrite = req.flag("overwrite", false)?;
    let put = ActionPut::parse(&body)?;
    let table = app.controller.table();
    let now = epoch_ms(std::time::SystemTime::now());
    let old = existing(app, ns, name)?;
    let (doc, expected_rev) = match &old {
        Some(_) if !overwrite => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                messages::ALREADY_EXISTS,
            ));
        }
        Some(old) => (put.update(&old.doc, table, now)?, Some(old.rev)),
        None => (put.create(ns, name, table, now)?, None),
    };
    let entry = action::ActionEntry::from_doc(&doc)?;
    let executor = table
        .executor(&entry.code.kind)
        .map_err(|e| ApiError::bad_request(messages::malformed(&e.to_string())))?;
    executor
        .prepare(&entry.code)
        .map_err(|e| ApiError::bad_request(e.0))?;
    let entity = Entity {
        namespace: ns.to_string(),
        name: name.to_string(),
        collection: Collection::Actions,
        doc: doc.clone(),
        updated: now,
        rev: 0,
    };
    app.store.put_entity(&entity, expected_rev)?;
    app.controller.invalidate(ns, name);
    Ok(Reply::json(StatusCode::OK, &doc))
}

fn delete(app: &App, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let e = existing(app, ns, name)?.ok_or_else(ApiError::not_found)?;
    let deleted = app.store.delete_entity(ns, name, Some(e.rev))?;
    app.controller.invalidate(ns, name);
    Ok(Reply::json(StatusCode::OK, &deleted.doc))
}

async fn invoke(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    let max = app.config.limits.max_payload_bytes;
    if req.body.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            messages::request_too_large(req.body.len(), max),
        ));
    }
    let blocking = req.flag("blocking", false)?;
    let result_only = req.flag("result", false)?;
    let wait = match req.param("timeout") {
        None => MAX_BLOCKING_WAIT,
        Some(t) => match t.parse::<u64>() {
            Ok(ms) if (1..=60_000).contains(&ms) => Duration::from_millis(ms),
            _ => {
                return Err(ApiError::bad_request(messages::malformed_query(
                    "timeout",
                    messages::TIMEOUT_PARAM,
                )));
            }
        },
    };
    let payload = req.json_object()?;
    let action = app.controller.action(ns, name)?;
    if payload.keys().any(|k| action.final_keys.contains(k)) {
        return Err(ApiError::bad_request(messages::PARAMS_NOT_ALLOWED));
    }
    let invoked = app
        .controller
        .invoke(
            identity,
            action,
            payload,
            blocking.then_some(wait),
            &req.tid,
        )
        .await?;
    Ok(match invoked {
        Invoked::Pending(id) => {
            Reply::json(StatusCode::ACCEPTED, &json!({"activationId": id.as_str()}))
                .with_activation(id)
        }
        Invoked::Done(id, finished) => {
            let status = finished.status.http();
            let mut record = finished.record;
            let result = record["response"]["result"].take();
            let body = if result_only || result.is_array() {
                result
            } else {
                record["response"]["result"] = result;
                record["logs"] = json!([]);
                record
            };
            Reply::json(status, &body).with_activation(id)
        }
    })
}
