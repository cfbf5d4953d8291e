//! A real `oxigraph serve` (PyPI's `oxigraph`) on a loopback port, for tests
//! and benchmarks of V2 over a SPARQL endpoint. Stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `oxigraph serve`.
pub struct OxigraphServer {
    child: Child,
    port: u16,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether the `oxigraph` command is installed. Without it a test says
/// `SKIP` (naming `what`) and passes, except under `CI`, where it fails:
/// CI installs it (`scripts/test`).
pub fn available(what: &str) -> bool {
    crate::process::tool_available("oxigraph", "--version", "`pip install oxigraph`", what)
}

impl OxigraphServer {
    /// Serves the store at `location` on a free port, once it answers queries.
    pub fn start(location: &Path) -> Self {
        Self::start_on(location, free_port())
    }

    /// [`Self::start`] on a given port (to restart a server where clients expect it).
    pub fn start_on(location: &Path, port: u16) -> Self {
        let child = Command::new("oxigraph")
            .args(["serve", "--location"])
            .arg(location)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn oxigraph serve");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.answers() {
            assert!(
                Instant::now() < deadline,
                "oxigraph serve did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Whether it answers a query now.
    fn answers(&self) -> bool {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "GET /query?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: application/sparql-results+json\r\nConnection: close\r\n\r\n",
            self.port
        );
        if conn.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The SPARQL query endpoint.
    pub fn query_url(&self) -> String {
        format!("{}/query", self.base())
    }

    /// The SPARQL update endpoint.
    pub fn update_url(&self) -> String {
        format!("{}/update", self.base())
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for OxigraphServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
