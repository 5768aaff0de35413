//! Container placement in a model of many hosts (`cargo bench -p shoal-benches --bench
//! placement`): the time of one decision with 100 hosts and 10,000 warm containers, and the
//! warm-hit ratio of the `home` and `least-loaded` policies on one replayed mixed workload.
//! Both run shoal's own placement code ([`Policy::place`]) on model hosts whose state is
//! kept as the pools keep theirs (a lock, a list of idle containers scanned for a key).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use shoal_containers::placement::{Demand, Home, LeastLoaded, Policy, Slot};
use shoal_containers::pool::WarmKey;

/// A host of the model.
struct Model {
    name_hash: u64,
    architecture: &'static str,
    tags: Vec<&'static str>,
    capacity_mb: u64,
    state: Mutex<Held>,
}

/// What a model host holds: busy memory, and idle warm containers with when they went idle.
#[derive(Default)]
struct Held {
    busy_mb: u64,
    idle: Vec<(WarmKey, u64, u64)>,
}

impl Slot for Model {
    fn name_hash(&self) -> u64 {
        self.name_hash
    }
    fn up(&self) -> bool {
        true
    }
    fn architecture(&self) -> &str {
        self.architecture
    }
    fn has_tag(&self, tag: &str) -> bool {
        self.tags.contains(&tag)
    }
    fn capacity_mb(&self) -> u64 {
        self.capacity_mb
    }
    fn free_mb(&self) -> u64 {
        let held = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.capacity_mb.saturating_sub(held.busy_mb)
    }
    fn has_warm(&self, key: &WarmKey) -> bool {
        let held = self.state.lock().unwrap_or_else(|e| e.into_inner());
        held.idle.iter().any(|(k, _, _)| k == key)
    }
}

/// SplitMix64: the model's random numbers, the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn key(n: u64) -> WarmKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[8..16].copy_from_slice(&n.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    WarmKey::from_bytes(bytes)
}

fn hosts(count: usize, capacity_mb: u64) -> Vec<Model> {
    let mut rng = Rng(7);
    (0..count)
        .map(|i| Model {
            name_hash: rng.next(),
            architecture: if i % 4 == 3 { "arm64" } else { "amd64" },
            tags: if i % 10 == 0 { vec!["gpu"] } else { Vec::new() },
            capacity_mb,
            state: Mutex::new(Held::default()),
        })
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One decision's time, with 100 hosts and 10,000 warm containers (100 each), for demands of
/// which a quarter name an architecture and a tenth a tag.
fn decision_time(policy: Policy) -> (u64, u64, u64) {
    let hosts = hosts(100, 64 * 1024);
    let mut rng = Rng(11);
    for (i, h) in hosts.iter().enumerate() {
        let mut held = h.state.lock().unwrap_or_else(|e| e.into_inner());
        held.busy_mb = rng.below(60 * 1024);
        held.idle = (0..100)
            .map(|j| (key((i * 100 + j) as u64), 0, 256))
            .collect();
    }
    let arm = vec!["arm64".to_string()];
    let gpu = vec!["gpu".to_string()];
    let none: Vec<String> = Vec::new();
    let mut times = Vec::with_capacity(200_000);
    let mut placed = 0usize;
    for n in 0..200_000u64 {
        let k = key(rng.below(20_000));
        let demand = Demand {
            key: &k,
            image: "img",
            architectures: (n % 4 == 0).then_some(arm.as_slice()),
            tags: if n % 10 == 0 { &gpu } else { &none },
            strict: false,
            memory_mb: 256,
        };
        let began = Instant::now();
        let chosen = policy.place(&demand, &hosts);
        times.push(began.elapsed().as_nanos() as u64);
        placed += usize::from(chosen.is_ok());
    }
    assert_eq!(placed, 200_000);
    times.sort_unstable();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        *times.last().unwrap_or(&0),
    )
}

/// What a replayed workload did under one policy.
struct Replay {
    activations: u64,
    warm_hits: u64,
    queued: u64,
}

