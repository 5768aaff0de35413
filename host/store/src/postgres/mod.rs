//! The PostgreSQL backend: entities, subjects, feeds, gateway APIs and the activation log in
//! one PostgreSQL database that any number of shoal processes (nodes) share.
//!
//! A [`PostgresStore`] holds:
//!
//! - **a connection pool** (`deadpool-postgres`) for entity, subject, feed and API reads and
//!   writes, and activation reads. Each write is one statement or one transaction; a write
//!   that changes what caches hold also sends a notification in the same transaction.
//! - **one activation writer thread** with its own connection, fed by the same queue as the
//!   SQLite backend's ([`crate::log_queue`]): appends only enqueue, and the writer commits
//!   whatever is queued (up to 1,000 records) as one multi-row statement per table. Reads
//!   merge the committed rows with what is still queued, so a record is readable on this
//!   node from the moment it is appended, and on every node once committed. The writer
//!   reconnects by itself; while PostgreSQL cannot be written the log is unhealthy and
//!   durable appends fail with the reason.
//! - **a listener** (`LISTEN shoal_changes`) on its own connection: other nodes' writes reach
//!   this node's change-stream listeners as soon as PostgreSQL delivers their notification
//!   (at their commit). A node announces its own writes directly after they commit and skips
//!   their notifications. If the listening connection drops, the node reconnects and
//!   announces [`Change::Missed`]: every cache drops what it holds.
//! - **a node row** (`nodes`, with a heartbeat every [`HEARTBEAT`]). An accepted activation
//!   (`accept_activation`) is stored with the node that runs it; when a node's heartbeat is
//!   older than [`LEASE`] (it died), any node ends its unfinished activations with their
//!   stand-ins, once each. A node that stops cleanly removes its row.
//!
//! The schema is versioned (`schema.rs`): a store applies missing migrations when it opens.

mod activations;
mod partitions;
mod schema;
mod tls;

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use parking_lot::{Mutex, RwLock};
use serde_json::{Value, json};
use shoal_router::json as json_text;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Row};

use tls::Target;

use crate::heavy::{ScanTurns, parse_sized};
use crate::log_queue::{
    Counters, Kind, Log, MAX_QUEUED, Msg, Paged, Pending, STORED_WRAPPING, parse,
};
use crate::{
    ActivationLog, ActivationQuery, ActivationRecord, Apis, Change, Changes, Collection, Committed,
    Entities, Entity, EntityWrite, FeedSchedule, Feeds, GatewayApi, Listener, StoreError, Subject,
    Subjects, WriterStats,
};
use activations::Doc;

/// How often a node proves it is alive, and sweeps for the activations of dead nodes.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a node may miss its heartbeat before other nodes take it for dead and end its
/// accepted activations with their stand-ins.
pub const LEASE: Duration = Duration::from_secs(10);

/// Connections in the pool.
const POOL_SIZE: usize = 8;

/// The notification channel of the change stream.
const CHANNEL: &str = "shoal_changes";

/// How long the listener waits before it reconnects.
const RECONNECT: Duration = Duration::from_millis(500);

/// A PostgreSQL error: [`StoreError::Unavailable`] when the server could not be reached or
/// the connection dropped (the next attempt may succeed), [`StoreError::Io`] otherwise.
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        if io || e.is_closed() {
            StoreError::Unavailable(format!("PostgreSQL: {e}"))
        } else {
            StoreError::Io(format!("PostgreSQL: {e}"))
        }
    }
}

/// No connection could be had: the server is down, unreachable or refused this node. The
/// text may reach API callers (a 503), so it names no more than that.
impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Unavailable(format!("PostgreSQL: {e}"))
    }
}

