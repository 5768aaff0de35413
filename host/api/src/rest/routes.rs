//! The REST API's routes as data: every path template shoal answers, with its operations.
//! Three things are made from this one table: the OpenAPI 3 document (`GET
//! /api/v1/api-docs`), the page that lists the operations (`GET /api/v1/docs`), and the route
//! labels of the request metrics ([`route_of`]). A test sends every operation to the real
//! binary and checks that the dispatcher routes it, so the table cannot drift from what
//! shoal serves.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A namespace's Basic credentials (`uuid:key`).
    Basic,
    /// Anyone, or a bearer token where `[metrics] token` sets one.
    Bearer,
}

/// One method of a route.
#[derive(Debug)]
pub struct Operation {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The OpenAPI `operationId`.
    pub id: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The query parameters it reads.
    pub query: &'static [&'static str],
}

/// One path template and its operations.
#[derive(Debug)]
pub struct Route {
    /// The path as OpenAPI writes it: each `{name}` is one segment, except a final `{path}`
    /// on a route that also serves the paths below it.
    pub path: &'static str,
    /// Whether the route also serves every path below it (web actions, gateway routes).
    pub below: bool,
    /// Who may call it.
    pub access: Access,
    /// The group the document files it under.
    pub tag: &'static str,
    /// Its methods.
    pub operations: &'static [Operation],
}

const fn op(
    method: &'static str,
    id: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
) -> Operation {
    Operation {
        method,
        id,
        summary,
        query,
    }
}

const LIST: &[&str] = &["limit", "skip", "count"];

