//! Triggers (spec §2.5): the stored document built from a PUT body. A new trigger has
//! `annotations: []`, `limits: {}` and version `0.0.1`; an update replaces the given fields
//! and keeps the `rules` links. Pure logic; no I/O.

use serde_json::{Map, Value, json};

use crate::WhiskError;
use crate::entity;
use crate::messages;
use crate::put::CommonPut;
use crate::rule::FqName;

/// What a trigger PUT body asks for. Lives for one request.
#[derive(Debug)]
pub struct TriggerPut {
    common: CommonPut,
    limits: Option<Value>,
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
            Some(Value::Object(l)) => Some(Value::Object(l.clone())),
            Some(_) => {
                return Err(WhiskError::bad_request(messages::malformed(
                    "limits must be an object",
                )));
            }
        };
        Ok(TriggerPut { common, limits })
    }

    /// The stored document of `ns/name`, over `old` on update.
    pub fn build(self, ns: &str, name: &str, old: Option<&Value>, now: i64) -> Value {
        let mut doc = Map::new();
        doc.insert("namespace".into(), json!(ns));
        doc.insert("name".into(), json!(name));
        let limits = self
            .limits
            .or_else(|| old.map(|o| o["limits"].clone()))
            .unwrap_or_else(|| json!({}));
        doc.insert("limits".into(), limits);
        self.common.apply(&mut doc, old, true);
        if let Some(rules) = old.and_then(|o| o.get("rules")) {
            doc.insert("rules".into(), rules.clone());
        }
        doc.insert("updated".into(), json!(now));
        Value::Object(doc)
    }
}

/// The list summary of a trigger document (spec §2.2).
pub fn summary(doc: &Value) -> Value {
    json!({
        "namespace": doc["namespace"], "name": doc["name"], "version": doc["version"],
        "publish": doc["publish"], "annotations": doc["annotations"], "updated": doc["updated"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: Value) -> Result<TriggerPut, WhiskError> {
        TriggerPut::parse(v.as_object().unwrap())
    }

    #[test]
    fn new_triggers_have_openwhisk_defaults() {
        let doc = put(json!({})).unwrap().build("g", "t", None, 3);
        assert_eq!(doc["annotations"], json!([]));
        assert_eq!(doc["limits"], json!({}));
        assert_eq!(doc["version"], "0.0.1");
        assert!(doc.get("rules").is_none());
    }

    #[test]
    fn updates_keep_rules_and_bump_version() {
        let old = json!({"version":"0.0.1","limits":{},"parameters":[],"annotations":[],"publish":false,"rules":{"g/r":{"status":"active"}}});
        let doc = put(json!({"parameters":[{"key":"a","value":1}]}))
            .unwrap()
            .build("g", "t", Some(&old), 4);
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
