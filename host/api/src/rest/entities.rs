//! What the entity collections share: a page of a collection, the stored entity a request
//! names, the PUT body with its size limits, and the revision-checked write.

use std::time::Instant;

use hyper::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};
use shoal_model::documents::{Action, Document, Package, Rule, Trigger};
use shoal_store::{Collection, Entity, EntityWrite};

use super::call::Call;
use super::reply::Reply;
use super::request::{Page, Request};
use crate::app::App;
use crate::error::ApiError;
use crate::messages;
use crate::writers::{Fits, Turn};

/// The document type of one entity collection.
pub(super) trait Kept: Document {
    /// Its collection.
    const COLLECTION: Collection;

    /// When it last changed, epoch ms.
    fn updated(&self) -> i64;
}

macro_rules! kept {
    ($($document:ty => $collection:expr),*) => {$(
        impl Kept for $document {
            const COLLECTION: Collection = $collection;

            fn updated(&self) -> i64 {
                self.updated
            }
        }
    )*};
}

kept!(
    Action => Collection::Actions,
    Package => Collection::Packages,
    Trigger => Collection::Triggers,
    Rule => Collection::Rules
);

/// A stored entity read as its document, with the revision that guards its update.
#[derive(Debug)]
pub(super) struct Stored<T> {
    /// The document.
    pub(super) doc: T,
    /// Its revision.
    pub(super) rev: u64,
}

impl<T: Kept> Stored<T> {
    /// `entity` as a `T`, when it is one of `T`'s collection (else 409 with OpenWhisk's
    /// text); 500 when its document does not read as one.
    pub(super) fn read(entity: Entity) -> Result<Self, ApiError> {
        if entity.collection != T::COLLECTION {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                messages::NOT_IN_COLLECTION,
            ));
        }
        Ok(Stored {
            doc: T::from_doc(&entity.doc)?,
            rev: entity.rev,
        })
    }
}

/// One page of `T`'s collection in `ns` (with packaged actions when `include_packaged`) as a
/// JSON array of `view(doc)`; or `{"<collection>": n}` with `count=true`.
pub(super) async fn list_reply<T: Kept, S: Serialize>(
    app: &App,
    req: &Request,
    ns: &str,
    include_packaged: bool,
    view: impl Fn(T) -> S,
) -> Result<Reply, ApiError> {
    let collection = T::COLLECTION;
    let name = collection.as_str();
    let page = Page::parse(req, name)?;
    if page.count {
        let n = app
            .store
            .count_entities(ns, collection, include_packaged)
            .await?;
        return Ok(Reply::json(StatusCode::OK, &json!({ name: n })));
    }
    let rows = app
        .store
        .list_entities(ns, collection, include_packaged, page.skip, page.limit)
        .await?;
    let out = rows
        .iter()
        .map(|e| T::from_doc(&e.doc).map(&view))
        .collect::<Result<Vec<S>, _>>()?;
    Reply::json_of(StatusCode::OK, &out)
}

/// The stored `T` named `ns/name`, or `None`; 409 when the name is another collection's.
pub(super) async fn existing<T: Kept>(
    app: &App,
    ns: &str,
    name: &str,
) -> Result<Option<Stored<T>>, ApiError> {
    app.store
        .get_entity(ns, name)
        .await?
        .map(Stored::read)
        .transpose()
}

/// The `T` a PUT replaces: `None` on create; 409 when it exists and `overwrite` is not set.
pub(super) async fn replaced<T: Kept>(
    app: &App,
    req: &Request,
    ns: &str,
    name: &str,
) -> Result<Option<Stored<T>>, ApiError> {
    let overwrite = req.flag("overwrite", false)?;
    match existing(app, ns, name).await? {
        Some(_) if !overwrite => Err(ApiError::new(
            StatusCode::CONFLICT,
            messages::ALREADY_EXISTS,
        )),
        old => Ok(old),
    }
}

/// `doc` as the stored entity `ns/name`.
fn doc_entity<T: Kept>(ns: &str, name: &str, doc: &T) -> Entity {
    Entity {
        namespace: ns.to_string(),
        name: name.to_string(),
        collection: T::COLLECTION,
        doc: doc.to_doc(),
        updated: doc.updated(),
        rev: 0,
    }
}

