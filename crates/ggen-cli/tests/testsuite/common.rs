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
        Command::from_std(std_bin(self.path(), "test-user"))
    }

    /// A new key pair at `k.pem` in this home, not trusted yet.
    pub fn new_key(&self) -> PathBuf {
        let key = self.path().join("k.pem");
        self.succeeds(&["keygen", "--output", key.to_str().unwrap()]);
        key
    }

    /// A new key pair at `k.pem` in this home, already in its trust store.
    pub fn trusted_key(&self) -> PathBuf {
        let key = self.new_key();
        self.succeeds(&["trust", "add", &format!("{}.pub", key.display())]);
        key
    }

    /// `ggen registry token create` in this home, waiting for its flags.
    pub fn token_create(&self) -> Command {
        let mut c = self.bin();
        c.args(["registry", "token", "create"]);
        c
    }

    /// Writes `yaml` as this home's configuration file (`config/config.yaml`).
    pub fn write_config(&self, yaml: &str) {
        std::fs::create_dir_all(self.path().join("config")).unwrap();
        std::fs::write(self.path().join("config/config.yaml"), yaml).unwrap();
    }

    /// Runs `ggen marketplace <args>`: (succeeded, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        outcome(self.ggen().args(args))
    }

    /// Runs `ggen marketplace <args> --target <target>`: (succeeded, stdout, stderr).
    pub fn run_in(&self, target: &Path, args: &[&str]) -> (bool, String, String) {
        outcome(self.ggen().args(args).arg("--target").arg(target))
    }

    /// `ggen marketplace <args>`, which must succeed; its stdout.
    pub fn succeeds(&self, args: &[&str]) -> String {
        let out = ggen_test_support::succeeded(self.ggen().args(args).output(), &args.join(" "));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ggen marketplace <args> --target <target>`, which must succeed; its stdout.
    pub fn succeeds_in(&self, target: &Path, args: &[&str]) -> String {
        let out = ggen_test_support::succeeded(
            self.ggen().args(args).arg("--target").arg(target).output(),
            &args.join(" "),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Asserts that `ggen marketplace <args>` fails with each of `needles` in its stderr.
    pub fn fails(&self, args: &[&str], needles: &[&str]) {
        assert_fails(self.ggen().args(args), needles);
    }

    /// Asserts that `ggen marketplace <args> --target <target>` fails with each
    /// of `needles` in its stderr.
    pub fn fails_in(&self, target: &Path, args: &[&str], needles: &[&str]) {
        assert_fails(self.ggen().args(args).arg("--target").arg(target), needles);
    }

    /// `ggen marketplace publish <dir>` to the registry server at `url` with
    /// `token`: (succeeded, stdout, stderr).
    pub fn publish_to(&self, dir: &Path, url: &str, token: &str) -> (bool, String, String) {
        outcome(
            self.ggen()
                .arg("publish")
                .arg(dir)
                .args(["--registry", url, "--token", token]),
        )
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

/// The package names of a `search --json` answer, best hit first.
pub fn names(v: &Value) -> Vec<String> {
    names_under(v, "hits")
}

/// The package names of a `list --json` answer, in its order.
pub fn listed_names(list: &Value) -> Vec<String> {
    names_under(list, "packages")
}

/// The `name` of every entry of the array `v[key]`.
fn names_under(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// The `ggen` binary as a plain process for the home at `home`, acting as
/// `user`, with nothing from the environment but PATH.
pub fn std_bin(home: &Path, user: &str) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("ggen"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GGEN_HOME", home)
        .env("GGEN_CONFIG_DIR", home.join("config"))
        .env("GGEN_USER_ID", user);
    c
}

/// Runs `cmd` to the end: (succeeded, stdout, stderr).
pub fn outcome(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `cmd` fails with each of `needles` in its stderr.
pub fn assert_fails(cmd: &mut Command, needles: &[&str]) {
    let (ok, _, err) = outcome(cmd);
    assert!(!ok, "{cmd:?} succeeded");
    for needle in needles {
        assert!(err.contains(needle), "{cmd:?}: no {needle:?} in {err}");
    }
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
    let out = ggen_test_support::succeeded(
        home.token_create()
            .args(["--scope", "publish", "--owner", "tester"])
            .args(["--package", pattern])
            .output(),
        "",
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
