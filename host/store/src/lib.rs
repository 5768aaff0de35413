//! shoal's embedded store: OpenWhisk entities, subjects (namespaces and their keys) and the
//! activation log, in one SQLite database (`shoal.db`, WAL mode) under a data directory.
//!
//! # How this crate works
//!
//! A [`Store`] owns a handful of SQLite connections to the same file, each with one job:
//!
//! - **one entity writer** (behind a mutex): entity and subject writes run synchronously on the
//!   caller's thread, each in its own implicit transaction, and return the new revision.
//! - **one activation writer thread**: [`Store::put_activation`] only wraps the record in an
//!   `Arc`, inserts it into a sharded pending map and sends it over a bounded channel. The
//!   thread takes whatever is queued (up to 1,000 records), commits it in one transaction with a
//!   cached prepared statement, then removes those records from the pending map. While records
//!   keep coming it sleeps 10 ms between commits instead of waiting on the channel, so producers
//!   never pay for waking it; idle, it blocks on the channel, and a lone record is committed
//!   about 10 ms after it is queued. A producer waits only when 65,536 records are queued.
//! - **a small pool of read connections**: WAL lets readers run beside the writers, so reads
//!   never wait for a batch commit. Activation reads also consult the pending map, so a record is
//!   visible to [`Store::get_activation`], [`Store::list_activations`] and
//!   [`Store::count_activations`] from the moment `put_activation` returns.
//!
//! WAL checkpoints are SQLite's automatic ones (every ~1,000 pages), run by the activation
//! writer inside its commit. They cost about 45% of the writer's time at full load, but a
//! separate `PASSIVE` checkpointer thread was measured to starve under sustained writes (the
//! WAL never restarts and grows without bound), so it was not kept.
//!
//! Measure with `cargo run --release -p shoal-store --example write_throughput`.
//!
//! Gateway APIs (`wsk api`) are one OpenAPI document per namespace and base path, written
//! like entities.
//!
//! Documents are the API's JSON, stored as text and returned verbatim; the store looks only at
//! the indexed columns (namespace, name, collection, updated, start, filter name). Activation
//! documents arrive already serialised ([`ActivationRecord::doc`] is text): the caller builds
//! the record once and its text moves through the queue into SQLite with no copy or re-encode;
//! only reads of still-queued records parse it.
//!
//! The schema is versioned with `PRAGMA user_version` (see `schema.rs`); opening a database runs
//! the pending migrations and refuses one written by a newer build.
//!
//! # Durability
//!
//! The activation writer uses `synchronous=NORMAL`: with WAL, a commit is written to the log
//! file (the OS page cache) but not fsynced, so committed activations survive a crash of the
//! process, while a power loss or kernel crash may roll back the last moments of the log (the
//! database itself stays consistent). That is the trade that lets one thread commit tens of
//! thousands of activations per second without waiting on the disk, and losing a few
//! milliseconds of activation records on power loss is acceptable for a log. Entities and
//! subjects are user-authored configuration that the API acknowledges one by one, and they are
//! written rarely, so their connection uses `synchronous=FULL`: a `put_entity` that returned
//! `Ok` survives power loss too.
//!
//! [`Store::flush`] waits until everything queued before it is committed; dropping the store
//! (or [`Store::close`]) flushes and joins the writer thread, so nothing enqueued is lost on an
//! orderly shutdown.
//!
//! What the host acknowledges must survive a crash, so it writes through the durable paths:
//! [`Store::put_activation_durable`] resolves once the record is committed (the writer skips
//! its group window for it and commits with whatever else is queued), and
//! [`Store::accept_activation`] stores a *stand-in* for an activation about to be named in a
//! 202: the record it ends as if the process dies first. The activation's final record
//! replaces the stand-in in the same transaction; stand-ins still there at the next open
//! become activation records ([`Store::recovered`] counts them). When a commit fails (disk
//! full, read-only, the file deleted or replaced), [`Store::health`] says why until the store
//! writes again, which the writer probes every 500 ms while idle.

mod activations;
mod apis;
mod entities;
mod error;
mod feeds;
mod schema;
mod types;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rusqlite::Connection;
use serde_json::Value;

pub use error::StoreError;
pub use types::{
    ActivationQuery, ActivationRecord, Collection, Entity, FeedSchedule, GatewayApi, Subject,
    WriterStats,
};

use activations::{Counters, Kind, Log, Msg};
use entities::SubjectKey;
use schema::Sync;

/// Levels a stored document adds around the user JSON it holds (a record's
/// `response.result`, an entity's `parameters[i].value`): that JSON may nest as deep as
/// [`shoal_router::json::MAX_DEPTH`] inside them.
pub(crate) const STORED_WRAPPING: usize = 4;

/// The database file name inside the data directory.
pub const DB_FILE: &str = "shoal.db";

