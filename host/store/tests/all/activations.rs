use std::sync::Arc;

use serde_json::{Value, json};
use shoal_store::{ActivationQuery, Store};

use crate::activation;

fn query(ns: &str) -> ActivationQuery {
    ActivationQuery {
        namespace: ns.into(),
        limit: 200,
        ..ActivationQuery::default()
    }
}

fn ids(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["activationId"].as_str().unwrap().to_owned())
        .collect()
}

fn id(n: u64) -> String {
    format!("{n:032x}")
}

#[test]
fn get_sees_a_record_immediately_and_after_commit() {
    let store = Store::open_in_memory().unwrap();
    let rec = activation("guest", 1, "hello", 100);
    let doc: serde_json::Value = serde_json::from_str(&rec.doc).unwrap();
    store.put_activation(rec);
    // Read-your-writes, before any flush.
    assert_eq!(
        store.get_activation("guest", &id(1)).unwrap(),
        Some(doc.clone())
    );
    // The doc id is namespace/id: another namespace does not see it.
    assert_eq!(store.get_activation("other", &id(1)).unwrap(), None);
    assert_eq!(store.get_activation("guest", &id(2)).unwrap(), None);
    store.flush();
    let stats = store.writer_stats();
    assert_eq!((stats.records, stats.pending, stats.failed), (1, 0, 0));
    assert_eq!(store.get_activation("guest", &id(1)).unwrap(), Some(doc));
}

/// Ten records over two names and two namespaces; starts 10, 20, ..., with one tie at 50.
fn seed(store: &Store) {
    let starts = [10, 20, 30, 40, 50, 50, 70, 80, 90, 100];
    for (n, start) in starts.into_iter().enumerate() {
        let n = n as u64 + 1;
        let name = if n.is_multiple_of(2) {
            "pkg/even"
        } else {
            "odd"
        };
        store.put_activation(activation("guest", n, name, start));
    }
    store.put_activation(activation("other", 99, "odd", 1_000));
}

fn check_listing(store: &Store) {
    let all = store.list_activations(&query("guest")).unwrap();
    // Newest first; the tie at start 50 is broken by activation id, descending.
    let expected: Vec<String> = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(id).to_vec();
    assert_eq!(ids(&all), expected);

    let page = store
        .list_activations(&ActivationQuery {
            skip: 2,
            limit: 3,
            ..query("guest")
        })
        .unwrap();
    assert_eq!(ids(&page), [8, 7, 6].map(id));

    let window = ActivationQuery {
        since: Some(30),
        upto: Some(80),
        ..query("guest")
    };
    assert_eq!(
        ids(&store.list_activations(&window).unwrap()),
        [8, 7, 6, 5, 4, 3].map(id)
    );
    assert_eq!(store.count_activations(&window).unwrap(), 6);

    let even = ActivationQuery {
        name: Some("pkg/even".into()),
        ..query("guest")
    };
    assert_eq!(
        ids(&store.list_activations(&even).unwrap()),
        [10, 8, 6, 4, 2].map(id)
    );
    assert_eq!(store.count_activations(&even).unwrap(), 5);
    // The filter matches the whole filter name, not the simple name.
    let simple = ActivationQuery {
        name: Some("even".into()),
        ..query("guest")
    };
    assert!(store.list_activations(&simple).unwrap().is_empty());

    let odd_late = ActivationQuery {
        name: Some("odd".into()),
        since: Some(50),
        skip: 1,
        limit: 1,
        ..query("guest")
    };
    assert_eq!(
        ids(&store.list_activations(&odd_late).unwrap()),
        [7].map(id)
    );
    assert_eq!(store.count_activations(&odd_late).unwrap(), 3);

    assert_eq!(store.count_activations(&query("guest")).unwrap(), 10);
    assert_eq!(store.count_activations(&query("other")).unwrap(), 1);
    assert_eq!(store.count_activations(&query("nobody")).unwrap(), 0);
    let none = ActivationQuery {
        limit: 0,
        ..query("guest")
    };
    assert!(store.list_activations(&none).unwrap().is_empty());
    let past_end = ActivationQuery {
        skip: 10,
        ..query("guest")
    };
    assert!(store.list_activations(&past_end).unwrap().is_empty());
}

