//! What an executor is given: [`Invocation`] and its parts.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

/// An activation id: 32 lowercase hex characters (a random UUID without dashes).
/// Cheap to copy; lives as long as the activation record.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActivationId([u8; 32]);

impl ActivationId {
    /// A time-ordered id: 48 bits of epoch milliseconds, then 80 random bits (the caller
    /// picks the randomness source). Ids of later activations sort after earlier ones, so the
    /// activation log's indexes grow at their ends instead of being written all over.
    pub fn time_ordered(epoch_ms: u64, random: [u8; 10]) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&epoch_ms.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&random);
        Self::from_random(bytes)
    }

    /// Builds an id from 16 random bytes (the caller picks the randomness source).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        ActivationId(out)
    }

    /// Parses a client-supplied id with OpenWhisk's exact validation texts.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() != 32 {
            return Err(format!(
                "Activation id length is {} but must be 32.",
                s.chars().count()
            ));
        }
        let bytes = s.as_bytes();
        if !bytes
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        {
            return Err("The activation id is not valid.".to_string());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(bytes);
        Ok(ActivationId(out))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII hex digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for ActivationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ActivationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActivationId({})", self.as_str())
    }
}

/// An action's identity and code, shared and immutable. Built once per action version and
/// shared (`Arc`) by every invocation of that version; executors key their prepared-code
/// caches by [`ActionCode::digest`].
#[derive(Debug)]
pub struct ActionCode {
    /// Fully qualified name with a leading slash: `/ns/[pkg/]name`.
    pub fqn: String,
    /// Simple name (last path segment).
    pub name: String,
    /// Semantic version `M.m.p`.
    pub version: String,
    /// Resolved kind, e.g. `nodejs:20`.
    pub kind: String,
    /// Source text, or base64 when `binary`.
    pub code: Arc<str>,
    /// Whether `code` is base64 (zip, wasm, …).
    pub binary: bool,
    /// Entry point name (`main` unless `exec.main` says otherwise).
    pub main: String,
    /// Digest of (kind, main, code, image): identical code shares prepared artefacts.
    pub digest: [u8; 32],
    /// The container image of a `blackbox` action (`exec.image`); `None` for every other kind.
    pub image: Option<String>,
    /// Which container hosts may run it (OpenWhisk's invoker tags).
    pub host_tags: HostTags,
}

/// The container hosts an action may run on, by OpenWhisk's annotations
/// `invoker-resources` (tags a host must all carry) and `invoker-resources-strict-policy`
/// (`false`: when no host carrying them is up, any host will do). Isolates ignore them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTags {
    /// Tags a host must all carry; empty: any host.
    pub tags: Vec<String>,
    /// Whether the activation fails, rather than runs on a host without the tags, when no
    /// host carrying them is up (OpenWhisk's default: strict).
    pub strict: bool,
}

impl Default for HostTags {
    fn default() -> Self {
        HostTags {
            tags: Vec::new(),
            strict: true,
        }
    }
}

/// The annotation naming the tags a container host must carry to run an action.
pub const INVOKER_RESOURCES: &str = "invoker-resources";
/// The annotation saying whether [`INVOKER_RESOURCES`] may be ignored when no host has them.
pub const INVOKER_RESOURCES_STRICT: &str = "invoker-resources-strict-policy";

impl HostTags {
    /// The tags of annotation values as OpenWhisk takes them: `resources` an array of strings
    /// (or one string), `strict` a boolean or `"true"`/`"false"` (strict when absent or
    /// anything else). Blank and repeated tags are dropped.
    pub fn from_annotations(resources: Option<&Value>, strict: Option<&Value>) -> Self {
        let mut tags: Vec<String> = match resources {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|t| t.trim().to_string())
                .collect(),
            Some(Value::String(one)) => vec![one.trim().to_string()],
            _ => Vec::new(),
        };
        tags.retain(|t| !t.is_empty());
        tags.sort();
        tags.dedup();
        let lax = matches!(strict, Some(Value::Bool(false)))
            || strict
                .and_then(Value::as_str)
                .is_some_and(|s| s.trim() == "false");
        HostTags { tags, strict: !lax }
    }
}

/// Per-action limits as stored on the action (spec §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit of one activation, in milliseconds.
    pub timeout_ms: u64,
    /// Memory limit, in MB.
    pub memory_mb: u64,
    /// Log limit, in MB (0 disables log collection).
    pub logs_mb: u64,
    /// Activations allowed at once in one instance.
    pub concurrency: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 60_000,
            memory_mb: 256,
            logs_mb: 10,
            concurrency: 1,
        }
    }
}

