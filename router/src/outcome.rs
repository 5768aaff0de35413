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

/// Largest action result, in bytes (spec §8.2): a larger one becomes the application error
/// of [`Failure::result_too_large`].
pub const MAX_RESULT_BYTES: usize = 1_048_576;

/// How much of an oversized result its error text quotes, in bytes (at most).
const OVERSIZED_HEAD_BYTES: usize = 1024;

impl Failure {
    /// The application error of a result `length` bytes long, more than
    /// [`MAX_RESULT_BYTES`], whose text begins with `head` (spec §3.4): OpenWhisk's text,
    /// quoting the first KiB of the result. The one place that writes this text; costs one
    /// short string.
    pub fn result_too_large(length: usize, head: &[u8]) -> Failure {
        let mut cut = head.len().min(OVERSIZED_HEAD_BYTES);
        // Back up to a character boundary (never inside a UTF-8 sequence).
        while cut < head.len() && cut > 0 && head[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        Failure::ApplicationError(Value::String(format!(
            "The action produced a response that exceeded the allowed length: {length} > {MAX_RESULT_BYTES} bytes. The truncated response was: {}",
            String::from_utf8_lossy(&head[..cut])
        )))
    }
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
        Self::between(result, logs, start, SystemTime::now(), init_ms)
    }

    /// [`Outcome::finished`] with the end given, for an executor that has already read the
    /// clock as the run ended (a clock read is a noticeable share of a warm invoke).
    pub fn between(
        result: Result<Value, Failure>,
        logs: Vec<String>,
        start: SystemTime,
        end: SystemTime,
        init_ms: Option<u64>,
    ) -> Self {
        Outcome {
            result,
            logs,
            start,
            end,
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
    /// Workers handed to a fresh thread because a run held them past the time slice.
    pub hand_offs: u64,
}

/// One machine an executor places activations on (a container host), with what it has and
/// what it holds now; `GET /api/v1/nodes` lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostReport {
    /// The host's configured name.
    pub name: String,
    /// What drives it (`docker`, `kubernetes`).
    pub driver: &'static str,
    /// Where it is reached (the engine endpoint).
    pub endpoint: String,
    /// Its CPU architecture, in Go's names (`amd64`, `arm64`, `ppc64le`, …).
    pub architecture: String,
    /// Its operating system (`linux`).
    pub os: String,
    /// CPUs and memory (bytes) as its engine reports them.
    pub cpus: u64,
    /// Memory, in bytes, as its engine reports it.
    pub memory_bytes: u64,
    /// Tags from the config (what `invoker-resources` annotations ask for).
    pub tags: Vec<String>,
    /// Labels its engine carries.
    pub labels: Vec<String>,
    /// MB of containers it may hold at once.
    pub capacity_mb: u64,
    /// MB held by its live containers.
    pub in_use_mb: u64,
    /// Containers running an activation.
    pub busy: u64,
    /// Idle containers kept warm for their action, unpaused.
    pub warm: u64,
    /// Idle warm containers that are paused.
    pub paused: u64,
    /// Prewarmed containers not yet given an action.
    pub prewarm: u64,
    /// Whether it answered its last health check.
    pub up: bool,
    /// Whether its containers can be paused.
    pub can_pause: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_results_quote_their_first_kib_whole_characters_only() {
        let head = format!("{{\"s\":\"{}é", "a".repeat(1017));
        assert_eq!(head.len(), 1025, "é straddles the 1 KiB cut");
        let Failure::ApplicationError(Value::String(text)) =
            Failure::result_too_large(2_000_000, head.as_bytes())
        else {
            panic!("an application error with a text")
        };
        assert_eq!(
            text,
            format!(
                "The action produced a response that exceeded the allowed length: 2000000 > 1048576 bytes. The truncated response was: {{\"s\":\"{}",
                "a".repeat(1017)
            )
        );
    }
}
