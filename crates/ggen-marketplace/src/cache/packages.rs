//! The in-memory package-metadata tier: `package` and `versions` answers kept
//! by long-running processes (the server's `info`, `versions` and downloads ask
//! for the same packages again and again, and V2 reads each from RocksDB).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use ggen_marketplace_core::ArchiveStream;
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{
    BackendKind, BackendMetadata, MarketplaceBackend, Package, PackageSummary, PackageVersion,
    Result,
};
use semver::Version;

use crate::cache::generation;

/// Package metadata in memory (the server's `info`, `versions` and downloads
/// ask for the same packages again and again; V2 reads each from RocksDB).
/// Entries are keyed by the routing decision and the registry generation, so
/// any write through the facade makes them unreachable.
pub type PackageTier = moka::sync::Cache<String, Arc<(Package, BackendKind)>>;

/// A backend whose `package` and `versions` answers come from a [`PackageTier`]
/// when they can.
pub struct CachedPackages {
    pub inner: Arc<dyn MarketplaceBackend>,
    pub tier: PackageTier,
    pub registry: PathBuf,
    /// The routing decision (strategy and A/B side) the answers depend on.
    pub routing: String,
    last: AtomicU8,
}

impl CachedPackages {
    pub fn new(
        inner: Arc<dyn MarketplaceBackend>,
        tier: PackageTier,
        registry: PathBuf,
        routing: String,
    ) -> Self {
        Self {
            inner,
            tier,
            registry,
            routing,
            last: AtomicU8::new(0),
        }
    }

    fn cached(&self, name: &str) -> Result<Package> {
        let key = format!("{}|{}|{name}", self.routing, generation(&self.registry));
        metrics::counter!(crate::observe::metrics::CACHE_REQUESTS, "tier" => "package", "strategy" => self.routing.clone()).increment(1);
        let remember = |kind: BackendKind| {
            self.last.store(
                if kind == BackendKind::V1 { 1 } else { 2 },
                Ordering::Relaxed,
            );
        };
        if let Some(hit) = self.tier.get(&key) {
            metrics::counter!(crate::observe::metrics::CACHE_HITS, "tier" => "package", "strategy" => self.routing.clone()).increment(1);
            remember(hit.1);
            return Ok(hit.0.clone());
        }
        let pkg = self.inner.package(name)?;
        let used = self.inner.last_used();
        remember(used);
        self.tier.insert(key, Arc::new((pkg.clone(), used)));
        Ok(pkg)
    }
}

impl MarketplaceBackend for CachedPackages {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    fn last_used(&self) -> BackendKind {
        match self.last.load(Ordering::Relaxed) {
            1 => BackendKind::V1,
            2 => BackendKind::V2,
            _ => self.inner.last_used(),
        }
    }
    fn metadata(&self) -> Result<BackendMetadata> {
        self.inner.metadata()
    }
    fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.search(q)
    }
    fn package(&self, name: &str) -> Result<Package> {
        self.cached(name)
    }
    fn versions(&self, name: &str) -> Result<Vec<PackageVersion>> {
        Ok(self.cached(name)?.versions)
    }
    fn list(&self) -> Result<Vec<PackageSummary>> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.list()
    }
    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.fetch_archive(name, version)
    }
    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.open_archive(name, version)
    }
    fn publish(&self, r: &PackageVersion, a: &[u8]) -> Result<()> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.publish(r, a)
    }
    fn yank(&self, name: &str, v: &Version, y: bool) -> Result<()> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.yank(name, v, y)
    }
    fn retract(&self, name: &str, v: &Version) -> Result<()> {
        self.last.store(0, Ordering::Relaxed);
        self.inner.retract(name, v)
    }
    fn validate(&self, r: &PackageVersion, a: &[u8]) -> Result<()> {
        self.inner.validate(r, a)
    }
}
