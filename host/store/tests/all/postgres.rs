//! The conformance suite against the PostgreSQL backend on a real, private PostgreSQL server
//! (one per test), and what only a store shared by several nodes promises: changes reach the
//! other nodes, a feed tick is claimed once among them, records are readable from each, and
//! the accepted activations of a node that is gone end with their stand-ins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_store::conformance::{self, Backing};
use shoal_store::pg_server::PgServer;
use shoal_store::{
    ActivationLog, Change, Changes, Collection, Entities, FeedSchedule, Feeds, PostgresStore, Store,
};

/// A private server with an empty database, stopped when the check ends.
pub struct Database(PgServer);

impl Database {
    fn new() -> Database {
        let server = PgServer::start();
        server.create_database("shoal");
        Database(server)
    }

    async fn node(&self) -> PostgresStore {
        PostgresStore::connect(&self.0.url("shoal")).await.unwrap()
    }
}

impl Backing for Database {
    fn open(&self) -> Arc<dyn Store> {
        let url = self.0.url("shoal");
        let connected = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(PostgresStore::connect(&url))
        });
        Arc::new(connected.unwrap())
    }
}

shoal_store::conformance_suite!(crate::postgres::Database::new());

/// Waits (up to a minute: a bound on a hang, not a timing expectation) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_reaches_the_listeners_of_the_others() {
    let db = Database::new();
    let (a, b) = (db.node().await, db.node().await);
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&heard);
    b.watch(Box::new(move |change| {
        sink.lock().unwrap().push(change.clone())
    }));
    let e = conformance::entity("guest", "shared", Collection::Actions, 1);
    a.put_entity(e, None).await.unwrap();
    let wanted = Change::Entity {
        namespace: "guest".into(),
        name: "shared".into(),
    };
    eventually("node b hears node a's write", || {
        heard.lock().unwrap().contains(&wanted)
    })
    .await;
    assert_eq!(
        b.get_entity("guest", "shared").await.unwrap().unwrap().rev,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_tick_is_claimed_by_one_node_only() {
    let db = Database::new();
    let nodes = [db.node().await, db.node().await, db.node().await];
    let feed = FeedSchedule {
        trigger: "/guest/t".into(),
        namespace: "guest".into(),
        config: serde_json::json!({}),
        last_fire: None,
    };
    nodes[0].put_feed(feed).await.unwrap();
    for tick in [1_000, 2_000, 3_000] {
        let round = [("/guest/t".to_string(), tick)];
        let claims = nodes.iter().map(|n| n.claim_feed_ticks(&round));
        let claimed = futures_util::future::join_all(claims).await;
        let won = claimed
            .into_iter()
            .filter(|c| c.as_ref().unwrap()[0])
            .count();
        assert_eq!(won, 1, "tick {tick} claimed {won} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_on_one_node_is_read_on_another() {
    let db = Database::new();
    let (a, b) = (db.node().await, db.node().await);
    let rec = conformance::activation("guest", 7, "hello", 1_000);
    a.put_activation_durable(rec, false).await.unwrap();
    let read = b
        .get_activation("guest", &conformance::id(7))
        .await
        .unwrap();
    assert_eq!(read.unwrap()["activationId"], conformance::id(7));
    let listed = b
        .list_activations(&conformance::query("guest"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_with_accepted_activations_has_them_ended_by_the_next() {
    let db = Database::new();
    let a = db.node().await;
    let stand_in = conformance::activation("guest", 9, "slow", 2_000);
    a.accept_activation(stand_in).await.unwrap();
    // Not readable while accepted: its node runs it.
    assert!(
        a.get_activation("guest", &conformance::id(9))
            .await
            .unwrap()
            .is_none()
    );
    drop(a);
    let b = db.node().await;
    assert_eq!(b.recovered(), 1);
    let ended = b
        .get_activation("guest", &conformance::id(9))
        .await
        .unwrap();
    assert_eq!(ended.unwrap()["name"], "slow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accepted_activations_of_a_node_whose_lease_ran_out_are_ended_once() {
    let db = Database::new();
    let a = db.node().await;
    let stand_in = conformance::activation("guest", 11, "stuck", 3_000);
    a.accept_activation(stand_in).await.unwrap();
    // A node that died without a word: its heartbeat is older than the lease. (The live
    // node `a` would renew its own, so the accepted row is handed to a node that never ran.)
    let (client, connection) = tokio_postgres::connect(&db.0.url("shoal"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "INSERT INTO nodes (id, heartbeat) VALUES ('dead', now() - interval '1 hour');
             UPDATE accepted SET node = 'dead';",
        )
        .await
        .unwrap();
    let (b, c) = (db.node().await, db.node().await);
    let ended_by = a.recovered() + b.recovered() + c.recovered();
    assert_eq!(ended_by, 1, "ended once, by one node");
    for node in [&a, &b, &c] {
        let ended = node
            .get_activation("guest", &conformance::id(11))
            .await
            .unwrap();
        assert_eq!(ended.unwrap()["name"], "stuck");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_count_each_other_while_their_heartbeats_last() {
    let db = Database::new();
    let a = db.node().await;
    assert_eq!(a.sharing(), 1);
    let b = db.node().await;
    assert_eq!(b.sharing(), 2, "counted when it joins");
    eventually("node a counts node b", || a.sharing() == 2).await;
    drop(b);
    eventually("node a stops counting node b", || a.sharing() == 1).await;
}

/// The partition (table) that holds record `n` of `guest`.
async fn partition_of(client: &tokio_postgres::Client, n: u64) -> String {
    let row = client
        .query_one(
            "SELECT tableoid::regclass::text FROM activations WHERE activation_id = $1",
            &[&conformance::id(n)],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activation_log_is_partitioned_by_day_and_drops_whole_days() {
    let db = Database::new();
    let (a, b) = (db.node().await, db.node().await);
    let (client, connection) = tokio_postgres::connect(&db.0.url("shoal"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let noon = 1_768_046_400_000; // 2026-01-10T12:00:00Z
    a.put_activation(conformance::activation("guest", 1, "a", noon));
    a.flush().await;
    assert_eq!(partition_of(&client, 1).await, "activations_default");

    // Two nodes' runs the day before at once: one lays out the next days, the other finds
    // it done or skips.
    let day_before = noon - 86_400_000;
    let (ra, rb) = tokio::join!(
        a.expire_activations(None, day_before),
        b.expire_activations(None, day_before)
    );
    assert_eq!((ra.unwrap(), rb.unwrap()), (0, 0));
    assert_eq!(
        partition_of(&client, 1).await,
        "activations_20260110",
        "moved out of the default partition into its day's"
    );
    a.put_activation(conformance::activation("guest", 2, "a", noon + 86_400_000));
    a.flush().await;
    assert_eq!(partition_of(&client, 2).await, "activations_20260111");

    // Three days later with a two-day retention (which began on the 11th at noon), the
    // 10th's partition goes whole; the 11th's is kept until the day has ended before it.
    let removed = a
        .expire_activations(Some(2), noon + 3 * 86_400_000)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let gone = client
        .query_one(
            "SELECT to_regclass('activations_20260110') IS NULL, to_regclass('activations_20260111') IS NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (gone.get::<_, bool>(0), gone.get::<_, bool>(1)),
        (true, false)
    );
    assert_eq!(
        b.get_activation("guest", &conformance::id(1))
            .await
            .unwrap(),
        None
    );
    assert!(
        b.get_activation("guest", &conformance::id(2))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reach_a_postgres_that_requires_tls_over_verified_tls() {
    let server = PgServer::start();
    server.create_database("shoal");
    let ca = server.require_tls();
    let url = server.url("shoal");
    // The server refuses plaintext now, and TLS without trusting its CA fails verification.
    let plain = PostgresStore::connect(&url).await.unwrap_err().to_string();
    assert!(plain.contains("no encryption"), "{plain}");
    let required = format!("{url}?sslmode=require");
    let untrusted = PostgresStore::connect(&required).await.unwrap_err();
    assert!(
        untrusted.to_string().contains("UnknownIssuer"),
        "{untrusted}"
    );
    // Trusting it, every connection of a node works: its pool (entities), its activation
    // writer and its change stream (another node's write reaches it).
    let trusted = format!("{required}&sslrootcert={}", ca.display());
    let (a, b) = (
        PostgresStore::connect(&trusted).await.unwrap(),
        PostgresStore::connect(&trusted).await.unwrap(),
    );
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&heard);
    a.watch(Box::new(move |c| sink.lock().unwrap().push(c.clone())));
    let e = conformance::entity("guest", "over-tls", Collection::Actions, 1);
    b.put_entity(e, None).await.unwrap();
    eventually("node a hears node b's write", || {
        !heard.lock().unwrap().is_empty()
    })
    .await;
    let rec = conformance::activation("guest", 5, "tls", 5_000);
    a.put_activation_durable(rec, false).await.unwrap();
    let read = b
        .get_activation("guest", &conformance::id(5))
        .await
        .unwrap();
    assert_eq!(read.unwrap()["name"], "tls");
}
