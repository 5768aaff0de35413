//! The behaviour every [`Store`] backend must show, as async checks that panic on the first
//! difference. A backend's test crate runs them all, one test each, with
//! [`crate::conformance_suite!`].
//!
//! Each check gets a [`Backing`]: a fresh, empty place to keep data (a directory, a
//! database) that it may open several times, one handle at a time, to see what survives a
//! restart.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::{
    ActivationQuery, ActivationRecord, Change, Collection, DAY_MS, Entity, EntityWrite,
    FeedSchedule, GatewayApi, RETENTION_LIMIT, Store, StoreError, Subject,
};

/// Where one check keeps its data.
pub trait Backing {
    /// Opens the store kept here (empty at the first call). The check drops each handle before
    /// opening the next.
    fn open(&self) -> Arc<dyn Store>;
}

/// Runs every conformance check as its own `#[tokio::test]`, each with a fresh backing made
/// by `$backing` (an expression whose value implements [`Backing`]).
#[macro_export]
macro_rules! conformance_suite {
    ($backing:expr) => {
        $crate::conformance_suite!(@each $backing;
            entities_create_update_conflict_delete,
            entities_list_newest_first_with_paging,
            entities_list_without_code_or_parameters_within_a_page_bound,
            entities_bytes_count_a_namespace_and_its_packages,
            entities_persist_across_reopen,
            entities_written_together_or_not_at_all,
            subjects_upsert_and_lookup,
            feeds_claim_each_tick_once,
            apis_kept_per_namespace_and_base_path,
            apis_replacing_a_document_keeps_subscriptions,
            activations_readable_at_once,
            activations_list_and_count_before_and_after_flush,
            activations_list_merges_written_and_queued,
            activations_list_pages_are_bounded_in_bytes,
            activations_same_id_keeps_the_last,
            activations_persist_across_reopen,
            activations_durable_put_resolves_written,
            activations_expire_after_their_retention,
            changes_announced_before_writes_return
        );
    };
    (@each $backing:expr; $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let backing = $backing;
                $crate::conformance::$check(&backing).await;
            }
        )*
    };
}

/// An entity whose doc mirrors its identity, so checks can tell documents apart.
pub fn entity(namespace: &str, name: &str, collection: Collection, updated: i64) -> Entity {
    Entity {
        namespace: namespace.into(),
        name: name.into(),
        collection,
        doc: json!({"namespace": namespace, "name": name, "updated": updated}),
        updated,
        rev: 0,
    }
}

/// An activation record with the id `n` as 32 hex digits.
pub fn activation(namespace: &str, n: u64, filter_name: &str, start: i64) -> ActivationRecord {
    let id = id(n);
    let name = filter_name
        .rsplit('/')
        .next()
        .unwrap_or(filter_name)
        .to_owned();
    ActivationRecord {
        namespace: namespace.into(),
        doc: json!({"namespace": namespace, "name": name, "activationId": id, "start": start})
            .to_string(),
        activation_id: id,
        name,
        filter_name: filter_name.into(),
        start,
    }
}

/// The activation id of record `n`.
pub fn id(n: u64) -> String {
    format!("{n:032x}")
}

/// A query for up to 200 activations of `namespace`.
pub fn query(namespace: &str) -> ActivationQuery {
    ActivationQuery {
        namespace: namespace.into(),
        limit: 200,
        ..ActivationQuery::default()
    }
}

fn ids(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["activationId"].as_str().unwrap().to_owned())
        .collect()
}

fn names(entities: Vec<Entity>) -> Vec<String> {
    entities.into_iter().map(|e| e.name).collect()
}

