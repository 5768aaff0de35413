//! The built-in catalog: namespace `whisk.system` and its public packages `utils` (`echo`,
//! `cat`, `sort`, `split`, `head`, `date`, `namespace`, `smash`), real JS actions whose
//! sources live in `fixtures/whisk.system/utils/`, and one package per feed provider
//! (`alarms`), whose feed actions (annotated `feed: true`) its provider serves (internal kind
//! [`crate::feeds::kind_of`] the package). Installed at start: missing entities are created
//! and actions whose code changed in this build are updated; nothing else is touched.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use shoal_router::RoutingTable;
use shoal_store::{Collection, Entity, Store, StoreError};

use crate::activation::epoch_ms;
use crate::entity::{ActionLimits, KeyValue};
use crate::feeds::{FeedPackage, kind_of};
use crate::put::ActionPut;
use crate::put::PackagePut;
use shoal_model::WhiskError;
use shoal_model::documents::{Action, Binding, Document, Exec};

/// The system namespace.
pub const NAMESPACE: &str = "whisk.system";
/// The utilities package.
const UTILS: &str = "utils";

/// The `code` of a feed action: it has none of its own; this says what serves it.
const FEED_CODE: &str = "// served natively by a shoal feed provider";

/// `(name, description, source)` of each `utils` action.
const UTILS_ACTIONS: [(&str, &str, &str); 8] = [
    (
        "echo",
        "Returns the input",
        include_str!("../../../fixtures/whisk.system/utils/echo.js"),
    ),
    (
        "cat",
        "Concatenates input into a string",
        include_str!("../../../fixtures/whisk.system/utils/cat.js"),
    ),
    (
        "sort",
        "Sorts an array",
        include_str!("../../../fixtures/whisk.system/utils/sort.js"),
    ),
    (
        "split",
        "Split a string into an array",
        include_str!("../../../fixtures/whisk.system/utils/split.js"),
    ),
    (
        "head",
        "Extract prefix of an array",
        include_str!("../../../fixtures/whisk.system/utils/head.js"),
    ),
    (
        "date",
        "Current date and time",
        include_str!("../../../fixtures/whisk.system/utils/date.js"),
    ),
    (
        "namespace",
        "Returns namespace for the authorization key used to invoke this action",
        include_str!("../../../fixtures/whisk.system/utils/namespace.js"),
    ),
    (
        "smash",
        "Nests all properties under given property",
        include_str!("../../../fixtures/whisk.system/utils/smash.js"),
    ),
];

/// Installs the catalog's packages and actions into `store` (the namespace's subject is the
/// caller's job), with the packages of `feeds`. A few indexed reads, plus one write per
/// missing or changed entity.
pub async fn install(
    store: &dyn Store,
    table: &RoutingTable,
    feeds: &[FeedPackage],
) -> Result<(), WhiskError> {
    let now = epoch_ms(SystemTime::now());
    let utils = (
        UTILS,
        "Building blocks that format and assemble data",
        vec![],
    );
    let packages = feeds
        .iter()
        .map(|f| (f.name, f.description, f.parameters.clone()));
    for (package, description, parameters) in std::iter::once(utils).chain(packages) {
        if store.get_entity(NAMESPACE, package).await?.is_none() {
            let mut body = Map::new();
            body.insert("publish".into(), Value::Bool(true));
            body.insert("parameters".into(), json!(parameters));
            body.insert(
                "annotations".into(),
                json!([{"key": "description", "value": description}]),
            );
            let built = PackagePut::parse(&body, NAMESPACE)?.build(
                NAMESPACE,
                package,
                Binding::Unbound {},
                None,
                now,
            );
            put(
                store,
                (NAMESPACE, package),
                Collection::Packages,
                (built.to_doc(), now),
                None,
            )
            .await?;
        }
    }
    for feed in feeds {
        install_feed_actions(store, feed, now).await?;
    }
    let path = format!("{NAMESPACE}/{UTILS}");
    for (name, description, code) in UTILS_ACTIONS {
        let old = match store.get_entity(&path, name).await? {
            Some(e) => Some((Action::from_doc(&e.doc)?, e.rev)),
            None => None,
        };
        if old
            .as_ref()
            .is_some_and(|(o, _)| o.exec.code.as_deref() == Some(code))
        {
            continue;
        }
        let put_body = ActionPut::parse(&json!({
            "exec": {"kind": "nodejs:default", "code": code},
            "annotations": [{"key": "description", "value": description}],
        }))?;
        let built = match &old {
            Some((o, _)) => put_body.update(o, table, now)?,
            None => put_body.create(&path, name, table, now)?,
        };
        let rev = old.map(|(_, rev)| rev);
        put(
            store,
            (&path, name),
            Collection::Actions,
            (built.to_doc(), now),
            rev,
        )
        .await?;
    }
    Ok(())
}

/// The feed actions of `feed`. Their kind is internal, so they are written as documents
/// rather than through a user's PUT (which refuses internal kinds).
async fn install_feed_actions(
    store: &dyn Store,
    feed: &FeedPackage,
    now: i64,
) -> Result<(), WhiskError> {
    let path = format!("{NAMESPACE}/{}", feed.name);
    let kind = kind_of(feed.name);
    for action in &feed.actions {
        if store.get_entity(&path, action.name).await?.is_some() {
            continue;
        }
        let built = Action {
            namespace: path.clone(),
            name: action.name.to_string(),
            exec: Exec {
                kind: kind.clone(),
                code: Some(FEED_CODE.to_string()),
                binary: Some(false),
                ..Exec::default()
            },
            parameters: action.parameters.clone(),
            limits: ActionLimits::default(),
            version: "0.0.1".to_string(),
            publish: false,
            annotations: vec![
                KeyValue::new("feed", json!(true)),
                KeyValue::new("description", json!(action.description)),
                KeyValue::new("provide-api-key", json!(false)),
                KeyValue::new("exec", json!(kind)),
            ],
            updated: now,
        };
        put(
            store,
            (&path, action.name),
            Collection::Actions,
            (built.to_doc(), now),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Writes `doc`, changed at `updated`, as `namespace/name` in `collection`, over revision
/// `expected_rev` when it replaces one. Another node that installs the catalog at the same
/// time may write it first: that is as good.
async fn put(
    store: &dyn Store,
    (namespace, name): (&str, &str),
    collection: Collection,
    (doc, updated): (Value, i64),
    expected_rev: Option<u64>,
) -> Result<(), WhiskError> {
    let entity = Entity {
        namespace: namespace.to_string(),
        name: name.to_string(),
        collection,
        updated,
        doc,
        rev: 0,
    };
    match store.put_entity(entity, expected_rev).await {
        Ok(_) | Err(StoreError::Exists | StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
