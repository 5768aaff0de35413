//! Running `wrk` (the load generator, Debian package `wrk`) and reading its `--latency` report.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    /// Requests completed during the run.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median latency, in microseconds.
    pub p50_us: f64,
    /// 99th-percentile latency, in microseconds.
    pub p99_us: f64,
    /// Responses that were neither 2xx nor 3xx.
    pub errors: u64,
    /// Socket errors (connect, read, write, timeout), summed.
    pub socket_errors: u64,
}

/// One wrk run: `threads` threads, `connections` keep-alive connections for `seconds`,
/// optionally under `taskset -c cpus` and with a Lua `script` (for methods, headers, bodies).
pub struct Run<'a> {
    /// CPU list for `taskset -c`, or `None` to leave wrk unpinned.
    pub cpus: Option<&'a str>,
    /// wrk threads (`-t`).
    pub threads: u32,
    /// Open connections (`-c`).
    pub connections: u32,
    /// Duration (`-d`), in seconds.
    pub seconds: u32,
    /// A Lua script (`-s`), if any.
    pub script: Option<&'a Path>,
    /// The URL to load.
    pub url: &'a str,
}

impl Run<'_> {
    /// Runs wrk to completion and parses its report.
    pub fn run(&self) -> anyhow::Result<WrkResult> {
        let mut cmd = match self.cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus, "wrk"]);
                c
            }
            None => Command::new("wrk"),
        };
        cmd.args([
            "--latency",
            "-t",
            &self.threads.max(1).to_string(),
            "-c",
            &self.connections.to_string(),
            "-d",
            &format!("{}s", self.seconds),
        ]);
        if let Some(script) = self.script {
            cmd.arg("-s").arg(script);
        }
        let out = cmd
            .arg(self.url)
            .output()
            .context("running wrk (install it with `apt-get install -y wrk`)")?;
        if !out.status.success() {
            bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        parse(&String::from_utf8_lossy(&out.stdout))
    }
}

/// A wrk duration (`812.00us`, `1.23ms`, `2.00s`, `1.5m`) in microseconds.
pub fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n,
        "ms" => n * 1e3,
        "s" => n * 1e6,
        "m" => n * 60e6,
        _ => return None,
    })
}

/// Parses the report `wrk --latency` prints.
pub fn parse(out: &str) -> anyhow::Result<WrkResult> {
    let field = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let pct = |p: &str| {
        field(p)
            .and_then(duration_us)
            .with_context(|| format!("no {p} latency in wrk output:\n{out}"))
    };
    let requests = out
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no request count")?;
    let errors = field("Non-2xx or 3xx responses:")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket_errors = field("Socket errors:")
        .map(|s| {
            s.split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(WrkResult {
        requests,
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .context("no Requests/sec")?,
        p50_us: pct("50%")?,
        p99_us: pct("99%")?,
        errors,
        socket_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 2s test @ http://127.0.0.1:8080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.34us  100.00us   5.00ms   90.00%
    Req/Sec    78.00k     1.00k   80.00k    70.00%
  Latency Distribution
     50%  790.00us
     75%  850.00us
     90%  900.00us
     99%    1.20ms
  156000 requests in 2.00s, 20.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  78000.50
Transfer/sec:     10.00MB
";

    #[test]
    fn parses_a_latency_report() {
        let r = parse(REPORT).unwrap();
        assert_eq!(r.requests, 156_000);
        assert_eq!(r.rps, 78000.5);
        assert_eq!(r.p50_us, 790.0);
        assert_eq!(r.p99_us, 1200.0);
        assert_eq!(r.errors, 7);
        assert_eq!(r.socket_errors, 5);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_us("12.5us"), Some(12.5));
        assert_eq!(duration_us("2s"), Some(2e6));
        assert_eq!(duration_us("3x"), None);
    }
}
