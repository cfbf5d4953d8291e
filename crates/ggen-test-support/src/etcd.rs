//! A real etcd (Debian's `etcd-server`) on loopback ports, for the tests of
//! a fleet's writers' lock. Stopped when dropped; its data is a temporary
//! directory of its own.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::oxigraph::free_port;

/// A running single-member etcd.
pub struct EtcdServer {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

/// Whether the `etcd` command is installed (as [`crate::oxigraph_available`]).
pub fn available(what: &str) -> bool {
    crate::process::tool_available("etcd", "--version", "`apt-get install etcd-server`", what)
}

impl EtcdServer {
    /// Starts etcd on free loopback ports, once it answers.
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        let (port, peer) = (free_port(), free_port());
        let client = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{peer}");
        let child = Command::new("etcd")
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("default={peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn etcd");
        let server = Self {
            child,
            port,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.answers() {
            assert!(
                Instant::now() < deadline,
                "etcd did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn answers(&self) -> bool {
        self.post("/health", "")
            .is_some_and(|a| a.contains("\"health\":\"true\""))
    }

    /// Posts `body` to `path` of etcd's HTTP gateway and returns the answer
    /// body, or `None` when it does not answer 200.
    pub fn post(&self, path: &str, body: &str) -> Option<String> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let method = if body.is_empty() { "GET" } else { "POST" };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        conn.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        let (head, body) = answer.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_string())
    }

    /// `http://127.0.0.1:PORT`, its client URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it (an outage); clients then fail to reach it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.stop();
    }
}
