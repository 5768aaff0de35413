//! A private PostgreSQL server for tests: a fresh cluster in a temporary directory, listening
//! on a free loopback port, stopped (and its directory removed) when the handle drops. It runs
//! Debian's `postgresql` binaries (`/usr/lib/postgresql/<version>/bin`), as the `postgres`
//! user when the tests run as root (PostgreSQL refuses to run as root).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One running server. Stopped immediately (`pg_ctl stop -m immediate`) on drop.
#[derive(Debug)]
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgServer {
    /// Creates a cluster (user `shoal`, trust authentication on loopback, no fsync: tests
    /// need no durability across power loss) and starts it. Panics with what is missing when
    /// PostgreSQL is not installed or does not start.
    pub fn start() -> PgServer {
        let bin = binaries().unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
                 apt-get install postgresql, or run .ci/setup"
            )
        });
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary directory: {e}"));
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let port = free_port();
        let server = PgServer {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "shoal",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        server.restart();
        server
    }

    /// The URL of database `name` on this server (create it first with
    /// [`PgServer::create_database`], or use `postgres`).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://shoal@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "shoal", name],
        );
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server, as a crash would (`-m immediate`); [`PgServer::restart`] starts it
    /// again on the same port with its data.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts the server (again, after [`PgServer::stop`]) on its port with its data.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
    }

    /// Turns TLS on and makes it required (`hostssl` only), with a server certificate for
    /// `127.0.0.1` signed by a CA made for it (`openssl`); restarts the server and returns
    /// the CA certificate's path, what a client must trust.
    pub fn require_tls(&self) -> PathBuf {
        let (ca, cert, key) = test_certificates(self.dir.path());
        run(Command::new("chmod").arg("600").arg(&key));
        if self.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&cert).arg(&key));
        }
        let data = PathBuf::from(self.data());
        let conf = data.join("postgresql.conf");
        let mut settings = std::fs::read_to_string(&conf).unwrap_or_default();
        settings.push_str(&format!(
            "\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            cert.display(),
            key.display()
        ));
        std::fs::write(&conf, settings).unwrap_or_else(|e| panic!("writing {conf:?}: {e}"));
        let hba = data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).unwrap_or_default();
        let ssl_only: Vec<String> = rules
            .lines()
            .map(|l| match l.strip_prefix("host ") {
                Some(rest) => format!("hostssl {rest}"),
                None => l.to_string(),
            })
            .collect();
        std::fs::write(&hba, ssl_only.join("\n") + "\n")
            .unwrap_or_else(|e| panic!("writing {hba:?}: {e}"));
        self.stop();
        self.restart();
        ca
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// Runs PostgreSQL program `program` (as `postgres` when root); panics if it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command.args(args).current_dir(self.dir.path());
        run(&mut command);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        // Already stopped (a test stopped it) is fine: there is nothing else to do.
        let _ = command.args(args).output();
    }
}

/// The newest installed PostgreSQL's `bin` directory.
/// A test CA and a certificate for `127.0.0.1` it signed, made with `openssl` under `dir`:
/// (CA certificate, server certificate, server key). For the tests' TLS servers.
pub fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("tls-ca.pem"), dir.join("tls-ca-key.pem"));
    let (cert, key) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
    let openssl = |subject: &str, out: &Path, key: &Path, extra: &[&str]| {
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", subject])
            .args(extra)
            .arg("-keyout")
            .arg(key)
            .arg("-out")
            .arg(out));
    };
    openssl("/CN=shoal-test-ca", &ca, &ca_key, &[]);
    let (ca_arg, ca_key_arg) = (ca.display().to_string(), ca_key.display().to_string());
    openssl(
        "/CN=127.0.0.1",
        &cert,
        &key,
        &[
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-CA",
            &ca_arg,
            "-CAkey",
            &ca_key_arg,
        ],
    );
    (ca, cert, key)
}

fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"))
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
