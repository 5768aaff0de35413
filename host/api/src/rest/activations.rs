//! `…/namespaces/{ns}/activations[/{id}[/result|/logs]]` (spec §2.7). Read-only; records are
//! visible only to the namespace that invoked them.

use hyper::StatusCode;
use serde_json::{Value, json};
use shoal_router::ActivationId;
use shoal_store::{ActivationQuery, MAX_PAGE_BYTES};

use super::call::Call;
use super::reply::Reply;
use super::request::Page;
use crate::activation;
use crate::error::ApiError;
use crate::{messages, server};

/// `GET …/activations/{id}`: the record.
pub(crate) async fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(StatusCode::OK, &record(call).await?))
}

/// `GET …/activations/{id}/result`: the record's response.
pub(crate) async fn result(call: &Call<'_>) -> Result<Reply, ApiError> {
    let record = record(call).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &activation::result_view(&record),
    ))
}

/// `GET …/activations/{id}/logs`: the record's log lines.
pub(crate) async fn logs(call: &Call<'_>) -> Result<Reply, ApiError> {
    let record = record(call).await?;
    let logs = record.get("logs").cloned().unwrap_or(json!([]));
    Ok(Reply::json(StatusCode::OK, &json!({ "logs": logs })))
}

/// The record the path names, in the call's namespace: 400 for an id that is not one, 404
/// when there is no such record there.
async fn record(call: &Call<'_>) -> Result<Value, ApiError> {
    let id = ActivationId::parse(call.param("activationId")).map_err(ApiError::bad_request)?;
    call.app
        .store
        .get_activation(&call.ns, id.as_str())
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET …/activations`: a page of the namespace's records, newest first.
pub(crate) async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (app, req, ns) = (call.app, call.req, call.ns.as_str());
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
        docs,
    };
    if page.count {
        let n = app.store.count_activations(&query).await?;
        return Ok(Reply::json(StatusCode::OK, &json!({"activations": n})));
    }
    if docs {
        // A page of whole records holds up to MAX_PAGE_BYTES of them, and about as much
        // again while its reply is written: that share of the server's buffers is taken
        // before the page is read and given back once the reply is sent.
        let held = server::hold_for_reply(&query.namespace, 2 * MAX_PAGE_BYTES)?;
        let records = app.store.list_activations(&query).await?;
        let mut reply = Reply::json(StatusCode::OK, &Value::Array(records));
        reply.held = Some(held);
        return Ok(reply);
    }
    let records = app.store.list_activations(&query).await?;
    let summaries = records
        .iter()
        .map(activation::summary)
        .collect::<Result<Vec<_>, _>>()?;
    Reply::json_of(StatusCode::OK, &summaries)
}
