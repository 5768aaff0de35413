//! The request as handlers see it: decoded path segments and query pairs, the body, and the
//! list parameters (`skip`, `limit`, `count`) every collection reads.

use std::sync::Arc;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use serde_json::{Map, Value};
use shoal_router::json;

use crate::auth::Identity;
use crate::buffers::Payer;
use crate::error::ApiError;
use crate::messages;

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
    /// The caller, when the listener already checked the Basic credentials the route takes
    /// (before reading the body, [`super::credentials_first`]); the dispatcher then does not
    /// look them up again.
    pub caller: Option<Arc<Identity>>,
    /// An action's outbound request to shoal's own API host, answered in-process
    /// (`server::answer`): it may not read what only operators may (`/metrics`).
    pub from_action: bool,
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
            caller: None,
            from_action: false,
        }
    }

    /// Who pays for the request's share of the server's buffers: the caller's namespace
    /// when it came with credentials; else the quarter all anonymous requests share, and
    /// never the namespace its path names (anyone could fill that one's quarter by naming
    /// it).
    pub fn payer(&self) -> Payer<'_> {
        match &self.caller {
            Some(caller) => Payer::caller(&caller.namespace),
            None => Payer::anonymous(),
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
