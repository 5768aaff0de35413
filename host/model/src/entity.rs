//! The OpenWhisk entity model as shoal stores and returns it: names, semantic versions,
//! parameters, annotations, action limits and actions, with the create/update rules of spec
//! §2.3 and §3. Pure logic; no I/O.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::messages;

/// The kind of sequence actions, whose `exec` lists components instead of code.
pub const SEQUENCE_KIND: &str = "sequence";

/// Checks an entity name against OpenWhisk's rule (`\A([\w]|[\w][\w@ .&-]{0,254}[\w@.&-])\z`).
pub fn valid_entity_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if len > 256 {
        return Err(format!("Name segement longer than allowed: {len} > 256."));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let inner = |c: char| word(c) || matches!(c, '@' | ' ' | '.' | '&' | '-');
    let last = |c: char| word(c) || matches!(c, '@' | '.' | '&' | '-');
    let chars: Vec<char> = name.chars().collect();
    let ok = match chars.as_slice() {
        [] => false,
        [c] => word(*c),
        [first, mid @ .., end] => word(*first) && mid.iter().all(|c| inner(*c)) && last(*end),
    };
    if ok {
        Ok(())
    } else {
        Err(messages::ILLEGAL_ENTITY_NAME.to_string())
    }
}

/// Next patch version: `0.0.1` → `0.0.2`. Unparseable versions restart at `0.0.1`.
pub fn bump_patch(version: &str) -> String {
    let parts: Vec<u64> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [major, minor, patch] => format!("{major}.{minor}.{}", patch.saturating_add(1)),
        _ => "0.0.1".to_string(),
    }
}

/// Whether `v` is a valid `M.m.p` version string (each part a number that fits 64 bits).
pub fn valid_semver(v: &str) -> bool {
    semver(v).as_deref() == Some(v)
}

/// `v` as an `M.m.p` version, completed as OpenWhisk completes it (`1` and `1.0` are
/// `1.0.0`): one to three dot-separated numbers that fit 64 bits, not all zero. `None`
/// when it is not a version.
pub fn semver(v: &str) -> Option<String> {
    let mut parts = [0u64; 3];
    for (i, part) in v.split('.').enumerate() {
        let slot = parts.get_mut(i)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    let [major, minor, patch] = parts;
    (parts != [0, 0, 0]).then(|| format!("{major}.{minor}.{patch}"))
}

/// The `version` field of an entity body: absent, or a version [`semver`] completes. `Err`
/// is the 400 text.
pub fn version_field(body: &Map<String, Value>) -> Result<Option<String>, String> {
    match body.get("version") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) => semver(v)
            .map(Some)
            .ok_or_else(|| format!("{v:?} is not a valid semantic version")),
        Some(v) => Err(format!("{v} is not a valid semantic version")),
    }
}

/// One `{key, value}` of a parameter or annotation list; `init: true` marks a parameter the
/// action receives at initialisation only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// Its value (`null` when the list gave none).
    #[serde(default)]
    pub value: Value,
    /// Whether it is an init parameter; written only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
}

impl KeyValue {
    /// A plain `{key, value}`.
    pub fn new(key: &str, value: Value) -> Self {
        KeyValue {
            key: key.to_string(),
            value,
            init: false,
        }
    }
}

/// Validates a `[{key, value, …}]` list (parameters or annotations) and returns it with
/// duplicate keys collapsed (last wins), keeping first-seen order.
pub fn key_value_list(v: &Value, what: &str) -> Result<Vec<KeyValue>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("{what} must be an array of {{key, value}} objects"))?;
    let mut out: Vec<KeyValue> = Vec::with_capacity(items.len());
    // Where each key sits in `out`: one hash lookup per item, so a list of many thousands
    // of parameters costs linear time, not quadratic.
    let mut slots: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for item in items {
        let obj = item
            .as_object()
            .ok_or_else(|| format!("{what} must be an array of {{key, value}} objects"))?;
        let key = obj
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("each of {what} must have a string 'key'"))?;
        let entry = KeyValue {
            key: key.to_string(),
            value: obj.get("value").cloned().unwrap_or(Value::Null),
            init: obj.get("init").and_then(Value::as_bool) == Some(true),
        };
        match slots.get(key) {
            Some(&slot) => out[slot] = entry,
            None => {
                slots.insert(key.to_string(), out.len());
                out.push(entry);
            }
        }
    }
    Ok(out)
}

