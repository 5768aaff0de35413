//! The API document: OpenWhisk's Swagger 2.0 form of one API (one namespace, one base path),
//! as `wsk api` and serverless build it and `getApi` returns it.
//!
//! Each operation carries an `x-openwhisk` block naming the web action it invokes
//! (`namespace`, `package`, `action`, `url`); the secure key sent to that action as
//! `X-Require-Whisk-Auth` lives, as in OpenWhisk, in the `x-ibm-configuration` assembly's
//! `operation-switch` case for the operation (found by its `operationId`, so ids are unique
//! within a document). `securityDefinitions` and `x-ibm-rate-limit` ask the gateway to enforce
//! API keys and rate limits.
//!
//! Editing functions work on the JSON document (so a document keeps everything its author
//! put in it); [`compile`] turns one into the [`Api`] the gateway serves from.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

/// Operations a path may have, as Swagger spells them.
pub const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// Most operations one API may have.
pub const MAX_OPERATIONS: usize = 1_024;

/// Longest rate-limit window: `unit × units` of at most a year.
const MAX_WINDOW_SECONDS: u64 = 366 * 86_400;

/// Response types a route may use: the web action extension it invokes.
pub const RESPONSE_TYPES: [&str; 5] = ["json", "http", "html", "text", "svg"];

/// The web action an operation invokes and the extension it invokes it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The action's namespace.
    pub namespace: String,
    /// Its package, or `default`.
    pub package: String,
    /// Its name.
    pub action: String,
    /// One of [`RESPONSE_TYPES`].
    pub response: String,
}

impl Target {
    /// The web action URL of this target under `api_host`.
    pub fn url(&self, api_host: &str) -> String {
        format!(
            "{api_host}/api/v1/web/{}/{}/{}.{}",
            self.namespace, self.package, self.action, self.response
        )
    }
}

/// One operation as `createApi` receives it (the CLI's `apidoc` without a swagger).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base path of the API it joins (`/hello`, or `/`).
    pub base_path: String,
    /// The API's name, when one is given.
    pub api_name: Option<String>,
    /// Path relative to the base path (`/world`, `/books/{isbn}`).
    pub rel_path: String,
    /// Lower-case operation (one of [`METHODS`]).
    pub method: String,
    /// What it invokes.
    pub target: Target,
    /// Secure key the action requires (`require-whisk-auth`), sent as `X-Require-Whisk-Auth`.
    pub secure_key: Option<String>,
    /// Swagger `parameters` of the path's `{params}`, as the client built them.
    pub parameters: Option<Value>,
}

/// A new, empty API document.
pub fn base_doc(base_path: &str, title: &str) -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": title, "version": "1.0.0"},
        "basePath": base_path,
        "paths": {},
        "x-ibm-configuration": {"assembly": {}, "cors": {"enabled": true}},
    })
}

/// OpenWhisk's operation id: the method, then each word of the path capitalised
/// (`get` + `/books/{isbn}` → `getBooksIsbn`).
fn operation_id(method: &str, rel_path: &str) -> String {
    let mut id = method.to_string();
    for word in rel_path.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

/// The operation id of `method` on `rel_path` in `doc`: the one it has, else OpenWhisk's form
/// made unique among the document's ids (`/aB` and `/a/b` both read `getAB`).
fn unique_operation_id(doc: &Value, method: &str, rel_path: &str) -> String {
    if let Some(id) = doc["paths"][rel_path][method]["operationId"].as_str() {
        return id.to_string();
    }
    let taken: std::collections::HashSet<&str> = operations(doc)
        .filter_map(|(_, _, op)| op["operationId"].as_str())
        .collect();
    let base = operation_id(method, rel_path);
    let mut id = base.clone();
    let mut n = 1;
    while taken.contains(id.as_str()) {
        n += 1;
        id = format!("{base}_{n}");
    }
    id
}

/// Every operation of `doc`: its path, lower-case method and value (methods of any case).
fn operations(doc: &Value) -> impl Iterator<Item = (&String, String, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(path, ops)| ops.as_object().map(|ops| (path, ops)))
        .flat_map(|(path, ops)| {
            ops.iter().filter_map(move |(method, op)| {
                let method = method.to_ascii_lowercase();
                METHODS
                    .contains(&method.as_str())
                    .then_some((path, method, op))
            })
        })
}

/// The suffix of a target URL that forwards the request path to the action as `__ow_path`.
const REQUEST_PATH: &str = "$(request.path)";