/// Revisions, uniqueness across collections, conflicts and deletes.
pub async fn entities_create_update_conflict_delete(backing: &dyn Backing) {
    let store = backing.open();
    assert_eq!(store.get_entity("guest", "hello").await.unwrap(), None);

    let mut e = entity("guest", "hello", Collection::Actions, 10);
    assert_eq!(store.put_entity(e.clone(), None).await.unwrap(), 1);
    let got = store.get_entity("guest", "hello").await.unwrap().unwrap();
    assert_eq!(
        (got.rev, got.collection, &got.doc, got.updated),
        (1, Collection::Actions, &e.doc, 10)
    );

    // Names are unique across collections within a namespace path.
    assert_eq!(
        store.put_entity(e.clone(), None).await,
        Err(StoreError::Exists)
    );
    let trigger = entity("guest", "hello", Collection::Triggers, 11);
    assert_eq!(
        store.put_entity(trigger, None).await,
        Err(StoreError::Exists)
    );
    // The same name in a package is a different doc id.
    let packaged = entity("guest/pkg", "hello", Collection::Actions, 12);
    assert_eq!(store.put_entity(packaged, None).await.unwrap(), 1);

    e.doc = json!({"version": "0.0.2"});
    e.updated = 20;
    assert_eq!(store.put_entity(e.clone(), Some(1)).await.unwrap(), 2);
    let got = store.get_entity("guest", "hello").await.unwrap().unwrap();
    assert_eq!(
        (got.rev, got.updated, got.doc),
        (2, 20, json!({"version": "0.0.2"}))
    );
    for stale in [Some(1), Some(u64::MAX)] {
        assert_eq!(
            store.put_entity(e.clone(), stale).await,
            Err(StoreError::Conflict)
        );
    }
    // Updating through another collection is a conflict, not a silent retype.
    let retyped = entity("guest", "hello", Collection::Rules, 30);
    assert_eq!(
        store.put_entity(retyped, Some(2)).await,
        Err(StoreError::Conflict)
    );
    let missing = entity("guest", "nope", Collection::Actions, 30);
    assert_eq!(
        store.put_entity(missing, Some(1)).await,
        Err(StoreError::NotFound)
    );

    assert_eq!(
        store.delete_entity("guest", "hello", Some(1)).await,
        Err(StoreError::Conflict)
    );
    let deleted = store
        .delete_entity("guest", "hello", Some(2))
        .await
        .unwrap();
    assert_eq!((deleted.name.as_str(), deleted.rev), ("hello", 2));
    assert_eq!(deleted.doc, json!({"version": "0.0.2"}));
    assert_eq!(store.get_entity("guest", "hello").await.unwrap(), None);
    for rev in [None, Some(2)] {
        assert_eq!(
            store.delete_entity("guest", "hello", rev).await,
            Err(StoreError::NotFound)
        );
    }
    // Unconditional delete, then re-create starts at rev 1 again.
    store
        .delete_entity("guest/pkg", "hello", None)
        .await
        .unwrap();
    assert_eq!(store.put_entity(e, None).await.unwrap(), 1);
}

/// Lists sort newest first, page literally, and include packaged actions only when asked.
pub async fn entities_list_newest_first_with_paging(backing: &dyn Backing) {
    let store = backing.open();
    for (ns, name, updated) in [
        ("guest", "a", 1),
        ("guest", "b", 3),
        ("guest/pkg", "c", 2),
        ("guest/pkg", "d", 5),
        ("guest", "e", 4),
        // Lookalike namespaces that must never be listed as packaged under "guest".
        ("guest-x", "f", 9),
        ("guestx/pkg", "g", 9),
        ("other/guest", "h", 9),
    ] {
        let e = entity(ns, name, Collection::Actions, updated);
        store.put_entity(e, None).await.unwrap();
    }
    let t = entity("guest", "t", Collection::Triggers, 100);
    store.put_entity(t, None).await.unwrap();

    let list = |ns: &'static str, c: Collection, packaged: bool, skip: u64, limit: u64| {
        let store = Arc::clone(&store);
        async move {
            let page = store.list_entities(ns, c, packaged, skip, limit).await;
            names(page.unwrap())
        }
    };
    let actions = Collection::Actions;
    assert_eq!(list("guest", actions, false, 0, 30).await, ["e", "b", "a"]);
    assert_eq!(
        list("guest", actions, true, 0, 30).await,
        ["d", "e", "b", "c", "a"]
    );
    assert_eq!(list("guest", actions, true, 1, 2).await, ["e", "b"]);
    assert_eq!(list("guest", actions, true, 4, 30).await, ["a"]);
    assert!(list("guest", actions, true, 9, 30).await.is_empty());
    assert!(list("guest", actions, true, 0, 0).await.is_empty());
    assert_eq!(list("guest/pkg", actions, false, 0, 30).await, ["d", "c"]);
    assert_eq!(
        list("guest", Collection::Triggers, true, 0, 30).await,
        ["t"]
    );
    assert!(
        list("guest", Collection::Rules, true, 0, 30)
            .await
            .is_empty()
    );

    for (ns, collection, packaged, n) in [
        ("guest", actions, false, 3),
        ("guest", actions, true, 5),
        ("guest", Collection::Triggers, false, 1),
        ("guest", Collection::Packages, true, 0),
        ("guest-x", actions, true, 1),
    ] {
        let counted = store.count_entities(ns, collection, packaged).await;
        assert_eq!(counted.unwrap(), n, "{ns} {collection} {packaged}");
    }

    // An update moves an entity to the front.
    let mut a = entity("guest", "a", actions, 50);
    a.doc = json!({"touched": true});
    store.put_entity(a, Some(1)).await.unwrap();
    let first = store.list_entities("guest", actions, false, 0, 1).await;
    let first = first.unwrap();
    assert_eq!((first[0].name.as_str(), first[0].rev), ("a", 2));
}

