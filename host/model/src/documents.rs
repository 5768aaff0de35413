//! The stored documents of actions, packages, triggers and rules, typed: what a PUT builds,
//! the store keeps as JSON and a GET returns. Fields are declared in the order OpenWhisk
//! returns them. A stored document is read with [`Document::from_doc`], which reports one
//! that does not fit its type as an internal error naming it, and written with
//! [`Document::to_doc`].

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::WhiskError;
use crate::entity::{self, ActionLimits, KeyValue};
use crate::put::Previous;
use crate::rule::{FqName, Status};

/// A typed stored document.
pub trait Document: Serialize + DeserializeOwned {
    /// What it is, for the error a document that is not one gets ("action").
    const WHAT: &'static str;

    /// Reads a stored document: an internal error when it does not fit the type.
    fn from_doc(doc: &Value) -> Result<Self, WhiskError> {
        Self::deserialize(doc).map_err(|e| {
            WhiskError::internal(format!("a stored {} cannot be read: {e}", Self::WHAT))
        })
    }

    /// The document as the store keeps it and the API returns it.
    fn to_doc(&self) -> Value {
        // Cannot fail: every map these types hold is keyed by strings.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The shared fields of the documents that carry every one: [`Previous`] for a PUT, and the
/// fields of their list summaries.
macro_rules! shared_fields {
    ($($document:ty),*) => {$(
        impl $document {
            /// Its shared fields, for the PUT that replaces it.
            pub fn previous(&self) -> Previous<'_> {
                Previous {
                    parameters: &self.parameters,
                    version: &self.version,
                    publish: self.publish,
                    annotations: &self.annotations,
                }
            }

            /// The fields every list summary shows.
            fn listed(&self) -> EntitySummary {
                EntitySummary {
                    namespace: self.namespace.clone(),
                    name: self.name.clone(),
                    version: self.version.clone(),
                    publish: self.publish,
                    annotations: self.annotations.clone(),
                    updated: self.updated,
                }
            }
        }
    )*};
}

shared_fields!(Action, Package, Trigger);

/// An entity as a list shows it (spec §2.2): no parameters, code, limits or rules. A trigger's
/// summary is just this; an action's and a package's add a little.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EntitySummary {
    /// Owning namespace (`ns/pkg` for a packaged action).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Whether other namespaces may see it.
    pub publish: bool,
    /// Annotations.
    pub annotations: Vec<KeyValue>,
    /// Last change, epoch ms.
    pub updated: i64,
}

/// What runs when an action is invoked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Exec {
    /// The runtime kind (`nodejs:20`, `blackbox`, `sequence`, …).
    pub kind: String,
    /// The code, absent for a blackbox image without any and for sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Whether the code is base64 (a zip or a binary); absent for sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    /// The image of a blackbox action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The entry function when not `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// A sequence's components (`/ns/[pkg/]name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

/// An action (spec §2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// `ns` or `ns/pkg`.
    pub namespace: String,
    /// Simple name.
    pub name: String,
    /// What runs.
    pub exec: Exec,
    /// Default parameters.
    #[serde(default)]
    pub parameters: Vec<KeyValue>,
    /// Limits.
    #[serde(default)]
    pub limits: ActionLimits,
    /// Semantic version.
    pub version: String,
    /// Whether other namespaces may see it.
    #[serde(default)]
    pub publish: bool,
    /// Annotations.
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// Last change, epoch ms.
    #[serde(default)]
    pub updated: i64,
}

impl Document for Action {
    const WHAT: &'static str = "action";
}

/// An action as a list shows it (spec §2.2): no code, no parameters.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ActionSummary {
    /// What every summary shows.
    #[serde(flatten)]
    pub entity: EntitySummary,
    /// Limits.
    pub limits: ActionLimits,
    /// Only whether its code is binary.
    pub exec: ExecSummary,
}

/// What a list tells of an action's code.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ExecSummary {
    /// Whether the code is base64 (absent for sequences).
    pub binary: Option<bool>,
}

impl Action {
    /// The list summary (spec §2.2): no code, no parameters.
    pub fn summary(&self) -> ActionSummary {
        ActionSummary {
            entity: self.listed(),
            limits: self.limits,
            exec: ExecSummary {
                binary: self.exec.binary,
            },
        }
    }

