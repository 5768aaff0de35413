//! [`Settings`]: the configuration sections the API serves by (`[limits]`, `[http]`,
//! `[egress]`, `[metrics]`, `[admin]`), as the host's config file and environment set them.

use std::path::PathBuf;

use serde::Deserialize;
pub use shoal_core::throttle::LimitsConfig;

/// What the API, its server, the actions' egress and the metrics endpoint are configured
/// with. Cloned once at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// System-wide namespace limits (spec §2.1, §8).
    pub limits: LimitsConfig,
    /// Connection handling: timeouts and the connection limit.
    pub http: HttpConfig,
    /// Outbound network from actions (`fetch`, Node's `http` client).
    pub egress: EgressConfig,
    /// The Prometheus endpoint `GET /metrics`.
    pub metrics: MetricsConfig,
    /// The operator's routes (`GET /api/v1/nodes`).
    pub admin: AdminConfig,
}

/// The operator's routes (`[admin]`), shoal extensions outside OpenWhisk's API: refused (403)
/// unless a token is set, and then only for `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The bearer token of the admin routes; unset, they answer 403.
    pub token: Option<String>,
}

/// `GET /metrics` (`[metrics]`). Its series name namespaces and kinds, so it can be closed or
/// put behind a bearer token.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Whether `/metrics` is served at all (else it answers 404 like any unknown path).
    pub enabled: bool,
    /// When set, a scrape must send `Authorization: Bearer <token>` (else 401).
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            token: None,
        }
    }
}

/// Which addresses actions may reach (`[egress]`). By default the public internet and shoal's
/// own API host, never loopback, private, link-local or other special ranges (so an action
/// cannot probe the host's network or a cloud metadata service).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EgressConfig {
    /// Host names or IP addresses (as written in URLs, without port) actions may reach even
    /// though they resolve to a denied range, e.g. `["127.0.0.1"]` for a local test server.
    pub allow_hosts: Vec<String>,
    /// PEM files of certificate authorities trusted for `https` besides the public web roots
    /// shoal carries (Mozilla's, from the `webpki-roots` crate), e.g. a company CA.
    pub ca_files: Vec<PathBuf>,
    /// Most outbound requests one namespace's actions may have in flight at once (each holds
    /// a task and its buffers on the host); past it a request fails at once.
    pub max_in_flight_per_namespace: usize,
    /// Most outbound requests all actions may have in flight at once.
    pub max_in_flight: usize,
}

impl Default for EgressConfig {
    fn default() -> Self {
        EgressConfig {
            allow_hosts: Vec::new(),
            ca_files: Vec::new(),
            max_in_flight_per_namespace: 512,
            max_in_flight: 4_096,
        }
    }
}

/// Connection handling (`[http]`): how long a client may take and how many connections are
/// open at once. Beyond the limit new connections wait in the kernel's backlog.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers (from connect, or from the first
    /// byte of a later request on a kept-alive connection).
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body once its headers arrived (408 after).
    pub body_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may stay open with no request in progress.
    pub idle_timeout_secs: u64,
    /// Most connections open at once (also kept below the process's file descriptor limit).
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 60,
            idle_timeout_secs: 75,
            max_connections: 10_000,
        }
    }
}

impl HttpConfig {
    /// [`HttpConfig::header_read_timeout_secs`] as a duration.
    pub fn header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_read_timeout_secs)
    }

    /// [`HttpConfig::body_read_timeout_secs`] as a duration.
    pub fn body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_read_timeout_secs)
    }

    /// [`HttpConfig::idle_timeout_secs`] as a duration.
    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.idle_timeout_secs)
    }

    /// The connection limit in effect: `max_connections`, but leaving 256 file descriptors
    /// of the process's soft limit for the store, engines and logs.
    pub fn connection_limit(&self) -> usize {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given.
        let fds = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
        } else {
            1024
        };
        self.max_connections.min(fds.saturating_sub(256)).max(1)
    }
}
