//! What the entity collections share: a page of a collection, the stored entity a request
//! names, the PUT body with its size limits, and the revision-checked write.

use hyper::StatusCode;
use serde_json::{Map, Value, json};
use shoal_store::{Collection, Entity};

use super::reply::Reply;
use super::request::{Page, Request};
use crate::app::App;
use crate::error::ApiError;
use crate::messages;

/// One page of `collection` in `ns` (with packaged actions when `include_packaged`) as a JSON
/// array of `summary(doc)`, dropping documents it maps to `None`; or `{"<collection>": n}`
/// with `count=true`.
pub(super) async fn list_reply(
    app: &App,
    req: &Request,
    ns: &str,
    collection: Collection,
    include_packaged: bool,
    summary: impl Fn(&Value) -> Option<Value>,
) -> Result<Reply, ApiError> {
    let name = collection.as_str();
    let page = Page::parse(req, name)?;
    if page.count {
        let n = app
            .store
            .count_entities(ns, collection, include_packaged)
            .await?;
        return Ok(Reply::json(StatusCode::OK, &json!({ name: n })));
    }
    let rows = app
        .store
        .list_entities(ns, collection, include_packaged, page.skip, page.limit)
        .await?;
    let out: Vec<Value> = rows.iter().filter_map(|e| summary(&e.doc)).collect();
    Ok(Reply::json(StatusCode::OK, &Value::Array(out)))
}

/// The stored entity `ns/name` of `collection`, or `None`; 409 when the name is another
/// collection's.
pub(super) async fn existing(
    app: &App,
    ns: &str,
    name: &str,
    collection: Collection,
) -> Result<Option<Entity>, ApiError> {
    match app.store.get_entity(ns, name).await? {
        Some(e) if e.collection != collection => Err(ApiError::new(
            StatusCode::CONFLICT,
            messages::NOT_IN_COLLECTION,
        )),
        other => Ok(other),
    }
}

/// The entity a PUT replaces: `None` on create; 409 when it exists and `overwrite` is not set.
pub(super) async fn replaced(
    app: &App,
    req: &Request,
    ns: &str,
    name: &str,
    collection: Collection,
) -> Result<Option<Entity>, ApiError> {
    let overwrite = req.flag("overwrite", false)?;
    match existing(app, ns, name, collection).await? {
        Some(_) if !overwrite => Err(ApiError::new(
            StatusCode::CONFLICT,
            messages::ALREADY_EXISTS,
        )),
        old => Ok(old),
    }
}

/// Writes `doc` as `ns/name` in `collection`, over `old` (its revision guards the update).
pub(super) async fn store_doc(
    app: &App,
    ns: &str,
    name: &str,
    collection: Collection,
    doc: &Value,
    old: Option<&Entity>,
) -> Result<(), ApiError> {
    let entity = Entity {
        namespace: ns.to_string(),
        name: name.to_string(),
        collection,
        doc: doc.clone(),
        updated: doc["updated"].as_i64().unwrap_or_default(),
        rev: 0,
    };
    app.store.put_entity(entity, old.map(|o| o.rev)).await?;
    Ok(())
}

/// Largest `exec` accepted on PUT (spec §8.2).
const MAX_EXEC_BYTES: usize = 48 * 1024 * 1024;
/// Largest `parameters` / `annotations` accepted on PUT.
const MAX_PARAMS_BYTES: usize = 1024 * 1024;

/// The body of an entity PUT: a JSON object whose `exec`, `parameters` and `annotations` are
/// within OpenWhisk's sizes (413 with its text otherwise).
pub(super) fn put_body(req: &Request) -> Result<Map<String, Value>, ApiError> {
    let body = req.json_object()?;
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
    Ok(body)
}

/// Epoch milliseconds now.
pub(super) fn now_ms() -> i64 {
    crate::activation::epoch_ms(std::time::SystemTime::now())
}

/// Runs `work`, CPU-heavy control-plane work such as compiling an action's code, without
/// holding the I/O thread: on the multi-threaded I/O runtime the thread's other tasks move to
/// another thread meanwhile (`block_in_place`). Elsewhere (unit tests) it just runs.
pub(super) fn off_the_io_thread<T>(work: impl FnOnce() -> T) -> T {
    let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
    match flavor {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
