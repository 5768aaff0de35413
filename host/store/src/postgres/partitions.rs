//! The activation log's time partitions and its retention.
//!
//! `activations` is partitioned by range of `start`: one partition per UTC day, named
//! `activations_YYYYMMDD`, and `activations_default` for records outside them (the first day
//! of a new log, clock skew, rows from before partitioning). An upkeep run ([`upkeep`],
//! hourly on every node):
//!
//! 1. creates the partitions of the next [`AHEAD`] days that are missing (never today's,
//!    which live writes may be filling), moving into each the rows the default partition
//!    holds for its day (a skewed clock's);
//! 2. drops the day partitions that ended before the system's retention began, so a record
//!    goes at most a day and one upkeep period after its retention has passed, and deletes
//!    the default partition's expired rows (through its index on `start`);
//! 3. deletes, in chunks, the records of namespaces with a shorter retention of their own.
//!
//! Steps 1 and 2 hold an advisory lock that other nodes' runs skip, and a lock timeout of
//! 100 ms, so a busy table is left for the next run rather than queueing the log's
//! statements for longer; a step that fails is logged and the others still run. Dropping a partition costs a scan to count
//! its rows and a file unlink; deleting costs per row, so only the namespaces' own retentions
//! and stray rows pay it. Without a system retention the day partitions accumulate (one a
//! day), and a read by activation id probes each.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate};
use tokio_postgres::Client;

use crate::retention::{CHUNK, Cutoffs};
use crate::{DAY_MS, RETENTION_LIMIT, StoreError};

/// The advisory lock a run holds while it changes partitions (`shoal` + 1).
const UPKEEP_LOCK: i64 = 0x73_68_6f_61_6c + 1;

/// How many days ahead of today partitions are created.
const AHEAD: i64 = 3;

/// How long a run waits for a lock on the log's tables before it leaves the step to the next
/// run: the longest the log's statements can queue behind it.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '100ms'";

/// Day partitions are named this, then their UTC date.
const PREFIX: &str = "activations_";

/// One upkeep run as of `now`; returns how many records it removed.
pub(super) async fn upkeep(
    client: &mut Client,
    days: Option<u32>,
    now: i64,
) -> Result<u64, StoreError> {
    if let Err(e) = create_ahead(client, now).await {
        tracing::warn!(error = %e, "cannot create the activation log's next partitions");
    }
    let own = retentions(client).await?;
    let cutoffs = Cutoffs::of(days, now, own);
    let mut removed = 0;
    if let Some(before) = cutoffs.all {
        match drop_before(client, before).await {
            Ok(n) => removed += n,
            Err(e) => tracing::warn!(error = %e, "cannot drop expired activation partitions"),
        }
        removed += delete_chunks(
            client,
            "DELETE FROM activations_default WHERE ctid IN
               (SELECT ctid FROM activations_default WHERE start < $1 LIMIT $2)",
            &[&before, &CHUNK],
        )
        .await?;
    }
    for (namespace, before) in &cutoffs.namespaces {
        removed += delete_chunks(
            client,
            "DELETE FROM activations WHERE (namespace, activation_id, start) IN
               (SELECT namespace, activation_id, start FROM activations
                WHERE namespace = $3 AND start < $1 LIMIT $2)",
            &[before, &CHUNK, namespace],
        )
        .await?;
    }
    Ok(removed)
}

/// The UTC day `ms` falls in, as days since the epoch.
fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The name of the partition of `day` (days since the epoch).
fn partition_name(day: i64) -> Option<String> {
    let date = DateTime::from_timestamp_millis(day.checked_mul(DAY_MS)?)?.date_naive();
    Some(format!("{PREFIX}{}", date.format("%Y%m%d")))
}

/// The day (days since the epoch) of a partition named by [`partition_name`].
fn day_of_partition(name: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(name.strip_prefix(PREFIX)?, "%Y%m%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(day_of(midnight))
}

/// A day partition of `activations`.
struct Day {
    name: String,
    /// Days since the epoch.
    day: i64,
}

/// The day partitions `activations` has now.
async fn day_partitions(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<Day>, StoreError> {
    let rows = tx
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'activations'::regclass",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            let day = day_of_partition(&name)?;
            Some(Day { name, day })
        })
        .collect())
}

