//! What the in-process criterion benches share: a JS action, a hello-world style
//! [`Invocation`], an outcome check, and p50/p99 of individually timed samples.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, json};
use shoal_router::{ActionCode, ActivationId, Invocation, Limits, Outcome, OwEnv};

/// A `nodejs:20` action `/guest/a<n>` whose digest is `n` (distinct `n`, distinct isolates).
pub fn action(n: u64, code: &str) -> Arc<ActionCode> {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&n.to_le_bytes());
    Arc::new(ActionCode {
        fqn: format!("/guest/a{n}"),
        name: format!("a{n}"),
        version: "0.0.1".into(),
        kind: "nodejs:20".into(),
        code: code.into(),
        binary: false,
        main: "main".into(),
        digest,
        image: None,
        host_tags: Default::default(),
    })
}

/// An invocation of `code` by `guest` with `{"name": "bench"}`, default limits, a 60 s
/// deadline. Built per iteration, as the controller builds one per request, and like the
/// controller's each has its own activation id, transaction id and `__OW_DEADLINE` (here a
/// serial number, not the deadline's time), which the engine sets in the action's
/// `process.env` on every run.
pub fn invocation(code: &Arc<ActionCode>) -> Invocation {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [7; 16];
    bytes[..8].copy_from_slice(&serial.to_le_bytes());
    let activation_id = ActivationId::from_random(bytes);
    let mut params = Map::new();
    params.insert("name".into(), json!("bench"));
    Invocation {
        activation_id,
        action: code.clone(),
        tenant: Arc::from("guest"),
        params,
        init_env: Map::new(),
        env: OwEnv {
            api_host: "http://127.0.0.1:3233".into(),
            api_key: None,
            namespace: "guest".into(),
            action_name: code.fqn.clone(),
            action_version: "0.0.1".into(),
            activation_id: activation_id.to_string(),
            transaction_id: format!("bench{serial}"),
            deadline: (1_800_000_000_000 + serial).to_string(),
        },
        limits: Limits::default(),
        deadline: Instant::now() + Duration::from_secs(60),
    }
}

/// Panics unless the activation succeeded (a bench of a failing action measures nothing).
pub fn check(o: &Outcome) {
    assert!(o.result.is_ok(), "{:?}", o.result);
}

/// Times `count` calls of `run`, checking each outcome; the durations, for [`percentiles`].
pub fn timed(count: usize, mut run: impl FnMut() -> Outcome) -> Vec<Duration> {
    timed_apart(count, || (), |()| run())
}

/// [`timed`] with each call's input made by `setup` before its clock starts.
pub fn timed_apart<I>(
    count: usize,
    mut setup: impl FnMut() -> I,
    mut run: impl FnMut(I) -> Outcome,
) -> Vec<Duration> {
    (0..count)
        .map(|_| {
            let input = setup();
            let t = Instant::now();
            check(&run(input));
            t.elapsed()
        })
        .collect()
}

/// p50 and p99 of `samples` (sorted in place; at least one sample).
pub fn p50_p99(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    (at(0.50), at(0.99))
}

/// Prints p50 and p99 of `samples` under `label`.
pub fn percentiles(label: &str, mut samples: Vec<Duration>) {
    let (p50, p99) = p50_p99(&mut samples);
    println!(
        "{label}: p50 {:.2} µs, p99 {:.2} µs ({} samples)",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        samples.len()
    );
}
