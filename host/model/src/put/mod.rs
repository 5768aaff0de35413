//! The PUT merge rules: what a PUT body makes of an entity, created or merged over the stored
//! one. The fields every entity shares (`parameters`, `annotations`, `version`, `publish`)
//! are parsed once here with OpenWhisk's texts and applied with its create/update rules: on
//! create, absent fields take defaults (`[]`, `[]`, `0.0.1`, `false`); on update
//! (`overwrite=true`), given fields replace the old ones and the version's patch is bumped
//! unless one is given. Each entity's own fields are in its module ([`ActionPut`],
//! [`PackagePut`], [`TriggerPut`]; a rule's two names are the API's). Pure logic.

mod action;
mod package;
mod trigger;

pub use action::ActionPut;
pub use package::PackagePut;
pub use trigger::TriggerPut;

use serde_json::{Map, Value};

use crate::WhiskError;
use crate::entity::{self, KeyValue};
use crate::messages;

/// The shared fields of a PUT body. Lives for one request.
#[derive(Debug, Default, Clone)]
pub struct CommonPut {
    parameters: Option<Vec<KeyValue>>,
    annotations: Option<Vec<KeyValue>>,
    version: Option<String>,
    publish: Option<bool>,
}

impl CommonPut {
    /// Reads the shared fields of `body`; other fields are left to the caller.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, WhiskError> {
        let malformed = |m: &str| WhiskError::bad_request(messages::malformed(m));
        let list = |k: &str| -> Result<Option<Vec<KeyValue>>, WhiskError> {
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
    pub fn annotations(&self) -> Option<&[KeyValue]> {
        self.annotations.as_deref()
    }

    /// The shared fields of the revision this PUT makes: over `old`'s (an update) or with
    /// defaults (a create).
    pub fn apply(self, old: Option<Previous<'_>>) -> Shared {
        let version = match (self.version, old) {
            (Some(v), _) => v,
            (None, Some(o)) => entity::bump_patch(o.version),
            (None, None) => "0.0.1".to_string(),
        };
        let (parameters, annotations) =
            old.map_or((&[][..], &[][..]), |o| (o.parameters, o.annotations));
        Shared {
            parameters: self.parameters.unwrap_or_else(|| parameters.to_vec()),
            version,
            publish: self.publish.or(old.map(|o| o.publish)).unwrap_or(false),
            annotations: self.annotations.unwrap_or_else(|| annotations.to_vec()),
        }
    }
}

/// The shared fields of an entity's stored revision, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    /// Its parameters (none for rules).
    pub parameters: &'a [KeyValue],
    /// Its version.
    pub version: &'a str,
    /// Whether it is published.
    pub publish: bool,
    /// Its annotations.
    pub annotations: &'a [KeyValue],
}

/// The shared fields of the revision a PUT makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// Parameters (rules have none and drop them).
    pub parameters: Vec<KeyValue>,
    /// Version.
    pub version: String,
    /// Whether it is published.
    pub publish: bool,
    /// Annotations.
    pub annotations: Vec<KeyValue>,
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
        let shared = put(json!({})).apply(None);
        assert_eq!(
            shared,
            Shared {
                parameters: vec![],
                version: "0.0.1".into(),
                publish: false,
                annotations: vec![]
            }
        );
    }

    #[test]
    fn update_replaces_given_fields_and_bumps_version() {
        let a = [KeyValue::new("a", json!(1))];
        let x = [KeyValue::new("x", json!(1))];
        let old = Previous {
            parameters: &a,
            version: "0.0.4",
            publish: true,
            annotations: &x,
        };
        let shared = put(json!({"annotations":[]})).apply(Some(old));
        assert_eq!(
            shared,
            Shared {
                parameters: a.to_vec(),
                version: "0.0.5".into(),
                publish: true,
                annotations: vec![]
            }
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
