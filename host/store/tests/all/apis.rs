//! Gateway APIs: one document per namespace and base path, kept across restarts.

use serde_json::json;
use shoal_store::{GatewayApi, Store};

fn api(namespace: &str, base_path: &str, title: &str) -> GatewayApi {
    GatewayApi {
        namespace: namespace.into(),
        base_path: base_path.into(),
        doc: json!({"swagger": "2.0", "basePath": base_path, "info": {"title": title}}),
        subscriptions: json!({}),
        updated: 1,
    }
}

#[test]
fn apis_are_kept_per_namespace_and_base_path_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.put_api(&api("guest", "/b", "first")).unwrap();
        store.put_api(&api("guest", "/a", "a")).unwrap();
        store.put_api(&api("other", "/b", "theirs")).unwrap();
        store.put_api(&api("guest", "/b", "second")).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let listed = store.list_apis("guest").unwrap();
    let paths: Vec<&str> = listed.iter().map(|a| a.base_path.as_str()).collect();
    assert_eq!(
        paths,
        ["/a", "/b"],
        "sorted by base path, one per base path"
    );
    assert_eq!(listed[1].doc["info"]["title"], "second", "a put replaces");
    assert_eq!(
        store.api_versions("guest").unwrap(),
        [("/a".to_string(), 1), ("/b".to_string(), 2)],
        "a rewrite moves `updated` forward even at the same time"
    );
    assert_eq!(
        store.get_api("other", "/b").unwrap().unwrap().doc["info"]["title"],
        "theirs"
    );
    assert!(store.delete_api("guest", "/b").unwrap());
    assert!(!store.delete_api("guest", "/b").unwrap(), "already gone");
    assert!(store.get_api("guest", "/b").unwrap().is_none());
    assert_eq!(
        store.list_apis("other").unwrap().len(),
        1,
        "other namespace untouched"
    );
}

#[test]
fn replacing_a_document_keeps_its_subscriptions() {
    let store = Store::open_in_memory().unwrap();
    let mut first = api("guest", "/b", "first");
    first.subscriptions = json!({"key-1": ""});
    store.put_api_with_subscriptions(&first).unwrap();
    let mut second = api("guest", "/b", "second");
    second.subscriptions = json!({"ignored": ""});
    store.put_api(&second).unwrap();
    let got = store.get_api("guest", "/b").unwrap().unwrap();
    assert_eq!(got.doc["info"]["title"], "second");
    assert_eq!(
        got.subscriptions,
        json!({"key-1": ""}),
        "subscriptions survive a new document"
    );
    store.delete_api("guest", "/b").unwrap();
    store.put_api(&second).unwrap();
    assert_eq!(
        store.get_api("guest", "/b").unwrap().unwrap().subscriptions,
        json!({"ignored": ""}),
        "a new API starts with the subscriptions it is written with"
    );
}
