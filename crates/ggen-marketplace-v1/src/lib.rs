//! V1 backend: a registry directory holding `index.json` (the shape of ggen's
//! public registry), the package archives, and a tantivy search index.
//!
//! ```text
//! <registry>/index.json
//! <registry>/archives/<name>/<name>-<version>.tar.gz
//! <registry>/search-index/            tantivy
//! <registry>/.lock                    writers' lock
//! ```
//!
//! Writers take the directory lock, re-read `index.json` (another process may have
//! written since), write archives, then `index.json` atomically, then the search
//! index. `index.json` is the source of truth: the search index rebuilds itself
//! when it does not match (see the `search` module).
#![warn(missing_docs)]

pub mod index;
mod search;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use ggen_marketplace_core::backend::{check_import, check_release, validate_release};
use ggen_marketplace_core::fsutil::{FileLock, atomic_write};
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{
    ArchiveStream, BackendKind, BackendMetadata, Capabilities, MarketplaceBackend,
    MarketplaceError, Result,
};
use semver::Version;

use crate::index::IndexFile;
pub use crate::search::SEARCH_DIR;
use crate::search::{SearchIndex, stamp_of};

/// Where archives live in the registry directory.
pub const ARCHIVES_DIR: &str = "archives";
/// The writers' lock in the registry directory.
pub const LOCK_FILE: &str = ".lock";

/// `index.json` as loaded, keyed by name.
#[derive(Debug, Clone)]
struct Registry {
    packages: BTreeMap<String, Package>,
    generation: u64,
    registry_url: String,
    warnings: Vec<String>,
}

/// The V1 backend over one registry directory.
pub struct V1Backend {
    dir: PathBuf,
    registry: RwLock<Option<Arc<Registry>>>,
    search: RwLock<Option<Arc<SearchIndex>>>,
}

/// Where the archive of `name@version` lives under `dir`.
pub fn archive_path(dir: &Path, name: &str, version: &Version) -> PathBuf {
    dir.join(ARCHIVES_DIR)
        .join(name)
        .join(format!("{name}-{version}.tar.gz"))
}

