//! The one error type the store returns, and what it means to callers.

use shoal_model::{WhiskError, messages};

/// Why a store operation failed.
///
/// Returned by value from every fallible store method; cheap (at most one `String`).
/// Callers see it as a [`WhiskError`]: `Exists` and `Conflict` are conflicts, `NotFound` is
/// not found, and `Io` is an internal error (logged with its cause, answered without it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A create (`expected_rev == None`) hit a document id that already exists, in any
    /// collection, or a subject upsert reused another namespace's uuid.
    #[error("document already exists")]
    Exists,
    /// An update or delete named a revision (or collection) that is not the current one.
    #[error("document revision conflict")]
    Conflict,
    /// An update or delete named a document that does not exist.
    #[error("document not found")]
    NotFound,
    /// SQLite, the file system or a corrupt stored row failed; the text says which.
    #[error("store i/o error: {0}")]
    Io(String),
    /// The store cannot be reached at the moment (its PostgreSQL server is down or
    /// unreachable); the same request may succeed later. The text says why.
    #[error("the store cannot be reached: {0}")]
    Unavailable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

impl From<StoreError> for WhiskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Exists => WhiskError::conflict(messages::ALREADY_EXISTS),
            StoreError::Conflict => WhiskError::conflict(messages::CONCURRENT_MODIFICATION),
            StoreError::NotFound => WhiskError::not_found(),
            StoreError::Io(cause) => {
                tracing::error!(error = %cause, "store failure");
                WhiskError::internal("The server encountered an internal error.")
            }
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "store unreachable");
                WhiskError::store_unavailable(&cause)
            }
        }
    }
}

/// Whether `e` is a SQLite uniqueness/primary-key violation (a duplicate document id).
pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_detection_only_matches_constraint_failures() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');")
            .unwrap();
        let dup = conn.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        assert!(is_constraint(&dup));
        let syntax = conn.execute("INSERT INTO nope VALUES (1)", []).unwrap_err();
        assert!(!is_constraint(&syntax));
        assert!(matches!(StoreError::from(syntax), StoreError::Io(m) if m.contains("nope")));
    }
}