/// `e` and every error beneath it ("db error" alone names no cause: the server's message is
/// its source), for the operator who starts a node, never for API callers.
fn described(e: &dyn std::error::Error) -> String {
    let mut text = format!("PostgreSQL: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// A store in a PostgreSQL database, shared by every node that opens it. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore(Arc<Inner>);

struct Inner {
    pool: Pool,
    /// This process's id in `nodes` and in its change notifications.
    node: String,
    listeners: RwLock<Vec<Listener>>,
    log: Log,
    recovered: AtomicU64,
    /// Nodes with a live heartbeat, this one included, as of the last heartbeat.
    live: AtomicU64,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Each namespace's turns at scans (lists, counts, large reads), so that its slow ones
    /// cannot hold every pooled connection.
    scans: ScanTurns,
    /// The listener and the heartbeat, stopped when the store drops.
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("node", &self.0.node)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Whether `url` is a PostgreSQL URL this backend can use; `Err` says why not.
    pub fn check_url(url: &str) -> Result<(), String> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!("{url:?} is not a postgres:// URL"));
        }
        Target::parse(url)
            .map(drop)
            .map_err(|e| format!("{url:?} is not a PostgreSQL URL: {e}"))
    }

    /// Connects to the database `url` (`postgres://user:password@host:port/database`, with
    /// `?sslmode=require` for TLS and `&sslrootcert=FILE` for a CA of its own: see
    /// `tls.rs`), applies missing migrations, registers this node and starts its writer,
    /// listener and heartbeat. Must be called within a tokio runtime. Fails with why when the
    /// database cannot be reached or migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target =
            Target::parse(url).map_err(|e| StoreError::Io(format!("not a PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            target.config.clone(),
            target.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Io(format!("PostgreSQL connection pool: {e}")))?;
        let node = format!("{:032x}", rand::random::<u128>());
        {
            let mut client = pool
                .get()
                .await
                .map_err(|e| StoreError::Unavailable(described(&e)))?;
            schema::migrate(&mut client).await?;
            client
                .execute(
                    "INSERT INTO nodes (id, heartbeat) VALUES ($1, now())",
                    &[&node],
                )
                .await?;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(MAX_QUEUED);
        let pending = Arc::new(Pending::default());
        let counters = Arc::new(Counters::default());
        let writer = {
            let (target, node) = (target.clone(), node.clone());
            let (pending, counters) = (Arc::clone(&pending), Arc::clone(&counters));
            std::thread::Builder::new()
                .name("shoal-pg-writer".into())
                .spawn(move || activations::run_writer(target, node, rx, pending, counters))
                .map_err(|e| StoreError::Io(format!("cannot start the activation writer: {e}")))?
        };
        let store = PostgresStore(Arc::new(Inner {
            pool,
            node,
            listeners: RwLock::new(Vec::new()),
            log: Log {
                tx,
                pending,
                counters,
            },
            recovered: AtomicU64::new(0),
            live: AtomicU64::new(1),
            writer: Mutex::new(Some(writer)),
            scans: ScanTurns::default(),
            background: Mutex::new(Vec::new()),
        }));
        store.sweep().await?;
        store.count_live().await?;
        let subscription = subscribe(&target).await?;
        let weak = Arc::downgrade(&store.0);
        let background = vec![
            tokio::spawn(listen(target, weak.clone(), subscription)),
            tokio::spawn(heartbeat(weak)),
        ];
        *store.0.background.lock() = background;
        Ok(store)
    }

    /// This node's id (in `nodes` and in its change notifications).
    pub fn node(&self) -> &str {
        &self.0.node
    }

    /// Ends the accepted activations of dead nodes (heartbeat older than [`LEASE`]) with their
    /// stand-ins and removes those nodes; returns how many it ended.
    async fn sweep(&self) -> Result<u64, StoreError> {
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let lease = LEASE.as_secs_f64();
        tx.execute(
            "DELETE FROM nodes WHERE heartbeat < now() - make_interval(secs => $1)",
            &[&lease],
        )
        .await?;
        let row = tx
            .query_one(
                "WITH ended AS (
                    DELETE FROM accepted a
                    WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = a.node)
                    RETURNING namespace, activation_id, name, filter_name, start, doc
                ), kept AS (
                    INSERT INTO activations (namespace, activation_id, name, filter_name, start, doc)
                    SELECT * FROM ended
                    ON CONFLICT (namespace, activation_id, start) DO NOTHING
                )
                SELECT count(*) FROM ended",
                &[],
            )
            .await?;
        tx.commit().await?;
        let ended = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
        if ended > 0 {
            tracing::warn!(
                ended,
                "ended the accepted activations of stopped nodes with whisk internal errors"
            );
            self.0.recovered.fetch_add(ended, Ordering::Relaxed);
        }
        Ok(ended)
    }

    /// Commits `tx` with a notification of each of `changes` to the other nodes, then
    /// announces them to this node's listeners.
    async fn commit(
        &self,
        tx: deadpool_postgres::Transaction<'_>,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        for change in changes {
            let payload = notification(&self.0.node, change).to_string();
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .await?;
        }
        tx.commit().await?;
        for change in changes {
            self.0.announce(change);
        }
        Ok(())
    }
}

impl Inner {
    fn announce(&self, change: &Change) {
        for listener in self.listeners.read().iter() {
            listener(change);
        }
    }

