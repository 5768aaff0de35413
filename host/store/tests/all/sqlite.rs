//! What the SQLite backend promises beyond the conformance suite: its data directory, a
//! flush on drop, and many threads writing at once.

use std::sync::Arc;

use serde_json::json;
use shoal_store::conformance::{activation, entity, id, query};
use shoal_store::{ActivationLog, ActivationQuery, Collection, Entities, SqliteStore, StoreError};

#[tokio::test]
async fn open_creates_nested_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    let store = SqliteStore::open(&nested).unwrap();
    let e = entity("guest", "x", Collection::Rules, 1);
    store.put_entity(e, None).await.unwrap();
    assert!(nested.join(shoal_store::DB_FILE).exists());
}

#[test]
fn open_fails_cleanly_on_a_file_in_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(SqliteStore::open(&file), Err(StoreError::Io(_))));
}

#[tokio::test]
async fn drop_flushes_everything_enqueued() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        for n in 0..10_000 {
            store.put_activation(activation("guest", n, "bulk", n as i64));
        }
        // No flush: dropping must not lose anything.
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let counted = store.count_activations(&query("guest")).await;
    assert_eq!(counted.unwrap(), 10_000);
    assert_eq!(store.writer_stats().pending, 0);
    let newest = ActivationQuery {
        limit: 1,
        ..query("guest")
    };
    let newest = store.list_activations(&newest).await.unwrap();
    assert_eq!(newest[0]["start"], json!(9_999));
}

#[tokio::test]
async fn a_second_process_never_ends_the_activations_the_first_has_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = SqliteStore::open(dir.path()).unwrap();
    let stand_in = activation("guest", 7, "slow", 7);
    server.accept_activation(stand_in).await.unwrap();
    server.flush().await;
    // `shoal namespace …` beside the running server: the activation is still in flight.
    let beside = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(beside.recovered(), 0);
    assert_eq!(beside.get_activation("guest", &id(7)).await.unwrap(), None);
    drop(beside);
    // The server stops before the activation ends: the next open ends it.
    drop(server);
    let next = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(next.recovered(), 1);
    assert!(
        next.get_activation("guest", &id(7))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_readers() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 2_500;
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let tasks: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..PER_THREAD {
                    let n = t * PER_THREAD + i;
                    let ns = if t % 2 == 0 { "even" } else { "odd" };
                    store.put_activation(activation(ns, n, "f", n as i64));
                    // Every task reads its own write back at once.
                    if i % 250 == 0 {
                        let got = store.get_activation(ns, &id(n)).await;
                        assert!(got.unwrap().is_some());
                    }
                }
            })
        })
        .collect();
    // Entity writes interleave with the activation batches (two SQLite writers).
    for i in 0..50 {
        let e = entity("guest", &format!("a{i}"), Collection::Actions, i);
        store.put_entity(e, None).await.unwrap();
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = THREADS * PER_THREAD;
    let even = store.count_activations(&query("even")).await.unwrap();
    let odd = store.count_activations(&query("odd")).await.unwrap();
    assert_eq!(even + odd, total);
    store.flush().await;
    let stats = store.writer_stats();
    assert_eq!((stats.records, stats.failed, stats.pending), (total, 0, 0));
    assert!(stats.batches >= 1 && stats.batches <= total);
    assert_eq!(even, total / 2);
    let entities = store
        .count_entities("guest", Collection::Actions, false)
        .await;
    assert_eq!(entities.unwrap(), 50);
}
