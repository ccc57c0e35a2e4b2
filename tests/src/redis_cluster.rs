//! A three-master Redis Cluster of a test's own, each node behind a [`FaultProxy`]: the nodes
//! announce the proxies' ports, so a cluster client that discovers the topology still sends
//! every command through a proxy, and the test can cut or stall the whole cluster without
//! touching the shared one.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proxy::{FaultProxy, Mode};

/// The cluster's nodes, their proxies and their folder; stopped and removed when dropped.
pub struct ProxiedCluster {
    proxies: Vec<FaultProxy>,
    servers: Vec<Child>,
    dir: PathBuf,
}

/// A port whose cluster bus port (port + 10000) is free too.
fn free_port_pair() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let port = listener.local_addr().expect("its address").port();
        if port < 55535 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

fn redis_cli(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new("redis-cli").args(args).stdin(Stdio::null()).output()
}

impl ProxiedCluster {
    /// Starts the cluster; `None` (with a notice) outside CI when `redis-server` is missing. In
    /// CI a cluster that cannot start fails the test.
    pub async fn start() -> Option<Self> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            assert!(std::env::var_os("CI").is_none(), "CI needs redis-server for the cluster");
            let _ = writeln!(std::io::stderr(), "SKIPPED: no redis-server to start a cluster");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("authtoken-cluster-{}", uuid::Uuid::new_v4()));
        let mut cluster = Self { proxies: Vec::new(), servers: Vec::new(), dir };
        let mut ports = Vec::new();
        for _ in 0..3 {
            let port = free_port_pair();
            let proxy = FaultProxy::start(format!("127.0.0.1:{port}")).await;
            let node_dir = cluster.dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).expect("the node's folder");
            let server = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--save", "", "--appendonly", "no"])
                .arg("--cluster-config-file")
                .arg(node_dir.join("nodes.conf"))
                .arg("--dir")
                .arg(&node_dir)
                .args(["--cluster-announce-ip", "127.0.0.1"])
                .args(["--cluster-announce-port", &proxy.addr.port().to_string()])
                .args(["--cluster-announce-bus-port", &(port + 10000).to_string()])
                .stdout(Stdio::null())
                .spawn()
                .expect("starting redis-server");
            cluster.servers.push(server);
            cluster.proxies.push(proxy);
            ports.push(port.to_string());
        }
        for port in &ports {
            wait_until(|| {
                redis_cli(&["-p", port, "ping"]).is_ok_and(|o| o.stdout.starts_with(b"PONG"))
            })
            .await;
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        // redis-cli checks the new cluster through the announced (proxy) addresses: it must run
        // off this thread while the proxies serve.
        let created = tokio::task::spawn_blocking(move || {
            let mut args = vec!["--cluster", "create"];
            args.extend(nodes.iter().map(String::as_str));
            args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
            redis_cli(&args)
        })
        .await
        .expect("redis-cli")
        .expect("running redis-cli");
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stdout));
        for port in &ports {
            wait_until(|| {
                redis_cli(&["-p", port, "cluster", "info"])
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
            })
            .await;
        }
        Some(cluster)
    }

    /// The cluster's URL through the proxies.
    pub fn url(&self) -> String {
        let nodes: Vec<String> =
            self.proxies.iter().map(|p| format!("127.0.0.1:{}", p.addr.port())).collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// Sets every node's proxy to `mode`.
    pub fn set(&self, mode: Mode) {
        for proxy in &self.proxies {
            proxy.set(mode);
        }
    }
}

/// Polls `ready` until it holds; fails after a generous bound.
async fn wait_until(mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "the test cluster did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for ProxiedCluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
