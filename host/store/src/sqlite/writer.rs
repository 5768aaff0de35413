//! The SQLite activation log's two writer threads.
//!
//! - The **appender** takes the queued records ([`crate::log_queue`]) in rounds, writes each
//!   round to the journal ([`super::journal`]) in one `write`, and then answers the durable
//!   puts. Every [`GROUP_WINDOW`] (or at [`MAX_BATCH`] records, a flush or the shutdown) it
//!   seals the segment and hands its records to the indexer.
//! - The **indexer** commits each sealed segment's records to SQLite in one transaction,
//!   removes them from the pending map (they were readable from there meanwhile), and deletes
//!   the segment.
//!
//! So a durable put waits for one `write` of its round, not for a SQLite commit; and under
//! load SQLite commits a few hundred records per transaction instead of a few, which is most
//! of what its WAL frames, locks and checkpoints cost per record.
//!
//! When the store cannot write, [`crate::ActivationLog::health`] says why, and the appender
//! refuses records at once (the final records of accepted activations are kept and written
//! once the store writes again: a 202 promised them). The two parts fail and recover apart:
//! - **The journal** (disk full, its directory unwritable): the appender refuses records for
//!   [`PROBE_EVERY`], then tries the journal again with the next round, or with a probe
//!   write while no round comes; either makes the journal healthy again.
//! - **SQLite** (disk full, the database file deleted or replaced): records already
//!   acknowledged are never dropped. The indexer keeps them, and their segments, and commits
//!   them again every [`PROBE_EVERY`] until SQLite takes them (if the process stops first,
//!   the next open commits the segments). While it holds nothing, it probes SQLite with a
//!   small write instead.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::{Connection, TransactionBehavior, params};
use shoal_router::sched;
use tokio::sync::oneshot;

use super::journal::{Journal, Segment};
use crate::StoreError;
use crate::log_queue::{
    Counters, Entry, GATHER_SIBLINGS, GROUP_WINDOW, Kind, MAX_BATCH, Msg, Pending, URGENT_GATHER,
    forget, set_health,
};

