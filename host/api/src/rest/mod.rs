//! The REST API (spec §1–2): request parsing, routing by path segments, and the reply type.
//! Handlers return `Result<Reply, ApiError>`; the server turns errors into the envelope.

mod actions;
mod activations;
mod apimgmt;
mod gateway;
mod packages;
pub mod routes;
mod rules;
mod system;
mod triggers;
mod web;

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};
use shoal_store::{Collection, Entity};

use crate::app::App;
use crate::auth::Identity;
use crate::entity;
use crate::error::ApiError;
use crate::messages;
use shoal_model::WhiskError;
use shoal_router::{ActivationId, json};

/// A parsed request. Lives for one request.
#[derive(Debug)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Percent-decoded path segments after the leading `/` (a trailing slash gives a final
    /// empty segment).
    pub segments: Vec<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The query string as sent (raw web actions receive it as `__ow_query`).
    pub raw_query: String,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// Transaction id (`X-Request-ID`).
    pub tid: String,
}

/// The segments of `path` after RFC 3986's removal of dot segments (§5.2.4), as OpenWhisk's
/// HTTP layer applies it before routing: `.` goes, `..` takes the segment before it with it
/// (never above the root), and a path ending in either ends with `/`. So
/// `/api/v1/namespaces/_/actions/../../whisk.system/actions/x` is routed, and authorised, as
/// `/api/v1/namespaces/whisk.system/actions/x`. Only literal dots count: a percent-encoded
/// `..` stays a segment (an invalid entity name).
fn without_dot_segments(path: &str) -> Vec<&str> {
    let raw: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(raw.len());
    let last = raw.len() - 1;
    for (i, segment) in raw.into_iter().enumerate() {
        match segment {
            "." | ".." => {
                if segment == ".." {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            _ => out.push(segment),
        }
    }
    out
}

impl Request {
    /// Splits `path?query` into decoded segments and pairs (dot segments removed first).
    pub fn new(
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Bytes,
        tid: String,
    ) -> Self {
        let (path, query_text) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let segments = without_dot_segments(path)
            .into_iter()
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let query = form_urlencoded::parse(query_text.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Request {
            method,
            segments,
            query,
            raw_query: query_text.to_string(),
            headers,
            body,
            tid,
        }
    }

    /// The last value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter (absent → `default`).
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.param(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_request(messages::malformed_query(
                name,
                &format!("'{v}' is not a valid Boolean value"),
            ))),
        }
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON object; an empty body is `{}`.
    pub fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match json::parse(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::bad_request(messages::malformed(
                "expected a JSON object",
            ))),
            Err(e) => Err(ApiError::bad_request(messages::malformed(&e.to_string()))),
        }
    }
}

/// A successful response. Built by handlers, written by the server.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Body bytes.
    pub body: Bytes,
    /// Headers, including `Content-Type` when there is a body.
    pub headers: HeaderMap,
    /// Sets `x-openwhisk-activation-id` when present.
    pub activation_id: Option<ActivationId>,
}

impl Reply {
    /// A reply with `body` of type `content_type`.
    pub fn new(status: StatusCode, body: Bytes, content_type: &'static str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        Reply {
            status,
            body,
            headers,
            activation_id: None,
        }
    }

    /// A reply without a body (and so without a content type).
    pub fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: Bytes::new(),
            headers: HeaderMap::new(),
            activation_id: None,
        }
    }

    /// The OpenWhisk error envelope of `error` for transaction `tid` (spec §1.3), as a reply
    /// that can still take headers such as the activation id.
    pub fn error(error: ApiError, tid: &str) -> Self {
        let (status, body) = error.into_envelope(tid);
        Self::new(status, Bytes::from(body), "application/json")
    }

    /// A JSON reply.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        Self::new(status, Bytes::from(value.to_string()), "application/json")
    }

    /// A plain-text reply.
    pub fn text(status: StatusCode, text: &'static str) -> Self {
        Self::new(
            status,
            Bytes::from_static(text.as_bytes()),
            "text/plain; charset=UTF-8",
        )
    }

    /// Tags the reply with an activation id header.
    pub fn with_activation(mut self, id: ActivationId) -> Self {
        self.activation_id = Some(id);
        self
    }
}