impl V1Backend {
    /// Opens an existing registry directory. Nothing is read until first use.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        let index = IndexFile::path(&dir);
        if !index.is_file() {
            return Err(MarketplaceError::CorruptIndex {
                path: index,
                reason: "the file does not exist".into(),
            });
        }
        Ok(Self {
            dir,
            registry: RwLock::new(None),
            search: RwLock::new(None),
        })
    }

    /// Creates an empty registry in `dir` (which may exist but must not hold an index).
    pub fn create(dir: impl Into<PathBuf>, registry_url: &str) -> Result<Self> {
        let dir = dir.into();
        let _lock = FileLock::exclusive(&dir.join(LOCK_FILE))?;
        let index = IndexFile::path(&dir);
        if !index.exists() {
            let mut file = IndexFile::empty();
            file.registry_url = registry_url.to_string();
            file.updated_at = Some(Utc::now());
            atomic_write(&index, &file.to_json())?;
        }
        Self::open(dir)
    }

    /// Holds off every writer (in any process) while the guard lives: a backup
    /// takes it to read a consistent index and archive set.
    pub fn write_lock(&self) -> Result<FileLock> {
        FileLock::exclusive(&self.dir.join(LOCK_FILE))
    }

    /// The registry directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn index_path(&self) -> PathBuf {
        IndexFile::path(&self.dir)
    }

    fn read_from_disk(&self) -> Result<Registry> {
        let path = self.index_path();
        let bytes = std::fs::read(&path).map_err(|e| MarketplaceError::io(&path, e))?;
        let file = IndexFile::parse(&bytes, &path)?;
        let (packages, report) = file.to_packages();
        Ok(Registry {
            packages: packages.into_iter().map(|p| (p.name.clone(), p)).collect(),
            generation: file.generation,
            registry_url: file.registry_url,
            warnings: report.warnings,
        })
    }

    fn registry(&self) -> Result<Arc<Registry>> {
        if let Some(r) = self.registry.read().expect("lock").as_ref() {
            return Ok(r.clone());
        }
        let loaded = Arc::new(self.read_from_disk()?);
        // Warned once per process, on first load (not on every re-read by writers).
        for w in &loaded.warnings {
            tracing::warn!("{}: {w}", self.index_path().display());
        }
        *self.registry.write().expect("lock") = Some(loaded.clone());
        Ok(loaded)
    }

    /// Warnings found while loading `index.json` (e.g. missing dependencies).
    pub fn load_warnings(&self) -> Result<Vec<String>> {
        Ok(self.registry()?.warnings.clone())
    }

    /// Bumped on every write; caches key on it.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.registry()?.generation)
    }

    fn search_index(&self) -> Result<Arc<SearchIndex>> {
        if let Some(s) = self.search.read().expect("lock").as_ref() {
            return Ok(s.clone());
        }
        let dir = self.dir.join(SEARCH_DIR);
        let stamp = stamp_of(&self.index_path());
        let si = match SearchIndex::open_if_fresh(&dir, stamp.as_deref()) {
            Some(si) => si,
            None => {
                // Rebuild under the writers' lock, unless another process beat us to it.
                let _lock = FileLock::exclusive(&self.dir.join(LOCK_FILE))?;
                let stamp = stamp_of(&self.index_path());
                match SearchIndex::open_if_fresh(&dir, stamp.as_deref()) {
                    Some(si) => si,
                    None => {
                        let reg = self.read_from_disk()?;
                        SearchIndex::rebuild(&dir, reg.packages.values(), stamp.as_deref())?
                    }
                }
            }
        };
        let si = Arc::new(si);
        *self.search.write().expect("lock") = Some(si.clone());
        Ok(si)
    }

    /// Rebuilds the search index from `index.json` (`ggen marketplace rebuild-index`).
    pub fn rebuild_index(&self) -> Result<u64> {
        let _lock = FileLock::exclusive(&self.dir.join(LOCK_FILE))?;
        let reg = self.read_from_disk()?;
        let stamp = stamp_of(&self.index_path());
        let si = SearchIndex::rebuild(
            &self.dir.join(SEARCH_DIR),
            reg.packages.values(),
            stamp.as_deref(),
        )?;
        let docs = si.num_docs();
        *self.search.write().expect("lock") = Some(Arc::new(si));
        *self.registry.write().expect("lock") = Some(Arc::new(reg));
        Ok(docs)
    }

    /// Applies `change` to a fresh copy of the registry under the writers' lock and
    /// persists the result: `index.json` first, then the search index.
    fn write<T>(
        &self,
        change: impl FnOnce(&mut Registry) -> Result<(T, Vec<String>)>,
    ) -> Result<T> {
        let _lock = FileLock::exclusive(&self.dir.join(LOCK_FILE))?;
        // Temp files of writers killed mid-write; we hold the writers' lock.
        ggen_marketplace_core::fsutil::remove_stale_temp_files(&self.dir);
        let mut reg = self.read_from_disk()?;
        let (out, touched) = change(&mut reg)?;
        reg.generation += 1;
        let file =
            IndexFile::from_packages(reg.packages.values(), &reg.registry_url, reg.generation);
        atomic_write(&self.index_path(), &file.to_json())?;
        let stamp = stamp_of(&self.index_path());
        let reg = Arc::new(reg);
        *self.registry.write().expect("lock") = Some(reg.clone());
        // Update the open search index in place, or open (and rebuild if stale) one.
        let cached = self.search.read().expect("lock").clone();
        let search_dir = self.dir.join(SEARCH_DIR);
        let si = match cached {
            Some(si) => si,
            None => match SearchIndex::open_if_fresh(&search_dir, None) {
                Some(si) => Arc::new(si),
                None => Arc::new(SearchIndex::rebuild(
                    &search_dir,
                    reg.packages.values(),
                    stamp.as_deref(),
                )?),
            },
        };
        let pkgs: Vec<&Package> = touched.iter().filter_map(|n| reg.packages.get(n)).collect();
        let removed: Vec<&str> = touched
            .iter()
            .filter(|n| !reg.packages.contains_key(n.as_str()))
            .map(String::as_str)
            .collect();
        si.upsert(&pkgs, &removed, stamp.as_deref())?;
        *self.search.write().expect("lock") = Some(si);
        Ok(out)
    }

    fn store_archive(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        let path = archive_path(&self.dir, &release.name, &release.version);
        atomic_write(&path, archive)
    }

    /// Publishes many versions with one index write (seeding, migration, benchmarks).
    /// Versions already present with the same checksum are skipped, so a re-run
    /// after a crash completes the work.
    pub fn publish_many(&self, releases: &[(PackageVersion, Vec<u8>)]) -> Result<usize> {
        self.write(|reg| {
            let mut touched = Vec::new();
            let mut added = 0;
            for (release, archive) in releases {
                if let Some(existing) = reg
                    .packages
                    .get(&release.name)
                    .and_then(|p| p.version(&release.version))
                {
                    if existing.checksum == release.checksum {
                        continue;
                    }
                    return Err(MarketplaceError::AlreadyPublished {
                        name: release.name.clone(),
                        version: release.version.to_string(),
                    });
                }
                check_import(release, Some(archive))?;
                self.store_archive(release, archive)?;
                insert_version(reg, release, archive.len());
                touched.push(release.name.clone());
                added += 1;
            }
            touched.dedup();
            Ok((added, touched))
        })
    }

    /// Sets package-wide counters (used by seeding and the benchmark generator).
    pub fn set_counters(&self, counters: &[(String, u64, u64)]) -> Result<()> {
        self.write(|reg| {
            let mut touched = Vec::new();
            for (name, downloads, stars) in counters {
                if let Some(p) = reg.packages.get_mut(name) {
                    p.downloads = *downloads;
                    p.stars = *stars;
                    touched.push(name.clone());
                }
            }
            Ok(((), touched))
        })
    }
}