    /// The `?code=false` view: the action without its code.
    pub fn without_code(mut self) -> Self {
        self.exec.code = None;
        self
    }
}

/// The package a binding binds to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EntityRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// A package's `binding` field: `{}` for a package, `{namespace, name}` for a binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Binding {
    /// A binding to this package.
    To(EntityRef),
    /// A package of its own.
    Unbound {},
}

/// A package or binding (spec §2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    /// Owning namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What it binds, if it is a binding.
    pub binding: Binding,
    /// Parameters its actions receive (a binding's over its package's).
    #[serde(default)]
    pub parameters: Vec<KeyValue>,
    /// Semantic version.
    pub version: String,
    /// Whether other namespaces may see and use it.
    #[serde(default)]
    pub publish: bool,
    /// Annotations.
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// Last change, epoch ms.
    #[serde(default)]
    pub updated: i64,
}

impl Document for Package {
    const WHAT: &'static str = "package";
}

impl Package {
    /// `ns/name`: the namespace its actions are stored under.
    pub fn path(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The package it binds, when it is a binding.
    pub fn bound(&self) -> Option<&EntityRef> {
        match &self.binding {
            Binding::To(target) => Some(target),
            Binding::Unbound {} => None,
        }
    }

    /// Its parameters as a map (later keys win).
    pub fn params(&self) -> Map<String, Value> {
        entity::to_map(&self.parameters)
    }

    /// The list summary (spec §2.2): `binding` is `false` or `{namespace, name}`.
    pub fn summary(&self) -> PackageSummary {
        PackageSummary {
            entity: self.listed(),
            binding: match &self.binding {
                Binding::To(target) => Bound::To(target.clone()),
                Binding::Unbound {} => Bound::No(false),
            },
        }
    }
}

/// A package as a list shows it (spec §2.2): no parameters, `binding` `false` or its target.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PackageSummary {
    /// What every summary shows.
    #[serde(flatten)]
    pub entity: EntitySummary,
    /// What it binds.
    pub binding: Bound,
}

/// What a package list says a package binds: its target, or `false`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Bound {
    /// A binding to this package.
    To(EntityRef),
    /// Always `false`: a package of its own.
    No(bool),
}

/// A rule as its trigger records it: the action it fires and whether it is active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuleLink {
    /// The action the rule fires.
    pub action: FqName,
    /// Whether it fires.
    pub status: Status,
}

/// A trigger (spec §2.5). Its rules' links live on it, so a fire reads one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trigger {
    /// Owning namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Limits (OpenWhisk defines none; kept as given).
    #[serde(default)]
    pub limits: Map<String, Value>,
    /// Parameters every fire carries under its payload.
    #[serde(default)]
    pub parameters: Vec<KeyValue>,
    /// Semantic version.
    pub version: String,
    /// Whether other namespaces may see it.
    #[serde(default)]
    pub publish: bool,
    /// Annotations (`feed` names the feed that fires it).
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// The rules on it, by rule id (`ns/name`), in the order they were linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<IndexMap<String, RuleLink>>,
    /// Last change, epoch ms.
    #[serde(default)]
    pub updated: i64,
}

impl Document for Trigger {
    const WHAT: &'static str = "trigger";
}

impl Trigger {
    /// The list summary (spec §2.2).
    pub fn summary(&self) -> EntitySummary {
        self.listed()
    }

    /// The rules linked to it, in link order.
    pub fn links(&self) -> impl Iterator<Item = (&String, &RuleLink)> {
        self.rules.iter().flatten()
    }

    /// Whether at least one of its rules is active (else a fire is a 204).
    pub fn has_active_rule(&self) -> bool {
        self.links().any(|(_, link)| link.status == Status::Active)
    }
}

/// A rule (spec §2.6). Its status is kept on its trigger ([`RuleLink`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    /// Owning namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The trigger that fires it.
    pub trigger: FqName,
    /// The action it invokes.
    pub action: FqName,
    /// Semantic version.
    pub version: String,
    /// Whether other namespaces may see it.
    #[serde(default)]
    pub publish: bool,
    /// Annotations.
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// Last change, epoch ms.
    #[serde(default)]
    pub updated: i64,
}

impl Document for Rule {
    const WHAT: &'static str = "rule";
}

