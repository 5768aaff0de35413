//! `…/namespaces/{ns}/actions[/{name}]` (spec §2.3, §3.5): list, get, create/update, delete
//! and invoke.

use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{Map, Value, json};
use shoal_model::documents::{Action, Document};
use shoal_router::{ActionCode, RoutingTable};

use super::call::Call;
use super::entities::{self, Stored, list_reply, now_ms, put_body, replaced, store_doc};
use super::reply::Reply;
use super::request::Request;
use crate::action;
use crate::activation::Status;
use crate::app::App;
use crate::controller::{Invoked, MAX_BLOCKING_WAIT, check_final};
use crate::entity::{self, KeyValue};
use crate::error::ApiError;
use crate::messages;
use crate::package;
use crate::put::ActionPut;
use crate::sequence;

/// `GET …/actions`: a page of the namespace's actions, packaged ones included.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_reply(call.app, call.req, &call.ns, true, |a: Action| a.summary()).await
}

/// `GET …/actions/{pkg}/`: a page of a package's actions, through a binding to the package
/// it names, for any caller who may see the package.
pub(crate) async fn list_in_package(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (ns, pkg) = (call.ns.as_str(), call.param("packageName"));
    let via = package::resolve(
        &*call.app.store,
        &call.identity()?.namespace,
        ns,
        pkg,
        &format!("{ns}/{pkg}"),
    )
    .await?;
    let path = via.real.path();
    list_reply(call.app, call.req, &path, false, |a: Action| a.summary()).await
}

/// `GET …/actions/{name}`.
pub(crate) async fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    show(call.app, call.req, &call.ns, call.param("actionName")).await
}

/// `PUT …/actions/{name}`.
pub(crate) async fn put(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.param("actionName");
    write(call, &call.ns, name).await
}

/// `DELETE …/actions/{name}`.
pub(crate) async fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    remove(call.app, &call.ns, call.param("actionName")).await
}

/// `POST …/actions/{name}`.
pub(crate) async fn invoke(call: &Call<'_>) -> Result<Reply, ApiError> {
    run(call, None).await
}

/// `GET …/actions/{pkg}/{name}`: for any caller who may see the package, through a binding
/// to the action of the package it names.
pub(crate) async fn get_in_package(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (ns, pkg, name) = (
        call.ns.as_str(),
        call.param("packageName"),
        call.param("actionName"),
    );
    let resource = format!("{ns}/{pkg}/{name}");
    let identity = call.identity()?;
    let via = package::resolve(&*call.app.store, &identity.namespace, ns, pkg, &resource).await?;
    show(call.app, call.req, &via.real.path(), name).await
}

/// `PUT …/actions/{pkg}/{name}`: only in the caller's own package, never in a binding.
pub(crate) async fn put_in_package(call: &Call<'_>) -> Result<Reply, ApiError> {
    let path = own_package(call).await?;
    write(call, &path, call.param("actionName")).await
}

/// `DELETE …/actions/{pkg}/{name}`: only in the caller's own package, never in a binding.
pub(crate) async fn delete_in_package(call: &Call<'_>) -> Result<Reply, ApiError> {
    let path = own_package(call).await?;
    remove(call.app, &path, call.param("actionName")).await
}

/// `POST …/actions/{pkg}/{name}`: through bindings, with their parameters.
pub(crate) async fn invoke_in_package(call: &Call<'_>) -> Result<Reply, ApiError> {
    run(call, Some(call.param("packageName"))).await
}

/// The path (`ns/pkg`) of the package a change to one of its actions names: 403 unless the
/// caller owns it, 404 when it does not exist, 400 for a binding.
async fn own_package(call: &Call<'_>) -> Result<String, ApiError> {
    let (ns, pkg) = (call.ns.as_str(), call.param("packageName"));
    call.owner_only(&format!("{ns}/{pkg}/{}", call.param("actionName")))?;
    let package = package::fetch(&*call.app.store, ns, pkg)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if package.bound().is_some() {
        return Err(ApiError::bad_request(messages::BINDING_OPERATION));
    }
    Ok(package.path())
}

