//! The dispatcher: finds a request's route in the table, makes the checks the route asks for
//! in OpenWhisk's order, and hands the request to the operation's handler.

use std::sync::Arc;

use hyper::StatusCode;

use super::call::Call;
use super::reply::Reply;
use super::request::Request;
use super::routes::{self, Access, Route, Scope};
use crate::app::App;
use crate::auth::Identity;
use crate::entity;
use crate::error::ApiError;
use crate::messages;

/// Checks the credentials of a request (its body not read yet) to a route that takes Basic
/// ones, and keeps the caller in `req` for [`dispatch`]: 401 (or 503) before the body is
/// read, so that a request refused for want of valid credentials never gets a server to
/// buffer what it sends (up to 50 MiB per connection). `OPTIONS` (a CORS preflight,
/// answered without credentials) is left alone.
pub async fn credentials_first(app: &Arc<App>, req: &mut Request) -> Result<(), ApiError> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let basic = routes::find(&segs).is_some_and(|(route, _, _)| route.access == Access::Basic);
    if basic && req.method != hyper::Method::OPTIONS {
        req.caller = Some(app.auth.authenticate(req.header("authorization")).await?);
    }
    Ok(())
}

/// Routes one request. The checks come in OpenWhisk's order: the path (404), credentials
/// (401), the namespace (400), the entity names (400), ownership (403), the method (405).
pub async fn dispatch(app: &Arc<App>, req: &Request) -> Result<Reply, ApiError> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let Some((route, template, segs)) = routes::find(&segs) else {
        return Err(unrouted(app, req, &segs).await);
    };
    let caller = match route.access {
        Access::Basic => Some(match &req.caller {
            Some(caller) => Arc::clone(caller),
            None => app.auth.authenticate(req.header("authorization")).await?,
        }),
        Access::WebBasic => Some(
            match req.header("authorization") {
                Some(header) => app.auth.lookup(header).await?,
                None => None,
            }
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, messages::WEB_UNAUTHORIZED))?,
        ),
        Access::Public | Access::Bearer | Access::Admin => None,
    };
    let params: Vec<(&'static str, &str)> = template
        .iter()
        .zip(segs)
        .filter_map(|(t, s)| Some((t.strip_prefix('{')?.strip_suffix('}')?, *s)))
        .collect();
    let mut call = Call {
        app,
        req,
        caller,
        ns: String::new(),
        params,
        below: req.segments.get(template.len()..).unwrap_or_default(),
    };
    if route.scope != Scope::Platform {
        admit(&mut call, route)?;
    }
    let serving = |method: &str| route.operations.iter().find(|o| o.method == method);
    // HEAD is answered as GET without the body (hyper leaves it out), as OpenWhisk's HTTP
    // layer does for every GET route.
    let head_as_get = || (req.method == hyper::Method::HEAD).then(|| serving("GET"))?;
    let operation = match serving(req.method.as_str()).or_else(head_as_get) {
        Some(operation) => operation,
        None => match route.operations.first() {
            Some(first) if route.below => first,
            _ => {
                let names: Vec<&str> = route.operations.iter().map(|o| o.method).collect();
                return Err(ApiError::method_not_allowed(&names.join(", ")));
            }
        },
    };
    (operation.handler)(&call).await
}

/// Checks a caller on a route in a namespace and sets the call's namespace: the namespace
/// resolved and valid, the entity names valid, and the caller its owner where the route's
/// scope asks.
fn admit(call: &mut Call<'_>, route: &Route) -> Result<(), ApiError> {
    call.ns = resolve_namespace(call.identity()?, call.param("namespace"))?;
    let names: Vec<&str> = call
        .params
        .iter()
        .filter(|(name, _)| name.ends_with("Name"))
        .map(|(_, value)| *value)
        .collect();
    for name in &names {
        entity::valid_entity_name(name).map_err(ApiError::bad_request)?;
    }
    match route.scope {
        Scope::Namespace => call.owner_only(&call.ns),
        Scope::Entity => {
            let name = names.last().copied().unwrap_or_default();
            call.owner_only(&format!("{}/{name}", call.ns))
        }
        Scope::Shared | Scope::Platform => Ok(()),
    }
}

/// The error for a path no route serves: under `/api/v1/namespaces` only once the caller is
/// authenticated and the namespace valid, as OpenWhisk checks them first; under
/// `/api/v1/web` the web action layer's 404 for a missing action.
async fn unrouted(app: &App, req: &Request, segs: &[&str]) -> ApiError {
    let ns_tail = match segs {
        ["api", "v1", "web", ..] => return ApiError::not_found(),
        ["api", "v1", "namespaces", ns, tail @ ..] => (ns, tail),
        _ => return ApiError::no_route(),
    };
    let (ns, tail) = ns_tail;
    let checked = async {
        let identity = app.auth.authenticate(req.header("authorization")).await?;
        resolve_namespace(&identity, ns)?;
        if tail.first() == Some(&"limits") {
            return Err(ApiError::bad_request(messages::LIMITS_INNER_ROUTES));
        }
        Ok(())
    };
    match checked.await {
        Ok(()) => ApiError::no_route(),
        Err(e) => e,
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
