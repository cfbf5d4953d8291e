//! `ggen.lock`: what is installed in a target directory, exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ggen_marketplace_core::fsutil::atomic_write;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The lockfile's name in a target directory.
pub const LOCKFILE: &str = "ggen.lock";
const HEADER: &str =
    "# This file is written by `ggen marketplace install`. Do not edit it by hand.\n";

/// `ggen.lock`: exactly what is installed in a target, so a later install
/// reproduces it byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    /// Lockfile format version.
    pub version: u32,
    /// Every installed package, sorted by name.
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPackage {
    /// Its name.
    pub name: String,
    /// The exact version installed.
    pub version: Version,
    /// Where it came from, e.g. `registry+file:///home/u/.ggen/registry`.
    pub source: String,
    /// SHA-256 of the archive installed; a reinstall must match it.
    pub sha256: String,
    /// The key that signed it, if it was signed and verified.
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

/// Far above any real lockfile (a thousand packages take ~300 KiB).
const MAX_LOCKFILE_BYTES: u64 = 16 * 1024 * 1024;

fn untrusted(path: &Path, reason: &str) -> Error {
    Error::Setup(format!(
        "{} cannot be used: {reason}. Nothing was changed; if this directory came from someone else, inspect the file, and delete it to start from an empty lock",
        path.display()
    ))
}

/// Reads at most `cap` bytes of UTF-8; more is `InvalidData`.
pub(crate) fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(cap + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is larger than {cap} bytes"),
        ));
    }
    Ok(text)
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
    /// Where the lockfile of `target` lives.
    pub fn path(target: &Path) -> PathBuf {
        target.join(LOCKFILE)
    }

    /// The lockfile in `target`, or an empty one when there is none.
    ///
    /// A target directory may come from anyone (a cloned repository, an
    /// unpacked tarball), so the file is checked like any other untrusted
    /// input before a name in it is used as a path: a regular file (a link is
    /// refused, not followed), of sane size, every name a valid package name,
    /// no name twice, digests and dependency entries well formed.
    pub fn read(target: &Path) -> Result<Self> {
        let path = Self::path(target);
        if ggen_marketplace_core::fsutil::is_symlink(&path) {
            return Err(untrusted(
                &path,
                "it is a symbolic link, and ggen does not follow links in a target directory",
            ));
        }
        let text = match read_capped(&path, MAX_LOCKFILE_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(untrusted(&path, &e.to_string()));
            }
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
        lock.check().map_err(|reason| untrusted(&path, &reason))?;
        Ok(lock)
    }

    /// What [`read`](Self::read) requires of every entry.
    fn check(&self) -> std::result::Result<(), String> {
        use ggen_marketplace_core::checksum::is_sha256_hex;
        use ggen_marketplace_core::name::{validate_metadata_text, validate_name};
        let mut seen = std::collections::HashSet::new();
        for p in &self.packages {
            validate_name(&p.name).map_err(|e| e.to_string())?;
            if !seen.insert(p.name.as_str()) {
                return Err(format!("`{}` is listed twice", p.name));
            }
            if !is_sha256_hex(&p.sha256) {
                return Err(format!(
                    "`{}` has a sha256 that is not 64 hex digits",
                    p.name
                ));
            }
            validate_metadata_text("source", &p.source, false).map_err(|e| e.to_string())?;
            if let Some(k) = &p.signature_key_id
                && !(k.len() == 16 && k.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(format!("`{}` has a malformed signature_key_id", p.name));
            }
            for d in &p.dependencies {
                let ok = d
                    .split_once(' ')
                    .is_some_and(|(n, v)| validate_name(n).is_ok() && Version::parse(v).is_ok());
                if !ok {
                    return Err(format!(
                        "`{}` lists dependency `{}`, which is not `NAME VERSION`",
                        p.name,
                        d.escape_debug()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The exact bytes [`write`](Self::write) puts on disk.
    pub fn render(&self) -> String {
        let mut text = String::from(HEADER);
        text.push_str(&toml::to_string_pretty(self).expect("lockfile serializes"));
        text
    }

    /// Writes the lockfile into `target` atomically.
    pub fn write(&self, target: &Path) -> Result<()> {
        Ok(atomic_write(&Self::path(target), self.render().as_bytes())?)
    }

    /// The entry of `name`, if installed.
    pub fn get(&self, name: &str) -> Option<&LockedPackage> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Name to installed version, for the resolver's preferences.
    pub fn versions(&self) -> BTreeMap<String, Version> {
        self.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    /// Sorts entries by name, so the file diffs cleanly.
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
    fn hostile_lockfiles_are_refused_naming_the_file() {
        let entry = |name: &str, sha: &str, dep: &str| {
            format!(
                "version = 1\n[[package]]\nname = {name:?}\nversion = \"1.0.0\"\nsource = \"x\"\nsha256 = {sha:?}\ndependencies = [{dep}]\n"
            )
        };
        let good = "ab".repeat(32);
        let cases = [
            (entry("../../home", &good, ""), "invalid package name"),
            (entry("/etc", &good, ""), "invalid package name"),
            (entry("a/b", &good, ""), "invalid package name"),
            (entry("ok", "not-hex", ""), "sha256"),
            (entry("ok", &good, "\"../x 1.0.0\""), "dependency"),
            (entry("ok", &good, "\"y\""), "dependency"),
            (
                format!(
                    "{}{}",
                    entry("ok", &good, ""),
                    entry("ok", &good, "").replace("version = 1\n", "")
                ),
                "listed twice",
            ),
        ];
        for (text, needle) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(Lockfile::path(dir.path()), &text).unwrap();
            let e = Lockfile::read(dir.path()).unwrap_err().to_string();
            assert!(
                e.contains("ggen.lock") && e.contains(needle),
                "{needle}: {e}\n{text}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_lockfile_that_is_a_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.toml");
        std::fs::write(&elsewhere, "version = 1\n").unwrap();
        let target = dir.path().join("t");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&elsewhere, Lockfile::path(&target)).unwrap();
        let e = Lockfile::read(&target).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
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
