//! The PostgreSQL activation log: the writer thread that commits the shared queue
//! ([`crate::log_queue`]) in batches, and the reads the store merges with what is still
//! queued.
//!
//! The writer owns its connection and a single-threaded tokio runtime that drives it. A batch
//! is one transaction of at most four statements, each taking the whole batch as arrays
//! (`UNNEST`): stand-ins of accepted activations, the removal of the stand-ins the final
//! records settle (and of a stand-in another node wrote for them), and the final records. When a commit fails (PostgreSQL stopped, the connection
//! dropped), the log turns unhealthy with the reason, waiters hear it, and the writer
//! reconnects before its next commit; records that settle an accepted activation (a 202
//! promised them) are kept and written once PostgreSQL is back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio_postgres::{Client, IsolationLevel};

use super::tls::Target;

use crate::heavy::parse_sized;

use crate::log_queue::{
    Counters, Entry, GROUP_WINDOW, Kind, MAX_BATCH, Msg, PageDocs, Paged, Pending, forget,
    set_health,
};
use crate::{ActivationQuery, ActivationRecord, StoreError};

/// How long the writer waits between attempts to reach PostgreSQL while it cannot.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// How long an idle writer waits before it checks that PostgreSQL still answers, so the log
/// (and `/health`) turns unhealthy within about this long of the database going away, even
/// when nothing is written.
const IDLE_CHECK: Duration = Duration::from_secs(2);

const GET_SQL: &str = "SELECT doc FROM activations WHERE namespace = $1 AND activation_id = $2";

/// The text of the record `namespace/id`, or `None`.
pub(super) async fn get(
    client: &impl GenericClient,
    namespace: &str,
    id: &str,
) -> Result<Option<String>, StoreError> {
    let row = client.query_opt(GET_SQL, &[&namespace, &id]).await?;
    Ok(row.map(|r| r.get(0)))
}

/// The documents of a list page, read one record at a time and bounded by [`PageDocs`]. A
/// summary's logs and result are dropped here, not in SQL: a `jsonb` cast would refuse a
/// record whose logs hold a `\u0000`. A record over [`crate::heavy::INLINE_BYTES`] is parsed on the
/// blocking pool.
pub(super) async fn docs(
    client: &impl GenericClient,
    q: &ActivationQuery,
    page: Vec<Paged>,
) -> Result<Vec<Value>, StoreError> {
    let mut docs = PageDocs::new(q);
    for paged in page {
        let (id, text) = match paged {
            Paged::Queued(r) => (r.activation_id.clone(), Doc::Queued(r)),
            Paged::Committed(id) => match get(client, &q.namespace, &id).await? {
                Some(text) => (id, Doc::Read(text)),
                // Expired since its key was read.
                None => continue,
            },
        };
        let namespace = q.namespace.clone();
        let (back, added) = parse_sized(text.text().len(), move || {
            let added = docs.add(text.text(), &namespace, &id);
            Ok((docs, added))
        })
        .await?;
        docs = back;
        if !added? {
            break;
        }
    }
    Ok(docs.into_docs())
}

/// An activation document to parse: still queued for the writer, or read from PostgreSQL.
pub(super) enum Doc {
    Queued(Arc<ActivationRecord>),
    Read(String),
}

impl Doc {
    pub(super) fn text(&self) -> &str {
        match self {
            Doc::Queued(record) => &record.doc,
            Doc::Read(text) => text,
        }
    }
}

/// The filter of a query: `$1` namespace, `$2`/`$3` the start bounds, `$4` the name if any.
fn filter(q: &ActivationQuery) -> &'static str {
    match q.name {
        None => "namespace = $1 AND start >= $2 AND start <= $3",
        Some(_) => "namespace = $1 AND start >= $2 AND start <= $3 AND filter_name = $4",
    }
}