/// The `operation-switch` cases of `doc`, created when missing.
fn cases_mut(doc: &mut Value) -> Option<&mut Vec<Value>> {
    let config = doc
        .as_object_mut()?
        .entry("x-ibm-configuration")
        .or_insert_with(|| json!({}));
    let assembly = config
        .as_object_mut()?
        .entry("assembly")
        .or_insert_with(|| json!({}));
    let execute = assembly
        .as_object_mut()?
        .entry("execute")
        .or_insert_with(|| json!([]));
    let execute = execute.as_array_mut()?;
    let at = match execute
        .iter()
        .position(|s| s.get("operation-switch").is_some())
    {
        Some(i) => i,
        None => {
            execute.push(json!({"operation-switch": {"case": []}}));
            execute.len() - 1
        }
    };
    execute[at]["operation-switch"]
        .as_object_mut()?
        .entry("case")
        .or_insert_with(|| json!([]))
        .as_array_mut()
}

fn case_operation(case: &Value) -> Option<&str> {
    case["operations"].get(0)?.as_str()
}

/// Adds (or replaces) `ep`'s operation in `doc`, which must be an API document.
pub fn add_endpoint(doc: &mut Value, ep: &Endpoint, api_host: &str) {
    let id = unique_operation_id(doc, &ep.method, &ep.rel_path);
    let url = ep.target.url(api_host);
    let mut operation = json!({
        "operationId": id,
        "x-openwhisk": {
            "namespace": ep.target.namespace,
            "package": ep.target.package,
            "action": ep.target.action,
            "url": url,
        },
        "responses": {"default": {"description": "Default response"}},
    });
    if let Some(parameters) = &ep.parameters {
        operation["parameters"] = parameters.clone();
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        let path = paths
            .entry(ep.rel_path.clone())
            .or_insert_with(|| json!({}));
        if let Some(path) = path.as_object_mut() {
            path.insert(ep.method.clone(), operation);
        }
    }
    // Only `.http` actions can read the request path; OpenWhisk forwards it to them alone.
    let target_url = if ep.target.response == "http" {
        format!("{url}{REQUEST_PATH}")
    } else {
        url
    };
    let mut execute = vec![json!({"invoke": {"target-url": target_url, "verb": "keep"}})];
    if let Some(key) = &ep.secure_key {
        execute.push(json!({"set-variable": {"actions": [
            {"set": "message.headers.X-Require-Whisk-Auth", "value": key}
        ]}}));
    }
    let case = json!({"operations": [id], "execute": execute});
    if let Some(cases) = cases_mut(doc) {
        match cases.iter().position(|c| case_operation(c) == Some(&id)) {
            Some(i) => cases[i] = case,
            None => cases.push(case),
        }
    }
}

/// Removes `rel_path` (every operation, or only `method`) from `doc`. The error is
/// OpenWhisk's text for a path or operation the API does not have.
pub fn remove_endpoint(
    doc: &mut Value,
    rel_path: &str,
    method: Option<&str>,
) -> Result<(), String> {
    let missing = || format!("path {rel_path} does not exist in the API");
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or_else(missing)?;
    let ops = paths
        .get_mut(rel_path)
        .and_then(Value::as_object_mut)
        .ok_or_else(missing)?;
    let chosen: Vec<String> = ops
        .keys()
        .filter(|k| method.is_none_or(|m| k.eq_ignore_ascii_case(m)))
        .cloned()
        .collect();
    if let (Some(m), true) = (method, chosen.is_empty()) {
        return Err(format!(
            "path {rel_path} with operation {m} does not exist in the API"
        ));
    }
    // The cases go by the removed operations' own ids.
    let ids: Vec<String> = chosen
        .iter()
        .filter_map(|k| ops.remove(k))
        .filter_map(|op| op["operationId"].as_str().map(str::to_string))
        .collect();
    if method.is_none()
        || !ops
            .keys()
            .any(|k| METHODS.contains(&k.to_ascii_lowercase().as_str()))
    {
        paths.remove(rel_path);
    }
    if let Some(cases) = cases_mut(doc) {
        cases.retain(|c| !case_operation(c).is_some_and(|op| ids.iter().any(|id| id == op)));
    }
    Ok(())
}

/// Whether `doc` has no operation left.
pub fn is_empty(doc: &Value) -> bool {
    doc["paths"].as_object().is_none_or(Map::is_empty)
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Must equal the request's segment.
    Literal(String),
    /// `{name}`: takes any non-empty segment as parameter `name`.
    Param(String),
}