impl Rule {
    /// Its shared fields, for the PUT that replaces it (a rule has no parameters).
    pub fn previous(&self) -> Previous<'_> {
        Previous {
            parameters: &[],
            version: &self.version,
            publish: self.publish,
            annotations: &self.annotations,
        }
    }

    /// The rule as the API returns it one by one: with its `status`.
    pub fn with_status(&self, status: Status) -> Value {
        let mut doc = self.to_doc();
        doc["status"] = json!(status.as_str());
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_documents_read_and_write_back_unchanged() {
        let action = json!({"namespace":"g","name":"a","exec":{"kind":"nodejs:20","code":"x","binary":false,"main":"run"},"parameters":[{"key":"p","value":1,"init":true}],"limits":{"timeout":60000,"memory":256,"logs":10,"concurrency":1},"version":"0.0.1","publish":false,"annotations":[{"key":"exec","value":"nodejs:20"}],"updated":5});
        let sequence = json!({"namespace":"g","name":"s","exec":{"kind":"sequence","components":["/g/a"]},"parameters":[],"limits":{"timeout":60000,"memory":256,"logs":10,"concurrency":1},"version":"0.0.1","publish":false,"annotations":[],"updated":5});
        for doc in [action, sequence] {
            assert_eq!(Action::from_doc(&doc).unwrap().to_doc(), doc);
        }
        let package = json!({"namespace":"g","name":"p","binding":{},"parameters":[],"version":"0.0.1","publish":true,"annotations":[],"updated":1});
        let binding = json!({"namespace":"g","name":"b","binding":{"namespace":"h","name":"p"},"parameters":[],"version":"0.0.1","publish":false,"annotations":[],"updated":1});
        for doc in [package, binding] {
            assert_eq!(Package::from_doc(&doc).unwrap().to_doc(), doc);
        }
        let trigger = json!({"namespace":"g","name":"t","limits":{},"parameters":[],"version":"0.0.1","publish":false,"annotations":[],"rules":{"g/r2":{"action":{"path":"g","name":"a"},"status":"active"},"g/r1":{"action":{"path":"g/p","name":"b"},"status":"inactive"}},"updated":1});
        let read = Trigger::from_doc(&trigger).unwrap();
        assert_eq!(read.to_doc(), trigger, "rules keep their order");
        assert!(read.has_active_rule());
        let mut inactive = read.clone();
        crate::rule::unlink(&mut inactive, "g/r2");
        assert!(!inactive.has_active_rule(), "only inactive rules left");
        inactive.rules = None;
        assert!(!inactive.has_active_rule(), "no rules at all");
        let rule = json!({"namespace":"g","name":"r","trigger":{"path":"g","name":"t"},"action":{"path":"g","name":"a"},"version":"0.0.1","publish":false,"annotations":[],"updated":1});
        let read = Rule::from_doc(&rule).unwrap();
        assert_eq!(read.to_doc(), rule);
        assert_eq!(read.with_status(Status::Active)["status"], "active");
    }

    #[test]
    fn a_document_that_is_not_one_is_an_internal_error_naming_it() {
        let e = Action::from_doc(&json!({"name": 3})).unwrap_err();
        assert!(
            matches!(&e, WhiskError::Internal(m) if m.contains("stored action")),
            "{e:?}"
        );
    }

    #[test]
    fn summaries_leave_out_code_and_parameters() {
        let doc = json!({"namespace":"g","name":"a","exec":{"kind":"nodejs:20","code":"x","binary":false},"parameters":[{"key":"p","value":1}],"version":"0.0.1","updated":5});
        let action = Action::from_doc(&doc).unwrap();
        let summary = json!(action.summary());
        assert_eq!(summary["exec"], json!({"binary": false}));
        assert!(summary.get("parameters").is_none());
        assert_eq!(action.without_code().exec.code, None);
        let binding = json!({"namespace":"g","name":"b","binding":{"namespace":"h","name":"p"},"version":"0.0.1"});
        let package = Package::from_doc(&binding).unwrap();
        let listed = json!(package.summary());
        assert_eq!(listed["binding"], json!({"namespace":"h","name":"p"}));
        assert_eq!(package.bound().map(|b| b.name.as_str()), Some("p"));
    }
}
