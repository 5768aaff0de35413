//! `shoal-peers`: the side-by-side load harness. Runs the same hello-world (`Hello, World!` as
//! `text/plain`) through a shoal JS web action, Cloudflare's `workerd`, `deno` (`Deno.serve`),
//! a plain Node.js `http` server and the HTTP floor (`hyper` alone with shoal's server
//! settings, see `shoal_benches::floor`), drives each with the same `wrk` runs (keep-alive, warm-up,
//! 1 and 64 connections, server on core 0 and wrk on core 1) and prints one table with each
//! peer's ratio to shoal. It installs `workerd` (npm) and `deno` (PyPI) into a cache under
//! `target/` and stops every process it starts. See `benches/README.md`.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use shoal_benches::floor;
use shoal_benches::http::request;
use shoal_benches::server::{GUEST, Shoal, cpu_us, thread_cpu_us};
use shoal_benches::wrk::{self, WrkResult};

/// The allocator the `shoal` binary ships with, for the `hyper` peer this binary runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The pinned peer versions the harness installs.
const WORKERD_PACKAGE: &str = "@cloudflare/workerd-linux-64";
const WORKERD_VERSION: &str = "1.20261117.1";
const DENO_VERSION: &str = "2.9.8";

/// What every server answers.
const HELLO: &str = "Hello, World!";

const SHOAL_ACTION: &str = include_str!("../../peers/hello.js");
const WORKERD_WORKER: &str = include_str!("../../peers/worker.js");
const WORKERD_CONFIG: &str = include_str!("../../peers/workerd.capnp");
const DENO_SCRIPT: &str = include_str!("../../peers/deno.js");
const NODE_SCRIPT: &str = include_str!("../../peers/node.js");

/// Core for the servers and core for wrk, when pinning.
const SERVER_CPU: &str = "0";
const WRK_CPU: &str = "1";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Shoal,
    Workerd,
    Deno,
    Node,
    /// The HTTP floor: this binary serving with hyper alone (`--serve-hyper PORT`).
    Hyper,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Shoal,
        Kind::Workerd,
        Kind::Deno,
        Kind::Node,
        Kind::Hyper,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Shoal => "shoal",
            Kind::Workerd => "workerd",
            Kind::Deno => "deno",
            Kind::Node => "node",
            Kind::Hyper => "hyper",
        }
    }
}