/// One operation the gateway serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The path template relative to the base path, as written (`/books/{isbn}`).
    pub rel_path: String,
    /// Its segments.
    pub template: Vec<Segment>,
    /// Upper-case HTTP method.
    pub method: String,
    /// The web action it invokes.
    pub target: Target,
    /// Sent to the action as `X-Require-Whisk-Auth`.
    pub secure_key: Option<String>,
    /// Whether the action gets the request path as `__ow_path` (target URL ending in
    /// `$(request.path)`).
    pub forwards_path: bool,
}

/// Where a request presents an API key or secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPlace {
    /// A request header of this name (as written; matched case-insensitively).
    Header(String),
    /// A query parameter of this name.
    Query(String),
}

/// A rate limit: `rate` requests per `per_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub rate: u64,
    /// The window's length in seconds.
    pub per_seconds: u64,
}

/// Which keys an API requires (its `securityDefinitions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Any caller.
    Open,
    /// A subscribed API key (`type: apiKey`).
    ApiKey(KeyPlace),
    /// A subscribed client id and its secret (definitions `client_id` and `client_secret`).
    ClientSecret {
        /// Where the client id is.
        id: KeyPlace,
        /// Where its secret is.
        secret: KeyPlace,
    },
}

/// One API, ready to serve: its routes and what the gateway enforces in front of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Base path: `/` or `/segment[/segment…]` without a trailing slash.
    pub base_path: String,
    /// The base path's segments (none for `/`).
    pub base: Vec<String>,
    /// Routes, most specific template first.
    pub routes: Vec<Route>,
    /// The indices of `routes` by their templates' number of segments, in `routes`' order:
    /// a lookup tries only the routes as long as the path it matches.
    pub by_len: HashMap<usize, Vec<usize>>,
    /// `x-ibm-configuration.cors.enabled`: `Some(true)` answers preflights and adds CORS
    /// headers, `Some(false)` strips the action's, `None` leaves the action's alone.
    pub cors: Option<bool>,
    /// The keys callers must present.
    pub keys: Keys,
    /// Requests per key (or per API without keys) and window.
    pub rate_limit: Option<RateLimit>,
}

fn invalid(what: impl std::fmt::Display) -> String {
    format!("swagger is invalid: {what}")
}

/// Whether `s` can be a literal path segment: not empty, no dot segment, nothing that would
/// make it a template, query, fragment or escape.
fn plain_segment(s: &str) -> bool {
    !(s.is_empty() || s == "." || s == ".." || s.contains(['{', '}', '?', '#', '%']))
}

/// Checks a base path (`/` or `/a/b`, no empty, dot or templated segment) and returns its
/// segments.
pub fn base_segments(base_path: &str) -> Result<Vec<String>, String> {
    let Some(rest) = base_path.strip_prefix('/') else {
        return Err(format!("base path '{base_path}' must start with '/'"));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/')
        .map(|s| {
            if plain_segment(s) {
                Ok(s.to_string())
            } else {
                Err(format!("base path '{base_path}' is not a valid path"))
            }
        })
        .collect()
}

/// Parses a relative path template (`/`, `/a`, `/books/{isbn}`).
pub fn template(rel_path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = rel_path.strip_prefix('/') else {
        return Err(format!("path '{rel_path}' must start with '/'"));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if !name.is_empty() && !name.contains(['{', '}']) => {
                    Ok(Segment::Param(name.to_string()))
                }
                _ if plain_segment(s) => Ok(Segment::Literal(s.to_string())),
                _ => Err(format!("path '{rel_path}' is not a valid path template")),
            },
        )
        .collect()
}

/// The response type named by a web action URL's extension (`….json`, `….http$(request.path)`).
fn url_response_type(url: &str) -> Option<&'static str> {
    let url = url.split("$(").next().unwrap_or(url);
    let last = url.rsplit('/').next()?;
    let (_, ext) = last.rsplit_once('.')?;
    RESPONSE_TYPES.into_iter().find(|t| *t == ext)
}

/// The assembly's `operation-switch` cases by operation id (the first case naming an id).
fn cases_by_operation(doc: &Value) -> HashMap<&str, &Value> {
    let mut cases = HashMap::new();
    for case in doc["x-ibm-configuration"]["assembly"]["execute"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["operation-switch"]["case"].as_array())
        .flatten()
    {
        if let Some(id) = case_operation(case) {
            cases.entry(id).or_insert(case);
        }
    }
    cases
}

