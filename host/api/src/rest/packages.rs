//! `…/namespaces/{ns}/packages[/{name}]` (spec §2.4): list, get, create/update and delete
//! packages and bindings. Other namespaces see only published packages.

use hyper::StatusCode;
use serde_json::{Value, json};
use shoal_model::documents::{Action, Document, Package, PackageSummary};
use shoal_store::Collection;

use super::actions;
use super::call::Call;
use super::entities::{Stored, existing, list_reply, now_ms, put_body, replaced, store_doc};
use super::reply::Reply;
use super::request::{Page, Request};
use crate::app::App;
use crate::entity::{self, KeyValue};
use crate::error::ApiError;
use crate::messages;
use crate::package;
use crate::put::PackagePut;
use shoal_model::WhiskError;

/// Largest number of actions a package lists or a forced delete removes.
const MAX_CONTENTS: u64 = 100_000;

/// `GET …/packages`: a page of the caller's own packages, or of another namespace's
/// published ones.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    if call.identity()?.namespace == call.ns {
        list_reply(call.app, call.req, &call.ns, false, |p: Package| {
            p.summary()
        })
        .await
    } else {
        public_list(call.app, call.req, &call.ns).await
    }
}

/// Another namespace's packages: only published ones that are not bindings, paged after
/// filtering so `skip`, `limit` and `count` see only those.
async fn public_list(app: &App, req: &Request, ns: &str) -> Result<Reply, ApiError> {
    let page = Page::parse(req, "packages")?;
    let rows = app
        .store
        .list_entities(ns, Collection::Packages, false, 0, MAX_CONTENTS)
        .await?;
    let mut public: Vec<PackageSummary> = Vec::new();
    for row in rows {
        let p = Package::from_doc(&row.doc)?;
        if p.publish && p.bound().is_none() {
            public.push(p.summary());
        }
    }
    if page.count {
        return Ok(Reply::json(
            StatusCode::OK,
            &json!({"packages": public.len()}),
        ));
    }
    let out: Vec<PackageSummary> = public
        .into_iter()
        .skip(page.skip as usize)
        .take(page.limit as usize)
        .collect();
    Reply::json_of(StatusCode::OK, &out)
}

/// `GET …/packages/{name}`: the package with its actions and feeds (a binding's with the
/// parameters it layers), for its owner or, when published, anyone.
pub(crate) async fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, identity) = (call.app, call.identity()?);
    let (ns, name) = (call.ns.as_str(), call.param("packageName"));
    let resource = &format!("{ns}/{name}");
    let e = match existing::<Package>(app, ns, name).await? {
        Some(e) if identity.namespace == ns || e.doc.publish => e,
        Some(_) => return Err(WhiskError::forbidden(resource).into()),
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                messages::package_missing(resource),
            ));
        }
    };
    let via = package::resolve(&*app.store, &identity.namespace, ns, name, resource).await?;
    let mut package = e.doc;
    if via.binding.is_some() {
        package.parameters = via
            .params()
            .into_iter()
            .map(|(key, value)| KeyValue::new(&key, value))
            .collect();
    }
    let rows = app
        .store
        .list_entities(
            &via.real.path(),
            Collection::Actions,
            false,
            0,
            MAX_CONTENTS,
        )
        .await?;
    let (mut actions, mut feeds) = (Vec::new(), Vec::new());
    for row in rows {
        let a = Action::from_doc(&row.doc)?;
        let item = json!({"name": a.name, "version": a.version, "annotations": a.annotations});
        if entity::lookup(&a.annotations, "feed").is_some() {
            feeds.push(item);
        } else {
            actions.push(item);
        }
    }
    let mut doc = package.to_doc();
    doc["actions"] = Value::from(actions);
    doc["feeds"] = Value::from(feeds);
    Ok(Reply::json(StatusCode::OK, &doc))
}

/// `PUT …/packages/{name}`: creates a package or binding, or updates it with
/// `overwrite=true`; only in the caller's namespace.
pub(crate) async fn put(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, req, identity) = (call.app, call.req, call.identity()?);
    let (ns, name) = (call.ns.as_str(), call.param("packageName"));
    call.owner_only(&format!("{ns}/{name}"))?;
    if name == package::RESERVED {
        return Err(ApiError::bad_request(messages::PACKAGE_RESERVED));
    }
    let body = put_body(req)?;
    let old: Option<Stored<Package>> = replaced(app, req, ns, name).await?;
    let put = PackagePut::parse(&body, &identity.namespace)?;
    let old_package = old.as_ref().map(|o| &o.doc);
    let binding = put.binding(old_package)?;
    package::check_binding_target(&*app.store, &identity.namespace, &binding).await?;
    let built = put.build(ns, name, binding, old_package, now_ms());
    let written = store_doc(call, ns, name, &built, old.map(|o| o.rev)).await?;
    Ok(Reply::json(StatusCode::OK, &written))
}

/// `DELETE …/packages/{name}`: only in the caller's namespace; with its actions when
/// `force=true`, else 409 while it has any.
pub(crate) async fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, req) = (call.app, call.req);
    let (ns, name) = (call.ns.as_str(), call.param("packageName"));
    call.owner_only(&format!("{ns}/{name}"))?;
    let e: Stored<Package> = existing(app, ns, name)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let path = format!("{ns}/{name}");
    let n = app
        .store
        .count_entities(&path, Collection::Actions, false)
        .await?;
    if n > 0 {
        if !req.flag("force", false)? {
            return Err(ApiError::new(StatusCode::CONFLICT, package::not_empty(n)));
        }
        for action in app
            .store
            .list_entities(&path, Collection::Actions, false, 0, MAX_CONTENTS)
            .await?
        {
            actions::remove(app, &path, &action.name).await?;
        }
    }
    let deleted = app.store.delete_entity(ns, name, Some(e.rev)).await?;
    Ok(Reply::json(StatusCode::OK, &deleted.doc))
}
