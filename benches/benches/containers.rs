//! The container domain on a real Docker engine, in-process through `ContainerExecutor`
//! (no HTTP in front): cold create → first result, prewarm hit → first result, warm invoke,
//! unpause + invoke, each with p50 and p99, beside OpenWhisk's published Docker figures.
//!
//! Needs an engine and the test images:
//! `export DOCKER_HOST=$(container-fallback/images/engine.sh start)` then
//! `container-fallback/images/build.sh`, then `cargo bench -p shoal-benches --bench containers`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_benches::sample;
use shoal_containers::pool::OWNER_LABEL;
use shoal_containers::{ContainerConfig, ContainerExecutor, Runtime, StemCell};
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
}
