//! The activation log's cost per record, on SQLite and on PostgreSQL: a burst of
//! web-activation-sized records put as fast as one thread can, then flushed. Prints the
//! records per second and the CPU time per record of the producer (`put_activation`) and of
//! the whole process (the writers' journal writes and commits included), for PostgreSQL also the server's
//! CPU per record (its processes' time, from `/proc`), p50 and p99 of `put_activation`
//! itself, and for SQLite the database's size. PostgreSQL runs as a private server this bench
//! starts (`shoal_store::pg_server`; Debian's `postgresql` package). Not a criterion bench:
//! the figure is a throughput, measured over bursts.

use std::time::{Duration, Instant};

use shoal_benches::sample::p50_p99;
use shoal_store::pg_server::PgServer;
use shoal_store::{ActivationLog, ActivationRecord, PostgresStore, SqliteStore, Store};

/// Records per burst, and bursts (each in a fresh store).
const RECORDS: usize = 100_000;
const BURSTS: usize = 3;

/// CPU time of this process (`who = RUSAGE_SELF`) or of the calling thread (`RUSAGE_THREAD`).
fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: getrusage writes one `rusage` into the zeroed value we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A record the size and shape of a warm web activation's.
fn record(i: usize, start: i64) -> ActivationRecord {
    let id = format!("{:012x}{:020x}", start, i);
    let doc = serde_json::json!({
        "namespace": "guest", "name": "hello", "subject": "guest", "activationId": id,
        "start": start, "end": start, "duration": 0,
        "response": {"status": "success", "statusCode": 0, "success": true,
            "result": {"headers": {"content-type": "text/plain"}, "body": "Hello, World!"}},
        "logs": [], "version": "0.0.1", "publish": false,
        "annotations": [
            {"key": "limits", "value": {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1}},
            {"key": "path", "value": "guest/hello"}, {"key": "kind", "value": "nodejs:20"},
            {"key": "timeout", "value": false}, {"key": "waitTime", "value": 0}]
    })
    .to_string();
    ActivationRecord {
        namespace: "guest".into(),
        activation_id: id,
        name: "hello".into(),
        filter_name: "hello".into(),
        start,
        doc,
    }
}

/// CPU time of every `postgres` process on this machine (the bench's private server).
fn postgres_cpu() -> Duration {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        if !comm.ends_with("(postgres") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after `) `.
        let time = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total += time(11) + time(12);
    }
    Duration::from_micros(total * 1_000_000 / ticks)
}

/// One burst into `store`: prints its figures under `label`; `server` is the CPU time of the
/// database server, if any, so far.
fn burst(
    label: &str,
    store: &dyn Store,
    runtime: &tokio::runtime::Runtime,
    start: i64,
    server: impl Fn() -> Duration,
) -> String {
    let records: Vec<_> = (0..RECORDS)
        .map(|i| record(i, start + i as i64 / 20))
        .collect();
    let (cpu0, thread0, server0, began) = (
        cpu(libc::RUSAGE_SELF),
        cpu(libc::RUSAGE_THREAD),
        server(),
        Instant::now(),
    );
    let mut puts = Vec::with_capacity(RECORDS);
    for r in records {
        let t = Instant::now();
        store.put_activation(r);
        puts.push(t.elapsed());
    }
    let producer = cpu(libc::RUSAGE_THREAD) - thread0;
    runtime.block_on(store.flush());
    let (wall, total) = (began.elapsed(), cpu(libc::RUSAGE_SELF) - cpu0);
    let server = server().saturating_sub(server0);
    let (p50, p99) = p50_p99(&mut puts);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / RECORDS as f64;
    let database = if server.is_zero() {
        String::new()
    } else {
        format!(" + {:.2} µs in PostgreSQL", per(server))
    };
    format!(
        "{label}: {:.0} records/s; CPU per record {:.2} µs (producer {:.2} µs, writer {:.2} µs){database}; put p50 {:.2} µs, p99 {:.2} µs",
        RECORDS as f64 / wall.as_secs_f64(),
        per(total),
        per(producer),
        per(total.saturating_sub(producer)),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
    )
}

fn main() {
    let doc_bytes = record(0, 0).doc.len();
    println!("activation log: {BURSTS} bursts of {RECORDS} records of {doc_bytes} B each");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    for burst_no in 0..BURSTS {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let start = 1_800_000_000_000 + (burst_no * RECORDS) as i64;
        let line = burst(
            &format!("sqlite burst {burst_no}"),
            &store,
            &runtime,
            start,
            || Duration::ZERO,
        );
        let size: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        println!(
            "{line}; {:.0} B on disk per record",
            size as f64 / RECORDS as f64
        );
    }
    let server = PgServer::start();
    for burst_no in 0..BURSTS {
        let database = format!("burst{burst_no}");
        server.create_database(&database);
        let store = runtime
            .block_on(PostgresStore::connect(&server.url(&database)))
            .unwrap();
        let start = 1_800_000_000_000 + (burst_no * RECORDS) as i64;
        // The records' day has its partition, as the upkeep of a running node made it the
        // day before (a new log's first day fills the default partition instead).
        runtime
            .block_on(store.expire_activations(None, start - shoal_store::DAY_MS))
            .unwrap();
        let label = format!("postgres burst {burst_no}");
        println!("{}", burst(&label, &store, &runtime, start, postgres_cpu));
    }
}
