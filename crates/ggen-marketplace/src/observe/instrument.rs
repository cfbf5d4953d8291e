//! Counts and times every call that reaches a backend, labelled by the backend
//! that answered and the operation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ggen_marketplace_core::ArchiveStream;
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{BackendKind, BackendMetadata, MarketplaceBackend, Result};
use semver::Version;

use crate::config::Operation;
use crate::observe::metrics as m;

pub struct Instrumented {
    op: Operation,
    inner: Arc<dyn MarketplaceBackend>,
    /// Registry whose generation a successful write bumps (see [`crate::cache`]).
    registry: PathBuf,
}

impl Instrumented {
    pub fn new(op: Operation, inner: Arc<dyn MarketplaceBackend>, registry: PathBuf) -> Self {
        Self {
            op,
            inner,
            registry,
        }
    }

    fn wrote(&self, r: Result<()>) -> Result<()> {
        if r.is_ok() {
            crate::cache::bump_generation(&self.registry);
        }
        r
    }

    fn record<T>(
        &self,
        call: &'static str,
        f: impl FnOnce(&dyn MarketplaceBackend) -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let r = f(self.inner.as_ref());
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let backend = self.inner.last_used().as_str();
        let op = self.op.as_str();
        metrics::counter!(m::REQUESTS, "backend" => backend, "operation" => op, "call" => call)
            .increment(1);
        if r.is_err() {
            metrics::counter!(m::ERRORS, "backend" => backend, "operation" => op, "call" => call)
                .increment(1);
        }
        if call == "search" {
            metrics::histogram!(m::SEARCH_LATENCY, "backend" => backend).record(ms);
        }
        r
    }
}

impl MarketplaceBackend for Instrumented {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    fn last_used(&self) -> BackendKind {
        self.inner.last_used()
    }
    fn metadata(&self) -> Result<BackendMetadata> {
        self.record("metadata", |b| b.metadata())
    }
    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        self.record("search", |b| b.search(query))
    }
    fn package(&self, name: &str) -> Result<Package> {
        self.record("package", |b| b.package(name))
    }
    fn versions(&self, name: &str) -> Result<Vec<PackageVersion>> {
        self.record("versions", |b| b.versions(name))
    }
    fn list(&self) -> Result<Vec<PackageSummary>> {
        self.record("list", |b| b.list())
    }
    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        self.record("fetch_archive", |b| b.fetch_archive(name, version))
    }
    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        self.record("fetch_archive", |b| b.open_archive(name, version))
    }
    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        let r = self.record("publish", |b| b.publish(release, archive));
        if r.is_ok() {
            metrics::counter!(m::PUBLISHES, "signed" => if release.signature.is_some() { "true" } else { "false" }).increment(1);
        }
        self.wrote(r)
    }
    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        let r = self.record("yank", |b| b.yank(name, version, yanked));
        self.wrote(r)
    }
    fn retract(&self, name: &str, version: &Version) -> Result<()> {
        let r = self.record("retract", |b| b.retract(name, version));
        self.wrote(r)
    }
    fn validate(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        self.record("validate", |b| b.validate(release, archive))
    }
}
