//! `…/namespaces/{ns}/activations[/{id}[/result|/logs]]` (spec §2.7). Read-only; records are
//! visible only to the namespace that invoked them.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use shoal_router::ActivationId;
use shoal_store::ActivationQuery;

use super::{Page, Reply, Request, allow, owner_only};
use crate::activation;
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::messages;

/// Routes the activations collection.
pub(crate) async fn route(
    app: &Arc<App>,
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&str],
) -> Result<Reply, ApiError> {
    owner_only(identity, ns, ns)?;
    allow(req, &[Method::GET])?;
    match path {
        [] | [""] => list(app, req, ns).await,
        [id] => get(app, ns, id)
            .await
            .map(|r| Reply::json(StatusCode::OK, &r)),
        [id, "result"] => get(app, ns, id)
            .await
            .map(|r| Reply::json(StatusCode::OK, &activation::result_view(&r))),
        [id, "logs"] => get(app, ns, id).await.map(|r| {
            Reply::json(
                StatusCode::OK,
                &json!({"logs": r.get("logs").cloned().unwrap_or(json!([]))}),
            )
        }),
        _ => Err(ApiError::no_route()),
    }
}

async fn get(app: &App, ns: &str, id: &str) -> Result<Value, ApiError> {
    let id = ActivationId::parse(id).map_err(ApiError::bad_request)?;
    app.store
        .get_activation(ns, id.as_str())
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn list(app: &App, req: &Request, ns: &str) -> Result<Reply, ApiError> {
    let page = Page::parse(req, "activations")?;
    let docs = req.flag("docs", false)?;
    if page.count && docs {
        return Err(ApiError::bad_request(messages::DOCS_WITH_COUNT));
    }
    let epoch = |name: &str| -> Result<Option<i64>, ApiError> {
        match req.param(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "Parameter is not a valid value for epoch seconds: {v}"
                ))
            }),
        }
    };
    let name = match req.param("name") {
        None | Some("") => None,
        Some(n) if n.trim_matches('/').split('/').count() <= 2 => {
            Some(n.trim_matches('/').to_string())
        }
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "Parameter may be a 'simple' name or 'package-name/simple' name: {n}"
            )));
        }
    };
    let query = ActivationQuery {
        namespace: ns.to_string(),
        name,
        since: epoch("since")?,
        upto: epoch("upto")?,
        skip: page.skip,
        limit: page.limit,
    };
    if page.count {
        let n = app.store.count_activations(&query).await?;
        return Ok(Reply::json(StatusCode::OK, &json!({"activations": n})));
    }
    let records = app.store.list_activations(&query).await?;
    let out: Vec<Value> = if docs {
        records
    } else {
        records.iter().map(activation::summary).collect()
    };
    Ok(Reply::json(StatusCode::OK, &Value::Array(out)))
}
