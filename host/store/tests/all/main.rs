//! Integration tests for `shoal-store`: the conformance suite against the SQLite backend on a
//! real on-disk database and against the PostgreSQL backend on a real server, and what only
//! each backend promises.

mod postgres;
mod sqlite;

use std::sync::Arc;

use shoal_store::conformance::Backing;
use shoal_store::{SqliteStore, Store};

/// A fresh data directory, removed when the check ends.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new() -> TempDir {
        TempDir(tempfile::tempdir().unwrap())
    }
}

impl Backing for TempDir {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(self.0.path()).unwrap())
    }
}

shoal_store::conformance_suite!(crate::TempDir::new());
