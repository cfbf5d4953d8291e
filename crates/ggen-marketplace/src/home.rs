//! Where state lives. `GGEN_HOME` (default `~/.ggen`) holds the registry, keys and
//! caches; `GGEN_REGISTRY_DIR` moves just the registry; the config file lives in
//! `GGEN_CONFIG_DIR` (default the XDG config dir's `ggen/`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub home: PathBuf,
    pub registry: PathBuf,
    pub config_dir: PathBuf,
}

impl Paths {
    /// Resolves the locations from the environment.
    pub fn from_env() -> Result<Self> {
        let env_path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = match env_path("GGEN_HOME") {
            Some(h) => h,
            None => dirs::home_dir()
                .ok_or_else(|| {
                    Error::Setup("cannot find the home directory; set GGEN_HOME".into())
                })?
                .join(".ggen"),
        };
        let registry = env_path("GGEN_REGISTRY_DIR").unwrap_or_else(|| home.join("registry"));
        let config_dir = match env_path("GGEN_CONFIG_DIR") {
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

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.yaml")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home.join("cache")
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.home.join("keys")
    }

    /// Install transaction journals, one per target (never inside a target).
    pub fn transactions_dir(&self) -> PathBuf {
        self.home.join("transactions")
    }

    pub fn trust_file(&self) -> PathBuf {
        self.home.join("trusted-keys.json")
    }
}