struct Args {
    shoal: PathBuf,
    cache: PathBuf,
    connections: Vec<u32>,
    seconds: u32,
    warmup: u32,
    servers: Vec<Kind>,
    pin: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    // Defaults relative to the binary (target/release/shoal-peers): its sibling `shoal` and
    // a cache in `target/peers`.
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"));
    let target = exe_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let mut args = Args {
        shoal: exe_dir.join("shoal"),
        cache: target.join("peers"),
        connections: vec![1, 64],
        seconds: 10,
        warmup: 2,
        servers: Kind::ALL.to_vec(),
        pin: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--shoal" => args.shoal = PathBuf::from(value()?),
            "--cache" => args.cache = PathBuf::from(value()?),
            "--connections" => {
                args.connections = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => args.seconds = value()?.parse()?,
            "--warmup" => args.warmup = value()?.parse()?,
            "--servers" => {
                args.servers = value()?
                    .split(',')
                    .map(|s| {
                        Kind::ALL
                            .into_iter()
                            .find(|k| k.name() == s)
                            .with_context(|| format!("unknown server {s}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--no-pin" => args.pin = false,
            "--help" | "-h" => {
                println!(
                    "shoal-peers [--shoal PATH] [--cache DIR] [--connections 1,64] [--seconds 10] [--warmup 2] [--servers shoal,workerd,deno,node,hyper] [--no-pin]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if args.seconds == 0 || args.seconds > 120 || args.warmup > 60 {
        bail!("--seconds must be 1..=120 and --warmup at most 60");
    }
    if args.connections.is_empty() || args.connections.iter().any(|&c| c == 0 || c > 1024) {
        bail!("--connections must be 1..=1024 each");
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------------
// Installing the peers

fn run_quiet(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `npm install` of the pinned workerd into a private prefix; returns the binary.
fn install_workerd(cache: &Path) -> anyhow::Result<PathBuf> {
    let prefix = cache.join(format!("workerd-{WORKERD_VERSION}"));
    let bin = prefix
        .join("node_modules")
        .join(WORKERD_PACKAGE)
        .join("bin/workerd");
    if !bin.exists() {
        std::fs::create_dir_all(&prefix)?;
        eprintln!(
            "installing {WORKERD_PACKAGE}@{WORKERD_VERSION} (npm) into {}",
            prefix.display()
        );
        run_quiet(
            Command::new("npm")
                .args(["install", "--prefix"])
                .arg(&prefix)
                .args([
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--no-package-lock",
                    "--loglevel=error",
                ])
                .arg(format!("{WORKERD_PACKAGE}@{WORKERD_VERSION}")),
            "npm install",
        )?;
        if !bin.exists() {
            bail!(
                "npm installed {WORKERD_PACKAGE} but {} is missing",
                bin.display()
            );
        }
    }
    Ok(bin)
}

/// `pip install --target` of the pinned deno wheel; returns the binary it ships.
fn install_deno(cache: &Path) -> anyhow::Result<PathBuf> {
    let target = cache.join(format!("deno-{DENO_VERSION}"));
    if find_executable(&target, "deno").is_none() {
        std::fs::create_dir_all(&target)?;
        eprintln!(
            "installing deno=={DENO_VERSION} (PyPI) into {}",
            target.display()
        );
        run_quiet(
            Command::new("python3")
                .args(["-m", "pip", "install", "--target"])
                .arg(&target)
                .args([
                    "--no-deps",
                    "--upgrade",
                    "--disable-pip-version-check",
                    "--quiet",
                ])
                .arg(format!("deno=={DENO_VERSION}")),
            "pip install",
        )?;
    }
    find_executable(&target, "deno")
        .with_context(|| format!("no deno binary under {}", target.display()))
}

/// The first regular, executable file called `name` under `dir` (depth-first).
fn find_executable(dir: &Path, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in &entries {
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_file() && e.file_name() == name && meta.permissions().mode() & 0o111 != 0 {
            return Some(path);
        }
    }
    entries
        .iter()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .find_map(|e| find_executable(&e.path(), name))
}

fn version_of(bin: &Path, arg: &str) -> String {
    Command::new(bin)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Running the servers

/// A peer server process, stopped (SIGTERM, then SIGKILL after 3 s) when dropped.
struct Proc {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Proc {
    fn spawn(
        name: &'static str,
        program: &Path,
        args: &[&std::ffi::OsStr],
        cpus: Option<&str>,
        dir: &Path,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> anyhow::Result<Proc> {
        let log = dir.join(format!("{name}.log"));
        let mut cmd = match cpus {
            // taskset execs the program, so the child's pid is the server's.
            Some(c) => {
                let mut t = Command::new("taskset");
                t.args(["-c", c]).arg(program);
                t
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&log)?))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log)?,
            ));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Proc { child, name, log })
    }

    fn exited(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            bail!("{} exited ({status}) before serving:\n{log}", self.name);
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's pid with a valid signal number has no memory effects.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server under test: the process (stopped on drop) and where to load it.
enum Handle {
    Shoal(Shoal),
    Peer(Proc),
}

struct Running {
    handle: Handle,
    addr: SocketAddr,
    path: String,
    /// Holds the generated sources and logs of a peer; removed after the process is stopped
    /// (fields drop in declaration order).
    _dir: Option<tempfile::TempDir>,
}

impl Running {
    fn pid(&self) -> u32 {
        match &self.handle {
            Handle::Shoal(s) => s.pid(),
            Handle::Peer(p) => p.child.id(),
        }
    }

    /// A peer process serving the hello-world at `/` on `addr`, its files in `dir`.
    fn peer(p: Proc, addr: SocketAddr, dir: tempfile::TempDir) -> Running {
        Running {
            handle: Handle::Peer(p),
            addr,
            path: "/".into(),
            _dir: Some(dir),
        }
    }

    fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// Waits until `GET path` answers 200 with the hello-world body.
fn wait_ready(running: &mut Running, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Handle::Peer(p) = &mut running.handle {
            p.exited()?;
        }
        match request(running.addr, "GET", &running.path, "", "") {
            Ok((200, body)) if body == HELLO => return Ok(()),
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("not serving {HELLO:?} after {timeout:?}; last answer: {last}")
}

fn start(kind: Kind, args: &Args, peers: &Peers) -> anyhow::Result<Running> {
    let cpus = args.pin.then_some(SERVER_CPU);
    let dir = tempfile::tempdir()?;
    let mut running = match kind {
        Kind::Shoal => {
            let shoal = Shoal::start(&args.shoal, cpus)?;
            let body = serde_json::json!({
                "exec": {"kind": "nodejs:default", "code": SHOAL_ACTION},
                "annotations": [{"key": "web-export", "value": true}],
            })
            .to_string();
            let (status, text) = request(
                shoal.addr,
                "PUT",
                "/api/v1/namespaces/_/actions/hello?overwrite=true",
                GUEST,
                &body,
            )?;
            if status != 200 {
                bail!("creating the web action: {status} {text}");
            }
            Running {
                addr: shoal.addr,
                handle: Handle::Shoal(shoal),
                path: "/api/v1/web/guest/default/hello".into(),
                _dir: Some(dir),
            }
        }
        Kind::Workerd => {
            let bin = peers.workerd.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            let addr = free_addr()?;
            std::fs::write(dir.path().join("worker.js"), WORKERD_WORKER)?;
            let config = dir.path().join("config.capnp");
            std::fs::write(
                &config,
                WORKERD_CONFIG.replace("{{ADDRESS}}", &addr.to_string()),
            )?;
            let p = Proc::spawn(
                "workerd",
                bin,
                &["serve".as_ref(), config.as_os_str()],
                cpus,
                dir.path(),
                &[],
            )?;
            Running::peer(p, addr, dir)
        }
        Kind::Deno => {
            let bin = peers.deno.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            let addr = free_addr()?;
            let script = dir.path().join("deno.js");
            std::fs::write(&script, DENO_SCRIPT)?;
            let deno_dir = dir.path().join("deno-dir");
            let allow = format!("--allow-net=127.0.0.1:{}", addr.port());
            let port = addr.port().to_string();
            let p = Proc::spawn(
                "deno",
                bin,
                &[
                    "run".as_ref(),
                    allow.as_ref(),
                    script.as_os_str(),
                    port.as_ref(),
                ],
                cpus,
                dir.path(),
                &[
                    ("DENO_DIR", deno_dir.as_os_str()),
                    ("DENO_NO_UPDATE_CHECK", "1".as_ref()),
                    ("NO_COLOR", "1".as_ref()),
                ],
            )?;
            Running::peer(p, addr, dir)
        }
        Kind::Hyper => {
            let addr = free_addr()?;
            let port = addr.port().to_string();
            let p = Proc::spawn(
                "hyper",
                &std::env::current_exe()?,
                &[SERVE_HYPER.as_ref(), port.as_ref()],
                cpus,
                dir.path(),
                &[],
            )?;
            Running::peer(p, addr, dir)
        }
        Kind::Node => {
            let addr = free_addr()?;
            let script = dir.path().join("node.js");
            std::fs::write(&script, NODE_SCRIPT)?;
            let port = addr.port().to_string();
            let p = Proc::spawn(
                "node",
                &peers.node,
                &[script.as_os_str(), port.as_ref()],
                cpus,
                dir.path(),
                &[],
            )?;
            Running::peer(p, addr, dir)
        }
    };
    wait_ready(&mut running, Duration::from_secs(30))?;
    Ok(running)
}

fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .context("no VmRSS")
}

/// What one measured run gave besides wrk's report.
struct Sample {
    wrk: WrkResult,
    rss: u64,
    /// Server CPU time per request during the run, in µs.
    cpu_per_req_us: f64,
    /// The same by thread group (shoal only: its threads are named after their stage).
    stages: Vec<(String, f64)>,
}

/// One row of the table.
struct Row {
    kind: Kind,
    connections: u32,
    result: Result<Sample, String>,
}

fn measure(kind: Kind, args: &Args, peers: &Peers, rows: &mut Vec<Row>) {
    let fail = |rows: &mut Vec<Row>, e: &anyhow::Error| {
        for &c in &args.connections {
            rows.push(Row {
                kind,
                connections: c,
                result: Err(format!("{e:#}")),
            });
        }
    };
    let running = match start(kind, args, peers) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e:#}", kind.name());
            fail(rows, &e);
            return;
        }
    };
    let url = running.url();
    eprintln!("{} (pid {}) serving {url}", kind.name(), running.pid());
    for &c in &args.connections {
        let run = |seconds| {
            wrk::Run {
                cpus: args.pin.then_some(WRK_CPU),
                // One wrk thread when it has one core of its own.
                threads: if args.pin { 1 } else { c.clamp(1, 2) },
                connections: c,
                seconds,
                script: None,
                url: &url,
            }
            .run()
        };
        let result = (|| {
            if args.warmup > 0 {
                run(args.warmup)?;
            }
            let pid = running.pid();
            let threads_before = thread_cpu_us(pid)?;
            let cpu_before = cpu_us(pid)?;
            let r = run(args.seconds)?;
            let cpu = cpu_us(pid)? - cpu_before;
            let threads = thread_cpu_us(pid)?;
            let rss = rss_bytes(pid)?;
            let requests = r.requests.max(1) as f64;
            let stages = match kind {
                Kind::Shoal => threads
                    .into_iter()
                    .map(|(name, us)| {
                        let before = threads_before.get(&name).copied().unwrap_or(0.0);
                        (name, (us - before) / requests)
                    })
                    .filter(|(_, us)| *us > 0.0)
                    .collect(),
                _ => Vec::new(),
            };
            anyhow::Ok(Sample {
                cpu_per_req_us: cpu / requests,
                wrk: r,
                rss,
                stages,
            })
        })();
        if let Err(e) = &result {
            eprintln!("{} at {c} connections: {e:#}", kind.name());
        }
        rows.push(Row {
            kind,
            connections: c,
            result: result.map_err(|e| format!("{e:#}")),
        });
    }
    drop(running);
}

/// The installed peers (or why one could not be installed).
struct Peers {
    workerd: Result<PathBuf, String>,
    deno: Result<PathBuf, String>,
    node: PathBuf,
}

// ---------------------------------------------------------------------------------------------
// The report

fn latency(us: f64) -> String {
    if us < 10_000.0 {
        format!("{us:.0}µs")
    } else {
        format!("{:.2}ms", us / 1000.0)
    }
}

/// The measured sample of `kind` at `connections`, if that run succeeded.
fn sample(rows: &[Row], kind: Kind, connections: u32) -> Option<&Sample> {
    rows.iter()
        .find(|r| r.kind == kind && r.connections == connections)
        .and_then(|r| r.result.as_ref().ok())
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let shoal = |c: u32| sample(rows, Kind::Shoal, c);
    let _ = writeln!(
        out,
        "{:<8} {:>5} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11} {:>11} {:>6}",
        "server",
        "conns",
        "req/s",
        "p50",
        "p99",
        "CPU/req",
        "RSS",
        "shoal/peer",
        "shoal/peer",
        "errors"
    );
    let _ = writeln!(
        out,
        "{:<8} {:>5} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11} {:>11} {:>6}",
        "", "", "", "", "", "", "", "req/s", "p50", ""
    );
    for row in rows {
        match &row.result {
            Ok(sample) => {
                let r = &sample.wrk;
                let (rps_ratio, p50_ratio) = match shoal(row.connections) {
                    Some(s) => (
                        format!("{:.2}×", s.wrk.rps / r.rps),
                        format!("{:.2}×", s.wrk.p50_us / r.p50_us),
                    ),
                    None => ("-".into(), "-".into()),
                };
                let _ = writeln!(
                    out,
                    "{:<8} {:>5} {:>9.0} {:>9} {:>9} {:>8.1}µs {:>6.1}MiB {:>11} {:>11} {:>6}",
                    row.kind.name(),
                    row.connections,
                    r.rps,
                    latency(r.p50_us),
                    latency(r.p99_us),
                    sample.cpu_per_req_us,
                    sample.rss as f64 / (1024.0 * 1024.0),
                    rps_ratio,
                    p50_ratio,
                    r.errors + r.socket_errors,
                );
            }
            Err(e) => {
                let first = e.lines().next().unwrap_or("");
                let _ = writeln!(
                    out,
                    "{:<8} {:>5} failed: {first}",
                    row.kind.name(),
                    row.connections
                );
            }
        }
    }
    out
}

/// shoal's CPU per request beyond the HTTP floor's (the `hyper` peer) at each connection
/// count both were measured at: what shoal's own work costs.
fn above_floor(rows: &[Row]) -> String {
    let cpu = |k: Kind, c: u32| sample(rows, k, c).map(|s| s.cpu_per_req_us);
    let mut out = String::new();
    for &c in rows
        .iter()
        .filter(|r| r.kind == Kind::Shoal)
        .map(|r| &r.connections)
    {
        if let (Some(shoal), Some(hyper)) = (cpu(Kind::Shoal, c), cpu(Kind::Hyper, c)) {
            let _ = writeln!(
                out,
                "  {c} connection(s): {:.1}µs per request above the HTTP floor's {hyper:.1}µs (hyper alone)",
                shoal - hyper
            );
        }
    }
    out
}

/// What each of shoal's thread groups does for a web request.
fn stage_of(thread: &str) -> &str {
    match thread {
        "shoal-io" => "HTTP, routing, auth, controller, record encoding, durable-record wait",
        "shoal-isolate" => "JS isolate: parameters in, the action, result out",
        "shoal-store-app" => "activation log appender: journal writes, acknowledgements",
        "shoal-store-ind" => "activation log indexer: SQLite commits, WAL checkpoints",
        "shoal-isolate-m" => "isolate monitor: deadlines of running activations",
        _ => "",
    }
}

/// shoal's CPU per request by thread group, for every connection count measured.
fn stages(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows.iter().filter(|r| r.kind == Kind::Shoal) {
        let Ok(sample) = &row.result else { continue };
        let _ = writeln!(out, "  {} connection(s):", row.connections);
        for (thread, us) in &sample.stages {
            let _ = writeln!(out, "    {thread:<16} {us:>7.1}µs  {}", stage_of(thread));
        }
    }
    out
}

fn verdicts(rows: &[Row]) -> String {
    let get = |k: Kind, c: u32| sample(rows, k, c).map(|s| &s.wrk);
    let mut out = String::new();
    let mut line = |name: &str, value: Option<(String, bool)>| {
        let _ = match value {
            Some((v, ok)) => writeln!(
                out,
                "  {name:<44} {v:<22} {}",
                if ok { "met" } else { "NOT met" }
            ),
            None => writeln!(out, "  {name:<44} (not measured)"),
        };
    };
    let s64 = get(Kind::Shoal, 64);
    let ratio = |peer: Kind, at_least: f64| {
        s64.zip(get(peer, 64)).map(|(s, p)| {
            let x = s.rps / p.rps;
            (format!("{x:.2}×"), x >= at_least)
        })
    };
    line("64 conns: shoal req/s ≥ 1× node", ratio(Kind::Node, 1.0));
    line("64 conns: shoal req/s ≥ 0.5× deno", ratio(Kind::Deno, 0.5));
    line(
        "64 conns: shoal req/s ≥ 4× workerd",
        ratio(Kind::Workerd, 4.0),
    );
    line(
        "64 conns: shoal p99 ≤ 2 ms",
        s64.map(|s| (latency(s.p99_us), s.p99_us <= 2000.0)),
    );
    let cpu64 = sample(rows, Kind::Shoal, 64).map(|s| s.cpu_per_req_us);
    line(
        "64 conns: shoal CPU per request ≤ 9 µs",
        cpu64.map(|us| (format!("{us:.1}µs"), us <= 9.0)),
    );
    line(
        "1 conn: shoal p50 ≤ 40 µs",
        get(Kind::Shoal, 1).map(|s| (latency(s.p50_us), s.p50_us <= 40.0)),
    );
    out
}

/// The argument that makes this binary the `hyper` peer: `shoal-peers --serve-hyper PORT`.
const SERVE_HYPER: &str = "--serve-hyper";

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, port] = argv.as_slice()
        && flag == SERVE_HYPER
    {
        let addr = SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>()?));
        return floor::serve(addr, HELLO);
    }
    let mut args = parse_args()?;
    if args.servers.contains(&Kind::Shoal) && !args.shoal.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p shoal -p shoal-benches`",
            args.shoal.display()
        );
    }
    Command::new("wrk")
        .arg("--version")
        .output()
        .context("wrk not found: install it with `apt-get install -y wrk`")?;
    std::fs::create_dir_all(&args.cache)?;
    let wants = |k| args.servers.contains(&k);
    let peers = Peers {
        workerd: if wants(Kind::Workerd) {
            install_workerd(&args.cache).map_err(|e| format!("{e:#}"))
        } else {
            Err("not selected".into())
        },
        deno: if wants(Kind::Deno) {
            install_deno(&args.cache).map_err(|e| format!("{e:#}"))
        } else {
            Err("not selected".into())
        },
        node: PathBuf::from("node"),
    };

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = args.pin && cores >= 2;
    let wants_node = wants(Kind::Node);
    args.pin = pin;
    println!("shoal-peers: the same hello-world ({HELLO:?}, text/plain) through each server");
    println!(
        "  shoal   {} — JS web action GET /api/v1/web/guest/default/hello",
        args.shoal.display()
    );
    if let Ok(b) = &peers.workerd {
        println!(
            "  workerd {WORKERD_PACKAGE}@{WORKERD_VERSION} ({}) — ES-module worker",
            version_of(b, "--version")
        );
    }
    if let Ok(b) = &peers.deno {
        println!(
            "  deno    {} (PyPI deno=={DENO_VERSION}) — Deno.serve",
            version_of(b, "--version")
        );
    }
    if wants_node {
        println!(
            "  node    {} (system) — http.createServer",
            version_of(&peers.node, "--version")
        );
    }
    if wants(Kind::Hyper) {
        println!(
            "  hyper   this binary, hyper alone with shoal's server settings — the HTTP floor"
        );
    }
    println!(
        "  load: wrk, keep-alive, GET to 127.0.0.1, {}s warm-up then {}s per run, connections {:?}",
        args.warmup, args.seconds, args.connections
    );
    if pin {
        println!(
            "  pinning: each server on core {SERVER_CPU}, wrk (1 thread) on core {WRK_CPU} (taskset); on this {cores}-core machine{} each server gets exactly one core",
            if cores == 2 { "" } else { "," }
        );
    } else {
        println!("  pinning: off ({cores} core(s) or --no-pin); servers and wrk share the cores");
    }
    println!();

    let mut rows = Vec::new();
    for &kind in &args.servers {
        measure(kind, &args, &peers, &mut rows);
    }
    println!("{}", table(&rows));
    println!(
        "shoal/peer req/s > 1 means shoal serves more; shoal/peer p50 < 1 means shoal answers sooner."
    );
    println!(
        "CPU/req: server CPU time (user + system, all threads) over the measured run / requests;"
    );
    println!("  it depends less on what else the machine runs than req/s and latency do.");
    println!("RSS: VmRSS of the server process after the run at that connection count.");
    if args.servers.contains(&Kind::Shoal) {
        println!();
        println!("shoal CPU per request by thread (what each thread group spends; perf splits the");
        println!(
            "  I/O threads further, see benches/README.md \"Where a web request's CPU goes\"):"
        );
        print!("{}", stages(&rows));
        print!("{}", above_floor(&rows));
        println!();
        println!("targets (issues 5 and 18):");
        print!("{}", verdicts(&rows));
    }
    if rows.iter().any(|r| r.result.is_err()) {
        bail!("some runs failed (see above)");
    }
    Ok(())
}
