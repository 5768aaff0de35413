//! What a running shoal is doing, for Prometheus: `GET /metrics` answers in the OpenMetrics
//! text format.
//!
//! Events are reported through [`Observer`] (defined by the core): the controller reports each finished activation,
//! throttle refusal and durable-commit wait, the HTTP server each answered request. Its
//! methods do nothing by default ([`Quiet`](crate::observer::Quiet)), so a controller built without metrics pays
//! nothing. [`Metrics`] is the observer that counts them. Figures that already live with
//! their owners (the engines' resident isolates, containers and WASM instances, the memory
//! budget, the activation log's queue) are read from them at each scrape instead.
//!
//! Cost: an activation or a request adds one counter and one histogram sample, each a hash
//! lookup in a sharded map and a few atomic adds. Series are bounded: namespaces are created
//! by an administrator, kinds come from the runtime manifest, and routes are the fixed
//! templates of the API's route table, never raw paths.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use foldhash::fast::RandomState;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use shoal_router::RoutingTable;
use shoal_store::Store;

use crate::memory::MemoryBudget;
use crate::observer::{Limit, Observer};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActivationLabels {
    namespace: String,
    kind: String,
    status: &'static str,
}

/// The series of one kind's activations: handles into the families, found by `&str` without
/// building label sets (which allocate) on every activation.
#[derive(Debug)]
struct KindSeries {
    duration: Histogram,
    init: Histogram,
    /// Activation counters of this kind, by namespace, one per status of [`STATUSES`].
    counters: DashMap<Box<str>, [Counter; 4], RandomState>,
}

/// The statuses an activation record can end with (`response.status`).
const STATUSES: [&str; 4] = [
    "success",
    "application error",
    "action developer error",
    "whisk internal error",
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    namespace: String,
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EngineLabel {
    engine: &'static str,
}

/// A container host.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
    architecture: String,
}

/// A container host's containers in one state (`busy`, `warm`, `paused`, `prewarm`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostStateLabel {
    host: String,
    architecture: String,
    state: &'static str,
}

/// Seconds from 100 µs to about 105 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 21))
}

