//! A local cluster for a measurement: `deploy/cluster.sh` started in a temporary directory
//! (a private PostgreSQL, shoal nodes sharing it, HAProxy in front), with the pids of every
//! process it runs so that their CPU time can be read. Stopped when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The script that runs the cluster.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/cluster.sh");

/// A running `deploy/cluster.sh` cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    binary: PathBuf,
    nodes: usize,
}

impl Cluster {
    /// Starts `nodes` nodes of `binary` on a fresh PostgreSQL behind HAProxy; each node
    /// reads the config file `config` (limits for load runs).
    pub fn start(binary: &Path, nodes: usize, config: &Path) -> anyhow::Result<Cluster> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let cluster = Cluster {
            dir: tempfile::tempdir()?,
            port,
            binary: std::fs::canonicalize(binary)?,
            nodes,
        };
        let out = cluster
            .script()
            .args(["start", &nodes.to_string()])
            .env("SHOAL_CLUSTER_CONFIG", config)
            .output()?;
        if !out.status.success() {
            bail!(
                "deploy/cluster.sh start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(cluster)
    }

    fn script(&self) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(SCRIPT)
            .env("SHOAL_BIN", &self.binary)
            .env("SHOAL_CLUSTER_DIR", self.dir.path().join("cluster"))
            .env("SHOAL_CLUSTER_PORT", self.port.to_string());
        command
    }

    /// The balancer's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The address of node `i` (from 1), past the balancer.
    pub fn node_addr(&self, i: usize) -> anyhow::Result<SocketAddr> {
        let path = self.dir.path().join(format!("cluster/node{i}/port"));
        let port: u16 = std::fs::read_to_string(path)?.trim().parse()?;
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn pid_in(&self, file: &str) -> anyhow::Result<u32> {
        let path = self.dir.path().join("cluster").join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let first = text.lines().next().unwrap_or_default().trim();
        Ok(first.parse()?)
    }

    /// The processes of the cluster by role: `shoal` (the nodes), `postgres` (the server
    /// and its backends) and `haproxy`.
    pub fn processes(&self) -> anyhow::Result<Vec<(&'static str, Vec<u32>)>> {
        let nodes = (1..=self.nodes)
            .map(|i| self.pid_in(&format!("node{i}/pid")))
            .collect::<anyhow::Result<_>>()?;
        let postmaster = self.pid_in("pg/data/postmaster.pid")?;
        let mut postgres = vec![postmaster];
        postgres.extend(children(postmaster)?);
        let haproxy = self.pid_in("haproxy.pid")?;
        Ok(vec![
            ("shoal", nodes),
            ("postgres", postgres),
            ("haproxy", vec![haproxy]),
        ])
    }
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> anyhow::Result<Vec<u32>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(child) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, then the parent's pid.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(pid) {
            found.push(child);
        }
    }
    Ok(found)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Nothing more to do if stopping fails: the temporary directory goes either way.
        let _ = self.script().arg("stop").output();
    }
}
