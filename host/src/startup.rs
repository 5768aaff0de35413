//! How the platform is put together and started: the store and its first-start bootstrap
//! (`guest`, `whisk.system` and its catalog), the executors and the routing table, the
//! controller with its metrics, the egress and the background feeds. The only place that
//! names concrete executors.

use std::sync::Arc;
use std::time::Duration;

use shoal_quickjs::{QuickJsConfig, QuickJsExecutor};
use shoal_router::{EgressSlot, Executor, KindInfo, RoutingTable};
use shoal_store::{PostgresStore, SqliteStore, Store, Subject};
use shoal_wasm::WasmExecutor;

use crate::alarms::AlarmService;
use crate::app::App;
use crate::auth::{self, Authenticator};
use crate::catalog;
use crate::config::Config;
use crate::containers;
use crate::controller::Controller;
use crate::dedicated::Dedicated;
use crate::feeds::{FeedExecutor, FeedPackage, FeedProvider, kind_of};
use crate::gateway::Gateway;
use crate::js_engines::js_engines;
use crate::memory::{Budgeted, MemoryBudget};
use crate::metrics::Metrics;
use shoal_containers::ContainerExecutor;

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed to open or bootstrap.
    #[error("store: {0}")]
    Store(#[from] shoal_store::StoreError),
    /// An executor failed to start.
    #[error("executor: {0}")]
    Executor(String),
    /// The built-in catalog could not be installed.
    #[error("catalog: {0}")]
    Catalog(String),
}

/// A started platform: the [`App`] the API serves from, and the container domain, which the
/// host stops after the app.
pub struct Platform {
    /// What the API serves from.
    pub app: Arc<App>,
    /// The container domain, when configured and its engine answered.
    pub containers: Option<Arc<ContainerExecutor>>,
}

impl Platform {
    /// Waits for activations in flight (up to `limit`), commits the activation log, then
    /// removes the containers shoal started.
    pub async fn shutdown(&self, limit: Duration) {
        self.app.shutdown(limit).await;
        if let Some(containers) = &self.containers {
            containers.shutdown().await;
        }
    }
}

/// How long a node that cannot reach its PostgreSQL database waits before it tries again.
const STORE_RETRY: Duration = Duration::from_secs(2);

/// The store `config` names: its PostgreSQL database, or the SQLite store under its data
/// directory. A node that cannot reach PostgreSQL says why and tries again, every
/// `STORE_RETRY`, until it can (the database may be starting too).
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    let Some(url) = &config.store else {
        return Ok(Arc::new(SqliteStore::open(&config.data_dir)?));
    };
    loop {
        match PostgresStore::connect(url).await {
            Ok(store) => return Ok(Arc::new(store)),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_s = STORE_RETRY.as_secs(), "cannot open the PostgreSQL store");
                tokio::time::sleep(STORE_RETRY).await;
            }
        }
    }
}

/// Opens the store `config` names ([`open_store`]), creates namespace `guest` with the well-known key
/// on first start, starts the executors and installs the `whisk.system` catalog. `api_host`
/// is what actions see as `__OW_API_HOST`.
pub async fn start(config: &Config, api_host: String) -> Result<Platform, StartError> {
    let store = open_store(config).await?;
    ensure_guest(&*store).await?;
    crate::retention::spawn(&store, config.activations.retention_days);
    let egress = EgressSlot::default();
    let workers = Arc::new(quickjs(config, &egress)?);
    let feeds: Vec<Arc<dyn FeedProvider>> = vec![AlarmService::new(store.clone()).await?];
    let (mut table, memory) = routing_table(workers.clone(), config, &egress)?;
    for feed in &feeds {
        let kind = KindInfo::internal(&kind_of(feed.package().name));
        table.add(kind, Arc::new(FeedExecutor::new(feed.clone())));
    }
    let containers = containers::start(&config.containers, &config.data_dir, &api_host);
    if let Some(executor) = &containers {
        containers::register(&mut table, executor);
    }
    let table = Arc::new(table);
    let packages: Vec<_> = feeds.iter().map(|f| f.package()).collect();
    ensure_whisk_system(&*store, &table, &packages).await?;
    let metrics = Arc::new(Metrics::new());
    let controller = Arc::new(
        Controller::new(store.clone(), table, api_host.clone()).observed_by(metrics.clone()),
    );
    let app = Arc::new(App {
        metrics,
        auth: Arc::new(Authenticator::new(store.clone(), config.limits.clone())),
        gateway: Gateway::new(store.clone()),
        controller,
        store,
        settings: config.settings(),
        feeds,
        memory,
        egress,
        api_host,
        entity_writers: Default::default(),
    });
    Ok(Platform { app, containers })
}

