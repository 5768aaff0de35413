//! Serving gateway routes: `/api/{tenant}/{basePath}{relPath}` (see [`crate::gateway`]).
//!
//! In OpenWhisk's gateway's order: find the route (404 `Error: Not found.`), answer a CORS
//! preflight when the API enables CORS, match the method (404 `Error: Whoops. Verb not
//! supported.`), check the API key or client secret (401), take from the rate limit (429),
//! then invoke the web action as `/api/v1/web` would, with the route's secure key as
//! `X-Require-Whisk-Auth` and, for `.http` routes, the request path as `__ow_path`. Gateway
//! errors are `{"status": N, "message": "Error: …"}`.

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, HeaderName, HeaderValue, ORIGIN, VARY,
};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::json;

use super::call::Call;
use super::reply::Reply;
use super::request::Request;
use super::web;
use crate::app::App;
use crate::error::ApiError;
use crate::gateway::Served;
use crate::gateway::apidoc::{self, Found, KeyPlace, Keys, Route};

const CORS_METHODS: &str = "GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS";

/// A gateway error reply.
fn refused(status: StatusCode, message: &str) -> Reply {
    let body = json!({"status": status.as_u16(), "message": format!("Error: {message}")});
    Reply::new(
        status,
        Bytes::from(format!("{body}\n")),
        "application/json; charset=utf-8",
    )
}

/// Answers one request to `/api/{tenant}/{path…}`. Its refusals are the gateway's, never
/// OpenWhisk's error envelope.
pub(crate) async fn serve(call: &Call<'_>) -> Result<Reply, ApiError> {
    let path = std::iter::once(call.param("path")).chain(call.below.iter().map(String::as_str));
    let rest: Vec<&str> = path.collect();
    Ok(answer(call.app, call.req, call.param("tenant"), &rest).await)
}

/// The gateway's reply to `rest` (the base path and the route's path) of `tenant`.
async fn answer(app: &Arc<App>, req: &Request, tenant: &str, rest: &[&str]) -> Reply {
    let tenant = match app.gateway.tenant(tenant).await {
        Ok(Some(t)) => t,
        Ok(None) => return refused(StatusCode::NOT_FOUND, "Not found."),
        Err(e) => {
            tracing::error!(error = %e, "gateway: store failure");
            return refused(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.");
        }
    };
    let apis: Vec<&apidoc::Api> = tenant.apis.iter().map(|s| &s.api).collect();
    let (served, route, matched) = match apidoc::find(&apis, rest, req.method.as_str()) {
        Found::Nothing => return refused(StatusCode::NOT_FOUND, "Not found."),
        Found::WrongMethod(api) => {
            let reply = if req.method == Method::OPTIONS && api.cors == Some(true) {
                Reply::empty(StatusCode::OK)
            } else {
                refused(StatusCode::NOT_FOUND, "Whoops. Verb not supported.")
            };
            return with_cors(reply, api.cors, req);
        }
        Found::Route(index, route, matched) => (&tenant.apis[index], route, matched),
    };
    let api = &served.api;
    if req.method == Method::OPTIONS && api.cors == Some(true) {
        return with_cors(Reply::empty(StatusCode::OK), api.cors, req);
    }
    let key = match admitted(served, req) {
        Ok(key) => key,
        Err(why) => return with_cors(refused(StatusCode::UNAUTHORIZED, &why), api.cors, req),
    };
    if let Some(limit) = api.rate_limit
        && !app
            .gateway
            .limiter
            .admit(&tenant.namespace, &api.base_path, key.unwrap_or(""), limit)
    {
        return with_cors(
            refused(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded"),
            api.cors,
            req,
        );
    }
    // `.http` routes get the whole path (`$(request.path)`), others what lies below the route.
    let path = if route.forwards_path {
        rest
    } else {
        rest.get(matched..).unwrap_or_default()
    };
    let reply = invoke(app, req, route, path).await;
    with_cors(reply, api.cors, req)
}

/// The caller's API key when the API asks for one, or why it is refused (answered 401).
fn admitted<'r>(served: &Served, req: &'r Request) -> Result<Option<&'r str>, String> {
    match &served.api.keys {
        Keys::Open => Ok(None),
        Keys::ApiKey(place) => match presented(req, place) {
            Some(key) if served.admits(key, None) => Ok(Some(key)),
            _ => Err("Unauthorized".into()),
        },
        Keys::ClientSecret { id, secret } => {
            let client = presented(req, id).ok_or_else(|| required(id))?;
            let given = presented(req, secret).ok_or_else(|| required(secret))?;
            if served.admits(client, Some(given)) {
                Ok(Some(client))
            } else {
                Err("Secret mismatch or not subscribed to this api.".into())
            }
        }
    }
}

fn required(place: &KeyPlace) -> String {
    match place {
        KeyPlace::Header(name) | KeyPlace::Query(name) => format!("{name} required"),
    }
}

fn presented<'r>(req: &'r Request, place: &KeyPlace) -> Option<&'r str> {
    match place {
        KeyPlace::Header(name) => req.header(&name.to_ascii_lowercase()),
        KeyPlace::Query(name) => req.param(name),
    }
    .filter(|v| !v.is_empty())
}

/// Invokes the route's web action through the web action path, with `path` (segments) as its
/// `__ow_path`.
async fn invoke(app: &Arc<App>, req: &Request, route: &Route, path: &[&str]) -> Reply {
    let target = &route.target;
    let action = format!("{}.{}", target.action, target.response);
    let mut headers = req.headers.clone();
    if let Some(key) = &route.secure_key
        && let Ok(value) = HeaderValue::from_str(key)
    {
        headers.insert(HeaderName::from_static("x-require-whisk-auth"), value);
    }
    let forwarded = Request {
        method: req.method.clone(),
        segments: req.segments.clone(),
        query: req.query.clone(),
        raw_query: req.raw_query.clone(),
        headers,
        body: req.body.clone(),
        tid: req.tid.clone(),
        caller: req.caller.clone(),
        from_action: req.from_action,
    };
    let parts = [target.namespace.as_str(), &target.package, &action];
    match web::answer(app, &forwarded, parts, path).await {
        Ok(reply) => reply,
        Err(e) => Reply::error(e, &req.tid),
    }
}

/// Applies the API's CORS setting to a reply: `Some(true)` allows any origin, `Some(false)`
/// removes the action's CORS headers, `None` leaves them.
fn with_cors(mut reply: Reply, cors: Option<bool>, req: &Request) -> Reply {
    let headers: &mut HeaderMap = &mut reply.headers;
    match cors {
        None => {}
        Some(false) => {
            for name in [
                ACCESS_CONTROL_ALLOW_ORIGIN,
                ACCESS_CONTROL_ALLOW_METHODS,
                ACCESS_CONTROL_ALLOW_HEADERS,
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                ACCESS_CONTROL_EXPOSE_HEADERS,
                ACCESS_CONTROL_MAX_AGE,
            ] {
                headers.remove(name);
            }
        }
        Some(true) => {
            let origin = req
                .headers
                .get(ORIGIN)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static("*"));
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            // The answer depends on the caller's origin: caches must keep one per origin.
            headers.append(VARY, HeaderValue::from_static("Origin"));
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(CORS_METHODS),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            if let Some(asked) = req.headers.get(ACCESS_CONTROL_REQUEST_HEADERS) {
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
        }
    }
    reply
}
