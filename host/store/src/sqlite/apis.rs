//! Gateway APIs (the `apis` table): one OpenAPI document per namespace and base path, with the
//! API keys subscribed to it.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::entities::to_text;
use crate::{GatewayApi, StoreError};

const COLUMNS: &str = "namespace, base_path, doc, subscriptions, updated";

type Columns = (String, String, String, String, i64);

fn from_row(row: &Row<'_>) -> rusqlite::Result<Columns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn api(
    (namespace, base_path, doc, subscriptions, updated): Columns,
) -> Result<GatewayApi, StoreError> {
    let parse = |text: &str| {
        serde_json::from_str(text)
            .map_err(|e| StoreError::Io(format!("corrupt API {namespace}{base_path}: {e}")))
    };
    Ok(GatewayApi {
        doc: parse(&doc)?,
        subscriptions: parse(&subscriptions)?,
        namespace,
        base_path,
        updated,
    })
}

/// Writes the document; every write moves `updated` forward (at least by one), so it tells
/// readers whether an API changed. `keep_subscriptions` leaves an existing row's subscriptions as they
/// are instead of writing `a.subscriptions`.
pub(crate) fn put(
    conn: &Connection,
    a: &GatewayApi,
    keep_subscriptions: bool,
) -> Result<(), StoreError> {
    let sql = if keep_subscriptions {
        "INSERT INTO apis (namespace, base_path, doc, subscriptions, updated)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (namespace, base_path) DO UPDATE SET
           doc = excluded.doc, updated = max(excluded.updated, apis.updated + 1)"
    } else {
        "INSERT INTO apis (namespace, base_path, doc, subscriptions, updated)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (namespace, base_path) DO UPDATE SET
           doc = excluded.doc, subscriptions = excluded.subscriptions,
           updated = max(excluded.updated, apis.updated + 1)"
    };
    conn.prepare_cached(sql)?.execute(params![
        a.namespace,
        a.base_path,
        to_text(&a.doc)?,
        to_text(&a.subscriptions)?,
        a.updated
    ])?;
    Ok(())
}

pub(crate) fn get(
    conn: &Connection,
    namespace: &str,
    base_path: &str,
) -> Result<Option<GatewayApi>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM apis WHERE namespace = ?1 AND base_path = ?2"
    ))?
    .query_row(params![namespace, base_path], from_row)
    .optional()?
    .map(api)
    .transpose()
}

pub(crate) fn delete(
    conn: &Connection,
    namespace: &str,
    base_path: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM apis WHERE namespace = ?1 AND base_path = ?2")?
        .execute(params![namespace, base_path])?;
    Ok(n == 1)
}

pub(crate) fn list(conn: &Connection, namespace: &str) -> Result<Vec<GatewayApi>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM apis WHERE namespace = ?1 ORDER BY base_path"
    ))?;
    let rows = stmt.query_map([namespace], from_row)?;
    rows.map(|r| api(r?)).collect()
}

pub(crate) fn versions(
    conn: &Connection,
    namespace: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT base_path, updated FROM apis WHERE namespace = ?1 ORDER BY base_path",
    )?;
    let rows = stmt.query_map([namespace], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