/// Creates namespace `guest` with the well-known key if it does not exist.
async fn ensure_guest(store: &dyn Store) -> Result<(), StartError> {
    if store.subject_by_namespace("guest").await?.is_none() {
        let (uuid, key) = auth::GUEST_AUTH.split_once(':').unwrap_or_default();
        store
            .put_subject(Subject {
                subject: "guest".into(),
                namespace: "guest".into(),
                uuid: uuid.into(),
                key: key.into(),
                limits: serde_json::json!({}),
            })
            .await?;
    }
    Ok(())
}

/// Creates namespace `whisk.system` (with fresh credentials) if it does not exist, and
/// installs the built-in catalog into it.
async fn ensure_whisk_system(
    store: &dyn Store,
    table: &RoutingTable,
    feeds: &[FeedPackage],
) -> Result<(), StartError> {
    if store
        .subject_by_namespace(catalog::NAMESPACE)
        .await?
        .is_none()
    {
        create_namespace(store, catalog::NAMESPACE).await?;
    }
    catalog::install(store, table, feeds)
        .await
        .map_err(|e| StartError::Catalog(e.to_string()))
}

/// Creates (or re-keys) namespace `name` with fresh credentials; returns `uuid:key`.
pub async fn create_namespace(store: &dyn Store, name: &str) -> Result<String, StartError> {
    let (uuid, key) = auth::new_credentials();
    store
        .put_subject(Subject {
            subject: name.into(),
            namespace: name.into(),
            uuid: uuid.clone(),
            key: key.clone(),
            limits: serde_json::json!({}),
        })
        .await?;
    Ok(format!("{uuid}:{key}"))
}

/// Starts the QuickJS workers (one per core unless configured); actions' outbound requests
/// go to `egress`.
fn quickjs(config: &Config, egress: &EgressSlot) -> Result<QuickJsExecutor, StartError> {
    QuickJsExecutor::with_egress(
        QuickJsConfig {
            workers: config.worker_threads(),
            idle_ttl: Duration::from_secs(config.isolates.idle_ttl_secs),
            max_resident: config.isolates.max_resident,
            max_resident_bytes: config.isolates.max_resident_mib * 1024 * 1024,
            ..QuickJsConfig::default()
        },
        Arc::clone(egress),
    )
    .map_err(|e| StartError::Executor(e.to_string()))
}

/// The routing table: `nodejs:*` to the configured JS engine (`isolates.js_engine`, QuickJS by
/// default; with the `v8` feature, the other engines for actions annotated `engine: "quickjs"`,
/// `"v8"` or `"tiered"`), `wasm` to the wasmtime domain configured by `[wasm]` (compiled
/// modules cached under `<data_dir>/wasm-cache` unless `disk_cache = false`), run on threads
/// of its own.
fn routing_table(
    quickjs: Arc<QuickJsExecutor>,
    config: &Config,
    egress: &EgressSlot,
) -> Result<(RoutingTable, Arc<MemoryBudget>), StartError> {
    let mut table = RoutingTable::new();
    let js = js_engines(config, quickjs, egress).map_err(StartError::Executor)?;
    let wasm = WasmExecutor::new(config.wasm.executor_config(&config.data_dir))
        .map_err(|e| StartError::Executor(e.to_string()))?;
    let wasm: Arc<dyn Executor> = Arc::new(
        Dedicated::new(Arc::new(wasm), config.worker_threads())
            .map_err(|e| StartError::Executor(e.to_string()))?,
    );
    // WASM keeps no idle instances, only compiled code: its activations reserve, it holds
    // nothing to count or drop.
    let budget = MemoryBudget::new(config.memory_budget_mib(), js.isolates);
    let budgeted = |engine: &Arc<dyn Executor>| -> Arc<dyn Executor> {
        Arc::new(Budgeted::new(engine.clone(), budget.clone()))
    };
    let (default_js, alternatives): (_, Vec<_>) = (
        budgeted(&js.default),
        js.alternatives.iter().map(budgeted).collect(),
    );
    for (kind, default) in [
        ("nodejs:18", false),
        ("nodejs:20", true),
        ("nodejs:22", false),
    ] {
        table.add(KindInfo::new(kind, default), default_js.clone());
        for engine in &alternatives {
            table
                .add_alternative(kind, engine.clone())
                .map_err(|e| StartError::Executor(e.to_string()))?;
        }
    }
    table.add(KindInfo::new("wasm", true), budgeted(&wasm));
    Ok((table, budget))
}