/// The counting [`Observer`], and the scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    activations: Family<ActivationLabels, Counter>,
    durations: Family<KindLabel, Histogram>,
    inits: Family<KindLabel, Histogram>,
    throttled: Family<ThrottleLabels, Counter>,
    commits: Histogram,
    requests: Family<RequestLabels, Counter>,
    latencies: Family<RouteLabel, Histogram>,
    /// Handles into `activations`, `durations` and `inits`, by kind.
    kinds: DashMap<Box<str>, Arc<KindSeries>, RandomState>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty counters, registered under the prefix `shoal`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("shoal");
        let activations = Family::<ActivationLabels, Counter>::default();
        let durations =
            Family::<KindLabel, Histogram>::new_with_constructor(latency_buckets as fn() -> _);
        let inits =
            Family::<KindLabel, Histogram>::new_with_constructor(latency_buckets as fn() -> _);
        let throttled = Family::<ThrottleLabels, Counter>::default();
        let commits = latency_buckets();
        let requests = Family::<RequestLabels, Counter>::default();
        let latencies =
            Family::<RouteLabel, Histogram>::new_with_constructor(latency_buckets as fn() -> _);
        registry.register(
            "activations",
            "Activations ended, by namespace, kind and response status",
            activations.clone(),
        );
        registry.register(
            "activation_duration_seconds",
            "How long activations ran, by kind",
            durations.clone(),
        );
        registry.register(
            "activation_init_seconds",
            "Initialisation time of activations that started cold, by kind",
            inits.clone(),
        );
        registry.register(
            "throttled",
            "Calls refused with 429, by namespace and the limit they were over",
            throttled.clone(),
        );
        registry.register(
            "activation_commit_wait_seconds",
            "How long blocking callers waited for their activation's record to be durable",
            commits.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template",
            latencies.clone(),
        );
        Metrics {
            registry,
            activations,
            durations,
            inits,
            throttled,
            commits,
            requests,
            latencies,
            kinds: DashMap::default(),
        }
    }

    /// The series of `kind`, created on its first activation.
    fn kind(&self, kind: &str) -> Arc<KindSeries> {
        if let Some(series) = self.kinds.get(kind) {
            return series.clone();
        }
        let label = KindLabel {
            kind: kind.to_string(),
        };
        let series = Arc::new(KindSeries {
            duration: self.durations.get_or_create(&label).clone(),
            init: self.inits.get_or_create(&label).clone(),
            counters: DashMap::default(),
        });
        self.kinds
            .entry(kind.into())
            .or_insert(series)
            .value()
            .clone()
    }

    /// The container hosts' figures, as `GET /api/v1/nodes` shows them.
    fn render_hosts(registry: &mut Registry, table: &RoutingTable) {
        let host_gauge = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<HostLabel, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let containers = Family::<HostStateLabel, Gauge>::default();
        registry.register(
            "container_host_containers",
            "Containers on the host, by state (busy, warm, paused, prewarm)",
            containers.clone(),
        );
        let up = host_gauge(
            registry,
            "container_host_up",
            "1 when the container host answers",
        );
        let capacity = host_gauge(
            registry,
            "container_host_capacity_bytes",
            "Memory the container host may give its containers",
        );
        let in_use = host_gauge(
            registry,
            "container_host_in_use_bytes",
            "Memory held by the container host's live containers",
        );
        for executor in table.executors() {
            for h in executor.hosts() {
                let host = HostLabel {
                    host: h.name.clone(),
                    architecture: h.architecture.clone(),
                };
                let label = |state| HostStateLabel {
                    host: h.name.clone(),
                    architecture: h.architecture.clone(),
                    state,
                };
                up.get_or_create(&host).set(i64::from(h.up));
                capacity
                    .get_or_create(&host)
                    .set(gauge(h.capacity_mb << 20));
                in_use.get_or_create(&host).set(gauge(h.in_use_mb << 20));
                for (state, n) in [
                    ("busy", h.busy),
                    ("warm", h.warm),
                    ("paused", h.paused),
                    ("prewarm", h.prewarm),
                ] {
                    containers.get_or_create(&label(state)).set(gauge(n));
                }
            }
        }
    }

    /// The scrape: every counter, then what the engines, the memory budget and the
    /// activation log report right now, in the OpenMetrics text format.
    pub fn render(&self, table: &RoutingTable, memory: &MemoryBudget, store: &dyn Store) -> String {
        let mut now = Registry::with_prefix("shoal");
        let engine_gauge = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<EngineLabel, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let resident = engine_gauge(
            &mut now,
            "resident_instances",
            "Isolates, WASM instances or containers resident, by engine",
        );
        let resident_bytes = engine_gauge(
            &mut now,
            "resident_bytes",
            "Memory the engine attributes to its resident instances, by engine",
        );
        let engine_counter = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<EngineLabel, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let cold = engine_counter(&mut now, "cold_starts", "Cold starts, by engine");
        let runs = engine_counter(
            &mut now,
            "engine_activations",
            "Activations an engine completed, cold or warm, by engine",
        );
        let evictions = engine_counter(&mut now, "evictions", "Instances evicted, by engine");
        for executor in table.executors() {
            let stats = executor.stats();
            let engine = EngineLabel { engine: stats.name };
            resident.get_or_create(&engine).set(gauge(stats.resident));
            resident_bytes
                .get_or_create(&engine)
                .set(gauge(stats.resident_bytes));
            cold.get_or_create(&engine).inc_by(stats.cold_starts);
            runs.get_or_create(&engine).inc_by(stats.activations);
            evictions.get_or_create(&engine).inc_by(stats.evictions);
        }
        Self::render_hosts(&mut now, table);
        let figures = memory.figures();
        let plain_gauge = |registry: &mut Registry, name: &str, help: &str, value: u64| {
            let g = Gauge::<i64>::default();
            g.set(gauge(value));
            registry.register(name, help, g);
        };
        plain_gauge(
            &mut now,
            "memory_budget_bytes",
            "The isolates' memory budget",
            u64::from(figures.budget_mib) << 20,
        );
        plain_gauge(
            &mut now,
            "memory_reserved_bytes",
            "Memory reserved by running activations",
            u64::from(figures.reserved_mib) << 20,
        );
        plain_gauge(
            &mut now,
            "memory_waiting_activations",
            "Activations waiting for memory",
            figures.waiting,
        );
        let log = store.writer_stats();
        plain_gauge(
            &mut now,
            "activation_log_pending",
            "Activation records queued for the log and not yet committed",
            log.pending,
        );
        let plain_counter = |registry: &mut Registry, name: &str, help: &str, value: u64| {
            let c = Counter::<u64>::default();
            c.inc_by(value);
            registry.register(name, help, c);
        };
        plain_counter(
            &mut now,
            "activation_log_records",
            "Activation records committed",
            log.records,
        );
        plain_counter(
            &mut now,
            "activation_log_batches",
            "Transactions the activation log committed",
            log.batches,
        );
        plain_counter(
            &mut now,
            "activation_log_failed",
            "Activation records the store refused",
            log.failed,
        );
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &now))
            .and_then(|()| encode_eof(&mut text));
        text
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Observer for Metrics {
    fn activation(
        &self,
        namespace: &str,
        kind: &str,
        status: &'static str,
        duration: Duration,
        init: Option<Duration>,
    ) {
        let series = self.kind(kind);
        series.duration.observe(duration.as_secs_f64());
        if let Some(init) = init {
            series.init.observe(init.as_secs_f64());
        }
        let Some(at) = STATUSES.iter().position(|s| *s == status) else {
            return;
        };
        if let Some(counters) = series.counters.get(namespace) {
            counters[at].inc();
            return;
        }
        let counters = STATUSES.map(|status| {
            self.activations
                .get_or_create(&ActivationLabels {
                    namespace: namespace.to_string(),
                    kind: kind.to_string(),
                    status,
                })
                .clone()
        });
        counters[at].inc();
        series.counters.insert(namespace.into(), counters);
    }

    fn throttled(&self, namespace: &str, limit: Limit) {
        self.throttled
            .get_or_create(&ThrottleLabels {
                namespace: namespace.to_string(),
                limit: limit.as_str(),
            })
            .inc();
    }

    fn committed(&self, waited: Duration) {
        self.commits.observe(waited.as_secs_f64());
    }

    fn request(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latencies
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_events_appear_in_the_exposition() {
        let m = Metrics::new();
        m.activation(
            "guest",
            "nodejs:20",
            "success",
            Duration::from_millis(3),
            Some(Duration::from_micros(250)),
        );
        m.throttled("guest", Limit::ConcurrentInvocations);
        m.request("/ping", 200, Duration::from_micros(80));
        let mut text = String::new();
        encode_registry(&mut text, &m.registry).unwrap();
        assert!(text.contains(
            r#"shoal_activations_total{namespace="guest",kind="nodejs:20",status="success"} 1"#
        ));
        assert!(text.contains(r#"shoal_activation_init_seconds_count{kind="nodejs:20"} 1"#));
        assert!(text.contains(
            r#"shoal_throttled_total{namespace="guest",limit="concurrent_invocations"} 1"#
        ));
        assert!(text.contains(r#"shoal_http_requests_total{route="/ping",status="200"} 1"#));
    }
}
