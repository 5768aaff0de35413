//! Typed configuration: defaults, then a TOML file, then environment and flags (the last one
//! set wins). Validated once at start-up; unknown keys are errors. Only the binary reads files,
//! env and flags; everything else receives a [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
pub use shoal_api::settings::{AdminConfig, EgressConfig, HttpConfig, MetricsConfig, Settings};
pub use shoal_core::throttle::LimitsConfig;

/// Everything `shoal serve` can be told. Lives for the whole process.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the REST API listens on. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory holding the SQLite store (created if missing), the WASM module cache and the
    /// container domain's state.
    pub data_dir: PathBuf,
    /// A PostgreSQL database to keep everything in instead of the SQLite store
    /// (`postgres://user:password@host:port/database`), shared with every other shoal node
    /// that names it. Unset: the embedded SQLite store under `data_dir`.
    pub store: Option<String>,
    /// The activation log: how long it keeps records.
    pub activations: ActivationsConfig,
    /// Public base URL handed to actions as `__OW_API_HOST` (default: `http://<listen>`).
    pub api_host: Option<String>,
    /// System-wide namespace limits (spec §2.1, §8).
    pub limits: LimitsConfig,
    /// JS isolate engine settings.
    pub isolates: IsolatesConfig,
    /// The container domain: Docker engine, runtime manifest, pool capacity and timeouts.
    pub containers: shoal_containers::ContainerConfig,
    /// The WASM domain: instance pool, concurrency, memory ceiling, epoch tick, disk cache.
    pub wasm: WasmSettings,
    /// Connection handling: timeouts and the connection limit.
    pub http: HttpConfig,
    /// Outbound network from actions (`fetch`, Node's `http` client).
    pub egress: EgressConfig,
    /// The Prometheus endpoint `GET /metrics`.
    pub metrics: MetricsConfig,
    /// The operator's routes (`GET /api/v1/nodes`), off unless `[admin] token` is set.
    pub admin: AdminConfig,
}

/// Settings for the activation log (`[activations]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ActivationsConfig {
    /// Days the log keeps every namespace's records; a namespace's own
    /// `activationRetentionDays` limit (`shoal namespace set-limits
    /// --activation-retention-days`) can shorten it. Unset: records are kept unless a
    /// namespace's own retention removes them. Applied hourly (`shoal_core::retention`).
    pub retention_days: Option<u32>,
}

/// Settings for the WASM domain (`[wasm]`); [`WasmSettings::executor_config`] turns them into
/// the executor's [`shoal_wasm::WasmConfig`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WasmSettings {
    /// Instance slots of the pooling allocator: the most WASM instances alive at once. Each
    /// slot reserves (but does not commit) about 4 GiB of address space for its memory.
    pub max_instances: u32,
    /// WASM activations running at once (at most `max_instances`); more wait their turn.
    pub max_running: usize,
    /// Largest linear memory of any instance, in MiB (1..=4096); `limits.memory` is capped by it.
    pub max_memory_mib: u64,
    /// Period of the epoch ticker in milliseconds: the granularity of WASM timeouts and how
    /// often a running activation yields its thread.
    pub epoch_tick_ms: u64,
    /// Whether compiled modules are kept in `<data_dir>/wasm-cache` across restarts.
    pub disk_cache: bool,
    /// KiB of each freed instance slot's memory kept resident for the next activation (fewer
    /// page faults; at most `max_instances` × this stays resident once slots were used).
    pub keep_resident_kib: u64,
}

/// Settings for the QuickJS isolate domain.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IsolatesConfig {
    /// Isolate worker threads (0 = one per core).
    pub workers: usize,
    /// Seconds an idle isolate stays warm before eviction.
    pub idle_ttl_secs: u64,
    /// Most isolates kept resident; the least recently used are evicted beyond it.
    pub max_resident: usize,
    /// Most engine memory (MiB) resident isolates may hold before the least recently used are
    /// evicted.
    pub max_resident_mib: usize,
    /// Memory (MiB) running isolate activations may reserve at once (each reserves its
    /// `limits.memory`), idle isolates included; 0 = half of the physical memory. Beyond it,
    /// idle isolates are dropped, then activations wait up to their time limit.
    pub memory_budget_mib: u64,
    /// The engine of `nodejs:*` actions whose `engine` annotation names none.
    pub js_engine: JsEngine,
    /// Tiered placement: a warm run on QuickJS taking longer than this (ms) counts as slow.
    pub tiering_threshold_ms: u64,
    /// Tiered placement: this many consecutive slow warm runs move an action to V8.
    pub tiering_slow_runs: u32,
}