/// Upper bound on pooled read connections (each costs a file handle and its page cache).
const MAX_READERS: usize = 4;

/// The embedded store: entities, subjects and the activation log.
///
/// Open one per process and share it behind an `Arc` (it is `Send + Sync`; every method takes
/// `&self`). It holds `2 + readers` SQLite connections and one writer thread for its whole life;
/// dropping it flushes the activation queue and joins that thread.
pub struct Store {
    /// Entity and subject writes (`synchronous=FULL`).
    writer: Mutex<Connection>,
    readers: Readers,
    log: Log,
    thread: Option<JoinHandle<()>>,
    /// Accepted activations that the last run did not finish, ended at open.
    recovered: u64,
    /// Backing directory of [`Store::open_in_memory`]; declared last so it is removed after
    /// every connection is closed.
    _temp: Option<tempfile::TempDir>,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`: creates the directory and
    /// [`DB_FILE`], enables WAL, migrates the schema and starts the activation writer thread.
    ///
    /// Costs a few file opens and, on first use, one schema transaction. Fails with
    /// [`StoreError::Io`] if the directory or database cannot be opened or its schema is newer
    /// than this build.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Self::open_at(data_dir, None)
    }

    /// Opens a throwaway store for tests: the same engine as [`Store::open`], in a fresh
    /// temporary directory that is deleted when the store is dropped (WAL needs a real file).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let temp = tempfile::Builder::new().prefix("shoal-store-").tempdir()?;
        let path = temp.path().to_path_buf();
        Self::open_at(&path, Some(temp))
    }

    fn open_at(data_dir: &Path, temp: Option<tempfile::TempDir>) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let mut writer = schema::connect(&path, Sync::Full, false)?;
        schema::migrate(&mut writer)?;
        let recovered = recover(&mut writer)?;
        let activation_conn = schema::connect(&path, Sync::Normal, false)?;
        let identity = activations::file_identity(&path);
        let n = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .clamp(2, MAX_READERS);
        let conns = (0..n)
            .map(|_| schema::connect(&path, Sync::Normal, true).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(activations::MAX_QUEUED);
        let pending = Arc::new(activations::Pending::default());
        let counters = Arc::new(Counters::default());
        let thread = {
            let pending = Arc::clone(&pending);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name("shoal-store-writer".into())
                .spawn(move || {
                    activations::run_writer(identity, activation_conn, path, rx, pending, counters)
                })?
        };
        Ok(Store {
            writer: Mutex::new(writer),
            readers: Readers {
                conns: conns.into_boxed_slice(),
                next: AtomicUsize::new(0),
            },
            log: Log {
                tx,
                pending,
                counters,
            },
            thread: Some(thread),
            recovered,
            _temp: temp,
        })
    }

    /// How many accepted activations the previous run left unfinished (it crashed or was
    /// killed): each now has the stand-in record it was accepted with.
    pub fn recovered(&self) -> u64 {
        self.recovered
    }

    /// The entity with doc id `namespace/name`, in whatever collection, or `None`.
    ///
    /// One indexed read on a pooled connection; never waits for writers.
    pub fn get_entity(&self, namespace: &str, name: &str) -> Result<Option<Entity>, StoreError> {
        self.readers.with(|c| entities::get(c, namespace, name))
    }

    /// Creates or updates an entity; returns its new revision. `e.rev` is ignored.
    ///
    /// `expected_rev == None` creates (rev 1) and fails with [`StoreError::Exists`] if the doc
    /// id is taken in any collection. `Some(r)` updates and fails with
    /// [`StoreError::NotFound`] if there is no such doc, or [`StoreError::Conflict`] if its
    /// revision is not `r` or it is in another collection. One fsynced write.
    pub fn put_entity(&self, e: &Entity, expected_rev: Option<u64>) -> Result<u64, StoreError> {
        entities::put(&self.writer.lock(), e, expected_rev)
    }

    /// Deletes the entity `namespace/name` and returns it as it was.
    ///
    /// With `Some(r)`, fails with [`StoreError::Conflict`] unless the current revision is `r`;
    /// fails with [`StoreError::NotFound`] if there is no such doc. One fsynced write.
    pub fn delete_entity(
        &self,
        namespace: &str,
        name: &str,
        expected_rev: Option<u64>,
    ) -> Result<Entity, StoreError> {
        entities::delete(&self.writer.lock(), namespace, name, expected_rev)
    }

    /// One page of a collection, newest `updated` first (ties by namespace, then name).
    ///
    /// `include_packaged` adds entities whose namespace starts with `namespace/` (actions inside
    /// packages). `limit` is literal (`0` returns nothing). Index scan; no writer wait.
    pub fn list_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<Entity>, StoreError> {
        self.readers
            .with(|c| entities::list(c, namespace, collection, include_packaged, skip, limit))
    }

    /// How many entities [`Store::list_entities`] would page through.
    pub fn count_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
    ) -> Result<u64, StoreError> {
        self.readers
            .with(|c| entities::count(c, namespace, collection, include_packaged))
    }

    /// Inserts or replaces the subject of `s.namespace`.
    ///
    /// Fails with [`StoreError::Exists`] if `s.uuid` already belongs to another namespace.
    /// One fsynced write.
    pub fn put_subject(&self, s: &Subject) -> Result<(), StoreError> {
        entities::put_subject(&self.writer.lock(), s)
    }

    /// The subject whose API key has this uuid (the Basic-auth user), or `None`.
    pub fn subject_by_uuid(&self, uuid: &str) -> Result<Option<Subject>, StoreError> {
        self.readers
            .with(|c| entities::subject(c, SubjectKey::Uuid, uuid))
    }

    /// The subject that owns namespace `ns`, or `None`.
    pub fn subject_by_namespace(&self, ns: &str) -> Result<Option<Subject>, StoreError> {
        self.readers
            .with(|c| entities::subject(c, SubjectKey::Namespace, ns))
    }

    /// Inserts or replaces the schedule of `f.trigger` (keeping nothing of an earlier one).
    /// One fsynced write.
    pub fn put_feed(&self, f: &FeedSchedule) -> Result<(), StoreError> {
        feeds::put(&self.writer.lock(), f)
    }

    /// Removes the schedule of `trigger`; returns it, or `None` if there was none.
    pub fn delete_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
        feeds::delete(&self.writer.lock(), trigger)
    }

    /// The schedule of `trigger`, or `None`.
    pub fn get_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
        self.readers.with(|c| feeds::get(c, trigger))
    }

    /// Every stored schedule (read once at start-up by the alarm service).
    pub fn list_feeds(&self) -> Result<Vec<FeedSchedule>, StoreError> {
        self.readers.with(|c| feeds::list(c))
    }

    /// Claims tick `tick` (epoch ms) of `trigger` for firing: true exactly once per tick and
    /// only for ticks later than the last claimed one, so a tick is never fired twice, even
    /// across restarts. One fsynced write.
    pub fn claim_feed_tick(&self, trigger: &str, tick: i64) -> Result<bool, StoreError> {
        feeds::claim(&self.writer.lock(), trigger, tick)
    }

    /// Inserts or replaces the document of gateway API `a.namespace` + `a.base_path`; an
    /// existing API keeps its subscriptions (`a.subscriptions` is written only on insert).
    /// One fsynced write.
    pub fn put_api(&self, a: &GatewayApi) -> Result<(), StoreError> {
        apis::put(&self.writer.lock(), a, true)
    }

    /// Inserts or replaces gateway API `a.namespace` + `a.base_path`, subscriptions included.
    /// One fsynced write.
    pub fn put_api_with_subscriptions(&self, a: &GatewayApi) -> Result<(), StoreError> {
        apis::put(&self.writer.lock(), a, false)
    }

    /// The gateway API of `namespace` at `base_path`, or `None`.
    pub fn get_api(
        &self,
        namespace: &str,
        base_path: &str,
    ) -> Result<Option<GatewayApi>, StoreError> {
        self.readers.with(|c| apis::get(c, namespace, base_path))
    }

    /// Removes the gateway API of `namespace` at `base_path`; false if there was none.
    /// One fsynced write.
    pub fn delete_api(&self, namespace: &str, base_path: &str) -> Result<bool, StoreError> {
        apis::delete(&self.writer.lock(), namespace, base_path)
    }

    /// The base path and `updated` of every gateway API of `namespace`, by base path: what
    /// tells a cache whether any of them changed, without reading their documents.
    pub fn api_versions(&self, namespace: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.readers.with(|c| apis::versions(c, namespace))
    }

    /// Every gateway API of `namespace`, by base path.
    pub fn list_apis(&self, namespace: &str) -> Result<Vec<GatewayApi>, StoreError> {
        self.readers.with(|c| apis::list(c, namespace))
    }

    /// Appends an activation to the log without touching the disk on this thread.
    ///
    /// Costs one `Arc` allocation, one insert into a sharded map and one channel send; never
    /// blocks on I/O, and waits only while the queue is full (the writer is 65,536 records
    /// behind). The record is readable immediately and committed by the writer thread
    /// within a batch (about 10 ms later). A record with the same
    /// `(namespace, activation_id)` as an earlier one replaces it.
    pub fn put_activation(&self, rec: ActivationRecord) {
        self.log.put(rec, Kind::Final, None);
    }

    /// Appends an activation to the log and resolves once it is committed (it survives a
    /// crash of the process from then on), or with the reason it could not be. The writer
    /// commits at once, together with whatever else is queued: no group window, about one
    /// commit's latency (a WAL append, no fsync). `settles` says the activation's acceptance
    /// was stored with [`Store::accept_activation`], whose stand-in this record replaces.
    pub fn put_activation_durable(&self, rec: ActivationRecord, settles: bool) -> Committed {
        let kind = if settles { Kind::Settles } else { Kind::Final };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.put(rec, kind, Some(tx));
        Committed(rx)
    }

    /// Stores that an activation was accepted, with `stand_in`: the record it ends as if
    /// shoal stops before its final record is committed (moved into the log at the next
    /// open). Not readable meanwhile. Resolves like [`Store::put_activation_durable`].
    pub fn accept_activation(&self, stand_in: ActivationRecord) -> Committed {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.put(stand_in, Kind::Accepted, Some(tx));
        Committed(rx)
    }

    /// `Err` with the reason while the activation log cannot write (the last commit failed:
    /// disk full, file read-only, deleted or replaced); `Ok` again once a commit or the
    /// writer's probe (every 500 ms while idle) succeeds.
    pub fn health(&self) -> Result<(), String> {
        match &*self.log.counters.unhealthy.read() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    /// The activation document `namespace/id`, including records still queued, or `None`.
    pub fn get_activation(&self, namespace: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.readers.with(|c| self.log.get(c, namespace, id))
    }

    /// One page of activations matching `q`, newest `start` first (ties by activation id,
    /// descending), including records still queued.
    ///
    /// An index range scan; when records are queued it also scans the pending map (which is
    /// empty when the writer keeps up) and reads `skip + limit` rows to merge.
    pub fn list_activations(&self, q: &ActivationQuery) -> Result<Vec<Value>, StoreError> {
        self.readers.with(|c| self.log.list(c, q))
    }

    /// How many activations match `q` (`skip` and `limit` ignored), including queued ones.
    pub fn count_activations(&self, q: &ActivationQuery) -> Result<u64, StoreError> {
        self.readers.with(|c| self.log.count(c, q))
    }

    /// Blocks until every activation enqueued before this call is committed.
    ///
    /// Costs one round trip to the writer thread, plus up to one group window (10 ms) when the
    /// writer is collecting a batch, plus the commit.
    pub fn flush(&self) {
        self.log.flush();
    }

    /// A snapshot of the activation writer's counters.
    pub fn writer_stats(&self) -> WriterStats {
        self.log.counters.snapshot(&self.log.pending)
    }

    /// Flushes the activation queue, stops the writer thread and closes the database;
    /// returns the writer's final counters. Dropping the store does the same.
    pub fn close(mut self) -> WriterStats {
        self.shutdown();
        self.writer_stats()
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take()
            && self.log.tx.send(Msg::Shutdown).is_ok()
        {
            // A panic on the writer thread is already reported by the panic hook; there is
            // nothing more to do with it here.
            let _ = thread.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Resolves once a durable put is committed, or with why it was not.
#[derive(Debug)]
pub struct Committed(tokio::sync::oneshot::Receiver<Result<(), String>>);

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

/// Ends every accepted activation the last run left unfinished with its stand-in record;
/// returns how many there were.
fn recover(conn: &mut Connection) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n: i64 = tx.query_row("SELECT count(*) FROM accepted", [], |r| r.get(0))?;
    if n > 0 {
        tx.execute_batch(activations::RECOVER_SQL)?;
        tracing::warn!(
            activations = n,
            "accepted activations the last run did not finish were ended as whisk internal errors"
        );
    }
    tx.commit()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A fixed pool of read-only connections. A caller takes the first idle one, starting from a
/// rotating index, and waits on one only if all are busy.
struct Readers {
    conns: Box<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl Readers {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Some(mut conn) = self.conns[(start + i) % n].try_lock() {
                return f(&mut conn);
            }
        }
        f(&mut self.conns[start].lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + std::marker::Sync>() {}

    #[test]
    fn store_is_send_and_sync() {
        assert_send_sync::<Store>();
    }

    #[test]
    fn readers_pool_hands_out_every_connection() {
        let store = Store::open_in_memory().unwrap();
        let n = store.readers.conns.len();
        assert!(n >= 2);
        // Hold all but one; the next caller must get the free one without blocking.
        let held: Vec<_> = store.readers.conns[..n - 1]
            .iter()
            .map(|c| c.lock())
            .collect();
        let got = store
            .readers
            .with(|c| Ok(c.path().map(str::to_owned)))
            .unwrap();
        assert!(got.is_some());
        drop(held);
    }

    #[test]
    fn in_memory_store_removes_its_directory() {
        let store = Store::open_in_memory().unwrap();
        let dir = store._temp.as_ref().unwrap().path().to_path_buf();
        assert!(dir.join(DB_FILE).exists());
        drop(store);
        assert!(!dir.exists());
    }
}