/// Looks up `key` in a `[{key, value}]` list.
pub fn lookup<'a>(list: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    list.iter().find(|e| e.key == key).map(|e| &e.value)
}

/// The list as a map from key to value (later keys win).
pub fn to_map(list: &[KeyValue]) -> Map<String, Value> {
    list.iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

/// OpenWhisk's truthiness for annotation values: `true`, non-zero numbers and non-empty
/// strings are truthy.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
        _ => false,
    }
}

/// Merges `new` over `old` (new wins per key), after removing `remove` keys from `old`.
pub fn merge_annotations(old: &[KeyValue], new: &[KeyValue], remove: &[String]) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = old
        .iter()
        .filter(|e| !remove.contains(&e.key))
        .cloned()
        .collect();
    set_all(&mut out, new);
    out
}

/// Sets each `{key, value}` of `new` in `list`, replacing an existing key in place.
pub fn set_all(list: &mut Vec<KeyValue>, new: &[KeyValue]) {
    for e in new {
        match list.iter_mut().find(|x| x.key == e.key) {
            Some(slot) => *slot = e.clone(),
            None => list.push(e.clone()),
        }
    }
}

/// Bounds for action limits (spec §3.2), the same for every namespace here.
#[derive(Debug, Clone, Copy)]
pub struct LimitBounds {
    /// Timeout bounds, ms.
    pub timeout: (u64, u64),
    /// Memory bounds, MB.
    pub memory: (u64, u64),
    /// Log bounds, MB.
    pub logs: (u64, u64),
    /// Concurrency bounds.
    pub concurrency: (u64, u64),
}

/// OpenWhisk's default bounds.
pub const LIMIT_BOUNDS: LimitBounds = LimitBounds {
    timeout: (100, 300_000),
    memory: (128, 512),
    logs: (0, 10),
    concurrency: (1, 1),
};

/// Action limits as stored: `{timeout, memory, logs, concurrency}` (a missing field takes
/// its default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ActionLimits {
    /// ms.
    pub timeout: u64,
    /// MB.
    pub memory: u64,
    /// MB.
    pub logs: u64,
    /// Activations per instance.
    pub concurrency: u64,
}

impl Default for ActionLimits {
    fn default() -> Self {
        ActionLimits {
            timeout: 60_000,
            memory: 256,
            logs: 10,
            concurrency: 1,
        }
    }
}

impl ActionLimits {
    /// Applies a PUT body's `limits` (any subset) over `self`, validating each given field
    /// with OpenWhisk's texts.
    pub fn merged(self, given: &Value) -> Result<Self, String> {
        let obj = given
            .as_object()
            .ok_or_else(|| messages::malformed("limits must be an object"))?;
        let whole = |k: &str, what: &str| -> Result<Option<u64>, String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                    messages::malformed(&format!("{what} limit must be whole number"))
                }),
            }
        };
        let mut out = self;
        if let Some(t) = whole("timeout", "time")? {
            check(t, LIMIT_BOUNDS.timeout, "duration", "milliseconds")?;
            out.timeout = t;
        }
        if let Some(m) = whole("memory", "memory")? {
            check(m, LIMIT_BOUNDS.memory, "memory size", "MB")?;
            out.memory = m;
        }
        if let Some(l) = whole("logs", "log")? {
            check(l, LIMIT_BOUNDS.logs, "log size", "MB")?;
            out.logs = l;
        }
        if let Some(c) = whole("concurrency", "concurrency")? {
            check(c, LIMIT_BOUNDS.concurrency, "concurrency", "")?;
            out.concurrency = c;
        }
        Ok(out)
    }

    /// The router's view of these limits.
    pub fn to_router(self) -> shoal_router::Limits {
        shoal_router::Limits {
            timeout_ms: self.timeout,
            memory_mb: self.memory,
            logs_mb: self.logs,
            concurrency: self.concurrency,
        }
    }
}

fn check(v: u64, (min, max): (u64, u64), what: &str, unit: &str) -> Result<(), String> {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    if v < min {
        Err(format!(
            "{what} {v}{unit} below allowed threshold of {min}{unit}"
        ))
    } else if v > max {
        Err(format!(
            "{what} {v}{unit} exceeds allowed threshold of {max}{unit}"
        ))
    } else {
        Ok(())
    }
}

