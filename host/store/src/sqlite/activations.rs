//! The SQLite activation log: the writer thread that commits the shared queue
//! ([`crate::log_queue`]) in batches, and reads that merge the committed rows with what is
//! still queued (read-your-writes). A reader snapshots the pending map before it starts its
//! SQLite read transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;
use tokio::sync::oneshot;

use super::entities::clamp;
use crate::log_queue::{
    Counters, DocId, Entry, GATHER_SIBLINGS, GROUP_WINDOW, Kind, Log, MAX_BATCH, Msg, Pending,
    URGENT_GATHER, parse, set_health,
};
use crate::retention::CHUNK;
use crate::{ActivationQuery, StoreError};

/// Newest-first activations of a namespace within `[since, upto]`.
pub(crate) const LIST_SQL: &str = "SELECT doc FROM activations
    WHERE namespace = ?1 AND start >= ?2 AND start <= ?3
    ORDER BY start DESC, activation_id DESC LIMIT ?4 OFFSET ?5";

/// The same, restricted to one `filter_name` (`?6`). Without statistics SQLite prefers the
/// `start` range over the name equality, which scans every activation of a busy namespace to
/// find one action's; `INDEXED BY` pins the selective index.
pub(crate) const LIST_BY_NAME_SQL: &str = "SELECT doc FROM activations
    INDEXED BY activations_by_name WHERE namespace = ?1 AND filter_name = ?6 AND start >= ?2 AND start <= ?3
    ORDER BY start DESC, activation_id DESC LIMIT ?4 OFFSET ?5";

const COUNT_SQL: &str = "SELECT count(*) FROM activations
    WHERE namespace = ?1 AND start >= ?2 AND start <= ?3";

const COUNT_BY_NAME_SQL: &str = "SELECT count(*) FROM activations
    INDEXED BY activations_by_name WHERE namespace = ?1 AND filter_name = ?4 AND start >= ?2 AND start <= ?3";

