//! The end-to-end suite: the real `shoal` binary driven by the real npm `openwhisk` client.
//!
//! Starts shoal on `127.0.0.1:0` with a fresh data dir (plus a second namespace made beforehand
//! with `shoal namespace create`), runs `node --test` over `host/tests/e2e/*.test.mjs` with the
//! connection details in `SHOAL_*` variables, then shuts shoal down with SIGTERM. Needs Node.js 20+
//! on `PATH` and `npm ci --prefix host/tests/e2e` run once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{GUEST_AUTH, Shoal, namespace_create, wait_timeout};

/// The second namespace the suite uses for isolation checks.
const NS2: &str = "e2e-other";
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

#[test]
fn npm_openwhisk_client_suite() {
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
    let auth2 = namespace_create(data.path(), NS2);
    // A namespace allowed only 3 invokes a minute, for the 429 test.
    let auth3 = namespace_create(data.path(), "e2e-throttled");
    let limited = crate::support::run_with_timeout(
        crate::support::shoal_command()
            .args([
                "namespace",
                "set-limits",
                "e2e-throttled",
                "--invocations-per-minute",
                "3",
                "--data-dir",
            ])
            .arg(data.path()),
        Duration::from_secs(20),
    );
    assert!(
        limited.status.success(),
        "set-limits failed: {}",
        String::from_utf8_lossy(&limited.stderr)
    );
    assert_ne!(
        auth2, GUEST_AUTH,
        "the second namespace must have its own key"
    );
    let shoal = Shoal::serve(data.path());

    let mut node = Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&files)
        .current_dir(&dir)
        .env("SHOAL_API_HOST", shoal.url())
        .env("SHOAL_AUTH", GUEST_AUTH)
        .env("SHOAL_AUTH2", &auth2)
        .env("SHOAL_NS2", NS2)
        .env("SHOAL_AUTH3", &auth3)
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
