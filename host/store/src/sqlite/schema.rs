//! Opening connections, pragmas, and the versioned schema (`PRAGMA user_version`).
//!
//! Migration `i` (0-based) takes the database from version `i` to `i + 1`; each runs in its own
//! transaction together with the version bump, so a crash mid-migration leaves the old version.
//! Later issues append to [`MIGRATIONS`]; never edit a released entry.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::StoreError;

/// How long a connection waits for SQLite's single write lock before failing with `Io`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema migrations, in order. The database version is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: entities, subjects, activations.
    "CREATE TABLE entities (
        namespace  TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        collection TEXT    NOT NULL,
        doc        TEXT    NOT NULL,
        updated    INTEGER NOT NULL,
        rev        INTEGER NOT NULL,
        PRIMARY KEY (namespace, name)
    );
    CREATE INDEX entities_by_collection
        ON entities (namespace, collection, updated DESC, name);
    CREATE TABLE subjects (
        namespace TEXT NOT NULL PRIMARY KEY,
        subject   TEXT NOT NULL,
        uuid      TEXT NOT NULL UNIQUE,
        key       TEXT NOT NULL,
        limits    TEXT NOT NULL
    );
    CREATE TABLE activations (
        namespace     TEXT    NOT NULL,
        activation_id TEXT    NOT NULL,
        name          TEXT    NOT NULL,
        filter_name   TEXT    NOT NULL,
        start         INTEGER NOT NULL,
        doc           TEXT    NOT NULL,
        UNIQUE (namespace, activation_id)
    );
    CREATE INDEX activations_by_start
        ON activations (namespace, start DESC, activation_id DESC);
    CREATE INDEX activations_by_name
        ON activations (namespace, filter_name, start DESC, activation_id DESC);",
    // 2: feed schedules (alarms), keyed by the trigger they fire.
    "CREATE TABLE feeds (
        trigger   TEXT    NOT NULL PRIMARY KEY,
        namespace TEXT    NOT NULL,
        config    TEXT    NOT NULL,
        last_fire INTEGER
    );",
    // 3: accepted activations that have not finished yet, each with the record it ends as if
    // shoal stops first (moved into `activations` at the next open).
    "CREATE TABLE accepted (
        namespace     TEXT    NOT NULL,
        activation_id TEXT    NOT NULL,
        name          TEXT    NOT NULL,
        filter_name   TEXT    NOT NULL,
        start         INTEGER NOT NULL,
        doc           TEXT    NOT NULL,
        PRIMARY KEY (namespace, activation_id)
    );",
    // 4: gateway APIs (`wsk api`): one OpenAPI document per namespace and base path, and
    // the API keys subscribed to it.
    "CREATE TABLE apis (
        namespace     TEXT    NOT NULL,
        base_path     TEXT    NOT NULL,
        doc           TEXT    NOT NULL,
        subscriptions TEXT    NOT NULL,
        updated       INTEGER NOT NULL,
        PRIMARY KEY (namespace, base_path)
    );",
    // 5: records by age alone, what the retention upkeep removes the oldest through.
    "CREATE INDEX activations_by_age ON activations (start);",
];

/// The schema version this build reads and writes.
pub(crate) const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How much a connection may lose on power failure (see the crate docs, "Durability").
#[derive(Clone, Copy)]
pub(crate) enum Sync {
    /// `synchronous=NORMAL`: commits survive a process crash, not a power loss.
    Normal,
    /// `synchronous=FULL`: every commit is fsynced before it returns.
    Full,
}

/// Opens one connection to the database file with the shared pragmas.
///
/// `read_only` connections refuse writes (`query_only`), so a bug cannot write outside the
/// writer paths.
pub(crate) fn connect(path: &Path, sync: Sync, read_only: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io(format!(
            "could not enable WAL mode (journal_mode is {mode})"
        )));
    }
    let sync = match sync {
        Sync::Normal => "NORMAL",
        Sync::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if read_only {
        conn.pragma_update(None, "query_only", true)?;
    }
    Ok(conn)
}

/// Reads `user_version`.
pub(crate) fn version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the schema up to [`SCHEMA_VERSION`]; refuses a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = version(&tx)?;
        let Some(step) = MIGRATIONS.get(current as usize) else {
            if current > SCHEMA_VERSION {
                return Err(StoreError::Io(format!(
                    "database schema version {current} is newer than this build supports \
                     ({SCHEMA_VERSION})"
                )));
            }
            return Ok(());
        };
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_to_current_version_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = connect(&path, Sync::Normal, false).unwrap();
        assert_eq!(version(&conn).unwrap(), 0);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM activations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = connect(&path, Sync::Normal, false).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, StoreError::Io(m) if m.contains("newer")));
    }

    #[test]
    fn read_only_connections_refuse_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = connect(&path, Sync::Full, false).unwrap();
        migrate(&mut w).unwrap();
        let r = connect(&path, Sync::Normal, true).unwrap();
        assert!(r.execute("DELETE FROM entities", []).is_err());
    }

    #[test]
    fn list_queries_use_the_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                out.push(row.get::<_, String>(3).unwrap());
            }
            out.join("; ")
        };
        let p = plan(crate::sqlite::activations::LIST_SQL);
        assert!(p.contains("activations_by_start"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let p = plan(crate::sqlite::activations::LIST_BY_NAME_SQL);
        assert!(p.contains("activations_by_name"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let p = plan(crate::sqlite::entities::LIST_SQL);
        assert!(p.contains("entities_by_collection"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let p = plan(crate::sqlite::entities::LIST_PACKAGED_SQL);
        assert!(p.contains("entities_by_collection"), "{p}");
    }
}