/// A JS engine, as `isolates.js_engine` names it: `"quickjs"`, `"v8"` (always V8) or
/// `"tiered"` (QuickJS first, V8 once warm runs stay slow). The last two need a shoal built
/// with the `v8` feature.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsEngine {
    /// QuickJS isolates (the default).
    #[default]
    Quickjs,
    /// V8 isolates.
    V8,
    /// QuickJS, moved to V8 per action when its warm runs stay slow.
    Tiered,
}

impl JsEngine {
    /// The name in the config, in the `engine` annotation and of the executor.
    pub fn name(self) -> &'static str {
        match self {
            JsEngine::Quickjs => "quickjs",
            JsEngine::V8 => "v8",
            JsEngine::Tiered => "tiered",
        }
    }

    /// `Err` says why this build cannot run the engine (V8 needs the `v8` feature).
    pub fn available(self) -> Result<(), String> {
        if self == JsEngine::Quickjs || cfg!(feature = "v8") {
            return Ok(());
        }
        Err(format!(
            "isolates.js_engine = \"{}\" needs a shoal built with the v8 feature (cargo build --features v8); this one has QuickJS only",
            self.name()
        ))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3233)),
            data_dir: PathBuf::from(".shoal"),
            store: None,
            activations: ActivationsConfig::default(),
            api_host: None,
            limits: LimitsConfig::default(),
            isolates: IsolatesConfig::default(),
            containers: shoal_containers::ContainerConfig::default(),
            wasm: WasmSettings::default(),
            http: HttpConfig::default(),
            egress: EgressConfig::default(),
            metrics: MetricsConfig::default(),
            admin: AdminConfig::default(),
        }
    }
}

impl Default for WasmSettings {
    fn default() -> Self {
        let engine = shoal_wasm::WasmConfig::default();
        WasmSettings {
            max_instances: engine.max_instances,
            max_running: engine.max_running,
            max_memory_mib: engine.max_memory_mib,
            epoch_tick_ms: engine.epoch_tick.as_millis() as u64,
            disk_cache: true,
            keep_resident_kib: (engine.keep_resident >> 10) as u64,
        }
    }
}

impl WasmSettings {
    /// The executor's settings: these, with the cache under `data_dir` when `disk_cache`.
    pub fn executor_config(&self, data_dir: &Path) -> shoal_wasm::WasmConfig {
        shoal_wasm::WasmConfig {
            cache_dir: self.disk_cache.then(|| data_dir.join("wasm-cache")),
            max_instances: self.max_instances,
            max_running: self.max_running,
            max_memory_mib: self.max_memory_mib,
            epoch_tick: std::time::Duration::from_millis(self.epoch_tick_ms),
            keep_resident: usize::try_from(self.keep_resident_kib << 10).unwrap_or(usize::MAX),
            ..shoal_wasm::WasmConfig::default()
        }
    }
}