/// Every route, most specific first where two could match one path.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        below: false,
        access: Access::Public,
        tag: "platform",
        operations: &[op(
            "GET",
            "getPlatform",
            "Platform description, limits and runtimes",
            &[],
        )],
    },
    Route {
        path: "/ping",
        below: false,
        access: Access::Public,
        tag: "platform",
        operations: &[op("GET", "ping", "Answers pong", &[])],
    },
    Route {
        path: "/health",
        below: false,
        access: Access::Public,
        tag: "platform",
        operations: &[op(
            "GET",
            "getHealth",
            "Whether shoal takes work, and why not",
            &[],
        )],
    },
    Route {
        path: "/metrics",
        below: false,
        access: Access::Bearer,
        tag: "platform",
        operations: &[op(
            "GET",
            "getMetrics",
            "Prometheus scrape (OpenMetrics text)",
            &[],
        )],
    },
    Route {
        path: "/api/v1",
        below: false,
        access: Access::Public,
        tag: "platform",
        operations: &[op(
            "GET",
            "getApiInfo",
            "API version and documentation paths",
            &[],
        )],
    },
    Route {
        path: "/api/v1/api-docs",
        below: false,
        access: Access::Public,
        tag: "platform",
        operations: &[op("GET", "getApiDocs", "This document (OpenAPI 3)", &[])],
    },
    Route {
        path: "/api/v1/docs",
        below: false,
        access: Access::Public,
        tag: "platform",
        operations: &[op("GET", "getDocs", "The operations, as an HTML page", &[])],
    },
    Route {
        path: "/api/v1/namespaces",
        below: false,
        access: Access::Basic,
        tag: "namespaces",
        operations: &[op("GET", "getNamespaces", "The caller's namespace", &[])],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/limits",
        below: false,
        access: Access::Basic,
        tag: "namespaces",
        operations: &[op(
            "GET",
            "getLimits",
            "The namespace's effective limits",
            &[],
        )],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/actions",
        below: false,
        access: Access::Basic,
        tag: "actions",
        operations: &[op("GET", "getAllActions", "List actions", LIST)],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/actions/{packageName}/",
        below: false,
        access: Access::Basic,
        tag: "actions",
        operations: &[op(
            "GET",
            "getActionsInPackage",
            "List a package's actions",
            LIST,
        )],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/actions/{actionName}",
        below: false,
        access: Access::Basic,
        tag: "actions",
        operations: &[
            op("GET", "getActionByName", "Get an action", &["code"]),
            op(
                "PUT",
                "updateAction",
                "Create or update an action",
                &["overwrite"],
            ),
            op("DELETE", "deleteAction", "Delete an action", &[]),
            op(
                "POST",
                "invokeAction",
                "Invoke an action",
                &["blocking", "result", "timeout"],
            ),
        ],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/actions/{packageName}/{actionName}",
        below: false,
        access: Access::Basic,
        tag: "actions",
        operations: &[
            op(
                "GET",
                "getActionInPackage",
                "Get an action in a package",
                &["code"],
            ),
            op(
                "PUT",
                "updateActionInPackage",
                "Create or update an action in a package",
                &["overwrite"],
            ),
            op(
                "DELETE",
                "deleteActionInPackage",
                "Delete an action in a package",
                &[],
            ),
            op(
                "POST",
                "invokeActionInPackage",
                "Invoke an action in a package or binding",
                &["blocking", "result", "timeout"],
            ),
        ],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/packages",
        below: false,
        access: Access::Basic,
        tag: "packages",
        operations: &[op(
            "GET",
            "getAllPackages",
            "List packages",
            &["limit", "skip", "count", "public"],
        )],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/packages/{packageName}",
        below: false,
        access: Access::Basic,
        tag: "packages",
        operations: &[
            op("GET", "getPackageByName", "Get a package or binding", &[]),
            op(
                "PUT",
                "updatePackage",
                "Create or update a package or binding",
                &["overwrite"],
            ),
            op(
                "DELETE",
                "deletePackage",
                "Delete a package or binding",
                &["force"],
            ),
        ],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/triggers",
        below: false,
        access: Access::Basic,
        tag: "triggers",
        operations: &[op("GET", "getAllTriggers", "List triggers", LIST)],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/triggers/{triggerName}",
        below: false,
        access: Access::Basic,
        tag: "triggers",
        operations: &[
            op("GET", "getTriggerByName", "Get a trigger", &[]),
            op(
                "PUT",
                "updateTrigger",
                "Create or update a trigger",
                &["overwrite"],
            ),
            op("DELETE", "deleteTrigger", "Delete a trigger", &[]),
            op("POST", "fireTrigger", "Fire a trigger", &[]),
        ],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/rules",
        below: false,
        access: Access::Basic,
        tag: "rules",
        operations: &[op("GET", "getAllRules", "List rules", LIST)],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/rules/{ruleName}",
        below: false,
        access: Access::Basic,
        tag: "rules",
        operations: &[
            op("GET", "getRuleByName", "Get a rule", &[]),
            op(
                "PUT",
                "updateRule",
                "Create or update a rule",
                &["overwrite"],
            ),
            op("DELETE", "deleteRule", "Delete a rule", &[]),
            op("POST", "setState", "Enable or disable a rule", &[]),
        ],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/activations",
        below: false,
        access: Access::Basic,
        tag: "activations",
        operations: &[op(
            "GET",
            "getActivations",
            "List activations",
            &["name", "limit", "skip", "since", "upto", "docs", "count"],
        )],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/activations/{activationId}",
        below: false,
        access: Access::Basic,
        tag: "activations",
        operations: &[op(
            "GET",
            "getActivationById",
            "Get an activation record",
            &[],
        )],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/activations/{activationId}/logs",
        below: false,
        access: Access::Basic,
        tag: "activations",
        operations: &[op(
            "GET",
            "getActivationLogs",
            "Get an activation's logs",
            &[],
        )],
    },
    Route {
        path: "/api/v1/namespaces/{namespace}/activations/{activationId}/result",
        below: false,
        access: Access::Basic,
        tag: "activations",
        operations: &[op(
            "GET",
            "getActivationResult",
            "Get an activation's response",
            &[],
        )],
    },
    Route {
        path: "/api/v1/web/whisk.system/apimgmt/createApi",
        below: false,
        access: Access::Basic,
        tag: "apis",
        operations: &[op(
            "POST",
            "createApi",
            "Create or replace an API (wsk api create)",
            &["responsetype"],
        )],
    },
    Route {
        path: "/api/v1/web/whisk.system/apimgmt/getApi",
        below: false,
        access: Access::Basic,
        tag: "apis",
        operations: &[op(
            "GET",
            "getApi",
            "List or get APIs (wsk api list/get)",
            &["basepath", "relpath", "operation", "limit", "skip"],
        )],
    },
    Route {
        path: "/api/v1/web/whisk.system/apimgmt/deleteApi",
        below: false,
        access: Access::Basic,
        tag: "apis",
        operations: &[op(
            "DELETE",
            "deleteApi",
            "Delete an API, a path or an operation",
            &["basepath", "relpath", "operation", "force"],
        )],
    },
    Route {
        path: "/api/v1/web/whisk.system/apimgmt/createSubscription",
        below: false,
        access: Access::Basic,
        tag: "apis",
        operations: &[op(
            "POST",
            "createSubscription",
            "Subscribe an API key (and secret) to an API",
            &[],
        )],
    },
    Route {
        path: "/api/v1/web/whisk.system/apimgmt/getSubscriptions",
        below: false,
        access: Access::Basic,
        tag: "apis",
        operations: &[op(
            "GET",
            "getSubscriptions",
            "List the keys subscribed to an API",
            &["basepath"],
        )],
    },
    Route {
        path: "/api/v1/web/whisk.system/apimgmt/deleteSubscription",
        below: false,
        access: Access::Basic,
        tag: "apis",
        operations: &[op(
            "DELETE",
            "deleteSubscription",
            "Remove a key's subscription",
            &["basepath", "client_id"],
        )],
    },
    Route {
        path: "/api/v1/web/{namespace}/{packageName}/{actionName}",
        below: true,
        access: Access::Public,
        tag: "web",
        operations: &[
            op("GET", "getWebAction", "Call a web action", &[]),
            op("POST", "postWebAction", "Call a web action", &[]),
            op("PUT", "putWebAction", "Call a web action", &[]),
            op("DELETE", "deleteWebAction", "Call a web action", &[]),
            op("PATCH", "patchWebAction", "Call a web action", &[]),
            op("HEAD", "headWebAction", "Call a web action", &[]),
        ],
    },
    Route {
        path: "/api/{tenant}/{path}",
        below: true,
        access: Access::Public,
        tag: "gateway",
        operations: &[
            op("GET", "getGatewayRoute", "Call an API gateway route", &[]),
            op("POST", "postGatewayRoute", "Call an API gateway route", &[]),
            op("PUT", "putGatewayRoute", "Call an API gateway route", &[]),
            op(
                "DELETE",
                "deleteGatewayRoute",
                "Call an API gateway route",
                &[],
            ),
            op(
                "PATCH",
                "patchGatewayRoute",
                "Call an API gateway route",
                &[],
            ),
            op("HEAD", "headGatewayRoute", "Call an API gateway route", &[]),
        ],
    },
];

