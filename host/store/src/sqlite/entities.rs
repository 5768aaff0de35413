//! Entity and subject SQL: run on the store's write connection or a pooled read connection.

use rusqlite::{Connection, OptionalExtension, Row, params};
use shoal_router::json;

use super::Point;
use crate::error::is_constraint;
use crate::{Collection, Entity, StoreError, Subject};

const COLUMNS: &str = "namespace, name, collection, doc, updated, rev";

/// Entities of one collection directly in one namespace, newest first, as lists read them:
/// without an action's code or any parameters (no list shows them, and each may be
/// megabytes), cut inside SQLite.
pub(crate) const LIST_SQL: &str = "SELECT namespace, name, collection,
      json_remove(doc, '$.exec.code', '$.parameters'), updated, rev
    FROM entities WHERE namespace = ?1 AND collection = ?2
    ORDER BY updated DESC, name LIMIT ?3 OFFSET ?4";

/// The same plus rows whose namespace starts with `?1/` (actions in packages). The range
/// `[ns/, ns0)` is exactly the strings that start with `ns/`, since `0` follows `/` in byte order.
pub(crate) const LIST_PACKAGED_SQL: &str = "SELECT namespace, name, collection,
      json_remove(doc, '$.exec.code', '$.parameters'), updated, rev
    FROM entities WHERE collection = ?2
      AND (namespace = ?1 OR (namespace >= ?1 || '/' AND namespace < ?1 || '0'))
    ORDER BY updated DESC, namespace, name LIMIT ?3 OFFSET ?4";

const COUNT_SQL: &str = "SELECT count(*) FROM entities WHERE namespace = ?1 AND collection = ?2";

const COUNT_PACKAGED_SQL: &str = "SELECT count(*) FROM entities WHERE collection = ?2
      AND (namespace = ?1 OR (namespace >= ?1 || '/' AND namespace < ?1 || '0'))";

const BYTES_SQL: &str = "SELECT coalesce(sum(octet_length(doc)), 0) FROM entities
      WHERE (namespace = ?1 OR (namespace >= ?1 || '/' AND namespace < ?1 || '0'))
      AND NOT (namespace = ?2 AND name = ?3)";

/// Converts a row selected with [`COLUMNS`] into an [`Entity`].
fn entity_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Entity, StoreError>> {
    let collection: String = row.get(2)?;
    let doc: String = row.get(3)?;
    let rev: i64 = row.get(5)?;
    let namespace: String = row.get(0)?;
    let name: String = row.get(1)?;
    let updated: i64 = row.get(4)?;
    Ok((|| {
        let collection = Collection::parse(&collection).ok_or_else(|| {
            StoreError::Io(format!(
                "corrupt entity {namespace}/{name}: collection {collection:?}"
            ))
        })?;
        let doc = json::parse_wrapped(doc.as_bytes(), crate::log_queue::STORED_WRAPPING)
            .map_err(|e| StoreError::Io(format!("corrupt entity {namespace}/{name}: {e}")))?;
        Ok(Entity {
            namespace,
            name,
            collection,
            doc,
            updated,
            rev: u64::try_from(rev).unwrap_or(0),
        })
    })())
}

/// The entity `namespace/name`, if its stored document is at most `at_most` bytes
/// ([`Point::Large`] otherwise: read it again on the blocking pool). `octet_length` reads
/// the row's header, not the document.
pub(crate) fn get(
    conn: &Connection,
    namespace: &str,
    name: &str,
    at_most: i64,
) -> Result<Point<Entity>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, octet_length(doc) <= ?3 FROM entities WHERE namespace = ?1 AND name = ?2"
    ))?;
    let mut rows = stmt.query(params![namespace, name, at_most])?;
    Ok(match rows.next()? {
        None => Point::Missing,
        Some(row) if !row.get::<_, bool>(6)? => Point::Large,
        Some(row) => Point::Found(entity_from_row(row)??),
    })
}

/// Serializes a JSON document for storage.
pub(crate) fn to_text(doc: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(doc).map_err(|e| StoreError::Io(format!("unserializable document: {e}")))
}

/// Decides between `Conflict` and `NotFound` after a conditional write matched no row.
fn miss(conn: &Connection, namespace: &str, name: &str) -> Result<StoreError, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT 1 FROM entities WHERE namespace = ?1 AND name = ?2")?;
    Ok(if stmt.exists(params![namespace, name])? {
        StoreError::Conflict
    } else {
        StoreError::NotFound
    })
}

