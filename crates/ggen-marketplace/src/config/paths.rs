//! Where state lives: the home (registry, keys, caches, journals), the
//! registry directory, and the directory of `config.yaml`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where a marketplace keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `GGEN_HOME`: caches, keys, journals, the trust store.
    pub home: PathBuf,
    /// The registry directory: V1's index and archives, V2's store, tokens, owners.
    pub registry: PathBuf,
    /// Where `config.yaml` lives.
    pub config_dir: PathBuf,
}

impl Paths {
    /// Resolves the locations from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(&super::env::process_env)
    }

    /// Resolves the locations from `env`: `GGEN_HOME` (default `~/.ggen`),
    /// `GGEN_REGISTRY_DIR` (default `$GGEN_HOME/registry`), `GGEN_CONFIG_DIR`
    /// (default the XDG config dir's `ggen/`).
    pub fn from_lookup(env: super::env::Env<'_>) -> Result<Self> {
        use super::env::{CONFIG_DIR, HOME, REGISTRY_DIR, dir};
        let home = match dir(env, HOME) {
            Some(h) => h,
            None => dirs::home_dir()
                .ok_or_else(|| {
                    Error::Setup("cannot find the home directory; set GGEN_HOME".into())
                })?
                .join(".ggen"),
        };
        let registry = dir(env, REGISTRY_DIR).unwrap_or_else(|| home.join("registry"));
        let config_dir = match dir(env, CONFIG_DIR) {
            Some(d) => d,
            None => dirs::config_dir()
                .map(|d| d.join("ggen"))
                .unwrap_or_else(|| home.join("config")),
        };
        Ok(Self {
            home,
            registry,
            config_dir,
        })
    }

    /// All three under one directory (tests, `--home`).
    pub fn under(home: &Path) -> Self {
        Self {
            home: home.to_path_buf(),
            registry: home.join("registry"),
            config_dir: home.join("config"),
        }
    }

    /// `config.yaml` in the config directory.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.yaml")
    }

    /// Search, package, SPARQL and signature caches.
    pub fn cache_dir(&self) -> PathBuf {
        self.home.join("cache")
    }

    /// The local signing keys.
    pub fn keys_dir(&self) -> PathBuf {
        self.home.join("keys")
    }

    /// Install transaction journals, one per target (never inside a target).
    pub fn transactions_dir(&self) -> PathBuf {
        self.home.join("transactions")
    }

    /// The trust store: keys this user accepts signatures from.
    pub fn trust_file(&self) -> PathBuf {
        self.home.join("trusted-keys.json")
    }
}
