//! `ggen.lock`: what is installed in a target directory, exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ggen_marketplace_core::fsutil::atomic_write;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const LOCKFILE: &str = "ggen.lock";
const HEADER: &str =
    "# This file is written by `ggen marketplace install`. Do not edit it by hand.\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    pub version: u32,
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPackage {
    pub name: String,
    pub version: Version,
    /// Where it came from, e.g. `registry+file:///home/u/.ggen/registry`.
    pub source: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_key_id: Option<String>,
    /// Named on the command line (as opposed to pulled in as a dependency).
    #[serde(default)]
    pub requested: bool,
    /// The requirement it was requested with (`install NAME@REQ`); `update`
    /// stays within it, as cargo stays within Cargo.toml. Absent means `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<semver::VersionReq>,
    /// `name version` of each resolved dependency.
    #[serde(default)]
    pub dependencies: Vec<String>,
}

impl Default for Lockfile {
    fn default() -> Self {
        Self {
            version: 1,
            packages: Vec::new(),
        }
    }
}

impl Lockfile {
    pub fn path(target: &Path) -> PathBuf {
        target.join(LOCKFILE)
    }

    /// The lockfile in `target`, or an empty one when there is none.
    pub fn read(target: &Path) -> Result<Self> {
        let path = Self::path(target);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(ggen_marketplace_core::MarketplaceError::io(&path, e).into()),
        };
        let lock: Self = toml::from_str(&text).map_err(|e| {
            Error::Setup(format!(
                "{} is not a valid lockfile: {}; delete it to reinstall from scratch",
                path.display(),
                e.message()
            ))
        })?;
        if lock.version != 1 {
            return Err(Error::Setup(format!(
                "{} has format version {}; this ggen reads version 1",
                path.display(),
                lock.version
            )));
        }
        Ok(lock)
    }

    /// The exact bytes [`write`](Self::write) puts on disk.
    pub fn render(&self) -> String {
        let mut text = String::from(HEADER);
        text.push_str(&toml::to_string_pretty(self).expect("lockfile serializes"));
        text
    }

    pub fn write(&self, target: &Path) -> Result<()> {
        Ok(atomic_write(&Self::path(target), self.render().as_bytes())?)
    }

    pub fn get(&self, name: &str) -> Option<&LockedPackage> {
        self.packages.iter().find(|p| p.name == name)
    }

    pub fn versions(&self) -> BTreeMap<String, Version> {
        self.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    pub fn sort(&mut self) {
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lockfile {
            version: 1,
            packages: vec![LockedPackage {
                name: "rust-cli".into(),
                version: "1.2.0".parse().unwrap(),
                source: "registry+file:///r".into(),
                sha256: "ab".repeat(32),
                signature_key_id: Some("0123456789abcdef".into()),
                requested: true,
                requirement: Some("^1.2".parse().unwrap()),
                dependencies: vec!["rust-base 1.1.0".into()],
            }],
        };
        lock.write(dir.path()).unwrap();
        assert_eq!(Lockfile::read(dir.path()).unwrap(), lock);
        assert!(
            std::fs::read_to_string(Lockfile::path(dir.path()))
                .unwrap()
                .starts_with("# This file")
        );
    }

    #[test]
    fn garbage_lockfile_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Lockfile::path(dir.path()), "version = \"x\"").unwrap();
        let e = Lockfile::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("ggen.lock") && e.contains("not a valid lockfile"),
            "{e}"
        );
    }
}
