//! The REST API's routes as data: every path template shoal answers, who may call it, which
//! namespace it addresses, and its operations with their handlers. Four things are made from
//! this one table: the dispatcher's routing and checks (`rest::dispatch`), the OpenAPI 3
//! document (`GET /api/v1/api-docs`), the page that lists the operations (`GET
//! /api/v1/docs`), and the route labels of the request metrics ([`route_of`]). A test sends
//! every operation to the real binary and checks that its handler answers it.

use std::sync::LazyLock;

use hyper::StatusCode;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use shoal_model::activation::{ActivationSummary, Record};
use shoal_model::documents::{
    Action, ActionSummary, EntitySummary, Package, PackageSummary, Rule, Trigger,
};

use super::call::{Call, Handler};
use super::reply::Reply;
use super::{actions, activations, apimgmt, gateway, packages, rules, system, triggers, web};
use crate::error::ApiError;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A namespace's Basic credentials (`uuid:key`): 401 with OpenWhisk's texts without them.
    Basic,
    /// A namespace's Basic credentials, refused as a web action that requires authentication
    /// refuses (401 with the web text): the API management actions.
    WebBasic,
    /// Anyone, or a bearer token where `[metrics] token` sets one.
    Bearer,
    /// The operator's bearer token, `[admin] token` (the route is off without one).
    Admin,
}

/// Which namespace a route addresses, and who may use it there. Checked after the caller is
/// authenticated, in OpenWhisk's order: the namespace (400 when not a valid name), the
/// path's entity names (`{…Name}`, 400), ownership (403), then the method (405).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No namespace of the caller's: platform routes, web actions and gateway routes, whose
    /// handlers read their segments as given.
    Platform,
    /// A namespace's collection, only for its owner (403 naming the namespace).
    Namespace,
    /// One entity of a namespace, only for its owner (403 naming `namespace/name`).
    Entity,
    /// Entities other namespaces may read when published (packages and the actions in
    /// them): the handler decides who sees what.
    Shared,
}

/// One method of a route.
pub struct Operation {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The OpenAPI `operationId`.
    pub id: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The query parameters it reads.
    pub query: &'static [&'static str],
    /// The JSON it takes and answers with.
    pub io: Io,
    /// What answers it.
    pub(crate) handler: Handler,
}

/// The JSON an operation takes and answers with, named by the model type that shapes it (a
/// schema of the document's `components`).
#[derive(Debug, Clone, Copy)]
pub struct Io {
    /// The type whose fields a request body sets, if it takes one.
    pub request: Option<&'static str>,
    /// What a success answers with.
    pub response: Answer,
}

/// What a success answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Nothing a model type describes (a text, a result, a web action's own response).
    Other,
    /// One document of the type.
    One(&'static str),
    /// A list of the type's documents (list summaries leave out the larger fields).
    Many(&'static str),
}

impl Io {
    /// Neither.
    const NONE: Io = Io {
        request: None,
        response: Answer::Other,
    };

    /// Answers one document of `schema`.
    const fn one(schema: &'static str) -> Io {
        Io {
            request: None,
            response: Answer::One(schema),
        }
    }

    /// Answers a list of `schema`.
    const fn many(schema: &'static str) -> Io {
        Io {
            request: None,
            response: Answer::Many(schema),
        }
    }

    /// Takes the fields of `schema` and answers the document made.
    const fn put(schema: &'static str) -> Io {
        Io {
            request: Some(schema),
            response: Answer::One(schema),
        }
    }
}

/// One path template and its operations.
pub struct Route {
    /// The path as OpenAPI writes it: each `{name}` is one segment, except a final `{path}`
    /// on a route that also serves the paths below it.
    pub path: &'static str,
    /// Whether the route also serves every path below it (web actions, gateway routes), and
    /// every method: one it does not list goes to its first operation's handler, which
    /// answers it.
    pub below: bool,
    /// Whether its last segment may carry an extension (`getApi.http`), as the web actions
    /// that manage APIs accept.
    pub extension: bool,
    /// Who may call it.
    pub access: Access,
    /// Which namespace it addresses.
    pub scope: Scope,
    /// The group the document files it under.
    pub tag: &'static str,
    /// Its methods.
    pub operations: &'static [Operation],
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path)
    }
}