    /// A notification from the change stream: announces another node's change.
    fn heard(&self, payload: &str) {
        match heard_change(payload) {
            Some((node, _)) if node == self.node => {}
            Some((_, change)) => self.announce(&change),
            None => {
                tracing::warn!(payload, "an unreadable change notification; caches dropped");
                self.announce(&Change::Missed);
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self.background.lock().drain(..) {
            task.abort();
        }
        if let Some(thread) = self.writer.lock().take()
            && self.log.tx.send(Msg::Shutdown).is_ok()
        {
            // The writer commits what is queued and removes this node's row before it exits.
            let _ = thread.join();
        }
    }
}

/// The notification of `change` made by `node`.
fn notification(node: &str, change: &Change) -> Value {
    match change {
        Change::Entity { namespace, name } => {
            json!({"node": node, "entity": [namespace, name]})
        }
        Change::Subject { namespace } => json!({"node": node, "subject": namespace}),
        Change::Api { namespace } => json!({"node": node, "api": namespace}),
        Change::Feed { trigger } => json!({"node": node, "feed": trigger}),
        Change::Missed => json!({"node": node, "missed": true}),
    }
}

/// The node and change of a notification; `Missed` for one that cannot be read.
fn heard_change(payload: &str) -> Option<(String, Change)> {
    let v: Value = serde_json::from_str(payload).ok()?;
    let node = v["node"].as_str()?.to_string();
    let text = |v: &Value| v.as_str().map(str::to_string);
    let change = if let Some([namespace, name]) = v["entity"].as_array().map(Vec::as_slice) {
        Change::Entity {
            namespace: text(namespace)?,
            name: text(name)?,
        }
    } else if let Some(namespace) = text(&v["subject"]) {
        Change::Subject { namespace }
    } else if let Some(namespace) = text(&v["api"]) {
        Change::Api { namespace }
    } else if let Some(trigger) = text(&v["feed"]) {
        Change::Feed { trigger }
    } else {
        Change::Missed
    };
    Some((node, change))
}

/// A connection listening on the change channel: its client (which must live as long as it
/// listens), the notifications it receives, and the task that drives it.
struct Subscription {
    _client: tokio_postgres::Client,
    notifications: tokio::sync::mpsc::UnboundedReceiver<String>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Opens a connection and listens on the change channel; returns once PostgreSQL confirmed
/// the `LISTEN`, so no notification committed afterwards is missed.
async fn subscribe(target: &Target) -> Result<Subscription, StoreError> {
    let (client, mut connection) = target.config.connect(target.tls.clone()).await?;
    let (tx, notifications) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let subscription = Subscription {
        _client: client,
        notifications,
        driver,
    };
    subscription
        ._client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await?;
    Ok(subscription)
}

/// Hands the other nodes' changes to the listeners for as long as the store lives,
/// subscribing again when the connection drops; after that it announces [`Change::Missed`].
async fn listen(target: Target, store: Weak<Inner>, mut subscription: Subscription) {
    loop {
        while let Some(payload) = subscription.notifications.recv().await {
            let Some(inner) = store.upgrade() else { return };
            inner.heard(&payload);
        }
        tracing::warn!("lost the PostgreSQL change stream; subscribing again");
        subscription = loop {
            tokio::time::sleep(RECONNECT).await;
            if store.strong_count() == 0 {
                return;
            }
            match subscribe(&target).await {
                Ok(subscription) => break subscription,
                Err(e) => tracing::warn!(error = %e, "cannot listen for changes"),
            }
        };
        let Some(inner) = store.upgrade() else { return };
        inner.announce(&Change::Missed);
    }
}

/// Keeps this node's heartbeat fresh and ends dead nodes' activations, every [`HEARTBEAT`].
async fn heartbeat(store: Weak<Inner>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = store.upgrade() else { return };
        let store = PostgresStore(inner);
        if let Err(e) = store.beat().await {
            tracing::warn!(error = %e, "cannot renew this node's PostgreSQL heartbeat");
        }
    }
}

impl PostgresStore {
    /// Parses a document of `namespace` of `bytes` with `parse`: inline when it is small, else
    /// on the blocking pool in one of the namespace's scan turns (a large read counts as a
    /// scan). Callers give their pooled connection back first.
    async fn parsed<T: Send + 'static>(
        &self,
        namespace: &str,
        bytes: usize,
        parse: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _turn = match bytes > crate::heavy::INLINE_BYTES {
            true => Some(self.0.scans.take(namespace).await?),
            false => None,
        };
        parse_sized(bytes, parse).await
    }

    async fn beat(&self) -> Result<(), StoreError> {
        let client = self.0.pool.get().await?;
        let renewed = client
            .execute(
                "UPDATE nodes SET heartbeat = now() WHERE id = $1",
                &[&self.0.node],
            )
            .await?;
        if renewed == 0 {
            // Taken for dead (no heartbeat for a lease): its accepted activations were
            // ended by another node. Come back as alive for the ones to come.
            tracing::error!(node = %self.0.node, "this node was taken for dead; registering again");
            client
                .execute(
                    "INSERT INTO nodes (id, heartbeat) VALUES ($1, now())",
                    &[&self.0.node],
                )
                .await?;
        }
        drop(client);
        self.sweep().await?;
        self.count_live().await
    }

    /// Counts the nodes whose heartbeat is within the lease.
    async fn count_live(&self) -> Result<(), StoreError> {
        let client = self.0.pool.get().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM nodes WHERE heartbeat >= now() - make_interval(secs => $1)",
                &[&LEASE.as_secs_f64()],
            )
            .await?;
        let live = u64::try_from(row.get::<_, i64>(0)).unwrap_or(1).max(1);
        self.0.live.store(live, Ordering::Relaxed);
        Ok(())
    }
}