/// The stored document an action PUT asks for (over `old` on update), placed in the domain
/// its code needs and checked by that domain's executor.
fn built(
    app: &App,
    body: Map<String, Value>,
    ns: &str,
    name: &str,
    old: Option<&Action>,
) -> Result<Action, ApiError> {
    let put = ActionPut::parse(&Value::Object(body))?;
    let table = app.controller.table();
    let now = now_ms();
    let mut doc = match old {
        Some(old) => put.update(old, table, now)?,
        None => put.create(ns, name, table, now)?,
    };
    let mut entry = action::ActionEntry::new(&doc);
    if place_by_needs(&mut doc, &entry.code, table) {
        entry = action::ActionEntry::new(&doc);
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
fn place_by_needs(doc: &mut Action, code: &ActionCode, table: &RoutingTable) -> bool {
    let annotations = &mut doc.annotations;
    let before = annotations.len();
    if entity::lookup(annotations, FALLBACK_ANNOTATION).is_some() {
        annotations.retain(|a| {
            !matches!(
                a.key.as_str(),
                FALLBACK_ANNOTATION | shoal_router::ENGINE_ANNOTATION
            )
        });
    }
    let chosen = entity::lookup(annotations, shoal_router::ENGINE_ANNOTATION).is_some();
    let why = (!chosen && table.executor_for(&code.kind, Some("container")).is_ok())
        .then(|| shoal_isolates::node::needs_full_node(code))
        .flatten();
    if let Some(why) = why {
        annotations.push(KeyValue::new(
            shoal_router::ENGINE_ANNOTATION,
            json!("container"),
        ));
        annotations.push(KeyValue::new(FALLBACK_ANNOTATION, json!(why)));
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

/// The stored action `ns/name`, or 404; 409 when the name is another collection's.
async fn existing(app: &App, ns: &str, name: &str) -> Result<Stored<Action>, ApiError> {
    entities::existing(app, ns, name)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Action `ns/name` (`ns` may be `ns/pkg`), without its code when `code=false`.
async fn show(app: &App, req: &Request, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let action = existing(app, ns, name).await?.doc;
    let action = if req.flag("code", true)? {
        action
    } else {
        action.without_code()
    };
    Ok(Reply::json(StatusCode::OK, &action.to_doc()))
}

/// Creates action `ns/name` (`ns` may be `ns/pkg`), or updates it with `overwrite=true`.
async fn write(call: &Call<'_>, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let (app, req, identity) = (call.app, call.req, call.identity()?);
    let mut body = put_body(req)?;
    let old: Option<Stored<Action>> = replaced(app, req, ns, name).await?;
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
    } else if let Some(old) = old.as_ref().filter(|o| o.doc.exec.kind == sequence::KIND)
        && body.get("exec").is_none()
    {
        // An update without a new exec keeps the sequence's `_actions` parameter.
        body.insert("parameters".into(), json!(old.doc.parameters));
    }
    // Building and compiling the code (up to 48 MB of it) must not hold an I/O thread.
    let old_action = old.as_ref().map(|o| &o.doc);
    let action = entities::off_the_io_thread(|| built(app, body, ns, name, old_action))?;
    let written = store_doc(call, ns, name, &action, old.map(|o| o.rev)).await?;
    Ok(Reply::json(StatusCode::OK, &written))
}

/// Deletes action `ns/name` (`ns` may be `ns/pkg`) and returns its document.
pub(super) async fn remove(app: &App, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let e = existing(app, ns, name).await?;
    let deleted = app.store.delete_entity(ns, name, Some(e.rev)).await?;
    Ok(Reply::json(StatusCode::OK, &deleted.doc))
}

/// Invokes the action the path names (in package `pkg` when given).
async fn run(call: &Call<'_>, pkg: Option<&str>) -> Result<Reply, ApiError> {
    let (app, req, identity) = (call.app, call.req, call.identity()?);
    let (ns, name) = (call.ns.as_str(), call.param("actionName"));
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