/// Runs `work`, CPU-heavy control-plane work such as compiling an action's code, without
/// holding the I/O thread: on the multi-threaded I/O runtime the thread's other tasks move to
/// another thread meanwhile (`block_in_place`). Elsewhere (unit tests) it just runs.
fn off_the_io_thread<T>(work: impl FnOnce() -> T) -> T {
    let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
    match flavor {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Routes one request.
pub async fn dispatch(app: &Arc<App>, req: &Request) -> Result<Reply, ApiError> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [""] => only_get(req).map(|_| system::info(app)),
        ["ping"] => only_get(req).map(|_| Reply::text(StatusCode::OK, "pong")),
        ["health"] => only_get(req).map(|_| system::health(app)),
        ["metrics"] => only_get(req).and_then(|_| system::metrics(app, req)),
        ["api", "v1"] | ["api", "v1", ""] => only_get(req).map(|_| system::api_info()),
        ["api", "v1", "api-docs"] => {
            only_get(req).map(|_| Reply::json(StatusCode::OK, &routes::openapi(app.api_host())))
        }
        ["api", "v1", "docs"] => only_get(req).map(|_| {
            Reply::new(
                StatusCode::OK,
                routes::page().into(),
                "text/html; charset=utf-8",
            )
        }),
        ["api", "v1", "namespaces", rest @ ..] => namespaces(app, req, rest).await,
        ["api", "v1", "web", "whisk.system", "apimgmt", operation] => {
            apimgmt::route(app, req, operation).await
        }
        ["api", "v1", "web", rest @ ..] => web::route(app, req, rest).await,
        ["api", "v1", ..] => Err(ApiError::no_route()),
        ["api", tenant, rest @ ..] => Ok(gateway::serve(app, req, tenant, rest).await),
        _ => Err(ApiError::no_route()),
    }
}

fn only_get(req: &Request) -> Result<(), ApiError> {
    allow(req, &[Method::GET])
}

/// The methods of one entity of a collection: get, create or update, delete, and invoke,
/// fire or set state.
const ENTITY_METHODS: [Method; 4] = [Method::GET, Method::PUT, Method::DELETE, Method::POST];

/// What a request to one of a namespace's collections addresses.
enum Addressed<'a> {
    /// The collection (`GET …/rules`).
    List,
    /// One entity (`…/rules/{name}`).
    One(&'a str),
}

/// The checks every owner-only collection makes first, in OpenWhisk's order: the path's shape
/// (404), the entity name (400), ownership (403), then the method (405: `GET` for the list,
/// one of `methods` for an entity).
fn collection<'a>(
    req: &Request,
    identity: &Identity,
    ns: &str,
    path: &[&'a str],
    methods: &[Method],
) -> Result<Addressed<'a>, ApiError> {
    match path {
        [] | [""] => {
            owner_only(identity, ns, ns)?;
            allow(req, &[Method::GET])?;
            Ok(Addressed::List)
        }
        [name] => {
            valid_names(&[name])?;
            owner_only(identity, ns, &format!("{ns}/{name}"))?;
            allow(req, methods)?;
            Ok(Addressed::One(name))
        }
        _ => Err(ApiError::no_route()),
    }
}

/// 405 unless the method is one of `allowed`.
fn allow(req: &Request, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(&req.method) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    Err(ApiError::method_not_allowed(&names.join(", ")))
}