/// OpenWhisk's rule for `exec.binary`: trimmed code is non-empty, a multiple of 4 long and
/// entirely base64.
pub fn looks_base64(code: &str) -> bool {
    let t = code.trim();
    if t.is_empty() || !t.len().is_multiple_of(4) {
        return false;
    }
    let body = t.trim_end_matches('=');
    t.len() - body.len() <= 2
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entity_names() {
        for ok in ["a", "hello", "with space", "a.b-c@d&e", "_x"] {
            assert!(valid_entity_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", " a", "a ", "a/b", "ä", "-a"] {
            assert!(valid_entity_name(bad).is_err(), "{bad}");
        }
        let long = "a".repeat(257);
        assert_eq!(
            valid_entity_name(&long).unwrap_err(),
            "Name segement longer than allowed: 257 > 256."
        );
    }

    #[test]
    fn versions() {
        assert_eq!(bump_patch("0.0.1"), "0.0.2");
        assert_eq!(bump_patch("1.2.9"), "1.2.10");
        assert!(valid_semver("1.0.0"));
        assert!(!valid_semver("1.0"));
        for (given, completed) in [
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("0.2", "0.2.0"),
            ("3.4.5", "3.4.5"),
        ] {
            assert_eq!(semver(given).as_deref(), Some(completed), "{given}");
        }
        for bad in [
            "0.0.0",
            "0",
            "",
            "1.2.3.4",
            "1..2",
            "1.a",
            "-1.0",
            " 1.0",
            "1.0.18446744073709551616",
        ] {
            assert_eq!(semver(bad), None, "{bad:?}");
        }
        let body = |v: Value| json!({ "version": v }).as_object().unwrap().clone();
        assert_eq!(version_field(&body(json!("1.0"))), Ok(Some("1.0.0".into())));
        assert_eq!(version_field(&body(Value::Null)), Ok(None));
        assert_eq!(
            version_field(&body(json!("0.0.0"))),
            Err("\"0.0.0\" is not a valid semantic version".into())
        );
        assert_eq!(
            version_field(&body(json!(1.0))),
            Err("1.0 is not a valid semantic version".into())
        );
    }

    #[test]
    fn key_values_collapse_duplicates_and_keep_init() {
        let v =
            json!([{"key":"a","value":1},{"key":"b","value":2,"init":true},{"key":"a","value":3}]);
        let out = key_value_list(&v, "parameters").unwrap();
        assert_eq!(
            serde_json::to_value(out).unwrap(),
            json!([{"key":"a","value":3}, {"key":"b","value":2,"init":true}])
        );
        assert!(key_value_list(&json!({"a":1}), "parameters").is_err());
    }

    #[test]
    fn annotation_merge_and_delete() {
        let kv = |k: &str, v: i64| KeyValue::new(k, json!(v));
        let old = vec![kv("a", 1), kv("b", 2)];
        let new = vec![kv("b", 3), kv("c", 4)];
        let out = merge_annotations(&old, &new, &["a".to_string()]);
        assert_eq!(out, vec![kv("b", 3), kv("c", 4)]);
    }

    #[test]
    fn limit_texts() {
        let d = ActionLimits::default();
        assert_eq!(
            d.merged(&json!({"memory":64})).unwrap_err(),
            "memory size 64 MB below allowed threshold of 128 MB"
        );
        assert_eq!(
            d.merged(&json!({"timeout":50})).unwrap_err(),
            "duration 50 milliseconds below allowed threshold of 100 milliseconds"
        );
        assert_eq!(
            d.merged(&json!({"timeout":300001})).unwrap_err(),
            "duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds"
        );
        assert_eq!(
            d.merged(&json!({"logs":11})).unwrap_err(),
            "log size 11 MB exceeds allowed threshold of 10 MB"
        );
        assert_eq!(
            d.merged(&json!({"concurrency":2})).unwrap_err(),
            "concurrency 2 exceeds allowed threshold of 1"
        );
        let m = d.merged(&json!({"timeout":1000})).unwrap();
        assert_eq!((m.timeout, m.memory), (1000, 256));
        assert!(
            d.merged(&json!({"timeout":1.5}))
                .unwrap_err()
                .contains("time limit must be whole number")
        );
    }

    #[test]
    fn binary_detection_follows_openwhisk() {
        assert!(looks_base64("abcd"));
        assert!(looks_base64("YWJj"));
        assert!(!looks_base64("function main(){}"));
        assert!(!looks_base64(""));
    }

    #[test]
    fn truthiness() {
        assert!(truthy(Some(&json!(true))));
        assert!(truthy(Some(&json!("x"))));
        assert!(!truthy(Some(&json!(""))));
        assert!(!truthy(Some(&json!(0))));
        assert!(!truthy(None));
    }
}
