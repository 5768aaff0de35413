//! `…/namespaces/{ns}/triggers[/{name}]` (spec §2.5, §5.2): list, get, create/update,
//! delete and fire. Triggers are private to their namespace.

use std::sync::Arc;
use std::time::SystemTime;

use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};
use shoal_store::Collection;

use super::{
    Addressed, ENTITY_METHODS, Reply, Request, collection, existing, list_reply, now_ms, put_body,
    replaced, store_doc,
};
use crate::app::App;
use crate::auth::Identity;
use crate::controller::new_activation_id;
use crate::error::ApiError;
use crate::messages;
use crate::trigger::{self, TriggerPut};
use crate::triggers::{self, Fire};
use shoal_model::WhiskError;

/// Routes the triggers collection.
pub(crate) async fn route(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&str],
) -> Result<Reply, ApiError> {
    let name = match collection(req, identity, ns, path, &ENTITY_METHODS)? {
        Addressed::List => {
            return list_reply(app, req, ns, Collection::Triggers, false, |d| {
                Some(trigger::summary(d))
            })
            .await;
        }
        Addressed::One(name) => name,
    };
    match req.method {
        Method::GET => {
            let e = existing(app, ns, name, Collection::Triggers)
                .await?
                .ok_or_else(ApiError::not_found)?;
            Ok(Reply::json(StatusCode::OK, &e.doc))
        }
        Method::PUT => {
            let body = put_body(req)?;
            let old = replaced(app, req, ns, name, Collection::Triggers).await?;
            let put = TriggerPut::parse(&body)?;
            let doc = put.build(ns, name, old.as_ref().map(|o| &o.doc), now_ms());
            store_doc(app, ns, name, Collection::Triggers, &doc, old.as_ref()).await?;
            Ok(Reply::json(StatusCode::OK, &doc))
        }
        Method::DELETE => {
            let e = existing(app, ns, name, Collection::Triggers)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let deleted = app.store.delete_entity(ns, name, Some(e.rev)).await?;
            Ok(Reply::json(StatusCode::OK, &deleted.doc))
        }
        _ => fire(app, req, identity, ns, name).await,
    }
}

/// `POST …/triggers/{name}`: 204 without an active rule, else 202 `{activationId}` once the
/// fire's acceptance is stored (503 when it cannot be); the rules run after the reply.
async fn fire(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    app.controller.admit_fire(identity)?;
    let max = app.settings.limits.max_payload_bytes;
    if req.body.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            messages::request_too_large(req.body.len(), max),
        ));
    }
    let trigger = existing(app, ns, name, Collection::Triggers)
        .await?
        .ok_or_else(ApiError::not_found)?
        .doc;
    let payload = req.json_object()?;
    if !triggers::has_active_rule(&trigger) {
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
