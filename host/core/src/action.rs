//! Actions as the controller invokes them: the resolved, immutable form ([`ActionEntry`])
//! derived once from a stored action (whose PUT rules are the model's, `put::ActionPut`).

use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shoal_router::{ActionCode, HostTags};

use crate::entity::{self, ActionLimits, KeyValue};
use shoal_model::WhiskError;
use shoal_model::documents::{Action, Document};

/// An action resolved for invocation: everything the controller needs, derived once from the
/// stored document and shared (`Arc`) by every invoke until the action changes. Cloned only
/// to derive the form invoked through a package or binding.
#[derive(Debug, Clone)]
pub struct ActionEntry {
    /// `ns` or `ns/pkg`.
    pub namespace: String,
    /// Simple name.
    pub name: String,
    /// `ns/[pkg/]name` (the `path` annotation).
    pub path: String,
    /// Version.
    pub version: String,
    /// Code and identity for the executor.
    pub code: Arc<ActionCode>,
    /// Default run parameters (non-`init`).
    pub params: Map<String, Value>,
    /// `init: true` parameters.
    pub init_params: Map<String, Value>,
    /// Keys a payload may not override (when annotated `final`).
    pub final_keys: Vec<String>,
    /// Whether the action is annotated `final` (its defined parameters, including those it
    /// inherits from a package or binding, cannot be overridden).
    pub is_final: bool,
    /// Limits.
    pub limits: ActionLimits,
    /// Whether `__OW_API_KEY` is handed to the action.
    pub provide_api_key: bool,
    /// How the action answers on `/api/v1/web/…`.
    pub web: WebFlags,
    /// `ns/binding` when invoked through a package binding (the `binding` annotation).
    pub binding: Option<String>,
    /// The `engine` annotation: which executor serving the kind runs the action
    /// (see [`shoal_router::RoutingTable::executor_for`]); `None` for the kind's own.
    pub engine: Option<String>,
    /// A sequence's components (`/ns/[pkg/]name`), empty for other kinds.
    pub components: Vec<String>,
    /// Whether the action is a conductor (truthy `conductor` annotation, spec §6.2).
    pub conductor: bool,
}

/// The keys of the defined (non-null) parameters: what `final` protects.
pub fn defined_keys(params: &Map<String, Value>, init_params: &Map<String, Value>) -> Vec<String> {
    params
        .iter()
        .chain(init_params.iter())
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect()
}

/// The web-action annotations of an action (spec §3.3, §4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebFlags {
    /// `web-export`: reachable without a key.
    pub export: bool,
    /// `raw-http`: receives the raw query and body.
    pub raw: bool,
    /// `web-custom-options`: OPTIONS goes to the action, no automatic CORS headers.
    pub custom_options: bool,
    /// `require-whisk-auth`: `None` when absent.
    pub require_auth: Option<Value>,
}

impl WebFlags {
    /// OpenWhisk reads these annotations as JSON booleans (`getAs[Boolean]`): only `true`
    /// sets a flag; `"true"`, `1` or `{}` do not (so `web-export: "false"` exports nothing).
    fn from_annotations(annotations: &[KeyValue]) -> Self {
        let flag = |k: &str| entity::lookup(annotations, k) == Some(&Value::Bool(true));
        WebFlags {
            export: flag("web-export"),
            raw: flag("raw-http"),
            custom_options: flag("web-custom-options"),
            require_auth: entity::lookup(annotations, "require-whisk-auth").cloned(),
        }
    }
}

impl ActionEntry {
    /// Derives the entry from a stored action document.
    pub fn from_doc(doc: &Value) -> Result<Self, WhiskError> {
        Ok(Self::new(&Action::from_doc(doc)?))
    }

    /// Derives the entry from an action.
    pub fn new(action: &Action) -> Self {
        let exec = &action.exec;
        let annotations = &action.annotations;
        let conductor = exec.kind != entity::SEQUENCE_KIND
            && entity::truthy(entity::lookup(annotations, "conductor"));
        let code_text = exec.code.clone().unwrap_or_default();
        let main = exec.main.clone().unwrap_or_else(|| "main".to_string());
        let mut hasher = Sha256::new();
        let image_text = exec.image.as_deref().unwrap_or_default();
        for part in [
            exec.kind.as_str(),
            main.as_str(),
            code_text.as_str(),
            image_text,
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let mut params = Map::new();
        let mut init_params = Map::new();
        for p in &action.parameters {
            let into = if p.init {
                &mut init_params
            } else {
                &mut params
            };
            into.insert(p.key.clone(), p.value.clone());
        }
        let is_final = entity::truthy(entity::lookup(annotations, "final"));
        let final_keys = if is_final {
            defined_keys(&params, &init_params)
        } else {
            Vec::new()
        };
        // Actions without the annotation are legacy ones, which OpenWhisk treats as `true`.
        let provide_api_key =
            entity::lookup(annotations, "provide-api-key").is_none_or(|v| entity::truthy(Some(v)));
        let (namespace, name) = (action.namespace.clone(), action.name.clone());
        let path = format!("{namespace}/{name}");
        ActionEntry {
            code: Arc::new(ActionCode {
                fqn: format!("/{path}"),
                name: name.clone(),
                version: action.version.clone(),
                kind: exec.kind.clone(),
                code: Arc::from(code_text),
                binary: exec.binary.unwrap_or(false),
                main,
                digest: hasher.finalize().into(),
                image: exec.image.clone(),
                host_tags: HostTags::from_annotations(
                    entity::lookup(annotations, shoal_router::INVOKER_RESOURCES),
                    entity::lookup(annotations, shoal_router::INVOKER_RESOURCES_STRICT),
                ),
            }),
            namespace,
            name,
            path,
            version: action.version.clone(),
            params,
            init_params,
            final_keys,
            is_final,
            limits: action.limits,
            provide_api_key,
            web: WebFlags::from_annotations(annotations),
            binding: None,
            engine: entity::lookup(annotations, shoal_router::ENGINE_ANNOTATION)
                .and_then(Value::as_str)
                .map(str::to_string),
            conductor,
            components: exec.components.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entry_splits_init_params_and_final_keys() {
        let doc = json!({"namespace":"g/p","name":"a","version":"0.0.1","exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"a","value":1},{"key":"b","value":2,"init":true},{"key":"c","value":null}],"annotations":[{"key":"final","value":true},{"key":"provide-api-key","value":false}]});
        let e = ActionEntry::from_doc(&doc).unwrap();
        assert_eq!(e.path, "g/p/a");
        assert_eq!(e.code.fqn, "/g/p/a");
        assert_eq!(e.params.len(), 2);
        assert_eq!(e.init_params["b"], 2);
        assert_eq!(e.final_keys, vec!["a".to_string(), "b".to_string()]);
        assert!(!e.provide_api_key);
    }

    #[test]
    fn web_flags_are_set_by_json_true_only() {
        let annotations = |v: Value| {
            let keys = ["web-export", "raw-http", "web-custom-options"];
            keys.map(|key| KeyValue::new(key, v.clone()))
        };
        let flags = WebFlags::from_annotations(&annotations(json!(true)));
        assert!(flags.export && flags.raw && flags.custom_options);
        for v in [
            json!("false"),
            json!("true"),
            json!(1),
            json!({}),
            json!([true]),
            json!(false),
        ] {
            let flags = WebFlags::from_annotations(&annotations(v.clone()));
            assert_eq!(flags, WebFlags::default(), "{v}");
        }
    }
}
