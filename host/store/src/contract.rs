//! The store's contract: the async traits every backend implements and everything above the
//! store is written against, and the change stream that keeps caches coherent.
//!
//! A backend is one type implementing all six traits; [`Store`] names that whole and is what
//! the host holds (`Arc<dyn Store>`). Methods take `&self` and are called from many tasks at
//! once. Async methods may run their work on another thread (the SQLite backend moves fsynced
//! writes and scans to tokio's blocking pool); the activation log's appends are synchronous
//! because they only enqueue. Every implementation passes [`crate::conformance`].

use async_trait::async_trait;
use serde_json::Value;

use crate::{
    ActivationQuery, ActivationRecord, Collection, Entity, FeedSchedule, GatewayApi, StoreError,
    Subject, WriterStats,
};

/// Actions, packages, triggers and rules, keyed by document id `namespace/name`, which is
/// unique across the four collections.
#[async_trait]
pub trait Entities: Send + Sync {
    /// The entity `namespace/name`, in whatever collection, or `None`.
    async fn get_entity(&self, namespace: &str, name: &str) -> Result<Option<Entity>, StoreError>;

    /// Creates or updates an entity; returns its new revision (`entity.rev` is ignored).
    ///
    /// `expected_rev == None` creates (rev 1) and fails with [`StoreError::Exists`] if the doc
    /// id is taken in any collection. `Some(r)` updates and fails with
    /// [`StoreError::NotFound`] if there is no such doc, or [`StoreError::Conflict`] if its
    /// revision is not `r` or it is in another collection. Durable when it returns `Ok`.
    async fn put_entity(
        &self,
        entity: Entity,
        expected_rev: Option<u64>,
    ) -> Result<u64, StoreError>;

    /// Deletes the entity `namespace/name` and returns it as it was.
    ///
    /// With `Some(r)`, fails with [`StoreError::Conflict`] unless the current revision is `r`;
    /// fails with [`StoreError::NotFound`] if there is no such doc.
    async fn delete_entity(
        &self,
        namespace: &str,
        name: &str,
        expected_rev: Option<u64>,
    ) -> Result<Entity, StoreError>;

    /// Makes `writes`, in order, as one transaction: all of them or none. Each checks what
    /// [`Entities::put_entity`] or [`Entities::delete_entity`] checks; the first that fails
    /// fails the whole with its error, and nothing is changed. Every written entity is
    /// announced once the transaction is durable. What a rule write and the trigger links it
    /// changes are made with.
    async fn write_entities(&self, writes: Vec<EntityWrite>) -> Result<(), StoreError>;

    /// One page of a collection, newest `updated` first (ties by namespace, then name), as
    /// lists show them: each document without an action's `exec.code` and without
    /// `parameters`, and at most [`crate::MAX_PAGE_BYTES`] of documents (the first always).
    ///
    /// `include_packaged` adds entities whose namespace starts with `namespace/` (actions inside
    /// packages). `limit` is literal (`0` returns nothing).
    async fn list_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<Entity>, StoreError>;

    /// How many entities [`Entities::list_entities`] would page through.
    async fn count_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
    ) -> Result<u64, StoreError>;

    /// The bytes of the stored documents of every entity of namespace `root` and of its
    /// packages, but `except` (`(namespace, name)`: the entity a write is about to replace).
    /// What a namespace's quota of stored entities counts. A scan of the namespace's rows
    /// that reads each document's length, not the document.
    async fn entity_bytes(&self, root: &str, except: (&str, &str)) -> Result<u64, StoreError>;
}

/// One write of [`Entities::write_entities`].
#[derive(Debug, Clone, PartialEq)]
pub enum EntityWrite {
    /// Creates or updates `entity`, as [`Entities::put_entity`] does.
    Put {
        /// The entity as it is to be stored (`rev` ignored).
        entity: Entity,
        /// `None` creates; `Some(r)` updates revision `r`.
        expected_rev: Option<u64>,
    },
    /// Deletes `namespace/name`, as [`Entities::delete_entity`] does.
    Delete {
        /// Its namespace.
        namespace: String,
        /// Its simple name.
        name: String,
        /// `Some(r)`: only if its revision is `r`.
        expected_rev: Option<u64>,
    },
}

impl EntityWrite {
    /// The change that announces this write.
    pub fn change(&self) -> Change {
        let (namespace, name) = match self {
            EntityWrite::Put { entity, .. } => (&entity.namespace, &entity.name),
            EntityWrite::Delete {
                namespace, name, ..
            } => (namespace, name),
        };
        Change::Entity {
            namespace: namespace.clone(),
            name: name.clone(),
        }
    }
}

