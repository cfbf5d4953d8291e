//! The one interface every backend answers, after cargo's `Source`: callers
//! (CLI, server, installer, migration) never know which store is behind it.

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::error::{MarketplaceError, Result};
use crate::model::{Package, PackageSummary, PackageVersion};
use crate::search::{SearchQuery, SearchResults};

/// Which backend: the JSON index or the RDF graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The registry index (`index.json`) with a tantivy search index.
    V1,
    /// The RDF graph in Oxigraph or a SPARQL 1.1 endpoint.
    V2,
}

impl BackendKind {
    /// `v1` or `v2`, as in config, `--json` output and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            other => Err(format!("unknown backend `{other}` (expected v1 or v2)")),
        }
    }
}

/// What a backend can do beyond the trait's common ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// Ranked full-text search.
    pub supports_full_text_search: bool,
    /// Read-only SPARQL over its data.
    pub supports_sparql_queries: bool,
    /// Exports its data as RDF.
    pub supports_rdf_metadata: bool,
    /// Stores and serves signatures with versions.
    pub supports_cryptographic_signing: bool,
    /// Accepts new versions.
    pub supports_publish: bool,
}

impl Capabilities {
    /// A registry that searches, signs and publishes, without RDF: V1, and
    /// a registry server as its client sees it.
    pub const REGISTRY: Self = Self {
        supports_full_text_search: true,
        supports_sparql_queries: false,
        supports_rdf_metadata: false,
        supports_cryptographic_signing: true,
        supports_publish: true,
    };

    /// [`Self::REGISTRY`] with SPARQL and RDF export: V2.
    pub const GRAPH: Self = Self {
        supports_sparql_queries: true,
        supports_rdf_metadata: true,
        ..Self::REGISTRY
    };
}

/// What `status` shows of a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendMetadata {
    /// Which backend.
    pub kind: BackendKind,
    /// What stores the data, e.g. "index.json + tantivy" or "oxigraph (rocksdb)".
    pub storage: String,
    /// Where, e.g. a directory or an endpoint URL.
    pub location: String,
    /// Packages it holds.
    pub package_count: usize,
    /// Versions of all packages.
    pub version_count: usize,
    /// What it can do.
    pub capabilities: Capabilities,
}

/// An archive being read: see [`MarketplaceBackend::open_archive`].
pub type ArchiveStream = Box<dyn std::io::Read + Send>;

/// What a backend must answer. Implementations are shared between threads (the
/// dual adapter runs both at once in compare mode), hence `Send + Sync`.
///
/// The trait is synchronous: both stores (tantivy, Oxigraph) are synchronous
/// libraries, so an async trait would only add executors to the CLI's path.
/// The server calls it from blocking tasks.
pub trait MarketplaceBackend: Send + Sync {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// Which backend answered the most recent call on this thread's behalf: the
    /// same as [`kind`](Self::kind) except for adapters that route between two.
    fn last_used(&self) -> BackendKind {
        self.kind()
    }

    /// Where the data lives and how much there is.
    fn metadata(&self) -> Result<BackendMetadata>;

    /// Ranked hits for `query`; implementations refuse what
    /// [`SearchQuery::validate`] refuses.
    fn search(&self, query: &SearchQuery) -> Result<SearchResults>;

    /// A package with every version; [`MarketplaceError::NotFound`] when absent.
    fn package(&self, name: &str) -> Result<Package>;

    /// Published versions, ascending.
    fn versions(&self, name: &str) -> Result<Vec<PackageVersion>> {
        Ok(self.package(name)?.versions)
    }

    /// Every package's latest version, by name.
    fn list(&self) -> Result<Vec<PackageSummary>>;

    /// The `.tar.gz` bytes of one version, exactly as published.
    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>>;

