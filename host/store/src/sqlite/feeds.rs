//! Feed schedules (the `feeds` table): one row per trigger fired by the alarm service.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::entities::to_text;
use crate::{FeedSchedule, StoreError};

fn from_row(row: &Row<'_>) -> rusqlite::Result<(String, String, String, Option<i64>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn schedule(
    (trigger, namespace, config, last_fire): (String, String, String, Option<i64>),
) -> Result<FeedSchedule, StoreError> {
    Ok(FeedSchedule {
        trigger,
        namespace,
        config: serde_json::from_str(&config)
            .map_err(|e| StoreError::Io(format!("corrupt feed config: {e}")))?,
        last_fire,
    })
}

pub(crate) fn put(conn: &Connection, f: &FeedSchedule) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO feeds (trigger, namespace, config, last_fire) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (trigger) DO UPDATE SET
           namespace = excluded.namespace, config = excluded.config, last_fire = excluded.last_fire",
    )?
    .execute(params![f.trigger, f.namespace, to_text(&f.config)?, f.last_fire])?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
    conn.prepare_cached(
        "SELECT trigger, namespace, config, last_fire FROM feeds WHERE trigger = ?1",
    )?
    .query_row([trigger], from_row)
    .optional()?
    .map(schedule)
    .transpose()
}

pub(crate) fn delete(conn: &Connection, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
    let found = get(conn, trigger)?;
    if found.is_some() {
        conn.prepare_cached("DELETE FROM feeds WHERE trigger = ?1")?
            .execute([trigger])?;
    }
    Ok(found)
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<FeedSchedule>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT trigger, namespace, config, last_fire FROM feeds ORDER BY trigger",
    )?;
    let rows = stmt.query_map([], from_row)?;
    rows.map(|r| schedule(r?)).collect()
}

pub(crate) fn claim(conn: &Connection, trigger: &str, tick: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET last_fire = ?2
             WHERE trigger = ?1 AND (last_fire IS NULL OR last_fire < ?2)",
        )?
        .execute(params![trigger, tick])?;
    Ok(changed == 1)
}