/// `n` as the `bigint` PostgreSQL pages with.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored document, parsed.
fn parse_doc(doc: &str, what: &str) -> Result<Value, StoreError> {
    json_text::parse_wrapped(doc.as_bytes(), STORED_WRAPPING)
        .map_err(|e| StoreError::Io(format!("corrupt stored {what}: {e}")))
}

/// JSON as stored.
fn to_text(v: &Value) -> String {
    v.to_string()
}

const ENTITY_COLUMNS: &str = "namespace, name, collection, doc, updated, rev";

fn entity(row: &Row) -> Result<Entity, StoreError> {
    let (namespace, name): (String, String) = (row.get(0), row.get(1));
    let collection: String = row.get(2);
    let collection = Collection::parse(&collection)
        .ok_or_else(|| StoreError::Io(format!("unknown collection {collection}")))?;
    let doc: String = row.get(3);
    Ok(Entity {
        doc: parse_doc(&doc, &format!("entity {namespace}/{name}"))?,
        namespace,
        name,
        collection,
        updated: row.get(4),
        rev: u64::try_from(row.get::<_, i64>(5)).unwrap_or(0),
    })
}

/// Whether `namespace/name` exists (any collection, any revision).
async fn exists(
    client: &impl GenericClient,
    namespace: &str,
    name: &str,
) -> Result<bool, StoreError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM entities WHERE namespace = $1 AND name = $2",
            &[&namespace, &name],
        )
        .await?
        .is_some())
}

/// [`Entities::put_entity`] inside `tx`; returns the new revision.
async fn put_in(
    tx: &deadpool_postgres::Transaction<'_>,
    entity: &Entity,
    expected_rev: Option<u64>,
) -> Result<u64, StoreError> {
    let doc = to_text(&entity.doc);
    let collection = entity.collection.as_str();
    let (ns, name) = (&entity.namespace, &entity.name);
    let Some(rev) = expected_rev else {
        let root = ns.split('/').next().unwrap_or_default();
        let created = tx
            .execute(
                "INSERT INTO entities (namespace, name, root, collection, doc, updated, rev)
                 VALUES ($1, $2, $3, $4, $5, $6, 1) ON CONFLICT DO NOTHING",
                &[ns, name, &root, &collection, &doc, &entity.updated],
            )
            .await?;
        return if created == 0 {
            Err(StoreError::Exists)
        } else {
            Ok(1)
        };
    };
    let updated = tx
        .query_opt(
            "UPDATE entities SET doc = $3, updated = $4, rev = rev + 1
             WHERE namespace = $1 AND name = $2 AND rev = $5 AND collection = $6
             RETURNING rev",
            &[ns, name, &doc, &entity.updated, &clamp(rev), &collection],
        )
        .await?;
    match updated {
        Some(row) => Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)),
        None if exists(tx, ns, name).await? => Err(StoreError::Conflict),
        None => Err(StoreError::NotFound),
    }
}

