//! The embedded SQLite backend: entities, subjects, feeds, gateway APIs and the activation
//! log in one database file (`shoal.db`, WAL mode) under a data directory.
//!
//! A [`SqliteStore`] owns a handful of SQLite connections to the same file, each with one job:
//!
//! - **one entity writer** (behind a mutex, `synchronous=FULL`): entity, subject, feed and API
//!   writes, each in its own implicit transaction and fsynced, run on tokio's blocking pool
//!   so they never hold the threads that serve requests and run isolates.
//! - **two activation writer threads** ([`writer`]): an append only wraps the record in an
//!   `Arc`, inserts it into a sharded pending map and sends it over a bounded channel. The
//!   *appender* takes whatever is queued (up to 1,000 records), writes it to the activation
//!   journal ([`journal`]) in one `write` and answers the durable puts; every 10 ms it hands
//!   what it wrote to the *indexer*, which commits it to SQLite in one transaction with a
//!   cached prepared statement, removes those records from the pending map and deletes the
//!   journal segment. While records keep coming the appender sleeps 10 ms between rounds of
//!   records nobody waits for, so producers never pay for waking it; idle, it blocks on the
//!   channel. A producer waits only when 65,536 records are queued.
//! - **a small pool of read connections**: WAL lets readers run beside the writers, so reads
//!   never wait for a batch commit. Point reads (one indexed row) run inline on the caller's
//!   thread: they cost a few microseconds, less than a hop to another thread. Scans (lists
//!   and counts) run on the blocking pool. Activation reads also consult the pending map, so
//!   a record is readable from the moment it is appended.
//!
//! WAL checkpoints are SQLite's automatic ones (every ~1,000 pages), run by the activation
//! indexer inside its commit. They cost about 45% of the writer's time at full load, but a
//! separate `PASSIVE` checkpointer thread was measured to starve under sustained writes (the
//! WAL never restarts and grows without bound), so it was not kept.
//!
//! Measure with `cargo run --release -p shoal-store --example write_throughput`.
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
//! The change stream is in-process: one SQLite file serves one shoal process, and each write
//! calls the listeners right after its commit.
//!
//! # Durability
//!
//! The activation writers use `synchronous=NORMAL` durability: a record is acknowledged once
//! its journal `write` returned, and SQLite commits it without an fsync (WAL). Acknowledged
//! activations survive a crash of the process (its journal segments are committed at the
//! next open), while a power loss or kernel crash may lose the last moments of the log (the
//! database itself stays consistent). That is the trade that lets the log take tens of
//! thousands of activations per second without waiting on the disk, and losing a few
//! milliseconds of activation records on power loss is acceptable for a log. Entities and
//! subjects are user-authored configuration that the API acknowledges one by one, and they are
//! written rarely, so their connection uses `synchronous=FULL`: a `put_entity` that returned
//! `Ok` survives power loss too.
//!
//! [`ActivationLog::flush`] waits until everything queued before it is committed (or held
//! because SQLite cannot take it); dropping
//! the last handle to the store flushes and joins the writer threads, so nothing enqueued is
//! lost on an orderly shutdown.
//!
//! What the host acknowledges must survive a crash, so it writes through the durable paths:
//! [`ActivationLog::put_activation_durable`] resolves once the record is in the journal (the
//! appender skips its group window for it and writes it with whatever else is queued), and
//! [`ActivationLog::accept_activation`] stores a *stand-in* for an activation about to be
//! named in a 202: the record it ends as if the process dies first. The activation's final
//! record replaces the stand-in in the same transaction; stand-ins still there at the next
//! open become activation records ([`ActivationLog::recovered`] counts them), after the
//! journal's records are committed. When a write fails (disk full, read-only, the file deleted
//! or replaced), [`ActivationLog::health`] says why until the store writes again, which the
//! appender (the journal) and the indexer (SQLite) probe every 500 ms.

mod activations;
mod apis;
mod entities;
mod feeds;
mod journal;
mod schema;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use rusqlite::Connection;
use serde_json::Value;

