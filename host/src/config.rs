//! Typed configuration: defaults, then a TOML file, then environment and flags (the last one
//! set wins). Validated once at start-up; unknown keys are errors. Only the binary reads files,
//! env and flags; everything else receives a [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `shoal serve` can be told. Lives for the whole process.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the REST API listens on. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory holding the SQLite store (created if missing).
    pub data_dir: PathBuf,
    /// Public base URL handed to actions as `__OW_API_HOST` (default: `http://<listen>`).
    pub api_host: Option<String>,
    /// System-wide namespace limits (spec §2.1, §8).
    pub limits: LimitsConfig,
    /// JS isolate engine settings.
    pub isolates: IsolatesConfig,
}

/// Namespace limits and action-limit bounds (OpenWhisk deploy defaults).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Action invokes per minute per namespace.
    pub invocations_per_minute: u64,
    /// Activations in flight per namespace.
    pub concurrent_invocations: u64,
    /// Trigger fires per minute per namespace.
    pub fires_per_minute: u64,
    /// Largest invoke payload, in bytes.
    pub max_payload_bytes: usize,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3233)),
            data_dir: PathBuf::from(".shoal"),
            api_host: None,
            limits: LimitsConfig::default(),
            isolates: IsolatesConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            invocations_per_minute: 60,
            concurrent_invocations: 30,
            fires_per_minute: 60,
            max_payload_bytes: 1_048_576,
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
    /// `--api-host` / `SHOAL_API_HOST`.
    pub api_host: Option<String>,
}

impl Config {
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
        if let Some(h) = &self.api_host
            && !(h.starts_with("http://") || h.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "api_host must start with http:// or https://, got '{h}'"
            )));
        }
        Ok(())
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
    }
}