/// Namespaces and the credentials that own them.
#[async_trait]
pub trait Subjects: Send + Sync {
    /// Inserts or replaces the subject of `subject.namespace`. Fails with
    /// [`StoreError::Exists`] if its uuid already belongs to another namespace.
    async fn put_subject(&self, subject: Subject) -> Result<(), StoreError>;

    /// The subject whose API key has this uuid (the Basic-auth user), or `None`.
    async fn subject_by_uuid(&self, uuid: &str) -> Result<Option<Subject>, StoreError>;

    /// The subject that owns namespace `namespace`, or `None`.
    async fn subject_by_namespace(&self, namespace: &str) -> Result<Option<Subject>, StoreError>;
}

/// The schedules of feed-driven triggers, and which of their ticks were fired.
#[async_trait]
pub trait Feeds: Send + Sync {
    /// Inserts or replaces the schedule of `feed.trigger` (keeping nothing of an earlier one).
    async fn put_feed(&self, feed: FeedSchedule) -> Result<(), StoreError>;

    /// Removes the schedule of `trigger`; returns it, or `None` if there was none.
    async fn delete_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError>;

    /// The schedule of `trigger`, or `None`.
    async fn get_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError>;

    /// Every stored schedule.
    async fn list_feeds(&self) -> Result<Vec<FeedSchedule>, StoreError>;

    /// Claims ticks for firing, each `(trigger, tick in epoch ms)`, all in one write (the
    /// scheduler claims a round of due ticks at once: one fsync or one statement, not one
    /// per alarm). For each, in order: true exactly once per tick and only for a tick later
    /// than the last claimed one, so a tick is never fired twice, even across restarts and
    /// nodes; false for a trigger without a schedule. A trigger listed twice is claimed at
    /// most once.
    async fn claim_feed_ticks(&self, ticks: &[(String, i64)]) -> Result<Vec<bool>, StoreError>;
}

/// The built-in API gateway's documents: one per namespace and base path.
#[async_trait]
pub trait Apis: Send + Sync {
    /// Inserts or replaces the document of `api.namespace` + `api.base_path`; an existing
    /// API keeps its subscriptions (`api.subscriptions` is written only on insert).
    async fn put_api(&self, api: GatewayApi) -> Result<(), StoreError>;

    /// Inserts or replaces `api.namespace` + `api.base_path`, subscriptions included.
    async fn put_api_with_subscriptions(&self, api: GatewayApi) -> Result<(), StoreError>;

    /// The gateway API of `namespace` at `base_path`, or `None`.
    async fn get_api(
        &self,
        namespace: &str,
        base_path: &str,
    ) -> Result<Option<GatewayApi>, StoreError>;

    /// Removes the gateway API of `namespace` at `base_path`; false if there was none.
    async fn delete_api(&self, namespace: &str, base_path: &str) -> Result<bool, StoreError>;

    /// The base path and `updated` of every gateway API of `namespace`, by base path: what
    /// tells a cache whether any of them changed, without reading their documents. A rewrite
    /// moves `updated` forward even within the same millisecond.
    async fn api_versions(&self, namespace: &str) -> Result<Vec<(String, i64)>, StoreError>;

    /// Every gateway API of `namespace`, by base path.
    async fn list_apis(&self, namespace: &str) -> Result<Vec<GatewayApi>, StoreError>;
}

/// The activation log: records appended by activations, read back by the API.
#[async_trait]
pub trait ActivationLog: Send + Sync {
    /// Appends a record without waiting for it to be stored; it is readable at once. A record
    /// with the same `(namespace, activation_id)` as an earlier one replaces it.
    fn put_activation(&self, record: ActivationRecord);

    /// Appends a record and resolves once it is durable, or with why it could not be.
    /// `settles` says the activation's acceptance was stored with
    /// [`ActivationLog::accept_activation`], whose stand-in this record replaces.
    fn put_activation_durable(&self, record: ActivationRecord, settles: bool) -> Committed;

    /// Stores that an activation was accepted, with `stand_in`: the record it ends as if the
    /// process stops before its final record is durable. Not readable meanwhile.
    fn accept_activation(&self, stand_in: ActivationRecord) -> Committed;