use crate::heavy::{INLINE_BYTES, ScanTurns};
use crate::log_queue::{Counters, Kind, Log, MAX_QUEUED, Msg, Pending};
use crate::retention::{CHUNK, Cutoffs};
use crate::{
    ActivationLog, ActivationQuery, ActivationRecord, Apis, Change, Changes, Collection, Committed,
    Entities, Entity, EntityWrite, FeedSchedule, Feeds, GatewayApi, Listener, StoreError, Subject,
    Subjects, WriterStats,
};
use entities::SubjectKey;
use schema::Sync;
use writer::{Database, Writers};

/// The database file name inside the data directory.
pub const DB_FILE: &str = "shoal.db";

/// The lock file inside the data directory: every process with the store open holds it
/// shared (see [`lock_data_dir`]).
const LOCK_FILE: &str = "shoal.lock";

/// Upper bound on pooled read connections (each costs a file handle and its page cache).
const MAX_READERS: usize = 4;

/// The embedded store: a cheap handle (one `Arc`) to the database and its writer threads.
///
/// Open one per data directory and process; clone or share it freely. It holds
/// `2 + readers` SQLite connections and two writer threads for its whole life; dropping the
/// last handle flushes the activation queue and joins those threads.
#[derive(Clone)]
pub struct SqliteStore(Arc<Inner>);