fn insert_version(reg: &mut Registry, release: &PackageVersion, archive_len: usize) {
    let mut release = release.clone();
    release.published_at.get_or_insert_with(Utc::now);
    release.size.get_or_insert(archive_len as u64);
    let pkg = reg
        .packages
        .entry(release.name.clone())
        .or_insert_with(|| Package {
            name: release.name.clone(),
            downloads: 0,
            stars: 0,
            versions: Vec::new(),
        });
    pkg.versions.push(release);
    pkg.sort_versions();
}

impl V1Backend {
    /// One published version's record, or the not-found that names it.
    fn release(&self, name: &str, version: &Version) -> Result<PackageVersion> {
        self.package(name)?
            .version(version)
            .cloned()
            .ok_or_else(|| MarketplaceError::VersionNotFound {
                name: name.to_string(),
                requirement: format!("={version}"),
            })
    }
}

/// The record of `name` in `reg`, to change it.
fn package_mut<'a>(reg: &'a mut Registry, name: &str) -> Result<&'a mut Package> {
    reg.packages
        .get_mut(name)
        .ok_or_else(|| MarketplaceError::NotFound {
            name: name.to_string(),
        })
}

impl MarketplaceBackend for V1Backend {
    fn kind(&self) -> BackendKind {
        BackendKind::V1
    }

    fn metadata(&self) -> Result<BackendMetadata> {
        let reg = self.registry()?;
        Ok(BackendMetadata {
            kind: BackendKind::V1,
            storage: "index.json + tantivy".into(),
            location: self.dir.display().to_string(),
            package_count: reg.packages.len(),
            version_count: reg.packages.values().map(|p| p.versions.len()).sum(),
            capabilities: Capabilities::REGISTRY,
        })
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        self.search_index()?.search(query)
    }

    fn package(&self, name: &str) -> Result<Package> {
        self.registry()?
            .packages
            .get(name)
            .cloned()
            .ok_or_else(|| MarketplaceError::NotFound {
                name: name.to_string(),
            })
    }

    fn list(&self) -> Result<Vec<PackageSummary>> {
        Ok(self
            .registry()?
            .packages
            .values()
            .map(Package::summary)
            .collect())
    }

    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        let release = self.release(name, version)?;
        ggen_marketplace_core::archive::read_stored(
            &archive_path(&self.dir, name, version),
            name,
            version,
            release.checksum.as_deref(),
        )
    }

    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        let release = self.release(name, version)?;
        ggen_marketplace_core::archive::open_stored(
            &archive_path(&self.dir, name, version),
            name,
            version,
            release.checksum.as_deref(),
        )
    }

    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        self.write(|reg| {
            if reg
                .packages
                .get(&release.name)
                .and_then(|p| p.version(&release.version))
                .is_some()
            {
                return Err(MarketplaceError::AlreadyPublished {
                    name: release.name.clone(),
                    version: release.version.to_string(),
                });
            }
            check_release(release, archive)?;
            self.store_archive(release, archive)?;
            insert_version(reg, release, archive.len());
            Ok(((), vec![release.name.clone()]))
        })
    }

    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        self.write(|reg| {
            let pkg = package_mut(reg, name)?;
            let v = pkg
                .versions
                .iter_mut()
                .find(|v| &v.version == version)
                .ok_or_else(|| MarketplaceError::VersionNotFound {
                    name: name.to_string(),
                    requirement: format!("={version}"),
                })?;
            v.yanked = yanked;
            Ok(((), vec![name.to_string()]))
        })
    }

    fn retract(&self, name: &str, version: &Version) -> Result<()> {
        self.write(|reg| {
            let pkg = package_mut(reg, name)?;
            let before = pkg.versions.len();
            pkg.versions.retain(|v| &v.version != version);
            if pkg.versions.len() == before {
                return Err(MarketplaceError::VersionNotFound {
                    name: name.to_string(),
                    requirement: format!("={version}"),
                });
            }
            if pkg.versions.is_empty() {
                reg.packages.remove(name);
            }
            Ok(((), vec![name.to_string()]))
        })?;
        // The index no longer names the archive; a crash before this line only
        // leaves an unreferenced file, which a later publish of the same version
        // overwrites.
        match std::fs::remove_file(archive_path(&self.dir, name, version)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(MarketplaceError::io(
                archive_path(&self.dir, name, version),
                e,
            )),
            _ => Ok(()),
        }
    }

    fn validate(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        validate_release(self, release, archive)
    }
}
