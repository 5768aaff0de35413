//! Integration tests for `shoal-store`: the public API against a real on-disk database.

mod activations;
mod apis;
mod entities;
mod feeds;
mod subjects;

use serde_json::json;
use shoal_store::{ActivationRecord, Collection, Entity};

/// An entity whose doc mirrors its identity, so tests can tell documents apart.
pub fn entity(namespace: &str, name: &str, collection: Collection, updated: i64) -> Entity {
    Entity {
        namespace: namespace.into(),
        name: name.into(),
        collection,
        doc: json!({"namespace": namespace, "name": name, "updated": updated}),
        updated,
        rev: 0,
    }
}

/// An activation record with a deterministic id derived from `n`.
pub fn activation(namespace: &str, n: u64, filter_name: &str, start: i64) -> ActivationRecord {
    let id = format!("{n:032x}");
    let name = filter_name
        .rsplit('/')
        .next()
        .unwrap_or(filter_name)
        .to_owned();
    ActivationRecord {
        namespace: namespace.into(),
        doc: json!({"namespace": namespace, "name": name, "activationId": id, "start": start})
            .to_string(),
        activation_id: id,
        name,
        filter_name: filter_name.into(),
        start,
    }
}
