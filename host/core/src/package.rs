//! Packages and bindings (spec §2.4): the stored document built from a PUT body, the parsed
//! [`Package`], and how a reference `ns/pkg` is resolved for a caller ([`resolve`]): private
//! packages are the owner's, published ones are readable and invokable by everyone, and a
//! binding leads to the package it binds with its own parameters layered on top.

use std::sync::Arc;

use serde_json::{Map, Value};
use shoal_store::{Collection, Entities};

use crate::action::ActionEntry;
use crate::entity::KeyValue;
use crate::messages;
use crate::put::CommonPut;
use shoal_model::WhiskError;
use shoal_model::documents::{Binding, Document, EntityRef, Package};

/// The reserved package name.
pub const RESERVED: &str = "default";

/// The package `ns/name` from the store; 409 when the name belongs to another collection.
pub async fn fetch(
    store: &dyn Entities,
    ns: &str,
    name: &str,
) -> Result<Option<Package>, WhiskError> {
    match store.get_entity(ns, name).await? {
        None => Ok(None),
        Some(e) if e.collection == Collection::Packages => Package::from_doc(&e.doc).map(Some),
        Some(_) => Err(WhiskError::conflict(messages::NOT_IN_COLLECTION)),
    }
}

/// A package reference resolved for a caller: the real package, and the binding it was
/// reached through, if any.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The package that holds the actions.
    pub real: Package,
    /// The binding named in the reference.
    pub binding: Option<Package>,
}

impl Resolved {
    /// Parameters the package contributes: the real package's, overridden by the binding's.
    pub fn params(&self) -> Map<String, Value> {
        let mut out = self.real.params();
        if let Some(b) = &self.binding {
            out.extend(b.params());
        }
        out
    }

    /// `action` as invoked through this package: parameters package < binding < action,
    /// and the `binding` annotation when reached through one. Shares `action` when nothing
    /// changes.
    pub fn entry(&self, action: Arc<ActionEntry>) -> Arc<ActionEntry> {
        let params = self.params();
        if params.is_empty() && self.binding.is_none() {
            return action;
        }
        let mut derived = ActionEntry::clone(&action);
        let mut merged = params;
        merged.extend(action.params.clone());
        derived.params = merged;
        if derived.is_final {
            derived.final_keys = crate::action::defined_keys(&derived.params, &derived.init_params);
        }
        derived.binding = self.binding.as_ref().map(Package::path);
        Arc::new(derived)
    }
}

/// Resolves package `ns/pkg` for namespace `caller`, following a binding. `resource` names
/// what is being accessed in the 403 text. The owner may use a private package; anyone may
/// use a published one; a missing package is 404 to its owner and 403 to anyone else.
pub async fn resolve(
    store: &dyn Entities,
    caller: &str,
    ns: &str,
    pkg: &str,
    resource: &str,
) -> Result<Resolved, WhiskError> {
    let visible = |p: Option<Package>, ns: &str| -> Result<Package, WhiskError> {
        match p {
            Some(p) if caller == ns || p.publish => Ok(p),
            None if caller == ns => Err(WhiskError::not_found()),
            _ => Err(WhiskError::forbidden(resource)),
        }
    };
    let named = visible(fetch(store, ns, pkg).await?, ns)?;
    match named.bound().cloned() {
        None => Ok(Resolved {
            real: named,
            binding: None,
        }),
        Some(target) => {
            let real = match fetch(store, &target.namespace, &target.name).await? {
                Some(p) if p.bound().is_none() => Some(p),
                _ => None,
            };
            let real = match real {
                Some(p) if caller == target.namespace || p.publish => p,
                None => return Err(WhiskError::not_found()),
                Some(_) => return Err(WhiskError::forbidden(resource)),
            };
            Ok(Resolved {
                real,
                binding: Some(named),
            })
        }
    }
}

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

/// The target of a new binding, checked: 400 when missing or itself a binding, 409 when not
/// a package, 403 when private to another namespace.
pub async fn check_binding_target(
    store: &dyn Entities,
    caller: &str,
    binding: &Binding,
) -> Result<(), WhiskError> {
    let Binding::To(EntityRef {
        namespace: ns,
        name,
    }) = binding
    else {
        return Ok(());
    };
    let target = fetch(store, ns, name).await;
    // In another namespace only a published package is visible: whether anything else
    // exists under that name (a private package, an action, nothing) is not for the caller
    // to learn, so all of it is the same 403.
    if caller != ns && !matches!(&target, Ok(Some(t)) if t.publish) {
        return Err(WhiskError::forbidden(&format!("{ns}/{name}")));
    }
    let target = target.map_err(|e| {
        if matches!(e, WhiskError::Conflict(_)) {
            WhiskError::conflict(messages::BIND_NOT_PACKAGE)
        } else {
            e
        }
    })?;
    match target {
        None => Err(WhiskError::bad_request(messages::BINDING_MISSING)),
        Some(t) if t.bound().is_some() => Err(WhiskError::bad_request(messages::BIND_TO_BINDING)),
        Some(_) => Ok(()),
    }
}

/// 409 text for deleting a package that still holds `n` actions.
pub fn not_empty(n: u64) -> String {
    let what = if n == 1 { "entity" } else { "entities" };
    format!("Package not empty (contains {n} {what}). Set force param or delete package contents.")
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn parameters_layer_package_binding_action() {
        let real = package(
            json!({"namespace":"o","name":"p","parameters":[{"key":"a","value":"pkg"},{"key":"b","value":"pkg"},{"key":"c","value":"pkg"}]}),
        );
        let binding = package(
            json!({"namespace":"g","name":"b","binding":{"namespace":"o","name":"p"},"parameters":[{"key":"b","value":"binding"},{"key":"c","value":"binding"}]}),
        );
        let r = Resolved {
            real,
            binding: Some(binding),
        };
        let merged = r.params();
        assert_eq!(
            Value::Object(merged),
            json!({"a":"pkg","b":"binding","c":"binding"})
        );
    }

    #[test]
    fn not_empty_text() {
        assert_eq!(
            not_empty(1),
            "Package not empty (contains 1 entity). Set force param or delete package contents."
        );
        assert!(not_empty(2).contains("2 entities"));
    }
}
