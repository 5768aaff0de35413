//! Web actions (spec §4): `/api/v1/web/{ns}/{pkg|default}/{action}[.ext][/rest]`, answered
//! without an API key as the action's owner. Builds the action's arguments from the HTTP
//! request (`__ow_*` metadata, query and body by content type, or raw mode), invokes it
//! blocking through the controller, and shapes the result into an HTTP response by
//! extension. The warm path touches no store: the owner and the action come from caches.

mod media;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use hyper::header::{
    self, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue,
};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value};
use shoal_router::json;

use self::media::MediaType;
use super::call::Call;
use super::reply::Reply;
use super::request::Request;
use crate::action::ActionEntry;
use crate::activation::Status;
use crate::app::App;
use crate::controller::{Invoked, MAX_BLOCKING_WAIT};
use crate::entity;
use crate::error::ApiError;
use crate::messages;

/// Keys a web request may never set itself.
const RESERVED: [&str; 6] = [
    "__ow_method",
    "__ow_headers",
    "__ow_path",
    "__ow_user",
    "__ow_body",
    "__ow_query",
];

const CORS_METHODS: &str = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH";
const CORS_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// The response form asked for by the action segment's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    Http,
    Json,
    Html,
    Svg,
    Text,
}

/// Splits `name.ext`; a segment without a known extension is all name, answered as `.http`.
fn split_ext(segment: &str) -> (&str, Ext) {
    for (suffix, ext) in [
        (".json", Ext::Json),
        (".html", Ext::Html),
        (".http", Ext::Http),
        (".svg", Ext::Svg),
        (".text", Ext::Text),
    ] {
        if let Some(name) = segment.strip_suffix(suffix) {
            return (name, ext);
        }
    }
    (segment, Ext::Http)
}

/// `/api/v1/web/{namespace}/{package}/{action}[.ext][/…]`: calls a web action, with any
/// method.
pub(crate) async fn route(call: &Call<'_>) -> Result<Reply, ApiError> {
    let (ns, pkg) = (call.param("namespace"), call.param("packageName"));
    let tail: Vec<&str> = call.below.iter().map(String::as_str).collect();
    answer(
        call.app,
        call.req,
        [ns, pkg, call.param("actionName")],
        &tail,
    )
    .await
}

/// Answers a request to web action `[ns, pkg, name.ext]` with `tail` the path below it.
pub(super) async fn answer(
    app: &Arc<App>,
    req: &Request,
    [ns, pkg, segment]: [&str; 3],
    tail: &[&str],
) -> Result<Reply, ApiError> {
    let (name, ext) = split_ext(segment);
    let target = find(app, ns, pkg, name).await;
    let custom_options = target
        .as_ref()
        .is_ok_and(|(_, action)| action.web.custom_options);
    let result = match target {
        Ok((owner, action)) => serve(app, req, owner, action, ext, tail).await,
        Err(e) => Err(e),
    };
    if custom_options {
        return result;
    }
    let mut reply = result.unwrap_or_else(|e| Reply::error(e, &req.tid));
    add_cors(&mut reply.headers, req);
    Ok(reply)
}

/// The owner identity and the web-exported action, or 404.
async fn find(
    app: &App,
    ns: &str,
    pkg: &str,
    name: &str,
) -> Result<(Arc<crate::auth::Identity>, Arc<ActionEntry>), ApiError> {
    let owner = app.auth.owner(ns).await?.ok_or_else(ApiError::not_found)?;
    // A packaged action resolves as its owner would invoke it: through bindings, with the
    // package's and binding's parameters layered under the action's.
    let package = (pkg != "default").then_some(pkg);
    let action = app
        .controller
        .resolve(&owner, ns, package, name)
        .await
        // What the caller may not see is not there; a store that fails is still a failure.
        .map_err(|e| {
            if e.is_platform_failure() {
                ApiError::from(e)
            } else {
                ApiError::not_found()
            }
        })?;
    if !action.web.export {
        return Err(ApiError::not_found());
    }
    Ok((owner, action))
}

fn add_cors(headers: &mut HeaderMap, req: &Request) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(CORS_METHODS),
    );
    let allow = req
        .headers
        .get(ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static(CORS_HEADERS));
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allow);
}

