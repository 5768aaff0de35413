//! The activation log's queue, shared by the backends: a lock-free enqueue into a sharded
//! pending map and a bounded channel to the backend's writer, which makes records durable and
//! commits them in batches, and what reads need to merge the committed rows with what is
//! still queued (read-your-writes).
//!
//! Ordering argument for the merge: a writer removes a record from [`Pending`] only after the
//! transaction holding it has committed. A reader snapshots `Pending` *before* it starts its
//! read, so every record is in the snapshot, in the database, or both (never neither);
//! duplicates are removed by `(namespace, activation_id)`.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;
use foldhash::fast::RandomState;
use serde_json::Value;
use shoal_router::json;
use tokio::sync::oneshot;

use crate::{ActivationQuery, ActivationRecord, Committed, StoreError, WriterStats};

/// Most records committed in one transaction; bounds commit latency and memory per batch.
pub(crate) const MAX_BATCH: usize = 1_000;

/// How long the writer keeps collecting after the first record of a batch before it commits
/// (a flush that arrives first commits at once; one that arrives during a window waits for its
/// end). Committing per record costs a transaction each
/// — at one record per request that was the writer's main cost — while records are readable
/// from the pending map meanwhile, so the window delays durability, never visibility. The
/// SQLite backend journals records first, and commits a window's worth of them at a time.
pub(crate) const GROUP_WINDOW: Duration = Duration::from_millis(10);

/// How long a commit someone waits for gathers more records when the last commit held at
/// least [`GATHER_SIBLINGS`] (group commit under load, as PostgreSQL's `commit_delay`): about
/// +9% blocking invokes/s at 64 connections on 2 cores.
pub(crate) const URGENT_GATHER: Duration = Duration::from_micros(200);

/// Records the last commit must have held for the next one to gather (PostgreSQL's
/// `commit_siblings`): below it, a commit someone waits for happens at once.
pub(crate) const GATHER_SIBLINGS: usize = 4;

/// Most records queued and not yet taken by the writer. A producer that finds the queue full
/// waits for room (backpressure) rather than dropping an acknowledged record — that producer
/// is an isolate worker, so its thread, and every request it serves, stalls meanwhile; at
/// ~1 KiB a record this bounds the queue to ~64 MiB, under a second of the writer's full rate
/// (~90,000 records/s, `cargo bench -p shoal-benches --bench activation_log`).
pub(crate) const MAX_QUEUED: usize = 65_536;

/// The deepest page (`skip + limit`) a list merges with the queued records. A merge holds
/// that many committed rows in memory, so deeper pages are read from the committed rows only:
/// a record appended moments ago shows there once it is committed (within a batch).
pub(crate) const MERGE_WINDOW: u64 = 10_000;

/// Most bytes of stored documents one list page reads: activation records (`docs=true`
/// pages hold whole records, up to ~11 MB each with their logs) or entities (whose
/// annotations a list shows). A page ends before the document that would pass it, so it may
/// hold fewer than its `limit`; the first one is always read.
pub const MAX_PAGE_BYTES: usize = 32 << 20;

/// Levels a stored document adds around the user JSON it holds (a record's
/// `response.result`, an entity's `parameters[i].value`): that JSON may nest as deep as
/// [`shoal_router::json::MAX_DEPTH`] inside them.
pub(crate) const STORED_WRAPPING: usize = 4;

/// A `(namespace, activation_id)` pair, so the pending map can be probed with two `&str`s
/// without building an owned key.
pub(crate) trait DocId {
    fn namespace(&self) -> &str;
    fn id(&self) -> &str;
}

impl DocId for (&str, &str) {
    fn namespace(&self) -> &str {
        self.0
    }
    fn id(&self) -> &str {
        self.1
    }
}

impl Hash for dyn DocId + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
        self.namespace().hash(state);
    }
}

impl PartialEq for dyn DocId + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id() && self.namespace() == other.namespace()
    }
}

impl Eq for dyn DocId + '_ {}

/// A queued record, keyed by its own doc id. Hash and equality go through [`DocId`] so that
/// lookups by `&dyn DocId` agree with inserts.
#[derive(Clone)]
pub(crate) struct Queued(pub(crate) Arc<ActivationRecord>);

impl DocId for Queued {
    fn namespace(&self) -> &str {
        &self.0.namespace
    }
    fn id(&self) -> &str {
        &self.0.activation_id
    }
}

impl<'a> Borrow<dyn DocId + 'a> for Queued {
    fn borrow(&self) -> &(dyn DocId + 'a) {
        self
    }
}

impl Hash for Queued {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn DocId).hash(state);
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self as &dyn DocId) == (other as &dyn DocId)
    }
}

impl Eq for Queued {}

/// Records enqueued and not yet committed. Sharded, so concurrent enqueues rarely meet.
pub(crate) type Pending = DashMap<Queued, (), RandomState>;

/// Takes a committed `rec` out of the pending map, unless a later put of the same doc id
/// replaced it (that one stays visible until its own commit).
pub(crate) fn forget(pending: &Pending, rec: &Arc<ActivationRecord>) {
    let key = (rec.namespace.as_str(), rec.activation_id.as_str());
    pending.remove_if(&key as &dyn DocId, |k, _| Arc::ptr_eq(&k.0, rec));
}

