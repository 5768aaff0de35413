//! Route management: OpenWhisk's `whisk.system/apimgmt` web actions (`createApi`, `getApi`,
//! `deleteApi`), answered by shoal itself with the request and response shapes `wsk api`,
//! serverless and the npm client's `routes` use, plus shoal's API key subscriptions
//! (`createSubscription`, `getSubscriptions`, `deleteSubscription`), which OpenWhisk keeps in
//! its gateway's admin interface.
//!
//! As in OpenWhisk, a failure is HTTP 502 with `{"error": "<text>"}` (the route actions'
//! application error, projected by the web action layer); success is 200 with JSON.

use hyper::{Method, StatusCode};
use serde_json::{Map, Value, json};
use shoal_store::GatewayApi;

use super::call::Call;
use super::entities::{now_ms, off_the_io_thread};
use super::reply::Reply;
use super::request::Request;
use crate::app::App;
use crate::auth::Identity;
use crate::entity_path::{EntityPath, Form};
use crate::error::ApiError;
use crate::gateway::apidoc::{self, Endpoint, METHODS, RESPONSE_TYPES, Target};
use crate::gateway::{
    MAX_APIS, MAX_CLIENT_ID, MAX_CLIENT_SECRET, MAX_DOC_BYTES, MAX_SUBSCRIPTIONS, secret_hash,
};

/// A route-management failure: 502 with `{"error": text}`.
struct Failure(String);

impl<T: Into<String>> From<T> for Failure {
    fn from(text: T) -> Self {
        Failure(text.into())
    }
}

type Outcome = Result<Value, Failure>;

/// The table's handlers, one per operation: each runs its work through [`answered`].
macro_rules! operations {
    ($($handler:ident => $work:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        pub(crate) async fn $handler(call: &Call<'_>) -> Result<Reply, ApiError> {
            answered(call, $work(call.app, call.req, call.identity()?)).await
        }
    )*};
}

operations! {
    create_api => create: "`POST …/apimgmt/createApi`: creates or replaces an API.",
    get_api => read: "`GET …/apimgmt/getApi`: lists APIs, or gets one.",
    delete_api => delete: "`DELETE …/apimgmt/deleteApi`: deletes an API, a path or an operation.",
    create_subscription => subscribe: "`POST …/apimgmt/createSubscription`: subscribes a key.",
    get_subscriptions => subscriptions: "`GET …/apimgmt/getSubscriptions`: the subscribed keys.",
    delete_subscription => unsubscribe: "`DELETE …/apimgmt/deleteSubscription`: drops a key.",
}

/// Answers one operation: 200 with its JSON, or 502 with `{"error": text}`. Changes read,
/// modify and write back a whole document, so they run one at a time.
async fn answered(call: &Call<'_>, work: impl Future<Output = Outcome>) -> Result<Reply, ApiError> {
    let _serialised = match call.req.method {
        Method::GET => None,
        _ => Some(call.app.gateway.writing().await),
    };
    Ok(match work.await {
        Ok(value) => Reply::json(StatusCode::OK, &value),
        Err(Failure(text)) => Reply::json(StatusCode::BAD_GATEWAY, &json!({ "error": text })),
    })
}

/// The request's arguments as the route actions see them: query parameters, then the JSON
/// body's fields.
fn arguments(req: &Request) -> Result<Map<String, Value>, Failure> {
    let mut args: Map<String, Value> = req
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let body = req.json_object().map_err(|e| e.message)?;
    args.extend(body);
    Ok(args)
}

fn text<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `{api_host}/api/{tenant}{basePath}`: where the gateway serves an API.
fn gateway_url(app: &App, identity: &Identity, base_path: &str) -> String {
    let uuid = identity.auth.split(':').next().unwrap_or_default();
    format!(
        "{}/api/{uuid}{}",
        app.api_host(),
        base_path.trim_end_matches('/')
    )
}

/// An API as `createApi` returns it and `getApi` lists it (`value`).
fn described(app: &App, identity: &Identity, api: &GatewayApi) -> Value {
    json!({
        "namespace": identity.namespace,
        "gwApiActivated": true,
        "tenantId": identity.auth.split(':').next().unwrap_or_default(),
        "gwApiUrl": gateway_url(app, identity, &api.base_path),
        "apidoc": api.doc,
    })
}

