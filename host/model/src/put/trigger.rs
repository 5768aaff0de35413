//! Triggers (spec §2.5): the trigger built from a PUT body. A new trigger has
//! `annotations: []`, `limits: {}` and version `0.0.1`; an update replaces the given fields
//! and keeps the `rules` links. Pure logic; no I/O.

use serde_json::{Map, Value};

use super::CommonPut;
use crate::WhiskError;
use crate::documents::Trigger;
use crate::entity;
use crate::messages;
use crate::rule::FqName;

/// What a trigger PUT body asks for. Lives for one request.
#[derive(Debug)]
pub struct TriggerPut {
    common: CommonPut,
    limits: Option<Map<String, Value>>,
}

impl TriggerPut {
    /// Reads a PUT body: 400 `Feed name is not valid` when a `feed` annotation is not an
    /// entity path.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, WhiskError> {
        let common = CommonPut::parse(body)?;
        if let Some(feed) = common.annotations().and_then(|a| entity::lookup(a, "feed"))
            && FqName::parse(feed, "_").is_none()
        {
            return Err(WhiskError::bad_request(messages::FEED_INVALID));
        }
        let limits = match body.get("limits") {
            None | Some(Value::Null) => None,
            Some(Value::Object(l)) => Some(l.clone()),
            Some(_) => {
                return Err(WhiskError::bad_request(messages::malformed(
                    "limits must be an object",
                )));
            }
        };
        Ok(TriggerPut { common, limits })
    }

    /// The trigger `ns/name` this PUT makes, over `old` on update (whose rule links it
    /// keeps).
    pub fn build(self, ns: &str, name: &str, old: Option<&Trigger>, now: i64) -> Trigger {
        let shared = self.common.apply(old.map(Trigger::previous));
        Trigger {
            namespace: ns.to_string(),
            name: name.to_string(),
            limits: self
                .limits
                .or_else(|| old.map(|o| o.limits.clone()))
                .unwrap_or_default(),
            parameters: shared.parameters,
            version: shared.version,
            publish: shared.publish,
            annotations: shared.annotations,
            rules: old.and_then(|o| o.rules.clone()),
            updated: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::Document;
    use serde_json::json;

    fn put(v: Value) -> Result<TriggerPut, WhiskError> {
        TriggerPut::parse(v.as_object().unwrap())
    }

    #[test]
    fn new_triggers_have_openwhisk_defaults() {
        let doc = put(json!({})).unwrap().build("g", "t", None, 3).to_doc();
        assert_eq!(doc["annotations"], json!([]));
        assert_eq!(doc["limits"], json!({}));
        assert_eq!(doc["version"], "0.0.1");
        assert!(doc.get("rules").is_none());
    }

    #[test]
    fn updates_keep_rules_and_bump_version() {
        let old = json!({"namespace":"g","name":"t","version":"0.0.1","limits":{},"parameters":[],"annotations":[],"publish":false,"rules":{"g/r":{"action":{"path":"g","name":"a"},"status":"active"}}});
        let doc = put(json!({"parameters":[{"key":"a","value":1}]}))
            .unwrap()
            .build("g", "t", Some(&Trigger::from_doc(&old).unwrap()), 4)
            .to_doc();
        assert_eq!(doc["version"], "0.0.2");
        assert_eq!(doc["rules"], old["rules"]);
        assert_eq!(doc["parameters"], json!([{"key":"a","value":1}]));
    }

    #[test]
    fn feed_annotations_must_be_paths() {
        assert!(
            put(json!({"annotations":[{"key":"feed","value":"/whisk.system/alarms/alarm"}]}))
                .is_ok()
        );
        let e = put(json!({"annotations":[{"key":"feed","value":"no path"}]})).unwrap_err();
        assert_eq!(e.to_string(), messages::FEED_INVALID);
    }
}