impl Limits {
    /// The log limit in bytes.
    pub fn log_bytes(&self) -> usize {
        (self.logs_mb as usize) * 1024 * 1024
    }
}

/// The `__OW_*` environment an action sees (spec §7.2/§7.3). All strings.
#[derive(Debug, Clone, Default)]
pub struct OwEnv {
    /// `__OW_API_HOST`.
    pub api_host: String,
    /// `__OW_API_KEY`, only when the action's `provide-api-key` annotation is truthy.
    pub api_key: Option<String>,
    /// `__OW_NAMESPACE`: the invoking namespace.
    pub namespace: String,
    /// `__OW_ACTION_NAME`: `/ns/[pkg/]name`.
    pub action_name: String,
    /// `__OW_ACTION_VERSION`.
    pub action_version: String,
    /// `__OW_ACTIVATION_ID`.
    pub activation_id: String,
    /// `__OW_TRANSACTION_ID`.
    pub transaction_id: String,
    /// `__OW_DEADLINE`: epoch milliseconds, as text.
    pub deadline: String,
}

impl OwEnv {
    /// The variables as `(name, value)` pairs in a stable order; `__OW_API_KEY` only when set.
    /// Allocates nothing (it runs on every warm invoke).
    pub fn vars(&self) -> impl Iterator<Item = (&'static str, &str)> + Clone {
        [
            ("__OW_API_HOST", self.api_host.as_str()),
            ("__OW_NAMESPACE", self.namespace.as_str()),
            ("__OW_ACTION_NAME", self.action_name.as_str()),
            ("__OW_ACTION_VERSION", self.action_version.as_str()),
            ("__OW_ACTIVATION_ID", self.activation_id.as_str()),
            ("__OW_TRANSACTION_ID", self.transaction_id.as_str()),
            ("__OW_DEADLINE", self.deadline.as_str()),
        ]
        .into_iter()
        .chain(self.api_key.as_deref().map(|k| ("__OW_API_KEY", k)))
    }
}

/// Everything an executor needs to run one activation, and nothing else. Moved into the
/// executor; lives until the outcome is produced.
#[derive(Debug)]
pub struct Invocation {
    /// Id of this activation.
    pub activation_id: ActivationId,
    /// The action's identity and code.
    pub action: Arc<ActionCode>,
    /// Isolation key: activations with different keys never share an engine heap (the
    /// invoking namespace; OpenWhisk never reuses a container across namespaces).
    pub tenant: Arc<str>,
    /// Arguments: action defaults merged with the payload (payload wins), minus `init` params.
    pub params: Map<String, Value>,
    /// Parameters marked `init: true`, handed to initialisation rather than to each run.
    pub init_env: Map<String, Value>,
    /// The `__OW_*` environment.
    pub env: OwEnv,
    /// The action's limits.
    pub limits: Limits,
    /// When the activation must end (now + `limits.timeout_ms` at dispatch).
    pub deadline: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_time_and_parse() {
        let a = ActivationId::time_ordered(1_700_000_000_000, [0xff; 10]);
        let b = ActivationId::time_ordered(1_700_000_000_001, [0; 10]);
        assert!(a.as_str() < b.as_str());
        assert_eq!(&a.as_str()[..12], "018bcfe56800");
        assert_eq!(ActivationId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn parse_uses_openwhisk_texts() {
        assert_eq!(
            ActivationId::parse("abc").unwrap_err(),
            "Activation id length is 3 but must be 32."
        );
        assert_eq!(
            ActivationId::parse(&"g".repeat(32)).unwrap_err(),
            "The activation id is not valid."
        );
    }

    #[test]
    fn host_tags_read_openwhisk_annotations() {
        use serde_json::json;
        let t = HostTags::from_annotations(Some(&json!(["gpu", " big ", "gpu", ""])), None);
        assert_eq!(t.tags, ["big", "gpu"]);
        assert!(t.strict, "strict unless told otherwise");
        let lax = HostTags::from_annotations(Some(&json!("gpu")), Some(&json!("false")));
        assert_eq!((lax.tags, lax.strict), (vec!["gpu".to_string()], false));
        assert!(!HostTags::from_annotations(None, Some(&json!(false))).strict);
        assert!(HostTags::from_annotations(Some(&json!(7)), Some(&json!("no"))).strict);
        assert_eq!(HostTags::default(), HostTags::from_annotations(None, None));
    }
}