/// Takes the upkeep lock for the transaction, or says another node's run holds it.
async fn locked(tx: &tokio_postgres::Transaction<'_>) -> Result<bool, StoreError> {
    let row = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&UPKEEP_LOCK])
        .await?;
    tx.batch_execute(LOCK_TIMEOUT).await?;
    Ok(row.get(0))
}

/// Creates the missing partitions of the [`AHEAD`] days after `now`'s day.
async fn create_ahead(client: &mut Client, now: i64) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    if !locked(&tx).await? {
        return Ok(());
    }
    let existing: HashSet<i64> = day_partitions(&tx)
        .await?
        .into_iter()
        .map(|d| d.day)
        .collect();
    let today = day_of(now);
    for day in (today + 1..=today + AHEAD).filter(|d| !existing.contains(d)) {
        let Some(name) = partition_name(day) else {
            continue;
        };
        let (from, to) = (day * DAY_MS, (day + 1) * DAY_MS);
        // Created detached, filled with the default partition's rows of its day, then
        // attached: attaching checks the default partition holds none of them any more.
        tx.batch_execute(&format!(
            "CREATE TABLE {name} (LIKE activations INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
             WITH moved AS (
                 DELETE FROM activations_default WHERE start >= {from} AND start < {to}
                 RETURNING *
             ) INSERT INTO {name} SELECT * FROM moved;
             ALTER TABLE activations ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to});"
        ))
        .await?;
        tracing::info!(partition = %name, "created an activation log partition");
    }
    tx.commit().await?;
    Ok(())
}

/// Drops the day partitions that ended by `before`; returns how many records they held.
/// Dropping a partition locks `activations` whole for a moment (a default partition rules
/// out `DETACH … CONCURRENTLY`), so the step gives up after [`LOCK_TIMEOUT`] rather than
/// queue the log's statements behind it, and the next run tries again.
async fn drop_before(client: &mut Client, before: i64) -> Result<u64, StoreError> {
    let tx = client.transaction().await?;
    if !locked(&tx).await? {
        return Ok(0);
    }
    let mut removed = 0;
    for Day { name, day, .. } in day_partitions(&tx).await? {
        if (day + 1) * DAY_MS > before {
            continue;
        }
        let row = tx
            .query_one(&format!("SELECT count(*) FROM {name}"), &[])
            .await?;
        tx.batch_execute(&format!("DROP TABLE {name}")).await?;
        removed += u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
        tracing::info!(partition = %name, "dropped an expired activation log partition");
    }
    tx.commit().await?;
    Ok(removed)
}

/// Runs a chunked `DELETE` (`$1` cut-off, `$2` chunk size) until a chunk removes fewer rows
/// than a whole one; returns how many it removed.
async fn delete_chunks(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare(sql).await?;
    let mut removed = 0;
    loop {
        let n = client.execute(&statement, params).await?;
        removed += n;
        if n < CHUNK as u64 {
            return Ok(removed);
        }
    }
}

/// The namespaces' own retentions ([`RETENTION_LIMIT`]), as stored.
async fn retentions(client: &Client) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = client
        .query(
            // The CASE keeps the cast away from values that are not numbers.
            "SELECT namespace, days::bigint FROM (
                 SELECT namespace, CASE WHEN jsonb_typeof(limits::jsonb -> $1::text) = 'number'
                     THEN (limits::jsonb ->> $1::text)::numeric END AS days
                 FROM subjects
             ) own WHERE days BETWEEN 1 AND 1000000 AND days = trunc(days)",
            &[&RETENTION_LIMIT],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_are_utc_dates_and_read_back_as_their_day() {
        let day = day_of(1_796_515_200_000); // 2026-12-06T00:00:00Z
        assert_eq!(partition_name(day).as_deref(), Some("activations_20261206"));
        assert_eq!(day_of(1_796_515_200_000 + DAY_MS - 1), day);
        assert_eq!(day_of_partition("activations_20261206"), Some(day));
        assert_eq!(day_of_partition("activations_default"), None);
        assert_eq!(day_of_partition("activations_2026120"), None);
    }
}
