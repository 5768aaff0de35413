//! Packages and bindings (spec §2.4): the stored document built from a PUT body, the parsed
//! [`Package`], and how a reference `ns/pkg` is resolved for a caller ([`resolve`]): private
//! packages are the owner's, published ones are readable and invokable by everyone, and a
//! binding leads to the package it binds with its own parameters layered on top.

use std::sync::Arc;

use serde_json::{Map, Value};
use shoal_store::{Collection, Entities};

use crate::action::ActionEntry;
use crate::messages;
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

    #[test]
    fn parameters_layer_package_binding_action() {
        let real = Package::from_doc(
            &json!({"namespace":"o","name":"p","binding":{},"version":"0.0.1","parameters":[{"key":"a","value":"pkg"},{"key":"b","value":"pkg"},{"key":"c","value":"pkg"}]}),
        ).unwrap();
        let binding = Package::from_doc(
            &json!({"namespace":"g","name":"b","binding":{"namespace":"o","name":"p"},"version":"0.0.1","parameters":[{"key":"b","value":"binding"},{"key":"c","value":"binding"}]}),
        ).unwrap();
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