/// The keys (start, activation id) of one page of committed records matching `q` (paged by
/// `skip` and `limit`), newest first.
pub(super) async fn keys(
    client: &impl GenericClient,
    q: &ActivationQuery,
    skip: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let (since, upto) = (q.since_bound(), q.upto_bound());
    let rows = match &q.name {
        None => {
            let sql = format!(
                "SELECT start, activation_id FROM activations WHERE {}
                 ORDER BY start DESC, activation_id DESC LIMIT $4 OFFSET $5",
                filter(q)
            );
            client
                .query(&sql, &[&q.namespace, &since, &upto, &limit, &skip])
                .await?
        }
        Some(name) => {
            let sql = format!(
                "SELECT start, activation_id FROM activations WHERE {}
                 ORDER BY start DESC, activation_id DESC LIMIT $5 OFFSET $6",
                filter(q)
            );
            client
                .query(&sql, &[&q.namespace, &since, &upto, name, &limit, &skip])
                .await?
        }
    };
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// How many records match `q`: the committed ones plus those of `queued` not committed yet,
/// counted in one snapshot.
pub(super) async fn count(
    client: &mut deadpool_postgres::Client,
    q: &ActivationQuery,
    queued: &[Arc<ActivationRecord>],
) -> Result<u64, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let sql = format!("SELECT count(*) FROM activations WHERE {}", filter(q));
    let (since, upto) = (q.since_bound(), q.upto_bound());
    let row = match &q.name {
        None => tx.query_one(&sql, &[&q.namespace, &since, &upto]).await?,
        Some(name) => {
            tx.query_one(&sql, &[&q.namespace, &since, &upto, name])
                .await?
        }
    };
    let committed: i64 = row.get(0);
    let mut extra = 0i64;
    if !queued.is_empty() {
        let ids: Vec<&str> = queued.iter().map(|r| r.activation_id.as_str()).collect();
        let row = tx
            .query_one(
                "SELECT count(*) FROM unnest($2::text[]) AS q(id) WHERE NOT EXISTS
                   (SELECT 1 FROM activations a WHERE a.namespace = $1 AND a.activation_id = q.id)",
                &[&q.namespace, &ids],
            )
            .await?;
        extra = row.get(0);
    }
    tx.commit().await?;
    Ok(u64::try_from(committed + extra).unwrap_or(0))
}

/// The writer thread: commits batches of queued records until [`Msg::Shutdown`] (or until
/// every sender is gone), then removes this node's row.
pub(super) fn run_writer(
    target: Target,
    node: String,
    rx: Receiver<Msg>,
    pending: Arc<Pending>,
    counters: Arc<Counters>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            set_health(
                &counters,
                Some(format!("cannot start the activation writer: {e}")),
            );
            return;
        }
    };
    let mut writer = Writer {
        runtime,
        target,
        node,
        client: None,
        pending,
        counters,
        retry: Vec::new(),
    };
    let mut open = true;
    while open {
        // Idle, the writer wakes up to check PostgreSQL still answers; while it cannot write,
        // more often, to try again.
        let waiting = !writer.retry.is_empty() || writer.counters.unhealthy.read().is_some();
        let idle = if waiting { RETRY_EVERY } else { IDLE_CHECK };
        let first = match rx.recv_timeout(idle) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = std::mem::take(&mut writer.retry);
        let mut flushes = Vec::new();
        match first {
            Some(msg) => open = take(msg, &mut batch, &mut flushes),
            None if batch.is_empty() => {
                writer.probe();
                continue;
            }
            None => {}
        }
        if open {
            open = gather(&rx, &mut batch, &mut flushes);
        }
        if !batch.is_empty() {
            writer.commit(batch);
        }
        for flush in flushes {
            let _ = flush.send(());
        }
    }
    writer.leave();
}

/// Adds `msg` to the batch or the flushes; false for a shutdown.
fn take(msg: Msg, batch: &mut Vec<Entry>, flushes: &mut Vec<oneshot::Sender<()>>) -> bool {
    match msg {
        Msg::Record(entry) => batch.push(entry),
        Msg::Flush(ack) => flushes.push(ack),
        Msg::Shutdown => return false,
    }
    true
}