/// What a queued record is, for the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A finished activation's record.
    Final,
    /// The final record of an activation whose acceptance was stored: it also removes the
    /// stand-in.
    Settles,
    /// The stand-in of an accepted activation (not readable; see [`RECOVER_SQL`]).
    Accepted,
}

/// The reply of a durable put: `Ok` once the record is durable (committed, or in the SQLite
/// backend's journal), `Err` with why it could not be made durable.
pub(crate) type Ack = oneshot::Sender<Result<(), String>>;

/// One record for the writer: what it is, and who waits for it to be durable.
pub(crate) struct Entry {
    pub(crate) rec: Arc<ActivationRecord>,
    pub(crate) kind: Kind,
    pub(crate) ack: Option<Ack>,
}

/// What callers send to the backend's writer (the thread that takes the queue).
pub(crate) enum Msg {
    Record(Entry),
    /// Reply once everything received before this message is committed (or held: the SQLite
    /// backend keeps what SQLite refuses in its journal).
    Flush(oneshot::Sender<()>),
    /// Commit what was received, reply to flushes, and exit.
    Shutdown,
}

/// Monotonic counters shared by the writer threads and [`crate::ActivationLog::writer_stats`], and
/// whether the last write failed (and why): [`crate::ActivationLog::health`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) batches: AtomicU64,
    pub(crate) records: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) unhealthy: parking_lot::RwLock<Option<String>>,
}

impl Counters {
    pub(crate) fn snapshot(&self, pending: &Pending) -> WriterStats {
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            pending: pending.len() as u64,
        }
    }
}

/// The enqueue side, held by the store.
pub(crate) struct Log {
    pub(crate) tx: SyncSender<Msg>,
    pub(crate) pending: Arc<Pending>,
    pub(crate) counters: Arc<Counters>,
}

impl Log {
    /// Queues a record: one `Arc` allocation, one sharded-map insert (not for a stand-in,
    /// which is never read), one channel send (no syscall while the writer is busy). Waits
    /// only while [`MAX_QUEUED`] records are queued. `ack` hears once the record is durable.
    pub(crate) fn put(&self, rec: ActivationRecord, kind: Kind, ack: Option<Ack>) {
        let rec = Arc::new(rec);
        if kind != Kind::Accepted {
            // `insert` would keep the old key (and so the old record) for a repeated doc id;
            // `replace_entry` swaps the key too.
            match self.pending.entry(Queued(Arc::clone(&rec))) {
                MapEntry::Occupied(o) => drop(o.replace_entry(())),
                MapEntry::Vacant(v) => drop(v.insert(())),
            }
        }
        if let Err(unsent) = self.tx.send(Msg::Record(Entry { rec, kind, ack })) {
            // Unreachable while the store lives (the writer only exits on Shutdown, sent by
            // Drop); if the writer thread died anyway, say so rather than pretend.
            tracing::error!("activation writer thread is gone; record not persisted");
            if let Msg::Record(Entry { ack: Some(ack), .. }) = unsent.0 {
                let _ = ack.send(Err("the activation writer is gone".into()));
            }
        }
    }

    /// Blocks until everything enqueued before the call is committed (or held, or the writer
    /// is gone).
    pub(crate) async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            // An error means the writer exited without replying: nothing left to wait for.
            let _ = done.await;
        }
    }

    /// The queued records a list for `q` merges with its committed rows: none for a page
    /// deeper than [`MERGE_WINDOW`].
    pub(crate) fn to_merge(&self, q: &ActivationQuery) -> Vec<Arc<ActivationRecord>> {
        if q.skip.saturating_add(q.limit) > MERGE_WINDOW {
            return Vec::new();
        }
        self.queued(q)
    }

    /// Queues a record someone waits for; `settles` says it replaces the stand-in of an
    /// accepted activation.
    pub(crate) fn put_durable(&self, rec: ActivationRecord, settles: bool) -> Committed {
        let kind = if settles { Kind::Settles } else { Kind::Final };
        let (tx, committed) = Committed::channel();
        self.put(rec, kind, Some(tx));
        committed
    }

    /// Queues the stand-in of an accepted activation.
    pub(crate) fn accept(&self, stand_in: ActivationRecord) -> Committed {
        let (tx, committed) = Committed::channel();
        self.put(stand_in, Kind::Accepted, Some(tx));
        committed
    }

    /// `Err` with the reason while the writer cannot write.
    pub(crate) fn health(&self) -> Result<(), String> {
        match &*self.counters.unhealthy.read() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    /// A snapshot of the writer's counters.
    pub(crate) fn stats(&self) -> WriterStats {
        self.counters.snapshot(&self.pending)
    }

    /// Queued records matching `q`, in no particular order.
    pub(crate) fn queued(&self, q: &ActivationQuery) -> Vec<Arc<ActivationRecord>> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        self.pending
            .iter()
            .filter(|e| q.matches(&e.key().0))
            .map(|e| Arc::clone(&e.key().0))
            .collect()
    }

    /// The queued record `namespace/id`, if it is still queued.
    pub(crate) fn queued_record(&self, namespace: &str, id: &str) -> Option<Arc<ActivationRecord>> {
        let probe = (namespace, id);
        let hit = self.pending.get(&probe as &dyn DocId)?;
        Some(Arc::clone(&hit.key().0))
    }

    /// The page `skip`/`limit` of `committed` (the keys of a query's top rows, newest first)
    /// merged with the queued records matching `q`: which records the page shows, in order.
    /// Only keys are merged; the documents are read for the page alone ([`PageDocs`]).
    pub(crate) fn page(
        &self,
        q: &ActivationQuery,
        committed: Vec<(i64, String)>,
        queued: Vec<Arc<ActivationRecord>>,
    ) -> Vec<Paged> {
        let seen: std::collections::HashSet<&str> =
            committed.iter().map(|(_, id)| id.as_str()).collect();
        let fresh: Vec<(i64, Paged)> = queued
            .into_iter()
            .filter(|r| !seen.contains(r.activation_id.as_str()))
            .map(|r| (r.start, Paged::Queued(r)))
            .collect();
        let mut merged: Vec<(i64, Paged)> = committed
            .into_iter()
            .map(|(start, id)| (start, Paged::Committed(id)))
            .chain(fresh)
            .collect();
        merged.sort_by(|a, b| order(b.0, b.1.id(), a.0, a.1.id()));
        let skip = usize::try_from(q.skip).unwrap_or(usize::MAX);
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        merged
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|(_, paged)| paged)
            .collect()
    }
}