/// A list reads neither an action's code nor parameters (megabytes each, and no list shows
/// them), and a page ends at [`crate::MAX_PAGE_BYTES`] of what it reads.
pub async fn entities_list_without_code_or_parameters_within_a_page_bound(backing: &dyn Backing) {
    let store = backing.open();
    let big = || json!(["z".repeat(12 << 20)]);
    let actions = Collection::Actions;
    for n in 1..=4 {
        let mut e = entity("guest", &format!("a{n}"), actions, n);
        e.doc["exec"] = json!({"kind": "nodejs:20", "code": "x".repeat(1 << 20), "binary": false});
        e.doc["parameters"] = json!([{"key": "p", "value": "y".repeat(1 << 20)}]);
        if n > 2 {
            // 12 MiB of annotations: lists show those.
            e.doc["annotations"] = big();
        }
        store.put_entity(e, None).await.unwrap();
    }
    let page = store.list_entities("guest", actions, false, 0, 30).await;
    let page = page.unwrap();
    assert_eq!(names(page.clone()), ["a4", "a3", "a2", "a1"]);
    for e in &page {
        assert_eq!(e.doc["exec"], json!({"kind": "nodejs:20", "binary": false}));
        assert_eq!(e.doc.get("parameters"), None);
    }
    let mut e = entity("guest", "a5", actions, 5);
    e.doc["annotations"] = big();
    store.put_entity(e, None).await.unwrap();
    let page = store.list_entities("guest", actions, false, 0, 30).await;
    assert_eq!(
        names(page.unwrap()),
        ["a5", "a4"],
        "a third 12 MiB passes 32 MiB"
    );
    let rest = store.list_entities("guest", actions, false, 2, 30).await;
    assert_eq!(names(rest.unwrap()), ["a3", "a2", "a1"]);
}

/// The bytes a namespace's quota counts: its entities' and its packages' documents as
/// stored, but the one a write replaces; never another namespace's.
pub async fn entities_bytes_count_a_namespace_and_its_packages(backing: &dyn Backing) {
    let store = backing.open();
    let sized = |namespace: &str, name: &str, bytes: usize| {
        let mut e = entity(namespace, name, Collection::Actions, 1);
        e.doc = json!({"code": "x".repeat(bytes)});
        e
    };
    // Each document is stored as `{"code":"…"}`: 11 bytes and its code.
    for (namespace, name, bytes) in [
        ("guest", "a", 1000),
        ("guest/pkg", "b", 2000),
        ("guestbook", "c", 4000),
        ("other", "d", 8000),
    ] {
        store
            .put_entity(sized(namespace, name, bytes), None)
            .await
            .unwrap();
    }
    let bytes = |root: &'static str, except: (&'static str, &'static str)| {
        let store = store.clone();
        async move { store.entity_bytes(root, except).await.unwrap() }
    };
    assert_eq!(bytes("guest", ("guest", "new")).await, 3022);
    assert_eq!(bytes("guest", ("guest", "a")).await, 2011, "replacing a");
    assert_eq!(
        bytes("guest", ("guest/pkg", "b")).await,
        1011,
        "replacing b"
    );
    assert_eq!(bytes("guestbook", ("guestbook", "x")).await, 4011);
    assert_eq!(bytes("nobody", ("nobody", "x")).await, 0);
}

/// What a put returned is there after the store is opened again.
pub async fn entities_persist_across_reopen(backing: &dyn Backing) {
    {
        let store = backing.open();
        let e = entity("guest", "keep", Collection::Packages, 7);
        store.put_entity(e, None).await.unwrap();
        let e = entity("guest", "keep", Collection::Packages, 8);
        assert_eq!(store.put_entity(e, Some(1)).await.unwrap(), 2);
    }
    let store = backing.open();
    let got = store.get_entity("guest", "keep").await.unwrap().unwrap();
    assert_eq!(
        (got.rev, got.updated, got.collection),
        (2, 8, Collection::Packages)
    );
}

