//! `owners.json`: who owns each package name, and which keys sign it.
//!
//! The first publish of a name records its owner (the token's owner); from
//! then on only that owner (or owners added with `ggen registry owner add`)
//! may publish or yank it. The first signed publish records its signing key;
//! from then on every new version must be signed by one of the package's keys,
//! so a stolen token alone cannot ship a version the package's users would
//! accept. Keys change only explicitly: `ggen registry owner key-add` (the
//! operator) or a rotation endorsed by a current key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use ggen_marketplace_core::fsutil::{FileLock, atomic_write};
use ggen_marketplace_core::name::validate_name;
use ggen_marketplace_core::signing;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The owners file's name in the registry directory.
pub const OWNERS_FILE: &str = "owners.json";
const FORMAT: u32 = 1;

/// One name's owners and keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    /// Owner names (a token's `owner`). Empty: unclaimed.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Raw 32-byte Ed25519 public keys, hex, that may sign new versions.
    #[serde(default)]
    pub keys: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnersFile {
    format: u32,
    #[serde(default)]
    packages: BTreeMap<String, Ownership>,
}

/// The owners file of one registry directory. Every change runs under a file
/// lock, read-modify-write, and is written atomically.
#[derive(Debug, Clone)]
pub struct Owners {
    path: PathBuf,
}

impl Owners {
    /// The owners file of the registry at `registry_dir` (read lazily; absent means no names claimed).
    pub fn new(registry_dir: &Path) -> Self {
        Self {
            path: registry_dir.join(OWNERS_FILE),
        }
    }

    /// Where the owners file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, why: impl std::fmt::Display) -> Error {
        Error::Setup(format!(
            "{} is unreadable: {why}; restore it from a backup (it records who owns each package)",
            self.path.display()
        ))
    }

    fn read(&self) -> Result<OwnersFile> {
        let file: OwnersFile = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => OwnersFile {
                format: FORMAT,
                packages: BTreeMap::new(),
            },
            Err(e) => return Err(ggen_marketplace_core::MarketplaceError::io(&self.path, e).into()),
        };
        if file.format != FORMAT {
            return Err(self.corrupt(format!("format {} (this ggen reads {FORMAT})", file.format)));
        }
        Ok(file)
    }

    /// The record of `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<Ownership>> {
        Ok(self.read()?.packages.remove(name))
    }

    /// Every record, by name.
    pub fn all(&self) -> Result<BTreeMap<String, Ownership>> {
        Ok(self.read()?.packages)
    }

    /// Runs `change` on the whole file under the lock and writes the result.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Ownership>) -> Result<T>,
    ) -> Result<T> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let _lock = FileLock::exclusive(&dir.join(".owners.lock"))?;
        let mut file = self.read()?;
        let out = change(&mut file.packages)?;
        file.packages
            .retain(|_, o| !o.owners.is_empty() || !o.keys.is_empty());
        let mut json = serde_json::to_vec_pretty(&file).expect("owners serialize");
        json.push(b'\n');
        atomic_write(&self.path, &json)?;
        Ok(out)
    }

    /// Lets `owner` publish and yank `name` (the operator's
    /// `ggen registry owner add`).
    pub fn add_owner(&self, name: &str, owner: &str) -> Result<()> {
        super::validate_owner(owner).map_err(Error::Setup)?;
        self.edit(name, |e| {
            if !e.owners.iter().any(|o| o == owner) {
                e.owners.push(owner.to_string());
            }
            Ok(())
        })
    }

    /// Stops `owner` from publishing and yanking `name`; an error if it
    /// was not an owner.
    pub fn remove_owner(&self, name: &str, owner: &str) -> Result<()> {
        self.edit(name, |e| {
            let before = e.owners.len();
            e.owners.retain(|o| o != owner);
            if e.owners.len() == before {
                return Err(Error::Setup(format!(
                    "`{owner}` is not an owner of `{name}`"
                )));
            }
            Ok(())
        })
    }

    /// Accepts signatures by `key` for new versions of `name`.
    pub fn add_key(&self, name: &str, key: &VerifyingKey) -> Result<()> {
        let hex = signing::public_key_hex(key);
        self.edit(name, |e| {
            if !e.keys.contains(&hex) {
                e.keys.push(hex.clone());
            }
            Ok(())
        })
    }

    /// Stops accepting signatures by the key with id `key_id` for new
    /// versions of `name`; an error if it was not one of its keys.
    pub fn remove_key(&self, name: &str, key_id: &str) -> Result<()> {
        self.edit(name, |e| {
            let before = e.keys.len();
            e.keys.retain(|k| {
                signing::parse_public_key_hex(k).map_or(true, |vk| signing::key_id(&vk) != key_id)
            });
            if e.keys.len() == before {
                return Err(Error::Setup(format!(
                    "key {key_id} is not a signing key of `{name}`"
                )));
            }
            Ok(())
        })
    }

    /// Runs `change` on the record of the valid name `name` (created empty
    /// when absent), under the lock.
    fn edit(&self, name: &str, change: impl FnOnce(&mut Ownership) -> Result<()>) -> Result<()> {
        validate_name(name)?;
        self.update(|all| change(all.entry(name.to_string()).or_default()))
    }
}