/// One record of a list page, by where its document is.
pub(crate) enum Paged {
    /// In the database, by activation id.
    Committed(String),
    /// Still queued.
    Queued(Arc<ActivationRecord>),
}

impl Paged {
    fn id(&self) -> &str {
        match self {
            Paged::Committed(id) => id,
            Paged::Queued(r) => &r.activation_id,
        }
    }
}

/// The documents of one list page as its query shows them (whole, or as summaries without
/// `logs` and `response.result`), at most [`MAX_PAGE_BYTES`] of stored text: a page of
/// records with megabytes of logs each ends early instead of holding gigabytes.
pub(crate) struct PageDocs {
    whole: bool,
    left: usize,
    docs: Vec<Value>,
}

impl PageDocs {
    pub(crate) fn new(q: &ActivationQuery) -> PageDocs {
        PageDocs {
            whole: q.docs,
            left: MAX_PAGE_BYTES,
            docs: Vec::new(),
        }
    }

    /// Adds the next record of the page from its stored text (a backend may have cut a
    /// summary's text already), or, `false`, leaves it out because the page is full (stop
    /// reading). A whole record counts as its text, a summary as what is kept of it. The
    /// first record always fits.
    pub(crate) fn add(
        &mut self,
        text: &str,
        namespace: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let fits = |size: usize, page: &PageDocs| size <= page.left || page.docs.is_empty();
        if self.whole && !fits(text.len(), self) {
            return Ok(false);
        }
        let mut doc = parse(text, namespace, id)?;
        let size = if self.whole {
            text.len()
        } else {
            summarize(&mut doc);
            shoal_model::activation::json_len(&doc)
        };
        if !fits(size, self) {
            return Ok(false);
        }
        self.left = self.left.saturating_sub(size);
        self.docs.push(doc);
        Ok(true)
    }

    pub(crate) fn into_docs(self) -> Vec<Value> {
        self.docs
    }
}

/// Drops what a list summary does not show of a record: its `logs` and `response.result`.
fn summarize(doc: &mut Value) {
    if let Some(record) = doc.as_object_mut() {
        record.remove("logs");
        if let Some(response) = record.get_mut("response").and_then(Value::as_object_mut) {
            response.remove("result");
        }
    }
}

/// Newest first: `start` descending, then activation id descending. Callers pass `(b, a)` to
/// get descending order from an ascending comparison.
fn order(a_start: i64, a_id: &str, b_start: i64, b_id: &str) -> std::cmp::Ordering {
    a_start.cmp(&b_start).then_with(|| a_id.cmp(b_id))
}

/// A stored activation document, parsed; a corrupt one is an error naming it.
pub(crate) fn parse(doc: &str, namespace: &str, id: &str) -> Result<Value, StoreError> {
    json::parse_wrapped(doc.as_bytes(), STORED_WRAPPING)
        .map_err(|e| StoreError::Io(format!("corrupt activation {namespace}/{id}: {e}")))
}

/// Records the outcome of the writer's last attempt: `Some(why)` makes the log unhealthy
/// ([`crate::ActivationLog::health`]), `None` healthy again; each change is logged once.
pub(crate) fn set_health(counters: &Counters, error: Option<String>) {
    let mut unhealthy = counters.unhealthy.write();
    match (&*unhealthy, error) {
        (None, None) => {}
        (_, Some(error)) => {
            if unhealthy.is_none() {
                tracing::error!(%error, "the activation store cannot write");
            }
            *unhealthy = Some(error);
        }
        (Some(_), None) => {
            tracing::warn!("the activation store writes again");
            *unhealthy = None;
        }
    }
}
