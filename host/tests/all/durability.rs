//! What shoal acknowledges, it keeps: the real binary killed with SIGKILL under load, its
//! data directory on a full disk, its database deleted while it runs. Every activation id a
//! client got with a 200 or 202 must have a record afterwards (its own, or the whisk internal
//! error of an accepted activation that shoal stopped before it finished); what shoal cannot
//! keep it refuses with 503.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{GUEST_AUTH, Shoal, request, try_request};

/// The activation ids clients were given, with whether shoal answered 200 (finished) or
/// 202 (accepted, maybe still running).
type Acked = Arc<Mutex<Vec<(String, u16)>>>;

fn put_action(shoal: &Shoal, name: &str, code: &str) {
    let body = json!({"exec": {"kind": "nodejs:20", "code": code}});
    let r = shoal.request(
        "PUT",
        &format!("/api/v1/namespaces/_/actions/{name}"),
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// What [`client`] uses: actions `hello` and `slow`, and trigger `t` with a rule to `hello`.
pub(crate) fn deploy(shoal: &Shoal) {
    put_action(shoal, "hello", "function main() { return {hi: 1}; }");
    put_action(
        shoal,
        "slow",
        "function main() { return new Promise(r => setTimeout(() => r({done: true}), 300)); }",
    );
    let r = shoal.request("PUT", "/api/v1/namespaces/_/triggers/t", Some(&json!({})));
    assert_eq!(r.status, 200, "{}", r.text());
    let rule = json!({"trigger": "/_/t", "action": "/_/hello"});
    let r = shoal.request("PUT", "/api/v1/namespaces/_/rules/r", Some(&rule));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// One client's loop: blocking invokes of `hello`, non-blocking ones of `slow` and fires of
/// trigger `t`, until `stop`; every acknowledged activation id goes to `acked`. Returns the
/// statuses seen.
fn client(addr: String, stop: Arc<AtomicBool>, acked: Acked) -> Vec<u16> {
    let mut seen = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        let path = match n % 3 {
            0 => "/api/v1/namespaces/_/actions/hello?blocking=true",
            1 => "/api/v1/namespaces/_/actions/slow",
            _ => "/api/v1/namespaces/_/triggers/t",
        };
        let Ok(r) = try_request(&addr, "POST", path, Some(GUEST_AUTH), Some(&json!({}))) else {
            continue;
        };
        seen.push(r.status);
        if matches!(r.status, 200 | 202) {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            if let Some(id) = body["activationId"].as_str() {
                acked.lock().unwrap().push((id.to_owned(), r.status));
            }
        }
    }
    seen
}

/// Runs three clients, spread over the shoal processes at `addrs`, until `until` says stop
/// (it is polled with the acknowledged count); returns what they were acknowledged and the
/// statuses they saw.
pub(crate) fn load(
    addrs: &[String],
    mut until: impl FnMut(usize) -> bool,
) -> (Vec<(String, u16)>, Vec<u16>) {
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Acked = Arc::default();
    let clients: Vec<_> = (0..3)
        .map(|i| {
            let addr = addrs[i % addrs.len()].clone();
            let (stop, acked) = (stop.clone(), acked.clone());
            thread::spawn(move || client(addr, stop, acked))
        })
        .collect();
    let started = Instant::now();
    while !until(acked.lock().unwrap().len()) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the load never got there"
        );
        thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Release);
    let statuses = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let acked = acked.lock().unwrap().clone();
    (acked, statuses)
}

/// Asserts every acknowledged id has a record; a 200's is its own, a 202's its own or the
/// whisk internal error of an activation shoal stopped before it finished. A 202's record
/// may still be on its way (the activation running, or its node's log writing it): each is
/// waited for up to a minute, a bound on a hang rather than a timing expectation.
pub(crate) fn assert_kept(shoal: &Shoal, acked: &[(String, u16)]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for (id, status) in acked {
        let path = format!("/api/v1/namespaces/_/activations/{id}");
        let mut r = shoal.request("GET", &path, None);
        while *status == 202 && r.status == 404 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
            r = shoal.request("GET", &path, None);
        }
        assert_eq!(
            r.status,
            200,
            "acknowledged {status} activation {id} is gone: {}",
            r.text()
        );
        let record = r.json();
        let response = &record["response"];
        match (status, response["status"].as_str()) {
            (_, Some("success")) => {}
            (202, Some("whisk internal error")) => assert_eq!(
                response["result"]["error"],
                "The activation was accepted, but shoal stopped before it finished; it did not complete."
            ),
            other => panic!("activation {id}: unexpected {other:?}: {record}"),
        }
    }
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_activation() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for round in 0..3 {
        let shoal = Shoal::serve(dir.path());
        if round == 0 {
            deploy(&shoal);
        }
        let target = 60 * (round + 1);
        let (acked, _) = load(std::slice::from_ref(&shoal.addr), |n| n >= target);
        // Killed at once after the last acknowledgement: nothing gets to finish on purpose.
        let _ = shoal.stop_with(libc::SIGKILL);
        all.extend(acked);
    }
    let shoal = Shoal::serve(dir.path());
    assert!(all.iter().any(|(_, s)| *s == 200) && all.iter().any(|(_, s)| *s == 202));
    assert_kept(&shoal, &all);
    let health = request(&shoal.addr, "GET", "/health", None, None);
    assert_eq!(health.status, 200, "{}", health.text());
    shoal.stop();
}