async fn namespaces(app: &Arc<App>, req: &Request, rest: &[&str]) -> Result<Reply, ApiError> {
    let identity = app.auth.authenticate(req.header("authorization")).await?;
    match rest {
        [] | [""] => {
            only_get(req)?;
            Ok(Reply::json(
                StatusCode::OK,
                &Value::from(vec![identity.namespace.clone()]),
            ))
        }
        [ns, tail @ ..] => {
            let ns = resolve_namespace(&identity, ns)?;
            match tail {
                [] | [""] => Err(ApiError::no_route()),
                ["limits"] => {
                    owner_only(&identity, &ns, &ns)?;
                    only_get(req)?;
                    Ok(system::limits(&identity))
                }
                ["limits", ..] => Err(ApiError::bad_request(messages::LIMITS_INNER_ROUTES)),
                ["actions", path @ ..] => actions::route(app, req, &identity, &ns, path).await,
                ["activations", path @ ..] => {
                    activations::route(app, req, &identity, &ns, path).await
                }
                ["packages", path @ ..] => packages::route(app, req, &identity, &ns, path).await,
                ["triggers", path @ ..] => triggers::route(app, req, &identity, &ns, path).await,
                ["rules", path @ ..] => rules::route(app, req, &identity, &ns, path).await,
                _ => Err(ApiError::no_route()),
            }
        }
    }
}

/// Resolves `_` to the caller's namespace and validates the name.
fn resolve_namespace(identity: &Identity, ns: &str) -> Result<String, ApiError> {
    if ns == "_" {
        return Ok(identity.namespace.clone());
    }
    entity::valid_entity_name(ns)
        .map_err(|_| ApiError::bad_request(messages::ILLEGAL_NAMESPACE))?;
    Ok(ns.to_string())
}

/// 403 naming `resource` unless the caller owns `ns`.
fn owner_only(identity: &Identity, ns: &str, resource: &str) -> Result<(), ApiError> {
    if identity.namespace == ns {
        Ok(())
    } else {
        Err(WhiskError::forbidden(resource).into())
    }
}

/// `skip`, `limit` and `count` of a list request on `collection` (spec §2.2).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows to skip.
    pub skip: u64,
    /// Rows to return.
    pub limit: u64,
    /// Whether only the count was asked for.
    pub count: bool,
}

impl Page {
    /// Parses the list parameters with OpenWhisk's texts.
    pub fn parse(req: &Request, collection: &str) -> Result<Self, ApiError> {
        let int = |name: &str, default: i64| -> Result<i64, ApiError> {
            match req.param(name) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "The value '{v}' is not an integer for {collection}."
                    ))
                }),
            }
        };
        let limit = int("limit", 30)?;
        if !(0..=200).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "The value '{limit}' is not in the range of 0 to 200 for {collection}."
            )));
        }
        let skip = int("skip", 0)?;
        if skip < 0 {
            return Err(ApiError::bad_request(format!(
                "The value '{skip}' is not greater than or equal to 0 for {collection}."
            )));
        }
        Ok(Page {
            skip: skip as u64,
            limit: if limit == 0 { 200 } else { limit as u64 },
            count: req.flag("count", false)?,
        })
    }
}

/// One page of `collection` in `ns` (with packaged actions when `include_packaged`) as a JSON
/// array of `summary(doc)`, dropping documents it maps to `None`; or `{"<collection>": n}`
/// with `count=true`.
async fn list_reply(
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
async fn existing(
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
async fn replaced(
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
async fn store_doc(
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
fn put_body(req: &Request) -> Result<Map<String, Value>, ApiError> {
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

/// Validates each path segment as an entity name (400 with OpenWhisk's text).
fn valid_names(names: &[&str]) -> Result<(), ApiError> {
    names
        .iter()
        .try_for_each(|n| entity::valid_entity_name(n).map_err(ApiError::bad_request))
}

/// Epoch milliseconds now.
fn now_ms() -> i64 {
    crate::activation::epoch_ms(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::without_dot_segments;

    #[test]
    fn dot_segments_are_removed_as_rfc_3986_says() {
        for (path, want) in [
            (
                "/api/v1/namespaces/_/actions/../../whisk.system/actions/alarms/alarm",
                "api/v1/namespaces/whisk.system/actions/alarms/alarm",
            ),
            ("/a/./b", "a/b"),
            ("/a/b/..", "a/"),
            ("/a/b/.", "a/b/"),
            ("/../../a", "a"),
            ("/a/%2E%2E/b", "a/%2E%2E/b"),
            ("/a/..b/c", "a/..b/c"),
            ("/", ""),
            ("/ping", "ping"),
        ] {
            assert_eq!(without_dot_segments(path).join("/"), want, "{path}");
        }
    }
}