fn subject(namespace: &str, uuid: &str) -> Subject {
    Subject {
        subject: format!("{namespace}-user"),
        namespace: namespace.into(),
        uuid: uuid.into(),
        key: format!("{uuid}-secret"),
        limits: json!({}),
    }
}

/// Several entity writes are one transaction: all are made and announced, or, when one
/// fails, none is made (not even those before it) and nothing is announced.
pub async fn entities_written_together_or_not_at_all(backing: &dyn Backing) {
    let put = |name: &str, collection, updated, expected_rev| EntityWrite::Put {
        entity: entity("guest", name, collection, updated),
        expected_rev,
    };
    {
        let store = backing.open();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        store.watch(Box::new(move |c| sink.lock().unwrap().push(c.clone())));
        let changed = |name: &str| Change::Entity {
            namespace: "guest".into(),
            name: name.into(),
        };
        let t = entity("guest", "t", Collection::Triggers, 1);
        assert_eq!(store.put_entity(t, None).await.unwrap(), 1);
        seen.lock().unwrap().clear();

        let both = vec![
            put("t", Collection::Triggers, 2, Some(1)),
            put("r", Collection::Rules, 2, None),
        ];
        store.write_entities(both).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![changed("t"), changed("r")]);
        seen.lock().unwrap().clear();

        // The second write fails (t is at revision 2): the first is undone with it.
        let stale = vec![
            put("r", Collection::Rules, 3, Some(1)),
            EntityWrite::Delete {
                namespace: "guest".into(),
                name: "t".into(),
                expected_rev: Some(1),
            },
        ];
        assert_eq!(store.write_entities(stale).await, Err(StoreError::Conflict));
        let taken = vec![
            put("new", Collection::Actions, 4, None),
            put("r", Collection::Rules, 4, None),
        ];
        assert_eq!(store.write_entities(taken).await, Err(StoreError::Exists));
        assert!(
            seen.lock().unwrap().is_empty(),
            "failed writes are not announced"
        );
    }
    let store = backing.open();
    let t = store.get_entity("guest", "t").await.unwrap().unwrap();
    assert_eq!((t.rev, t.updated), (2, 2));
    let r = store.get_entity("guest", "r").await.unwrap().unwrap();
    assert_eq!(
        (r.rev, r.updated),
        (1, 2),
        "the undone update left no trace"
    );
    assert_eq!(store.get_entity("guest", "new").await.unwrap(), None);
}

/// Subjects are upserted by namespace, looked up by uuid or namespace, and a uuid belongs to
/// one namespace.
pub async fn subjects_upsert_and_lookup(backing: &dyn Backing) {
    let rotated = Subject {
        limits: json!({"invocationsPerMinute": 1000}),
        ..subject("guest", "u3")
    };
    {
        let store = backing.open();
        assert_eq!(store.subject_by_uuid("u1").await.unwrap(), None);
        assert_eq!(store.subject_by_namespace("guest").await.unwrap(), None);

        store.put_subject(subject("guest", "u1")).await.unwrap();
        store.put_subject(subject("other", "u2")).await.unwrap();
        let by_uuid = store.subject_by_uuid("u1").await.unwrap().unwrap();
        assert_eq!(by_uuid.namespace, "guest");
        let by_ns = store.subject_by_namespace("other").await.unwrap().unwrap();
        assert_eq!(by_ns.uuid, "u2");

        // Upsert by namespace: new key and limits replace the old ones.
        store.put_subject(rotated.clone()).await.unwrap();
        assert_eq!(store.subject_by_uuid("u1").await.unwrap(), None);
        let got = store.subject_by_uuid("u3").await.unwrap();
        assert_eq!(got, Some(rotated.clone()));

        // A uuid belongs to one namespace only.
        let taken = store.put_subject(subject("third", "u2")).await;
        assert_eq!(taken, Err(StoreError::Exists));
        assert_eq!(store.subject_by_namespace("third").await.unwrap(), None);
    }
    let store = backing.open();
    let got = store.subject_by_namespace("guest").await.unwrap();
    assert_eq!(got, Some(rotated));
}

