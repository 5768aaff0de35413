use serde_json::json;
use shoal_store::{Collection, Store, StoreError};

use crate::entity;

#[test]
fn create_exists_update_conflict_delete() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.get_entity("guest", "hello").unwrap(), None);

    let mut e = entity("guest", "hello", Collection::Actions, 10);
    assert_eq!(store.put_entity(&e, None).unwrap(), 1);
    let got = store.get_entity("guest", "hello").unwrap().unwrap();
    assert_eq!(got.rev, 1);
    assert_eq!(got.collection, Collection::Actions);
    assert_eq!(got.doc, e.doc);
    assert_eq!(got.updated, 10);

    // Names are unique across collections within a namespace path.
    assert_eq!(store.put_entity(&e, None), Err(StoreError::Exists));
    let trigger = entity("guest", "hello", Collection::Triggers, 11);
    assert_eq!(store.put_entity(&trigger, None), Err(StoreError::Exists));
    // The same name in a package is a different doc id.
    let packaged = entity("guest/pkg", "hello", Collection::Actions, 12);
    assert_eq!(store.put_entity(&packaged, None).unwrap(), 1);

    e.doc = json!({"version": "0.0.2"});
    e.updated = 20;
    assert_eq!(store.put_entity(&e, Some(1)).unwrap(), 2);
    let got = store.get_entity("guest", "hello").unwrap().unwrap();
    assert_eq!(
        (got.rev, got.updated, got.doc),
        (2, 20, json!({"version": "0.0.2"}))
    );

    assert_eq!(store.put_entity(&e, Some(1)), Err(StoreError::Conflict));
    assert_eq!(
        store.put_entity(&e, Some(u64::MAX)),
        Err(StoreError::Conflict)
    );
    // Updating through another collection is a conflict, not a silent retype.
    let retyped = entity("guest", "hello", Collection::Rules, 30);
    assert_eq!(
        store.put_entity(&retyped, Some(2)),
        Err(StoreError::Conflict)
    );
    let missing = entity("guest", "nope", Collection::Actions, 30);
    assert_eq!(
        store.put_entity(&missing, Some(1)),
        Err(StoreError::NotFound)
    );

    assert_eq!(
        store.delete_entity("guest", "hello", Some(1)),
        Err(StoreError::Conflict)
    );
    let deleted = store.delete_entity("guest", "hello", Some(2)).unwrap();
    assert_eq!((deleted.name.as_str(), deleted.rev), ("hello", 2));
    assert_eq!(deleted.doc, json!({"version": "0.0.2"}));
    assert_eq!(store.get_entity("guest", "hello").unwrap(), None);
    assert_eq!(
        store.delete_entity("guest", "hello", None),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete_entity("guest", "hello", Some(2)),
        Err(StoreError::NotFound)
    );

    // Unconditional delete, then re-create starts at rev 1 again.
    store.delete_entity("guest/pkg", "hello", None).unwrap();
    assert_eq!(store.put_entity(&e, None).unwrap(), 1);
}

#[test]
fn list_newest_first_with_paging_and_packaged() {
    let store = Store::open_in_memory().unwrap();
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
        store
            .put_entity(&entity(ns, name, Collection::Actions, updated), None)
            .unwrap();
    }
    store
        .put_entity(&entity("guest", "t", Collection::Triggers, 100), None)
        .unwrap();

    let names = |v: Vec<shoal_store::Entity>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    let direct = store
        .list_entities("guest", Collection::Actions, false, 0, 30)
        .unwrap();
    assert_eq!(names(direct), ["e", "b", "a"]);
    let all = store
        .list_entities("guest", Collection::Actions, true, 0, 30)
        .unwrap();
    assert_eq!(names(all), ["d", "e", "b", "c", "a"]);
    let page = store
        .list_entities("guest", Collection::Actions, true, 1, 2)
        .unwrap();
    assert_eq!(names(page), ["e", "b"]);
    let tail = store
        .list_entities("guest", Collection::Actions, true, 4, 30)
        .unwrap();
    assert_eq!(names(tail), ["a"]);
    assert!(
        store
            .list_entities("guest", Collection::Actions, true, 9, 30)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_entities("guest", Collection::Actions, true, 0, 0)
            .unwrap()
            .is_empty()
    );
    let pkg = store
        .list_entities("guest/pkg", Collection::Actions, false, 0, 30)
        .unwrap();
    assert_eq!(names(pkg), ["d", "c"]);
    let triggers = store
        .list_entities("guest", Collection::Triggers, true, 0, 30)
        .unwrap();
    assert_eq!(names(triggers), ["t"]);
    assert!(
        store
            .list_entities("guest", Collection::Rules, true, 0, 30)
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        store
            .count_entities("guest", Collection::Actions, false)
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .count_entities("guest", Collection::Actions, true)
            .unwrap(),
        5
    );
    assert_eq!(
        store
            .count_entities("guest", Collection::Triggers, false)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_entities("guest", Collection::Packages, true)
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .count_entities("guest-x", Collection::Actions, true)
            .unwrap(),
        1
    );

    // An update moves an entity to the front.
    let mut a = entity("guest", "a", Collection::Actions, 50);
    a.doc = json!({"touched": true});
    store.put_entity(&a, Some(1)).unwrap();
    let direct = store
        .list_entities("guest", Collection::Actions, false, 0, 1)
        .unwrap();
    assert_eq!(direct[0].name, "a");
    assert_eq!(direct[0].rev, 2);
}

#[test]
fn entities_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .put_entity(&entity("guest", "keep", Collection::Packages, 7), None)
            .unwrap();
        let e = entity("guest", "keep", Collection::Packages, 8);
        assert_eq!(store.put_entity(&e, Some(1)).unwrap(), 2);
    }
    assert!(dir.path().join(shoal_store::DB_FILE).exists());
    let store = Store::open(dir.path()).unwrap();
    let got = store.get_entity("guest", "keep").unwrap().unwrap();
    assert_eq!(
        (got.rev, got.updated, got.collection),
        (2, 8, Collection::Packages)
    );
}

#[test]
fn open_creates_nested_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    let store = Store::open(&nested).unwrap();
    store
        .put_entity(&entity("guest", "x", Collection::Rules, 1), None)
        .unwrap();
    assert!(nested.join(shoal_store::DB_FILE).exists());
}

#[test]
fn open_fails_cleanly_on_a_file_in_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(Store::open(&file), Err(StoreError::Io(_))));
}