/// Mounts a tmpfs of `mib` MiB at `dir` (root only); unmounted when dropped.
struct Tmpfs<'a>(&'a Path);

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, mib: u32) -> Tmpfs<'a> {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// Fills the file system holding `dir` until a write fails for lack of space.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    while f.write_all(&block[..512]).is_ok() {}
    let _ = f.sync_all();
    filler
}

#[test]
fn a_full_disk_refuses_work_with_503_keeps_every_acknowledged_activation_and_recovers() {
    let mount = tempfile::tempdir().unwrap();
    let _tmpfs = Tmpfs::mount(mount.path(), 32);
    let data = mount.path().join("data");
    let shoal = Shoal::serve(&data);
    deploy(&shoal);
    let filler = fill(mount.path());
    // Load until the store refuses work: every acknowledgement before that must be kept.
    let refused = Arc::new(AtomicBool::new(false));
    let (acked, statuses) = {
        let (addr, refused) = (shoal.addr.clone(), refused.clone());
        load(std::slice::from_ref(&shoal.addr), move |_| {
            let health = try_request(&addr, "GET", "/health", None, None);
            let full = health.is_ok_and(|h| h.status == 503);
            refused.store(full, Ordering::Release);
            full
        })
    };
    assert!(refused.load(Ordering::Acquire));
    let r = shoal.request(
        "POST",
        "/api/v1/namespaces/_/actions/hello?blocking=true",
        None,
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.text().contains("shoal cannot store activations"),
        "{}",
        r.text()
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 202 | 503)),
        "{statuses:?}"
    );
    // Room again: shoal notices by itself and takes work again.
    std::fs::remove_file(&filler).unwrap();
    let started = Instant::now();
    while request(&shoal.addr, "GET", "/health", None, None).status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never recovered"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let r = shoal.request(
        "POST",
        "/api/v1/namespaces/_/actions/hello?blocking=true",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Everything acknowledged is there, after a restart too.
    assert_kept(&shoal, &acked);
    shoal.stop();
    let shoal = Shoal::serve(&data);
    assert_kept(&shoal, &acked);
    shoal.stop();
}

#[test]
fn a_deleted_database_refuses_work_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    put_action(&shoal, "hello", "function main() { return {hi: 1}; }");
    let path = "/api/v1/namespaces/_/actions/hello?blocking=true";
    assert_eq!(shoal.request("POST", path, None).status, 200);
    std::fs::remove_file(dir.path().join("shoal.db")).unwrap();
    let r = shoal.request("POST", path, None);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("was deleted or replaced"), "{}", r.text());
    let health = request(&shoal.addr, "GET", "/health", None, None);
    assert_eq!(health.status, 503);
    assert!(health.json()["store"].as_str().unwrap().contains("deleted"));
    let accepted = shoal.request("POST", "/api/v1/namespaces/_/actions/hello", None);
    assert_eq!(accepted.status, 503, "{}", accepted.text());
}

/// Parameters and results nested 200 deep (past serde_json's default limit of 128) go in,
/// come out and are kept; past shoal's limit a body is refused as malformed.
#[test]
fn deeply_nested_parameters_and_results_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let body = json!({"exec": {"kind": "nodejs:20", "code": "function main(p) { return p; }"}});
    let put = request(
        &shoal.addr,
        "PUT",
        "/api/v1/namespaces/_/actions/echo",
        Some(GUEST_AUTH),
        Some(&body),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let nested = |levels: usize| {
        let mut v = json!({"leaf": true});
        for _ in 1..levels {
            v = json!({ "v": v });
        }
        v
    };
    let deep = nested(200);
    let path = "/api/v1/namespaces/_/actions/echo?blocking=true";
    let invoked = request(&shoal.addr, "POST", path, Some(GUEST_AUTH), Some(&deep));
    assert_eq!(invoked.status, 200, "{}", invoked.text());
    let invoked = invoked.json();
    assert_eq!(invoked["response"]["result"], deep);
    let id = invoked["activationId"].as_str().unwrap();
    let path = format!("/api/v1/namespaces/_/activations/{id}/result");
    let stored = request(&shoal.addr, "GET", &path, Some(GUEST_AUTH), None);
    assert_eq!(stored.status, 200, "{}", stored.text());
    assert_eq!(stored.json()["result"], deep);

    // At the limit itself: the record (which wraps the result in `response.result`) reads
    // back, in a list of full records too.
    let deepest = nested(256);
    let path = "/api/v1/namespaces/_/actions/echo?blocking=true";
    let invoked = request(&shoal.addr, "POST", path, Some(GUEST_AUTH), Some(&deepest));
    assert_eq!(invoked.status, 200, "{}", invoked.text());
    let path = "/api/v1/namespaces/_/activations?docs=true&limit=5";
    let listed = request(&shoal.addr, "GET", path, Some(GUEST_AUTH), None);
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert!(listed.text().contains("\"leaf\":true"), "{}", listed.text());

    let too_deep = nested(300);
    let path = "/api/v1/namespaces/_/actions/echo?blocking=true";
    let refused = request(&shoal.addr, "POST", path, Some(GUEST_AUTH), Some(&too_deep));
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("nested deeper than 256 levels"),
        "{}",
        refused.text()
    );
}
