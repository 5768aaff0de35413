//! `…/namespaces/{ns}/actions[/{name}]` (spec §2.3, §3.5): list, get, create/update, delete
//! and invoke.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Map, Value, json};
use shoal_router::{ActionCode, RoutingTable};
use shoal_store::{Collection, Entity};

use super::{
    Reply, Request, allow, list_reply, now_ms, owner_only, put_body, replaced, store_doc,
    valid_names,
};
use crate::action::{self, ActionPut};
use crate::activation::Status;
use crate::app::App;
use crate::auth::Identity;
use crate::controller::{Invoked, MAX_BLOCKING_WAIT, check_final};
use crate::entity;
use crate::error::ApiError;
use crate::messages;
use crate::package;
use crate::sequence;

/// Routes the actions collection, including actions in packages (`{pkg}/{name}`) and a
/// package's action list (`{pkg}/`).
pub(crate) async fn route(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&str],
) -> Result<Reply, ApiError> {
    let all = [Method::GET, Method::PUT, Method::DELETE, Method::POST];
    match path {
        [] | [""] => {
            owner_only(identity, ns, ns)?;
            allow(req, &[Method::GET])?;
            list_reply(app, req, ns, Collection::Actions, true, |d| {
                Some(summary(d))
            })
            .await
        }
        [name] => {
            valid_names(&[name])?;
            owner_only(identity, ns, &format!("{ns}/{name}"))?;
            allow(req, &all)?;
            match req.method {
                Method::GET => get(app, req, ns, name).await,
                Method::PUT => put(app, req, identity, ns, name).await,
                Method::DELETE => delete(app, ns, name).await,
                _ => invoke(app, req, identity, ns, None, name).await,
            }
        }
        [pkg, ""] => {
            valid_names(&[pkg])?;
            allow(req, &[Method::GET])?;
            let via = package::resolve(
                &*app.store,
                &identity.namespace,
                ns,
                pkg,
                &format!("{ns}/{pkg}"),
            )
            .await?;
            list_reply(
                app,
                req,
                &via.real.path(),
                Collection::Actions,
                false,
                |d| Some(summary(d)),
            )
            .await
        }
        [pkg, name] => {
            valid_names(&[pkg, name])?;
            allow(req, &all)?;
            let resource = format!("{ns}/{pkg}/{name}");
            match req.method {
                Method::GET => {
                    let via =
                        package::resolve(&*app.store, &identity.namespace, ns, pkg, &resource)
                            .await?;
                    get(app, req, &via.real.path(), name).await
                }
                Method::POST => invoke(app, req, identity, ns, Some(pkg), name).await,
                _ => {
                    owner_only(identity, ns, &resource)?;
                    let package = package::fetch(&*app.store, ns, pkg)
                        .await?
                        .ok_or_else(ApiError::not_found)?;
                    if package.binding.is_some() {
                        return Err(ApiError::bad_request(messages::BINDING_OPERATION));
                    }
                    if req.method == Method::PUT {
                        put(app, req, identity, &package.path(), name).await
                    } else {
                        delete(app, &package.path(), name).await
                    }
                }
            }
        }
        _ => Err(ApiError::not_found()),
    }
}

/// The stored document an action PUT asks for (over `old` on update), placed in the domain
/// its code needs and checked by that domain's executor.
fn built(
    app: &App,
    body: Map<String, Value>,
    ns: &str,
    name: &str,
    old: Option<&Entity>,
) -> Result<Value, ApiError> {
    let put = ActionPut::parse(&Value::Object(body))?;
    let table = app.controller.table();
    let now = now_ms();
    let mut doc = match old {
        Some(old) => put.update(&old.doc, table, now)?,
        None => put.create(ns, name, table, now)?,
    };
    let mut entry = action::ActionEntry::from_doc(&doc)?;
    if place_by_needs(&mut doc, &entry.code, table) {
        entry = action::ActionEntry::from_doc(&doc)?;
    }
    if entry.code.kind != sequence::KIND {
        let executor = table
            .executor_for(&entry.code.kind, entry.engine.as_deref())
            .map_err(|e| ApiError::bad_request(messages::malformed(&e.to_string())))?;
        let prepared = executor.prepare(&entry.code);
        // OpenWhisk stores JS code that does not compile and fails each activation at
        // initialisation (the executor reports that with the runtime's text); other kinds
        // (a WASM module that is not one) are refused.
        if let Err(e) = prepared
            && !entry.code.kind.starts_with("nodejs:")
        {
            return Err(ApiError::bad_request(e.0));
        }
    }
    Ok(doc)
}

/// The annotation saying why shoal runs a `nodejs:*` action in a container instead of an
/// isolate (next to `engine: "container"`, both set by [`place_by_needs`]).
const FALLBACK_ANNOTATION: &str = "engine-fallback";