async fn serve(
    app: &Arc<App>,
    req: &Request,
    owner: Arc<crate::auth::Identity>,
    action: Arc<ActionEntry>,
    ext: Ext,
    tail: &[&str],
) -> Result<Reply, ApiError> {
    if req.method == Method::OPTIONS && !action.web.custom_options {
        return Ok(Reply::empty(StatusCode::OK));
    }
    let caller = match req.header("authorization") {
        Some(header) => app.auth.lookup(header).await?,
        None => None,
    };
    let exempt = req.method == Method::OPTIONS && action.web.custom_options;
    if !exempt && !authorized(&action.web.require_auth, caller.is_some(), req) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            messages::WEB_UNAUTHORIZED,
        ));
    }
    let max = app.settings.limits.max_payload_bytes;
    if req.body.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            messages::request_too_large(req.body.len(), max),
        ));
    }
    let path = if tail.is_empty() {
        String::new()
    } else {
        format!("/{}", tail.join("/"))
    };
    let args = arguments(req, &action, path, caller.map(|c| c.namespace.clone()))?;
    let invoked = app
        .controller
        .invoke(&owner, action, args, Some(MAX_BLOCKING_WAIT), &req.tid)
        .await?;
    // Once the action has run, every answer names its activation, errors included.
    let (id, reply) = match invoked {
        Invoked::Pending(id) => (
            id,
            Err(ApiError::new(StatusCode::ACCEPTED, messages::WEB_NOT_READY)),
        ),
        Invoked::Done(id, record) => {
            let status = record.status();
            (id, shape(ext, status, record.response.result))
        }
    };
    let reply = reply.unwrap_or_else(|e| Reply::error(e, &req.tid));
    Ok(reply.with_activation(id))
}

/// Whether `require-whisk-auth` lets this request through.
fn authorized(required: &Option<Value>, authenticated: bool, req: &Request) -> bool {
    let secret = req.header("x-require-whisk-auth");
    match required {
        None | Some(Value::Bool(false)) => true,
        Some(Value::Bool(true)) => authenticated,
        Some(Value::String(s)) => secret == Some(s.as_str()),
        Some(Value::Number(n)) => secret == Some(n.to_string().as_str()),
        Some(_) => false,
    }
}

