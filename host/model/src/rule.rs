//! Rules (spec §2.6, §5.3): fully qualified entity names as rules store them, and the
//! rule ↔ trigger link. A rule's status lives on its trigger (`rules` map keyed by the rule's
//! doc id, `{action, status}`), so a fire reads one document. Pure logic; no I/O.

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::documents::{RuleLink, Trigger};
use crate::entity_path::{EntityPath, Form};

/// `/path/name` where `path` is `ns` or `ns/pkg`; stored as `{"path","name"}`. Small; cloned
/// freely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FqName {
    /// `ns` or `ns/pkg`.
    pub path: String,
    /// Simple name.
    pub name: String,
}

impl FqName {
    /// Reads `"/ns/[pkg/]name"` (leading slash optional) or `{"path","name"}`; `_` as the
    /// namespace becomes `caller`. `None` when it is neither, or a segment is not a valid name.
    pub fn parse(v: &Value, caller: &str) -> Option<FqName> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                format!("{}/{}", o.get("path")?.as_str()?, o.get("name")?.as_str()?)
            }
            _ => return None,
        };
        let p = EntityPath::parse(&text, Form::Qualified, caller)?;
        Some(FqName {
            path: p.path(),
            name: p.name,
        })
    }

    /// The owning namespace.
    pub fn namespace(&self) -> &str {
        self.path.split('/').next().unwrap_or_default()
    }

    /// The package, when the entity is in one.
    pub fn package(&self) -> Option<&str> {
        self.path.split_once('/').map(|(_, p)| p)
    }

    /// `path/name`: the doc id, as trigger activation logs name actions.
    pub fn id(&self) -> String {
        format!("{}/{}", self.path, self.name)
    }
}

impl fmt::Display for FqName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}", self.path, self.name)
    }
}

/// A rule's status, stored as `active` / `inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fires its action.
    Active,
    /// Logged but skipped on fire.
    Inactive,
}

impl Status {
    /// `active` / `inactive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
        }
    }

    /// The inverse of [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "active" => Some(Status::Active),
            "inactive" => Some(Status::Inactive),
            _ => None,
        }
    }
}

/// The status of rule `rule_id` as its trigger records it; inactive when the trigger is gone
/// or does not link the rule.
pub fn status_on(trigger: Option<&Trigger>, rule_id: &str) -> Status {
    trigger
        .and_then(|t| t.rules.as_ref()?.get(rule_id))
        .map_or(Status::Inactive, |link| link.status)
}

/// Links rule `rule_id` to `action` with `status` on a trigger.
pub fn link(trigger: &mut Trigger, rule_id: &str, action: &FqName, status: Status) {
    let link = RuleLink {
        action: action.clone(),
        status,
    };
    trigger
        .rules
        .get_or_insert_with(IndexMap::new)
        .insert(rule_id.to_string(), link);
}

/// Removes rule `rule_id` from a trigger.
pub fn unlink(trigger: &mut Trigger, rule_id: &str) {
    if let Some(rules) = &mut trigger.rules {
        rules.shift_remove(rule_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_parse_in_both_forms() {
        let a = FqName::parse(&json!("/_/pkg/a"), "guest").unwrap();
        assert_eq!(
            (a.namespace(), a.package(), a.name.as_str()),
            ("guest", Some("pkg"), "a")
        );
        assert_eq!(a.to_string(), "/guest/pkg/a");
        let t = FqName::parse(&json!({"path":"guest","name":"t"}), "x").unwrap();
        assert_eq!((t.id(), t.package()), ("guest/t".to_string(), None));
        for bad in [json!("t"), json!("/a/b/c/d"), json!(3), json!("/a/ b")] {
            assert!(FqName::parse(&bad, "g").is_none(), "{bad}");
        }
    }

    #[test]
    fn status_lives_on_the_trigger() {
        use crate::documents::Document;
        let action = FqName::parse(&json!("/g/a"), "g").unwrap();
        let mut t =
            Trigger::from_doc(&json!({"namespace":"g","name":"t","version":"0.0.1"})).unwrap();
        assert_eq!(status_on(Some(&t), "g/r"), Status::Inactive);
        link(&mut t, "g/r", &action, Status::Active);
        assert_eq!(
            t.to_doc()["rules"]["g/r"],
            json!({"action":{"path":"g","name":"a"},"status":"active"})
        );
        assert_eq!(status_on(Some(&t), "g/r"), Status::Active);
        assert_eq!(status_on(None, "g/r"), Status::Inactive);
        unlink(&mut t, "g/r");
        assert_eq!(status_on(Some(&t), "g/r"), Status::Inactive);
    }
}