/// Sends a `nodejs:*` action that needs a real Node.js (an unavailable module, a native addon:
/// [`shoal_isolates::node::needs_full_node`]) to its kind's container: annotates the stored
/// document with `engine: "container"` and [`FALLBACK_ANNOTATION`] saying why. Only when the
/// container domain serves the kind and the developer named no engine; a fallback made for
/// earlier code is dropped first. Without containers the action stays in the isolates, where
/// each activation fails naming the missing module. Returns whether the document changed.
fn place_by_needs(doc: &mut Value, code: &ActionCode, table: &RoutingTable) -> bool {
    let Some(annotations) = doc.get_mut("annotations").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = annotations.len();
    if entity::lookup(annotations, FALLBACK_ANNOTATION).is_some() {
        annotations.retain(|a| {
            !matches!(
                a["key"].as_str(),
                Some(FALLBACK_ANNOTATION | shoal_router::ENGINE_ANNOTATION)
            )
        });
    }
    let chosen = entity::lookup(annotations, shoal_router::ENGINE_ANNOTATION).is_some();
    let why = (!chosen && table.executor_for(&code.kind, Some("container")).is_ok())
        .then(|| shoal_isolates::node::needs_full_node(code))
        .flatten();
    if let Some(why) = why {
        annotations.push(json!({"key": shoal_router::ENGINE_ANNOTATION, "value": "container"}));
        annotations.push(json!({"key": FALLBACK_ANNOTATION, "value": why}));
        return true;
    }
    annotations.len() != before
}

/// The HTTP status of a blocking invoke whose activation ended with `status`.
fn http_status(status: Status) -> StatusCode {
    match status {
        Status::Success => StatusCode::OK,
        Status::ApplicationError | Status::DeveloperError => StatusCode::BAD_GATEWAY,
        Status::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The list summary of an action document (spec §2.2).
fn summary(d: &Value) -> Value {
    json!({
        "namespace": d["namespace"], "name": d["name"], "version": d["version"],
        "publish": d["publish"], "annotations": d["annotations"], "limits": d["limits"],
        "exec": {"binary": d["exec"]["binary"]}, "updated": d["updated"],
    })
}

/// The stored action `ns/name`: `None` when missing, 409 when the name is another collection's.
async fn existing(app: &App, ns: &str, name: &str) -> Result<Option<Entity>, ApiError> {
    super::existing(app, ns, name, Collection::Actions).await
}

async fn get(app: &App, req: &Request, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let e = existing(app, ns, name)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let doc = if req.flag("code", true)? {
        e.doc
    } else {
        action::without_code(e.doc)
    };
    Ok(Reply::json(StatusCode::OK, &doc))
}

async fn put(
    app: &App,
    req: &Request,
    identity: &Identity,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    let mut body = put_body(req)?;
    let old = replaced(app, req, ns, name, Collection::Actions).await?;
    let sequence_exec = body
        .get("exec")
        .filter(|e| e["kind"] == sequence::KIND)
        .cloned();
    if let Some(exec) = sequence_exec {
        // Components are resolved as the caller would invoke them; user parameters on a
        // sequence are replaced by the `_actions` list (OpenWhisk's legacy artefact).
        let own = format!("/{ns}/{name}");
        let (exec, actions) =
            sequence::build(app.controller.as_ref(), identity, &exec, &own).await?;
        body.insert("exec".into(), exec);
        body.insert("parameters".into(), actions);
    } else if let Some(old) = old
        .as_ref()
        .filter(|o| o.doc["exec"]["kind"] == sequence::KIND)
        && body.get("exec").is_none()
    {
        // An update without a new exec keeps the sequence's `_actions` parameter.
        body.insert("parameters".into(), old.doc["parameters"].clone());
    }
    // Building and compiling the code (up to 48 MB of it) must not hold an I/O thread.
    let doc = super::off_the_io_thread(|| built(app, body, ns, name, old.as_ref()))?;
    store_doc(app, ns, name, Collection::Actions, &doc, old.as_ref()).await?;
    Ok(Reply::json(StatusCode::OK, &doc))
}

/// Deletes action `ns/name` (`ns` may be `ns/pkg`) and returns its document.
pub(super) async fn delete(app: &App, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let e = existing(app, ns, name)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let deleted = app.store.delete_entity(ns, name, Some(e.rev)).await?;
    Ok(Reply::json(StatusCode::OK, &deleted.doc))
}

async fn invoke(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    pkg: Option<&str>,
    name: &str,
) -> Result<Reply, ApiError> {
    let max = app.settings.limits.max_payload_bytes;
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
    let action = app.controller.resolve(identity, ns, pkg, name).await?;
    check_final(&action, &payload)?;
    let composite = action.code.kind == sequence::KIND || action.conductor;
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
        Invoked::Done(id, mut record) => {
            let status = http_status(record.status());
            if result_only || record.response.result.is_array() {
                return Ok(Reply::json(status, &record.response.result).with_activation(id));
            }
            // A primitive's logs are collected after the result (OpenWhisk answers `[]`);
            // a sequence's or composition's logs are its step ids, known by now.
            if !composite {
                record.logs.clear();
            }
            Reply::new(status, Bytes::from(record.to_text()), "application/json")
                .with_activation(id)
        }
    })
}