struct Inner {
    /// Entity, subject, feed and API writes (`synchronous=FULL`).
    writer: Mutex<Connection>,
    readers: Readers,
    log: Log,
    listeners: RwLock<Vec<Listener>>,
    /// One permit per connection jobs on the blocking pool may use (the entity writer and
    /// the readers): what bounds the blocking threads the store occupies.
    jobs: tokio::sync::Semaphore,
    /// Each namespace's turns at scans ([`SqliteStore::scan_for`]).
    scans: ScanTurns,
    writers: Option<Writers>,
    /// Accepted activations that the last run did not finish, ended at open.
    recovered: u64,
    /// The data directory's lock, held shared while the store is open.
    _lock: std::fs::File,
    /// Backing directory of [`SqliteStore::open_in_memory`]; declared last so it is removed
    /// after every connection is closed.
    _temp: Option<tempfile::TempDir>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`: creates the directory and
    /// [`DB_FILE`], enables WAL, migrates the schema, commits what the journal of a process
    /// that stopped first holds, ends the activations the last run left unfinished and starts
    /// the activation writer threads.
    ///
    /// Costs a few file opens and, on first use, one schema transaction. Fails with
    /// [`StoreError::Io`] if the directory or database cannot be opened or its schema is newer
    /// than this build.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_at(data_dir, None)
    }

    /// Opens a throwaway store for tests: the same engine as [`SqliteStore::open`], in a fresh
    /// temporary directory that is deleted when the store is dropped (WAL needs a real file).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let temp = tempfile::Builder::new().prefix("shoal-store-").tempdir()?;
        let path = temp.path().to_path_buf();
        Self::open_at(&path, Some(temp))
    }

    fn open_at(
        data_dir: &Path,
        temp: Option<tempfile::TempDir>,
    ) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let mut writer = schema::connect(&path, Sync::Full, false)?;
        schema::migrate(&mut writer)?;
        let (lock, alone) = lock_data_dir(data_dir)?;
        replay_journal(data_dir, &mut writer)?;
        // Another process's stand-ins are its activations in flight, not unfinished ones.
        let recovered = if alone { recover(&mut writer)? } else { 0 };
        lock.lock_shared()?;
        let db = Database::at(&path);
        let activation_conn = schema::connect(&path, Sync::Normal, false)?;
        let n = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .clamp(2, MAX_READERS);
        let conns = (0..n)
            .map(|_| schema::connect(&path, Sync::Normal, true).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(MAX_QUEUED);
        let pending = Arc::new(Pending::default());
        let counters = Arc::new(Counters::default());
        let writers = Writers::start(
            db,
            activation_conn,
            journal::Journal::open(data_dir)?,
            rx,
            Arc::clone(&pending),
            Arc::clone(&counters),
        )?;
        Ok(SqliteStore(Arc::new(Inner {
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
            listeners: RwLock::new(Vec::new()),
            jobs: tokio::sync::Semaphore::new(1 + n),
            scans: ScanTurns::default(),
            writers: Some(writers),
            recovered,
            _lock: lock,
            _temp: temp,
        })))
    }

    /// Runs `work` on tokio's blocking pool with the store: fsynced writes and scans must not
    /// hold the async threads. At most one job per connection runs at once (they would only
    /// wait for a connection there); the others wait here, as tasks, so a burst of requests
    /// never starts a thread each. Costs a hand-off to a pooled thread and a wake-up.
    async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _slot = self
            .0
            .jobs
            .acquire()
            .await
            .map_err(|e| StoreError::Io(format!("the store is closing: {e}")))?;
        let inner = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| StoreError::Io(format!("a store task stopped: {e}")))?
    }

    /// [`SqliteStore::off_thread`] for a scan (or a large read) of `namespace`'s data: one
    /// namespace runs at most [`crate::heavy::SCANS_PER_NAMESPACE`] at once and waits for its
    /// own beyond that, so its many slow scans (pages of megabytes) cannot hold every job
    /// slot while other namespaces' lists, counts and writes wait behind them.
    async fn scan_for<T: Send + 'static>(
        &self,
        namespace: &str,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _turn = self.0.scans.take(namespace).await?;
        self.off_thread(work).await
    }

    /// What an inline point read of `namespace`'s data found, where a document too large to
    /// read inline ([`Point::Large`]) is read again by `again` on the blocking pool.
    async fn large<T: Send + 'static>(
        &self,
        namespace: &str,
        inline: Point<T>,
        again: impl FnOnce(&Inner) -> Result<Point<T>, StoreError> + Send + 'static,
    ) -> Result<Option<T>, StoreError> {
        let point = match inline {
            Point::Large => self.scan_for(namespace, again).await?,
            point => point,
        };
        Ok(match point {
            Point::Found(found) => Some(found),
            // `again` reads without a bound: never large.
            Point::Missing | Point::Large => None,
        })
    }

    /// [`SqliteStore::off_thread`] for a write that changes what `change` names: announced to
    /// the listeners once it succeeded.
    async fn write<T: Send + 'static>(
        &self,
        change: Change,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.off_thread(move |inner| {
            let done = work(&inner.writer.lock())?;
            inner.announce(std::slice::from_ref(&change));
            Ok(done)
        })
        .await
    }
}

impl Inner {
    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the entity writer, committed (one
    /// fsync) when it succeeds and rolled back when it fails.
    fn immediate<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.writer.lock();
        let tx =
            rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Immediate)?;
        let done = work(&tx)?;
        tx.commit()?;
        Ok(done)
    }

    /// Hands each of `changes` to every listener, in order.
    fn announce(&self, changes: &[Change]) {
        let listeners = self.listeners.read();
        for change in changes {
            for listener in listeners.iter() {
                listener(change);
            }
        }
    }

    fn shutdown(&mut self) {
        if let Some(writers) = self.writers.take()
            && self.log.tx.send(Msg::Shutdown).is_ok()
        {
            writers.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[async_trait]
impl Entities for SqliteStore {
    async fn get_entity(&self, namespace: &str, name: &str) -> Result<Option<Entity>, StoreError> {
        let inline = self
            .0
            .readers
            .with(|c| entities::get(c, namespace, name, INLINE_LENGTH))?;
        let (ns, name) = (namespace.to_owned(), name.to_owned());
        self.large(namespace, inline, move |inner| {
            inner
                .readers
                .scan(|c| entities::get(c, &ns, &name, i64::MAX))
        })
        .await
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
        self.write(change, move |c| entities::put(c, &entity, expected_rev))
            .await
    }

    async fn delete_entity(
        &self,
        namespace: &str,
        name: &str,
        expected_rev: Option<u64>,
    ) -> Result<Entity, StoreError> {
        let (ns, n) = (namespace.to_owned(), name.to_owned());
        let change = Change::Entity {
            namespace: ns.clone(),
            name: n.clone(),
        };
        self.write(change, move |c| entities::delete(c, &ns, &n, expected_rev))
            .await
    }

    /// One `BEGIN IMMEDIATE` transaction on the writer connection.
    async fn write_entities(&self, writes: Vec<EntityWrite>) -> Result<(), StoreError> {
        self.off_thread(move |inner| {
            inner.immediate(|tx| {
                for write in &writes {
                    match write {
                        EntityWrite::Put {
                            entity,
                            expected_rev,
                        } => drop(entities::put(tx, entity, *expected_rev)?),
                        EntityWrite::Delete {
                            namespace,
                            name,
                            expected_rev,
                        } => drop(entities::delete(tx, namespace, name, *expected_rev)?),
                    }
                }
                Ok(())
            })?;
            let changes: Vec<Change> = writes.iter().map(EntityWrite::change).collect();
            inner.announce(&changes);
            Ok(())
        })
        .await
    }

    async fn list_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<Entity>, StoreError> {
        let ns = namespace.to_owned();
        self.scan_for(namespace, move |inner| {
            inner
                .readers
                .scan(|c| entities::list(c, &ns, collection, include_packaged, skip, limit))
        })
        .await
    }

    async fn count_entities(
        &self,
        namespace: &str,
        collection: Collection,
        include_packaged: bool,
    ) -> Result<u64, StoreError> {
        let ns = namespace.to_owned();
        self.scan_for(namespace, move |inner| {
            inner
                .readers
                .scan(|c| entities::count(c, &ns, collection, include_packaged))
        })
        .await
    }

    async fn entity_bytes(&self, root: &str, except: (&str, &str)) -> Result<u64, StoreError> {
        let (ns, namespace, name) = (root.to_owned(), except.0.to_owned(), except.1.to_owned());
        self.scan_for(root, move |inner| {
            inner
                .readers
                .scan(|c| entities::bytes(c, &ns, (&namespace, &name)))
        })
        .await
    }
}

#[async_trait]
impl Subjects for SqliteStore {
    async fn put_subject(&self, subject: Subject) -> Result<(), StoreError> {
        let change = Change::Subject {
            namespace: subject.namespace.clone(),
        };
        self.write(change, move |c| entities::put_subject(c, &subject))
            .await
    }

    async fn subject_by_uuid(&self, uuid: &str) -> Result<Option<Subject>, StoreError> {
        self.0
            .readers
            .with(|c| entities::subject(c, SubjectKey::Uuid, uuid))
    }

    async fn subject_by_namespace(&self, namespace: &str) -> Result<Option<Subject>, StoreError> {
        self.0
            .readers
            .with(|c| entities::subject(c, SubjectKey::Namespace, namespace))
    }
}

#[async_trait]
impl Feeds for SqliteStore {
    async fn put_feed(&self, feed: FeedSchedule) -> Result<(), StoreError> {
        let change = Change::Feed {
            trigger: feed.trigger.clone(),
        };
        self.write(change, move |c| feeds::put(c, &feed)).await
    }

    async fn delete_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
        let trigger = trigger.to_owned();
        let change = Change::Feed {
            trigger: trigger.clone(),
        };
        self.write(change, move |c| feeds::delete(c, &trigger))
            .await
    }

    async fn get_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
        self.0.readers.with(|c| feeds::get(c, trigger))
    }

    async fn list_feeds(&self) -> Result<Vec<FeedSchedule>, StoreError> {
        self.off_thread(|inner| inner.readers.scan(|c| feeds::list(c)))
            .await
    }

    /// One `BEGIN IMMEDIATE` transaction on the entity writer: one fsync for the round.
    async fn claim_feed_ticks(&self, ticks: &[(String, i64)]) -> Result<Vec<bool>, StoreError> {
        let ticks = ticks.to_vec();
        self.off_thread(move |inner| {
            inner.immediate(|tx| {
                ticks
                    .iter()
                    .map(|(trigger, tick)| feeds::claim(tx, trigger, *tick))
                    .collect()
            })
        })
        .await
    }
}

#[async_trait]
impl Apis for SqliteStore {
    async fn put_api(&self, api: GatewayApi) -> Result<(), StoreError> {
        let change = Change::Api {
            namespace: api.namespace.clone(),
        };
        self.write(change, move |c| apis::put(c, &api, true)).await
    }

    async fn put_api_with_subscriptions(&self, api: GatewayApi) -> Result<(), StoreError> {
        let change = Change::Api {
            namespace: api.namespace.clone(),
        };
        self.write(change, move |c| apis::put(c, &api, false)).await
    }

    async fn get_api(
        &self,
        namespace: &str,
        base_path: &str,
    ) -> Result<Option<GatewayApi>, StoreError> {
        self.0.readers.with(|c| apis::get(c, namespace, base_path))
    }

    async fn delete_api(&self, namespace: &str, base_path: &str) -> Result<bool, StoreError> {
        let (ns, path) = (namespace.to_owned(), base_path.to_owned());
        let change = Change::Api {
            namespace: ns.clone(),
        };
        self.write(change, move |c| apis::delete(c, &ns, &path))
            .await
    }

    async fn api_versions(&self, namespace: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.0.readers.with(|c| apis::versions(c, namespace))
    }

    async fn list_apis(&self, namespace: &str) -> Result<Vec<GatewayApi>, StoreError> {
        let ns = namespace.to_owned();
        self.scan_for(namespace, move |inner| {
            inner.readers.scan(|c| apis::list(c, &ns))
        })
        .await
    }
}

#[async_trait]
impl ActivationLog for SqliteStore {
    /// Costs one `Arc` allocation, one insert into a sharded map and one channel send; never
    /// blocks on I/O, and waits only while the queue is full (the writer is 65,536 records
    /// behind). Committed by the writer threads within a batch (about 10 to 20 ms later).
    fn put_activation(&self, record: ActivationRecord) {
        self.0.log.put(record, Kind::Final, None);
    }

    /// No group window: the appender writes it to the journal at once, together with whatever
    /// else is queued (one `write` without fsync), and SQLite commits it within a batch.
    fn put_activation_durable(&self, record: ActivationRecord, settles: bool) -> Committed {
        self.0.log.put_durable(record, settles)
    }

    fn accept_activation(&self, stand_in: ActivationRecord) -> Committed {
        self.0.log.accept(stand_in)
    }

    /// Unhealthy after a failed journal write or commit (disk full, file read-only, deleted or
    /// replaced); healthy again once the journal takes a round (tried again after 500 ms) and
    /// SQLite a commit or the indexer's probe (every 500 ms).
    fn health(&self) -> Result<(), String> {
        self.0.log.health()
    }

    fn recovered(&self) -> u64 {
        self.0.recovered
    }

    fn writer_stats(&self) -> WriterStats {
        self.0.log.stats()
    }

    async fn get_activation(&self, namespace: &str, id: &str) -> Result<Option<Value>, StoreError> {
        let inner = &self.0;
        let inline = inner
            .readers
            .with(|c| inner.log.get(c, namespace, id, INLINE_LENGTH))?;
        let (ns, id) = (namespace.to_owned(), id.to_owned());
        self.large(namespace, inline, move |inner| {
            inner.readers.scan(|c| inner.log.get(c, &ns, &id, i64::MAX))
        })
        .await
    }

    /// An index range scan; when records are queued it also scans the pending map (which is
    /// empty when the writer keeps up) and reads `skip + limit` rows to merge.
    async fn list_activations(&self, query: &ActivationQuery) -> Result<Vec<Value>, StoreError> {
        let query = query.clone();
        self.scan_for(&query.namespace.clone(), move |inner| {
            inner.readers.scan(|c| inner.log.list(c, &query))
        })
        .await
    }

    async fn count_activations(&self, query: &ActivationQuery) -> Result<u64, StoreError> {
        let query = query.clone();
        self.scan_for(&query.namespace.clone(), move |inner| {
            inner.readers.scan(|c| inner.log.count(c, &query))
        })
        .await
    }

    /// Costs one round trip through the writer threads, plus up to one group window (10 ms)
    /// when the appender is collecting a batch, plus the commit.
    async fn flush(&self) {
        self.0.log.flush().await;
    }

    /// Deletes in chunks through the index on `start`, each chunk its own write transaction,
    /// so activation commits interleave with a long run; removal is exact to the millisecond.
    async fn expire_activations(&self, days: Option<u32>, now: i64) -> Result<u64, StoreError> {
        self.off_thread(move |inner| {
            let own = inner.readers.scan(|c| activations::retentions(c))?;
            let cutoffs = Cutoffs::of(days, now, own);
            let every = cutoffs.all.map(|before| (None, before));
            let own = cutoffs
                .namespaces
                .iter()
                .map(|(ns, b)| (Some(ns.as_str()), *b));
            let mut removed = 0;
            for (namespace, before) in every.into_iter().chain(own) {
                loop {
                    let n = activations::expire_chunk(&inner.writer.lock(), namespace, before)?;
                    removed += n;
                    if n < CHUNK as u64 {
                        break;
                    }
                }
            }
            Ok(removed)
        })
        .await
    }
}

impl Changes for SqliteStore {
    fn watch(&self, listener: Listener) {
        self.0.listeners.write().push(listener);
    }
}

/// Commits the records that a process which stopped first had acknowledged but not yet
/// committed (its journal segments), then deletes those segments.
fn replay_journal(data_dir: &Path, conn: &mut Connection) -> Result<(), StoreError> {
    let records = journal::replay(data_dir, |entries| writer::insert(conn, entries))?;
    if records > 0 {
        tracing::warn!(
            records,
            "activation records the last run acknowledged were committed from its journal"
        );
    }
    Ok(())
}

/// Opens and locks the data directory's [`LOCK_FILE`]: exclusively if no other process has the
/// store open (`true`: what the last run left unfinished may then be ended), else not at all;
/// the caller then holds it shared for the store's life. A process that opens the store
/// beside a live one (`shoal namespace …` beside the server) so never ends that one's
/// activations in flight; the stand-ins of a run that stopped are ended by the next open
/// that finds no other process.
fn lock_data_dir(data_dir: &Path) -> Result<(std::fs::File, bool), StoreError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))?;
    let alone = match file.try_lock() {
        Ok(()) => true,
        Err(std::fs::TryLockError::WouldBlock) => false,
        Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
    };
    Ok((file, alone))
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

/// [`INLINE_BYTES`] as SQLite's `length` counts.
const INLINE_LENGTH: i64 = INLINE_BYTES as i64;

/// What a point read found.
#[derive(Debug, PartialEq)]
pub(crate) enum Point<T> {
    Found(T),
    Missing,
    /// There, but larger than the read's bound: not read.
    Large,
}

/// A fixed pool of read-only connections (at least two). Point reads run inline on the
/// caller's thread ([`Readers::with`]) on any idle one; scans run on the blocking pool
/// ([`Readers::scan`]) on any but the first. So a point read, which may run on an I/O
/// thread, never waits behind a scan, however long it runs (a page of large records): when
/// every connection is busy it waits on the first, which only point reads use.
struct Readers {
    conns: Box<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl Readers {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.take(0, f)
    }

    fn scan<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.take(1, f)
    }

    /// Runs `f` on the first idle connection from `first` on (starting from a rotating
    /// index), or waits for connection `first`.
    fn take<R>(
        &self,
        first: usize,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let n = self.conns.len() - first;
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Some(mut conn) = self.conns[first + (start + i) % n].try_lock() {
                return f(&mut conn);
            }
        }
        f(&mut self.conns[first].lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + std::marker::Sync>() {}

    #[test]
    fn store_is_send_and_sync() {
        assert_send_sync::<SqliteStore>();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_documents_are_not_read_inline() {
        let store = SqliteStore::open_in_memory().unwrap();
        let doc = serde_json::json!({"code": "x".repeat(2 << 20)});
        let entity = Entity {
            namespace: "guest".into(),
            name: "big".into(),
            collection: crate::Collection::Actions,
            doc: doc.clone(),
            updated: 1,
            rev: 0,
        };
        store.put_entity(entity, None).await.unwrap();
        let inline = store
            .0
            .readers
            .with(|c| entities::get(c, "guest", "big", INLINE_LENGTH));
        assert!(matches!(inline, Ok(Point::Large)));
        let read = store.get_entity("guest", "big").await.unwrap().unwrap();
        assert_eq!(read.doc, doc);

        let id = format!("{:032x}", 1);
        store.put_activation(crate::ActivationRecord {
            namespace: "guest".into(),
            doc: doc.to_string(),
            activation_id: id.clone(),
            name: "big".into(),
            filter_name: "big".into(),
            start: 1,
        });
        for _ in ["queued", "written"] {
            let inner = &store.0;
            let inline = inner
                .readers
                .with(|c| inner.log.get(c, "guest", &id, INLINE_LENGTH));
            assert_eq!(inline.unwrap(), Point::Large);
            assert_eq!(
                store.get_activation("guest", &id).await.unwrap(),
                Some(doc.clone())
            );
            store.flush().await;
        }
    }

    /// One namespace's scans that do not end (held here) take two of the store's job slots:
    /// another namespace's list still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_namespaces_scans_leave_slots_to_the_others() {
        let store = SqliteStore::open_in_memory().unwrap();
        let slots = 1 + store.0.readers.conns.len();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let running = Arc::new(AtomicUsize::new(0));
        let hogs: Vec<_> = (0..slots)
            .map(|_| {
                let (store, held, running) = (store.clone(), held.clone(), running.clone());
                tokio::spawn(async move {
                    store
                        .scan_for("hog/pkg", move |_| {
                            running.fetch_add(1, Ordering::SeqCst);
                            let _ = held.lock().recv();
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        while running.load(Ordering::SeqCst) < crate::heavy::SCANS_PER_NAMESPACE {
            tokio::task::yield_now().await;
        }
        // A hang here (the bound is a guard, not a measurement) means the hog took every slot.
        let other = store.list_entities("guest", crate::Collection::Actions, false, 0, 30);
        let listed = tokio::time::timeout(std::time::Duration::from_secs(60), other).await;
        assert!(
            listed
                .expect("another namespace's list waited")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            running.load(Ordering::SeqCst),
            crate::heavy::SCANS_PER_NAMESPACE
        );
        for _ in 0..slots {
            release.send(()).unwrap();
        }
        for hog in hogs {
            hog.await.unwrap().unwrap();
        }
    }

    #[test]
    fn scans_leave_the_first_reader_to_point_reads() {
        let store = SqliteStore::open_in_memory().unwrap();
        let readers = &store.0.readers;
        let at = |c: &mut Connection| Ok(std::ptr::from_mut(c) as usize);
        let first = readers.conns[0].data_ptr() as usize;
        for _ in 0..2 * readers.conns.len() {
            assert_ne!(
                readers.scan(at).unwrap(),
                first,
                "a scan took the first reader"
            );
        }
        // Every scan connection busy: a point read gets the first at once.
        let held: Vec<_> = readers.conns[1..].iter().map(|c| c.lock()).collect();
        assert_eq!(readers.with(at).unwrap(), first);
        drop(held);
    }

    #[test]
    fn readers_pool_hands_out_every_connection() {
        let store = SqliteStore::open_in_memory().unwrap();
        let n = store.0.readers.conns.len();
        assert!(n >= 2);
        // Hold all but one; the next caller must get the free one without blocking.
        let held: Vec<_> = store.0.readers.conns[..n - 1]
            .iter()
            .map(|c| c.lock())
            .collect();
        let got = store
            .0
            .readers
            .with(|c| Ok(c.path().map(str::to_owned)))
            .unwrap();
        assert!(got.is_some());
        drop(held);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_jobs_are_bounded_by_the_connections() {
        use std::sync::atomic::AtomicUsize;
        let store = SqliteStore::open_in_memory().unwrap();
        let bound = 1 + store.0.readers.conns.len();
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..64)
            .map(|_| {
                let (store, running, most) = (store.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    store
                        .off_thread(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=bound).contains(&most),
            "{most} jobs at once, bound {bound}"
        );
    }

    #[test]
    fn in_memory_store_removes_its_directory() {
        let store = SqliteStore::open_in_memory().unwrap();
        let dir = store.0._temp.as_ref().unwrap().path().to_path_buf();
        assert!(dir.join(DB_FILE).exists());
        drop(store);
        assert!(!dir.exists());
    }
}
