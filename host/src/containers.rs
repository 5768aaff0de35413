//! The container domain in the host: starts [`ContainerExecutor`] when configured and the
//! engine answers, and routes to it every kind of its runtime manifest, `blackbox`, and the
//! `nodejs:*` actions annotated `engine: "container"` (full Node.js instead of an isolate).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shoal_containers::{BLACKBOX, ContainerConfig, ContainerExecutor};
use shoal_router::{Executor, KindInfo, RoutingTable};

/// Starts the container domain, or `None` (with a warning naming why) when it is disabled or
/// its engine does not answer: shoal then serves the isolate kinds only. Containers are
/// labelled with the data directory, so a later start on the same directory removes the ones
/// a crash left behind.
pub fn start(
    config: &ContainerConfig,
    data_dir: &Path,
    api_host: &str,
) -> Option<Arc<ContainerExecutor>> {
    if !config.enabled {
        return None;
    }
    let owner = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    match ContainerExecutor::start(config.clone(), &owner.to_string_lossy(), api_host) {
        Ok(executor) => Some(Arc::new(executor)),
        Err(e) => {
            tracing::warn!(
                "container kinds are off: the container engine is not available ({e}); set [containers] docker_host or [[containers.hosts]], or enabled = false to silence this"
            );
            None
        }
    }
}

/// Reloads the container hosts from `file` on every SIGHUP that `hangups` receives (set up
/// before start, so none kills the process), so hosts can be added, removed or changed
/// without a restart (the rest of the file is read only at start). A file that does not load
/// or validate changes nothing, and without a container domain there is nothing to reload;
/// either way the outcome is logged.
pub async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    executor: Option<Arc<ContainerExecutor>>,
    file: PathBuf,
    overrides: impl Fn() -> crate::config::Overrides,
) {
    while hangups.recv().await.is_some() {
        let Some(executor) = &executor else {
            tracing::warn!("SIGHUP: no container domain runs, so there are no hosts to reload");
            continue;
        };
        let loaded = crate::config::Config::load(Some(&file), overrides())
            .map_err(|e| e.to_string())
            .and_then(|config| executor.reload_hosts(&config.containers));
        match loaded {
            Ok(hosts) => tracing::info!(?hosts, "container hosts reloaded"),
            Err(e) => tracing::warn!("container hosts not reloaded: {e}"),
        }
    }
}

/// Registers the container kinds in `table`. Kinds another domain already serves (`nodejs:*`)
/// get the container executor as their `engine: "container"` alternative instead.
pub fn register(table: &mut RoutingTable, executor: &Arc<ContainerExecutor>) {
    let shared: Arc<dyn Executor> = executor.clone();
    let config = executor.config();
    for runtime in &config.runtimes {
        if table.executor(&runtime.kind).is_ok() {
            // Cannot fail: the kind was just found.
            let _ = table.add_alternative(&runtime.kind, shared.clone());
            continue;
        }
        table.add(
            KindInfo {
                require_main: runtime.require_main,
                image: Some(runtime.image.clone()),
                ..KindInfo::new(&runtime.kind, runtime.default)
            },
            shared.clone(),
        );
    }
    if config.blackbox {
        table.add(KindInfo::new(BLACKBOX, true), shared);
    }
}