/// A store failure, logged with its cause and answered without it.
fn store_failure(e: shoal_store::StoreError) -> Failure {
    tracing::error!(error = %e, "route management: store failure");
    Failure("The API store failed; try again.".into())
}

/// The API named by `basepath` (a base path, or an API name when it does not start with `/`).
async fn find_api(app: &App, ns: &str, basepath: &str) -> Result<Option<GatewayApi>, Failure> {
    if basepath.starts_with('/') {
        return app.store.get_api(ns, basepath).await.map_err(store_failure);
    }
    Ok(app
        .store
        .list_apis(ns)
        .await
        .map_err(store_failure)?
        .into_iter()
        .find(|a| a.doc["info"]["title"].as_str() == Some(basepath)))
}

/// The `apidoc` argument as an object (it may arrive as JSON text).
fn apidoc_argument(args: &Map<String, Value>) -> Result<Map<String, Value>, Failure> {
    match args.get("apidoc") {
        None | Some(Value::Null) => Err("apidoc is required.".into()),
        Some(Value::Object(doc)) => Ok(doc.clone()),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Object(doc)) => Ok(doc),
            _ => Err("apidoc field cannot be parsed. Ensure it is valid JSON.".into()),
        },
        Some(_) => Err("apidoc field should be a JSON object or a JSON string.".into()),
    }
}

async fn create(app: &App, req: &Request, identity: &Identity) -> Outcome {
    let args = arguments(req)?;
    let doc = apidoc_argument(&args)?;
    if doc.get("namespace").is_none_or(Value::is_null) {
        return Err("apidoc is missing the namespace field".into());
    }
    let response = text(&args, "responsetype").unwrap_or("json");
    if !RESPONSE_TYPES.contains(&response) {
        return Err(format!(
            "API creation failure: responsetype '{response}' is not one of {}.",
            RESPONSE_TYPES.join(", ")
        )
        .into());
    }
    let ns = identity.namespace.as_str();
    let (base_path, document) = match doc.get("swagger").filter(|s| !s.is_null()) {
        Some(swagger) => {
            if doc.contains_key("gatewayBasePath") {
                return Err(
                    "swagger and gatewayBasePath are mutually exclusive and cannot be \
                            specified together."
                        .into(),
                );
            }
            imported(swagger)?
        }
        None => {
            let endpoint = endpoint(&doc, ns, response)?;
            let existing = find_api(app, ns, &endpoint.base_path).await?;
            let base_path = match &existing {
                Some(api) => api.base_path.clone(),
                None if endpoint.base_path.starts_with('/') => endpoint.base_path.clone(),
                None => {
                    return Err(format!(
                        "API creation failure: the base path '{}' must start with '/'.",
                        endpoint.base_path
                    )
                    .into());
                }
            };
            let mut document = existing.map(|a| a.doc).unwrap_or_else(|| {
                let title = endpoint.api_name.as_deref().unwrap_or(&base_path);
                apidoc::base_doc(&base_path, title)
            });
            apidoc::add_endpoint(&mut document, &endpoint, app.api_host());
            (base_path, document)
        }
    };
    let size = document.to_string().len();
    if size > MAX_DOC_BYTES {
        return Err(format!(
            "API creation failure: the API document is larger than allowed: {size} > \
             {MAX_DOC_BYTES} bytes."
        )
        .into());
    }
    // Documents of up to 256 KiB: compiled without holding an I/O thread others need.
    off_the_io_thread(|| apidoc::compile(&document, ns))
        .map_err(|e| format!("API creation failure: {e}"))?;
    let existing = app.store.api_versions(ns).await.map_err(store_failure)?;
    if existing.len() >= MAX_APIS && !existing.iter().any(|(path, _)| *path == base_path) {
        return Err(format!(
            "API creation failure: namespace {ns} already has {MAX_APIS} APIs, the most allowed."
        )
        .into());
    }
    let api = GatewayApi {
        namespace: ns.to_string(),
        base_path,
        doc: document,
        subscriptions: json!({}),
        updated: now_ms(),
    };
    app.store
        .put_api(api.clone())
        .await
        .map_err(store_failure)?;
    Ok(described(app, identity, &api))
}

