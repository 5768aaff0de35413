//! Measures the activation log: sustained write throughput and idle enqueue-to-commit latency.
//!
//! `cargo run --release -p shoal-store --example write_throughput [records] [threads]`
//!
//! Writes into a temporary data directory with realistic ~700-byte activation documents.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shoal_store::{ActivationLog, ActivationQuery, ActivationRecord, SqliteStore};

fn record(n: u64) -> ActivationRecord {
    let id = format!("{n:032x}");
    let start = 1_700_000_000_000 + n as i64;
    ActivationRecord {
        namespace: "guest".into(),
        name: "hello".into(),
        filter_name: "demo/hello".into(),
        start,
        doc: json!({
            "namespace": "guest", "name": "hello", "subject": "guest", "activationId": id,
            "start": start, "end": start + 2, "duration": 2,
            "response": {"result": {"payload": "Hello John"}, "size": 24,
                         "status": "success", "success": true},
            "logs": ["2024-01-01T00:00:00.123456789Z stdout: hello"],
            "version": "0.0.1", "publish": false,
            "annotations": [
                {"key": "limits", "value": {"concurrency": 1, "logs": 10, "memory": 256, "timeout": 60000}},
                {"key": "path", "value": "guest/demo/hello"}, {"key": "kind", "value": "nodejs:20"},
                {"key": "timeout", "value": false}, {"key": "waitTime", "value": 1}
            ]
        })
        .to_string(),
        activation_id: id,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let threads: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2).max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = Arc::new(SqliteStore::open_in_memory().expect("open store"));

    // Build the records up front so the timing covers the store, not JSON construction.
    let per = total / threads;
    let batches: Vec<Vec<ActivationRecord>> = (0..threads)
        .map(|t| (t * per..(t + 1) * per).map(record).collect())
        .collect();
    let started = Instant::now();
    let workers: Vec<_> = batches
        .into_iter()
        .map(|recs| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let t = Instant::now();
                for r in recs {
                    store.put_activation(r);
                }
                t.elapsed()
            })
        })
        .collect();
    let enqueue: Vec<Duration> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    runtime.block_on(store.flush());
    let elapsed = started.elapsed();
    let written = per * threads;
    let stats = store.writer_stats();
    println!(
        "throughput: {written} records from {threads} threads committed in {:.3}s = {:.0} records/s \
         ({} batches, avg {:.0}/batch, {} failed)",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64(),
        stats.batches,
        stats.records as f64 / stats.batches.max(1) as f64,
        stats.failed,
    );
    let per_put = enqueue.iter().map(Duration::as_nanos).max().unwrap_or(0) as f64 / per as f64;
    println!(
        "enqueue: {per_put:.0} ns wall per put_activation on the busiest producer thread \
         (includes time descheduled while the writer shares the cores)"
    );

    // Idle latency: one record, then wait for its commit.
    let rounds = 2_000u64;
    let mut lat: Vec<Duration> = (0..rounds)
        .map(|i| {
            let r = record(written + i);
            let t = Instant::now();
            store.put_activation(r);
            runtime.block_on(store.flush());
            t.elapsed()
        })
        .collect();
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    println!(
        "idle enqueue->commit latency: p50 {:?} p99 {:?} max {:?}",
        pct(50),
        pct(99),
        lat[lat.len() - 1]
    );

    let q = ActivationQuery {
        namespace: "guest".into(),
        name: Some("demo/hello".into()),
        limit: 30,
        ..ActivationQuery::default()
    };
    let t = Instant::now();
    let n = runtime
        .block_on(store.count_activations(&q))
        .expect("count");
    let page = runtime.block_on(store.list_activations(&q)).expect("list");
    println!(
        "read: count {n} and list {} newest in {:?}",
        page.len(),
        t.elapsed()
    );
}
