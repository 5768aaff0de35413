//! The PostgreSQL schema, as numbered migrations. Opening a store applies the ones a database
//! lacks, one transaction each, while holding an advisory lock, so nodes that start together
//! migrate once; a database migrated by a newer build is refused.
//!
//! Documents are `text`, not `jsonb`: the store returns them verbatim (key order included),
//! and looks only at the indexed columns.

use tokio_postgres::Client;

use crate::StoreError;

/// The key of the advisory lock held while migrating (`shoal` in ASCII).
const MIGRATION_LOCK: i64 = 0x73_68_6f_61_6c;

/// Each migration, in order: migration `n` is `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[&str] = &[
    // 1: entities, subjects, feed schedules, gateway APIs and the activation log.
    "CREATE TABLE entities (
        namespace text NOT NULL,
        name text NOT NULL,
        -- The namespace before any package: what lists with packaged actions select on.
        root text NOT NULL,
        collection text NOT NULL,
        doc text NOT NULL,
        updated bigint NOT NULL,
        rev bigint NOT NULL,
        PRIMARY KEY (namespace, name)
    );
    CREATE INDEX entities_listed ON entities (root, collection, updated DESC, namespace, name);
    CREATE TABLE subjects (
        namespace text PRIMARY KEY,
        subject text NOT NULL,
        uuid text NOT NULL UNIQUE,
        key text NOT NULL,
        limits text NOT NULL
    );
    CREATE TABLE feeds (
        trigger text PRIMARY KEY,
        namespace text NOT NULL,
        config text NOT NULL,
        last_fire bigint
    );
    CREATE TABLE apis (
        namespace text NOT NULL,
        base_path text NOT NULL,
        doc text NOT NULL,
        subscriptions text NOT NULL,
        updated bigint NOT NULL,
        PRIMARY KEY (namespace, base_path)
    );
    CREATE TABLE activations (
        namespace text NOT NULL,
        activation_id text NOT NULL,
        name text NOT NULL,
        filter_name text NOT NULL,
        start bigint NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (namespace, activation_id)
    );
    CREATE INDEX activations_listed ON activations (namespace, start DESC, activation_id DESC);
    CREATE INDEX activations_named
        ON activations (namespace, filter_name, start DESC, activation_id DESC);
    -- The shoal processes sharing the database, each alive while its heartbeat is recent.
    CREATE TABLE nodes (
        id text PRIMARY KEY,
        heartbeat timestamptz NOT NULL
    );
    -- Accepted activations whose final record is not written yet, by the node that runs
    -- them: if that node dies, another ends them with their stand-ins.
    CREATE TABLE accepted (
        namespace text NOT NULL,
        activation_id text NOT NULL,
        node text NOT NULL,
        name text NOT NULL,
        filter_name text NOT NULL,
        start bigint NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (namespace, activation_id)
    );
    CREATE INDEX accepted_by_node ON accepted (node);",
    // 2: the activation log partitioned by day of `start` (see `partitions.rs`); the rows
    // so far go to the default partition, and upkeep moves them into their day's partition.
    "ALTER TABLE activations RENAME TO activations_unpartitioned;
    ALTER TABLE activations_unpartitioned RENAME CONSTRAINT activations_pkey
        TO activations_unpartitioned_pkey;
    DROP INDEX activations_listed;
    DROP INDEX activations_named;
    CREATE TABLE activations (
        namespace text NOT NULL,
        activation_id text NOT NULL,
        name text NOT NULL,
        filter_name text NOT NULL,
        start bigint NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (namespace, activation_id, start)
    ) PARTITION BY RANGE (start);
    CREATE INDEX activations_listed ON activations (namespace, start DESC, activation_id DESC);
    CREATE INDEX activations_named
        ON activations (namespace, filter_name, start DESC, activation_id DESC);
    CREATE TABLE activations_default PARTITION OF activations DEFAULT;
    -- What retention deletes the default partition's expired rows through.
    CREATE INDEX activations_default_age ON activations_default (start);
    INSERT INTO activations SELECT * FROM activations_unpartitioned;
    DROP TABLE activations_unpartitioned;",
];

/// Brings the database up to this build's schema. Fails if it was migrated by a newer build.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let migrated = apply(client).await;
    // Also released when the connection closes; an error here changes nothing for the caller.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    migrated
}

async fn apply(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS shoal_schema (
                version integer PRIMARY KEY,
                applied timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM shoal_schema", &[])
        .await?;
    let current: i32 = row.get(0);
    let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if current > known {
        return Err(StoreError::Io(format!(
            "the database is at schema version {current}, written by a newer shoal (this one knows {known}); upgrade shoal"
        )));
    }
    let done = usize::try_from(current).unwrap_or(0);
    for (version, sql) in (1i32..).zip(MIGRATIONS).skip(done) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO shoal_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied a PostgreSQL schema migration");
    }
    Ok(())
}
