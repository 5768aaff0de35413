//! The SQLite activation log's reads, which merge the committed rows with what is still
//! queued (read-your-writes; the writers are in [`super::writer`]), and its retention
//! queries. A reader snapshots the pending map before it starts its SQLite read transaction.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::Point;
use super::entities::clamp;
use crate::log_queue::{Log, PageDocs, Paged, parse};
use crate::retention::CHUNK;
use crate::{ActivationQuery, StoreError};

/// Newest-first keys of a namespace's activations within `[since, upto]`.
pub(crate) const LIST_SQL: &str = "SELECT start, activation_id FROM activations
    WHERE namespace = ?1 AND start >= ?2 AND start <= ?3
    ORDER BY start DESC, activation_id DESC LIMIT ?4 OFFSET ?5";

/// The same, restricted to one `filter_name` (`?6`). Without statistics SQLite prefers the
/// `start` range over the name equality, which scans every activation of a busy namespace to
/// find one action's; `INDEXED BY` pins the selective index.
pub(crate) const LIST_BY_NAME_SQL: &str = "SELECT start, activation_id FROM activations
    INDEXED BY activations_by_name WHERE namespace = ?1 AND filter_name = ?6 AND start >= ?2 AND start <= ?3
    ORDER BY start DESC, activation_id DESC LIMIT ?4 OFFSET ?5";

const COUNT_SQL: &str = "SELECT count(*) FROM activations
    WHERE namespace = ?1 AND start >= ?2 AND start <= ?3";

const COUNT_BY_NAME_SQL: &str = "SELECT count(*) FROM activations
    INDEXED BY activations_by_name WHERE namespace = ?1 AND filter_name = ?4 AND start >= ?2 AND start <= ?3";

/// Run at open: every accepted activation that never finished ends as its stand-in record.
pub(crate) const RECOVER_SQL: &str = "INSERT OR IGNORE INTO activations
        (namespace, activation_id, name, filter_name, start, doc)
        SELECT namespace, activation_id, name, filter_name, start, doc FROM accepted;
    DELETE FROM accepted;";

const EXISTS_SQL: &str = "SELECT 1 FROM activations WHERE namespace = ?1 AND activation_id = ?2";

const GET_SQL: &str = "SELECT doc FROM activations WHERE namespace = ?1 AND activation_id = ?2";

/// A record, or NULL when its text is longer than `?3` bytes (`octet_length` reads the
/// row's header, not the text).
const POINT_SQL: &str = "SELECT CASE WHEN octet_length(doc) <= ?3 THEN doc END
    FROM activations WHERE namespace = ?1 AND activation_id = ?2";

/// A record as a list summary shows it: its logs and result are cut inside SQLite, so a
/// record with megabytes of them is not copied out to be dropped.
const SUMMARY_SQL: &str = "SELECT json_remove(doc, '$.logs', '$.response.result')
    FROM activations WHERE namespace = ?1 AND activation_id = ?2";

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
    /// The record `namespace/id`, if its stored text is at most `at_most` bytes
    /// ([`Point::Large`] otherwise: read it again on the blocking pool).
    pub(crate) fn get(
        &self,
        conn: &Connection,
        namespace: &str,
        id: &str,
        at_most: i64,
    ) -> Result<Point<Value>, StoreError> {
        if let Some(queued) = self.queued_record(namespace, id) {
            return Ok(if queued.doc.len() as i64 > at_most {
                Point::Large
            } else {
                Point::Found(parse(&queued.doc, namespace, id)?)
            });
        }
        let text: Option<Option<String>> = conn
            .prepare_cached(POINT_SQL)?
            .query_row(params![namespace, id, at_most], |r| r.get(0))
            .optional()?;
        Ok(match text {
            None => Point::Missing,
            Some(None) => Point::Large,
            Some(Some(text)) => Point::Found(parse(&text, namespace, id)?),
        })
    }

    /// A page of `q`: its keys first (merged with the queued records when the page is
    /// within [`crate::log_queue::MERGE_WINDOW`]), then the documents of that page alone,
    /// in one read transaction, bounded by [`PageDocs`].
    pub(crate) fn list(
        &self,
        conn: &mut Connection,
        q: &ActivationQuery,
    ) -> Result<Vec<Value>, StoreError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let queued = self.to_merge(q);
        let tx = conn.transaction()?;
        let page: Vec<Paged> = if queued.is_empty() {
            keys(&tx, q, clamp(q.skip), clamp(q.limit))?
                .into_iter()
                .map(|(_, id)| Paged::Committed(id))
                .collect()
        } else {
            // The top skip+limit of the merge are among the top skip+limit committed rows
            // plus the queued ones.
            let window = clamp(q.skip.saturating_add(q.limit));
            self.page(q, keys(&tx, q, 0, window)?, queued)
        };
        let mut docs = PageDocs::new(q);
        let mut read = tx.prepare_cached(if q.docs { GET_SQL } else { SUMMARY_SQL })?;
        for paged in page {
            let added = match paged {
                Paged::Queued(r) => docs.add(&r.doc, &r.namespace, &r.activation_id)?,
                Paged::Committed(id) => {
                    let text: Option<String> = read
                        .query_row(params![q.namespace, id], |r| r.get(0))
                        .optional()?;
                    match text {
                        Some(text) => docs.add(&text, &q.namespace, &id)?,
                        None => true,
                    }
                }
            };
            if !added {
                break;
            }
        }
        Ok(docs.into_docs())
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

/// The keys (start, activation id) of the rows of `q` with the given paging, newest first.
fn keys(
    conn: &Connection,
    q: &ActivationQuery,
    skip: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let key = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
    let (since, upto) = (q.since_bound(), q.upto_bound());
    let rows = match &q.name {
        None => conn
            .prepare_cached(LIST_SQL)?
            .query_map(params![q.namespace, since, upto, limit, skip], key)?
            .collect::<Result<_, _>>()?,
        Some(name) => conn
            .prepare_cached(LIST_BY_NAME_SQL)?
            .query_map(params![q.namespace, since, upto, limit, skip, name], key)?
            .collect::<Result<_, _>>()?,
    };
    Ok(rows)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::sync::mpsc::Receiver;

    use super::*;
    use crate::ActivationRecord;
    use crate::log_queue::{Counters, Entry, Kind, MAX_QUEUED, Msg, Pending};
    use crate::sqlite::writer::insert;
    use serde_json::json;

    /// Record `n` of namespace `guest`, started at `start`.
    pub(crate) fn rec(n: u64, start: i64) -> Arc<ActivationRecord> {
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
    pub(crate) fn frozen() -> (Log, Receiver<Msg>, Connection) {
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
            log.get(&conn, "guest", &format!("{:032x}", 4), i64::MAX)
                .unwrap(),
            Point::Found(json!({"activationId": format!("{:032x}", 4)}))
        );
        let missing = log.get(&conn, "guest", "nope", i64::MAX).unwrap();
        assert_eq!(missing, Point::Missing);
        assert_eq!(log.counters.snapshot(&log.pending).pending, 3);
    }
}
