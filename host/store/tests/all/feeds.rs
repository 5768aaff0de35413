//! Feed schedules: persisted, and each tick claimed once.

use shoal_store::FeedSchedule;

#[test]
fn feed_schedules_persist_and_each_tick_is_claimed_once() {
    let dir = tempfile::tempdir().unwrap();
    let schedule = FeedSchedule {
        trigger: "/guest/t".into(),
        namespace: "guest".into(),
        config: serde_json::json!({"cron": "* * * * * *"}),
        last_fire: None,
    };
    {
        let store = shoal_store::Store::open(dir.path()).unwrap();
        store.put_feed(&schedule).unwrap();
        assert!(store.claim_feed_tick("/guest/t", 1_000).unwrap());
        assert!(
            !store.claim_feed_tick("/guest/t", 1_000).unwrap(),
            "same tick twice"
        );
        assert!(
            !store.claim_feed_tick("/guest/t", 500).unwrap(),
            "an earlier tick"
        );
        assert!(!store.claim_feed_tick("/guest/missing", 1_000).unwrap());
    }
    let store = shoal_store::Store::open(dir.path()).unwrap();
    let listed = store.list_feeds().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_fire, Some(1_000), "claims survive a restart");
    assert!(!store.claim_feed_tick("/guest/t", 1_000).unwrap());
    assert!(store.claim_feed_tick("/guest/t", 2_000).unwrap());
    assert_eq!(
        store.delete_feed("/guest/t").unwrap().unwrap().config,
        schedule.config
    );
    assert!(store.get_feed("/guest/t").unwrap().is_none());
    assert!(store.delete_feed("/guest/t").unwrap().is_none());
}