impl Route {
    /// Whether `segs` (a path split at `/`, without the leading one) is this route's, given
    /// the route's template split the same way.
    fn matches(&self, template: &[&str], segs: &[&str]) -> bool {
        if segs.len() < template.len() || (segs.len() > template.len() && !self.below) {
            return false;
        }
        template.iter().zip(segs).all(|(t, s)| {
            if t.starts_with('{') {
                !s.is_empty()
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

/// The route `path` (its query excluded) belongs to: a path that ends in a `/` no route
/// names is read without it. `None` when shoal serves no such path.
pub(crate) fn route(path: &str) -> Option<&'static Route> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let segs: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    // Paths under `/api/v1` are the API's own: the gateway never sees them (nor does the
    // dispatcher hand them to it).
    let find = |segs: &[&str]| {
        ROUTES
            .iter()
            .zip(TEMPLATES.iter())
            .filter(|(r, _)| r.tag != "gateway" || segs.get(1) != Some(&"v1"))
            .find(|(r, template)| r.matches(template, segs))
            .map(|(r, _)| r)
    };
    find(&segs).or_else(|| match segs.split_last() {
        Some((&"", rest)) if !rest.is_empty() => find(rest),
        _ => None,
    })
}

/// The template requests to `path` are counted under: a fixed set, so no caller can add
/// series by inventing paths.
pub fn route_of(path: &str) -> &'static str {
    route(path).map_or("other", |r| r.path)
}

/// The OpenAPI 3 document of the routes, for clients of `api_host`.
pub fn openapi(api_host: &str) -> Value {
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
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string", "description": "What went wrong"},
                        "code": {"type": "string", "description": "The request's transaction id"},
                    },
                },
            },
        },
    })
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
        Access::Basic => json!([{"basic": []}]),
        Access::Bearer => json!([{}, {"bearer": []}]),
    };
    let below = if route.below {
        " The route also serves every path below it."
    } else {
        ""
    };
    json!({
        "operationId": operation.id,
        "summary": operation.summary,
        "description": format!("{}.{below}", operation.summary),
        "tags": [route.tag],
        "parameters": parameters,
        "security": security,
        "responses": {
            "200": {"description": "Done"},
            "default": {
                "description": "An OpenWhisk error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    })
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