/// The table's handler for an `async fn(&Call) -> Result<Reply, ApiError>`.
macro_rules! handler {
    ($f:path) => {
        |call| Box::pin($f(call))
    };
}

const fn op(
    method: &'static str,
    id: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
    io: Io,
    handler: Handler,
) -> Operation {
    Operation {
        method,
        id,
        summary,
        query,
        io,
        handler,
    }
}

/// A route of one path, without extensions.
const fn at(
    path: &'static str,
    access: Access,
    scope: Scope,
    tag: &'static str,
    operations: &'static [Operation],
) -> Route {
    Route {
        path,
        below: false,
        extension: false,
        access,
        scope,
        tag,
        operations,
    }
}

/// One of the API management actions (`wsk api`), called as a web action.
const fn apimgmt(path: &'static str, operation: &'static [Operation]) -> Route {
    Route {
        extension: true,
        ..at(path, Access::WebBasic, Scope::Platform, "apis", operation)
    }
}

const LIST: &[&str] = &["limit", "skip", "count"];
const INVOKE: &[&str] = &["blocking", "result", "timeout"];
const OVERWRITE: &[&str] = &["overwrite"];

/// Every route, most specific first where two could match one path.
pub const ROUTES: &[Route] = &[
    at(
        "/",
        Access::Public,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getPlatform",
            "Platform description, limits and runtimes",
            &[],
            Io::NONE,
            handler!(system::info),
        )],
    ),
    at(
        "/ping",
        Access::Public,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "ping",
            "Answers pong",
            &[],
            Io::NONE,
            handler!(system::ping),
        )],
    ),
    at(
        "/health",
        Access::Public,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getHealth",
            "Whether shoal takes work, and why not",
            &[],
            Io::NONE,
            handler!(system::health),
        )],
    ),
    at(
        "/metrics",
        Access::Bearer,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getMetrics",
            "Prometheus scrape (OpenMetrics text)",
            &[],
            Io::NONE,
            handler!(system::metrics),
        )],
    ),
    at(
        "/api/v1",
        Access::Public,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getApiInfo",
            "API version and documentation paths",
            &[],
            Io::NONE,
            handler!(system::api_info),
        )],
    ),
    at(
        "/api/v1/api-docs",
        Access::Public,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getApiDocs",
            "This document (OpenAPI 3)",
            &[],
            Io::NONE,
            handler!(api_docs),
        )],
    ),
    at(
        "/api/v1/docs",
        Access::Public,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getDocs",
            "The operations, as an HTML page",
            &[],
            Io::NONE,
            handler!(docs),
        )],
    ),
    at(
        "/api/v1/nodes",
        Access::Admin,
        Scope::Platform,
        "platform",
        &[op(
            "GET",
            "getNodes",
            "The container hosts: architecture, tags, capacity, containers, up or down (shoal extension)",
            &[],
            Io::NONE,
            handler!(system::nodes),
        )],
    ),
    at(
        "/api/v1/namespaces",
        Access::Basic,
        Scope::Platform,
        "namespaces",
        &[op(
            "GET",
            "getNamespaces",
            "The caller's namespace",
            &[],
            Io::NONE,
            handler!(system::namespaces),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/limits",
        Access::Basic,
        Scope::Namespace,
        "namespaces",
        &[op(
            "GET",
            "getLimits",
            "The namespace's effective limits",
            &[],
            Io::NONE,
            handler!(system::limits),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/actions",
        Access::Basic,
        Scope::Namespace,
        "actions",
        &[op(
            "GET",
            "getAllActions",
            "List actions",
            LIST,
            Io::many("ActionSummary"),
            handler!(actions::list),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/actions/{packageName}/",
        Access::Basic,
        Scope::Shared,
        "actions",
        &[op(
            "GET",
            "getActionsInPackage",
            "List a package's actions",
            LIST,
            Io::many("ActionSummary"),
            handler!(actions::list_in_package),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/actions/{actionName}",
        Access::Basic,
        Scope::Entity,
        "actions",
        &[
            op(
                "GET",
                "getActionByName",
                "Get an action",
                &["code"],
                Io::one("Action"),
                handler!(actions::get),
            ),
            op(
                "PUT",
                "updateAction",
                "Create or update an action",
                OVERWRITE,
                Io::put("Action"),
                handler!(actions::put),
            ),
            op(
                "DELETE",
                "deleteAction",
                "Delete an action",
                &[],
                Io::one("Action"),
                handler!(actions::delete),
            ),
            op(
                "POST",
                "invokeAction",
                "Invoke an action",
                INVOKE,
                Io::NONE,
                handler!(actions::invoke),
            ),
        ],
    ),
    at(
        "/api/v1/namespaces/{namespace}/actions/{packageName}/{actionName}",
        Access::Basic,
        Scope::Shared,
        "actions",
        &[
            op(
                "GET",
                "getActionInPackage",
                "Get an action in a package",
                &["code"],
                Io::one("Action"),
                handler!(actions::get_in_package),
            ),
            op(
                "PUT",
                "updateActionInPackage",
                "Create or update an action in a package",
                OVERWRITE,
                Io::put("Action"),
                handler!(actions::put_in_package),
            ),
            op(
                "DELETE",
                "deleteActionInPackage",
                "Delete an action in a package",
                &[],
                Io::one("Action"),
                handler!(actions::delete_in_package),
            ),
            op(
                "POST",
                "invokeActionInPackage",
                "Invoke an action in a package or binding",
                INVOKE,
                Io::NONE,
                handler!(actions::invoke_in_package),
            ),
        ],
    ),
    at(
        "/api/v1/namespaces/{namespace}/packages",
        Access::Basic,
        Scope::Shared,
        "packages",
        &[op(
            "GET",
            "getAllPackages",
            "List packages",
            &["limit", "skip", "count", "public"],
            Io::many("PackageSummary"),
            handler!(packages::list),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/packages/{packageName}",
        Access::Basic,
        Scope::Shared,
        "packages",
        &[
            op(
                "GET",
                "getPackageByName",
                "Get a package or binding",
                &[],
                Io::one("Package"),
                handler!(packages::get),
            ),
            op(
                "PUT",
                "updatePackage",
                "Create or update a package or binding",
                OVERWRITE,
                Io::put("Package"),
                handler!(packages::put),
            ),
            op(
                "DELETE",
                "deletePackage",
                "Delete a package or binding",
                &["force"],
                Io::one("Package"),
                handler!(packages::delete),
            ),
        ],
    ),
    at(
        "/api/v1/namespaces/{namespace}/triggers",
        Access::Basic,
        Scope::Namespace,
        "triggers",
        &[op(
            "GET",
            "getAllTriggers",
            "List triggers",
            LIST,
            Io::many("EntitySummary"),
            handler!(triggers::list),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/triggers/{triggerName}",
        Access::Basic,
        Scope::Entity,
        "triggers",
        &[
            op(
                "GET",
                "getTriggerByName",
                "Get a trigger",
                &[],
                Io::one("Trigger"),
                handler!(triggers::get),
            ),
            op(
                "PUT",
                "updateTrigger",
                "Create or update a trigger",
                OVERWRITE,
                Io::put("Trigger"),
                handler!(triggers::put),
            ),
            op(
                "DELETE",
                "deleteTrigger",
                "Delete a trigger",
                &[],
                Io::one("Trigger"),
                handler!(triggers::delete),
            ),
            op(
                "POST",
                "fireTrigger",
                "Fire a trigger",
                &[],
                Io::NONE,
                handler!(triggers::fire),
            ),
        ],
    ),
    at(
        "/api/v1/namespaces/{namespace}/rules",
        Access::Basic,
        Scope::Namespace,
        "rules",
        &[op(
            "GET",
            "getAllRules",
            "List rules",
            LIST,
            Io::many("Rule"),
            handler!(rules::list),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/rules/{ruleName}",
        Access::Basic,
        Scope::Entity,
        "rules",
        &[
            op(
                "GET",
                "getRuleByName",
                "Get a rule",
                &[],
                Io::one("Rule"),
                handler!(rules::get),
            ),
            op(
                "PUT",
                "updateRule",
                "Create or update a rule",
                OVERWRITE,
                Io::put("Rule"),
                handler!(rules::put),
            ),
            op(
                "DELETE",
                "deleteRule",
                "Delete a rule",
                &[],
                Io::one("Rule"),
                handler!(rules::delete),
            ),
            op(
                "POST",
                "setState",
                "Enable or disable a rule",
                &[],
                Io::NONE,
                handler!(rules::set_state),
            ),
        ],
    ),
    at(
        "/api/v1/namespaces/{namespace}/activations",
        Access::Basic,
        Scope::Namespace,
        "activations",
        &[op(
            "GET",
            "getActivations",
            "List activations",
            &["name", "limit", "skip", "since", "upto", "docs", "count"],
            Io::many("ActivationSummary"),
            handler!(activations::list),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/activations/{activationId}",
        Access::Basic,
        Scope::Namespace,
        "activations",
        &[op(
            "GET",
            "getActivationById",
            "Get an activation record",
            &[],
            Io::one("Activation"),
            handler!(activations::get),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/activations/{activationId}/logs",
        Access::Basic,
        Scope::Namespace,
        "activations",
        &[op(
            "GET",
            "getActivationLogs",
            "Get an activation's logs",
            &[],
            Io::NONE,
            handler!(activations::logs),
        )],
    ),
    at(
        "/api/v1/namespaces/{namespace}/activations/{activationId}/result",
        Access::Basic,
        Scope::Namespace,
        "activations",
        &[op(
            "GET",
            "getActivationResult",
            "Get an activation's response",
            &[],
            Io::NONE,
            handler!(activations::result),
        )],
    ),
    apimgmt(
        "/api/v1/web/whisk.system/apimgmt/createApi",
        &[op(
            "POST",
            "createApi",
            "Create or replace an API (wsk api create)",
            &["responsetype"],
            Io::NONE,
            handler!(apimgmt::create_api),
        )],
    ),
    apimgmt(
        "/api/v1/web/whisk.system/apimgmt/getApi",
        &[op(
            "GET",
            "getApi",
            "List or get APIs (wsk api list/get)",
            &["basepath", "relpath", "operation", "limit", "skip"],
            Io::NONE,
            handler!(apimgmt::get_api),
        )],
    ),
    apimgmt(
        "/api/v1/web/whisk.system/apimgmt/deleteApi",
        &[op(
            "DELETE",
            "deleteApi",
            "Delete an API, a path or an operation",
            &["basepath", "relpath", "operation", "force"],
            Io::NONE,
            handler!(apimgmt::delete_api),
        )],
    ),
    apimgmt(
        "/api/v1/web/whisk.system/apimgmt/createSubscription",
        &[op(
            "POST",
            "createSubscription",
            "Subscribe an API key (and secret) to an API",
            &[],
            Io::NONE,
            handler!(apimgmt::create_subscription),
        )],
    ),
    apimgmt(
        "/api/v1/web/whisk.system/apimgmt/getSubscriptions",
        &[op(
            "GET",
            "getSubscriptions",
            "List the keys subscribed to an API",
            &["basepath"],
            Io::NONE,
            handler!(apimgmt::get_subscriptions),
        )],
    ),
    apimgmt(
        "/api/v1/web/whisk.system/apimgmt/deleteSubscription",
        &[op(
            "DELETE",
            "deleteSubscription",
            "Remove a key's subscription",
            &["basepath", "client_id"],
            Io::NONE,
            handler!(apimgmt::delete_subscription),
        )],
    ),
    Route {
        below: true,
        ..at(
            "/api/v1/web/{namespace}/{packageName}/{actionName}",
            Access::Public,
            Scope::Platform,
            "web",
            &[
                op(
                    "GET",
                    "getWebAction",
                    "Call a web action",
                    &[],
                    Io::NONE,
                    handler!(web::route),
                ),
                op(
                    "POST",
                    "postWebAction",
                    "Call a web action",
                    &[],
                    Io::NONE,
                    handler!(web::route),
                ),
                op(
                    "PUT",
                    "putWebAction",
                    "Call a web action",
                    &[],
                    Io::NONE,
                    handler!(web::route),
                ),
                op(
                    "DELETE",
                    "deleteWebAction",
                    "Call a web action",
                    &[],
                    Io::NONE,
                    handler!(web::route),
                ),
                op(
                    "PATCH",
                    "patchWebAction",
                    "Call a web action",
                    &[],
                    Io::NONE,
                    handler!(web::route),
                ),
                op(
                    "HEAD",
                    "headWebAction",
                    "Call a web action",
                    &[],
                    Io::NONE,
                    handler!(web::route),
                ),
            ],
        )
    },
    Route {
        below: true,
        ..at(
            "/api/{tenant}/{path}",
            Access::Public,
            Scope::Platform,
            "gateway",
            &[
                op(
                    "GET",
                    "getGatewayRoute",
                    "Call an API gateway route",
                    &[],
                    Io::NONE,
                    handler!(gateway::serve),
                ),
                op(
                    "POST",
                    "postGatewayRoute",
                    "Call an API gateway route",
                    &[],
                    Io::NONE,
                    handler!(gateway::serve),
                ),
                op(
                    "PUT",
                    "putGatewayRoute",
                    "Call an API gateway route",
                    &[],
                    Io::NONE,
                    handler!(gateway::serve),
                ),
                op(
                    "DELETE",
                    "deleteGatewayRoute",
                    "Call an API gateway route",
                    &[],
                    Io::NONE,
                    handler!(gateway::serve),
                ),
                op(
                    "PATCH",
                    "patchGatewayRoute",
                    "Call an API gateway route",
                    &[],
                    Io::NONE,
                    handler!(gateway::serve),
                ),
                op(
                    "HEAD",
                    "headGatewayRoute",
                    "Call an API gateway route",
                    &[],
                    Io::NONE,
                    handler!(gateway::serve),
                ),
            ],
        )
    },
];

/// `GET /api/v1/api-docs`: the OpenAPI document.
async fn api_docs(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(StatusCode::OK, &openapi(call.app.api_host())))
}

/// `GET /api/v1/docs`: the operations as a page.
async fn docs(_: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::new(
        StatusCode::OK,
        page().into(),
        "text/html; charset=utf-8",
    ))
}

impl Route {
    /// Whether `segs` (a path split at `/`, without the leading one) is this route's, given
    /// the route's template split the same way.
    fn matches(&self, template: &[&str], segs: &[&str]) -> bool {
        if segs.len() < template.len() || (segs.len() > template.len() && !self.below) {
            return false;
        }
        let last = template.len().saturating_sub(1);
        template.iter().zip(segs).enumerate().all(|(i, (t, s))| {
            if t.starts_with('{') {
                !s.is_empty()
            } else if self.extension && i == last {
                s.split_once('.').map_or(*s, |(stem, _)| stem) == *t
            } else {
                t == s
            }
        })
    }
}

/// Each route's template split at `/`, split once for the process.
static TEMPLATES: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(|| {
    ROUTES
        .iter()
        .map(|r| r.path[1..].split('/').collect())
        .collect()
});

/// The route of a path split into segments, with its template: a path that ends in a `/` no
/// route names is read without it. `None` when shoal serves no such path.
pub(crate) fn find<'s>(
    segs: &'s [&'s str],
) -> Option<(&'static Route, &'static [&'static str], &'s [&'s str])> {
    // Paths under `/api/v1` are the API's own: the gateway never sees them.
    let at = |segs: &'s [&'s str]| {
        ROUTES
            .iter()
            .zip(TEMPLATES.iter())
            .filter(|(r, _)| r.tag != "gateway" || segs.get(1) != Some(&"v1"))
            .find(|(r, template)| r.matches(template, segs))
            .map(|(r, template)| (r, template.as_slice(), segs))
    };
    at(segs).or_else(|| match segs.split_last() {
        Some((&"", rest)) if !rest.is_empty() => at(rest),
        _ => None,
    })
}

/// The route `path` (its query excluded) belongs to, or `None`.
fn route(path: &str) -> Option<&'static Route> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let segs: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    find(&segs).map(|(route, _, _)| route)
}

/// The template requests to `path` are counted under: a fixed set, so no caller can add
/// series by inventing paths.
pub fn route_of(path: &str) -> &'static str {
    route(path).map_or("other", |r| r.path)
}

/// The OpenAPI 3 document of the routes, for clients of `api_host`.
pub fn openapi(api_host: &str) -> Value {
    let mut schemas = model_schemas();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "What went wrong"},
                "code": {"type": "string", "description": "The request's transaction id"},
            },
        }),
    );
    let mut paths = Map::new();
    for route in ROUTES {
        let mut item = Map::new();
        for operation in route.operations {
            item.insert(
                operation.method.to_ascii_lowercase(),
                document(route, operation),
            );
        }
        paths.insert(route.path.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "shoal: the OpenWhisk REST API",
            "description": "OpenWhisk's REST API as shoal serves it. Errors are {\"error\", \"code\"} objects.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{"url": api_host}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "A namespace's uuid:key"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "[metrics] token"},
                "admin": {"type": "http", "scheme": "bearer", "description": "[admin] token"},
            },
            "schemas": schemas,
        },
    })
}

/// The JSON schemas of the model types operations take and answer with, under the names the
/// table's [`Io`]s use, with the types they are made of.
fn model_schemas() -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().into_generator();
    generator.subschema_for::<Action>();
    generator.subschema_for::<Package>();
    generator.subschema_for::<Trigger>();
    generator.subschema_for::<Rule>();
    generator.subschema_for::<Record>();
    generator.subschema_for::<ActionSummary>();
    generator.subschema_for::<PackageSummary>();
    generator.subschema_for::<EntitySummary>();
    generator.subschema_for::<ActivationSummary>();
    generator.take_definitions(true)
}

/// A reference to schema `name` of the document.
fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// One operation as the document writes it.
fn document(route: &Route, operation: &Operation) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    parameters.extend(operation.query.iter().map(|name| {
        json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}})
    }));
    let security = match route.access {
        Access::Public => json!([]),
        Access::Basic | Access::WebBasic => json!([{"basic": []}]),
        Access::Bearer => json!([{}, {"bearer": []}]),
        Access::Admin => json!([{"admin": []}]),
    };
    let below = if route.below {
        " The route also serves every path below it."
    } else {
        ""
    };
    let done = match operation.io.response {
        Answer::Other => json!({"description": "Done"}),
        Answer::One(name) => json!({
            "description": format!("The {}", name.to_ascii_lowercase()),
            "content": {"application/json": {"schema": schema(name)}},
        }),
        Answer::Many(name) => json!({
            "description": "A page of them",
            "content": {"application/json": {"schema": {"type": "array", "items": schema(name)}}},
        }),
    };
    let mut documented = json!({
        "operationId": operation.id,
        "summary": operation.summary,
        "description": format!("{}.{below}", operation.summary),
        "tags": [route.tag],
        "parameters": parameters,
        "security": security,
        "responses": {
            "200": done,
            "default": {
                "description": "An OpenWhisk error",
                "content": {"application/json": {"schema": schema("Error")}},
            },
        },
    });
    if let Some(name) = operation.io.request {
        documented["requestBody"] = json!({
            "description": format!(
                "The fields of the {} to set; the path names it, the rest take defaults",
                name.to_ascii_lowercase()
            ),
            "required": false,
            "content": {"application/json": {"schema": schema(name)}},
        });
    }
    documented
}