    /// `Err` with the reason while the log cannot write; `Ok` once it can again.
    fn health(&self) -> Result<(), String>;

    /// How many accepted activations the previous run left unfinished, ended with their
    /// stand-ins when the store opened.
    fn recovered(&self) -> u64;

    /// A snapshot of the log writer's counters.
    fn writer_stats(&self) -> WriterStats;

    /// The activation document `namespace/id`, including records not yet written, or `None`.
    async fn get_activation(&self, namespace: &str, id: &str) -> Result<Option<Value>, StoreError>;

    /// One page of activations matching `query`, newest `start` first (ties by activation
    /// id, descending), including records not yet written.
    async fn list_activations(&self, query: &ActivationQuery) -> Result<Vec<Value>, StoreError>;

    /// How many activations match `query` (`skip` and `limit` ignored).
    async fn count_activations(&self, query: &ActivationQuery) -> Result<u64, StoreError>;

    /// Resolves once every record appended before the call is durable.
    async fn flush(&self);

    /// Upkeep of the log as of `now` (epoch ms), which the host runs every hour: removes the
    /// records older than `days` (every namespace; `None` keeps them) and those older than a
    /// namespace's own [`crate::RETENTION_LIMIT`] (which can only shorten `days`), and prepares
    /// the log's layout for the coming days. A record is removed once its retention has passed
    /// and at most a day and an hour later; returns how many were removed. Records still queued are not
    /// affected. Safe to run from several processes at once.
    async fn expire_activations(&self, days: Option<u32>, now: i64) -> Result<u64, StoreError>;
}

/// What changed in the store: the change stream's events, each naming what a cache must drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The entity `namespace/name` was created, updated or deleted.
    Entity {
        /// Its namespace (`ns` or `ns/package`).
        namespace: String,
        /// Its simple name.
        name: String,
    },
    /// The subject of `namespace` (its key or limits) was written.
    Subject {
        /// The namespace it owns.
        namespace: String,
    },
    /// A gateway API of `namespace` was written or removed.
    Api {
        /// The namespace that owns it.
        namespace: String,
    },
    /// The feed schedule of `trigger` (`/namespace/name`) was written or removed (not when a
    /// tick is claimed).
    Feed {
        /// The trigger it fires.
        trigger: String,
    },
    /// Changes may have been missed (a shared backend lost its stream of other processes'
    /// writes for a while): drop every cached read.
    Missed,
}

/// A change-stream subscriber: called once per change, on the writing thread, so it must be
/// quick and must not block (drop a cache entry, set a flag).
pub type Listener = Box<dyn Fn(&Change) + Send + Sync>;

/// The change stream: every write of an entity, subject, feed schedule or gateway API is
/// announced to every
/// listener after it is durable and before the write returns to its caller, so a process
/// reads its own writes through any cache its listeners keep. A backend shared by several
/// processes also announces the others' writes, within a delay it documents.
pub trait Changes: Send + Sync {
    /// Adds `listener` for the rest of the store's life.
    fn watch(&self, listener: Listener);

    /// How many processes share the store now, this one included: 1 for a store only this
    /// process uses. What per-process shares of cluster-wide limits are divided by.
    fn sharing(&self) -> u64 {
        1
    }
}

/// What a feed service needs of a store: the schedules and the changes to them. An
/// `Arc<dyn Store>` converts to an `Arc<dyn FeedStore>`.
pub trait FeedStore: Feeds + Changes {}

impl<T: Feeds + Changes + ?Sized> FeedStore for T {}

/// A whole store backend: what the host holds, as `Arc<dyn Store>`.
pub trait Store: Entities + Subjects + FeedStore + Apis + ActivationLog {}

impl<T: Entities + Subjects + Feeds + Apis + ActivationLog + Changes + ?Sized> Store for T {}

/// Resolves once a durable append is written, or with why it was not.
#[derive(Debug)]
pub struct Committed(tokio::sync::oneshot::Receiver<Result<(), String>>);

impl Committed {
    /// A pending commit and the sender its backend resolves it with (`Err` carries why the
    /// record could not be written). Dropping the sender resolves it as a failure.
    pub fn channel() -> (tokio::sync::oneshot::Sender<Result<(), String>>, Committed) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (tx, Committed(rx))
    }
}

impl std::future::Future for Committed {
    type Output = Result<(), StoreError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| {
            r.unwrap_or_else(|_| Err("the activation writer stopped".into()))
                .map_err(StoreError::Io)
        })
    }
}