/// Claims one tick of `trigger` alone.
pub async fn claim(store: &dyn Store, trigger: &str, tick: i64) -> bool {
    let claimed = store.claim_feed_ticks(&[(trigger.into(), tick)]).await;
    claimed.unwrap() == [true]
}

/// Feed schedules survive a restart and each tick is claimed once, in order, also when a
/// round claims many triggers' ticks at once.
pub async fn feeds_claim_each_tick_once(backing: &dyn Backing) {
    let schedule = |trigger: &str| FeedSchedule {
        trigger: trigger.into(),
        namespace: "guest".into(),
        config: json!({"cron": "* * * * * *"}),
        last_fire: None,
    };
    {
        let store = backing.open();
        store.put_feed(schedule("/guest/t")).await.unwrap();
        assert!(claim(&*store, "/guest/t", 1_000).await);
        assert!(
            !claim(&*store, "/guest/t", 1_000).await,
            "the same tick twice"
        );
        assert!(!claim(&*store, "/guest/t", 500).await, "an earlier tick");
        assert!(!claim(&*store, "/guest/missing", 1_000).await);
    }
    let store = backing.open();
    let listed = store.list_feeds().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_fire, Some(1_000), "claims survive a restart");
    assert!(!claim(&*store, "/guest/t", 1_000).await);

    // A round: new ticks, a missing trigger, one already claimed and a trigger listed twice.
    store.put_feed(schedule("/guest/u")).await.unwrap();
    let round = [
        ("/guest/t", 2_000),
        ("/guest/missing", 2_000),
        ("/guest/u", 2_000),
        ("/guest/u", 2_000),
    ]
    .map(|(t, tick)| (t.to_string(), tick));
    let claimed = store.claim_feed_ticks(&round).await.unwrap();
    assert_eq!(claimed, [true, false, true, false]);
    let again = store.claim_feed_ticks(&round[..3]).await.unwrap();
    assert_eq!(again, [false, false, false], "a round claimed twice");
    assert!(store.claim_feed_ticks(&[]).await.unwrap().is_empty());
    assert!(store.delete_feed("/guest/u").await.unwrap().is_some());
    let deleted = store.delete_feed("/guest/t").await.unwrap().unwrap();
    assert_eq!(deleted.config, schedule("/guest/t").config);
    assert!(store.get_feed("/guest/t").await.unwrap().is_none());
    assert!(store.delete_feed("/guest/t").await.unwrap().is_none());
}

fn api(namespace: &str, base_path: &str, title: &str) -> GatewayApi {
    GatewayApi {
        namespace: namespace.into(),
        base_path: base_path.into(),
        doc: json!({"swagger": "2.0", "basePath": base_path, "info": {"title": title}}),
        subscriptions: json!({}),
        updated: 1,
    }
}

/// One gateway document per namespace and base path, sorted by base path, kept across
/// restarts.
pub async fn apis_kept_per_namespace_and_base_path(backing: &dyn Backing) {
    {
        let store = backing.open();
        for (ns, path, title) in [
            ("guest", "/b", "first"),
            ("guest", "/a", "a"),
            ("other", "/b", "theirs"),
            ("guest", "/b", "second"),
        ] {
            store.put_api(api(ns, path, title)).await.unwrap();
        }
    }
    let store = backing.open();
    let listed = store.list_apis("guest").await.unwrap();
    let paths: Vec<&str> = listed.iter().map(|a| a.base_path.as_str()).collect();
    assert_eq!(paths, ["/a", "/b"], "by base path, one per base path");
    assert_eq!(listed[1].doc["info"]["title"], "second", "a put replaces");
    assert_eq!(
        store.api_versions("guest").await.unwrap(),
        [("/a".to_string(), 1), ("/b".to_string(), 2)],
        "a rewrite moves `updated` forward even at the same time"
    );
    let theirs = store.get_api("other", "/b").await.unwrap().unwrap();
    assert_eq!(theirs.doc["info"]["title"], "theirs");
    assert!(store.delete_api("guest", "/b").await.unwrap());
    assert!(
        !store.delete_api("guest", "/b").await.unwrap(),
        "already gone"
    );
    assert!(store.get_api("guest", "/b").await.unwrap().is_none());
    let others = store.list_apis("other").await.unwrap();
    assert_eq!(others.len(), 1, "other namespace untouched");
}