/// The write of `doc` as `ns/name` over revision `old` (which guards the update), for
/// [`shoal_store::Entities::write_entities`].
pub(super) fn doc_write<T: Kept>(ns: &str, name: &str, doc: &T, old: Option<u64>) -> EntityWrite {
    EntityWrite::Put {
        entity: doc_entity(ns, name, doc),
        expected_rev: old,
    }
}

/// Writes `doc` as `ns/name` for the caller of `call`, over revision `old` (which guards the
/// update), and returns the document as written. 413 past the namespace's entity quota.
pub(super) async fn store_doc<T: Kept>(
    call: &Call<'_>,
    ns: &str,
    name: &str,
    doc: &T,
    old: Option<u64>,
) -> Result<Value, ApiError> {
    let entity = doc_entity(ns, name, doc);
    let mut turn = within_quota(call, &entity).await?;
    let written = entity.doc.clone();
    call.app.store.put_entity(entity, old).await?;
    turn.stored();
    Ok(written)
}

/// 413 when storing `entity` would take the stored entities of its namespace (packages
/// included) past the caller's `entityBytes`: what one namespace may add to the store that
/// every namespace shares. Otherwise the namespace's turn to write, which the caller holds
/// until `entity` is stored (and then marks [`crate::writers::Bound::stored`]), so that no
/// other write of the namespace passes on the same sum (see [`crate::writers`]). Costs a wait for that turn and a count of `entity`'s JSON (off
/// the I/O thread); a scan of the namespace's document lengths only when the namespace's
/// [`crate::writers::Bound`] is stale or leaves no room for `entity`.
pub(super) async fn within_quota(call: &Call<'_>, entity: &Entity) -> Result<Turn, ApiError> {
    let allowed = call.identity()?.limits.entity_bytes;
    let root = entity
        .namespace
        .split('/')
        .next()
        .unwrap_or(&entity.namespace);
    let own = off_the_io_thread(|| shoal_model::activation::json_len(&entity.doc));
    let own = u64::try_from(own).unwrap_or(u64::MAX);
    let mut turn = call.app.entity_writers.turn(root).await;
    let except = (entity.namespace.as_str(), entity.name.as_str());
    let others = call.app.store.entity_bytes(root, except);
    let alone = call.app.store.sharing() == 1;
    match turn
        .fits(own, allowed, Instant::now(), alone, others)
        .await?
    {
        Fits::Yes => Ok(turn),
        Fits::No(total) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            messages::entities_too_large(total, allowed),
        )),
    }
}

/// Largest `exec` accepted on PUT (spec §8.2).
const MAX_EXEC_BYTES: usize = 48 * 1024 * 1024;
/// Largest `parameters` / `annotations` accepted on PUT.
const MAX_PARAMS_BYTES: usize = 1024 * 1024;

/// The body of an entity PUT: a JSON object whose `exec`, `parameters` and `annotations` are
/// within OpenWhisk's sizes (413 with its text otherwise).
pub(super) fn put_body(req: &Request) -> Result<Map<String, Value>, ApiError> {
    let body = req.json_object()?;
    for (field, max) in [
        ("exec", MAX_EXEC_BYTES),
        ("parameters", MAX_PARAMS_BYTES),
        ("annotations", MAX_PARAMS_BYTES),
    ] {
        if let Some(v) = body.get(field) {
            let n = v.to_string().len();
            if n > max {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("{field} larger than allowed: {n} > {max} bytes."),
                ));
            }
        }
    }
    Ok(body)
}

/// Epoch milliseconds now.
pub(super) fn now_ms() -> i64 {
    crate::activation::epoch_ms(std::time::SystemTime::now())
}

/// Runs `work`, CPU-heavy control-plane work such as compiling an action's code, without
/// holding the I/O thread: on the multi-threaded I/O runtime the thread's other tasks move to
/// another thread meanwhile (`block_in_place`). Elsewhere (unit tests) it just runs.
pub(super) fn off_the_io_thread<T>(work: impl FnOnce() -> T) -> T {
    let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
    match flavor {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