#[cfg(all(test, feature = "v8"))]
mod v8_tests {
    use super::*;
    use shoal_router::{ActionCode, ActivationId, Invocation, Limits, OwEnv};
    use std::time::Instant;

    #[tokio::test]
    async fn the_engine_annotation_routes_js_actions_to_v8() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let none = EgressSlot::default();
        let (table, _) =
            routing_table(Arc::new(quickjs(&config, &none).unwrap()), &config, &none).unwrap();
        for kind in ["nodejs:18", "nodejs:20", "nodejs:22"] {
            assert_eq!(table.executor_for(kind, Some("v8")).unwrap().name(), "v8");
            let tiered = table.executor_for(kind, Some("tiered")).unwrap();
            assert_eq!(tiered.name(), "tiered");
            assert_eq!(table.executor_for(kind, None).unwrap().name(), "quickjs");
        }
        assert!(table.kinds().all(|(_, executor)| executor != "v8"));
        let mut v8_first = config.clone();
        v8_first.isolates.js_engine = crate::config::JsEngine::V8;
        let quickjs = Arc::new(quickjs(&v8_first, &none).unwrap());
        let (table, _) = routing_table(quickjs, &v8_first, &none).unwrap();
        assert_eq!(table.executor_for("nodejs:20", None).unwrap().name(), "v8");
        let quickjs_named = table.executor_for("nodejs:20", Some("quickjs")).unwrap();
        assert_eq!(quickjs_named.name(), "quickjs");
        let code =
            "function main() { return {engine: typeof Deno === 'undefined' ? 'v8' : 'leak'}; }";
        let action = Arc::new(ActionCode {
            fqn: "/guest/which".into(),
            name: "which".into(),
            version: "0.0.1".into(),
            kind: "nodejs:20".into(),
            code: code.into(),
            binary: false,
            main: "main".into(),
            digest: [7; 32],
            image: None,
            host_tags: Default::default(),
        });
        let v8 = table.executor_for("nodejs:20", Some("v8")).unwrap();
        v8.prepare(&action).unwrap();
        let outcome = v8
            .invoke(Invocation {
                activation_id: ActivationId::from_random([1; 16]),
                action,
                tenant: "guest".into(),
                params: serde_json::Map::new(),
                init_env: serde_json::Map::new(),
                env: OwEnv {
                    api_host: "http://localhost".into(),
                    api_key: None,
                    namespace: "guest".into(),
                    action_name: "/guest/which".into(),
                    action_version: "0.0.1".into(),
                    activation_id: "a".into(),
                    transaction_id: "t".into(),
                    deadline: "0".into(),
                },
                limits: Limits::default(),
                deadline: Instant::now() + Duration::from_secs(10),
            })
            .await;
        assert_eq!(outcome.result, Ok(serde_json::json!({"engine": "v8"})));
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use bytes::Bytes;
    use hyper::header::{CONTENT_TYPE, HeaderValue};
    use hyper::{HeaderMap, Method, StatusCode};
    use serde_json::{Value, json};

    use super::*;
    use crate::api::{Request, dispatch};

    /// A started platform over a fresh data dir (kept alive by the returned guard).
    async fn started() -> (tempfile::TempDir, Arc<App>) {
        let dir = tempfile::tempdir().unwrap();
        let overrides = crate::config::Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let config = Config::load(None, overrides).unwrap();
        let platform = start(&config, "http://127.0.0.1:1".into()).await.unwrap();
        (dir, platform.app)
    }

    /// Sends `method path` with `body` and the guest's key; returns the status and JSON body.
    async fn call(app: &Arc<App>, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let mut h = HeaderMap::new();
        let key = base64::engine::general_purpose::STANDARD.encode(auth::GUEST_AUTH);
        let basic = HeaderValue::from_str(&format!("Basic {key}")).unwrap();
        h.insert("authorization", basic);
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let body = Bytes::from(body.to_string());
        let req = Request::new(method, path, h, body, "tid".into());
        let reply = match dispatch(app, &req).await {
            Ok(reply) => reply,
            Err(e) => return (e.status, json!({"error": e.message})),
        };
        let value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        (reply.status, value)
    }

