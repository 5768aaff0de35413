//! `…/namespaces/{ns}/triggers[/{name}]` (spec §2.5, §5.2): list, get, create/update,
//! delete and fire. Triggers are private to their namespace.

use std::sync::Arc;
use std::time::SystemTime;

use hyper::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};
use shoal_model::documents::{Document, Trigger};

use super::call::Call;
use super::entities::{Stored, existing, list_reply, now_ms, put_body, replaced, store_doc};
use super::reply::Reply;
use crate::controller::new_activation_id;
use crate::error::ApiError;
use crate::messages;
use crate::put::TriggerPut;
use crate::triggers::{self, Fire};
use shoal_model::WhiskError;

/// `GET …/triggers`: a page of the namespace's triggers.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    list_reply(call.app, call.req, &call.ns, false, |t: Trigger| {
        t.summary()
    })
    .await
}

/// The trigger the path names, or 404.
async fn named(call: &Call<'_>) -> Result<Stored<Trigger>, ApiError> {
    existing(call.app, &call.ns, call.param("triggerName"))
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET …/triggers/{name}`.
pub(crate) async fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(
        StatusCode::OK,
        &named(call).await?.doc.to_doc(),
    ))
}

/// `PUT …/triggers/{name}`: creates it, or updates it with `overwrite=true`.
pub(crate) async fn put(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, ns, name) = (call.app, call.ns.as_str(), call.param("triggerName"));
    let body = put_body(call.req)?;
    let old: Option<Stored<Trigger>> = replaced(app, call.req, ns, name).await?;
    let put = TriggerPut::parse(&body)?;
    let trigger = put.build(ns, name, old.as_ref().map(|o| &o.doc), now_ms());
    let written = store_doc(call, ns, name, &trigger, old.map(|o| o.rev)).await?;
    Ok(Reply::json(StatusCode::OK, &written))
}

/// `DELETE …/triggers/{name}`: the deleted trigger.
pub(crate) async fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let e = named(call).await?;
    let deleted = call
        .app
        .store
        .delete_entity(&call.ns, &e.doc.name, Some(e.rev))
        .await?;
    Ok(Reply::json(StatusCode::OK, &deleted.doc))
}

/// `POST …/triggers/{name}`: 204 without an active rule, else 202 `{activationId}` once the
/// fire's acceptance is stored (503 when it cannot be); the rules run after the reply.
pub(crate) async fn fire(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, req, identity) = (call.app, call.req, call.identity()?);
    app.controller.admit_fire(identity)?;
    let max = app.settings.limits.max_payload_bytes;
    if req.body.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            messages::request_too_large(req.body.len(), max),
        ));
    }
    let trigger = named(call).await?.doc;
    let payload = req.json_object()?;
    if !trigger.has_active_rule() {
        return Ok(Reply::empty(StatusCode::NO_CONTENT));
    }
    let id = new_activation_id();
    let fire = Fire {
        trigger,
        payload,
        headers: ow_headers(&req.headers),
        start: SystemTime::now(),
        transaction_id: req.tid.clone(),
    };
    let accepted = identity.limits.stores_activations();
    if accepted {
        let stand_in = triggers::stand_in(identity, id, &fire);
        app.store
            .accept_activation(stand_in)
            .await
            .map_err(|e| WhiskError::store_unavailable(&e.to_string()))?;
    }
    tokio::spawn(triggers::run(
        app.controller.clone(),
        app.store.clone(),
        Arc::new(identity.clone()),
        id,
        fire,
        accepted,
    ));
    Ok(
        Reply::json(StatusCode::ACCEPTED, &json!({"activationId": id.as_str()}))
            .with_activation(id),
    )
}

/// Request headers as `__ow_headers`: lower-cased names, text values. `authorization` is
/// left out: rule actions may belong to another namespace and must not see the firer's key.
fn ow_headers(headers: &HeaderMap) -> Map<String, Value> {
    headers
        .iter()
        .filter(|(k, _)| *k != hyper::header::AUTHORIZATION)
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_ascii_lowercase(), Value::String(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_lower_cased() {
        let mut h = HeaderMap::new();
        h.insert("X-Custom", "v".parse().unwrap());
        h.insert("Authorization", "Basic secret".parse().unwrap());
        let out = ow_headers(&h);
        assert_eq!(out["x-custom"], "v");
        assert!(out.get("authorization").is_none());
    }
}