/// Replays one trace: 400,000 activations of 3,000 actions (Zipf-like popularity, 128–512 MB,
/// runs of 10 ms to 2 s) arriving at random over 20 hosts of 8 GiB, busy about half the
/// time. An activation is warm when its host keeps an idle container of its action; a cold
/// one evicts the host's longest-idle containers to make room, and one that finds no room
/// even so counts as queued.
fn replay(policy: Policy) -> Replay {
    let hosts = hosts(20, 8 * 1024);
    let mut rng = Rng(23);
    let actions = 3_000u64;
    let memory: Vec<u64> = (0..actions).map(|_| 128 << rng.below(3)).collect();
    let mut ends: Vec<(u64, usize, WarmKey, u64)> = Vec::new();
    let mut result = Replay {
        activations: 0,
        warm_hits: 0,
        queued: 0,
    };
    let none: Vec<String> = Vec::new();
    let mut now = 0u64;
    for _ in 0..400_000 {
        now += rng.below(10_000) + 1;
        // Finished activations leave their container idle.
        ends.retain(|&(end, host, k, mb)| {
            if end > now {
                return true;
            }
            let mut held = hosts[host].state.lock().unwrap_or_else(|e| e.into_inner());
            held.busy_mb -= mb;
            held.idle.push((k, end, mb));
            false
        });
        let action = ((actions as f64).powf(rng.unit()) as u64).min(actions - 1);
        let k = key(action);
        let mb = memory[action as usize];
        let demand = Demand {
            key: &k,
            image: "img",
            architectures: None,
            tags: &none,
            strict: true,
            memory_mb: mb,
        };
        let Ok(i) = policy.place(&demand, &hosts) else {
            continue;
        };
        result.activations += 1;
        let mut held = hosts[i].state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = held.idle.iter().position(|(w, _, _)| *w == k) {
            held.idle.swap_remove(at);
            result.warm_hits += 1;
        } else {
            // Longest idle last, so it goes first.
            held.idle
                .sort_by_key(|&(_, since, _)| std::cmp::Reverse(since));
            let mut idle_mb: u64 = held.idle.iter().map(|&(_, _, m)| m).sum();
            while held.busy_mb + idle_mb + mb > hosts[i].capacity_mb {
                match held.idle.pop() {
                    Some((_, _, freed)) => idle_mb -= freed,
                    None => break,
                }
            }
            if held.busy_mb + mb > hosts[i].capacity_mb {
                result.queued += 1;
                continue;
            }
        }
        held.busy_mb += mb;
        let runs = 10_000 + rng.below(2_000_000);
        ends.push((now + runs, i, k, mb));
    }
    result
}

fn main() {
    println!("placement decision, 100 hosts, 10,000 warm containers, 200,000 decisions:");
    println!("| policy | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for policy in [Policy::Home(Home), Policy::LeastLoaded(LeastLoaded)] {
        let (p50, p99, max) = decision_time(policy);
        println!(
            "| {} | {:.2} µs | {:.2} µs | {:.1} µs |",
            policy.name(),
            p50 as f64 / 1e3,
            p99 as f64 / 1e3,
            max as f64 / 1e3
        );
    }
    println!();
    println!("replayed workload, 20 hosts of 8 GiB, 3,000 actions, 400,000 activations:");
    println!("| policy | warm hits | cold starts | queued |");
    println!("|---|---|---|---|");
    let mut ratios = HashMap::new();
    for policy in [Policy::Home(Home), Policy::LeastLoaded(LeastLoaded)] {
        let r = replay(policy);
        let ratio = r.warm_hits as f64 / r.activations as f64;
        ratios.insert(policy.name(), ratio);
        println!(
            "| {} | {:.1}% | {} | {} |",
            policy.name(),
            ratio * 100.0,
            r.activations - r.warm_hits,
            r.queued
        );
    }
    println!(
        "\nwarm-hit ratio, home over least-loaded: x{:.2}",
        ratios["home"] / ratios["least-loaded"]
    );
}
