//! `…/namespaces/{ns}/packages[/{name}]` (spec §2.4): list, get, create/update and delete
//! packages and bindings. Other namespaces see only published packages.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use shoal_store::Collection;

use super::{
    Reply, Request, actions, allow, existing, list_reply, now_ms, owner_only, replaced, store_doc,
    valid_names,
};
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::messages;
use crate::package::{self, Package, PackagePut};

/// Largest number of actions a package lists or a forced delete removes.
const MAX_CONTENTS: u64 = 100_000;

/// Routes the packages collection.
pub fn route(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&str],
) -> Result<Reply, ApiError> {
    match path {
        [] | [""] => {
            allow(req, &[Method::GET])?;
            let own = identity.namespace == ns;
            list_reply(app, req, ns, Collection::Packages, false, |d| {
                let public = d["publish"] == true && d["binding"].get("name").is_none();
                (own || public).then(|| package::summary(d))
            })
        }
        [name] => {
            valid_names(&[name])?;
            allow(req, &[Method::GET, Method::PUT, Method::DELETE])?;
            let resource = format!("{ns}/{name}");
            match req.method {
                Method::GET => get(app, identity, ns, name, &resource),
                Method::PUT => {
                    owner_only(identity, ns, &resource)?;
                    put(app, req, identity, ns, name)
                }
                _ => {
                    owner_only(identity, ns, &resource)?;
                    delete(app, req, ns, name)
                }
            }
        }
        _ => Err(ApiError::no_route()),
    }
}

fn get(
    app: &App,
    identity: &Identity,
    ns: &str,
    name: &str,
    resource: &str,
) -> Result<Reply, ApiError> {
    let e = match existing(app, ns, name, Collection::Packages)? {
        Some(e) if identity.namespace == ns || e.doc["publish"] == true => e,
        Some(_) => return Err(ApiError::forbidden(resource)),
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                messages::package_missing(resource),
            ));
        }
    };
    let via = package::resolve(&app.store, &identity.namespace, ns, name, resource)?;
    let mut doc = e.doc;
    if via.binding.is_some() {
        let params: Vec<Value> = via
            .params()
            .into_iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        doc["parameters"] = Value::from(params);
    }
    let rows = app.store.list_entities(
        &via.real.path(),
        Collection::Actions,
        false,
        0,
        MAX_CONTENTS,
    )?;
    let (mut actions, mut feeds) = (Vec::new(), Vec::new());
    for row in rows {
        let d = &row.doc;
        let item =
            json!({"name": d["name"], "version": d["version"], "annotations": d["annotations"]});
        let annotations = d["annotations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if crate::entity::lookup(annotations, "feed").is_some() {
            feeds.push(item);
        } else {
            actions.push(item);
        }
    }
    doc["actions"] = Value::from(actions);
    doc["feeds"] = Value::from(feeds);
    Ok(Reply::json(StatusCode::OK, &doc))
}

fn put(
    app: &App,
    req: &Request,
    identity: &Identity,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    if name == package::RESERVED {
        return Err(ApiError::bad_request(messages::PACKAGE_RESERVED));
    }
    let body = req.json_object()?;
    let old = replaced(app, req, ns, name, Collection::Packages)?;
    let put = PackagePut::parse(&body, &identity.namespace)?;
    let old_package = old.as_ref().map(|o| Package::from_doc(&o.doc));
    let binding = put.binding(old_package.as_ref())?;
    if let Some(target) = &binding {
        package::check_binding_target(&app.store, &identity.namespace, target)?;
    }
    let doc = put.build(
        ns,
        name,
        binding.as_ref(),
        old.as_ref().map(|o| &o.doc),
        now_ms(),
    );
    store_doc(app, ns, name, Collection::Packages, &doc, old.as_ref())?;
    Ok(Reply::json(StatusCode::OK, &doc))
}

fn delete(app: &App, req: &Request, ns: &str, name: &str) -> Result<Reply, ApiError> {
    let e = existing(app, ns, name, Collection::Packages)?.ok_or_else(ApiError::not_found)?;
    let path = format!("{ns}/{name}");
    let n = app
        .store
        .count_entities(&path, Collection::Actions, false)?;
    if n > 0 {
        if !req.flag("force", false)? {
            return Err(ApiError::new(StatusCode::CONFLICT, package::not_empty(n)));
        }
        for action in app
            .store
            .list_entities(&path, Collection::Actions, false, 0, MAX_CONTENTS)?
        {
            actions::delete(app, &path, &action.name)?;
        }
    }
    let deleted = app.store.delete_entity(ns, name, Some(e.rev))?;
    Ok(Reply::json(StatusCode::OK, &deleted.doc))
}