#[test]
fn list_and_count_before_and_after_flush() {
    let store = Store::open_in_memory().unwrap();
    seed(&store);
    // Whatever the writer has or has not committed yet, the answers are the same.
    check_listing(&store);
    store.flush();
    assert_eq!(store.writer_stats().pending, 0);
    check_listing(&store);
}

#[test]
fn list_merges_committed_and_queued_records() {
    let store = Store::open_in_memory().unwrap();
    seed(&store);
    store.flush();
    // Queue more without flushing: they interleave with committed ones by start.
    store.put_activation(activation("guest", 11, "odd", 55));
    store.put_activation(activation("guest", 12, "pkg/even", 200));
    let all = store.list_activations(&query("guest")).unwrap();
    assert_eq!(ids(&all), [12, 10, 9, 8, 7, 11, 6, 5, 4, 3, 2, 1].map(id));
    let page = store
        .list_activations(&ActivationQuery {
            skip: 4,
            limit: 3,
            ..query("guest")
        })
        .unwrap();
    assert_eq!(ids(&page), [7, 11, 6].map(id));
    assert_eq!(store.count_activations(&query("guest")).unwrap(), 12);
    store.flush();
    assert_eq!(
        ids(&store.list_activations(&query("guest")).unwrap()),
        ids(&all)
    );
    assert_eq!(store.count_activations(&query("guest")).unwrap(), 12);
}

#[test]
fn same_doc_id_twice_keeps_the_last() {
    let store = Store::open_in_memory().unwrap();
    let mut first = activation("guest", 1, "a", 1);
    first.doc = json!({"v": 1}).to_string();
    let mut second = activation("guest", 1, "a", 1);
    second.doc = json!({"v": 2}).to_string();
    store.put_activation(first);
    store.put_activation(second);
    assert_eq!(
        store.get_activation("guest", &id(1)).unwrap(),
        Some(json!({"v": 2}))
    );
    assert_eq!(store.count_activations(&query("guest")).unwrap(), 1);
    store.flush();
    assert_eq!(
        store.get_activation("guest", &id(1)).unwrap(),
        Some(json!({"v": 2}))
    );
    assert_eq!(store.count_activations(&query("guest")).unwrap(), 1);
}

#[test]
fn activations_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        seed(&store);
        let stats = store.close();
        assert_eq!((stats.records, stats.pending, stats.failed), (11, 0, 0));
    }
    let store = Store::open(dir.path()).unwrap();
    check_listing(&store);
}

#[test]
fn drop_flushes_everything_enqueued() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for n in 0..10_000 {
            store.put_activation(activation("guest", n, "bulk", n as i64));
        }
        // No flush: dropping must not lose anything.
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.count_activations(&query("guest")).unwrap(), 10_000);
    assert_eq!(store.writer_stats().pending, 0);
    let newest = store
        .list_activations(&ActivationQuery {
            limit: 1,
            ..query("guest")
        })
        .unwrap();
    assert_eq!(newest[0]["start"], json!(9_999));
}

#[test]
fn concurrent_writers_and_readers() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 2_500;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let n = t * PER_THREAD + i;
                    let ns = if t.is_multiple_of(2) { "even" } else { "odd" };
                    store.put_activation(activation(ns, n, "f", n as i64));
                    // Every thread reads its own write back at once.
                    if i.is_multiple_of(250) {
                        assert!(store.get_activation(ns, &id(n)).unwrap().is_some());
                    }
                }
            })
        })
        .collect();
    // Entity writes interleave with the activation batches (two SQLite writers).
    for i in 0..50 {
        let e = crate::entity(
            "guest",
            &format!("a{i}"),
            shoal_store::Collection::Actions,
            i,
        );
        store.put_entity(&e, None).unwrap();
    }
    for h in handles {
        h.join().unwrap();
    }
    let total = THREADS * PER_THREAD;
    assert_eq!(
        store.count_activations(&query("even")).unwrap()
            + store.count_activations(&query("odd")).unwrap(),
        total
    );
    store.flush();
    let stats = store.writer_stats();
    assert_eq!((stats.records, stats.failed, stats.pending), (total, 0, 0));
    assert!(stats.batches >= 1 && stats.batches <= total);
    assert_eq!(store.count_activations(&query("even")).unwrap(), total / 2);
    assert_eq!(
        store
            .count_entities("guest", shoal_store::Collection::Actions, false)
            .unwrap(),
        50
    );
}
