//! shoal's store: the async contract the host is written against ([`Store`] and its six
//! traits, with a change stream for cache invalidation), the values that cross it, and the
//! embedded SQLite backend ([`SqliteStore`]).
//!
//! # How this crate works
//!
//! - `contract.rs` holds the traits: [`Entities`], [`Subjects`], [`Feeds`], [`Apis`],
//!   [`ActivationLog`] and [`Changes`]. A backend implements all six and so is a [`Store`];
//!   the host holds it as `Arc<dyn Store>` and never names a backend outside its composition
//!   root.
//! - `types.rs` holds plain data (entities, subjects, activation records and queries, feed
//!   schedules, gateway APIs); `error.rs` the one error every method returns.
//! - `sqlite/` is the embedded backend: one database file, an fsynced entity writer on
//!   tokio's blocking pool, and an activation log that journals each round of records in one
//!   write and commits them to SQLite in batches (its module doc explains the threads and
//!   the durability they give).
//! - `conformance.rs` (feature `conformance`) is the behaviour every backend must show, as
//!   async checks over `Arc<dyn Store>`; its `conformance_suite!` turns them into one test
//!   each for a backend's test crate.

#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod contract;
mod error;
mod heavy;
mod log_queue;
#[cfg(feature = "conformance")]
pub mod pg_server;
mod postgres;
mod retention;
mod sqlite;
mod types;

pub use contract::{
    ActivationLog, Apis, Change, Changes, Committed, Entities, EntityWrite, FeedStore, Feeds,
    Listener, Store, Subjects,
};
pub use error::StoreError;
pub use log_queue::MAX_PAGE_BYTES;
pub use postgres::{HEARTBEAT, LEASE, PostgresStore};
pub use sqlite::{DB_FILE, SqliteStore};
pub use types::{
    ActivationQuery, ActivationRecord, Collection, DAY_MS, Entity, FeedSchedule, GatewayApi,
    RETENTION_LIMIT, Subject, WriterStats,
};