/// The action's arguments for this request (spec §4.2).
fn arguments(
    req: &Request,
    action: &ActionEntry,
    path: String,
    user: Option<String>,
) -> Result<Map<String, Value>, ApiError> {
    let entity = entity_type(req);
    let mut headers = Map::new();
    for (name, value) in &req.headers {
        // Pekko keeps the length with the entity, not among the headers.
        if name == CONTENT_LENGTH {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    if let Some(media) = &entity
        && !req.headers.contains_key(CONTENT_TYPE)
    {
        headers.insert(
            CONTENT_TYPE.as_str().to_string(),
            Value::String(media.essence().to_string()),
        );
    }
    let mut args = Map::new();
    args.insert(
        "__ow_method".into(),
        Value::String(req.method.as_str().to_ascii_lowercase()),
    );
    args.insert("__ow_headers".into(), Value::Object(headers));
    args.insert("__ow_path".into(), Value::String(path));
    if let Some(user) = user {
        args.insert("__ow_user".into(), Value::String(user));
    }
    if action.web.raw {
        args.insert("__ow_query".into(), Value::String(req.raw_query.clone()));
        let body = match &entity {
            None => Value::String(String::new()),
            Some(media) => opaque_body(media, &req.body),
        };
        args.insert("__ow_body".into(), body);
        return Ok(args);
    }
    let mut supplied = Map::new();
    for (k, v) in &req.query {
        supplied.insert(k.clone(), Value::String(v.clone()));
    }
    match &entity {
        None => {}
        // An empty JSON body adds nothing.
        Some(media) if media.is_json() && req.body.is_empty() => {}
        Some(media) if media.is_json() => match json::parse(&req.body) {
            Ok(Value::Object(fields)) => supplied.extend(fields),
            Ok(other) => {
                args.insert("__ow_body".into(), other);
            }
            Err(e) => {
                return Err(ApiError::bad_request(messages::malformed(&e.to_string())));
            }
        },
        Some(media) if media.is_form() => {
            for (k, v) in form_urlencoded::parse(&req.body) {
                supplied.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        Some(media) => {
            args.insert("__ow_body".into(), opaque_body(media, &req.body));
        }
    }
    if supplied
        .keys()
        .any(|k| RESERVED.contains(&k.as_str()) || action.final_keys.contains(k))
    {
        return Err(ApiError::bad_request(messages::PARAMS_NOT_ALLOWED));
    }
    args.extend(supplied);
    Ok(args)
}

/// The request entity's media type as Pekko gives it: the `Content-Type` sent, else
/// `application/octet-stream` when there is a body (or a type that does not parse); `None`
/// for the empty entity (no body, no type).
fn entity_type(req: &Request) -> Option<MediaType> {
    match req.header("content-type").and_then(MediaType::parse) {
        Some(media) => Some(media),
        None if req.body.is_empty() && !req.headers.contains_key(CONTENT_TYPE) => None,
        None => Some(MediaType::octet_stream()),
    }
}

/// `__ow_body` for a body that is not merged into the arguments: base64 for binary types and
/// (legacy) `application/json`, else the text.
fn opaque_body(media: &MediaType, body: &[u8]) -> Value {
    if media.is_binary() || media.essence() == "application/json" {
        Value::String(BASE64.encode(body))
    } else {
        Value::String(String::from_utf8_lossy(body).into_owned())
    }
}

/// Turns an activation's result into the HTTP response its extension asks for (spec §4.3).
fn shape(ext: Ext, status: Status, result: Value) -> Result<Reply, ApiError> {
    let value = match status {
        Status::Success => result,
        Status::ApplicationError => match result {
            Value::Object(mut o) => o.remove("error").unwrap_or(Value::Null),
            other => other,
        },
        Status::DeveloperError | Status::InternalError => {
            return Err(ApiError::bad_request(messages::WEB_ERROR));
        }
    };
    let mut value = value;
    let text_reply = |ct: &'static str, media_name: &str, v: Option<Value>| match v {
        Some(Value::String(s)) => Ok(Reply::new(StatusCode::OK, Bytes::from(s), ct)),
        _ => Err(ApiError::bad_request(messages::web_invalid(media_name))),
    };
    match ext {
        Ext::Json if value.is_object() || value.is_array() => {
            Ok(Reply::json(StatusCode::OK, &value))
        }
        Ext::Json => Err(ApiError::bad_request(messages::web_invalid(
            "application/json",
        ))),
        Ext::Html => text_reply(
            "text/html; charset=UTF-8",
            "text/html",
            take_field(&mut value, "html"),
        ),
        Ext::Svg => text_reply(
            "image/svg+xml",
            "image/svg+xml",
            take_field(&mut value, "svg"),
        ),
        Ext::Text => {
            let text = match take_field(&mut value, "text") {
                None => {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        messages::WEB_MISSING_PROPERTY,
                    ));
                }
                Some(Value::String(s)) => s,
                Some(v @ (Value::Object(_) | Value::Array(_))) => {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                }
                Some(v) => v.to_string(),
            };
            Ok(Reply::new(
                StatusCode::OK,
                Bytes::from(text),
                "text/plain; charset=UTF-8",
            ))
        }
        Ext::Http => http_response(value),
    }
}

/// Moves `body`, or else `name`, out of an object result (no copy of the text).
fn take_field(value: &mut Value, name: &str) -> Option<Value> {
    let fields = value.as_object_mut()?;
    fields.remove("body").or_else(|| fields.remove(name))
}

/// Response headers an action's `headers` cannot set: the message's framing and the
/// connection's management are the server's (Pekko, under OpenWhisk, ignores an explicit
/// `Content-Length` or `Transfer-Encoding` too). Passed through, a `Content-Length` that
/// disagrees with the body would let one action's bytes be read as the answer to the next
/// request on a shared connection (a proxy's, another tenant's).
const SERVER_OWNED: [HeaderName; 8] = [
    CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

/// The `.http` form: `{statusCode?, headers?, body?}` (spec §4.3). Takes the result by value
/// so that a text body becomes the response body without a copy. A `statusCode` of 100–199
/// is not a valid one: an informational status cannot end an exchange.
fn http_response(value: Value) -> Result<Reply, ApiError> {
    let invalid = || ApiError::bad_request(messages::web_invalid("message/http"));
    let Value::Object(mut obj) = value else {
        return Err(invalid());
    };
    let mut headers = HeaderMap::new();
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (name, v) in given {
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
                if SERVER_OWNED.contains(&name) {
                    continue;
                }
                let values = match v {
                    Value::Array(items) => items.iter().collect(),
                    single => vec![single],
                };
                for item in values {
                    let text = match item {
                        Value::String(s) => s.clone(),
                        Value::Number(_) | Value::Bool(_) => item.to_string(),
                        _ => return Err(invalid()),
                    };
                    let hv = HeaderValue::from_str(&text).map_err(|_| invalid())?;
                    headers.append(name.clone(), hv);
                }
            }
        }
        Some(_) => return Err(invalid()),
    }
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(invalid)?),
        Some(Value::String(s)) => Some(s.trim().parse::<u64>().map_err(|_| invalid())?),
        Some(_) => return Err(invalid()),
    };
    let status = status
        .map(|code| {
            u16::try_from(code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .filter(|c| !c.is_informational())
                .ok_or_else(invalid)
        })
        .transpose()?;
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Bytes = match obj.remove("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if s.is_empty() => Bytes::new(),
        Some(Value::String(s)) => {
            let ct = declared.as_deref().unwrap_or("text/html");
            let media = MediaType::parse(ct)
                .ok_or_else(|| ApiError::bad_request(messages::WEB_UNKNOWN_TYPE))?;
            if declared.is_none() {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            }
            if media.is_binary() {
                Bytes::from(
                    BASE64
                        .decode(s.trim())
                        .map_err(|_| ApiError::bad_request(messages::WEB_TYPE_MISMATCH))?,
                )
            } else if media.is_json() && entity::looks_base64(&s) {
                match BASE64.decode(s.trim()) {
                    Ok(bytes) => Bytes::from(bytes),
                    Err(_) => Bytes::from(s),
                }
            } else {
                Bytes::from(s)
            }
        }
        Some(other) => {
            match declared.as_deref().map(MediaType::parse) {
                None => {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                Some(Some(media)) if media.is_json() => {}
                Some(_) => return Err(ApiError::bad_request(messages::WEB_TYPE_MISMATCH)),
            }
            Bytes::from(other.to_string())
        }
    };
    if body.is_empty() {
        headers.remove(CONTENT_TYPE);
    }
    let status = status.unwrap_or(if body.is_empty() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    });
    Ok(Reply {
        status,
        body,
        headers,
        activation_id: None,
        held: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extensions_split_off_the_action_name() {
        assert_eq!(split_ext("hello.json"), ("hello", Ext::Json));
        assert_eq!(split_ext("hello"), ("hello", Ext::Http));
        assert_eq!(split_ext("a.b.text"), ("a.b", Ext::Text));
        assert_eq!(split_ext("hello.xml"), ("hello.xml", Ext::Http));
    }

    fn entry(annotations: Value) -> ActionEntry {
        let doc = json!({"namespace": "guest", "name": "a", "version": "0.0.1", "annotations": annotations,
                         "exec": {"kind": "nodejs:20", "code": "x"}});
        ActionEntry::from_doc(&doc).unwrap()
    }

    /// The arguments of a POST with `headers` and `body`, in raw mode or not.
    fn args_of(headers: &[(&str, &str)], body: &'static [u8], raw: bool) -> Map<String, Value> {
        let mut h = HeaderMap::new();
        for (name, value) in headers {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let req = Request::new(Method::POST, "/x", h, Bytes::from_static(body), "t".into());
        let action = entry(json!([{"key": "raw-http", "value": raw}]));
        arguments(&req, &action, String::new(), None).unwrap()
    }

    #[test]
    fn ow_headers_leave_out_the_length_and_type_the_entity() {
        let args = args_of(&[("content-length", "3"), ("x-a", "b")], b"abc", false);
        assert_eq!(
            args["__ow_headers"],
            json!({"x-a": "b", "content-type": "application/octet-stream"})
        );
        assert_eq!(args["__ow_body"], BASE64.encode("abc"));
        let args = args_of(&[("content-type", "text/plain")], b"abc", false);
        assert_eq!(args["__ow_headers"], json!({"content-type": "text/plain"}));
        // no body and no type: the empty entity has no type
        let args = args_of(&[("content-length", "0")], b"", false);
        assert_eq!(args["__ow_headers"], json!({}));
        assert!(!args.contains_key("__ow_body"));
    }

    #[test]
    fn empty_bodies_with_a_type() {
        for (ct, body) in [
            ("text/plain", Some("")),
            ("image/png", Some("")),
            ("application/json", None),
            ("application/x-www-form-urlencoded", None),
        ] {
            let args = args_of(&[("content-type", ct)], b"", false);
            assert_eq!(args.get("__ow_body").and_then(Value::as_str), body, "{ct}");
            assert_eq!(args_of(&[("content-type", ct)], b"", true)["__ow_body"], "");
        }
    }

    #[test]
    fn request_bodies_are_base64_for_binary_types() {
        let svg: &[u8] = b"<svg/>";
        for raw in [false, true] {
            for (ct, encoded) in [
                ("image/svg+xml", true),
                ("text/javascript", true),
                ("application/xml", false),
                ("text/javascript; charset=utf-8", false),
            ] {
                let args = args_of(&[("content-type", ct)], b"<svg/>", raw);
                let expected = if encoded {
                    BASE64.encode(svg)
                } else {
                    "<svg/>".into()
                };
                assert_eq!(args["__ow_body"], expected, "{ct} raw={raw}");
            }
        }
        // raw mode: JSON is base64 (legacy) but only application/json itself
        let args = args_of(&[("content-type", "application/json")], b"[1]", true);
        assert_eq!(args["__ow_body"], BASE64.encode("[1]"));
        let args = args_of(
            &[("content-type", "application/vnd.api+json")],
            b"[1]",
            true,
        );
        assert_eq!(args["__ow_body"], "[1]");
    }

    fn http(v: Value) -> Result<Reply, ApiError> {
        shape(Ext::Http, Status::Success, v)
    }

    #[test]
    fn http_defaults_and_redirects() {
        let r = http(json!({"statusCode": 302, "headers": {"location": "http://openwhisk.org"}}))
            .unwrap();
        assert_eq!(r.status, 302);
        assert!(r.body.is_empty());
        assert_eq!(r.headers["location"], "http://openwhisk.org");
        assert_eq!(http(json!({})).unwrap().status, 204);
        let r = http(json!({"body": "<p>hi</p>"})).unwrap();
        assert_eq!(
            (r.status.as_u16(), r.headers[CONTENT_TYPE].to_str().unwrap()),
            (200, "text/html")
        );
    }

    #[test]
    fn http_repeated_headers_binary_and_json_bodies() {
        let r = http(json!({"headers": {"set-cookie": ["a=1", "b=2"], "content-type": "image/png"}, "body": "iVBORw=="})).unwrap();
        assert_eq!(r.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(&r.body[..], &[0x89, b'P', b'N', b'G'][..]);
        let r = http(json!({"body": {"a": 1}})).unwrap();
        assert_eq!(&r.body[..], br#"{"a":1}"#);
        assert_eq!(r.headers[CONTENT_TYPE], "application/json");
        let e =
            http(json!({"headers": {"content-type": "text/plain"}, "body": {"a": 1}})).unwrap_err();
        assert_eq!(e.message, messages::WEB_TYPE_MISMATCH);
        let e = http(json!({"headers": {"content-type": "nonsense"}, "body": "x"})).unwrap_err();
        assert_eq!(e.message, messages::WEB_UNKNOWN_TYPE);
        let e = http(json!({"headers": {"content-type": "image/png"}, "body": "!!"})).unwrap_err();
        assert_eq!(e.message, messages::WEB_TYPE_MISMATCH);
        let svg = "<svg/>";
        let r =
            http(json!({"headers": {"content-type": "image/svg+xml"}, "body": BASE64.encode(svg)}))
                .unwrap();
        assert_eq!(&r.body[..], svg.as_bytes());
        let e =
            http(json!({"headers": {"content-type": "image/svg+xml"}, "body": svg})).unwrap_err();
        assert_eq!(e.message, messages::WEB_TYPE_MISMATCH);
        let e = http(json!({"headers": {"x": {"nested": 1}}})).unwrap_err();
        assert_eq!(e.message, "Response is not valid 'message/http'.");
        assert_eq!(
            http(json!({"statusCode": "404", "body": "no"}))
                .unwrap()
                .status,
            404
        );
    }

    #[test]
    fn http_framing_and_connection_headers_stay_the_servers() {
        let r = http(json!({"headers": {
            "Content-Length": "0", "Transfer-Encoding": "chunked", "connection": "close",
            "Keep-Alive": "timeout=1", "upgrade": "h2c", "te": "trailers", "trailer": "x",
            "proxy-connection": "close", "x-kept": "yes"
        }, "body": "forged"}))
        .unwrap();
        let names: Vec<_> = r.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept", "content-type"]);
        assert_eq!(&r.body[..], b"forged");
    }

    #[test]
    fn http_informational_status_codes_are_not_valid() {
        for code in [json!(100), json!(101), json!("103"), json!(199)] {
            let e = http(json!({"statusCode": code, "body": "x"})).unwrap_err();
            assert_eq!(e.message, "Response is not valid 'message/http'.", "{code}");
        }
        assert_eq!(http(json!({"statusCode": 599})).unwrap().status, 599);
    }

    #[test]
    fn other_extensions() {
        let ok = |ext, v| shape(ext, Status::Success, v);
        assert_eq!(ok(Ext::Json, json!([1])).unwrap().status, 200);
        assert_eq!(
            ok(Ext::Json, json!("x")).unwrap_err().message,
            "Response is not valid 'application/json'."
        );
        assert_eq!(
            &ok(Ext::Html, json!({"html": "<b>x</b>"})).unwrap().body[..],
            b"<b>x</b>"
        );
        assert_eq!(
            ok(Ext::Html, json!({"html": 1})).unwrap_err().message,
            "Response is not valid 'text/html'."
        );
        assert_eq!(&ok(Ext::Text, json!({"text": 5})).unwrap().body[..], b"5");
        assert_eq!(ok(Ext::Text, json!({})).unwrap_err().status, 404);
        assert_eq!(
            &ok(Ext::Svg, json!({"body": "<svg/>"})).unwrap().body[..],
            b"<svg/>"
        );
    }

    #[test]
    fn application_errors_are_projected_and_others_hidden() {
        let r = shape(
            Ext::Http,
            Status::ApplicationError,
            json!({"error": {"statusCode": 400, "body": "bad"}}),
        )
        .unwrap();
        assert_eq!((r.status.as_u16(), &r.body[..]), (400, &b"bad"[..]));
        let e = shape(Ext::Json, Status::DeveloperError, json!({"error": "x"})).unwrap_err();
        assert_eq!(e.message, "There was an error processing your request.");
    }

    #[test]
    fn require_whisk_auth_rules() {
        let req = |secret: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(s) = secret {
                h.insert("x-require-whisk-auth", HeaderValue::from_str(s).unwrap());
            }
            Request::new(Method::GET, "/", h, Bytes::new(), "t".into())
        };
        assert!(authorized(&None, false, &req(None)));
        assert!(!authorized(&Some(json!(true)), false, &req(None)));
        assert!(authorized(&Some(json!(true)), true, &req(None)));
        assert!(authorized(&Some(json!("s3")), false, &req(Some("s3"))));
        assert!(!authorized(&Some(json!("s3")), false, &req(Some("no"))));
        assert!(authorized(&Some(json!(42)), false, &req(Some("42"))));
        assert!(!authorized(&Some(json!([1])), true, &req(Some("1"))));
    }
}