/// The target URL a case invokes, if any.
fn target_url(case: &Value) -> Option<&str> {
    case["execute"]
        .as_array()?
        .iter()
        .find_map(|step| step["invoke"]["target-url"].as_str())
}

/// The secure key a case sets, if any.
fn secure_key(case: &Value) -> Option<String> {
    case["execute"]
        .as_array()?
        .iter()
        .filter_map(|step| step["set-variable"]["actions"].as_array())
        .flatten()
        .find(|a| {
            a["set"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("message.headers.X-Require-Whisk-Auth"))
        })
        .and_then(|a| match &a["value"] {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

fn target(op: &Value, namespace: &str, where_: &str) -> Result<Target, String> {
    let ow = op
        .get("x-openwhisk")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("{where_} has no x-openwhisk block")))?;
    let field = |name: &str| ow.get(name).and_then(Value::as_str).unwrap_or_default();
    let action = field("action");
    if action.is_empty() {
        return Err(invalid(format!("{where_} names no action in x-openwhisk")));
    }
    let ns = match field("namespace") {
        "" | "_" => namespace,
        ns => ns,
    };
    let package = match field("package") {
        "" => "default",
        p => p,
    };
    for name in [ns, package, action] {
        crate::entity::valid_entity_name(name).map_err(|_| {
            invalid(format!(
                "{where_} names an invalid action /{ns}/{package}/{action}"
            ))
        })?;
    }
    Ok(Target {
        namespace: ns.to_string(),
        package: package.to_string(),
        action: action.to_string(),
        response: url_response_type(field("url"))
            .unwrap_or("json")
            .to_string(),
    })
}

/// The keys `doc` requires, as OpenWhisk's gateway reads `securityDefinitions`: exactly the
/// two entries `client_id` and `client_secret` ask for a client id and secret, otherwise an
/// `apiKey` entry asks for a key. OAuth providers are refused rather than left open.
fn keys(doc: &Value) -> Result<Keys, String> {
    let Some(defs) = doc["securityDefinitions"]
        .as_object()
        .filter(|d| !d.is_empty())
    else {
        return Ok(Keys::Open);
    };
    if let (2, Some(id), Some(secret)) =
        (defs.len(), defs.get("client_id"), defs.get("client_secret"))
    {
        return Ok(Keys::ClientSecret {
            id: key_place(id)?,
            secret: key_place(secret)?,
        });
    }
    let mut found = Keys::Open;
    for (name, def) in defs {
        match def["type"].as_str() {
            Some("apiKey") if found == Keys::Open => found = Keys::ApiKey(key_place(def)?),
            Some("apiKey") => {}
            other => {
                return Err(invalid(format!(
                    "security definition '{name}' of type {} is not supported by this gateway \
                     (only apiKey, or client_id with client_secret)",
                    other.unwrap_or("(none)")
                )));
            }
        }
    }
    Ok(found)
}

fn key_place(def: &Value) -> Result<KeyPlace, String> {
    let name = def["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("a securityDefinitions entry has no name"))?;
    match def["in"].as_str() {
        None | Some("header") => Ok(KeyPlace::Header(name.to_string())),
        Some("query") => Ok(KeyPlace::Query(name.to_string())),
        Some(other) => Err(invalid(format!(
            "security definition '{name}' is in '{other}'; only header or query are supported"
        ))),
    }
}

fn rate_limit(doc: &Value) -> Result<Option<RateLimit>, String> {
    let Some(limit) = doc["x-ibm-rate-limit"].as_array().and_then(|l| l.first()) else {
        return Ok(None);
    };
    let rate = limit["rate"].as_u64().filter(|r| *r > 0);
    let units = limit["units"].as_u64().unwrap_or(1).max(1);
    let unit = match limit["unit"].as_str() {
        Some("second") => Some(1),
        Some("minute") => Some(60),
        Some("hour") => Some(3_600),
        Some("day") => Some(86_400),
        _ => None,
    };
    let window = unit
        .and_then(|u: u64| u.checked_mul(units))
        .filter(|w| *w <= MAX_WINDOW_SECONDS);
    match (rate, window) {
        (Some(rate), Some(per_seconds)) => Ok(Some(RateLimit { rate, per_seconds })),
        _ => Err(invalid(
            "x-ibm-rate-limit needs a positive rate, a unit of second, minute, hour or day, and \
             units making a window of at most a year",
        )),
    }
}

/// Validates an API document of `namespace` and builds what the gateway serves from it. The
/// error says what is wrong, for `createApi` to answer.
pub fn compile(doc: &Value, namespace: &str) -> Result<Api, String> {
    let base_path = doc["basePath"]
        .as_str()
        .ok_or_else(|| "swagger is missing the basePath field.".to_string())?;
    let base = base_segments(base_path).map_err(invalid)?;
    let paths = doc["paths"]
        .as_object()
        .ok_or_else(|| "swagger is missing the paths field.".to_string())?;
    if !doc["info"].is_object() {
        return Err("swagger is missing the info field.".into());
    }
    for (rel_path, ops) in paths {
        if !ops.is_object() {
            return Err(invalid(format!("path '{rel_path}' is not an object")));
        }
    }
    let cases = cases_by_operation(doc);
    let mut ids = HashSet::new();
    let mut routes = Vec::new();
    for (rel_path, method, op) in operations(doc) {
        if routes.len() == MAX_OPERATIONS {
            return Err(format!(
                "the API has more than {MAX_OPERATIONS} operations."
            ));
        }
        let template = template(rel_path).map_err(invalid)?;
        let where_ = format!("{} {rel_path}", method.to_ascii_uppercase());
        let id = op["operationId"].as_str().unwrap_or_default();
        if !id.is_empty() && !ids.insert(id) {
            return Err(invalid(format!(
                "operationId '{id}' names more than one operation"
            )));
        }
        let case = (!id.is_empty()).then(|| cases.get(id)).flatten();
        let target = target(op, namespace, &where_)?;
        let forwards_path = case
            .and_then(|c| target_url(c))
            .or_else(|| op["x-openwhisk"]["url"].as_str())
            .is_some_and(|u| u.ends_with(REQUEST_PATH));
        if template.iter().any(|s| matches!(s, Segment::Param(_))) {
            if target.response != "http" {
                return Err(format!(
                    "{where_}: the action must use a response type of '.http' in order to \
                     receive the path parameters."
                ));
            }
            if !forwards_path {
                return Err(format!(
                    "{where_}: the target-url for operationId '{id}' must end in \
                     '{REQUEST_PATH}' in order for actions to receive the path parameters."
                ));
            }
        }
        let secure_key = case.and_then(|c| secure_key(c));
        if secure_key
            .as_deref()
            .is_some_and(|k| hyper::header::HeaderValue::from_str(k).is_err())
        {
            return Err(invalid(format!(
                "{where_}: the secure key is not a valid header value"
            )));
        }
        routes.push(Route {
            rel_path: rel_path.clone(),
            template,
            method: method.to_ascii_uppercase(),
            secure_key,
            forwards_path,
            target,
        });
    }
    // Literal segments win over parameters, position by position.
    routes.sort_by(|a, b| {
        let rank = |r: &Route| -> Vec<u8> {
            r.template
                .iter()
                .map(|s| u8::from(matches!(s, Segment::Param(_))))
                .collect()
        };
        rank(a).cmp(&rank(b))
    });
    let mut by_len: HashMap<usize, Vec<usize>> = HashMap::new();
    for (index, route) in routes.iter().enumerate() {
        by_len.entry(route.template.len()).or_default().push(index);
    }
    Ok(Api {
        base_path: base_path.trim_end_matches('/').to_string(),
        base,
        routes,
        by_len,
        cors: doc["x-ibm-configuration"]["cors"]["enabled"].as_bool(),
        keys: keys(doc)?,
        rate_limit: rate_limit(doc)?,
    })
}

/// What a request path and method find among a namespace's APIs.
#[derive(Debug)]
pub enum Found<'a> {
    /// The route, the index of its API in the list searched, and how many of the path's
    /// segments it matched (the rest lie below the route).
    Route(usize, &'a Route, usize),
    /// A route matches the path but not the method.
    WrongMethod(&'a Api),
    /// Nothing matches.
    Nothing,
}

/// Finds the route for `segments` (the path after `/api/{tenant}`) and `method` among
/// `apis`, as OpenWhisk's gateway does: the longest leading part of the path that some route
/// matches wins (so a route also serves the paths below it), and at one length the longest
/// base path, then literal segments before parameters. Only the lengths some route has are
/// tried, and at each only the routes of that length: a path of thousands of segments costs
/// what the routes do, not segments times routes.
pub fn find<'a>(apis: &[&'a Api], segments: &[&str], method: &str) -> Found<'a> {
    // `/x/` and `/x` are the same resource.
    let segments = match segments {
        [head @ .., ""] => head,
        other => other,
    };
    lengths(apis, segments.len())
        .into_iter()
        .find_map(|len| find_exact(apis, &segments[..len], method))
        .unwrap_or(Found::Nothing)
}

