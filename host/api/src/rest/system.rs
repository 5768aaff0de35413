//! Platform information (`GET /`, `GET /api/v1`, `GET /health`, `GET /metrics`) and
//! namespace limits.

use hyper::StatusCode;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::call::Call;
use super::reply::Reply;
use crate::app::App;
use crate::entity::LIMIT_BOUNDS;
use crate::error::ApiError;
use crate::messages;
use shoal_core::throttle::{ACTIVATION_BYTES_LIMIT, ENTITY_BYTES_LIMIT};

/// `GET /`: platform description, limits and the runtimes of the routing table (spec §8.5).
pub(crate) async fn info(call: &Call<'_>) -> Result<Reply, ApiError> {
    let app: &App = call.app;
    let l = &app.settings.limits;
    let b = LIMIT_BOUNDS;
    let mut runtimes: Map<String, Value> = Map::new();
    for (kind, _) in app.controller.table().kinds() {
        let entry = json!({
            "kind": kind.kind,
            "image": kind.image.clone().unwrap_or_else(|| format!("shoal/{}", kind.kind.replace(':', "-"))),
            "deprecated": kind.deprecated,
            "default": kind.default,
            "attached": false,
            "requireMain": kind.require_main,
        });
        if let Value::Array(list) = runtimes
            .entry(kind.family().to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(entry);
        }
    }
    let mb = 1024 * 1024;
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "description": "OpenWhisk",
            "support": {"github": "https://github.com/apache/openwhisk/issues", "slack": "http://slack.openwhisk.org"},
            "api_paths": ["/api/v1"],
            "limits": {
                "actions_per_minute": l.invocations_per_minute,
                "triggers_per_minute": l.fires_per_minute,
                "concurrent_actions": l.concurrent_invocations,
                "sequence_length": 50,
                "default_min_action_duration": b.timeout.0,
                "default_max_action_duration": b.timeout.1,
                "default_min_action_memory": b.memory.0 * mb,
                "default_max_action_memory": b.memory.1 * mb,
                "default_min_action_logs": b.logs.0 * mb,
                "default_max_action_logs": b.logs.1 * mb,
                "min_action_duration": b.timeout.0,
                "max_action_duration": b.timeout.1,
                "min_action_memory": b.memory.0 * mb,
                "max_action_memory": b.memory.1 * mb,
                "min_action_logs": b.logs.0 * mb,
                "max_action_logs": b.logs.1 * mb,
            },
            "runtimes": runtimes,
        }),
    ))
}

/// `GET /api/v1`.
pub(crate) async fn api_info(_: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "description": "OpenWhisk API",
            "api_version": "1.0.0",
            "api_version_path": "v1",
            "build": env!("CARGO_PKG_VERSION"),
            "buildno": env!("CARGO_PKG_VERSION"),
            "swagger_paths": {"ui": "/docs", "api-docs": "/api-docs"},
        }),
    ))
}

/// `GET /ping`.
pub(crate) async fn ping(_: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::text(StatusCode::OK, "pong"))
}

/// `GET /api/v1/namespaces`: the caller's namespace, the only one it sees.
pub(crate) async fn namespaces(call: &Call<'_>) -> Result<Reply, ApiError> {
    let identity = call.identity()?;
    Ok(Reply::json(
        StatusCode::OK,
        &Value::from(vec![identity.namespace.clone()]),
    ))
}

/// `GET /namespaces/{ns}/limits` (spec §2.1): the caller's effective limits.
pub(crate) async fn limits(call: &Call<'_>) -> Result<Reply, ApiError> {
    let l = &call.identity()?.limits;
    let b = LIMIT_BOUNDS;
    let mut body = json!({
            "invocationsPerMinute": l.invocations_per_minute,
            "concurrentInvocations": l.concurrent_invocations,
            "firesPerMinute": l.fires_per_minute,
            "minActionMemory": b.memory.0,
            "maxActionMemory": b.memory.1,
            "minActionLogs": b.logs.0,
            "maxActionLogs": b.logs.1,
            "minActionTimeout": b.timeout.0,
            "maxActionTimeout": b.timeout.1,
            "minActionConcurrency": b.concurrency.0,
            "maxActionConcurrency": b.concurrency.1,
            "maxParameterSize": "1 MB",
            "maxActionInstances": l.concurrent_invocations,
    });
    // shoal's own limits, reported always.
    body[ACTIVATION_BYTES_LIMIT] = l.activation_bytes_per_minute.into();
    body[ENTITY_BYTES_LIMIT] = l.entity_bytes.into();
    // Reported only when the namespace sets it (spec §2.1).
    if let Some(store) = l.store_activations {
        body["storeActivations"] = store.into();
    }
    Ok(Reply::json(StatusCode::OK, &body))
}