impl Default for IsolatesConfig {
    fn default() -> Self {
        IsolatesConfig {
            workers: 0,
            idle_ttl_secs: 600,
            max_resident: 20_000,
            max_resident_mib: 2048,
            memory_budget_mib: 0,
            js_engine: JsEngine::Quickjs,
            tiering_threshold_ms: 50,
            tiering_slow_runs: 3,
        }
    }
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`Config`] (includes unknown keys).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line or in the environment; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen` / `SHOAL_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir` / `SHOAL_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--store` / `SHOAL_STORE`.
    pub store: Option<String>,
    /// `--api-host` / `SHOAL_API_HOST`.
    pub api_host: Option<String>,
}

impl Config {
    /// The sections the API serves by.
    pub fn settings(&self) -> Settings {
        Settings {
            limits: self.limits.clone(),
            http: self.http.clone(),
            egress: self.egress.clone(),
            metrics: self.metrics.clone(),
            admin: self.admin.clone(),
        }
    }

    /// Builds the configuration: defaults, then `file` if given, then `overrides`. Validates
    /// the result.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_toml_file(path)?,
            None => Config::default(),
        };
        if let Some(l) = overrides.listen {
            config.listen = l;
        }
        if let Some(d) = overrides.data_dir {
            config.data_dir = d;
        }
        if let Some(url) = overrides.store {
            config.store = Some(url);
        }
        if let Some(h) = overrides.api_host {
            config.api_host = Some(h);
        }
        config.validate()?;
        Ok(config)
    }

    fn from_toml_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.store {
            shoal_store::PostgresStore::check_url(url)
                .map_err(|e| ConfigError::Invalid(format!("store: {e}")))?;
        }
        if self
            .admin
            .token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ConfigError::Invalid(
                "admin.token must not be blank (leave it unset to turn the admin routes off)"
                    .into(),
            ));
        }
        if self.activations.retention_days == Some(0) {
            return Err(ConfigError::Invalid(
                "activations.retention_days must be at least 1 (leave it unset to keep records)"
                    .into(),
            ));
        }
        let l = &self.limits;
        if l.invocations_per_minute == 0 || l.concurrent_invocations == 0 || l.fires_per_minute == 0
        {
            return Err(ConfigError::Invalid(
                "limits.invocations_per_minute, limits.concurrent_invocations and limits.fires_per_minute must be at least 1".into(),
            ));
        }
        if l.max_payload_bytes == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_payload_bytes must be at least 1".into(),
            ));
        }
        if self.isolates.max_resident == 0 || self.isolates.max_resident_mib == 0 {
            return Err(ConfigError::Invalid(
                "isolates.max_resident and isolates.max_resident_mib must be at least 1".into(),
            ));
        }
        let i = &self.isolates;
        let largest = crate::entity::LIMIT_BOUNDS.memory.1;
        if i.memory_budget_mib != 0 && i.memory_budget_mib < largest {
            return Err(ConfigError::Invalid(format!(
                "isolates.memory_budget_mib must be 0 (half of the memory) or at least {largest}, the largest action memory limit"
            )));
        }
        if i.tiering_threshold_ms == 0 || i.tiering_slow_runs == 0 {
            return Err(ConfigError::Invalid(
                "isolates.tiering_threshold_ms and isolates.tiering_slow_runs must be at least 1"
                    .into(),
            ));
        }
        i.js_engine.available().map_err(ConfigError::Invalid)?;
        let h = &self.http;
        if [
            h.header_read_timeout_secs,
            h.body_read_timeout_secs,
            h.idle_timeout_secs,
        ]
        .iter()
        .any(|t| !(1..=3600).contains(t))
            || h.max_connections == 0
        {
            return Err(ConfigError::Invalid(
                "http timeouts must be 1..=3600 seconds and http.max_connections at least 1".into(),
            ));
        }
        let e = &self.egress;
        if e.max_in_flight_per_namespace == 0 || e.max_in_flight < e.max_in_flight_per_namespace {
            return Err(ConfigError::Invalid(
                "egress.max_in_flight_per_namespace must be at least 1 and egress.max_in_flight at least as large".into(),
            ));
        }
        self.containers.validate().map_err(ConfigError::Invalid)?;
        self.wasm
            .executor_config(&self.data_dir)
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("[wasm] {e}")))?;
        if let Some(h) = &self.api_host
            && !(h.starts_with("http://") || h.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "api_host must start with http:// or https://, got '{h}'"
            )));
        }
        Ok(())
    }

    /// The isolate memory budget in MiB (resolves 0 to half of the physical memory).
    pub fn memory_budget_mib(&self) -> u64 {
        match self.isolates.memory_budget_mib {
            0 => crate::memory::default_budget_mib(),
            n => n,
        }
    }

    /// Worker threads to use for isolates and HTTP (resolves 0 to the core count).
    pub fn worker_threads(&self) -> usize {
        match self.isolates.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_listen_on_loopback_3233() {
        let c = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3233");
        assert_eq!(c.limits.concurrent_invocations, 30);
    }

    #[test]
    fn file_then_overrides() {
        let f = file(
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/x\"\n[limits]\nfires_per_minute = 5\n",
        );
        let c = Config::load(
            Some(f.path()),
            Overrides {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.limits.fires_per_minute, 5);
        assert_eq!(c.limits.invocations_per_minute, 60);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let f = file("listen = \"127.0.0.1:1\"\nlisten_typo = 1\n");
        let err = Config::load(Some(f.path()), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("listen_typo"), "{err}");
        let f = file("[limits]\nbogus = 1\n");
        assert!(Config::load(Some(f.path()), Overrides::default()).is_err());
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let f = file("[limits]\ninvocations_per_minute = 0\n");
        assert!(matches!(
            Config::load(Some(f.path()), Overrides::default()),
            Err(ConfigError::Invalid(_))
        ));
        let f = file("api_host = \"ftp://x\"\n");
        assert!(Config::load(Some(f.path()), Overrides::default()).is_err());
        let f = file("[admin]\ntoken = \"  \"\n");
        let err = Config::load(Some(f.path()), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("admin.token"), "{err}");
        let f = file("[isolates]\ntiering_threshold_ms = 0\n");
        assert!(matches!(
            Config::load(Some(f.path()), Overrides::default()),
            Err(ConfigError::Invalid(_))
        ));
        for egress in [
            "max_in_flight_per_namespace = 0",
            "max_in_flight_per_namespace = 10\nmax_in_flight = 5",
        ] {
            let f = file(&format!("[egress]\n{egress}\n"));
            assert!(
                matches!(
                    Config::load(Some(f.path()), Overrides::default()),
                    Err(ConfigError::Invalid(_))
                ),
                "{egress}"
            );
        }
        let f = file("[egress]\nmax_in_flight_per_namespace = 8\nmax_in_flight = 64\n");
        let c = Config::load(Some(f.path()), Overrides::default()).unwrap();
        assert_eq!(
            (c.egress.max_in_flight_per_namespace, c.egress.max_in_flight),
            (8, 64)
        );
    }

    #[test]
    fn wasm_section_is_read_and_checked() {
        let load = |text: &str| Config::load(Some(file(text).path()), Overrides::default());
        let c = load("data_dir = \"/d\"\n[wasm]\nmax_instances = 10000\nmax_running = 10000\nepoch_tick_ms = 5\ndisk_cache = false\nkeep_resident_kib = 16\n").unwrap();
        let engine = c.wasm.executor_config(&c.data_dir);
        assert_eq!((engine.max_instances, engine.max_running), (10_000, 10_000));
        assert_eq!(engine.epoch_tick, std::time::Duration::from_millis(5));
        assert_eq!(engine.keep_resident, 16 << 10);
        assert_eq!(engine.max_memory_mib, 512);
        assert_eq!(engine.cache_dir, None);
        let defaults = Config::default().wasm.executor_config(Path::new("/d"));
        assert_eq!(defaults.cache_dir, Some(PathBuf::from("/d/wasm-cache")));
        assert_eq!(defaults.epoch_tick, std::time::Duration::from_millis(1));
        for bad in [
            "[wasm]\nmax_running = 2000\n",
            "[wasm]\nmax_memory_mib = 1\nkeep_resident_kib = 2048\n",
            "[wasm]\nmax_instances = 0\n",
            "[wasm]\nmax_memory_mib = 8192\n",
            "[wasm]\nepoch_tick_ms = 0\n",
        ] {
            let err = load(bad).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid(_)), "{bad}: {err}");
            assert!(err.to_string().contains("[wasm]"), "{err}");
        }
        let err = load("[wasm]\npool = 1\n").unwrap_err();
        assert!(err.to_string().contains("pool"), "{err}");
    }

    #[test]
    fn js_engine_names_a_known_engine_this_build_has() {
        let load = |engine: &str| {
            let f = file(&format!("[isolates]\njs_engine = \"{engine}\"\n"));
            Config::load(Some(f.path()), Overrides::default())
        };
        assert_eq!(Config::default().isolates.js_engine, JsEngine::Quickjs);
        assert_eq!(
            load("quickjs").unwrap().isolates.js_engine,
            JsEngine::Quickjs
        );
        let err = load("spidermonkey").unwrap_err().to_string();
        assert!(
            err.contains(
                "unknown variant `spidermonkey`, expected one of `quickjs`, `v8`, `tiered`"
            ),
            "{err}"
        );
        for (engine, want) in [("v8", JsEngine::V8), ("tiered", JsEngine::Tiered)] {
            match load(engine) {
                Ok(c) if cfg!(feature = "v8") => assert_eq!(c.isolates.js_engine, want),
                Err(ConfigError::Invalid(why)) if !cfg!(feature = "v8") => {
                    assert!(why.contains("v8 feature"), "{why}")
                }
                other => panic!("{engine}: {other:?}"),
            }
        }
    }
}