/// A new document keeps the API's subscriptions; a new API starts with its own.
pub async fn apis_replacing_a_document_keeps_subscriptions(backing: &dyn Backing) {
    let store = backing.open();
    let first = GatewayApi {
        subscriptions: json!({"key-1": ""}),
        ..api("guest", "/b", "first")
    };
    store.put_api_with_subscriptions(first).await.unwrap();
    let second = GatewayApi {
        subscriptions: json!({"ignored": ""}),
        ..api("guest", "/b", "second")
    };
    store.put_api(second.clone()).await.unwrap();
    let got = store.get_api("guest", "/b").await.unwrap().unwrap();
    assert_eq!(got.doc["info"]["title"], "second");
    assert_eq!(got.subscriptions, json!({"key-1": ""}));
    store.delete_api("guest", "/b").await.unwrap();
    store.put_api(second).await.unwrap();
    let got = store.get_api("guest", "/b").await.unwrap().unwrap();
    assert_eq!(got.subscriptions, json!({"ignored": ""}));
}

/// An appended record is readable at once, only in its own namespace.
pub async fn activations_readable_at_once(backing: &dyn Backing) {
    let store = backing.open();
    let rec = activation("guest", 1, "hello", 100);
    let doc: Value = serde_json::from_str(&rec.doc).unwrap();
    store.put_activation(rec);
    let got = store.get_activation("guest", &id(1)).await.unwrap();
    assert_eq!(got, Some(doc.clone()));
    assert_eq!(store.get_activation("other", &id(1)).await.unwrap(), None);
    assert_eq!(store.get_activation("guest", &id(2)).await.unwrap(), None);
    store.flush().await;
    let stats = store.writer_stats();
    assert_eq!((stats.pending, stats.failed), (0, 0));
    let got = store.get_activation("guest", &id(1)).await.unwrap();
    assert_eq!(got, Some(doc));
}

/// Ten records over two names and two namespaces; starts 10, 20, ..., with one tie at 50.
fn seed(store: &dyn Store) {
    let starts = [10, 20, 30, 40, 50, 50, 70, 80, 90, 100];
    for (n, start) in (1..).zip(starts) {
        let name = if n % 2 == 0 { "pkg/even" } else { "odd" };
        store.put_activation(activation("guest", n, name, start));
    }
    store.put_activation(activation("other", 99, "odd", 1_000));
}

async fn listed(store: &dyn Store, q: ActivationQuery) -> Vec<String> {
    ids(&store.list_activations(&q).await.unwrap())
}

async fn check_listing(store: &dyn Store) {
    // Newest first; the tie at start 50 is broken by activation id, descending.
    let all = listed(store, query("guest")).await;
    assert_eq!(all, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(id));
    let page = ActivationQuery {
        skip: 2,
        limit: 3,
        ..query("guest")
    };
    assert_eq!(listed(store, page).await, [8, 7, 6].map(id));
    let window = ActivationQuery {
        since: Some(30),
        upto: Some(80),
        ..query("guest")
    };
    assert_eq!(
        listed(store, window.clone()).await,
        [8, 7, 6, 5, 4, 3].map(id)
    );
    assert_eq!(store.count_activations(&window).await.unwrap(), 6);
    let even = ActivationQuery {
        name: Some("pkg/even".into()),
        ..query("guest")
    };
    assert_eq!(listed(store, even.clone()).await, [10, 8, 6, 4, 2].map(id));
    assert_eq!(store.count_activations(&even).await.unwrap(), 5);
    // The filter matches the whole filter name, not the simple name.
    let simple = ActivationQuery {
        name: Some("even".into()),
        ..query("guest")
    };
    assert!(listed(store, simple).await.is_empty());
    let odd_late = ActivationQuery {
        name: Some("odd".into()),
        since: Some(50),
        skip: 1,
        limit: 1,
        ..query("guest")
    };
    assert_eq!(listed(store, odd_late.clone()).await, [7].map(id));
    assert_eq!(store.count_activations(&odd_late).await.unwrap(), 3);
    for (ns, n) in [("guest", 10), ("other", 1), ("nobody", 0)] {
        assert_eq!(store.count_activations(&query(ns)).await.unwrap(), n);
    }
    let none = ActivationQuery {
        limit: 0,
        ..query("guest")
    };
    assert!(listed(store, none).await.is_empty());
    let past_end = ActivationQuery {
        skip: 10,
        ..query("guest")
    };
    assert!(listed(store, past_end).await.is_empty());
}

