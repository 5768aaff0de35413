//! Packages and bindings (spec §2.4): the package or binding a PUT body makes, and the rule
//! that a package never becomes a binding. Pure logic; no I/O.

use serde_json::{Map, Value};

use super::CommonPut;
use crate::WhiskError;
use crate::documents::{Binding, EntityRef, Package};
use crate::entity::KeyValue;
use crate::messages;

/// What a package PUT body asks for.
#[derive(Debug)]
pub struct PackagePut {
    common: CommonPut,
    /// `None`: no `binding` field; `Some(Binding::Unbound)`: `{}`; `Some(Binding::To(..))`:
    /// bind to that package.
    binding: Option<Binding>,
}

impl PackagePut {
    /// Reads a PUT body; `_` in the binding's namespace becomes `caller`.
    pub fn parse(body: &Map<String, Value>, caller: &str) -> Result<Self, WhiskError> {
        let binding = match body.get("binding") {
            None | Some(Value::Null) => None,
            Some(Value::Object(b)) if b.is_empty() => Some(Binding::Unbound {}),
            Some(Value::Object(b)) => {
                let field = |k: &str| b.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
                match (field("namespace"), field("name")) {
                    (Some(ns), Some(name)) => {
                        let ns = if ns == "_" { caller } else { ns };
                        Some(Binding::To(EntityRef {
                            namespace: ns.to_string(),
                            name: name.to_string(),
                        }))
                    }
                    _ => {
                        return Err(WhiskError::bad_request(messages::malformed(
                            "binding must have a namespace and a name",
                        )));
                    }
                }
            }
            Some(_) => {
                return Err(WhiskError::bad_request(messages::malformed(
                    "binding must be an object",
                )));
            }
        };
        Ok(PackagePut {
            common: CommonPut::parse(body)?,
            binding,
        })
    }

    /// The binding this PUT results in, given the package it replaces (if any): 409 when it
    /// would turn a package into a binding.
    pub fn binding(&self, old: Option<&Package>) -> Result<Binding, WhiskError> {
        match (&self.binding, old) {
            (Some(Binding::To(_)), Some(o)) if o.bound().is_none() => {
                Err(WhiskError::conflict(messages::PACKAGE_TO_BINDING))
            }
            (Some(b), _) => Ok(b.clone()),
            (None, Some(o)) => Ok(o.binding.clone()),
            (None, None) => Ok(Binding::Unbound {}),
        }
    }

    /// The package or binding `ns/name` this PUT makes (over `old` on update), bound to
    /// `binding`; a binding carries a `binding` annotation naming its target.
    pub fn build(
        self,
        ns: &str,
        name: &str,
        binding: Binding,
        old: Option<&Package>,
        now: i64,
    ) -> Package {
        let mut shared = self.common.apply(old.map(Package::previous));
        shared.annotations.retain(|a| a.key != "binding");
        if let Binding::To(target) = &binding {
            let value = serde_json::json!(target);
            shared.annotations.push(KeyValue::new("binding", value));
        }
        Package {
            namespace: ns.to_string(),
            name: name.to_string(),
            binding,
            parameters: shared.parameters,
            version: shared.version,
            publish: shared.publish,
            annotations: shared.annotations,
            updated: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::Document;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn package(v: Value) -> Package {
        let mut doc = json!({"binding": {}, "version": "0.0.1"});
        doc.as_object_mut().unwrap().extend(body(v));
        Package::from_doc(&doc).unwrap()
    }

    #[test]
    fn bindings_resolve_underscore_and_get_the_annotation() {
        let put = PackagePut::parse(
            &body(json!({"binding":{"namespace":"_","name":"utils"},"annotations":[{"key":"binding","value":"x"}]})),
            "guest",
        )
        .unwrap();
        let b = put.binding(None).unwrap();
        let target = EntityRef {
            namespace: "guest".into(),
            name: "utils".into(),
        };
        assert_eq!(b, Binding::To(target.clone()));
        let built = put.build("guest", "b", b, None, 5);
        let doc = built.to_doc();
        assert_eq!(doc["binding"], json!({"namespace":"guest","name":"utils"}));
        assert_eq!(
            doc["annotations"],
            json!([{"key":"binding","value":{"namespace":"guest","name":"utils"}}])
        );
        assert_eq!(built.bound(), Some(&target));
        assert_eq!(json!(built.summary())["binding"], doc["binding"]);
    }

    #[test]
    fn a_package_cannot_become_a_binding_but_a_binding_keeps_its_target() {
        let old = package(json!({"namespace":"g","name":"p","binding":{},"publish":false}));
        let put =
            PackagePut::parse(&body(json!({"binding":{"namespace":"g","name":"q"}})), "g").unwrap();
        assert_eq!(
            put.binding(Some(&old)).unwrap_err().to_string(),
            messages::PACKAGE_TO_BINDING
        );
        let bound =
            package(json!({"namespace":"g","name":"b","binding":{"namespace":"g","name":"q"}}));
        let put = PackagePut::parse(&body(json!({})), "g").unwrap();
        assert_eq!(put.binding(Some(&bound)).unwrap(), bound.binding);
        let built = put.build("g", "p", Binding::Unbound {}, None, 1);
        assert_eq!(json!(built.summary())["binding"], false);
        assert_eq!(built.to_doc()["annotations"], json!([]));
    }
}