/// [`Entities::delete_entity`] inside `tx`; returns the entity as it was.
async fn delete_in(
    tx: &deadpool_postgres::Transaction<'_>,
    namespace: &str,
    name: &str,
    expected_rev: Option<u64>,
) -> Result<Entity, StoreError> {
    let rev = expected_rev.map(clamp);
    let sql = format!(
        "DELETE FROM entities WHERE namespace = $1 AND name = $2
         AND ($3::bigint IS NULL OR rev = $3) RETURNING {ENTITY_COLUMNS}"
    );
    match tx.query_opt(&sql, &[&namespace, &name, &rev]).await? {
        Some(row) => entity(&row),
        None if exists(tx, namespace, name).await? => Err(StoreError::Conflict),
        None => Err(StoreError::NotFound),
    }
}

#[async_trait]
impl Entities for PostgresStore {
    async fn get_entity(&self, namespace: &str, name: &str) -> Result<Option<Entity>, StoreError> {
        let client = self.0.pool.get().await?;
        let sql =
            format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE namespace = $1 AND name = $2");
        let Some(row) = client.query_opt(&sql, &[&namespace, &name]).await? else {
            return Ok(None);
        };
        drop(client);
        let bytes = row.get::<_, &str>(3).len();
        self.parsed(namespace, bytes, move || entity(&row))
            .await
            .map(Some)
    }

    async fn put_entity(
        &self,
        entity: Entity,
        expected_rev: Option<u64>,
    ) -> Result<u64, StoreError> {
        let change = Change::Entity {
            namespace: entity.namespace.clone(),
            name: entity.name.clone(),
        };
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let rev = put_in(&tx, &entity, expected_rev).await?;
        self.commit(tx, std::slice::from_ref(&change)).await?;
        Ok(rev)
    }