/// Whatever has or has not been written yet, lists and counts answer the same.
pub async fn activations_list_and_count_before_and_after_flush(backing: &dyn Backing) {
    let store = backing.open();
    seed(&*store);
    check_listing(&*store).await;
    store.flush().await;
    assert_eq!(store.writer_stats().pending, 0);
    check_listing(&*store).await;
}

/// Records still queued interleave with written ones by start.
pub async fn activations_list_merges_written_and_queued(backing: &dyn Backing) {
    let store = backing.open();
    seed(&*store);
    store.flush().await;
    store.put_activation(activation("guest", 11, "odd", 55));
    store.put_activation(activation("guest", 12, "pkg/even", 200));
    let all = listed(&*store, query("guest")).await;
    assert_eq!(all, [12, 10, 9, 8, 7, 11, 6, 5, 4, 3, 2, 1].map(id));
    let page = ActivationQuery {
        skip: 4,
        limit: 3,
        ..query("guest")
    };
    assert_eq!(listed(&*store, page).await, [7, 11, 6].map(id));
    assert_eq!(store.count_activations(&query("guest")).await.unwrap(), 12);
    store.flush().await;
    assert_eq!(listed(&*store, query("guest")).await, all);
    assert_eq!(store.count_activations(&query("guest")).await.unwrap(), 12);
}

/// A list page holds at most [`crate::MAX_PAGE_BYTES`] of records (whole records with
/// megabytes of logs end a page early), and summaries carry neither logs nor result,
/// whether the records are still queued or written.
pub async fn activations_list_pages_are_bounded_in_bytes(backing: &dyn Backing) {
    let store = backing.open();
    for n in 1..=4 {
        let doc = json!({
            "namespace": "guest", "name": "a", "activationId": id(n), "start": n,
            "logs": vec!["x".repeat(1 << 20); 12],
            "response": {"status": "success", "success": true, "result": {"r": "y"}},
        });
        store.put_activation(ActivationRecord {
            doc: doc.to_string(),
            ..activation("guest", n, "a", n as i64)
        });
    }
    for _ in ["queued or written", "written"] {
        let whole = ActivationQuery {
            docs: true,
            ..query("guest")
        };
        let page = store.list_activations(&whole).await.unwrap();
        assert_eq!(
            ids(&page),
            [4, 3].map(id),
            "12 MiB each: a third passes 32 MiB"
        );
        assert!(
            page.iter()
                .all(|d| d["logs"].as_array().unwrap().len() == 12)
        );
        let summaries = store.list_activations(&query("guest")).await.unwrap();
        assert_eq!(ids(&summaries), [4, 3, 2, 1].map(id));
        for s in &summaries {
            assert_eq!(s.get("logs"), None);
            assert_eq!(s["response"], json!({"status": "success", "success": true}));
        }
        store.flush().await;
    }
}

/// A second record with the same id replaces the first, queued or written.
pub async fn activations_same_id_keeps_the_last(backing: &dyn Backing) {
    let store = backing.open();
    for v in [1, 2] {
        let rec = ActivationRecord {
            doc: json!({"v": v}).to_string(),
            ..activation("guest", 1, "a", 1)
        };
        store.put_activation(rec);
    }
    for _ in 0..2 {
        let got = store.get_activation("guest", &id(1)).await.unwrap();
        assert_eq!(got, Some(json!({"v": 2})));
        assert_eq!(store.count_activations(&query("guest")).await.unwrap(), 1);
        store.flush().await;
    }
}

/// Everything appended before the last handle was dropped is there after a restart.
pub async fn activations_persist_across_reopen(backing: &dyn Backing) {
    {
        let store = backing.open();
        seed(&*store);
    }
    let store = backing.open();
    check_listing(&*store).await;
}

/// A durable append resolves `Ok` and the record is then written.
pub async fn activations_durable_put_resolves_written(backing: &dyn Backing) {
    {
        let store = backing.open();
        let rec = activation("guest", 7, "durable", 70);
        store.put_activation_durable(rec, false).await.unwrap();
        assert!(store.health().is_ok());
    }
    let store = backing.open();
    let got = store
        .get_activation("guest", &id(7))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["start"], 70);
    assert_eq!(store.recovered(), 0, "nothing was left unfinished");
}

