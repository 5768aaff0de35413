//! Actions (spec §2.3): the action a PUT body makes, created or merged over the stored one,
//! with its `exec` checked against the kinds the routing table serves. Pure logic; no I/O.

use serde::Deserialize;
use serde_json::{Value, json};
use shoal_router::RoutingTable;

use crate::WhiskError;
use crate::documents::{Action, Exec};
use crate::entity::{self, ActionLimits, KeyValue};
use crate::messages;

/// The fields a client may send when creating or updating an action.
#[derive(Debug, Default)]
pub struct ActionPut {
    exec: Option<Value>,
    parameters: Option<Vec<KeyValue>>,
    limits: Option<Value>,
    version: Option<String>,
    publish: Option<bool>,
    annotations: Option<Vec<KeyValue>>,
    del_annotations: Vec<String>,
}

impl ActionPut {
    /// Reads a PUT body (a JSON object; other fields are ignored as OpenWhisk does).
    pub fn parse(body: &Value) -> Result<Self, WhiskError> {
        let obj = body.as_object().ok_or_else(|| {
            WhiskError::bad_request(messages::malformed("expected a JSON object"))
        })?;
        let list = |k: &str| -> Result<Option<Vec<KeyValue>>, WhiskError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => entity::key_value_list(v, k)
                    .map(Some)
                    .map_err(|e| WhiskError::bad_request(messages::malformed(&e))),
            }
        };
        let version = entity::version_field(obj)
            .map_err(|e| WhiskError::bad_request(messages::malformed(&e)))?;
        let publish = match obj.get("publish") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(WhiskError::bad_request(messages::malformed(
                    "publish must be a boolean",
                )));
            }
        };
        let del_annotations = match obj.get("delAnnotations") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(_) => {
                return Err(WhiskError::bad_request(messages::malformed(
                    "delAnnotations must be an array of strings",
                )));
            }
        };
        Ok(ActionPut {
            exec: obj.get("exec").filter(|v| !v.is_null()).cloned(),
            parameters: list("parameters")?,
            limits: obj.get("limits").filter(|v| !v.is_null()).cloned(),
            version,
            publish,
            annotations: list("annotations")?,
            del_annotations,
        })
    }

    /// Builds a new action (`namespace` may be `ns/pkg`).
    pub fn create(
        self,
        namespace: &str,
        name: &str,
        table: &RoutingTable,
        now: i64,
    ) -> Result<Action, WhiskError> {
        let exec = self
            .exec
            .as_ref()
            .ok_or_else(|| WhiskError::bad_request(messages::EXEC_UNDEFINED))?;
        let exec = build_exec(exec, table)?;
        let limits = match &self.limits {
            Some(l) => ActionLimits::default()
                .merged(l)
                .map_err(WhiskError::bad_request)?,
            None => ActionLimits::default(),
        };
        let mut annotations = self.annotations.unwrap_or_default();
        if entity::lookup(&annotations, "provide-api-key").is_none() {
            annotations.insert(0, KeyValue::new("provide-api-key", Value::Bool(false)));
        }
        entity::set_all(&mut annotations, &[KeyValue::new("exec", json!(exec.kind))]);
        Ok(Action {
            namespace: namespace.to_string(),
            name: name.to_string(),
            exec,
            parameters: self.parameters.unwrap_or_default(),
            limits,
            version: self.version.unwrap_or_else(|| "0.0.1".to_string()),
            publish: self.publish.unwrap_or(false),
            annotations,
            updated: now,
        })
    }

    /// Applies this PUT over an existing action (`overwrite=true`).
    pub fn update(
        self,
        old: &Action,
        table: &RoutingTable,
        now: i64,
    ) -> Result<Action, WhiskError> {
        let exec = match &self.exec {
            Some(e) => build_exec(e, table)?,
            None => old.exec.clone(),
        };
        let limits = match &self.limits {
            Some(l) => old.limits.merged(l).map_err(WhiskError::bad_request)?,
            None => old.limits,
        };
        let mut annotations = entity::merge_annotations(
            &old.annotations,
            &self.annotations.unwrap_or_default(),
            &self.del_annotations,
        );
        entity::set_all(&mut annotations, &[KeyValue::new("exec", json!(exec.kind))]);
        Ok(Action {
            namespace: old.namespace.clone(),
            name: old.name.clone(),
            exec,
            parameters: self.parameters.unwrap_or_else(|| old.parameters.clone()),
            limits,
            version: self
                .version
                .unwrap_or_else(|| entity::bump_patch(&old.version)),
            publish: self.publish.unwrap_or(old.publish),
            annotations,
            updated: now,
        })
    }
}

