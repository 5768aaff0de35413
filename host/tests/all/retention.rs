//! How long the activation log keeps records, through the real binary: the system's
//! retention from its config and a namespace's own shorter one from `shoal namespace
//! set-limits`, applied by the upkeep that runs when shoal starts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shoal_store::conformance::{activation, id};
use shoal_store::{ActivationLog, DAY_MS, SqliteStore};

use crate::support::{Shoal, namespace_create, request, set_limits};

#[test]
fn records_past_the_system_or_their_namespace_retention_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let brief = namespace_create(dir.path(), "brief");
    set_limits(dir.path(), "brief", &["--activation-retention-days", "2"]);
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let hour = DAY_MS / 24;
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        for (namespace, n, start) in [
            ("guest", 1, now - 10 * DAY_MS),
            ("guest", 2, now - 3 * DAY_MS),
            ("brief", 3, now - 3 * DAY_MS),
            ("brief", 4, now - hour),
        ] {
            store.put_activation(activation(namespace, n, "a", start));
        }
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(store.flush());
    }
    let shoal = Shoal::serve_with(dir.path(), "[activations]\nretention_days = 5\n");
    let status = |auth: &str, namespace: &str, n: u64| {
        let path = format!("/api/v1/namespaces/{namespace}/activations/{}", id(n));
        request(&shoal.addr, "GET", &path, Some(auth), None).status
    };
    // The upkeep runs once shoal has started; a minute bounds a hang, not a timing guess.
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(crate::support::GUEST_AUTH, "guest", 1) != 404 {
        assert!(
            Instant::now() < deadline,
            "the 10-day-old record was never removed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status(crate::support::GUEST_AUTH, "guest", 2), 200);
    assert_eq!(
        status(&brief, "brief", 3),
        404,
        "older than brief's own 2 days"
    );
    assert_eq!(status(&brief, "brief", 4), 200);
    shoal.stop();
}