/// Upkeep removes the records older than the system's retention and than a namespace's own
/// shorter one, and nothing else: not newer records, not those of a namespace whose own
/// retention is not a number of days, and nothing at all without a retention.
pub async fn activations_expire_after_their_retention(backing: &dyn Backing) {
    let store = backing.open();
    let now = 1_796_558_400_000; // 2026-12-06T12:00:00Z
    let hour = DAY_MS / 24;
    for (namespace, uuid, own) in [("brief", "u1", json!(2)), ("odd", "u2", json!("two"))] {
        let limits = json!({ RETENTION_LIMIT: own });
        let s = Subject {
            limits,
            ..subject(namespace, uuid)
        };
        store.put_subject(s).await.unwrap();
    }
    // The log laid out for those days, as the hourly upkeep would have done then.
    for then in [now - 20 * DAY_MS, now - 9 * DAY_MS, now] {
        assert_eq!(store.expire_activations(None, then).await.unwrap(), 0);
    }
    let records = [
        ("guest", 1, now - 20 * DAY_MS),
        ("guest", 2, now - 11 * DAY_MS - hour),
        ("guest", 3, now - 9 * DAY_MS),
        ("guest", 4, now - hour),
        ("brief", 5, now - 3 * DAY_MS),
        ("brief", 6, now - DAY_MS + hour),
        ("odd", 7, now - 9 * DAY_MS),
    ];
    for (namespace, n, start) in records {
        store.put_activation(activation(namespace, n, "a", start));
    }
    store.flush().await;
    let kept =
        async |namespace: &str| ids(&store.list_activations(&query(namespace)).await.unwrap());

    assert_eq!(store.expire_activations(None, now).await.unwrap(), 1);
    assert_eq!(
        kept("brief").await,
        vec![id(6)],
        "the namespace's own retention"
    );
    assert_eq!(kept("guest").await.len(), 4, "no system retention");

    assert_eq!(store.expire_activations(Some(10), now).await.unwrap(), 2);
    assert_eq!(kept("guest").await, vec![id(4), id(3)]);
    assert_eq!(kept("odd").await, vec![id(7)]);
    assert_eq!(store.get_activation("guest", &id(1)).await.unwrap(), None);
    assert_eq!(store.count_activations(&query("guest")).await.unwrap(), 2);
    assert_eq!(store.expire_activations(Some(10), now).await.unwrap(), 0);
}

/// Each entity, subject, feed schedule and API write is announced before it returns; failed
/// writes, claimed ticks and activations are not.
pub async fn changes_announced_before_writes_return(backing: &dyn Backing) {
    let store = backing.open();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    store.watch(Box::new(move |c| sink.lock().unwrap().push(c.clone())));
    let take = || std::mem::take(&mut *seen.lock().unwrap());
    let entity_change = |namespace: &str, name: &str| Change::Entity {
        namespace: namespace.into(),
        name: name.into(),
    };

    let e = entity("guest/pkg", "a", Collection::Actions, 1);
    store.put_entity(e.clone(), None).await.unwrap();
    assert_eq!(take(), [entity_change("guest/pkg", "a")]);
    assert_eq!(store.put_entity(e, None).await, Err(StoreError::Exists));
    assert_eq!(take(), []);
    store.delete_entity("guest/pkg", "a", None).await.unwrap();
    assert_eq!(take(), [entity_change("guest/pkg", "a")]);

    store.put_subject(subject("guest", "u1")).await.unwrap();
    let guest = || "guest".to_string();
    assert_eq!(take(), [Change::Subject { namespace: guest() }]);
    store.put_api(api("guest", "/x", "x")).await.unwrap();
    store.delete_api("guest", "/x").await.unwrap();
    let api_change = Change::Api { namespace: guest() };
    assert_eq!(take(), [api_change.clone(), api_change]);

    let feed = FeedSchedule {
        trigger: "/guest/t".into(),
        namespace: guest(),
        config: json!({}),
        last_fire: None,
    };
    store.put_feed(feed).await.unwrap();
    let feed_change = Change::Feed {
        trigger: "/guest/t".into(),
    };
    assert_eq!(take(), std::slice::from_ref(&feed_change));
    assert!(claim(&*store, "/guest/t", 1_000).await);
    store.put_activation(activation("guest", 1, "a", 1));
    store.flush().await;
    assert_eq!(take(), []);
    store.delete_feed("/guest/t").await.unwrap();
    assert_eq!(take(), [feed_change]);
}