/// Collects more of the queue into the batch: everything already queued, and, when nobody
/// waits for this batch, what arrives within a [`GROUP_WINDOW`]. False once a shutdown came.
fn gather(
    rx: &Receiver<Msg>,
    batch: &mut Vec<Entry>,
    flushes: &mut Vec<oneshot::Sender<()>>,
) -> bool {
    let urgent = |batch: &Vec<Entry>, flushes: &Vec<oneshot::Sender<()>>| {
        !flushes.is_empty() || batch.iter().any(|e| e.ack.is_some())
    };
    let deadline = Instant::now() + GROUP_WINDOW;
    while batch.len() < MAX_BATCH {
        let next = if urgent(batch, flushes) {
            match rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        } else {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        };
        if !take(next, batch, flushes) {
            return false;
        }
    }
    true
}

struct Writer {
    runtime: Runtime,
    target: Target,
    node: String,
    client: Option<Client>,
    pending: Arc<Pending>,
    counters: Arc<Counters>,
    /// Records that settle an accepted activation and could not be committed yet.
    retry: Vec<Entry>,
}

impl Writer {
    /// Commits `batch`; on success the records leave the pending map and their waiters hear
    /// so; on failure the log turns unhealthy, waiters hear why, and settling records are kept
    /// for the next attempt.
    fn commit(&mut self, batch: Vec<Entry>) {
        let mut outcome = self.write(&batch);
        if outcome.is_err() {
            // The connection may have died while the writer was idle (a restarted server):
            // one more try on a new connection.
            self.client = None;
            outcome = self.write(&batch);
        }
        match outcome {
            Ok(()) => {
                set_health(&self.counters, None);
                self.counters.batches.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .records
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                for entry in batch {
                    forget(&self.pending, &entry.rec);
                    if let Some(ack) = entry.ack {
                        let _ = ack.send(Ok(()));
                    }
                }
            }
            Err(why) => {
                set_health(&self.counters, Some(why.clone()));
                // The connection may be gone: the next attempt opens a new one.
                self.client = None;
                for mut entry in batch {
                    if let Some(ack) = entry.ack.take() {
                        let _ = ack.send(Err(why.clone()));
                    }
                    if entry.kind == Kind::Settles {
                        self.retry.push(entry);
                    } else {
                        self.counters.failed.fetch_add(1, Ordering::Relaxed);
                        forget(&self.pending, &entry.rec);
                    }
                }
            }
        }
    }

    /// Writes `batch` in one transaction on the writer's connection (opened if need be).
    fn write(&mut self, batch: &[Entry]) -> Result<(), String> {
        self.connect()?;
        let Writer {
            runtime,
            client,
            node,
            ..
        } = self;
        match client {
            Some(client) => runtime.block_on(write_batch(client, node, batch)),
            None => Err("no PostgreSQL connection".into()),
        }
    }

    /// Checks that PostgreSQL answers, on the writer's connection and, if that one fails,
    /// on a new one; the log is healthy exactly while it does.
    fn probe(&mut self) {
        let mut reached = self.ping();
        if reached.is_err() {
            self.client = None;
            reached = self.ping();
        }
        if reached.is_err() {
            self.client = None;
        }
        set_health(&self.counters, reached.err());
    }

    /// One trivial query on the writer's connection (opened if need be).
    fn ping(&mut self) -> Result<(), String> {
        self.connect()?;
        match &self.client {
            Some(client) => self
                .runtime
                .block_on(client.batch_execute("SELECT 1"))
                .map_err(|e| format!("cannot reach PostgreSQL: {e}")),
            None => Err("no PostgreSQL connection".into()),
        }
    }

    /// Opens the writer's connection if it has none (or it closed).
    fn connect(&mut self) -> Result<(), String> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let (client, connection) = self
                .runtime
                .block_on(self.target.config.connect(self.target.tls.clone()))
                .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
            self.runtime.spawn(connection);
            self.client = Some(client);
        }
        Ok(())
    }

    /// Removes this node's row: its accepted activations, if any are left, are ended by the
    /// next node that sweeps.
    fn leave(mut self) {
        if self.connect().is_err() {
            return;
        }
        if let Some(client) = &self.client {
            let left = self
                .runtime
                .block_on(client.execute("DELETE FROM nodes WHERE id = $1", &[&self.node]));
            if let Err(e) = left {
                tracing::warn!(error = %e, "could not remove this node's row");
            }
        }
    }
}