    async fn delete_entity(
        &self,
        namespace: &str,
        name: &str,
        expected_rev: Option<u64>,
    ) -> Result<Entity, StoreError> {
        let change = Change::Entity {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let deleted = delete_in(&tx, namespace, name, expected_rev).await?;
        self.commit(tx, std::slice::from_ref(&change)).await?;
        Ok(deleted)
    }

    async fn write_entities(&self, writes: Vec<EntityWrite>) -> Result<(), StoreError> {
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        for write in &writes {
            match write {
                EntityWrite::Put {
                    entity,
                    expected_rev,
                } => drop(put_in(&tx, entity, *expected_rev).await?),
                EntityWrite::Delete {
                    namespace,
                    name,
                    expected_rev,
                } => drop(delete_in(&tx, namespace, name, *expected_rev).await?),
            }
        }
        let changes: Vec<Change> = writes.iter().map(EntityWrite::change).collect();
        self.commit(tx, &changes).await
    }

    async fn list_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<Entity>, StoreError> {
        let _turn = self.0.scans.take(namespace).await?;
        let client = self.0.pool.get().await?;
        let within = if include_packaged {
            "root"
        } else {
            "namespace"
        };
        // The page's documents without an action's code or any parameters (no list shows
        // them), rebuilt as `json` (a `jsonb` cast would refuse a `\u0000` in them), up to
        // MAX_PAGE_BYTES of them (the first one always).
        let order = "updated DESC, namespace, name";
        let sql = format!(
            "SELECT {ENTITY_COLUMNS} FROM (
               SELECT *, sum(octet_length(doc)) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) AS upto,
                 row_number() OVER (ORDER BY {order}) AS n
               FROM (
                 SELECT namespace, name, collection, updated, rev,
                   (SELECT json_object_agg(key, CASE WHEN key = 'exec' AND json_typeof(value) = 'object'
                      THEN (SELECT coalesce(json_object_agg(k, v), '{{}}'::json)
                            FROM json_each(value) AS e(k, v) WHERE k <> 'code')
                      ELSE value END)
                    FROM json_each(doc::json) WHERE key <> 'parameters')::text AS doc
                 FROM entities WHERE {within} = $1 AND collection = $2
                 ORDER BY {order} LIMIT $3 OFFSET $4) AS page) AS sized
             WHERE upto <= $5 OR n = 1 ORDER BY {order}"
        );
        let most = i64::try_from(crate::MAX_PAGE_BYTES).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &sql,
                &[
                    &namespace,
                    &collection.as_str(),
                    &clamp(limit),
                    &clamp(skip),
                    &most,
                ],
            )
            .await?;
        drop(client);
        let bytes = rows.iter().map(|r| r.get::<_, &str>(3).len()).sum();
        parse_sized(bytes, move || rows.iter().map(entity).collect()).await
    }

    async fn count_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
    ) -> Result<u64, StoreError> {
        let _turn = self.0.scans.take(namespace).await?;
        let client = self.0.pool.get().await?;
        let within = if include_packaged {
            "root"
        } else {
            "namespace"
        };
        let sql = format!("SELECT count(*) FROM entities WHERE {within} = $1 AND collection = $2");
        let row = client
            .query_one(&sql, &[&namespace, &collection.as_str()])
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn entity_bytes(&self, root: &str, except: (&str, &str)) -> Result<u64, StoreError> {
        let _turn = self.0.scans.take(root).await?;
        let client = self.0.pool.get().await?;
        let row = client
            .query_one(
                "SELECT coalesce(sum(octet_length(doc)), 0)::bigint FROM entities
                 WHERE root = $1 AND NOT (namespace = $2 AND name = $3)",
                &[&root, &except.0, &except.1],
            )
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}

fn subject(row: &Row) -> Result<Subject, StoreError> {
    let limits: String = row.get(4);
    Ok(Subject {
        subject: row.get(0),
        namespace: row.get(1),
        uuid: row.get(2),
        key: row.get(3),
        limits: parse_doc(&limits, "subject limits")?,
    })
}

impl PostgresStore {
    async fn subject_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<Subject>, StoreError> {
        let client = self.0.pool.get().await?;
        let sql = format!(
            "SELECT subject, namespace, uuid, key, limits FROM subjects WHERE {column} = $1"
        );
        client
            .query_opt(&sql, &[&value])
            .await?
            .map(|row| subject(&row))
            .transpose()
    }
}

#[async_trait]
impl Subjects for PostgresStore {
    async fn put_subject(&self, s: Subject) -> Result<(), StoreError> {
        let change = Change::Subject {
            namespace: s.namespace.clone(),
        };
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let limits = to_text(&s.limits);
        let written = tx
            .execute(
                "INSERT INTO subjects (namespace, subject, uuid, key, limits)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (namespace) DO UPDATE SET subject = excluded.subject,
                       uuid = excluded.uuid, key = excluded.key, limits = excluded.limits",
                &[&s.namespace, &s.subject, &s.uuid, &s.key, &limits],
            )
            .await;
        match written {
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(StoreError::Exists),
            Err(e) => Err(e.into()),
            Ok(_) => self.commit(tx, std::slice::from_ref(&change)).await,
        }
    }

    async fn subject_by_uuid(&self, uuid: &str) -> Result<Option<Subject>, StoreError> {
        self.subject_where("uuid", uuid).await
    }

    async fn subject_by_namespace(&self, namespace: &str) -> Result<Option<Subject>, StoreError> {
        self.subject_where("namespace", namespace).await
    }
}

const FEED_COLUMNS: &str = "trigger, namespace, config, last_fire";

fn feed(row: &Row) -> Result<FeedSchedule, StoreError> {
    let config: String = row.get(2);
    Ok(FeedSchedule {
        trigger: row.get(0),
        namespace: row.get(1),
        config: parse_doc(&config, "feed schedule")?,
        last_fire: row.get(3),
    })
}

#[async_trait]
impl Feeds for PostgresStore {
    async fn put_feed(&self, f: FeedSchedule) -> Result<(), StoreError> {
        let change = Change::Feed {
            trigger: f.trigger.clone(),
        };
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO feeds (trigger, namespace, config, last_fire) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (trigger) DO UPDATE SET namespace = excluded.namespace,
                   config = excluded.config, last_fire = excluded.last_fire",
            &[&f.trigger, &f.namespace, &to_text(&f.config), &f.last_fire],
        )
        .await?;
        self.commit(tx, std::slice::from_ref(&change)).await
    }

    async fn delete_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
        let change = Change::Feed {
            trigger: trigger.to_string(),
        };
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let sql = format!("DELETE FROM feeds WHERE trigger = $1 RETURNING {FEED_COLUMNS}");
        let deleted = tx
            .query_opt(&sql, &[&trigger])
            .await?
            .map(|row| feed(&row))
            .transpose()?;
        self.commit(tx, std::slice::from_ref(&change)).await?;
        Ok(deleted)
    }

    async fn get_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
        let client = self.0.pool.get().await?;
        let sql = format!("SELECT {FEED_COLUMNS} FROM feeds WHERE trigger = $1");
        client
            .query_opt(&sql, &[&trigger])
            .await?
            .map(|row| feed(&row))
            .transpose()
    }

    async fn list_feeds(&self) -> Result<Vec<FeedSchedule>, StoreError> {
        let client = self.0.pool.get().await?;
        let sql = format!("SELECT {FEED_COLUMNS} FROM feeds ORDER BY trigger");
        client.query(&sql, &[]).await?.iter().map(feed).collect()
    }

    /// One conditional update of the whole round: whichever node claims a tick first gets
    /// it, the others see `false`, so with any number of nodes every tick fires once.
    async fn claim_feed_ticks(&self, ticks: &[(String, i64)]) -> Result<Vec<bool>, StoreError> {
        let (triggers, at): (Vec<&str>, Vec<i64>) =
            ticks.iter().map(|(t, tick)| (t.as_str(), *tick)).unzip();
        let client = self.0.pool.get().await?;
        let rows = client
            .query(
                "UPDATE feeds AS f SET last_fire = c.tick
                 FROM (SELECT DISTINCT ON (trigger) trigger, tick
                       FROM unnest($1::text[], $2::bigint[]) AS c(trigger, tick)) AS c
                 WHERE f.trigger = c.trigger AND (f.last_fire IS NULL OR f.last_fire < c.tick)
                 RETURNING f.trigger, f.last_fire",
                &[&triggers, &at],
            )
            .await?;
        let mut won: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(ticks
            .iter()
            .map(|(trigger, tick)| {
                let mine = won.get(trigger) == Some(tick);
                if mine {
                    won.remove(trigger);
                }
                mine
            })
            .collect())
    }
}

