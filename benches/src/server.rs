//! Starting and stopping the real `shoal` binary for a measurement.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

/// OpenWhisk's well-known `guest` credentials, which shoal creates on first start.
pub const GUEST: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// The config of a server under load: load runs invoke far more than OpenWhisk's default
/// 60 times a minute.
pub const LOAD_CONFIG: &str = "[limits]\ninvocations_per_minute = 100000000\nconcurrent_invocations = 100000\nfires_per_minute = 100000000\nactivation_bytes_per_minute = 1000000000000\n";

/// A running `shoal serve`, stopped (SIGTERM, then wait) when dropped.
pub struct Shoal {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    binary: std::path::PathBuf,
    data: tempfile::TempDir,
}

impl Shoal {
    /// Starts `binary serve` on a free loopback port with a fresh data directory, under
    /// `taskset -c cpus` when given.
    pub fn start(binary: &Path, cpus: Option<&str>) -> anyhow::Result<Shoal> {
        Shoal::start_with(binary, cpus, "")
    }

    /// [`Shoal::start`] with `extra` TOML sections after [`LOAD_CONFIG`].
    pub fn start_with(binary: &Path, cpus: Option<&str>, extra: &str) -> anyhow::Result<Shoal> {
        let data = tempfile::tempdir()?;
        let config = data.path().join("load.toml");
        std::fs::write(&config, format!("{LOAD_CONFIG}{extra}"))?;
        let mut cmd = match cpus {
            Some(c) => {
                let mut t = Command::new("taskset");
                t.args(["-c", c]).arg(binary);
                t
            }
            None => Command::new(binary),
        };
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                bail!("shoal exited before listening");
            };
            if let Some(rest) = line?.strip_prefix("listening on http://") {
                break rest.trim().parse()?;
            }
        };
        Ok(Shoal {
            child,
            addr,
            binary: binary.to_path_buf(),
            data,
        })
    }

    /// Creates namespace `name` in the running server's store (`shoal namespace create`);
    /// returns its `uuid:key`.
    pub fn create_namespace(&self, name: &str) -> anyhow::Result<String> {
        let out = Command::new(&self.binary)
            .args(["namespace", "create", name, "--data-dir"])
            .arg(self.data.path())
            .output()?;
        if !out.status.success() {
            bail!(
                "shoal namespace create {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8(out.stdout)?;
        let auth = stdout.lines().map(str::trim).rfind(|l| !l.is_empty());
        auth.map(str::to_string).context("no credentials printed")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size of the server, in bytes (from `/proc`).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        rss_bytes(self.pid())
    }
}

/// Resident set size of process `pid` (`std::process::id()` for this one), in bytes, from
/// `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kb * 1024)
}

/// CPU time (user + system, all threads) process `pid` has used so far, in µs, from
/// `/proc/<pid>/stat` (clock-tick resolution, 10 ms on this kernel).
pub fn cpu_us(pid: u32) -> anyhow::Result<f64> {
    stat_cpu_us(&std::fs::read_to_string(format!("/proc/{pid}/stat"))?)
}

/// CPU time (user + system) each thread of process `pid` has used so far, in µs, summed by
/// the thread's name up to its first `-` or digit run (`shoal-isolate-0` and
/// `shoal-isolate-1` count as `shoal-isolate`), from `/proc/<pid>/task/*/stat`. Threads that
/// ended before the call are missing: read it before and after a run and subtract.
pub fn thread_cpu_us(pid: u32) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let dir = task?.path();
        // A thread may end between listing and reading: skip it.
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or("?", |(comm, _)| comm);
        let group = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        *by_name.entry(group.to_string()).or_insert(0.0) += stat_cpu_us(&stat)?;
    }
    Ok(by_name)
}

/// User + system CPU of one `/proc/…/stat` line, in µs.
fn stat_cpu_us(stat: &str) -> anyhow::Result<f64> {
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i - 3).context("short stat")?.parse::<f64>()?)
    };
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((ticks(14)? + ticks(15)?) * 1e6 / hz)
}

impl Drop for Shoal {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid with a valid signal number has no memory effects.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}