/// Columns of a batch of records, as arrays for `UNNEST`.
#[derive(Default)]
struct Columns<'a> {
    namespace: Vec<&'a str>,
    id: Vec<&'a str>,
    name: Vec<&'a str>,
    filter_name: Vec<&'a str>,
    start: Vec<i64>,
    doc: Vec<&'a str>,
}

impl<'a> Columns<'a> {
    /// The records of `kinds`, the last of each id only (one statement may not touch a row
    /// twice).
    fn of(batch: &'a [Entry], kinds: &[Kind]) -> Self {
        let mut last: HashMap<(&str, &str), &ActivationRecord> = HashMap::new();
        let mut order = Vec::new();
        for entry in batch.iter().filter(|e| kinds.contains(&e.kind)) {
            let rec = &*entry.rec;
            let key = (rec.namespace.as_str(), rec.activation_id.as_str());
            if last.insert(key, rec).is_none() {
                order.push(key);
            }
        }
        let mut columns = Columns::default();
        for key in order {
            if let Some(rec) = last.get(&key) {
                columns.namespace.push(&rec.namespace);
                columns.id.push(&rec.activation_id);
                columns.name.push(&rec.name);
                columns.filter_name.push(&rec.filter_name);
                columns.start.push(rec.start);
                columns.doc.push(&rec.doc);
            }
        }
        columns
    }
}

/// Writes one batch in one transaction.
async fn write_batch(client: &mut Client, node: &str, batch: &[Entry]) -> Result<(), String> {
    let failed = |e: tokio_postgres::Error| format!("cannot write activations to PostgreSQL: {e}");
    let tx = client.transaction().await.map_err(failed)?;
    let accepted = Columns::of(batch, &[Kind::Accepted]);
    if !accepted.id.is_empty() {
        tx.execute(
            "INSERT INTO accepted (namespace, activation_id, node, name, filter_name, start, doc)
             SELECT ns, id, $7, n, f, s, d
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
               AS r(ns, id, n, f, s, d)
             ON CONFLICT (namespace, activation_id) DO UPDATE SET node = excluded.node,
               name = excluded.name, filter_name = excluded.filter_name,
               start = excluded.start, doc = excluded.doc",
            &[
                &accepted.namespace,
                &accepted.id,
                &accepted.name,
                &accepted.filter_name,
                &accepted.start,
                &accepted.doc,
                &node,
            ],
        )
        .await
        .map_err(failed)?;
    }
    let settled = Columns::of(batch, &[Kind::Settles]);
    if !settled.id.is_empty() {
        // First the stand-ins leave `accepted`: this waits for a sweep that is ending them
        // (it holds their rows), so the next statement sees the stand-in such a sweep wrote.
        tx.execute(
            "DELETE FROM accepted WHERE (namespace, activation_id) IN
               (SELECT * FROM unnest($1::text[], $2::text[]))",
            &[&settled.namespace, &settled.id],
        )
        .await
        .map_err(failed)?;
        // A stand-in another node wrote while it took this one for dead: its `start` (part
        // of the key, for the partitions) may differ from the final record's.
        tx.execute(
            "DELETE FROM activations a USING unnest($1::text[], $2::text[], $3::bigint[])
               AS r(ns, id, s)
             WHERE a.namespace = r.ns AND a.activation_id = r.id AND a.start <> r.s",
            &[&settled.namespace, &settled.id, &settled.start],
        )
        .await
        .map_err(failed)?;
    }
    let finals = Columns::of(batch, &[Kind::Final, Kind::Settles]);
    if !finals.id.is_empty() {
        tx.execute(
            "INSERT INTO activations (namespace, activation_id, name, filter_name, start, doc)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
               $6::text[])
             ON CONFLICT (namespace, activation_id, start) DO UPDATE SET name = excluded.name,
               filter_name = excluded.filter_name, doc = excluded.doc",
            &[
                &finals.namespace,
                &finals.id,
                &finals.name,
                &finals.filter_name,
                &finals.start,
                &finals.doc,
            ],
        )
        .await
        .map_err(failed)?;
    }
    tx.commit().await.map_err(failed)
}
