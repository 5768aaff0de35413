//! A bounded HTTP fuzz test of the real binary: random mutations of valid requests (bytes
//! flipped, cut, repeated; JSON values swapped for odd ones; methods, paths and headers
//! changed) sent raw over TCP. Whatever it sends, shoal must stay up, keep answering `/ping`,
//! and never answer with a platform failure (500, 501, 503, 504, 505).
//!
//! `SHOAL_FUZZ_REQUESTS` sets how many requests (default 3,000: well under a minute in CI)
//! and `SHOAL_FUZZ_SEED` the seed (default: from the clock); the seed is printed, so a failure
//! can be replayed. The long run behind the robustness figures uses the same test with
//! `SHOAL_FUZZ_REQUESTS=1000000`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::{GUEST_AUTH, Shoal, namespace_create, request};

/// Statuses that would mean shoal itself failed.
const PLATFORM_FAILURES: [u16; 5] = [500, 501, 503, 504, 505];

/// One request before mutation.
struct Seed {
    method: &'static str,
    path: String,
    auth: Option<String>,
    body: Option<Value>,
}

fn seeds(other: &str) -> Vec<Seed> {
    let seed = |method, path: &str, body: Option<Value>| Seed {
        method,
        path: path.to_string(),
        auth: Some(GUEST_AUTH.to_string()),
        body,
    };
    let js = |code: &str| json!({"exec": {"kind": "nodejs:20", "code": code}, "limits": {"timeout": 1000, "memory": 128}});
    let mut out = vec![
        seed(
            "PUT",
            "/api/v1/namespaces/_/actions/f1?overwrite=true",
            Some(js("function main(p) { return p; }")),
        ),
        seed(
            "PUT",
            "/api/v1/namespaces/_/actions/f2?overwrite=true",
            Some(json!({"exec": {"kind": "sequence", "components": ["/_/f1", "/_/f1"]}})),
        ),
        seed(
            "PUT",
            "/api/v1/namespaces/_/actions/web?overwrite=true",
            Some(
                json!({"exec": {"kind": "nodejs:20", "code": "function main(p) { return {body: p}; }"}, "annotations": [{"key": "web-export", "value": true}]}),
            ),
        ),
        seed(
            "POST",
            "/api/v1/namespaces/_/actions/f1?blocking=true&result=true",
            Some(json!({"a": 1, "b": [1, 2, {"c": null}]})),
        ),
        seed(
            "POST",
            "/api/v1/namespaces/_/actions/f2?blocking=true",
            Some(json!({"n": 1})),
        ),
        seed("POST", "/api/v1/namespaces/_/actions/f1", Some(json!({}))),
        seed("GET", "/api/v1/namespaces/_/actions?limit=5&skip=0", None),
        seed(
            "GET",
            "/api/v1/namespaces/_/activations?limit=3&docs=true",
            None,
        ),
        seed(
            "PUT",
            "/api/v1/namespaces/_/packages/p?overwrite=true",
            Some(json!({"parameters": [{"key": "x", "value": 1}], "publish": false})),
        ),
        seed(
            "PUT",
            "/api/v1/namespaces/_/packages/b?overwrite=true",
            Some(json!({"binding": {"namespace": "guest", "name": "p"}})),
        ),
        seed(
            "PUT",
            "/api/v1/namespaces/_/triggers/t?overwrite=true",
            Some(json!({"parameters": [{"key": "k", "value": "v"}]})),
        ),
        seed(
            "PUT",
            "/api/v1/namespaces/_/rules/r?overwrite=true",
            Some(json!({"trigger": "/_/t", "action": "/_/f1"})),
        ),
        seed(
            "POST",
            "/api/v1/namespaces/_/triggers/t",
            Some(json!({"fired": true})),
        ),
        seed(
            "POST",
            "/api/v1/namespaces/_/rules/r",
            Some(json!({"status": "inactive"})),
        ),
        seed(
            "POST",
            "/api/v1/namespaces/whisk.system/actions/alarms/interval",
            Some(
                json!({"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": GUEST_AUTH, "minutes": 5}),
            ),
        ),
        seed(
            "POST",
            "/api/v1/web/guest/default/web.json?x=1",
            Some(json!({"y": 2})),
        ),
        seed("GET", "/api/v1/web/guest/default/web.http/a/b?c=d", None),
        seed("GET", "/api/v1/namespaces/_/limits", None),
        seed("DELETE", "/api/v1/namespaces/_/rules/r", None),
    ];
    out.push(Seed {
        method: "GET",
        path: "/api/v1/namespaces/_/actions/f1".into(),
        auth: Some(other.to_string()),
        body: None,
    });
    out.push(Seed {
        method: "GET",
        path: "/ping".into(),
        auth: None,
        body: None,
    });
    out
}

/// JSON values that parsers tend to trip on.
fn odd_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..12) {
        0 => json!(null),
        1 => json!(u64::MAX),
        2 => json!(-9_223_372_036_854_775_807i64),
        3 => json!(1e308),
        4 => json!("x".repeat(rng.random_range(0..5000))),
        5 => (0..rng.random_range(1..300)).fold(json!([]), |inner, _| json!([inner])),
        6 => json!({"__proto__": {"polluted": true}}),
        7 => json!(""),
        8 => json!("../../etc/passwd"),
        9 => json!({"key": "k", "value": {"deep": [1, {"x": "y"}]}}),
        10 => json!(0),
        _ => json!(true),
    }
}

