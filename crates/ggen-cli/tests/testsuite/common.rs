//! Shared by the CLI end-to-end tests: a throw-away GGEN_HOME and the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use assert_cmd::Command;
use ggen_test_support::Pkg;
use serde_json::Value;

pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `ggen marketplace` in this home.
    pub fn ggen(&self) -> Command {
        let mut c = self.bin();
        c.arg("marketplace");
        c
    }

    /// The `ggen` binary in this home, no subcommand yet.
    pub fn bin(&self) -> Command {
        let mut c = Command::cargo_bin("ggen").unwrap();
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GGEN_HOME", self.path())
            .env("GGEN_CONFIG_DIR", self.path().join("config"))
            .env("GGEN_USER_ID", "test-user");
        c
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ggen().args(args).arg("--json").output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

pub fn names(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_string())
        .collect()
}

/// Every file below `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A package source directory `ggen marketplace publish` accepts, under `root`
/// (`src-NAME-VERSION`): category `testing`, license MIT, and a template whose
/// content names the package, so every archive has its own checksum.
pub fn package_dir(
    root: &Path,
    name: &str,
    version: &str,
    description: &str,
    tags: &[&str],
) -> PathBuf {
    Pkg::new(name, version)
        .description(description)
        .category("testing")
        .tags(tags)
        .write_dir(root)
}

/// A `ggen registry serve` child on a loopback port, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the registry server on `home` and waits for its announcement.
pub fn serve(home: &Home) -> ServerProcess {
    serve_with(home, &[])
}

/// [`serve`] with extra environment variables.
pub fn serve_with(home: &Home, envs: &[(&str, &str)]) -> ServerProcess {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ggen"));
    cmd.env_clear()
        .envs(envs.iter().copied())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GGEN_HOME", home.path())
        .env("GGEN_CONFIG_DIR", home.path().join("config"))
        .env("RUST_LOG", "warn")
        .args([
            "registry",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("server did not announce itself ({e}): {line:?}"));
    ServerProcess {
        child,
        url: v["listening"].as_str().unwrap().to_string(),
    }
}

/// A publish token acting for the owner `tester`, for packages matching
/// `pattern` on `home`'s registry.
pub fn publish_token(home: &Home, pattern: &str) -> String {
    let out = home
        .bin()
        .args([
            "registry",
            "token",
            "create",
            "--scope",
            "publish",
            "--owner",
            "tester",
            "--package",
            pattern,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A tmpfs of `size` mounted over `dir` until dropped (root only).
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Option<Self> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_path_buf()))
    }

    pub fn free_bytes(&self) -> u64 {
        let out = std::process::Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.0)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}