/// An accepted activation's stand-in record (what it ends as if shoal stops before it does).
const ACCEPT_SQL: &str = "INSERT OR REPLACE INTO accepted
    (namespace, activation_id, name, filter_name, start, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The final record of an accepted activation replaces its stand-in.
const SETTLE_SQL: &str = "DELETE FROM accepted WHERE namespace = ?1 AND activation_id = ?2";

const INSERT_SQL: &str = "INSERT OR REPLACE INTO activations
    (namespace, activation_id, name, filter_name, start, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// A write that touches the database file, to learn whether the store can write again.
const PROBE_SQL: &str = "INSERT OR REPLACE INTO accepted VALUES ('', '', '', '', 0, '');
    DELETE FROM accepted WHERE namespace = '' AND activation_id = '';";

/// How often an unhealthy store tries again: the journal with the next round, SQLite with
/// what the indexer holds or a probe.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// Messages queued for the indexer: sealed segments (one per [`GROUP_WINDOW`] under steady
/// load; flushes and full rounds seal sooner) and flushes. When it is full the appender, and
/// then the producers, wait for the indexer.
const SEALED_QUEUE: usize = 64;

/// What the appender hands the indexer.
enum Sealed {
    /// Records acknowledged from `segment`, in the order they were appended.
    Records {
        entries: Vec<Entry>,
        segment: Option<Segment>,
    },
    /// Reply once everything sealed before this is committed (or is held because SQLite
    /// cannot take it).
    Flush(oneshot::Sender<()>),
}

/// The database file the writers opened, to notice it being deleted or replaced (commits
/// would then go nowhere).
#[derive(Clone)]
pub(crate) struct Database {
    path: PathBuf,
    /// Device and inode when the writers' connection opened it.
    identity: Option<(u64, u64)>,
}

impl Database {
    /// The file at `path` as it is now: call just before opening the writers' connection.
    pub(crate) fn at(path: &Path) -> Database {
        Database {
            path: path.to_path_buf(),
            identity: identity(path),
        }
    }

    /// Why commits would be lost: the file is no longer the one the writers opened. One
    /// `statx`.
    fn moved_away(&self) -> Option<String> {
        (identity(&self.path) != self.identity).then(|| {
            format!(
                "the database file {} was deleted or replaced while shoal runs; restart shoal",
                self.path.display()
            )
        })
    }
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Why each part of the store cannot write, if it cannot; [`crate::ActivationLog::health`]
/// reports the first of them.
#[derive(Default)]
struct Health {
    /// The journal's last failure, and when it happened.
    journal: Option<(String, Instant)>,
    /// SQLite's (or the database file's) last failure.
    database: Option<String>,
}

/// [`Health`], shared by the two threads.
#[derive(Clone)]
struct Parts {
    health: Arc<Mutex<Health>>,
    counters: Arc<Counters>,
}

impl Parts {
    fn set_journal(&self, error: Option<String>) {
        let mut health = self.health.lock();
        health.journal = error.map(|e| (e, Instant::now()));
        self.publish(&health);
    }

    fn set_database(&self, error: Option<String>) {
        let mut health = self.health.lock();
        health.database = error;
        self.publish(&health);
    }

    fn publish(&self, health: &Health) {
        let error = health.database.clone();
        set_health(
            &self.counters,
            error.or_else(|| health.journal.as_ref().map(|(e, _)| e.clone())),
        );
    }

    /// Why records must be refused now: SQLite cannot take them, or the journal failed less
    /// than [`PROBE_EVERY`] ago.
    fn refusal(&self) -> Option<String> {
        let health = self.health.lock();
        health.database.clone().or_else(|| {
            health
                .journal
                .as_ref()
                .filter(|(_, at)| at.elapsed() < PROBE_EVERY)
                .map(|(e, _)| e.clone())
        })
    }

    fn journal_failing(&self) -> bool {
        self.health.lock().journal.is_some()
    }

    fn database_failing(&self) -> bool {
        self.health.lock().database.is_some()
    }
}

/// The two writer threads of one store.
pub(crate) struct Writers {
    appender: JoinHandle<()>,
    indexer: JoinHandle<()>,
}

impl Writers {
    /// Starts the threads: the appender takes `rx` and writes `journal`, the indexer owns
    /// `conn` (a connection to `db`). They run until [`Msg::Shutdown`] or every sender is gone.
    pub(crate) fn start(
        db: Database,
        conn: Connection,
        journal: Journal,
        rx: Receiver<Msg>,
        pending: Arc<Pending>,
        counters: Arc<Counters>,
    ) -> io::Result<Writers> {
        let (to_indexer, sealed) = sync_channel(SEALED_QUEUE);
        let parts = Parts {
            health: Arc::default(),
            counters,
        };
        let indexer = Indexer {
            db: db.clone(),
            conn,
            pending: Arc::clone(&pending),
            parts: parts.clone(),
        };
        // Both in batch: woken for a record, they let the request threads queue the rest
        // of what is ready first, and take it all in one round.
        let indexer = std::thread::Builder::new()
            .name("shoal-store-indexer".into())
            .spawn(move || {
                sched::set_this_thread(sched::Policy::Batch);
                indexer.run(&sealed)
            })?;
        let appender = Appender::new(db, journal, to_indexer, pending, parts);
        let appender = std::thread::Builder::new()
            .name("shoal-store-appender".into())
            .spawn(move || {
                sched::set_this_thread(sched::Policy::Batch);
                appender.run(&rx)
            })?;
        Ok(Writers { appender, indexer })
    }

    /// Waits for both threads to end (send [`Msg::Shutdown`] first): everything they
    /// acknowledged is then committed, or left in the journal for the next open. Final records
    /// of accepted activations still refused then are dropped; their stand-ins end them at
    /// the next open.
    pub(crate) fn join(self) {
        // A panic on either thread is already reported by the panic hook; there is nothing
        // more to do with it here.
        let _ = self.appender.join();
        let _ = self.indexer.join();
    }
}

/// The appender's state between rounds.
struct Appender {
    db: Database,
    journal: Journal,
    to_indexer: SyncSender<Sealed>,
    pending: Arc<Pending>,
    parts: Parts,
    /// Acknowledged records not yet handed to the indexer, in append order.
    staged: Vec<Entry>,
    /// When the first of `staged` was appended.
    since: Instant,
    /// Final records of accepted activations refused while the store could not write: kept
    /// (and readable) until it writes again, since a 202 named them. Bounded by the
    /// activations in flight.
    retry: Vec<Entry>,
}

impl Appender {
    fn new(
        db: Database,
        journal: Journal,
        to_indexer: SyncSender<Sealed>,
        pending: Arc<Pending>,
        parts: Parts,
    ) -> Appender {
        Appender {
            db,
            journal,
            to_indexer,
            pending,
            parts,
            staged: Vec::new(),
            since: Instant::now(),
            retry: Vec::new(),
        }
    }

    /// Takes rounds of records until [`Msg::Shutdown`] (or every sender is gone).
    ///
    /// A round with a record someone waits for (a durable put) is appended at once, with
    /// whatever else is queued: what arrives meanwhile makes the next round; only when the
    /// last round held many records does it first gather for [`URGENT_GATHER`]. Records
    /// nobody waits for are collected for a [`GROUP_WINDOW`] after the first. A full round,
    /// or a flush, ends the collecting early; after a round the appender waits one window
    /// for more before it parks.
    fn run(mut self, rx: &Receiver<Msg>) {
        let mut batch: Vec<Entry> = Vec::with_capacity(MAX_BATCH);
        let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
        let mut shutdown = false;
        // Whether the last round took records (then the next one waits a window at most
        // instead of parking), and whether it stopped at a full batch (then it does not wait).
        let (mut busy, mut full) = (false, false);
        // Records in the last round: many means many clients wait at once.
        let mut last_batch = 0;
        while !shutdown {
            let mut more = true;
            // A full round, or retries the store can take again, are written without waiting.
            if !(full || (busy && self.may_retry())) {
                let next = if busy {
                    rx.recv_timeout(GROUP_WINDOW)
                } else if !self.retry.is_empty() || self.parts.journal_failing() {
                    rx.recv_timeout(PROBE_EVERY)
                } else {
                    rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                };
                match next {
                    Ok(msg) => more = take(msg, &mut batch, &mut flushes, &mut shutdown),
                    Err(RecvTimeoutError::Timeout) => {
                        // Quiet for a while: hand over what is staged, then park, or come
                        // back for the retries once the store writes again.
                        self.seal();
                        self.probe();
                        busy = self.may_retry();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => (more, shutdown) = (false, true),
                }
            }
            if self.may_retry() {
                batch.append(&mut self.retry);
            }
            let urgent = batch.iter().any(|e| e.ack.is_some());
            if more && !full && !urgent {
                std::thread::sleep(GROUP_WINDOW);
            } else if more && !full && last_batch >= GATHER_SIBLINGS {
                // Many wait at the same time: let them queue for a moment, then take them all
                // (one write and one wake-up for many; waiting on the channel instead would
                // wake this thread once per record). A few, or one alone, go at once.
                std::thread::sleep(URGENT_GATHER);
            }
            while more {
                match rx.try_recv() {
                    Ok(msg) => more = take(msg, &mut batch, &mut flushes, &mut shutdown),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => (more, shutdown) = (false, true),
                }
            }
            (busy, full) = (!batch.is_empty(), batch.len() >= MAX_BATCH);
            last_batch = batch.len();
            if !batch.is_empty() {
                self.append(&mut batch);
            }
            let due = self.staged.len() >= MAX_BATCH || self.since.elapsed() >= GROUP_WINDOW;
            if due || shutdown || !flushes.is_empty() {
                self.seal();
            }
            for flush in flushes.drain(..) {
                self.hand(Sealed::Flush(flush));
            }
        }
        self.seal();
    }

    /// With no round to try the journal with: whether a failed journal takes a write again
    /// (once [`PROBE_EVERY`] has passed since it failed).
    fn probe(&mut self) {
        if self.parts.journal_failing() && self.parts.refusal().is_none() {
            let probed = self.journal.probe();
            self.parts.set_journal(
                probed
                    .err()
                    .map(|e| format!("cannot write the activation journal: {e}")),
            );
        }
    }

    /// Whether there are retries and the store may take them now.
    fn may_retry(&self) -> bool {
        !self.retry.is_empty() && self.parts.refusal().is_none()
    }

    /// Journals `batch` and answers its durable puts, staging the records for the indexer;
    /// if the store cannot write, refuses them instead (keeping the final records of
    /// accepted activations for later).
    fn append(&mut self, batch: &mut Vec<Entry>) {
        let refused = self.parts.refusal().or_else(|| {
            let moved = self.db.moved_away();
            if moved.is_some() {
                self.parts.set_database(moved.clone());
            }
            moved
        });
        let failure = refused.or_else(|| match self.journal.append(batch) {
            Ok(()) => {
                if self.parts.journal_failing() {
                    self.parts.set_journal(None);
                }
                None
            }
            Err(e) => {
                let why = format!("cannot write the activation journal: {e}");
                self.parts.set_journal(Some(why.clone()));
                // Nothing may follow a frame the failed write may have torn.
                self.seal();
                Some(why)
            }
        });
        let Some(why) = failure else {
            if self.staged.is_empty() {
                self.since = Instant::now();
            }
            for mut entry in batch.drain(..) {
                if let Some(ack) = entry.ack.take() {
                    // The waiter may have given up; nothing to do then.
                    let _ = ack.send(Ok(()));
                }
                self.staged.push(entry);
            }
            return;
        };
        for entry in batch.drain(..) {
            if entry.kind == Kind::Settles {
                self.retry.push(entry);
                continue;
            }
            self.parts.counters.failed.fetch_add(1, Ordering::Relaxed);
            forget(&self.pending, &entry.rec);
            if let Some(ack) = entry.ack {
                let _ = ack.send(Err(why.clone()));
            }
        }
    }

    /// Hands the staged records and their segment to the indexer, if there are any.
    fn seal(&mut self) {
        let segment = self.journal.seal();
        if segment.is_some() || !self.staged.is_empty() {
            let entries = std::mem::take(&mut self.staged);
            self.hand(Sealed::Records { entries, segment });
        }
    }

    /// Sends to the indexer; waits while [`SEALED_QUEUE`] messages are queued.
    fn hand(&self, sealed: Sealed) {
        if self.to_indexer.send(sealed).is_err() {
            // Only if the indexer panicked. The segment stays on disk (unlocked once
            // dropped), so the next open commits its records; until then, refuse.
            let why = "the activation indexer stopped; restart shoal".to_owned();
            tracing::error!("{why}");
            self.parts.set_database(Some(why));
        }
    }
}

/// Adds one message to the round; `false` when the round must end now (a full batch, a flush
/// or the shutdown).
fn take(
    msg: Msg,
    batch: &mut Vec<Entry>,
    flushes: &mut Vec<oneshot::Sender<()>>,
    shutdown: &mut bool,
) -> bool {
    match msg {
        Msg::Record(entry) => {
            batch.push(entry);
            batch.len() < MAX_BATCH
        }
        Msg::Flush(ack) => {
            flushes.push(ack);
            false
        }
        Msg::Shutdown => {
            *shutdown = true;
            false
        }
    }
}

/// The indexer's state.
struct Indexer {
    db: Database,
    conn: Connection,
    pending: Arc<Pending>,
    parts: Parts,
}

impl Indexer {
    /// Commits what the appender seals, in order, until the appender is gone and everything
    /// is committed (or left in the journal because SQLite cannot take it).
    fn run(mut self, rx: &Receiver<Sealed>) {
        // Sealed and not yet committed, oldest first: more than one only while commits fail.
        let mut held: VecDeque<Sealed> = VecDeque::new();
        loop {
            let next = if held.is_empty() && !self.parts.database_failing() {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                rx.recv_timeout(PROBE_EVERY)
            };
            let closed = match next {
                Ok(sealed) => {
                    held.push_back(sealed);
                    held.extend(rx.try_iter());
                    false
                }
                Err(RecvTimeoutError::Timeout) => {
                    if held.is_empty() {
                        self.probe();
                    }
                    false
                }
                Err(RecvTimeoutError::Disconnected) => true,
            };
            self.commit(&mut held);
            if closed {
                return;
            }
        }
    }

    /// Commits the held records from the oldest, one segment per transaction, replying to
    /// the flushes on the way, until a commit fails (SQLite cannot write: the rest is kept
    /// for the next try, and the flushes are answered).
    fn commit(&mut self, held: &mut VecDeque<Sealed>) {
        while let Some(sealed) = held.pop_front() {
            let (entries, segment) = match sealed {
                Sealed::Flush(flush) => {
                    // The flusher may have given up waiting; nothing to do then.
                    let _ = flush.send(());
                    continue;
                }
                Sealed::Records { entries, segment } => (entries, segment),
            };
            if !entries.is_empty() {
                let committed = match self.db.moved_away() {
                    Some(why) => Err(why),
                    None => insert(&mut self.conn, &entries).map_err(|e| e.to_string()),
                };
                if let Err(why) = committed {
                    self.parts.set_database(Some(why));
                    held.push_front(Sealed::Records { entries, segment });
                    // Waiting for SQLite to write again could take forever: answer the
                    // flushes (a dropped reply is an answer).
                    held.retain(|s| !matches!(s, Sealed::Flush(_)));
                    return;
                }
                let counters = &self.parts.counters;
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .records
                    .fetch_add(entries.len() as u64, Ordering::Relaxed);
                if self.parts.database_failing() {
                    self.parts.set_database(None);
                }
                for entry in &entries {
                    forget(&self.pending, &entry.rec);
                }
            }
            if let Some(segment) = segment {
                segment.discard();
            }
        }
    }

    /// One small write, to learn whether SQLite can write again.
    fn probe(&mut self) {
        let result = match self.db.moved_away() {
            Some(why) => Err(why),
            None => self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .and_then(|tx| {
                    tx.execute_batch(PROBE_SQL)?;
                    tx.commit()
                })
                .map_err(|e| StoreError::from(e).to_string()),
        };
        self.parts.set_database(result.err());
    }
}

/// One transaction writing `entries` (their documents are already JSON text).
pub(crate) fn insert(conn: &mut Connection, entries: &[Entry]) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut record = tx.prepare_cached(INSERT_SQL)?;
        for Entry { rec: r, kind, .. } in entries {
            let row = params![
                r.namespace,
                r.activation_id,
                r.name,
                r.filter_name,
                r.start,
                r.doc
            ];
            match kind {
                Kind::Final => drop(record.execute(row)?),
                Kind::Accepted => drop(tx.prepare_cached(ACCEPT_SQL)?.execute(row)?),
                Kind::Settles => {
                    record.execute(row)?;
                    tx.prepare_cached(SETTLE_SQL)?
                        .execute(params![r.namespace, r.activation_id])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;
    use crate::ActivationRecord;
    use crate::log_queue::Log;
    use crate::sqlite::DB_FILE;
    use crate::sqlite::activations::tests::{frozen, rec};
    use crate::sqlite::journal::JOURNAL_DIR;

    /// A migrated database in `dir`, and the writers' connection to it.
    fn database(dir: &Path) -> (Database, Connection) {
        let path = dir.join(DB_FILE);
        let mut conn =
            crate::sqlite::schema::connect(&path, crate::sqlite::schema::Sync::Normal, false)
                .unwrap();
        crate::sqlite::schema::migrate(&mut conn).unwrap();
        (Database::at(&path), conn)
    }

    /// Starts the writers for `log` on the database in `dir`.
    fn start(log: &Log, rx: Receiver<Msg>, dir: &Path) -> Writers {
        let (db, conn) = database(dir);
        let journal = Journal::open(dir).unwrap();
        let (pending, counters) = (Arc::clone(&log.pending), Arc::clone(&log.counters));
        Writers::start(db, conn, journal, rx, pending, counters).unwrap()
    }

    fn count(dir: &Path, table: &str) -> i64 {
        Connection::open(dir.join(DB_FILE))
            .unwrap()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn segments(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(JOURNAL_DIR)).unwrap().count()
    }

    /// Puts each record as its kind with someone waiting, and waits for every one to be
    /// acknowledged.
    fn acknowledged<const N: usize>(log: &Log, puts: [(&Arc<ActivationRecord>, Kind); N]) {
        let acks = puts.map(|(rec, kind)| durable(log, rec, kind));
        for ack in acks {
            assert_eq!(ack.blocking_recv().unwrap(), Ok(()));
        }
    }

    /// Puts `rec` as `kind` with someone waiting for it.
    fn durable(
        log: &Log,
        rec: &Arc<ActivationRecord>,
        kind: Kind,
    ) -> oneshot::Receiver<Result<(), String>> {
        let (tx, rx) = oneshot::channel();
        log.put(Arc::unwrap_or_clone(Arc::clone(rec)), kind, Some(tx));
        rx
    }

    #[test]
    fn writers_commit_batches_clear_pending_and_remove_their_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let n = MAX_BATCH as u64 * 2 + 5;
        for i in 0..n {
            log.put(Arc::unwrap_or_clone(rec(i, i as i64)), Kind::Final, None);
        }
        let writers = start(&log, rx, dir.path());
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
        let stats = log.counters.snapshot(&log.pending);
        assert_eq!((stats.records, stats.pending, stats.failed), (n, 0, 0));
        // Queued up front, so the rounds are full except the last, one commit each.
        assert_eq!(stats.batches, 3);
        assert_eq!(count(dir.path(), "activations") as u64, n);
        assert_eq!(segments(dir.path()), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn both_writers_run_in_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let writers = start(&log, rx, dir.path());
        acknowledged(&log, [(&rec(1, 1), Kind::Final)]);
        flush(&log);
        // Both have run (a record went through them). Other tests' writers may be alive too,
        // one of them maybe just started and not moved yet: wait for that one.
        eventually("every writer thread is in batch", || {
            [
                sched::threads_named("shoal-store-app"),
                sched::threads_named("shoal-store-ind"),
            ]
            .iter()
            .all(|found| {
                !found.is_empty() && found.iter().all(|p| *p == Some(sched::Policy::Batch))
            })
        });
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
    }

    #[test]
    fn durable_puts_are_acknowledged_and_accepted_rows_are_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let writers = start(&log, rx, dir.path());
        let (accepted, settled, lost) = (rec(1, 1), rec(1, 2), rec(2, 3));
        acknowledged(
            &log,
            [
                (&accepted, Kind::Accepted),
                (&lost, Kind::Accepted),
                (&settled, Kind::Settles),
            ],
        );
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
        // Activation 1 finished (its stand-in is gone); activation 2 never did.
        let rows = |dir: &Path| (count(dir, "activations"), count(dir, "accepted"));
        assert_eq!(rows(dir.path()), (1, 1));
        Connection::open(dir.path().join(DB_FILE))
            .unwrap()
            .execute_batch(crate::sqlite::activations::RECOVER_SQL)
            .unwrap();
        assert_eq!(rows(dir.path()), (2, 0));
    }

    #[test]
    fn acknowledged_records_the_process_never_committed_are_committed_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        // An appender whose indexer never runs: the process "stops" before any commit.
        let (to_indexer, stalled) = sync_channel(SEALED_QUEUE);
        let parts = Parts {
            health: Arc::default(),
            counters: Arc::clone(&log.counters),
        };
        let appender = Appender::new(
            Database::at(&dir.path().join(DB_FILE)),
            Journal::open(dir.path()).unwrap(),
            to_indexer,
            Arc::clone(&log.pending),
            parts,
        );
        let thread = std::thread::spawn(move || appender.run(&rx));
        let (accepted, settled, other) = (rec(1, 1), rec(1, 2), rec(2, 3));
        acknowledged(
            &log,
            [
                (&accepted, Kind::Accepted),
                (&settled, Kind::Settles),
                (&other, Kind::Final),
            ],
        );
        log.tx.send(Msg::Shutdown).unwrap();
        thread.join().unwrap();
        drop(stalled);
        // Nothing reached SQLite; the next open of the data directory commits it all.
        let (_, conn) = database(dir.path());
        drop(conn);
        assert_eq!(count(dir.path(), "activations"), 0);
        let store = crate::SqliteStore::open(dir.path()).unwrap();
        let runtime = runtime();
        for r in [&settled, &other] {
            let doc = runtime
                .block_on(crate::ActivationLog::get_activation(
                    &store,
                    &r.namespace,
                    &r.activation_id,
                ))
                .unwrap();
            assert_eq!(doc, Some(serde_json::from_str(&r.doc).unwrap()));
        }
        drop(store);
        assert_eq!(count(dir.path(), "activations"), 2);
        assert_eq!(count(dir.path(), "accepted"), 0);
        assert_eq!(segments(dir.path()), 0);
    }

    #[test]
    fn a_deleted_database_fails_puts_and_makes_the_store_unhealthy() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let writers = start(&log, rx, dir.path());
        std::fs::remove_file(dir.path().join(DB_FILE)).unwrap();
        let outcome = durable(&log, &rec(1, 1), Kind::Final)
            .blocking_recv()
            .unwrap();
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
        let error = outcome.unwrap_err();
        assert!(error.contains("was deleted or replaced"), "{error}");
        assert_eq!(
            log.counters.unhealthy.read().as_deref(),
            Some(error.as_str())
        );
        assert_eq!(log.counters.snapshot(&log.pending).pending, 0);
    }

    /// Waits until everything put so far is committed (or held).
    fn flush(log: &Log) {
        runtime().block_on(log.flush());
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    /// Polls `done` until it holds; the bound only turns a hang into a failure.
    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(60), "never: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn records_sqlite_refuses_are_held_and_committed_once_it_takes_them_again() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let writers = start(&log, rx, dir.path());
        let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
        other
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON activations
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        // Acknowledged from the journal; SQLite then refuses it.
        let held = rec(1, 1);
        acknowledged(&log, [(&held, Kind::Final)]);
        let unhealthy = || log.counters.unhealthy.read().clone();
        eventually("the store turns unhealthy", || unhealthy().is_some());
        assert!(unhealthy().unwrap().contains("refused by the test"));
        // Refused while SQLite cannot write: its writer hears why; nothing acknowledged goes.
        let refused = durable(&log, &rec(2, 2), Kind::Final)
            .blocking_recv()
            .unwrap();
        assert!(refused.unwrap_err().contains("refused by the test"));
        assert!(log.queued_record("guest", &held.activation_id).is_some());
        assert_eq!(segments(dir.path()), 1);
        other.execute_batch("DROP TRIGGER refuse;").unwrap();
        eventually("the held record is committed", || {
            log.counters.snapshot(&log.pending).pending == 0
        });
        assert_eq!(unhealthy(), None);
        acknowledged(&log, [(&rec(3, 3), Kind::Final)]);
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
        let ids: Vec<String> = other
            .prepare("SELECT activation_id FROM activations ORDER BY start")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, [rec(1, 1), rec(3, 3)].map(|r| r.activation_id.clone()));
        assert_eq!(log.counters.snapshot(&log.pending).failed, 1);
        assert_eq!(segments(dir.path()), 0);
    }

    #[test]
    fn the_end_of_an_accepted_activation_waits_out_a_journal_failure() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let writers = start(&log, rx, dir.path());
        let (accepted, settles) = (rec(1, 1), rec(1, 2));
        acknowledged(&log, [(&accepted, Kind::Accepted)]);
        // Committed, so no segment is open: the next round needs a new one, and cannot
        // make it.
        flush(&log);
        let journal = dir.path().join(JOURNAL_DIR);
        std::fs::remove_dir_all(&journal).unwrap();
        std::fs::write(&journal, b"not a directory").unwrap();
        let mut ack = durable(&log, &settles, Kind::Settles);
        eventually("the store turns unhealthy", || {
            log.counters.unhealthy.read().is_some()
        });
        // A 202 named this activation: its end is neither refused nor dropped, and stays
        // readable while the journal cannot take it.
        assert_eq!(
            ack.try_recv(),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty)
        );
        assert!(log.queued_record("guest", &settles.activation_id).is_some());
        std::fs::remove_file(&journal).unwrap();
        let mut answer = None;
        eventually("the end of the activation is journalled", || {
            answer = ack.try_recv().ok();
            answer.is_some()
        });
        assert_eq!(answer, Some(Ok(())));
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
        assert_eq!(count(dir.path(), "activations"), 1);
        assert_eq!(count(dir.path(), "accepted"), 0);
        assert_eq!(log.counters.snapshot(&log.pending).failed, 0);
    }

    #[test]
    fn a_journal_that_cannot_be_written_refuses_records_until_it_can() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rx, _) = frozen();
        let writers = start(&log, rx, dir.path());
        // Where the segments go is now a file: no segment can be created.
        let journal = dir.path().join(JOURNAL_DIR);
        std::fs::remove_dir(&journal).unwrap();
        std::fs::write(&journal, b"not a directory").unwrap();
        let refused = durable(&log, &rec(1, 1), Kind::Final)
            .blocking_recv()
            .unwrap();
        let why = refused.unwrap_err();
        assert!(why.contains("cannot write the activation journal"), "{why}");
        assert_eq!(log.counters.unhealthy.read().as_deref(), Some(why.as_str()));
        // The indexer has nothing to commit, so nothing it does may pass for healthy.
        flush(&log);
        assert!(log.counters.unhealthy.read().is_some());
        // Writable again: a probe notices with no record coming, and records are taken.
        std::fs::remove_file(&journal).unwrap();
        eventually("the journal is healthy again", || {
            log.counters.unhealthy.read().is_none()
        });
        acknowledged(&log, [(&rec(2, 2), Kind::Final)]);
        log.tx.send(Msg::Shutdown).unwrap();
        writers.join();
        assert_eq!(count(dir.path(), "activations"), 1);
        assert_eq!(log.counters.snapshot(&log.pending).failed, 1);
    }
}
