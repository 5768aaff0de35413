//! The PUT-body fields every entity shares (`parameters`, `annotations`, `version`,
//! `publish`), parsed once with OpenWhisk's texts and applied with its create/update rules:
//! on create, absent fields take defaults (`[]`, `[]`, `0.0.1`, `false`); on update
//! (`overwrite=true`), given fields replace the old ones and the version's patch is bumped
//! unless one is given. Pure logic; used by packages, triggers and rules.

use serde_json::{Map, Value};

use crate::WhiskError;
use crate::entity;
use crate::messages;

/// The shared fields of a PUT body. Lives for one request.
#[derive(Debug, Default, Clone)]
pub struct CommonPut {
    parameters: Option<Vec<Value>>,
    annotations: Option<Vec<Value>>,
    version: Option<String>,
    publish: Option<bool>,
}

impl CommonPut {
    /// Reads the shared fields of `body`; other fields are left to the caller.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, WhiskError> {
        let malformed = |m: &str| WhiskError::bad_request(messages::malformed(m));
        let list = |k: &str| -> Result<Option<Vec<Value>>, WhiskError> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => entity::key_value_list(v, k)
                    .map(Some)
                    .map_err(|e| malformed(&e)),
            }
        };
        let version = entity::version_field(body).map_err(|e| malformed(&e))?;
        let publish = match body.get("publish") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(malformed("publish must be a boolean")),
        };
        Ok(CommonPut {
            parameters: list("parameters")?,
            annotations: list("annotations")?,
            version,
            publish,
        })
    }

    /// The annotations the body gave, if any.
    pub fn annotations(&self) -> Option<&[Value]> {
        self.annotations.as_deref()
    }

    /// Writes the shared fields into `doc`: over `old` (an update) or with defaults (a create).
    /// `with_parameters` is false for rules, which have none.
    pub fn apply(self, doc: &mut Map<String, Value>, old: Option<&Value>, with_parameters: bool) {
        let keep = |k: &str, default: Value| old.and_then(|o| o.get(k)).cloned().unwrap_or(default);
        if with_parameters {
            let parameters = match self.parameters {
                Some(p) => Value::from(p),
                None => keep("parameters", Value::Array(Vec::new())),
            };
            doc.insert("parameters".into(), parameters);
        }
        let version = match (self.version, old) {
            (Some(v), _) => v,
            (None, Some(o)) => entity::bump_patch(o["version"].as_str().unwrap_or("0.0.0")),
            (None, None) => "0.0.1".to_string(),
        };
        doc.insert("version".into(), Value::String(version));
        let publish = match self.publish {
            Some(b) => Value::Bool(b),
            None => keep("publish", Value::Bool(false)),
        };
        doc.insert("publish".into(), publish);
        let annotations = match self.annotations {
            Some(a) => Value::from(a),
            None => keep("annotations", Value::Array(Vec::new())),
        };
        doc.insert("annotations".into(), annotations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(v: Value) -> CommonPut {
        CommonPut::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn create_takes_defaults() {
        let mut doc = Map::new();
        put(json!({})).apply(&mut doc, None, true);
        assert_eq!(
            Value::Object(doc),
            json!({"parameters":[],"version":"0.0.1","publish":false,"annotations":[]})
        );
    }

    #[test]
    fn update_replaces_given_fields_and_bumps_version() {
        let old = json!({"parameters":[{"key":"a","value":1}],"version":"0.0.4","publish":true,"annotations":[{"key":"x","value":1}]});
        let mut doc = Map::new();
        put(json!({"annotations":[]})).apply(&mut doc, Some(&old), false);
        assert_eq!(
            Value::Object(doc),
            json!({"version":"0.0.5","publish":true,"annotations":[]})
        );
    }

    #[test]
    fn bad_fields_are_malformed() {
        for body in [
            json!({"version":"0.0"}),
            json!({"publish":1}),
            json!({"parameters":{}}),
        ] {
            let e = CommonPut::parse(body.as_object().unwrap()).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("The request content was malformed:\n"),
                "{e:?}"
            );
        }
    }
}