/// `GET /health` (unauthenticated): 200 with `{"status": "ok"}` while shoal takes work, 503
/// with `{"status": "unavailable", "store": <why>}` while its activation store cannot write.
/// Either way it lists the stored alarms that could not be scheduled at start
/// (`skippedFeeds`) and how many accepted activations the previous run left unfinished
/// (`recoveredActivations`, ended as whisk internal errors), the isolate memory budget
/// (`isolateMemory`: budget, reserved, resident, waiting, trims, refused), and how many shoal
/// nodes share the store (`nodes`: 1 on SQLite; on PostgreSQL those with a live heartbeat).
pub(crate) async fn health(call: &Call<'_>) -> Result<Reply, ApiError> {
    let app = call.app;
    let mut body = json!({
        "status": "ok",
        "skippedFeeds": app.feeds.iter().flat_map(|f| f.skipped()).collect::<Vec<_>>(),
        "recoveredActivations": app.store.recovered(),
        "isolateMemory": app.memory.figures(),
        "nodes": app.store.sharing(),
    });
    Ok(match app.store.health() {
        Ok(()) => Reply::json(StatusCode::OK, &body),
        Err(reason) => {
            body["status"] = json!("unavailable");
            body["store"] = json!(reason);
            Reply::json(StatusCode::SERVICE_UNAVAILABLE, &body)
        }
    })
}

/// Refuses (401) a call without `Authorization: Bearer <token>`.
fn bearer(call: &Call<'_>, token: &str) -> Result<(), ApiError> {
    let given = call
        .req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    // Digests compared, so the time taken tells nothing about the token.
    let digest = |text: &str| Sha256::digest(text.as_bytes());
    if given.is_none_or(|given| digest(given) != digest(token)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            messages::AUTH_INVALID,
        ));
    }
    Ok(())
}

/// `GET /api/v1/nodes` (a shoal extension): every container host of every executor, with
/// what it has and holds. 403 when no `[admin] token` is set (the operator's routes are off);
/// 401 without it as a bearer token.
pub(crate) async fn nodes(call: &Call<'_>) -> Result<Reply, ApiError> {
    let app = call.app;
    let Some(token) = &app.settings.admin.token else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, messages::ADMIN_OFF));
    };
    bearer(call, token)?;
    let table = app.controller.table();
    let mut hosts = Vec::new();
    for executor in table.executors() {
        for h in executor.hosts() {
            hosts.push(json!({
                "name": h.name,
                "executor": executor.name(),
                "driver": h.driver,
                "endpoint": h.endpoint,
                "up": h.up,
                "architecture": h.architecture,
                "os": h.os,
                "cpus": h.cpus,
                "memory": h.memory_bytes,
                "labels": h.labels,
                "tags": h.tags,
                "capacityMB": h.capacity_mb,
                "inUseMB": h.in_use_mb,
                "containers": {"busy": h.busy, "warm": h.warm, "paused": h.paused, "prewarm": h.prewarm},
                "canPause": h.can_pause,
            }));
        }
    }
    Ok(Reply::json(StatusCode::OK, &json!({"hosts": hosts})))
}

/// `GET /metrics`: the Prometheus scrape ([`crate::metrics`]). 404 when `[metrics]` turns it
/// off, and to actions (its series name every namespace with its activity); 401 without the
/// bearer token `[metrics] token` names, when it names one.
pub(crate) async fn metrics(call: &Call<'_>) -> Result<Reply, ApiError> {
    let app = call.app;
    let settings = &app.settings.metrics;
    if !settings.enabled || call.req.from_action {
        return Err(ApiError::no_route());
    }
    if let Some(token) = &settings.token {
        bearer(call, token)?;
    }
    let text = app
        .metrics
        .render(app.controller.table(), &app.memory, &*app.store);
    Ok(Reply::new(
        StatusCode::OK,
        text.into(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ))
}
