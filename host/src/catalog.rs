//! The built-in catalog: namespace `whisk.system` and its public package `utils` (`echo`,
//! `cat`, `sort`, `split`, `head`, `date`, `namespace`, `smash`), real JS actions whose
//! sources live in `fixtures/whisk.system/utils/`. Installed at start: missing entities are
//! created and actions whose code changed in this build are updated; nothing else is touched.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use shoal_router::RoutingTable;
use shoal_store::{Collection, Entity, Store};

use crate::action::ActionPut;
use crate::activation::epoch_ms;
use crate::error::ApiError;
use crate::package::PackagePut;

/// The system namespace.
pub const NAMESPACE: &str = "whisk.system";
/// The utilities package.
const UTILS: &str = "utils";

/// `(name, description, source)` of each `utils` action.
const UTILS_ACTIONS: [(&str, &str, &str); 8] = [
    (
        "echo",
        "Returns the input",
        include_str!("../../fixtures/whisk.system/utils/echo.js"),
    ),
    (
        "cat",
        "Concatenates input into a string",
        include_str!("../../fixtures/whisk.system/utils/cat.js"),
    ),
    (
        "sort",
        "Sorts an array",
        include_str!("../../fixtures/whisk.system/utils/sort.js"),
    ),
    (
        "split",
        "Split a string into an array",
        include_str!("../../fixtures/whisk.system/utils/split.js"),
    ),
    (
        "head",
        "Extract prefix of an array",
        include_str!("../../fixtures/whisk.system/utils/head.js"),
    ),
    (
        "date",
        "Current date and time",
        include_str!("../../fixtures/whisk.system/utils/date.js"),
    ),
    (
        "namespace",
        "Returns namespace for the authorization key used to invoke this action",
        include_str!("../../fixtures/whisk.system/utils/namespace.js"),
    ),
    (
        "smash",
        "Nests all properties under given property",
        include_str!("../../fixtures/whisk.system/utils/smash.js"),
    ),
];

/// Installs the catalog's packages and actions into `store` (the namespace's subject is the
/// caller's job). A few indexed reads, plus one write per missing or changed entity.
pub fn install(store: &Store, table: &RoutingTable) -> Result<(), ApiError> {
    let now = epoch_ms(SystemTime::now());
    if store.get_entity(NAMESPACE, UTILS)?.is_none() {
        let mut body = Map::new();
        body.insert("publish".into(), Value::Bool(true));
        body.insert(
            "annotations".into(),
            json!([{"key": "description", "value": "Building blocks that format and assemble data"}]),
        );
        let doc = PackagePut::parse(&body, NAMESPACE)?.build(NAMESPACE, UTILS, None, None, now);
        put(store, NAMESPACE, UTILS, Collection::Packages, doc, None)?;
    }
    let path = format!("{NAMESPACE}/{UTILS}");
    for (name, description, code) in UTILS_ACTIONS {
        let old = store.get_entity(&path, name)?;
        if old.as_ref().is_some_and(|o| o.doc["exec"]["code"] == code) {
            continue;
        }
        let put_body = ActionPut::parse(&json!({
            "exec": {"kind": "nodejs:default", "code": code},
            "annotations": [{"key": "description", "value": description}],
        }))?;
        let doc = match &old {
            Some(o) => put_body.update(&o.doc, table, now)?,
            None => put_body.create(&path, name, table, now)?,
        };
        put(
            store,
            &path,
            name,
            Collection::Actions,
            doc,
            old.map(|o| o.rev),
        )?;
    }
    Ok(())
}

fn put(
    store: &Store,
    namespace: &str,
    name: &str,
    collection: Collection,
    doc: Value,
    expected_rev: Option<u64>,
) -> Result<(), ApiError> {
    let entity = Entity {
        namespace: namespace.to_string(),
        name: name.to_string(),
        collection,
        updated: doc["updated"].as_i64().unwrap_or_default(),
        doc,
        rev: 0,
    };
    store.put_entity(&entity, expected_rev)?;
    Ok(())
}