/// Validates a PUT body's `exec` and returns its stored form `{kind, code, binary, main?}`.
fn build_exec(exec: &Value, table: &RoutingTable) -> Result<Exec, WhiskError> {
    let malformed = |m: String| WhiskError::bad_request(messages::malformed(&m));
    let kind = exec
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("'kind' must be a string defined in 'exec'".into()))?;
    if kind == entity::SEQUENCE_KIND {
        // The API resolved and validated the components already (`sequence::build`).
        return Exec::deserialize(exec).map_err(|e| malformed(e.to_string()));
    }
    let info = table.resolve(kind).map_err(|e| malformed(e.to_string()))?;
    if info.deprecated {
        return Err(WhiskError::bad_request(format!(
            "The '{}' runtime is no longer supported. You may read and delete but not update or invoke this action.",
            info.kind
        )));
    }
    let blackbox = info.kind == shoal_router::BLACKBOX;
    let image = match exec.get("image").and_then(Value::as_str) {
        Some(image) if blackbox && !image.trim().is_empty() => Some(image.trim()),
        _ if blackbox => {
            return Err(malformed(
                "'image' must be a string defined in 'exec' for 'blackbox' actions".into(),
            ));
        }
        _ => None,
    };
    let code = match exec.get("code").and_then(Value::as_str) {
        Some(code) => code,
        None if blackbox => "",
        None => {
            return Err(malformed(format!(
                "'code' must be a string defined in 'exec' for '{}' actions",
                info.kind
            )));
        }
    };
    let main = match exec.get("main") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if !m.trim().is_empty() => Some(m.clone()),
        Some(_) => {
            return Err(malformed(format!(
                "'main' must be a string defined in 'exec' for '{}' actions",
                info.kind
            )));
        }
    };
    if info.require_main && main.is_none() {
        return Err(malformed(format!(
            "'main' must be a string defined in 'exec' for '{}' actions",
            info.kind
        )));
    }
    Ok(Exec {
        kind: info.kind.to_string(),
        // A blackbox image runs its own code unless it is given some.
        code: (image.is_none() || !code.is_empty()).then(|| code.to_string()),
        binary: Some(entity::looks_base64(code)),
        image: image.map(str::to_string),
        main,
        components: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::documents::Document;
    use shoal_router::{
        ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, KindInfo, Outcome,
        PrepareError,
    };

    struct Nop;
    impl Executor for Nop {
        fn name(&self) -> &'static str {
            "nop"
        }
        fn prepare(&self, _: &ActionCode) -> Result<(), PrepareError> {
            Ok(())
        }
        fn invoke(&self, _: Invocation) -> BoxFuture<Outcome> {
            Box::pin(async { Outcome::failed(Failure::Internal("nop".into())) })
        }
        fn stats(&self) -> ExecutorStats {
            ExecutorStats::default()
        }
    }

    fn table() -> RoutingTable {
        let mut t = RoutingTable::new();
        t.add(KindInfo::new("nodejs:20", true), Arc::new(Nop));
        t
    }

    #[test]
    fn create_resolves_default_kind_and_adds_system_annotations() {
        let put = ActionPut::parse(&json!({"exec":{"kind":"nodejs:default","code":"function main(){}"},"parameters":[{"key":"a","value":1}]})).unwrap();
        let doc = put.create("guest", "hello", &table(), 7).unwrap().to_doc();
        assert_eq!(
            doc["exec"],
            json!({"kind":"nodejs:20","code":"function main(){}","binary":false})
        );
        assert_eq!(
            doc["annotations"],
            json!([{"key":"provide-api-key","value":false},{"key":"exec","value":"nodejs:20"}])
        );
        assert_eq!(
            doc["limits"],
            json!({"timeout":60000,"memory":256,"logs":10,"concurrency":1})
        );
        assert_eq!(doc["version"], "0.0.1");
        assert_eq!(doc["updated"], 7);
    }

    #[test]
    fn create_requires_exec_and_known_kind() {
        let e = ActionPut::parse(&json!({}))
            .unwrap()
            .create("g", "a", &table(), 0)
            .unwrap_err();
        assert_eq!(e.to_string(), "exec undefined");
        let e = ActionPut::parse(&json!({"exec":{"kind":"python:9","code":"x"}}))
            .unwrap()
            .create("g", "a", &table(), 0)
            .unwrap_err();
        assert!(e.to_string().starts_with(
            "The request content was malformed:\nThe specified runtime 'python:9' is not supported"
        ));
    }

    #[test]
    fn update_merges_limits_and_annotations_and_bumps_version() {
        let old = ActionPut::parse(&json!({"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"a","value":1}],"limits":{"timeout":1000}})).unwrap().create("g", "a", &table(), 1).unwrap();
        let new = ActionPut::parse(&json!({"annotations":[{"key":"b","value":2}],"limits":{"memory":128},"parameters":[{"key":"p","value":1}]})).unwrap().update(&old, &table(), 2).unwrap().to_doc();
        assert_eq!(new["version"], "0.0.2");
        assert_eq!(new["limits"]["timeout"], 1000);
        assert_eq!(new["limits"]["memory"], 128);
        assert_eq!(new["exec"], old.to_doc()["exec"]);
        let keys: Vec<&str> = new["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["provide-api-key", "a", "exec", "b"]);
        assert_eq!(new["parameters"], json!([{"key":"p","value":1}]));
    }
}
