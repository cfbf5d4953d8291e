//! A backend that could not be opened, kept in the dual adapter's place.

use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{
    BackendKind, BackendMetadata, MarketplaceBackend, MarketplaceError, Result,
};
use semver::Version;

/// Stands in for a backend that could not even be opened (its store locked by
/// another process, removed, unreachable): every call fails with
/// [`MarketplaceError::Unavailable`], so the dual adapter falls back to V1
/// instead of the whole command failing before routing starts.
pub struct Unopened {
    kind: BackendKind,
    reason: String,
}

impl Unopened {
    /// Stands in for `kind`, failing every call with `reason`.
    pub fn new(kind: BackendKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }

    fn err<T>(&self) -> Result<T> {
        Err(MarketplaceError::Unavailable {
            backend: self.kind.to_string(),
            reason: self.reason.clone(),
        })
    }
}

impl MarketplaceBackend for Unopened {
    fn kind(&self) -> BackendKind {
        self.kind
    }
    fn metadata(&self) -> Result<BackendMetadata> {
        self.err()
    }
    fn search(&self, _: &SearchQuery) -> Result<SearchResults> {
        self.err()
    }
    fn package(&self, _: &str) -> Result<Package> {
        self.err()
    }
    fn list(&self) -> Result<Vec<PackageSummary>> {
        self.err()
    }
    fn fetch_archive(&self, _: &str, _: &Version) -> Result<Vec<u8>> {
        self.err()
    }
    fn publish(&self, _: &PackageVersion, _: &[u8]) -> Result<()> {
        self.err()
    }
    fn yank(&self, _: &str, _: &Version, _: bool) -> Result<()> {
        self.err()
    }
}
