//! Measures how long a change made on one node takes to reach another node's caches on
//! PostgreSQL: from an entity write returning on node A to node B's change-stream listener
//! hearing of it (0 when it arrived first), and from the write's start (the write's own
//! round trips included). Runs a private PostgreSQL server
//! (`shoal_store::pg_server`; Debian's `postgresql` package).
//!
//! `cargo run --release -p shoal-store --example coherence [writes]`

use std::sync::mpsc;
use std::time::{Duration, Instant};

use shoal_store::conformance::entity;
use shoal_store::pg_server::PgServer;
use shoal_store::{Change, Changes, Collection, Entities, PostgresStore};

fn main() {
    let writes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let server = PgServer::start();
    server.create_database("shoal");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let url = server.url("shoal");
    let (a, b) = runtime.block_on(async {
        let a = PostgresStore::connect(&url).await.expect("node a");
        let b = PostgresStore::connect(&url).await.expect("node b");
        (a, b)
    });
    let (tx, rx) = mpsc::channel();
    b.watch(Box::new(move |change| {
        if let Change::Entity { name, .. } = change {
            let _ = tx.send((name.clone(), Instant::now()));
        }
    }));
    let mut delays = Vec::with_capacity(writes);
    let mut from_start = Vec::with_capacity(writes);
    for i in 0..writes {
        let name = format!("e{i}");
        let started = Instant::now();
        let written = runtime.block_on(async {
            let e = entity("guest", &name, Collection::Actions, i as i64);
            a.put_entity(e, None).await.expect("a write");
            Instant::now()
        });
        loop {
            let (heard, at) = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("node b hears every write");
            if heard == name {
                delays.push(at.saturating_duration_since(written));
                from_start.push(at.saturating_duration_since(started));
                break;
            }
        }
    }
    for (what, mut d) in [
        ("after the write returned", delays),
        ("after the write started", from_start),
    ] {
        d.sort();
        let at = |q: f64| d[((d.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!(
            "change stream across 2 nodes, {writes} writes, {what}: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
            at(0.5),
            at(0.99),
            at(1.0),
        );
    }
    drop((a, b));
}