/// The path lengths up to `most` segments that some route of `apis` matches (its base path
/// and template together), longest first.
fn lengths(apis: &[&Api], most: usize) -> Vec<usize> {
    let mut lengths: Vec<usize> = apis
        .iter()
        .flat_map(|a| a.by_len.keys().map(|len| a.base.len() + len))
        .filter(|&len| len <= most)
        .collect();
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    lengths.dedup();
    lengths
}

/// The route matching all of `segments`, if any API has one.
fn find_exact<'a>(apis: &[&'a Api], segments: &[&str], method: &str) -> Option<Found<'a>> {
    let mut by_base: Vec<(usize, &'a Api)> = apis
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, a)| {
            segments.len() >= a.base.len() && a.base.iter().zip(segments).all(|(b, s)| b == s)
        })
        .collect();
    by_base.sort_by_key(|(_, a)| std::cmp::Reverse(a.base.len()));
    by_base.into_iter().find_map(|(index, api)| {
        let rest = &segments[api.base.len()..];
        let mut matching = api
            .by_len
            .get(&rest.len())?
            .iter()
            .map(|&i| &api.routes[i])
            .filter(|r| fits(&r.template, rest))
            .peekable();
        matching.peek()?;
        Some(match matching.find(|r| r.method == method) {
            Some(route) => Found::Route(index, route, segments.len()),
            None => Found::WrongMethod(api),
        })
    })
}

