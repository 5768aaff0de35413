//! The container domain on a real Docker engine, in-process through `ContainerExecutor`
//! (no HTTP in front): cold create → first result, prewarm hit → first result, warm invoke,
//! unpause + invoke, each with p50 and p99, beside OpenWhisk's published Docker figures.
//!
//! Needs an engine and the test images:
//! `export DOCKER_HOST=$(container-fallback/images/engine.sh start)` then
//! `container-fallback/images/build.sh`, then `cargo bench -p shoal-benches --bench containers`.
//!
//! With `SHOAL_BENCH_DOCKER_TCP` (a second engine's `host:port`, TLS with the client files in
//! `SHOAL_BENCH_DOCKER_TLS`) and `SHOAL_BENCH_REGISTRY` (`multiarch.sh start`), it also times
//! cold and warm invokes of the same image through that engine, reached as a remote one
//! (TCP, containers on a published port), against the local socket, in alternating rounds;
//! see benches/README.md for the engines' set-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_benches::sample;
use shoal_containers::pool::OWNER_LABEL;
use shoal_containers::{
    ContainerConfig, ContainerExecutor, HostConfig, Runtime, StemCell, TlsFiles,
};
use shoal_router::{ActionCode, Executor};

const IMAGE: &str = "shoal/action-python:3.11";
const CODE: &str =
    "def main(args):\n    return {'greeting': 'Hello, ' + args.get('name', 'world')}\n";

/// A Python action whose digest is `n`: a distinct `n` never reuses a warm container.
fn action(n: u64) -> Arc<ActionCode> {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&n.to_le_bytes());
    Arc::new(ActionCode {
        fqn: format!("/guest/py{n}"),
        name: format!("py{n}"),
        version: "0.0.1".into(),
        kind: "python:3.11".into(),
        code: CODE.into(),
        binary: false,
        main: "main".into(),
        digest,
        image: None,
        host_tags: Default::default(),
    })
}

fn executor(prewarm: usize, pause_grace_ms: u64) -> ContainerExecutor {
    let docker_host = std::env::var("DOCKER_HOST")
        .expect("set DOCKER_HOST to an engine with the test images (see benches/README.md)");
    let config = ContainerConfig {
        docker_host,
        runtimes: vec![Runtime {
            kind: "python:3.11".into(),
            image: IMAGE.into(),
            default: true,
            require_main: false,
            platforms: Vec::new(),
            images: Default::default(),
            prewarm: match prewarm {
                0 => Vec::new(),
                count => vec![StemCell {
                    count,
                    memory_mb: 256,
                }],
            },
        }],
        pause_grace_ms,
        // Every sample leaves a warm container behind: room for all of them.
        capacity_mb: 1 << 20,
        ..ContainerConfig::default()
    };
    // A fixed owner: a run that crashed leaves containers the next run removes.
    ContainerExecutor::start(config, "shoal-bench", "http://127.0.0.1:3233")
        .expect("container engine")
}

/// A blackbox action of `image` whose digest is `n`.
fn blackbox(n: u64, image: &str) -> Arc<ActionCode> {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&n.to_le_bytes());
    Arc::new(ActionCode {
        fqn: format!("/guest/bb{n}"),
        name: format!("bb{n}"),
        version: "0.0.1".into(),
        kind: "blackbox".into(),
        code: "".into(),
        binary: false,
        main: "main".into(),
        digest,
        image: Some(image.into()),
        host_tags: Default::default(),
    })
}

/// An executor whose one host is `host`.
fn executor_on(host: HostConfig) -> ContainerExecutor {
    let config = ContainerConfig {
        hosts: vec![host],
        ..ContainerConfig::default()
    };
    ContainerExecutor::start(config, "shoal-bench", "http://127.0.0.1:3233")
        .expect("container engine")
}

