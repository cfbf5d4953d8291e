//! [`Marketplace`]: opens the compiled backends lazily, seeds a fresh registry
//! from the bundled catalogue, and hands out the backend each operation should use.

use std::sync::{Arc, OnceLock};

use ggen_marketplace_core::fsutil::FileLock;
use ggen_marketplace_core::{BackendKind, MarketplaceBackend};

use crate::config::{BackendStrategy, Operation, Settings};
use crate::error::{Error, Result};
use crate::home::Paths;

#[cfg(feature = "marketplace-v1")]
use ggen_marketplace_v1::V1Backend;
#[cfg(feature = "marketplace-v2")]
use ggen_marketplace_v2::V2Backend;

/// Lock serialising seeding against other processes.
const SEED_LOCK: &str = ".seed.lock";

pub struct Marketplace {
    pub paths: Paths,
    pub settings: Settings,
    #[cfg(feature = "marketplace-v1")]
    v1: OnceLock<Arc<V1Backend>>,
    #[cfg(feature = "marketplace-v2")]
    v2: OnceLock<Arc<V2Backend>>,
    subject: OnceLock<String>,
}

/// What seeding did, for the CLI to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub v1_added: usize,
    pub v2_added: usize,
}

impl Marketplace {
    pub fn new(paths: Paths, settings: Settings) -> Self {
        Self {
            paths,
            settings,
            #[cfg(feature = "marketplace-v1")]
            v1: OnceLock::new(),
            #[cfg(feature = "marketplace-v2")]
            v2: OnceLock::new(),
            subject: OnceLock::new(),
        }
    }

    /// The A/B subject of this user (see [`crate::bucket::subject`]).
    pub fn subject(&self) -> &str {
        self.subject.get_or_init(|| crate::bucket::subject(&self.paths.config_dir))
    }

    /// Whether the registry directory has been seeded yet.
    pub fn is_seeded(&self) -> bool {
        let r = &self.paths.registry;
        (cfg!(feature = "marketplace-v1") && r.join("index.json").is_file())
            || (!cfg!(feature = "marketplace-v1") && r.join("v2").is_dir())
    }

    /// Seeds every compiled backend from the bundled catalogue if the registry is
    /// new; with `force`, re-imports it into an existing registry (versions already
    /// present are skipped). Returns `None` when nothing needed doing.
    pub fn ensure_seeded(&self, force: bool) -> Result<Option<SeedReport>> {
        if self.is_seeded() && !force {
            return Ok(None);
        }
        let _lock = FileLock::exclusive(&self.paths.registry.join(SEED_LOCK))?;
        if self.is_seeded() && !force {
            return Ok(None); // another process seeded while we waited
        }
        let releases = crate::catalogue::releases()?;
        let mut report = SeedReport::default();
        #[cfg(feature = "marketplace-v1")]
        {
            let v1 = V1Backend::create(&self.paths.registry, "bundled")?;
            report.v1_added = v1.publish_many(&releases)?;
        }
        #[cfg(feature = "marketplace-v2")]
        {
            if self.settings.v2_endpoint.is_none() {
                let v2 = V2Backend::open_embedded(&self.paths.registry)?;
                report.v2_added = v2.publish_many(&releases)?;
            }
        }
        Ok(Some(report))
    }

    #[cfg(feature = "marketplace-v1")]
    pub fn v1(&self) -> Result<Arc<V1Backend>> {
        if let Some(b) = self.v1.get() {
            return Ok(b.clone());
        }
        let b = Arc::new(V1Backend::open(&self.paths.registry)?);
        Ok(self.v1.get_or_init(|| b).clone())
    }

    #[cfg(feature = "marketplace-v2")]
    pub fn v2(&self) -> Result<Arc<V2Backend>> {
        if let Some(b) = self.v2.get() {
            return Ok(b.clone());
        }
        let b = match &self.settings.v2_endpoint {
            Some(endpoint) => {
                let update = self
                    .settings
                    .v2_update_endpoint
                    .clone()
                    .unwrap_or_else(|| crate::config::derive_update_url(&endpoint.value));
                V2Backend::remote(&endpoint.value, &update, &self.paths.registry, &self.paths.cache_dir().join("v2-remote"))?
            }
            None => V2Backend::open_embedded(&self.paths.registry)?,
        };
        Ok(self.v2.get_or_init(|| Arc::new(b)).clone())
    }

    /// One backend by kind, or a clear error when this build lacks it.
    pub fn single(&self, kind: BackendKind) -> Result<Arc<dyn MarketplaceBackend>> {
        match kind {
            #[cfg(feature = "marketplace-v1")]
            BackendKind::V1 => Ok(self.v1()?),
            #[cfg(feature = "marketplace-v2")]
            BackendKind::V2 => Ok(self.v2()?),
            #[allow(unreachable_patterns)]
            other => Err(not_compiled(other)),
        }
    }

    /// The backend that answers `op` under the configured strategy.
    pub fn backend_for(&self, op: Operation) -> Result<Arc<dyn MarketplaceBackend>> {
        match self.settings.strategy(op) {
            BackendStrategy::V1Only => self.single(BackendKind::V1),
            BackendStrategy::V2Only => self.single(BackendKind::V2),
            #[cfg(feature = "marketplace-parallel")]
            strategy => Ok(Arc::new(crate::dual::DualBackendAdapter::new(
                self.v1()?,
                self.v2()?,
                strategy,
                op,
                self.subject().to_string(),
                &self.settings,
                self.paths.home.clone(),
            ))),
            #[cfg(not(feature = "marketplace-parallel"))]
            strategy => Err(Error::Setup(format!(
                "strategy `{strategy}` needs both backends; rebuild with `--features marketplace-parallel` or set `marketplace.backend` to the compiled backend"
            ))),
        }
    }
}

fn not_compiled(kind: BackendKind) -> Error {
    Error::NotCompiled {
        backend: kind.to_string(),
        feature: format!("marketplace-{kind}"),
    }
}
