//! The end-to-end suite: the real `shoal` binary driven by the real npm `openwhisk` client.
//!
//! Starts shoal on `127.0.0.1:0` with a fresh data dir (plus namespaces made beforehand with
//! `shoal namespace create`: a second one, and two with low throttles), runs `node --test` over
//! `host/tests/e2e/*.test.mjs` with the connection details in `SHOAL_*` variables, then shuts
//! shoal down with SIGTERM. It runs twice: on the embedded SQLite store, and on a private
//! PostgreSQL database (`--store`). Needs Node.js 20+ on `PATH` and `npm ci --prefix
//! host/tests/e2e` run once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{GUEST_AUTH, Shoal, namespace_create_with, set_limits, wait_timeout};

/// The second namespace the suite uses for isolation checks.
const NS2: &str = "e2e-other";
/// The namespace that owns the web action of the web 429 test.
const NS4: &str = "e2e-web-throttled";
/// Upper bound for the whole JS suite (it normally takes well under a minute).
const SUITE_LIMIT: Duration = Duration::from_secs(300);

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("e2e")
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reading host/tests/e2e")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(".test.mjs"))
        })
        .collect();
    files.sort();
    files
}

/// Creates namespace `name` allowed `per_minute` invokes a minute in the store that `data`
/// and `store` (`--store URL` or nothing) name; returns its `uuid:key`.
fn throttled_namespace(data: &Path, store: &[&str], name: &str, per_minute: u32) -> String {
    let auth = namespace_create_with(data, name, store);
    let per_minute = per_minute.to_string();
    let args = [&["--invocations-per-minute", per_minute.as_str()], store].concat();
    set_limits(data, name, &args);
    auth
}

#[test]
fn npm_openwhisk_client_suite() {
    run_suite(&[]);
}

/// The same suite against a node whose store is a (private) PostgreSQL database.
#[test]
fn npm_openwhisk_client_suite_on_postgres() {
    let server = shoal_store::pg_server::PgServer::start();
    server.create_database("shoal");
    let url = server.url("shoal");
    run_suite(&["--store", &url]);
}

/// Runs every `*.test.mjs` against a fresh shoal whose store `store` names (`--store URL`,
/// or nothing for SQLite in its data directory).
fn run_suite(store: &[&str]) {
    let dir = e2e_dir();
    assert!(
        dir.join("node_modules").join("openwhisk").is_dir(),
        "host/tests/e2e/node_modules is missing: run `npm ci --prefix host/tests/e2e` first"
    );
    let files = test_files(&dir);
    assert!(
        !files.is_empty(),
        "no *.test.mjs files in {}",
        dir.display()
    );

    let data = tempfile::tempdir().expect("temp data dir");
    let auth2 = namespace_create_with(data.path(), NS2, store);
    // Namespaces allowed only a few invokes a minute, for the 429 tests of the REST API and
    // of web actions (one each, so that neither test spends the other's budget).
    let auth3 = throttled_namespace(data.path(), store, "e2e-throttled", 3);
    let auth4 = throttled_namespace(data.path(), store, NS4, 2);
    assert_ne!(
        auth2, GUEST_AUTH,
        "the second namespace must have its own key"
    );
    // Actions may reach the suite's own test servers on 127.0.0.1 (not `localhost`), and
    // trust the certificate of its https server.
    let (ca, cert, key) = shoal_store::pg_server::test_certificates(data.path());
    let shoal = Shoal::serve_with_args(
        data.path(),
        &format!(
            "[egress]\nallow_hosts = [\"127.0.0.1\"]\nca_files = [{:?}]\n",
            ca.display().to_string()
        ),
        store,
    );

    let mut node = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&files)
        .current_dir(&dir)
        .env("SHOAL_API_HOST", shoal.url())
        .env("SHOAL_AUTH", GUEST_AUTH)
        .env("SHOAL_AUTH2", &auth2)
        .env("SHOAL_NS2", NS2)
        .env("SHOAL_AUTH3", &auth3)
        .env("SHOAL_AUTH4", &auth4)
        .env("SHOAL_NS4", NS4)
        .env("SHOAL_TLS_CERT", &cert)
        .env("SHOAL_TLS_KEY", &key)
        .env_remove("__OW_API_KEY")
        .env_remove("__OW_API_HOST")
        .env_remove("__OW_NAMESPACE")
        .env_remove("__OW_TRANSACTION_ID")
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .spawn()
        .expect("running `node` (Node.js 20+ must be on PATH)");
    let status = match wait_timeout(&mut node, SUITE_LIMIT) {
        Some(status) => status,
        None => {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the npm openwhisk suite did not finish within {SUITE_LIMIT:?}");
        }
    };
    assert!(
        status.success(),
        "the npm openwhisk suite failed ({status}); see the node test report above"
    );

    let exit = shoal.stop();
    assert!(
        exit.success(),
        "shoal did not exit cleanly on SIGTERM: {exit}"
    );
}