/// A whole API from `--config-file` (or serverless): the swagger replaces the API at its base
/// path.
fn imported(swagger: &Value) -> Result<(String, Value), Failure> {
    let swagger = match swagger {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|_| "swagger field cannot be parsed. Ensure it is valid JSON.")?,
        Value::Object(_) => swagger.clone(),
        _ => return Err("swagger field should be an object or a JSON string.".into()),
    };
    let base_path = swagger["basePath"]
        .as_str()
        .ok_or("swagger is missing the basePath field.")?;
    if swagger.get("paths").is_none_or(Value::is_null) {
        return Err("swagger is missing the paths field.".into());
    }
    if swagger.get("info").is_none_or(Value::is_null) {
        return Err("swagger is missing the info field.".into());
    }
    apidoc::base_segments(base_path).map_err(|e| format!("API creation failure: {e}"))?;
    let base_path = match base_path.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    };
    Ok((base_path, swagger))
}

/// The one operation a non-swagger `apidoc` adds.
fn endpoint(doc: &Map<String, Value>, ns: &str, response: &str) -> Result<Endpoint, Failure> {
    let field = |name: &str, missing: &str| -> Result<String, Failure> {
        doc.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Failure(missing.to_string()))
    };
    let base_path = field(
        "gatewayBasePath",
        "apidoc is missing the gatewayBasePath field",
    )?;
    let rel_path = field("gatewayPath", "apidoc is missing the gatewayPath field")?;
    let method = field("gatewayMethod", "apidoc is missing the gatewayMethod field")?;
    let action = doc
        .get("action")
        .and_then(Value::as_object)
        .ok_or("apidoc is missing the action field.")?;
    let action_field = |name: &str| -> Result<&str, Failure> {
        action
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Failure(format!("action is missing the {name} field.")))
    };
    action_field("backendMethod")?;
    action_field("backendUrl")?;
    let action_ns = action_field("namespace")?;
    let action_name = action_field("name")?;
    action_field("authkey")?;
    if base_path.contains(['{', '}']) {
        return Err(format!(
            "API creation failure: The base path '{base_path}' cannot have parameters. Only the \
             relative path supports path parameters."
        )
        .into());
    }
    let method = method.to_ascii_lowercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "API creation failure: operation '{method}' is not one of {}.",
            METHODS.join(", ")
        )
        .into());
    }
    apidoc::template(&rel_path).map_err(|e| format!("API creation failure: {e}"))?;
    // `name` is `action`, `pkg/action` or `/ns/pkg/action`; `_` (or the apidoc's own
    // namespace placeholder) is the caller's namespace.
    let target = EntityPath::parse(action_name, Form::Reference, action_ns).ok_or_else(|| {
        Failure(format!(
            "API creation failure: invalid action name '{action_name}'."
        ))
    })?;
    let (package, name) = (target.package.as_deref().unwrap_or("default"), &target.name);
    let placeholder = doc.get("namespace").and_then(Value::as_str);
    let namespace = match target.namespace.as_str() {
        "_" => ns,
        given if Some(given) == placeholder => ns,
        given => given,
    };
    let secure_key = match action.get("secureKey") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(Endpoint {
        base_path,
        api_name: doc
            .get("apiName")
            .and_then(Value::as_str)
            .map(str::to_string),
        rel_path,
        method,
        target: Target {
            namespace: namespace.to_string(),
            package: package.to_string(),
            action: name.to_string(),
            response: response.to_string(),
        },
        secure_key,
        parameters: doc.get("pathParameters").filter(|p| p.is_array()).cloned(),
    })
}

async fn read(app: &App, req: &Request, identity: &Identity) -> Outcome {
    let args = arguments(req)?;
    let ns = identity.namespace.as_str();
    let number = |name: &str, default: usize| -> Result<usize, Failure> {
        match text(&args, name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Failure(format!("The value '{v}' is not an integer for {name}."))),
        }
    };
    let skip = number("skip", 0)?;
    let limit = match number("limit", 0)? {
        0 => usize::MAX,
        n => n,
    };
    let apis = match text(&args, "basepath") {
        Some(basepath) => find_api(app, ns, basepath).await?.into_iter().collect(),
        None => app.store.list_apis(ns).await.map_err(store_failure)?,
    };
    let listed: Vec<Value> = apis
        .iter()
        .skip(skip)
        .take(limit)
        .map(|api| {
            let id = format!("API:{ns}:{}", api.base_path);
            json!({"id": id, "key": id, "value": described(app, identity, api)})
        })
        .collect();
    Ok(json!({ "apis": listed }))
}