    #[tokio::test]
    async fn the_dispatcher_checks_in_openwhisk_order() {
        let (_dir, app) = started().await;
        let anonymous = Request::new(
            Method::GET,
            "/api/v1/namespaces/!bad!/nothing",
            HeaderMap::new(),
            Bytes::new(),
            "tid".into(),
        );
        let refused = dispatch(&app, &anonymous).await.err().unwrap();
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "credentials first"
        );
        let missing = "The requested resource does not exist.";
        for (method, path, status, text) in [
            (
                Method::GET,
                "/api/v1/namespaces/!bad!/nothing",
                400,
                "namespace",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/_/nothing",
                404,
                "could not be found",
            ),
            (Method::GET, "/api/v1/namespaces/_/limits/x", 400, "limits"),
            (
                Method::GET,
                "/api/v1/namespaces/other/rules/!bad!",
                400,
                "name",
            ),
            (
                Method::PATCH,
                "/api/v1/namespaces/other/rules/r",
                403,
                "other/r",
            ),
            (
                Method::PATCH,
                "/api/v1/namespaces/other/rules",
                403,
                "other",
            ),
            (
                Method::PATCH,
                "/api/v1/namespaces/_/rules/r",
                405,
                "GET, PUT, DELETE, POST",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/_/packages/p",
                405,
                "GET, PUT, DELETE",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/other/packages/p",
                403,
                "other/p",
            ),
            (Method::GET, "/api/v1/namespaces/_/rules/r", 404, missing),
            (Method::GET, "/api/v1/web/guest/default", 404, missing),
        ] {
            let (got, body) = call(&app, method.clone(), path, json!({})).await;
            assert_eq!(got.as_u16(), status, "{method} {path}: {body}");
            let error = body["error"].as_str().unwrap_or_default();
            assert!(error.contains(text), "{method} {path}: {error}");
        }
    }

    #[tokio::test]
    async fn web_actions_resolve_through_packages_and_bindings() {
        let (_dir, app) = started().await;
        let code = json!({"kind": "nodejs:default", "code": "function main(p) { return p }"});
        for (path, body) in [
            (
                "/api/v1/namespaces/_/packages/p",
                json!({"parameters": [{"key": "pkg", "value": 1}]}),
            ),
            (
                "/api/v1/namespaces/_/packages/b",
                json!({"binding": {"namespace": "guest", "name": "p"},
                       "parameters": [{"key": "bound", "value": 2}]}),
            ),
            (
                "/api/v1/namespaces/_/actions/p/a",
                json!({"exec": code, "annotations": [{"key": "web-export", "value": true}],
                       "parameters": [{"key": "own", "value": 3}]}),
            ),
            (
                "/api/v1/namespaces/_/actions/p/hidden",
                json!({"exec": code}),
            ),
        ] {
            let (status, _) = call(&app, Method::PUT, path, body).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        let web = |path: &str| format!("/api/v1/web/guest/{path}.json");
        let (status, direct) = call(&app, Method::GET, &web("p/a"), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((&direct["pkg"], &direct["own"]), (&json!(1), &json!(3)));
        let (status, bound) = call(&app, Method::GET, &web("b/a"), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((&bound["pkg"], &bound["bound"]), (&json!(1), &json!(2)));
        for path in ["p/hidden", "p/nope", "default/a", "x/a"] {
            let (status, _) = call(&app, Method::GET, &web(path), json!({})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// The blocking wait is the controller's 60 s (`MAX_BLOCKING_WAIT`). The test's clock is
    /// paused, so once the runtime has nothing else to do it jumps past the wait while the
    /// action still sleeps (its own timer is further out still, on whichever clock it runs).
    #[tokio::test(start_paused = true)]
    async fn a_web_result_not_ready_within_the_wait_is_a_202_naming_the_activation() {
        let (_dir, app) = started().await;
        let code = "function main() { return new Promise(r => setTimeout(() => r({}), 200000)) }";
        let action = json!({"exec": {"kind": "nodejs:default", "code": code},
                            "limits": {"timeout": 300000},
                            "annotations": [{"key": "web-export", "value": true}]});
        let (status, _) = call(
            &app,
            Method::PUT,
            "/api/v1/namespaces/_/actions/slow",
            action,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let path = "/api/v1/web/guest/default/slow.json";
        let req = Request::new(
            Method::GET,
            path,
            HeaderMap::new(),
            Bytes::new(),
            "tid".into(),
        );
        let reply = dispatch(&app, &req).await.unwrap();
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body,
            json!({"error": "Response not yet ready.", "code": "tid"})
        );
        assert!(reply.activation_id.is_some());
        assert_eq!(reply.headers["access-control-allow-origin"], "*");
    }
}
