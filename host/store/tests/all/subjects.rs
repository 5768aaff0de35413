use serde_json::json;
use shoal_store::{Store, StoreError, Subject};

fn subject(ns: &str, uuid: &str) -> Subject {
    Subject {
        subject: format!("{ns}-user"),
        namespace: ns.into(),
        uuid: uuid.into(),
        key: format!("{uuid}-secret"),
        limits: json!({}),
    }
}

#[test]
fn subjects_upsert_and_lookup() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.subject_by_uuid("u1").unwrap(), None);
        assert_eq!(store.subject_by_namespace("guest").unwrap(), None);

        store.put_subject(&subject("guest", "u1")).unwrap();
        store.put_subject(&subject("other", "u2")).unwrap();
        assert_eq!(
            store.subject_by_uuid("u1").unwrap().unwrap().namespace,
            "guest"
        );
        assert_eq!(
            store.subject_by_namespace("other").unwrap().unwrap().uuid,
            "u2"
        );

        // Upsert by namespace: new key and limits replace the old ones.
        let mut rotated = subject("guest", "u3");
        rotated.limits = json!({"invocationsPerMinute": 1000});
        store.put_subject(&rotated).unwrap();
        assert_eq!(store.subject_by_uuid("u1").unwrap(), None);
        assert_eq!(store.subject_by_uuid("u3").unwrap().unwrap(), rotated);

        // A uuid belongs to one namespace only.
        assert_eq!(
            store.put_subject(&subject("third", "u2")),
            Err(StoreError::Exists)
        );
        assert_eq!(store.subject_by_namespace("third").unwrap(), None);
    }
    let store = Store::open(dir.path()).unwrap();
    let got = store.subject_by_namespace("guest").unwrap().unwrap();
    assert_eq!(got.limits, json!({"invocationsPerMinute": 1000}));
    assert_eq!(got.key, "u3-secret");
}
