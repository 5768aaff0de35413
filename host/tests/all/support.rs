//! What the integration tests share: starting and stopping the real `shoal` binary, running its
//! one-shot subcommands with a time limit, and a tiny HTTP/1.1 client over `std::net::TcpStream`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

/// The binary under test, built by cargo for this test target.
pub const SHOAL: &str = env!("CARGO_BIN_EXE_shoal");

/// The guest namespace's well-known `uuid:key` (spec §1.2), created on first start.
pub const GUEST_AUTH: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// How long shoal may take to print its `listening on` line.
pub const STARTUP: Duration = Duration::from_secs(20);
/// How long a graceful shutdown may take after SIGTERM/SIGINT.
const SHUTDOWN: Duration = Duration::from_secs(10);

/// A `shoal` command with no configuration inherited from the environment.
pub fn shoal_command() -> Command {
    let mut cmd = Command::new(SHOAL);
    cmd.env_remove("SHOAL_LISTEN")
        .env_remove("SHOAL_DATA_DIR")
        .env_remove("SHOAL_STORE")
        .stdin(Stdio::null());
    cmd
}

/// Waits for `child` to exit for at most `limit`; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` to completion with captured output; kills it and panics after `limit`.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning a command");
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let Some(status) = wait_timeout(&mut child, limit) else {
        let _ = child.kill();
        let _ = child.wait();
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        panic!(
            "{cmd:?} still running after {limit:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Creates namespace `name` in `data_dir` with `shoal namespace create` and returns its `uuid:key`.
pub fn namespace_create(data_dir: &Path, name: &str) -> String {
    namespace_create_with(data_dir, name, &[])
}

/// [`namespace_create`] with more arguments (`--store …`).
pub fn namespace_create_with(data_dir: &Path, name: &str, extra: &[&str]) -> String {
    let out = run_with_timeout(
        shoal_command()
            .args(["namespace", "create", name, "--data-dir"])
            .arg(data_dir)
            .args(extra),
        STARTUP,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "shoal namespace create {name} failed with {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let auth = stdout
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or_default()
        .to_owned();
    let (uuid, key) = auth
        .split_once(':')
        .unwrap_or_else(|| panic!("expected `uuid:key` on stdout, got {stdout:?}"));
    assert!(!uuid.is_empty(), "empty uuid in {auth:?}");
    assert_eq!(
        key.len(),
        64,
        "keys are 64 characters (spec §1.2): {auth:?}"
    );
    auth
}

/// Runs `shoal namespace set-limits NAME ARGS…` on `data_dir` and checks it succeeded.
pub fn set_limits(data_dir: &Path, name: &str, args: &[&str]) {
    let out = run_with_timeout(
        shoal_command()
            .args(["namespace", "set-limits", name])
            .args(args)
            .arg("--data-dir")
            .arg(data_dir),
        STARTUP,
    );
    assert!(
        out.status.success(),
        "shoal namespace set-limits {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `[limits]` of the test servers' config: far above OpenWhisk's defaults (60 invokes a
/// minute), which suites that invoke hundreds of times would hit.
pub const RAISED_LIMITS: &str = "[limits]\ninvocations_per_minute = 1000000\nconcurrent_invocations = 10000\nfires_per_minute = 1000000\n";

/// A running `shoal serve`. Dropping it kills the process; [`Shoal::stop`] shuts it down gracefully.
pub struct Shoal {
    child: Child,
    /// `127.0.0.1:<port>` as announced on stdout.
    pub addr: String,
    /// Every line shoal has written to stderr so far (its log).
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Shoal {
    /// Starts `shoal serve --listen 127.0.0.1:0 --data-dir <data_dir>` and waits until it listens.
    /// The system throttles are raised far above OpenWhisk's defaults (60 invokes a minute),
    /// which suites that invoke hundreds of times would hit; namespaces can still lower their
    /// own with `shoal namespace set-limits`.
    pub fn serve(data_dir: &Path) -> Shoal {
        Shoal::serve_with(data_dir, "")
    }

    /// [`Shoal::serve`] with `extra` appended to its config file (TOML sections).
    pub fn serve_with(data_dir: &Path, extra: &str) -> Shoal {
        Shoal::serve_with_args(data_dir, extra, &[])
    }

    /// [`Shoal::serve_with`] with more command-line arguments (`--store …`).
    pub fn serve_with_args(data_dir: &Path, extra: &str, args: &[&str]) -> Shoal {
        std::fs::create_dir_all(data_dir).expect("create the data dir");
        let config = data_dir.join("test-config.toml");
        std::fs::write(&config, format!("{RAISED_LIMITS}{extra}")).expect("write the test config");
        let mut cmd = shoal_command();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--config")
            .arg(&config)
            .args(args);
        Shoal::start(cmd)
    }

    /// Starts a prepared `shoal serve` command and waits for its `listening on http://…` line.
    /// Its stdout and stderr are forwarded to the test's (captured) stderr.
    pub fn start(mut cmd: Command) -> Shoal {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning shoal");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut shoal = Shoal {
            child,
            addr: String::new(),
            stderr: Arc::default(),
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("[shoal stdout] {line}");
                if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let log = shoal.stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[shoal stderr] {line}");
                log.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(STARTUP) {
            Ok(addr) => shoal.addr = addr,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("shoal did not print `listening on http://…` within {STARTUP:?}")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = wait_timeout(&mut shoal.child, SHUTDOWN);
                panic!("shoal closed stdout without listening (exit: {status:?})")
            }
        }
        assert!(
            shoal.addr.starts_with("127.0.0.1:"),
            "unexpected listen address {:?}",
            shoal.addr
        );
        shoal
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One request as the guest namespace (see [`request`]).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        request(&self.addr, method, path, Some(GUEST_AUTH), body)
    }

    /// Sends `signal` (SIGTERM or SIGINT) and waits for the exit status; panics if shoal is
    /// still running after the shutdown grace period.
    pub fn stop_with(mut self, signal: libc::c_int) -> ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own live child,
        // not yet reaped, so it cannot have been reused.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
        match wait_timeout(&mut self.child, SHUTDOWN) {
            Some(status) => status,
            None => panic!("shoal still running {SHUTDOWN:?} after signal {signal}"),
        }
    }

    /// Sends `signal` (e.g. SIGHUP) and returns at once.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: as in `stop_with`: our own live child.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Graceful shutdown with SIGTERM; returns the exit status.
    pub fn stop(self) -> ExitStatus {
        self.stop_with(libc::SIGTERM)
    }
}

impl Drop for Shoal {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response as read off the wire.
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON (as deep as shoal reads it); panics with the body text when it
    /// is not JSON.
    pub fn json(&self) -> Value {
        shoal_router::json::parse(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }
}

/// One HTTP/1.1 request to `addr` (`host:port`) with `Connection: close`; `auth` is a `uuid:key`
/// sent as Basic credentials, `body` is sent as JSON. Panics when the server does not answer.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Response {
    try_request(addr, method, path, auth, body)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// [`request`], with an error instead of a panic when the server cannot be reached or does
/// not answer (for load that runs into a server being killed).
pub fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let basic = auth.map(|auth| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(auth);
        format!("Basic {encoded}")
    });
    send(addr, method, path, basic.as_deref(), body)
}

/// A `GET` of `path` with `Authorization: <authorization>` as given (e.g. a bearer token).
pub fn get_with_authorization(addr: &str, path: &str, authorization: &str) -> Response {
    send(addr, "GET", path, Some(authorization), None)
        .unwrap_or_else(|e| panic!("GET {path} on {addr}: {e}"))
}

fn send(
    addr: &str,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(70)))?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(authorization) = authorization {
        head.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(payload.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "malformed response {:?}",
            String::from_utf8_lossy(&raw)
        ))
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest.get(..length)?.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[test]
fn parses_plain_and_chunked_responses() {
    let plain = parse_response(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}")
        .expect("plain");
    assert_eq!(plain.status, 202);
    assert_eq!(plain.header("x-a"), Some("b"));
    assert_eq!(plain.body, b"{}");

    let chunked = parse_response(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n",
    )
    .expect("chunked");
    assert_eq!(chunked.status, 200);
    assert_eq!(chunked.json(), serde_json::json!({"a": 1}));

    assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_none());
}
