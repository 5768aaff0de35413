//! What an executor reports back: [`Outcome`] and its closed set of [`Failure`]s.

use std::time::SystemTime;

use serde_json::Value;

/// How an activation failed. Closed set: the host maps each variant to an OpenWhisk status
/// and error text in exactly one place.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The action ran and returned an object with an `error` field; holds that field's value.
    ApplicationError(Value),
    /// The action misbehaved (threw, returned a non-object, failed to initialise…); holds the
    /// value of the `error` field of the result (usually a string).
    DeveloperError(Value),
    /// The activation hit `limits.timeout` (during initialisation when `init` is true).
    Timeout {
        /// Whether the limit was hit while initialising.
        init: bool,
    },
    /// The activation exhausted `limits.memory`.
    MemoryExceeded,
    /// The platform failed; holds a message for the `whisk internal error` result.
    Internal(String),
}

/// The result of one activation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The action's result (a JSON object or array) or how it failed.
    pub result: Result<Value, Failure>,
    /// Formatted activation log lines (see [`crate::format_log_line`]).
    pub logs: Vec<String>,
    /// When initialisation (cold start) or, on a warm start, the run began.
    pub start: SystemTime,
    /// When the run ended.
    pub end: SystemTime,
    /// Cold-start cost in milliseconds, `None` on a warm start.
    pub init_ms: Option<u64>,
    /// Extra `(key, value)` activation annotations the executor wants recorded.
    pub annotations: Vec<(String, Value)>,
}

impl Outcome {
    /// An outcome that ends now: `result` and `logs` of a run that began at `start` (with
    /// `init_ms` on a cold start) and no extra annotations.
    pub fn finished(
        result: Result<Value, Failure>,
        logs: Vec<String>,
        start: SystemTime,
        init_ms: Option<u64>,
    ) -> Self {
        Outcome {
            result,
            logs,
            start,
            end: SystemTime::now(),
            init_ms,
            annotations: Vec::new(),
        }
    }

    /// An outcome for a failure that happened before anything ran (no logs, no init).
    pub fn failed(failure: Failure) -> Self {
        let now = SystemTime::now();
        Outcome {
            result: Err(failure),
            logs: Vec::new(),
            start: now,
            end: now,
            init_ms: None,
            annotations: Vec::new(),
        }
    }
}

/// Why [`crate::Executor::prepare`] refused an action's code. The message is shown to the
/// user in a 400 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PrepareError(pub String);

/// Density and health figures an executor reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorStats {
    /// Executor name.
    pub name: &'static str,
    /// Instances (isolates, containers) currently resident.
    pub resident: u64,
    /// Bytes attributed to resident instances (engine-reported, not RSS).
    pub resident_bytes: u64,
    /// Cold starts since the process started.
    pub cold_starts: u64,
    /// Activations completed since the process started.
    pub activations: u64,
    /// Instances evicted (idle, memory pressure, failure).
    pub evictions: u64,
}
