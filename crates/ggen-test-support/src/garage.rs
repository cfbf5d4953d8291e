//! A real Garage (crates.io's `garage`, an S3-compatible object store) on
//! loopback, single node, with one bucket and one key made at start: what
//! the archive-storage and fleet tests keep archives in. Stopped when dropped;
//! [`GarageServer::stop`] and [`GarageServer::restart`] take it down and
//! bring it back on the same port with the same data, as an outage would.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The bucket every server starts with.
pub const BUCKET: &str = "ggen-archives";
/// Garage's signing region, as configured.
pub const REGION: &str = "garage";
/// The access key (Garage's format: `GK` and 24 hex digits).
pub const ACCESS_KEY_ID: &str = "GK0123456789abcdef01234567";
/// Its secret (64 hex digits).
pub const SECRET_ACCESS_KEY: &str =
    "5e3c1f0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";

/// A running `garage server`.
pub struct GarageServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    s3_port: u16,
}

/// Whether the `garage` command is installed. Without it a test says `SKIP`
/// (naming `what`) and passes, except under `CI`, where it fails: CI
/// installs it (`scripts/test-setup`).
pub fn available(what: &str) -> bool {
    crate::process::tool_available("garage", "--help", "scripts/test-setup builds it", what)
}

impl GarageServer {
    /// A new node with empty storage, once its bucket answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("garage temp dir");
        let s3_port = free_port();
        let config = format!(
            r#"metadata_dir = "{root}/meta"
data_dir = "{root}/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
            root = dir.path().display(),
            rpc = free_port(),
            secret = "ab".repeat(32),
        );
        std::fs::write(dir.path().join("garage.toml"), config).expect("garage config");
        let mut server = Self {
            child: None,
            dir,
            s3_port,
        };
        server.spawn();
        server
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("garage.toml")
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("garage.log")).expect("garage log");
        let child = Command::new("garage")
            .arg("-c")
            .arg(self.config())
            .args(["server", "--single-node", "--default-bucket"])
            .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY_ID)
            .env("GARAGE_DEFAULT_SECRET_KEY", SECRET_ACCESS_KEY)
            .env("GARAGE_DEFAULT_BUCKET", BUCKET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn garage server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.ready() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "garage did not come up on port {} ({}): {}",
                self.s3_port,
                exited.map_or("timed out".into(), |s| s.to_string()),
                std::fs::read_to_string(self.dir.path().join("garage.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its S3 port accepts connections and the bucket exists.
    fn ready(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok()
            && Command::new("garage")
                .arg("-c")
                .arg(self.config())
                .args(["bucket", "info", BUCKET])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// Kills the server; its data stays for [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// `s3://ggen-archives/<prefix>`, or the bucket itself for an empty prefix.
    pub fn url(&self, prefix: &str) -> String {
        if prefix.is_empty() {
            format!("s3://{BUCKET}")
        } else {
            format!("s3://{BUCKET}/{prefix}")
        }
    }

    /// Where its data lives (to look at, or to damage, in a test).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for GarageServer {
    fn drop(&mut self) {
        self.stop();
    }
}