async fn delete(app: &App, req: &Request, identity: &Identity) -> Outcome {
    let args = arguments(req)?;
    let ns = identity.namespace.as_str();
    let basepath = text(&args, "basepath").ok_or("basepath is required.")?;
    let relpath = text(&args, "relpath");
    let operation = text(&args, "operation").map(str::to_ascii_lowercase);
    if relpath.is_none() && operation.is_some() {
        return Err("When specifying an operation, the path is required.".into());
    }
    let failure = |text: String| Failure(format!("API deletion failure: {text}"));
    let mut api = find_api(app, ns, basepath)
        .await?
        .ok_or_else(|| failure(format!("API '{basepath}' does not exist.")))?;
    let whole = match relpath {
        None => true,
        Some(rel) => {
            apidoc::remove_endpoint(&mut api.doc, rel, operation.as_deref()).map_err(failure)?;
            apidoc::is_empty(&api.doc)
        }
    };
    let written = if whole {
        app.store.delete_api(ns, &api.base_path).await.map(drop)
    } else {
        api.updated = now_ms();
        app.store.put_api(api).await
    };
    written.map_err(store_failure)?;
    Ok(json!({}))
}

/// The API a subscription request names (`basepath`, a base path or an API name).
async fn subscribed_api(
    app: &App,
    args: &Map<String, Value>,
    ns: &str,
) -> Result<GatewayApi, Failure> {
    let basepath = text(args, "basepath").ok_or("basepath is required.")?;
    find_api(app, ns, basepath)
        .await?
        .ok_or_else(|| Failure(format!("API '{basepath}' does not exist.")))
}

async fn subscribe(app: &App, req: &Request, identity: &Identity) -> Outcome {
    let args = arguments(req)?;
    let ns = identity.namespace.as_str();
    let mut api = subscribed_api(app, &args, ns).await?;
    let client_id = text(&args, "client_id").ok_or("client_id is required.")?;
    let secret = text(&args, "client_secret");
    if client_id.len() > MAX_CLIENT_ID || secret.is_some_and(|s| s.len() > MAX_CLIENT_SECRET) {
        return Err(format!(
            "client_id may have at most {MAX_CLIENT_ID} bytes, client_secret {MAX_CLIENT_SECRET}."
        )
        .into());
    }
    let hash = secret.map(secret_hash).unwrap_or_default();
    let keys = api
        .subscriptions
        .as_object_mut()
        .ok_or("the API's subscriptions are corrupt.")?;
    if keys.len() >= MAX_SUBSCRIPTIONS && !keys.contains_key(client_id) {
        return Err(format!(
            "API '{}' already has {MAX_SUBSCRIPTIONS} subscriptions, the most allowed.",
            api.base_path
        )
        .into());
    }
    keys.insert(client_id.to_string(), Value::String(hash));
    api.updated = now_ms();
    app.store
        .put_api_with_subscriptions(api.clone())
        .await
        .map_err(store_failure)?;
    Ok(json!({
        "message": format!("Subscription '{client_id}' created for API '{}'", api.base_path)
    }))
}

async fn subscriptions(app: &App, req: &Request, identity: &Identity) -> Outcome {
    let args = arguments(req)?;
    let api = subscribed_api(app, &args, &identity.namespace).await?;
    let ids: Vec<&String> = api
        .subscriptions
        .as_object()
        .map(|keys| keys.keys().collect())
        .unwrap_or_default();
    Ok(json!({ "subscriptions": ids }))
}

async fn unsubscribe(app: &App, req: &Request, identity: &Identity) -> Outcome {
    let args = arguments(req)?;
    let ns = identity.namespace.as_str();
    let mut api = subscribed_api(app, &args, ns).await?;
    let client_id = text(&args, "client_id").ok_or("client_id is required.")?;
    let removed = api
        .subscriptions
        .as_object_mut()
        .and_then(|keys| keys.remove(client_id));
    if removed.is_none() {
        return Err("Subscription doesn't exist".into());
    }
    api.updated = now_ms();
    app.store
        .put_api_with_subscriptions(api)
        .await
        .map_err(store_failure)?;
    Ok(json!({}))
}