pub(crate) fn put(
    conn: &Connection,
    e: &Entity,
    expected_rev: Option<u64>,
) -> Result<u64, StoreError> {
    let doc = to_text(&e.doc)?;
    let Some(expected) = expected_rev else {
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO entities ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, 1)"
        ))?;
        return match stmt.execute(params![
            e.namespace,
            e.name,
            e.collection.as_str(),
            doc,
            e.updated
        ]) {
            Ok(_) => Ok(1),
            Err(err) if is_constraint(&err) => Err(StoreError::Exists),
            Err(err) => Err(err.into()),
        };
    };
    // A revision beyond i64 cannot be stored, so it can never match.
    let Ok(expected) = i64::try_from(expected) else {
        return Err(miss(conn, &e.namespace, &e.name)?);
    };
    let mut stmt = conn.prepare_cached(
        "UPDATE entities SET doc = ?3, updated = ?4, rev = rev + 1
         WHERE namespace = ?1 AND name = ?2 AND rev = ?5 AND collection = ?6
         RETURNING rev",
    )?;
    let rev: Option<i64> = stmt
        .query_row(
            params![
                e.namespace,
                e.name,
                doc,
                e.updated,
                expected,
                e.collection.as_str()
            ],
            |r| r.get(0),
        )
        .optional()?;
    match rev {
        Some(rev) => Ok(u64::try_from(rev).unwrap_or(0)),
        None => Err(miss(conn, &e.namespace, &e.name)?),
    }
}

pub(crate) fn delete(
    conn: &Connection,
    namespace: &str,
    name: &str,
    expected_rev: Option<u64>,
) -> Result<Entity, StoreError> {
    let expected = match expected_rev.map(i64::try_from) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(_)) => return Err(miss(conn, namespace, name)?),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "DELETE FROM entities WHERE namespace = ?1 AND name = ?2 AND (?3 IS NULL OR rev = ?3)
         RETURNING {COLUMNS}"
    ))?;
    match stmt
        .query_row(params![namespace, name, expected], entity_from_row)
        .optional()?
    {
        Some(e) => e,
        None => Err(miss(conn, namespace, name)?),
    }
}

pub(crate) fn list(
    conn: &Connection,
    namespace: &str,
    collection: Collection,
    include_packaged: bool,
    skip: u64,
    limit: u64,
) -> Result<Vec<Entity>, StoreError> {
    let sql = if include_packaged {
        LIST_PACKAGED_SQL
    } else {
        LIST_SQL
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![
        namespace,
        collection.as_str(),
        clamp(limit),
        clamp(skip)
    ])?;
    // A page ends at MAX_PAGE_BYTES of documents (their annotations may still be large):
    // the rows after it are never read out.
    let mut left = crate::MAX_PAGE_BYTES;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let size = row.get_ref(3)?.as_bytes().map_or(0, <[u8]>::len);
        if size > left && !out.is_empty() {
            break;
        }
        left = left.saturating_sub(size);
        out.push(entity_from_row(row)??);
    }
    Ok(out)
}

pub(crate) fn count(
    conn: &Connection,
    namespace: &str,
    collection: Collection,
    include_packaged: bool,
) -> Result<u64, StoreError> {
    let sql = if include_packaged {
        COUNT_PACKAGED_SQL
    } else {
        COUNT_SQL
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let n: i64 = stmt.query_row(params![namespace, collection.as_str()], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// See [`crate::Entities::entity_bytes`].
pub(crate) fn bytes(
    conn: &Connection,
    root: &str,
    except: (&str, &str),
) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(BYTES_SQL)?;
    let n: i64 = stmt.query_row(params![root, except.0, except.1], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// SQLite integers are signed; anything past `i64::MAX` means "no bound" anyway.
pub(crate) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn put_subject(conn: &Connection, s: &Subject) -> Result<(), StoreError> {
    let limits = to_text(&s.limits)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO subjects (namespace, subject, uuid, key, limits) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (namespace) DO UPDATE SET
           subject = excluded.subject, uuid = excluded.uuid,
           key = excluded.key, limits = excluded.limits",
    )?;
    match stmt.execute(params![s.namespace, s.subject, s.uuid, s.key, limits]) {
        Ok(_) => Ok(()),
        Err(err) if is_constraint(&err) => Err(StoreError::Exists),
        Err(err) => Err(err.into()),
    }
}

/// Which column a subject lookup uses; both are unique.
#[derive(Clone, Copy)]
pub(crate) enum SubjectKey {
    Uuid,
    Namespace,
}

pub(crate) fn subject(
    conn: &Connection,
    by: SubjectKey,
    value: &str,
) -> Result<Option<Subject>, StoreError> {
    let sql = match by {
        SubjectKey::Uuid => {
            "SELECT subject, namespace, uuid, key, limits FROM subjects WHERE uuid = ?1"
        }
        SubjectKey::Namespace => {
            "SELECT subject, namespace, uuid, key, limits FROM subjects WHERE namespace = ?1"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let row = stmt
        .query_row([value], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    let Some((subject, namespace, uuid, key, limits)) = row else {
        return Ok(None);
    };
    let limits = serde_json::from_str(&limits)
        .map_err(|e| StoreError::Io(format!("corrupt subject {namespace}: {e}")))?;
    Ok(Some(Subject {
        subject,
        namespace,
        uuid,
        key,
        limits,
    }))
}