/// Cold and warm invokes through the local socket and through a second engine over TCP with
/// TLS (containers on a published port), alternating, when the environment names them.
fn transports(rt: &tokio::runtime::Runtime, n: impl Fn(usize) -> usize) {
    let (Ok(tcp), Ok(tls), Ok(registry)) = (
        std::env::var("SHOAL_BENCH_DOCKER_TCP"),
        std::env::var("SHOAL_BENCH_DOCKER_TLS"),
        std::env::var("SHOAL_BENCH_REGISTRY"),
    ) else {
        println!(
            "(no SHOAL_BENCH_DOCKER_TCP/_TLS/SHOAL_BENCH_REGISTRY: local socket vs TCP skipped)"
        );
        return;
    };
    let image = format!("{registry}/shoal-test/arch-probe:amd64");
    let host = |name: &str, docker_host: String| HostConfig {
        name: name.into(),
        docker_host,
        kubernetes: None,
        network: None,
        capacity_mb: 1 << 20,
        tags: Vec::new(),
        address: None,
        architecture: None,
        tls: None,
    };
    let local = executor_on(host(
        "local",
        std::env::var("DOCKER_HOST").unwrap_or_default(),
    ));
    let remote = executor_on(HostConfig {
        address: Some([127, 0, 0, 1].into()),
        tls: Some(TlsFiles {
            ca: format!("{tls}/ca.pem").into(),
            cert: format!("{tls}/cert.pem").into(),
            key: format!("{tls}/key.pem").into(),
        }),
        ..host("tcp", format!("tcp://{tcp}"))
    });
    let (mut cold, mut warm) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for round in 0..3u64 {
        for (i, executor) in [&local, &remote].into_iter().enumerate() {
            let base = 5_000_000 + round * 1_000 + i as u64 * 100;
            for k in 0..n(10) as u64 {
                cold[i].push(run(rt, executor, &blackbox(base + k, &image)));
            }
            let kept = blackbox(base + 99, &image);
            run(rt, executor, &kept);
            for _ in 0..n(100) {
                warm[i].push(run(rt, executor, &kept));
            }
        }
    }
    let mut p50s = Vec::new();
    for (i, name) in ["local socket", "TCP + TLS, published port"]
        .iter()
        .enumerate()
    {
        let (c50, _) = sample::p50_p99(&mut cold[i].clone());
        let (w50, _) = sample::p50_p99(&mut warm[i].clone());
        p50s.push((c50, w50));
        report(&format!("cold, {name}"), cold[i].clone(), "-");
        report(&format!("warm, {name}"), warm[i].clone(), "-");
    }
    println!(
        "TCP over local, p50: cold x{:.2}, warm x{:.2}",
        p50s[1].0.as_secs_f64() / p50s[0].0.as_secs_f64(),
        p50s[1].1.as_secs_f64() / p50s[0].1.as_secs_f64()
    );
    rt.block_on(local.shutdown());
    rt.block_on(remote.shutdown());
}

fn run(
    rt: &tokio::runtime::Runtime,
    executor: &ContainerExecutor,
    code: &Arc<ActionCode>,
) -> Duration {
    let t = Instant::now();
    let outcome = rt.block_on(executor.invoke(sample::invocation(code)));
    sample::check(&outcome);
    t.elapsed()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many of the bench's containers the engine reports paused (`docker ps`, the CLI of the
/// engine at `DOCKER_HOST`).
fn paused_containers() -> usize {
    let out = std::process::Command::new("docker")
        .args(["ps", "-q", "--filter", "status=paused", "--filter"])
        .arg(format!("label={OWNER_LABEL}=shoal-bench"))
        .output()
        .expect("the docker CLI");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn report(label: &str, mut samples: Vec<Duration>, openwhisk: &str) {
    let (p50, p99) = sample::p50_p99(&mut samples);
    println!(
        "{label:<32} p50 {:>9.2} ms  p99 {:>9.2} ms  ({} samples)   OpenWhisk (published): {openwhisk}",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = |full: usize| if quick { 2 } else { full };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let cold = executor(0, 60_000);
    let samples = (0..n(30) as u64)
        .map(|i| run(&rt, &cold, &action(i)))
        .collect();
    report("cold create -> first result", samples, "create 0.7-1.3 s");
    let warm_action = action(1_000_000);
    run(&rt, &cold, &warm_action);
    let samples = (0..n(300)).map(|_| run(&rt, &cold, &warm_action)).collect();
    report("warm invoke", samples, "-");
    rt.block_on(cold.shutdown());

    let prewarmed = executor(1, 60_000);
    let samples = (0..n(30) as u64)
        .map(|i| {
            wait_until("a prewarmed container", || prewarmed.prewarmed() == 1);
            run(&rt, &prewarmed, &action(2_000_000 + i))
        })
        .collect();
    assert!(
        prewarmed.prewarm_hits() >= n(30) as u64,
        "every sample hit a prewarm"
    );
    report("prewarm hit -> first result", samples, "-");
    rt.block_on(prewarmed.shutdown());

    let grace = 50;
    let pausing = executor(0, grace);
    let paused_action = action(3_000_000);
    run(&rt, &pausing, &paused_action);
    let samples = (0..n(30))
        .map(|_| {
            // Idle past the grace period: the engine reports the container paused.
            std::thread::sleep(Duration::from_millis(grace));
            wait_until("the container to be paused", || paused_containers() == 1);
            run(&rt, &pausing, &paused_action)
        })
        .collect();
    report("unpause + invoke", samples, "pause/resume 130-425 ms");
    rt.block_on(pausing.shutdown());

    transports(&rt, n);
}
