//! `shoal-load`: the load harness. Starts the real `shoal` binary, creates a hello-world JS
//! action and the echo action in WASM (both WASM ABIs), drives blocking invokes (activations
//! persisted) of each with `wrk`, interleaved in one run, and prints WASM's figures as ratios
//! to JS's; then fires a trigger; then measures a namespace's hello-world and `/ping` while
//! another namespace's CPU-bound JS and WASM loops spin; then compares a hello-world web action
//! called through the built-in API gateway with the same web action called directly; then
//! deploys many distinct actions,
//! invokes each once so all are resident, and reports the server's RSS. Every process it
//! starts is stopped before it exits. See `benches/README.md`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use shoal_benches::cluster::Cluster;
use shoal_benches::http::{basic, request};
use shoal_benches::server::{GUEST, LOAD_CONFIG, Shoal, cpu_us};
use shoal_benches::wrk::{self, WrkResult};

struct Args {
    shoal: PathBuf,
    connections: Vec<u32>,
    seconds: u32,
    /// Resident action counts the density scenario measures, one fresh server each.
    actions: Vec<u32>,
    pin: bool,
    scenarios: Vec<String>,
}

/// Every scenario, in the order they run.
const SCENARIOS: &str = "throughput,fires,neighbours,gateway,density,cluster";

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        shoal: PathBuf::from("target/release/shoal"),
        connections: vec![64],
        seconds: 10,
        actions: vec![10_000],
        pin: false,
        scenarios: SCENARIOS.split(',').map(str::to_string).collect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--shoal" => args.shoal = PathBuf::from(value()?),
            "--connections" => {
                args.connections = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => args.seconds = value()?.parse()?,
            "--actions" => {
                args.actions = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--pin" => args.pin = true,
            "--scenarios" => {
                args.scenarios = value()?.split(',').map(str::to_string).collect();
                if let Some(bad) = args
                    .scenarios
                    .iter()
                    .find(|s| !SCENARIOS.contains(s.as_str()))
                {
                    bail!("unknown scenario {bad} (known: {SCENARIOS})");
                }
            }
            "--help" | "-h" => {
                println!(
                    "shoal-load [--shoal PATH] [--connections 1,64] [--seconds 10] [--actions 10000,100000] [--pin] [--scenarios {SCENARIOS}]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

fn wrk(
    pin: bool,
    threads: u32,
    connections: u32,
    seconds: u32,
    script: &std::path::Path,
    url: &str,
) -> anyhow::Result<WrkResult> {
    wrk::Run {
        cpus: pin.then_some("1"),
        threads,
        connections,
        seconds,
        script: Some(script),
        url,
    }
    .run()
}

/// A 2 s warm-up, then the measured `seconds` of wrk at `connections` (one or two threads).
fn warmed(
    cpus: Option<&str>,
    connections: u32,
    seconds: u32,
    script: Option<&std::path::Path>,
    url: &str,
) -> anyhow::Result<WrkResult> {
    let run = |seconds| {
        wrk::Run {
            cpus,
            threads: connections.clamp(1, 2),
            connections,
            seconds,
            script,
            url,
        }
        .run()
    };
    run(2)?;
    run(seconds)
}

fn count_activations(shoal: &Shoal) -> anyhow::Result<u64> {
    let (status, body) = request(
        shoal.addr,
        "GET",
        "/api/v1/namespaces/_/activations?count=true",
        GUEST,
        "",
    )?;
    if status != 200 {
        bail!("count failed: {status} {body}");
    }
    let v: serde_json::Value = serde_json::from_str(&body)?;
    v["activations"].as_u64().context("no count")
}

fn put_action(shoal: &Shoal, name: &str, code: &str) -> anyhow::Result<()> {
    put_exec(
        shoal,
        name,
        serde_json::json!({"kind": "nodejs:default", "code": code}),
    )
}

fn put_exec(shoal: &Shoal, name: &str, exec: serde_json::Value) -> anyhow::Result<()> {
    put_as(shoal, GUEST, name, serde_json::json!({ "exec": exec }))
}

/// PUTs action `name` with `body` as the namespace of `auth`.
fn put_as(shoal: &Shoal, auth: &str, name: &str, body: serde_json::Value) -> anyhow::Result<()> {
    let (status, text) = request(
        shoal.addr,
        "PUT",
        &format!("/api/v1/namespaces/_/actions/{name}?overwrite=true"),
        auth,
        &body.to_string(),
    )?;
    if status != 200 {
        bail!("creating {name}: {status} {text}");
    }
    Ok(())
}

/// The hello-world action every run uses.
const HELLO: &str = include_str!("../../../fixtures/js/hello.js");
/// The echo action as a WASI command (params on stdin, result on stdout).
const ECHO_WASM: &str = include_str!("../../../fixtures/wasm/echo.wat");
/// The same echo action on the direct ABI (`alloc` + `run`, no WASI context).
const ECHO_WASM_DIRECT: &str = include_str!("../../../fixtures/wasm/echo_direct.wat");

/// A wrk script that POSTs `{"name":"load"}` as the guest namespace.
fn post_script(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{{\"name\":\"load\"}}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"{}\"\n",
            basic(GUEST)
        ),
    )?;
    Ok(script)
}

/// Waits until the activation count holds still for 500 ms (or `limit` passes).
fn settle(shoal: &Shoal, limit: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + limit;
    let mut last = count_activations(shoal)?;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(500));
        let now = count_activations(shoal)?;
        if now == last {
            break;
        }
        last = now;
    }
    Ok(())
}

fn put(shoal: &Shoal, path: &str, body: serde_json::Value) -> anyhow::Result<()> {
    let (status, text) = request(shoal.addr, "PUT", path, GUEST, &body.to_string())?;
    if status != 200 {
        bail!("PUT {path}: {status} {text}");
    }
    Ok(())
}

fn get_json(shoal: &Shoal, path: &str) -> anyhow::Result<serde_json::Value> {
    let (status, text) = request(shoal.addr, "GET", path, GUEST, "")?;
    if status != 200 {
        bail!("GET {path}: {status} {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    sorted[((sorted.len() - 1) as f64 * q) as usize]
}

/// Trigger fires over HTTP with one rule to the hello-world action: fires/s and latency of
/// the fire request (202, answered before the rule runs), then, from the activation records
/// of the last fires, how long after the fire arrived the rule's action started (ms).
fn fires(args: &Args) -> anyhow::Result<()> {
    let shoal = Shoal::start(&args.shoal, args.pin.then_some("0"))?;
    put_action(&shoal, "hello", HELLO)?;
    put(
        &shoal,
        "/api/v1/namespaces/_/triggers/t",
        serde_json::json!({}),
    )?;
    put(
        &shoal,
        "/api/v1/namespaces/_/rules/r",
        serde_json::json!({"trigger": "/_/t", "action": "/_/hello"}),
    )?;
    let dir = tempfile::tempdir()?;
    let script = post_script(dir.path())?;
    let url = format!("http://{}/api/v1/namespaces/_/triggers/t", shoal.addr);
    println!();
    println!(
        "trigger fire over HTTP, one rule to the hello-world action ({}s per run):",
        args.seconds
    );
    println!(
        "{:>11} {:>12} {:>10} {:>10} {:>9}",
        "connections", "fires/s", "p50", "p99", "non-2xx"
    );
    for &c in &args.connections {
        let threads = c.clamp(1, 2);
        wrk(args.pin, threads, c, 2, &script, &url)?;
        let r = wrk(args.pin, threads, c, args.seconds, &script, &url)?;
        println!(
            "{:>11} {:>12.0} {:>8.0}µs {:>8.0}µs {:>9}",
            c, r.rps, r.p50_us, r.p99_us, r.errors
        );
    }
    // Fires are answered before their rules run: let the queued rule actions finish (the count
    // of activations stops growing) before reading their records.
    settle(&shoal, Duration::from_secs(30))?;
    let recent = get_json(
        &shoal,
        "/api/v1/namespaces/_/activations?name=t&limit=200&docs=true",
    )?;
    let mut delays = Vec::new();
    for fire in recent.as_array().into_iter().flatten() {
        let Some(line) = fire["logs"][0].as_str() else {
            continue;
        };
        let log: serde_json::Value = serde_json::from_str(line)?;
        let Some(id) = log["activationId"].as_str() else {
            continue;
        };
        let action = get_json(&shoal, &format!("/api/v1/namespaces/_/activations/{id}"))?;
        delays.push(action["start"].as_i64().unwrap_or(0) - fire["start"].as_i64().unwrap_or(0));
    }
    delays.sort_unstable();
    if !delays.is_empty() {
        println!(
            "fire received -> rule action started (last {} fires, ms resolution): p50 {} ms, p99 {} ms",
            delays.len(),
            percentile(&delays, 0.5),
            percentile(&delays, 0.99)
        );
    }
    Ok(())
}

/// Blocking invokes of the hello-world JS action and of the WASM echo action in both ABIs on
/// one server, the three interleaved per connection count so that they see the same machine;
/// WASM's invokes/s, p50 and p99 are then printed as ratios to JS's.
fn throughput(args: &Args) -> anyhow::Result<()> {
    let shoal = Shoal::start(&args.shoal, args.pin.then_some("0"))?;
    put_action(&shoal, "hello", HELLO)?;
    put_exec(
        &shoal,
        "echo-wasm",
        serde_json::json!({"kind": "wasm", "code": ECHO_WASM}),
    )?;
    put_exec(
        &shoal,
        "echo-wasm-direct",
        serde_json::json!({"kind": "wasm", "code": ECHO_WASM_DIRECT}),
    )?;
    let actions = [
        ("js", "hello"),
        ("wasm", "echo-wasm"),
        ("wasm-direct", "echo-wasm-direct"),
    ];
    let dir = tempfile::tempdir()?;
    let script = post_script(dir.path())?;
    println!(
        "blocking invoke over HTTP, activation persisted: hello-world JS, echo in WASM (WASI command and direct ABI) ({}s per run, wrk{}):",
        args.seconds,
        if args.pin {
            " on core 1, shoal on core 0"
        } else {
            ""
        }
    );
    println!(
        "{:>12} {:>11} {:>12} {:>10} {:>10} {:>9} {:>10}",
        "action", "connections", "invokes/s", "p50", "p99", "non-2xx", "persisted"
    );
    for &c in &args.connections {
        let threads = c.clamp(1, 2);
        let mut measured = Vec::new();
        for (label, name) in actions {
            let url = format!(
                "http://{}/api/v1/namespaces/_/actions/{name}?blocking=true",
                shoal.addr
            );
            wrk(args.pin, threads, c, 2, &script, &url)?; // warm-up
            let before = count_activations(&shoal)?;
            let r = wrk(args.pin, threads, c, args.seconds, &script, &url)?;
            std::thread::sleep(Duration::from_millis(500));
            let persisted = count_activations(&shoal)? - before;
            println!(
                "{:>12} {:>11} {:>12.0} {:>8.0}µs {:>8.0}µs {:>9} {:>9.1}%",
                label,
                c,
                r.rps,
                r.p50_us,
                r.p99_us,
                r.errors,
                100.0 * persisted as f64 / r.requests.max(1) as f64
            );
            measured.push((label, r));
        }
        let (_, js) = &measured[0];
        for (label, r) in &measured[1..] {
            println!(
                "{:>12} {:>11} {label}/js: invokes/s x{:.2}, p50 x{:.2}, p99 x{:.2}",
                "",
                c,
                r.rps / js.rps,
                r.p50_us / js.p50_us,
                r.p99_us / js.p99_us
            );
        }
    }
    Ok(())
}

/// Alternating rounds of the same hello-world web action called directly
/// (`/api/v1/web/guest/default/hello.json`) and through a gateway route
/// (`/api/{tenant}/bench/hello`, the route's API taking no keys and no rate limit): req/s, p50
/// and p99 of each, and the gateway's ratios to the direct call, per round and as the median
/// of the rounds.
fn gateway(args: &Args) -> anyhow::Result<()> {
    const ROUNDS: usize = 3;
    let shoal = Shoal::start(&args.shoal, args.pin.then_some("0"))?;
    put(
        &shoal,
        "/api/v1/namespaces/_/actions/hello?overwrite=true",
        serde_json::json!({
            "exec": {"kind": "nodejs:default", "code": HELLO},
            "annotations": [{"key": "web-export", "value": true}],
        }),
    )?;
    let apidoc = serde_json::json!({"apidoc": {
        "namespace": "_", "gatewayBasePath": "/bench", "gatewayPath": "/hello",
        "gatewayMethod": "GET", "action": {"name": "hello", "namespace": "_",
        "backendMethod": "GET", "backendUrl": "http://h/api/v1/web/_/default/hello.http",
        "authkey": GUEST}}});
    let (status, text) = request(
        shoal.addr,
        "POST",
        "/api/v1/web/whisk.system/apimgmt/createApi",
        GUEST,
        &apidoc.to_string(),
    )?;
    if status != 200 {
        bail!("createApi: {status} {text}");
    }
    let tenant = GUEST.split(':').next().unwrap_or_default();
    let direct = format!(
        "http://{}/api/v1/web/guest/default/hello.json?name=load",
        shoal.addr
    );
    let routed = format!("http://{}/api/{tenant}/bench/hello?name=load", shoal.addr);
    let c = args.connections.iter().copied().max().unwrap_or(64);
    let cpus = args.pin.then_some("1");
    let measure = |url: &str| warmed(cpus, c, args.seconds, None, url);
    println!();
    println!(
        "gateway: hello-world web action, direct and through a gateway route, {c} connections, {}s each, {ROUNDS} alternating rounds:",
        args.seconds
    );
    println!(
        "{:>6} {:>8} {:>12} {:>10} {:>10} {:>9}",
        "round", "path", "req/s", "p50", "p99", "non-2xx"
    );
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        let d = measure(&direct)?;
        let g = measure(&routed)?;
        for (path, r) in [("direct", &d), ("gateway", &g)] {
            println!(
                "{:>6} {:>8} {:>12.0} {:>8.0}µs {:>8.0}µs {:>9}",
                round, path, r.rps, r.p50_us, r.p99_us, r.errors
            );
        }
        let ratio = (g.rps / d.rps, g.p50_us / d.p50_us, g.p99_us / d.p99_us);
        println!(
            "{:>6} gateway/direct: req/s x{:.2}, p50 x{:.2}, p99 x{:.2}",
            round, ratio.0, ratio.1, ratio.2
        );
        ratios.push(ratio);
    }
    let of = |pick: fn(&(f64, f64, f64)) -> f64| median(ratios.iter().map(pick).collect());
    println!(
        "median gateway/direct over {ROUNDS} rounds: req/s x{:.2}, p50 x{:.2}, p99 x{:.2}",
        of(|r| r.0),
        of(|r| r.1),
        of(|r| r.2)
    );
    Ok(())
}

/// A WASM loop that only its deadline ends.
const SPIN_WAT: &str = "(module (func (export \"alloc\") (param i32) (result i32) i32.const 0) (memory (export \"memory\") 1) (func (export \"run\") (param i32 i32) (result i64) (loop br 0) i64.const 0))";

/// One namespace's hello-world (blocking invokes) and `/ping`, first on a quiet server, then
/// while another namespace runs CPU-bound loops (`loops` JS or WASM activations that spin
/// until their deadline); prints each figure and the loud/quiet ratios.
fn neighbours(args: &Args) -> anyhow::Result<()> {
    let shoal = Shoal::start(&args.shoal, None)?;
    let noisy = shoal.create_namespace("noisy")?;
    put_action(&shoal, "hello", HELLO)?;
    // The loops outlast both measurements of a round (hello and ping, warm-up included).
    let timeout = (2 * (args.seconds + 2) + 4) * 1000;
    let spin = |kind: &str, code: &str| serde_json::json!({"exec": {"kind": kind, "code": code}, "limits": {"timeout": timeout}});
    put_as(
        &shoal,
        &noisy,
        "spin-js",
        spin("nodejs:20", "function main() { for (;;) {} }"),
    )?;
    put_as(&shoal, &noisy, "spin-wasm", spin("wasm", SPIN_WAT))?;
    let dir = tempfile::tempdir()?;
    let script = post_script(dir.path())?;
    let hello = format!(
        "http://{}/api/v1/namespaces/_/actions/hello?blocking=true",
        shoal.addr
    );
    let ping = format!("http://{}/ping", shoal.addr);
    let c = args.connections.iter().copied().max().unwrap_or(64);
    let measure =
        |script: Option<&std::path::Path>, url: &str| warmed(None, c, args.seconds, script, url);
    println!();
    println!(
        "neighbours: guest's hello-world (blocking invoke) and /ping, {c} connections, {}s each, quiet and while namespace noisy runs 2 CPU-bound loops:",
        args.seconds
    );
    // wrk's latencies cover completed requests only: a request stuck behind a loop shows up
    // as a socket error (its timeout), not in p99.
    println!(
        "{:>10} {:>6} {:>12} {:>10} {:>10} {:>9} {:>9}",
        "noise", "route", "req/s", "p50", "p99", "non-2xx", "sock-err"
    );
    let row = |noise: &str, route: &str, r: &WrkResult| {
        println!(
            "{:>10} {:>6} {:>12.0} {:>8.0}µs {:>8.0}µs {:>9} {:>9}",
            noise, route, r.rps, r.p50_us, r.p99_us, r.errors, r.socket_errors
        )
    };
    let quiet = (measure(Some(&script), &hello)?, measure(None, &ping)?);
    row("none", "hello", &quiet.0);
    row("none", "ping", &quiet.1);
    for noise in ["spin-js", "spin-wasm"] {
        // Started from threads of their own: a shoal that cannot isolate them answers these
        // non-blocking invokes only once the loops end.
        let starts: Vec<_> = (0..2)
            .map(|_| {
                let (addr, noisy) = (shoal.addr, noisy.clone());
                let path = format!("/api/v1/namespaces/_/actions/{noise}");
                std::thread::spawn(move || request(addr, "POST", &path, &noisy, "{}"))
            })
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        let loud = (measure(Some(&script), &hello)?, measure(None, &ping)?);
        for start in starts {
            let (status, text) = start
                .join()
                .map_err(|_| anyhow::anyhow!("start panicked"))??;
            if status != 202 {
                bail!("starting {noise}: {status} {text}");
            }
        }
        row(noise, "hello", &loud.0);
        row(noise, "ping", &loud.1);
        println!(
            "{:>10} loud/quiet: hello req/s x{:.2}, p99 x{:.1}; ping p99 x{:.1}",
            noise,
            loud.0.rps / quiet.0.rps,
            loud.0.p99_us / quiet.0.p99_us,
            loud.1.p99_us / quiet.1.p99_us
        );
        // Let the loops reach their deadline before the next kind starts.
        std::thread::sleep(Duration::from_secs(5));
    }
    Ok(())
}

/// What the density servers are allowed to keep resident: every action deployed stays.
const DENSITY_CONFIG: &str =
    "[isolates]\nmax_resident = 1000000\nmax_resident_mib = 65536\nidle_ttl_secs = 3600\n";

/// For each count in `--actions`: a fresh server, that many distinct hello-world JS actions
/// deployed and each invoked once (so that every one has an isolate), then the server's RSS
/// and the RSS per resident action.
fn density(args: &Args) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for &count in &args.actions {
        lines.push(density_at(args, count)?);
    }
    println!();
    println!("density: distinct JS actions deployed, then each invoked once (resident)");
    println!(
        "  {:>8} {:>12} {:>14} {:>16} {:>18} {:>8}",
        "actions", "RSS at start", "RSS deployed", "RSS resident", "KiB per resident", "time"
    );
    for line in lines {
        println!("{line}");
    }
    println!(
        "  KiB per resident: (RSS resident - RSS deployed) / actions: each isolate's own cost"
    );
    Ok(())
}

fn density_at(args: &Args, count: u32) -> anyhow::Result<String> {
    let shoal = Shoal::start_with(&args.shoal, None, DENSITY_CONFIG)?;
    let baseline = shoal.rss_bytes()?;
    let started = Instant::now();
    for i in 0..count {
        let code = format!(
            "let n{i} = 0; function main(p) {{ n{i} += 1; return {{ action: {i}, calls: n{i} }}; }}"
        );
        put_action(&shoal, &format!("d{i}"), &code)?;
    }
    let deployed = shoal.rss_bytes()?;
    for i in 0..count {
        let (status, body) = request(
            shoal.addr,
            "POST",
            &format!("/api/v1/namespaces/_/actions/d{i}?blocking=true&result=true"),
            GUEST,
            "{}",
        )?;
        if status != 200 || !body.contains(&format!("\"action\":{i}")) {
            bail!("invoking d{i}: {status} {body}");
        }
    }
    let resident = shoal.rss_bytes()?;
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
    Ok(format!(
        "  {count:>8} {:>12} {:>14} {:>16} {:>14.1} KiB {:>7.0}s",
        mib(baseline),
        mib(deployed),
        mib(resident),
        resident.saturating_sub(deployed) as f64 / 1024.0 / f64::from(count.max(1)),
        started.elapsed().as_secs_f64()
    ))
}

/// Runs `work` and returns what it gave with the CPU time (µs) the processes of each role
/// used meanwhile. A process that ended meanwhile (a PostgreSQL autovacuum worker) counts
/// what it had used before.
fn cpu_during<R>(
    roles: &[(&'static str, Vec<u32>)],
    work: impl FnOnce() -> anyhow::Result<R>,
) -> anyhow::Result<(R, Vec<f64>)> {
    let read = || -> Vec<Vec<Option<f64>>> {
        let of = |pids: &Vec<u32>| pids.iter().map(|&pid| cpu_us(pid).ok()).collect();
        roles.iter().map(|(_, pids)| of(pids)).collect()
    };
    let before = read();
    let done = work()?;
    let after = read();
    let used = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            let delta = |(b, a): (&Option<f64>, &Option<f64>)| match (b, a) {
                (Some(b), Some(a)) => a - b,
                _ => 0.0,
            };
            b.iter().zip(a).map(delta).sum()
        })
        .collect();
    Ok((done, used))
}

/// The median of `values` (not empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Blocking invokes of the hello-world action with persisted activations, at the largest
/// connection count: one node on SQLite against two nodes on PostgreSQL behind HAProxy
/// (`deploy/cluster.sh`), in three alternating rounds; per run the invokes/s, p50, p99 and
/// the CPU per activation of every process involved (shoal, PostgreSQL, HAProxy), then the
/// cluster/single ratios' medians. On one machine the cluster's processes share its cores,
/// so its invokes/s says what sharing costs, not what more machines would give.
fn cluster(args: &Args) -> anyhow::Result<()> {
    let single = Shoal::start(&args.shoal, None)?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("load.toml");
    std::fs::write(&config, LOAD_CONFIG)?;
    let cluster = Cluster::start(&args.shoal, 2, &config)?;
    put_action(&single, "hello", HELLO)?;
    let body = serde_json::json!({"exec": {"kind": "nodejs:default", "code": HELLO}});
    let path = "/api/v1/namespaces/_/actions/hello?overwrite=true";
    let (status, text) = request(cluster.addr(), "PUT", path, GUEST, &body.to_string())?;
    if status != 200 {
        bail!("creating hello on the cluster: {status} {text}");
    }
    let script = post_script(dir.path())?;
    let connections = *args.connections.iter().max().unwrap_or(&64);
    let setups = [
        ("1 node, SQLite", Some(single.addr)),
        ("2 nodes, PostgreSQL", None),
        ("1 of them, direct", Some(cluster.node_addr(1)?)),
    ];
    println!(
        "blocking invoke of hello-world JS, activation persisted, {connections} connections, {}s per run, 3 alternating rounds:",
        args.seconds
    );
    println!(
        "{:>20} {:>10} {:>9} {:>9} {:>8} {:>12}  CPU µs per activation by process",
        "setup", "invokes/s", "p50", "p99", "non-2xx", "CPU µs/act"
    );
    let mut ratios: [Vec<f64>; 4] = Default::default();
    for _ in 0..3 {
        let mut round = Vec::new();
        for (i, (label, direct)) in setups.iter().enumerate() {
            // Read per run: PostgreSQL starts a backend per new connection.
            let roles = match i {
                0 => vec![("shoal", vec![single.pid()])],
                _ => cluster.processes()?,
            };
            let addr = direct.unwrap_or(cluster.addr());
            let url = format!("http://{addr}/api/v1/namespaces/_/actions/hello?blocking=true");
            wrk(false, 2, connections, 2, &script, &url)?; // warm-up
            let (r, used) = cpu_during(&roles, || {
                wrk(false, 2, connections, args.seconds, &script, &url)
            })?;
            let per = |i: usize| used[i] / r.requests.max(1) as f64;
            let total: f64 = (0..roles.len()).map(per).sum();
            let split: Vec<String> = roles
                .iter()
                .enumerate()
                .map(|(i, (role, _))| format!("{role} {:.1}", per(i)))
                .collect();
            println!(
                "{:>20} {:>10.0} {:>7.0}µs {:>7.0}µs {:>8} {:>12.1}  {}",
                label,
                r.rps,
                r.p50_us,
                r.p99_us,
                r.errors,
                total,
                split.join(", ")
            );
            round.push((r, total));
        }
        let ((one, one_cpu), (two, two_cpu)) = (&round[0], &round[1]);
        for (ratio, value) in ratios.iter_mut().zip([
            two.rps / one.rps,
            two.p50_us / one.p50_us,
            two.p99_us / one.p99_us,
            two_cpu / one_cpu,
        ]) {
            ratio.push(value);
        }
    }
    let [rps, p50, p99, cpu] = ratios.map(median);
    println!(
        "median cluster/single: invokes/s x{rps:.2}, p50 x{p50:.2}, p99 x{p99:.2}, CPU per activation x{cpu:.2}"
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if !args.shoal.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p shoal`",
            args.shoal.display()
        );
    }
    let run = |name: &str| args.scenarios.iter().any(|s| s == name);
    if run("throughput") {
        throughput(&args)?;
    }
    if run("fires") {
        fires(&args)?;
    }
    if run("neighbours") {
        neighbours(&args)?;
    }
    if run("gateway") {
        gateway(&args)?;
    }
    if run("density") {
        density(&args)?;
    }
    if run("cluster") {
        cluster(&args)?;
    }
    Ok(())
}