    /// The archive of one version as a stream checked against its checksum as
    /// it is read ([`crate::checksum::VerifyingReader`]), for callers that
    /// pass it on without holding it (the server's downloads). The default
    /// reads it whole through [`fetch_archive`](Self::fetch_archive);
    /// backends that keep archives as files open them instead.
    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        Ok(Box::new(std::io::Cursor::new(
            self.fetch_archive(name, version)?,
        )))
    }

    /// Stores a new version with its archive. Fails with
    /// [`MarketplaceError::AlreadyPublished`] if that version exists.
    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()>;

    /// Marks a version yanked (or not). Yanked versions stay installable from a
    /// lockfile but are skipped by resolution.
    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()>;

    /// Removes one version entirely (and its package when no version is left).
    /// Not a user operation: published versions are immutable. It exists so the
    /// dual adapter can undo the first half of a dual write whose second half
    /// failed, and so migration can replace a V2 copy that no longer matches V1.
    fn retract(&self, name: &str, version: &Version) -> Result<()> {
        let _ = (name, version);
        Err(MarketplaceError::Unsupported {
            backend: self.kind().to_string(),
            operation: "retract".into(),
            reason: "this backend keeps every published version".into(),
        })
    }

    /// Checks that `release` could be published here, writing nothing: the name is
    /// valid, the version is new, and the archive matches the declared checksum.
    fn validate(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        validate_release(self, release, archive)
    }
}

/// What every backend checks before it writes a version, in one place: a
/// valid name, metadata without control characters, valid dependency names, a
/// declared checksum that matches the archive, and an archive an installer
/// would extract ([`crate::archive::check_tar_gz`]): what a registry serves is
/// what an installer accepts. Bulk imports of already-published data
/// (migration, seeding) call it too.
pub fn check_release(release: &PackageVersion, archive: &[u8]) -> Result<()> {
    crate::name::validate_name(&release.name)?;
    release.validate_metadata()?;
    let actual = crate::checksum::sha256_hex(archive);
    match &release.checksum {
        Some(expected) if *expected != actual => {
            return Err(MarketplaceError::ChecksumMismatch {
                name: release.name.clone(),
                version: release.version.to_string(),
                expected: expected.clone(),
                actual,
            });
        }
        None => {
            return Err(MarketplaceError::InvalidArchive {
                reason: format!("`{}` declares no checksum", release.id()),
            });
        }
        _ => {}
    }
    crate::archive::check_tar_gz(archive, &crate::archive::ExtractLimits::default())?;
    Ok(())
}

/// What a bulk import of already-published data (seeding, migration, a
/// restore) checks: a valid name and dependency names, and, when the archive
/// comes along, that it matches the declared checksum. Not the metadata and
/// archive rules of [`check_release`]: data an older registry accepted is
/// copied as it is (installs still refuse what they must, and text is shown
/// defused), so a migration never fails on a version that was already public.
pub fn check_import(release: &PackageVersion, archive: Option<&[u8]>) -> Result<()> {
    crate::name::validate_name(&release.name)?;
    for dep in &release.dependencies {
        crate::name::validate_name(&dep.name)?;
    }
    if let Some(archive) = archive {
        let actual = crate::checksum::sha256_hex(archive);
        if release.checksum.as_deref() != Some(actual.as_str()) {
            return Err(MarketplaceError::ChecksumMismatch {
                name: release.name.clone(),
                version: release.version.to_string(),
                expected: release.checksum.clone().unwrap_or_else(|| "(none)".into()),
                actual,
            });
        }
    }
    Ok(())
}

/// [`check_release`], and the version is new in `backend`: what `validate`
/// answers (a dry run of publish).
pub fn validate_release<B: MarketplaceBackend + ?Sized>(
    backend: &B,
    release: &PackageVersion,
    archive: &[u8],
) -> Result<()> {
    check_release(release, archive)?;
    match backend.package(&release.name) {
        Ok(existing) if existing.version(&release.version).is_some() => {
            Err(MarketplaceError::AlreadyPublished {
                name: release.name.clone(),
                version: release.version.to_string(),
            })
        }
        Ok(_) | Err(MarketplaceError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