/// An accepted activation's stand-in record (what it ends as if shoal stops before it does).
const ACCEPT_SQL: &str = "INSERT OR REPLACE INTO accepted
    (namespace, activation_id, name, filter_name, start, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The final record of an accepted activation replaces its stand-in.
const SETTLE_SQL: &str = "DELETE FROM accepted WHERE namespace = ?1 AND activation_id = ?2";

/// Run at open: every accepted activation that never finished ends as its stand-in record.
pub(crate) const RECOVER_SQL: &str = "INSERT OR IGNORE INTO activations
        (namespace, activation_id, name, filter_name, start, doc)
        SELECT namespace, activation_id, name, filter_name, start, doc FROM accepted;
    DELETE FROM accepted;";

/// A write that touches the database file, to learn whether the store can write again.
const PROBE_SQL: &str = "INSERT OR REPLACE INTO accepted VALUES ('', '', '', '', 0, '');
    DELETE FROM accepted WHERE namespace = '' AND activation_id = '';";

/// How often an unhealthy writer with nothing to do probes whether it can write again.
const PROBE_EVERY: Duration = Duration::from_millis(500);

const EXISTS_SQL: &str = "SELECT 1 FROM activations WHERE namespace = ?1 AND activation_id = ?2";

const GET_SQL: &str = "SELECT doc FROM activations WHERE namespace = ?1 AND activation_id = ?2";

const INSERT_SQL: &str = "INSERT OR REPLACE INTO activations
    (namespace, activation_id, name, filter_name, start, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Removes one chunk (`?2` rows) of the records of every namespace that started before `?1`.
const EXPIRE_SQL: &str = "DELETE FROM activations WHERE rowid IN
    (SELECT rowid FROM activations INDEXED BY activations_by_age WHERE start < ?1 LIMIT ?2)";

/// Removes one chunk (`?3` rows) of namespace `?1`'s records that started before `?2`.
const EXPIRE_NAMESPACE_SQL: &str = "DELETE FROM activations WHERE rowid IN
    (SELECT rowid FROM activations INDEXED BY activations_by_start
     WHERE namespace = ?1 AND start < ?2 LIMIT ?3)";

/// The namespaces whose subject sets an integer at JSON path `?1` of its limits, with it.
const RETENTIONS_SQL: &str = "SELECT namespace, json_extract(limits, ?1) FROM subjects WHERE json_type(limits, ?1) = 'integer'";

/// The namespaces' own retentions ([`crate::RETENTION_LIMIT`]), as stored.
pub(crate) fn retentions(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let path = format!("$.{}", crate::RETENTION_LIMIT);
    let mut stmt = conn.prepare_cached(RETENTIONS_SQL)?;
    let rows = stmt.query_map([path], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes one chunk of the records that started before `before`, of `namespace` or of
/// every namespace; returns how many went (fewer than [`CHUNK`] when none are left).
pub(crate) fn expire_chunk(
    conn: &Connection,
    namespace: Option<&str>,
    before: i64,
) -> Result<u64, StoreError> {
    let removed = match namespace {
        None => conn
            .prepare_cached(EXPIRE_SQL)?
            .execute(params![before, CHUNK])?,
        Some(ns) => conn
            .prepare_cached(EXPIRE_NAMESPACE_SQL)?
            .execute(params![ns, before, CHUNK])?,
    };
    Ok(removed as u64)
}

impl Log {
    pub(crate) fn get(
        &self,
        conn: &Connection,
        namespace: &str,
        id: &str,
    ) -> Result<Option<Value>, StoreError> {
        if let Some(queued) = self.queued_doc(namespace, id) {
            return queued.map(Some);
        }
        let mut stmt = conn.prepare_cached(GET_SQL)?;
        let doc: Option<String> = stmt
            .query_row(params![namespace, id], |r| r.get(0))
            .optional()?;
        doc.map(|d| parse(&d, namespace, id)).transpose()
    }

    pub(crate) fn list(
        &self,
        conn: &mut Connection,
        q: &ActivationQuery,
    ) -> Result<Vec<Value>, StoreError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let queued = self.to_merge(q);
        if queued.is_empty() {
            return select(conn, q, clamp(q.skip), clamp(q.limit));
        }
        // The top skip+limit of the merge are among the top skip+limit committed rows plus
        // the queued ones; fetch those, merge, drop duplicates, then page.
        let window = clamp(q.skip.saturating_add(q.limit));
        let committed = select_keyed(conn, q, window)?;
        self.merged(q, committed, queued)
    }

    pub(crate) fn count(
        &self,
        conn: &mut Connection,
        q: &ActivationQuery,
    ) -> Result<u64, StoreError> {
        let queued = self.queued(q);
        // One read transaction, so the count and the existence checks see the same snapshot.
        let tx = conn.transaction()?;
        let n: i64 = match &q.name {
            None => tx
                .prepare_cached(COUNT_SQL)?
                .query_row(params![q.namespace, q.since_bound(), q.upto_bound()], |r| {
                    r.get(0)
                })?,
            Some(name) => tx.prepare_cached(COUNT_BY_NAME_SQL)?.query_row(
                params![q.namespace, q.since_bound(), q.upto_bound(), name],
                |r| r.get(0),
            )?,
        };
        let mut extra = 0u64;
        if !queued.is_empty() {
            let mut exists = tx.prepare_cached(EXISTS_SQL)?;
            for r in &queued {
                if !exists.exists(params![r.namespace, r.activation_id])? {
                    extra += 1;
                }
            }
        }
        drop(tx);
        Ok(u64::try_from(n).unwrap_or(0) + extra)
    }
}

/// Runs the list query for `q` with the given paging.
fn select(
    conn: &Connection,
    q: &ActivationQuery,
    skip: i64,
    limit: i64,
) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    let mut push = |doc: String| -> Result<(), StoreError> {
        out.push(parse(&doc, &q.namespace, "(listed)")?);
        Ok(())
    };
    match &q.name {
        None => {
            let mut stmt = conn.prepare_cached(LIST_SQL)?;
            let mut rows = stmt.query(params![
                q.namespace,
                q.since_bound(),
                q.upto_bound(),
                limit,
                skip
            ])?;
            while let Some(row) = rows.next()? {
                push(row.get(0)?)?;
            }
        }
        Some(name) => {
            let mut stmt = conn.prepare_cached(LIST_BY_NAME_SQL)?;
            let mut rows = stmt.query(params![
                q.namespace,
                q.since_bound(),
                q.upto_bound(),
                limit,
                skip,
                name
            ])?;
            while let Some(row) = rows.next()? {
                push(row.get(0)?)?;
            }
        }
    }
    Ok(out)
}

/// Like [`select`] from offset 0, keeping the sort key of each row for merging.
fn select_keyed(
    conn: &Connection,
    q: &ActivationQuery,
    limit: i64,
) -> Result<Vec<(i64, String, Value)>, StoreError> {
    let sql = match q.name {
        None => {
            "SELECT start, activation_id, doc FROM activations
            WHERE namespace = ?1 AND start >= ?2 AND start <= ?3
            ORDER BY start DESC, activation_id DESC LIMIT ?4"
        }
        Some(_) => {
            "SELECT start, activation_id, doc FROM activations
            WHERE namespace = ?1 AND filter_name = ?5 AND start >= ?2 AND start <= ?3
            ORDER BY start DESC, activation_id DESC LIMIT ?4"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = match &q.name {
        None => stmt.query(params![q.namespace, q.since_bound(), q.upto_bound(), limit])?,
        Some(name) => stmt.query(params![
            q.namespace,
            q.since_bound(),
            q.upto_bound(),
            limit,
            name
        ])?,
    };
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(1)?;
        let doc: String = row.get(2)?;
        let doc = parse(&doc, &q.namespace, &id)?;
        out.push((row.get(0)?, id, doc));
    }
    Ok(out)
}

/// The writer thread: owns its connection, commits up to [`MAX_BATCH`] queued records per
/// transaction, and exits on [`Msg::Shutdown`] (or when every sender is gone).
///
/// A record someone waits for (a durable put) is committed at once, with whatever else is
/// queued: what arrives during that commit makes the next batch; only when the last commit
/// held many records does it first gather for [`URGENT_GATHER`]. Relaxed records only (nobody waiting) are collected for a [`GROUP_WINDOW`] after
/// the first, so that many share one transaction. A full batch, or a flush, ends the
/// collecting early; after a commit the writer waits one window for more before it parks.
///
/// Before each commit it checks that `path` is still the file it was when the writer's
/// connection opened it (the caller opens `conn` just before; see [`file_identity`]) (a deleted or
/// replaced database would take commits nowhere). A failed commit makes the store unhealthy
/// ([`crate::ActivationLog::health`], with the reason) until a later commit, or a probe write made
/// every [`PROBE_EVERY`] while idle, succeeds. The final record of an accepted activation
/// that fails is kept and written again once the store writes (a 202 promised it); other
/// failed records are reported to their waiters and dropped.
pub(crate) fn run_writer(
    identity: FileIdentity,
    mut conn: Connection,
    path: PathBuf,
    rx: Receiver<Msg>,
    pending: Arc<Pending>,
    counters: Arc<Counters>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(MAX_BATCH);
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    // Final records of accepted activations that failed to commit: kept (and readable) until
    // the store writes again, since a 202 named them. Bounded by the activations in flight.
    let mut retry: Vec<Entry> = Vec::new();
    let mut shutdown = false;
    // Whether the last round committed records (then the next one sleeps instead of parking),
    // and whether it stopped at a full batch (then the next one does not wait at all).
    let (mut busy, mut full) = (false, false);
    // Records in the last commit: many means many clients commit at once.
    let mut last_batch = 0;
    while !shutdown {
        let mut more = true;
        let unhealthy = counters.unhealthy.read().is_some();
        // A full batch, or retries the store can take again, are written without waiting.
        let ready = full || (busy && !retry.is_empty() && !unhealthy);
        if !ready {
            // Busy, the next record is waited for one window at most; idle, for as long as
            // it takes (or a probe period while the store cannot write).
            let next = if busy {
                rx.recv_timeout(GROUP_WINDOW)
            } else if unhealthy {
                rx.recv_timeout(PROBE_EVERY)
            } else {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            match next {
                Ok(msg) => more = take(msg, &mut batch, &mut acks, &mut shutdown),
                Err(RecvTimeoutError::Timeout) if busy => {
                    busy = false;
                    continue;
                }
                Err(RecvTimeoutError::Timeout) => {
                    probe(&mut conn, &path, identity, &counters);
                    busy = !retry.is_empty() && counters.unhealthy.read().is_none();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => (more, shutdown) = (false, true),
            }
        }
        if !retry.is_empty() && counters.unhealthy.read().is_none() {
            batch.append(&mut retry);
        }
        let urgent = batch.iter().any(|e| e.ack.is_some());
        if more && !full && !urgent {
            std::thread::sleep(GROUP_WINDOW);
        } else if more && !full && last_batch >= GATHER_SIBLINGS {
            // Many commit at the same time: let them queue for a moment, then take them all
            // (one commit and one wake-up for many; waiting on the channel instead would wake
            // this thread once per record). A few, or one alone, commit at once.
            std::thread::sleep(URGENT_GATHER);
        }
        while more {
            match rx.try_recv() {
                Ok(msg) => more = take(msg, &mut batch, &mut acks, &mut shutdown),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => (more, shutdown) = (false, true),
            }
        }
        (busy, full) = (!batch.is_empty(), batch.len() >= MAX_BATCH);
        last_batch = batch.len();
        if !batch.is_empty() {
            let moved = moved_away(&path, identity);
            let results = match &moved {
                Some(why) => vec![Err(why.clone()); batch.len()],
                None => write_batch(&mut conn, &batch, &counters),
            };
            set_health(&counters, results.iter().find_map(|r| r.clone().err()));
            for (entry, result) in batch.drain(..).zip(results) {
                if result.is_err() && entry.kind == Kind::Settles {
                    retry.push(entry);
                    continue;
                }
                let r = entry.rec;
                // Only if it is still this very record: a later put of the same doc id
                // replaced it and must stay visible until its own batch commits.
                let key = (r.namespace.as_str(), r.activation_id.as_str());
                pending.remove_if(&key as &dyn DocId, |k, _| Arc::ptr_eq(&k.0, &r));
                if let Some(ack) = entry.ack {
                    // The waiter may have given up; nothing to do then.
                    let _ = ack.send(result);
                }
            }
        }
        for ack in acks.drain(..) {
            // The flusher may have given up waiting; nothing to do then.
            let _ = ack.send(());
        }
    }
}

/// Device and inode of the database file, to notice it being deleted or replaced.
pub(crate) type FileIdentity = Option<(u64, u64)>;

pub(crate) fn file_identity(path: &Path) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Why commits would be lost: the database file is no longer the one the store opened.
fn moved_away(path: &Path, opened: FileIdentity) -> Option<String> {
    (file_identity(path) != opened).then(|| {
        format!(
            "the database file {} was deleted or replaced while shoal runs; restart shoal",
            path.display()
        )
    })
}

/// One small write, to learn whether an unhealthy store can write again.
fn probe(conn: &mut Connection, path: &Path, identity: FileIdentity, counters: &Counters) {
    let result = match moved_away(path, identity) {
        Some(why) => Err(why),
        None => conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .and_then(|tx| {
                tx.execute_batch(PROBE_SQL)?;
                tx.commit()
            })
            .map_err(|e| StoreError::from(e).to_string()),
    };
    set_health(counters, result.err());
}

/// Adds one message to the round; `false` when the round must commit now (a full batch, a
/// flush or the shutdown).
fn take(
    msg: Msg,
    batch: &mut Vec<Entry>,
    acks: &mut Vec<oneshot::Sender<()>>,
    shutdown: &mut bool,
) -> bool {
    match msg {
        Msg::Record(entry) => {
            batch.push(entry);
            batch.len() < MAX_BATCH
        }
        Msg::Flush(ack) => {
            acks.push(ack);
            false
        }
        Msg::Shutdown => {
            *shutdown = true;
            false
        }
    }
}

/// Commits `batch` in one transaction; if that fails, retries record by record so one bad
/// record cannot sink its neighbours. Returns each record's outcome (`Err` with the reason);
/// records that still fail are counted and logged.
fn write_batch(
    conn: &mut Connection,
    batch: &[Entry],
    counters: &Counters,
) -> Vec<Result<(), String>> {
    match insert(conn, batch) {
        Ok(()) => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters
                .records
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            vec![Ok(()); batch.len()]
        }
        Err(e) => {
            tracing::error!(error = %e, records = batch.len(), "activation batch failed; retrying one by one");
            batch
                .iter()
                .map(|entry| match insert(conn, std::slice::from_ref(entry)) {
                    Ok(()) => {
                        counters.batches.fetch_add(1, Ordering::Relaxed);
                        counters.records.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                    Err(e) => {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(
                            error = %e,
                            namespace = %entry.rec.namespace,
                            activation_id = %entry.rec.activation_id,
                            "activation record dropped"
                        );
                        Err(e.to_string())
                    }
                })
                .collect()
        }
    }
}

/// One transaction writing `entries` (their documents are already JSON text).
fn insert(conn: &mut Connection, entries: &[Entry]) -> Result<(), StoreError> {
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
    use super::*;
    use crate::ActivationRecord;
    use crate::log_queue::MAX_QUEUED;
    use serde_json::json;

    fn rec(n: u64, start: i64) -> Arc<ActivationRecord> {
        let id = format!("{n:032x}");
        Arc::new(ActivationRecord {
            namespace: "guest".into(),
            doc: json!({"activationId": id}).to_string(),
            activation_id: id,
            name: "f".into(),
            filter_name: "f".into(),
            start,
        })
    }

    /// A log whose writer never runs: whatever is put stays pending, so the merge paths are
    /// exercised deterministically.
    fn frozen() -> (Log, Receiver<Msg>, Connection) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::sqlite::schema::migrate(&mut conn).unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(MAX_QUEUED);
        let log = Log {
            tx,
            pending: Arc::new(Pending::default()),
            counters: Arc::new(Counters::default()),
        };
        (log, rx, conn)
    }

    /// A migrated database file in `dir` and a writer connection to it.
    fn database(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("t.db");
        let mut conn =
            crate::sqlite::schema::connect(&path, crate::sqlite::schema::Sync::Normal, false)
                .unwrap();
        crate::sqlite::schema::migrate(&mut conn).unwrap();
        (path, conn)
    }

    /// Runs the writer on this thread until it has committed everything put so far.
    fn run_to_shutdown(log: &Log, rx: Receiver<Msg>, conn: Connection, path: &Path) {
        log.tx.send(Msg::Shutdown).unwrap();
        run_writer(
            file_identity(path),
            conn,
            path.to_path_buf(),
            rx,
            Arc::clone(&log.pending),
            Arc::clone(&log.counters),
        );
    }

    fn ids(v: &[Value]) -> Vec<u64> {
        v.iter()
            .map(|d| u64::from_str_radix(d["activationId"].as_str().unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn a_page_deeper_than_the_merge_window_is_read_from_committed_rows_only() {
        let (log, _rx, mut conn) = frozen();
        let committed: Vec<Entry> = (1..=3)
            .map(|n| Entry {
                rec: rec(n, n as i64 * 10),
                kind: Kind::Final,
                ack: None,
            })
            .collect();
        insert(&mut conn, &committed).unwrap();
        log.put(Arc::unwrap_or_clone(rec(9, 90)), Kind::Final, None);
        // A skip past the window: no merge, so no window of rows held in memory.
        let deep = ActivationQuery {
            namespace: "guest".into(),
            skip: crate::log_queue::MERGE_WINDOW,
            limit: 10,
            ..ActivationQuery::default()
        };
        assert!(log.to_merge(&deep).is_empty());
        assert_eq!(log.list(&mut conn, &deep).unwrap(), Vec::<Value>::new());
        let near = ActivationQuery { skip: 0, ..deep };
        assert_eq!(ids(&log.list(&mut conn, &near).unwrap()), [9, 3, 2, 1]);
    }

    #[test]
    fn merges_pending_with_committed_and_drops_duplicates() {
        let (log, _rx, mut conn) = frozen();
        // Committed: 1 (start 10), 2 (30), 3 (50).
        let committed = [rec(1, 10), rec(2, 30), rec(3, 50)];
        let entries: Vec<Entry> = committed
            .iter()
            .map(|r| Entry {
                rec: Arc::clone(r),
                kind: Kind::Final,
                ack: None,
            })
            .collect();
        insert(&mut conn, &entries).unwrap();
        // Pending: 4 (20), 5 (60), and 3 again, as if its batch committed but the writer has
        // not yet removed it from the map.
        for r in [rec(4, 20), rec(5, 60), Arc::clone(&committed[2])] {
            log.put(Arc::unwrap_or_clone(r), Kind::Final, None);
        }
        let q = ActivationQuery {
            namespace: "guest".into(),
            limit: 10,
            ..ActivationQuery::default()
        };
        assert_eq!(ids(&log.list(&mut conn, &q).unwrap()), [5, 3, 2, 4, 1]);
        assert_eq!(log.count(&mut conn, &q).unwrap(), 5);
        let page = ActivationQuery {
            skip: 1,
            limit: 2,
            ..q.clone()
        };
        assert_eq!(ids(&log.list(&mut conn, &page).unwrap()), [3, 2]);
        let window = ActivationQuery {
            since: Some(20),
            upto: Some(50),
            ..q.clone()
        };
        assert_eq!(ids(&log.list(&mut conn, &window).unwrap()), [3, 2, 4]);
        assert_eq!(log.count(&mut conn, &window).unwrap(), 3);
        assert_eq!(
            log.get(&conn, "guest", &format!("{:032x}", 4)).unwrap(),
            Some(json!({"activationId": format!("{:032x}", 4)}))
        );
        assert_eq!(log.get(&conn, "guest", "nope").unwrap(), None);
        assert_eq!(log.counters.snapshot(&log.pending).pending, 3);
    }

    #[test]
    fn writer_commits_batches_and_clears_pending() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(dir.path());
        let (log, rx, _) = frozen();
        let n = MAX_BATCH as u64 * 2 + 5;
        for i in 0..n {
            log.put(Arc::unwrap_or_clone(rec(i, i as i64)), Kind::Final, None);
        }
        log.tx.send(Msg::Shutdown).unwrap();
        // Runs to completion on this thread: everything before Shutdown is committed.
        run_writer(
            file_identity(&path),
            conn,
            path.clone(),
            rx,
            Arc::clone(&log.pending),
            Arc::clone(&log.counters),
        );
        let stats = log.counters.snapshot(&log.pending);
        assert_eq!((stats.records, stats.pending, stats.failed), (n, 0, 0));
        // Queued up front, so the batches are full except the last.
        assert_eq!(stats.batches, 3);
        let check = Connection::open(&path).unwrap();
        let rows: i64 = check
            .query_row("SELECT count(*) FROM activations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows as u64, n);
    }

    #[test]
    fn durable_puts_report_their_commit_and_accepted_rows_are_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(dir.path());
        let (log, rx, _) = frozen();
        let (accepted, settled, lost) = (rec(1, 1), rec(1, 2), rec(2, 3));
        let acks: Vec<_> = [
            (&accepted, Kind::Accepted),
            (&lost, Kind::Accepted),
            (&settled, Kind::Settles),
        ]
        .into_iter()
        .map(|(r, kind)| {
            let (tx, rx) = oneshot::channel();
            log.put(Arc::unwrap_or_clone(Arc::clone(r)), kind, Some(tx));
            rx
        })
        .collect();
        run_to_shutdown(&log, rx, conn, &path);
        for ack in acks {
            assert_eq!(ack.blocking_recv().unwrap(), Ok(()));
        }
        let check = Connection::open(&path).unwrap();
        let count = |table: &str| -> i64 {
            check
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        // Activation 1 finished (its stand-in is gone); activation 2 never did.
        assert_eq!((count("activations"), count("accepted")), (1, 1));
        check.execute_batch(RECOVER_SQL).unwrap();
        assert_eq!((count("activations"), count("accepted")), (2, 0));
    }

    #[test]
    fn a_deleted_database_fails_commits_and_makes_the_store_unhealthy() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(dir.path());
        let (log, rx, _) = frozen();
        let writer = {
            let path = path.clone();
            let (pending, counters) = (Arc::clone(&log.pending), Arc::clone(&log.counters));
            let identity = file_identity(&path);
            std::thread::spawn(move || run_writer(identity, conn, path, rx, pending, counters))
        };
        std::fs::remove_file(&path).unwrap();
        let (tx, ack) = oneshot::channel();
        log.put(Arc::unwrap_or_clone(rec(1, 1)), Kind::Final, Some(tx));
        let outcome = ack.blocking_recv().unwrap();
        log.tx.send(Msg::Shutdown).unwrap();
        writer.join().unwrap();
        let error = outcome.unwrap_err();
        assert!(error.contains("was deleted or replaced"), "{error}");
        assert_eq!(
            log.counters.unhealthy.read().as_deref(),
            Some(error.as_str())
        );
    }
}