/// Whether `segments` fit `template` (a parameter takes any non-empty segment).
fn fits(template: &[Segment], segments: &[&str]) -> bool {
    template.len() == segments.len()
        && template.iter().zip(segments).all(|(t, s)| match t {
            Segment::Literal(l) => l == s,
            Segment::Param(_) => !s.is_empty(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(rel_path: &str, method: &str, response: &str) -> Endpoint {
        Endpoint {
            base_path: "/club".into(),
            api_name: None,
            rel_path: rel_path.into(),
            method: method.into(),
            target: Target {
                namespace: "guest".into(),
                package: "default".into(),
                action: "books".into(),
                response: response.into(),
            },
            secure_key: Some("s3cret".into()),
            parameters: None,
        }
    }

    fn club() -> Value {
        let mut doc = base_doc("/club", "Book Club");
        add_endpoint(&mut doc, &endpoint("/books", "get", "json"), "http://h");
        add_endpoint(
            &mut doc,
            &endpoint("/books/{isbn}", "get", "http"),
            "http://h",
        );
        add_endpoint(&mut doc, &endpoint("/books/new", "get", "json"), "http://h");
        add_endpoint(&mut doc, &endpoint("/books", "post", "json"), "http://h");
        doc
    }

    /// Nested base paths and a path of thousands of segments: only the lengths the routes
    /// have are tried, not every leading part of the path.
    #[test]
    fn a_long_path_is_matched_at_the_routes_lengths_only() {
        let apis: Vec<Api> = (1..=64)
            .map(|depth| {
                let base = "/b".repeat(depth);
                let mut doc = base_doc(&base, "nested");
                let books = Endpoint {
                    base_path: base.clone(),
                    ..endpoint("/books", "get", "json")
                };
                add_endpoint(&mut doc, &books, "http://h");
                compile(&doc, "guest").unwrap()
            })
            .collect();
        let apis: Vec<&Api> = apis.iter().collect();
        let path = vec!["b"; 32_000];
        let tried = lengths(&apis, path.len());
        assert_eq!(tried, (2..=65).rev().collect::<Vec<_>>());
        assert!(matches!(find(&apis, &path, "GET"), Found::Nothing));
        let mut below = vec!["b"; 3];
        below.extend(["books", "x", "y"]);
        assert!(matches!(find(&apis, &below, "GET"), Found::Route(2, _, 4)));
    }

    #[test]
    fn endpoints_build_openwhisk_shaped_operations() {
        let doc = club();
        let op = &doc["paths"]["/books/{isbn}"]["get"];
        assert_eq!(op["operationId"], "getBooksIsbn");
        assert_eq!(
            op["x-openwhisk"]["url"],
            "http://h/api/v1/web/guest/default/books.http"
        );
        let api = compile(&doc, "guest").unwrap();
        assert_eq!(api.routes.len(), 4);
        let by_param = api
            .routes
            .iter()
            .find(|r| r.rel_path == "/books/{isbn}")
            .unwrap();
        assert!(by_param.forwards_path, "http routes get the request path");
        assert_eq!(by_param.secure_key.as_deref(), Some("s3cret"));
        let plain = api.routes.iter().find(|r| r.rel_path == "/books").unwrap();
        assert!(!plain.forwards_path, "json routes do not");
        assert_eq!(api.cors, Some(true));
        assert_eq!(api.keys, Keys::Open);
    }

    #[test]
    fn literal_segments_win_and_methods_are_checked() {
        let api = compile(&club(), "guest").unwrap();
        let apis = [&api];
        let found = |path: &[&str], method| match find(&apis, path, method) {
            Found::Route(0, r, n) => match path[n..].iter().filter(|s| !s.is_empty()).count() {
                0 => format!("{} {}", r.method, r.rel_path),
                below => format!("{} {} +{below}", r.method, r.rel_path),
            },
            Found::WrongMethod(_) => "wrong method".into(),
            other => format!("{other:?}"),
        };
        assert_eq!(found(&["club", "books", "new"], "GET"), "GET /books/new");
        assert_eq!(found(&["club", "books", "978"], "GET"), "GET /books/{isbn}");
        assert_eq!(found(&["club", "books"], "POST"), "POST /books");
        assert_eq!(
            found(&["club", "books", ""], "GET"),
            "GET /books",
            "trailing slash"
        );
        assert_eq!(found(&["club", "books", "978"], "DELETE"), "wrong method");
        assert_eq!(
            found(&["club", "books", "978", "x"], "GET"),
            "GET /books/{isbn} +1",
            "a route serves the paths below it"
        );
        assert_eq!(found(&["club", "nope"], "GET"), "Nothing");
        assert_eq!(found(&["other", "books"], "GET"), "Nothing");
    }

    #[test]
    fn the_longest_base_path_wins() {
        let mut root = base_doc("/", "root");
        let mut ep = endpoint("/club/books", "get", "json");
        ep.base_path = "/".into();
        add_endpoint(&mut root, &ep, "http://h");
        let root = compile(&root, "guest").unwrap();
        let club = compile(&club(), "guest").unwrap();
        let apis = [&root, &club];
        assert!(matches!(
            find(&apis, &["club", "books"], "GET"),
            Found::Route(1, _, 2)
        ));
        assert!(matches!(
            find(&apis, &["club", "books"], "PUT"),
            Found::WrongMethod(_)
        ));
    }

    #[test]
    fn removing_operations_and_paths() {
        let mut doc = club();
        remove_endpoint(&mut doc, "/books", Some("post")).unwrap();
        assert!(doc["paths"]["/books"]["get"].is_object());
        assert_eq!(
            remove_endpoint(&mut doc, "/books", Some("post")).unwrap_err(),
            "path /books with operation post does not exist in the API"
        );
        remove_endpoint(&mut doc, "/books", None).unwrap();
        assert!(doc["paths"].get("/books").is_none());
        remove_endpoint(&mut doc, "/books/{isbn}", None).unwrap();
        remove_endpoint(&mut doc, "/books/new", Some("get")).unwrap();
        assert!(is_empty(&doc));
        let cases =
            &doc["x-ibm-configuration"]["assembly"]["execute"][0]["operation-switch"]["case"];
        assert_eq!(
            cases.as_array().map(Vec::len),
            Some(0),
            "their cases went too"
        );
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        let mut doc = club();
        doc["paths"]["/books/{isbn}"]["get"]["x-openwhisk"]["url"] = json!("http://h/x.json");
        assert!(
            compile(&doc, "guest")
                .unwrap_err()
                .contains("response type of '.http'")
        );
        let mut doc = club();
        doc.as_object_mut().unwrap().remove("paths");
        assert_eq!(
            compile(&doc, "guest").unwrap_err(),
            "swagger is missing the paths field."
        );
        let mut doc = club();
        doc["basePath"] = json!("club");
        assert!(compile(&doc, "guest").is_err());
        let mut doc = club();
        doc["securityDefinitions"] = json!({"google": {"type": "oauth2"}});
        assert!(
            compile(&doc, "guest")
                .unwrap_err()
                .contains("not supported")
        );
        let mut doc = club();
        doc["x-ibm-rate-limit"] = json!([{"rate": 0, "unit": "minute"}]);
        assert!(compile(&doc, "guest").is_err());
        let mut doc = club();
        doc["paths"]["/books"]["get"]["x-openwhisk"]["action"] = json!("a/b");
        assert!(
            compile(&doc, "guest").is_err(),
            "an action name is one segment"
        );
    }

    #[test]
    fn security_definitions_and_rate_limits_read_as_openwhisk_does() {
        let mut doc = club();
        doc["securityDefinitions"] = json!({
            "client_id": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "client_secret": {"type": "apiKey", "in": "header", "name": "X-Secret"},
        });
        doc["x-ibm-rate-limit"] = json!([{"rate": 5, "unit": "minute", "units": 2}]);
        let api = compile(&doc, "guest").unwrap();
        assert_eq!(
            api.keys,
            Keys::ClientSecret {
                id: KeyPlace::Header("X-Key".into()),
                secret: KeyPlace::Header("X-Secret".into())
            }
        );
        assert_eq!(
            api.rate_limit,
            Some(RateLimit {
                rate: 5,
                per_seconds: 120
            })
        );
        doc["securityDefinitions"] =
            json!({"key": {"type": "apiKey", "in": "query", "name": "api_key"}});
        assert_eq!(
            compile(&doc, "guest").unwrap().keys,
            Keys::ApiKey(KeyPlace::Query("api_key".into()))
        );
    }

    #[test]
    fn operation_ids_stay_unique_so_settings_never_cross_routes() {
        let mut doc = base_doc("/c", "c");
        let mut secret = endpoint("/aB", "get", "json");
        secret.secure_key = Some("mine".into());
        add_endpoint(&mut doc, &secret, "http://h");
        let mut open = endpoint("/a/b", "get", "json");
        open.secure_key = None;
        add_endpoint(&mut doc, &open, "http://h");
        assert_eq!(doc["paths"]["/aB"]["get"]["operationId"], "getAB");
        assert_eq!(doc["paths"]["/a/b"]["get"]["operationId"], "getAB_2");
        let api = compile(&doc, "guest").unwrap();
        let key = |path: &str| {
            let route = api.routes.iter().find(|r| r.rel_path == path).unwrap();
            route.secure_key.clone()
        };
        assert_eq!(key("/aB").as_deref(), Some("mine"));
        assert_eq!(key("/a/b"), None, "the other route does not get its key");
        // Re-adding keeps the id; an imported document with a shared id is refused.
        add_endpoint(&mut doc, &open, "http://h");
        assert_eq!(doc["paths"]["/a/b"]["get"]["operationId"], "getAB_2");
        doc["paths"]["/a/b"]["get"]["operationId"] = json!("getAB");
        assert!(
            compile(&doc, "guest")
                .unwrap_err()
                .contains("more than one operation")
        );
    }

    #[test]
    fn odd_documents_are_read_or_refused_with_a_reason() {
        let mut doc = club();
        let op = doc["paths"]["/books"]["get"].clone();
        doc["paths"]["/loud"] = json!({ "GET": op });
        doc["paths"]["/loud"]["GET"]["operationId"] = json!("getLoud");
        let api = compile(&doc, "guest").unwrap();
        assert!(
            api.routes
                .iter()
                .any(|r| r.rel_path == "/loud" && r.method == "GET"),
            "methods in any case"
        );
        let mut doc = club();
        doc["x-ibm-rate-limit"] = json!([{"rate": 1, "unit": "day", "units": u64::MAX}]);
        assert!(
            compile(&doc, "guest").is_err(),
            "a window that overflows is refused"
        );
        let mut doc = club();
        doc["basePath"] = json!("/a%20b");
        assert!(
            compile(&doc, "guest").is_err(),
            "encoded base paths never match decoded requests"
        );
        let mut doc = base_doc("/c", "c");
        let mut ep = endpoint("/x", "get", "json");
        ep.secure_key = Some("bad\nkey".into());
        add_endpoint(&mut doc, &ep, "http://h");
        assert!(
            compile(&doc, "guest")
                .unwrap_err()
                .contains("not a valid header value")
        );
    }
}