/// The operations as a plain HTML page (no scripts, nothing fetched).
pub fn page() -> String {
    let mut rows = String::new();
    for route in ROUTES {
        for operation in route.operations {
            rows.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
                operation.method, route.path, operation.summary
            ));
        }
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>shoal API</title></head><body>\n\
         <h1>shoal: the OpenWhisk REST API</h1>\n<p>The OpenAPI document: \
         <a href=\"/api/v1/api-docs\">/api/v1/api-docs</a>.</p>\n\
         <table>\n<tr><th>method</th><th>path</th><th>what it does</th></tr>\n{rows}</table>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_templates_and_unknown_paths_none() {
        let of = route_of;
        assert_eq!(of("/"), "/");
        assert_eq!(of("/api/v1/"), "/api/v1");
        assert_eq!(
            of("/api/v1/namespaces/_/actions/a?blocking=true"),
            "/api/v1/namespaces/{namespace}/actions/{actionName}"
        );
        assert_eq!(
            of("/api/v1/namespaces/_/actions/"),
            "/api/v1/namespaces/{namespace}/actions"
        );
        assert_eq!(
            of("/api/v1/namespaces/_/actions/p/"),
            "/api/v1/namespaces/{namespace}/actions/{packageName}/"
        );
        assert_eq!(
            of("/api/v1/namespaces/_/actions/p/a"),
            "/api/v1/namespaces/{namespace}/actions/{packageName}/{actionName}"
        );
        assert_eq!(
            of("/api/v1/namespaces/guest/activations/abc/logs"),
            "/api/v1/namespaces/{namespace}/activations/{activationId}/logs"
        );
        assert_eq!(
            of("/api/v1/web/guest/default/hello.json/a/b"),
            "/api/v1/web/{namespace}/{packageName}/{actionName}"
        );
        assert_eq!(
            of("/api/v1/web/whisk.system/apimgmt/getApi"),
            "/api/v1/web/whisk.system/apimgmt/getApi"
        );
        assert_eq!(of("/api/0f1e/hello/world"), "/api/{tenant}/{path}");
        for unknown in [
            "/x/y",
            "/api/v1/nothing",
            "/api/v1/namespaces/_/things",
            "/api/v1/web/ns",
        ] {
            assert_eq!(of(unknown), "other", "{unknown}");
        }
    }

    #[test]
    fn routes_in_a_namespace_take_credentials_and_name_what_they_check() {
        for route in ROUTES {
            let names: Vec<&str> = route
                .path
                .split('/')
                .filter(|s| s.starts_with('{') && s.ends_with("Name}"))
                .collect();
            match route.scope {
                Scope::Platform => {}
                scope => {
                    assert_eq!(route.access, Access::Basic, "{}", route.path);
                    assert!(route.path.contains("/{namespace}/"), "{}", route.path);
                    if scope == Scope::Entity {
                        let one = names.len() == 1 && route.path.ends_with("Name}");
                        assert!(one, "{}: an entity route ends in its one name", route.path);
                    }
                }
            }
            assert!(!route.operations.is_empty(), "{}", route.path);
        }
    }

    #[test]
    fn extensions_and_trailing_slashes_find_their_routes() {
        assert_eq!(
            route_of("/api/v1/web/whisk.system/apimgmt/getApi.http"),
            "/api/v1/web/whisk.system/apimgmt/getApi"
        );
        assert_eq!(
            route_of("/api/v1/web/whisk.system/apimgmt/getApis"),
            "/api/v1/web/{namespace}/{packageName}/{actionName}"
        );
        assert_eq!(route_of("/ping/"), "/ping");
        assert_eq!(route_of("/api/v1/namespaces/"), "/api/v1/namespaces");
    }

    #[test]
    fn every_schema_an_operation_names_is_made_from_the_model() {
        let doc = openapi("http://127.0.0.1:3233");
        let schemas = &doc["components"]["schemas"];
        for route in ROUTES {
            for operation in route.operations {
                let answered = match operation.io.response {
                    Answer::One(name) | Answer::Many(name) => Some(name),
                    Answer::Other => None,
                };
                for name in [operation.io.request, answered].into_iter().flatten() {
                    assert!(schemas.get(name).is_some(), "{}: {name}", operation.id);
                }
            }
        }
        // A field of a named type refers to it (with the field's own description beside).
        let refers = |field: &Value| field["allOf"][0]["$ref"].as_str().map(str::to_string);
        let exec = &schemas["Action"]["properties"]["exec"];
        assert_eq!(refers(exec).as_deref(), Some("#/components/schemas/Exec"));
        assert!(schemas["Exec"]["properties"]["kind"]["description"].is_string());
        let status = &schemas["RuleLink"]["properties"]["status"];
        assert_eq!(
            refers(status).as_deref(),
            Some("#/components/schemas/Status")
        );
        let statuses: Vec<&Value> = schemas["Status"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|variant| &variant["enum"][0])
            .collect();
        assert_eq!(statuses, [&json!("active"), &json!("inactive")]);
        let put = &doc["paths"]["/api/v1/namespaces/{namespace}/rules/{ruleName}"]["put"];
        assert_eq!(
            put["requestBody"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/Rule"})
        );
    }

    #[test]
    fn the_document_names_every_operation_once_with_its_parameters() {
        let doc = openapi("http://127.0.0.1:3233");
        let mut ids = std::collections::HashSet::new();
        for route in ROUTES {
            for operation in route.operations {
                assert!(ids.insert(operation.id), "{} twice", operation.id);
                let documented = &doc["paths"][route.path][operation.method.to_ascii_lowercase()];
                assert_eq!(documented["operationId"], operation.id);
            }
        }
        let invoke = &doc["paths"]["/api/v1/namespaces/{namespace}/actions/{actionName}"]["post"];
        let names: Vec<&str> = invoke["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["namespace", "actionName", "blocking", "result", "timeout"]
        );
        assert_eq!(invoke["security"], json!([{"basic": []}]));
    }
}