/// Replaces one value somewhere in `v` with an odd one.
fn mutate_json(v: &mut Value, rng: &mut StdRng) {
    match v {
        Value::Object(m) if !m.is_empty() && rng.random_bool(0.7) => {
            let i = rng.random_range(0..m.len());
            if let Some((_, inner)) = m.iter_mut().nth(i) {
                mutate_json(inner, rng);
            }
        }
        Value::Array(a) if !a.is_empty() && rng.random_bool(0.7) => {
            let i = rng.random_range(0..a.len());
            mutate_json(&mut a[i], rng);
        }
        other => *other = odd_value(rng),
    }
}

/// The raw bytes of `seed`, mutated.
fn mutated(seed: &Seed, rng: &mut StdRng) -> Vec<u8> {
    let mut method = seed.method.to_string();
    let mut path = seed.path.clone();
    let mut body = seed.body.clone();
    let mut extra = String::new();
    match rng.random_range(0..8) {
        0 => {
            method = [
                "GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW",
            ][rng.random_range(0..8)]
            .into()
        }
        1 => {
            let junk = [
                "%00",
                "..",
                "%2e%2e",
                "//",
                "?x=%zz",
                "&limit=-1",
                "&skip=99999999999999999999",
                "é",
                "~",
            ];
            let at = rng.random_range(0..=path.len());
            let at = (0..=at)
                .rev()
                .find(|i| path.is_char_boundary(*i))
                .unwrap_or(0);
            path.insert_str(at, junk[rng.random_range(0..junk.len())]);
        }
        2 => {
            if let Some(b) = body.as_mut() {
                mutate_json(b, rng);
            }
        }
        3 => extra.push_str("Content-Type: text/plain\r\n"),
        4 => extra.push_str(&format!(
            "X-Filler: {}\r\n",
            "a".repeat(rng.random_range(0..20_000))
        )),
        5 => extra.push_str("Transfer-Encoding: chunked\r\n"),
        6 => extra.push_str("Authorization: Basic ???\r\n"),
        _ => {}
    }
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json\r\n{extra}",
        payload.len()
    );
    if let Some(auth) = &seed.auth {
        let encoded = base64::engine::general_purpose::STANDARD.encode(auth);
        head.push_str(&format!("Authorization: Basic {encoded}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = [head.into_bytes(), payload.into_bytes()].concat();
    // Byte-level damage on a third of the requests.
    if rng.random_bool(0.33) && !raw.is_empty() {
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..raw.len());
            match rng.random_range(0..3) {
                0 => raw[i] = rng.random(),
                1 => raw.truncate(i.max(1)),
                _ => {
                    let chunk = raw[i..].iter().take(64).copied().collect::<Vec<_>>();
                    raw.splice(i..i, chunk);
                }
            }
        }
    }
    raw
}

/// Sends `raw` and returns the status line's code, if shoal answered one.
fn send(addr: &str, raw: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).expect("shoal stopped accepting connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(raw).ok()?;
    // A truncated request may leave shoal waiting for the rest: say there is no more.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let line = String::from_utf8_lossy(&answer[..answer.len().min(32)]).into_owned();
    line.split(' ').nth(1)?.parse().ok()
}

#[test]
fn mutated_requests_never_crash_or_fail_the_platform() {
    let requests: u64 = std::env::var("SHOAL_FUZZ_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let seed: u64 = std::env::var("SHOAL_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!("fuzz: {requests} requests, SHOAL_FUZZ_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    let other = namespace_create(dir.path(), "fuzz-other");
    let shoal = Shoal::serve(dir.path());
    let seeds = seeds(&other);
    // The valid forms first, so that mutations find entities to act on.
    for s in &seeds {
        let r = request(
            &shoal.addr,
            s.method,
            &s.path,
            s.auth.as_deref(),
            s.body.as_ref(),
        );
        assert!(
            !PLATFORM_FAILURES.contains(&r.status),
            "{} {}: {}",
            s.method,
            s.path,
            r.text()
        );
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut failures = Vec::new();
    for n in 0..requests {
        let s = &seeds[rng.random_range(0..seeds.len())];
        let raw = mutated(s, &mut rng);
        if let Some(status) = send(&shoal.addr, &raw)
            && PLATFORM_FAILURES.contains(&status)
        {
            failures.push((
                n,
                status,
                String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned(),
            ));
        }
        if n % 500 == 0 {
            assert_eq!(
                request(&shoal.addr, "GET", "/ping", None, None).status,
                200,
                "after {n} requests"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed}: platform failures {failures:#?}"
    );
    assert_eq!(request(&shoal.addr, "GET", "/ping", None, None).status, 200);
    let health = request(&shoal.addr, "GET", "/health", None, None);
    assert_eq!(health.status, 200, "{}", health.text());
    shoal.stop();
}