const API_COLUMNS: &str = "namespace, base_path, doc, subscriptions, updated";

fn api(row: &Row) -> Result<GatewayApi, StoreError> {
    let (doc, subscriptions): (String, String) = (row.get(2), row.get(3));
    Ok(GatewayApi {
        namespace: row.get(0),
        base_path: row.get(1),
        doc: parse_doc(&doc, "gateway API")?,
        subscriptions: parse_doc(&subscriptions, "gateway API subscriptions")?,
        updated: row.get(4),
    })
}

impl PostgresStore {
    /// Writes `a`; keeps an existing API's subscriptions unless `with_subscriptions`. Every
    /// write moves `updated` forward, at least by one.
    async fn put_api_doc(&self, a: GatewayApi, with_subscriptions: bool) -> Result<(), StoreError> {
        let change = Change::Api {
            namespace: a.namespace.clone(),
        };
        let subscriptions = if with_subscriptions {
            ", subscriptions = excluded.subscriptions"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO apis ({API_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (namespace, base_path) DO UPDATE SET doc = excluded.doc{subscriptions},
               updated = greatest(excluded.updated, apis.updated + 1)"
        );
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let (doc, subs) = (to_text(&a.doc), to_text(&a.subscriptions));
        tx.execute(&sql, &[&a.namespace, &a.base_path, &doc, &subs, &a.updated])
            .await?;
        self.commit(tx, std::slice::from_ref(&change)).await
    }
}

#[async_trait]
impl Apis for PostgresStore {
    async fn put_api(&self, api: GatewayApi) -> Result<(), StoreError> {
        self.put_api_doc(api, false).await
    }

    async fn put_api_with_subscriptions(&self, api: GatewayApi) -> Result<(), StoreError> {
        self.put_api_doc(api, true).await
    }

    async fn get_api(
        &self,
        namespace: &str,
        base_path: &str,
    ) -> Result<Option<GatewayApi>, StoreError> {
        let client = self.0.pool.get().await?;
        let sql = format!("SELECT {API_COLUMNS} FROM apis WHERE namespace = $1 AND base_path = $2");
        client
            .query_opt(&sql, &[&namespace, &base_path])
            .await?
            .map(|row| api(&row))
            .transpose()
    }

    async fn delete_api(&self, namespace: &str, base_path: &str) -> Result<bool, StoreError> {
        let change = Change::Api {
            namespace: namespace.to_string(),
        };
        let mut client = self.0.pool.get().await?;
        let tx = client.transaction().await?;
        let deleted = tx
            .execute(
                "DELETE FROM apis WHERE namespace = $1 AND base_path = $2",
                &[&namespace, &base_path],
            )
            .await?;
        self.commit(tx, std::slice::from_ref(&change)).await?;
        Ok(deleted > 0)
    }

    async fn api_versions(&self, namespace: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let client = self.0.pool.get().await?;
        let rows = client
            .query(
                "SELECT base_path, updated FROM apis WHERE namespace = $1 ORDER BY base_path",
                &[&namespace],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn list_apis(&self, namespace: &str) -> Result<Vec<GatewayApi>, StoreError> {
        let _turn = self.0.scans.take(namespace).await?;
        let client = self.0.pool.get().await?;
        let sql = format!("SELECT {API_COLUMNS} FROM apis WHERE namespace = $1 ORDER BY base_path");
        let rows = client.query(&sql, &[&namespace]).await?;
        drop(client);
        let bytes = rows.iter().map(|r| r.get::<_, &str>(2).len()).sum();
        parse_sized(bytes, move || rows.iter().map(api).collect()).await
    }
}

#[async_trait]
impl ActivationLog for PostgresStore {
    /// Costs what the SQLite backend's does (an `Arc`, a sharded-map insert, a channel send);
    /// committed by the writer within a batch.
    fn put_activation(&self, record: ActivationRecord) {
        self.0.log.put(record, Kind::Final, None);
    }

    fn put_activation_durable(&self, record: ActivationRecord, settles: bool) -> Committed {
        self.0.log.put_durable(record, settles)
    }

    fn accept_activation(&self, stand_in: ActivationRecord) -> Committed {
        self.0.log.accept(stand_in)
    }

    /// Unhealthy while the writer cannot reach or write PostgreSQL; healthy again after its
    /// next successful commit or probe.
    fn health(&self) -> Result<(), String> {
        self.0.log.health()
    }

    fn recovered(&self) -> u64 {
        self.0.recovered.load(Ordering::Relaxed)
    }

    fn writer_stats(&self) -> WriterStats {
        self.0.log.stats()
    }

    async fn get_activation(&self, namespace: &str, id: &str) -> Result<Option<Value>, StoreError> {
        let doc = match self.0.log.queued_record(namespace, id) {
            Some(queued) => Doc::Queued(queued),
            None => {
                let client = self.0.pool.get().await?;
                match activations::get(&client, namespace, id).await? {
                    Some(text) => Doc::Read(text),
                    None => return Ok(None),
                }
            }
        };
        let (ns, id) = (namespace.to_owned(), id.to_owned());
        self.parsed(namespace, doc.text().len(), move || {
            parse(doc.text(), &ns, &id)
        })
        .await
        .map(Some)
    }

    async fn list_activations(&self, query: &ActivationQuery) -> Result<Vec<Value>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let _turn = self.0.scans.take(&query.namespace).await?;
        let queued = self.0.log.to_merge(query);
        let client = self.0.pool.get().await?;
        let page = if queued.is_empty() {
            activations::keys(&client, query, clamp(query.skip), clamp(query.limit))
                .await?
                .into_iter()
                .map(|(_, id)| Paged::Committed(id))
                .collect()
        } else {
            // The top skip+limit of the merge are among the top skip+limit committed rows
            // plus the queued ones.
            let window = clamp(query.skip.saturating_add(query.limit));
            let committed = activations::keys(&client, query, 0, window).await?;
            self.0.log.page(query, committed, queued)
        };
        activations::docs(&client, query, page).await
    }

    async fn count_activations(&self, query: &ActivationQuery) -> Result<u64, StoreError> {
        let _turn = self.0.scans.take(&query.namespace).await?;
        let queued = self.0.log.queued(query);
        let mut client = self.0.pool.get().await?;
        activations::count(&mut client, query, &queued).await
    }

    async fn flush(&self) {
        self.0.log.flush().await;
    }

    /// Drops whole day partitions for the system's retention and deletes, in chunks, what a
    /// namespace's own retention removes; see `partitions.rs`.
    async fn expire_activations(&self, days: Option<u32>, now: i64) -> Result<u64, StoreError> {
        let mut client = self.0.pool.get().await?;
        partitions::upkeep(&mut client, days, now).await
    }
}

impl Changes for PostgresStore {
    fn watch(&self, listener: Listener) {
        self.0.listeners.write().push(listener);
    }

    /// The nodes with a live heartbeat, counted at every heartbeat ([`HEARTBEAT`]).
    fn sharing(&self) -> u64 {
        self.0.live.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_read_back_as_the_change_they_carry() {
        for change in [
            Change::Entity {
                namespace: "guest/p".into(),
                name: "a b".into(),
            },
            Change::Subject {
                namespace: "guest".into(),
            },
            Change::Api {
                namespace: "guest".into(),
            },
            Change::Feed {
                trigger: "/guest/t".into(),
            },
            Change::Missed,
        ] {
            let payload = notification("n1", &change).to_string();
            assert_eq!(heard_change(&payload), Some(("n1".to_string(), change)));
        }
        assert_eq!(heard_change("not json"), None);
        assert_eq!(
            heard_change(r#"{"node":"n2","something":"new"}"#),
            Some(("n2".to_string(), Change::Missed))
        );
    }
}
