//! `index.json`, in the shape of ggen's public registry.
//!
//! Each entry's top-level fields describe the package's latest version, exactly as
//! old readers expect. Everything the old format could not say (every version,
//! signatures, yanked, sizes) goes in added fields that old readers ignore:
//! `versions`, `generation`, `signature`, `yanked`, ... A file without them (the
//! real registry's) loads as one version per package.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ggen_marketplace_core::model::{Dependency, Package, PackageVersion, Signature};
use ggen_marketplace_core::{MarketplaceError, Result};
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

/// The index's name in the registry directory.
pub const INDEX_FILE: &str = "index.json";
/// The `version` written into new index files.
pub const FORMAT_VERSION: &str = "1.0.0";

/// `index.json`: the registry's whole state, in the shape of ggen's public
/// registry plus the fields it lacks (all versions, checksums, signatures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexFile {
    /// The index format's version.
    pub version: String,
    /// Where the registry is published.
    #[serde(default)]
    pub registry_url: String,
    /// When the index was last written.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Packages listed (recomputed on write).
    #[serde(default)]
    pub package_count: usize,
    /// Packages per category (recomputed on write).
    #[serde(default)]
    pub categories: BTreeMap<String, usize>,
    /// Every package, by name.
    #[serde(default)]
    pub packages: Vec<IndexEntry>,
    /// term -> package names, as the public registry ships it (for old clients).
    #[serde(default)]
    pub search_index: BTreeMap<String, Vec<String>>,
    /// Bumped on every write; lets the search index and caches notice staleness.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One package: the latest version's fields at top level, plus `versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The package name.
    pub name: String,
    /// The latest version's fields.
    #[serde(flatten)]
    pub latest: VersionEntry,
    /// Installs counted by the registry.
    #[serde(default)]
    pub downloads: u64,
    /// Stars counted by the registry.
    #[serde(default)]
    pub stars: u64,
    /// Every version, ascending (added field; absent in the original format).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionEntry>,
}

/// One version as the index spells it (strings where the model has types;
/// reading it into the model checks them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The version, semver text.
    pub version: String,
    /// Its category, if any.
    #[serde(default)]
    pub category: Option<String>,
    /// One line on what it generates.
    #[serde(default)]
    pub description: String,
    /// Tags for search and filters.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Extra search words.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The first author.
    #[serde(default)]
    pub author: Option<String>,
    /// Only written when there is more than one author (added field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// SPDX license expression, if given.
    #[serde(default)]
    pub license: Option<String>,
    /// The publisher marks it ready for production use.
    #[serde(default)]
    pub production_ready: bool,
    /// Packages it needs.
    #[serde(default)]
    pub dependencies: Vec<DepEntry>,
    /// Where its sources live in the publisher's repository.
    #[serde(default)]
    pub path: Option<String>,
    /// Where the archive can be fetched, when not from this registry.
    #[serde(default)]
    pub download_url: Option<String>,
    /// SHA-256 of the archive, lowercase hex.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Source repository URL (added field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Home page URL (added field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Archive size in bytes (added field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The publisher's signature (added field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Withdrawn (added field).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub yanked: bool,
    /// When it was published (added field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

/// The real registry lists dependencies as bare names; we add `{name, req, optional}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DepEntry {
    /// A bare name: any version.
    Name(String),
    /// A name with a requirement.
    Full {
        /// The package depended on.
        name: String,
        /// Its semver requirement.
        req: String,
        /// Installed only when optional dependencies are asked for.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        optional: bool,
    },
}

/// Problems in an index that do not stop it from loading.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// One line per problem, naming the package and field.
    pub warnings: Vec<String>,
}

impl IndexFile {
    /// An index with no packages.
    pub fn empty() -> Self {
        Self {
            version: FORMAT_VERSION.into(),
            registry_url: String::new(),
            updated_at: None,
            package_count: 0,
            categories: BTreeMap::new(),
            packages: Vec::new(),
            search_index: BTreeMap::new(),
            generation: 0,
        }
    }

    /// Where the index of the registry at `dir` lives.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(INDEX_FILE)
    }

    /// Parses index bytes; `path` names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| MarketplaceError::CorruptIndex {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Converts to unified packages, skipping (with a warning) entries that cannot
    /// be understood rather than refusing the whole registry.
    pub fn to_packages(&self) -> (Vec<Package>, LoadReport) {
        let mut report = LoadReport::default();
        let mut packages: BTreeMap<String, Package> = BTreeMap::new();
        for entry in &self.packages {
            match entry.to_package() {
                Ok(pkg) => {
                    if let Some(existing) = packages.get_mut(&pkg.name) {
                        report.warnings.push(format!(
                            "package `{}` is listed twice; versions merged",
                            pkg.name
                        ));
                        for v in pkg.versions {
                            if existing.version(&v.version).is_none() {
                                existing.versions.push(v);
                            }
                        }
                        existing.sort_versions();
                    } else {
                        packages.insert(pkg.name.clone(), pkg);
                    }
                }
                Err(e) => report.warnings.push(format!("skipped an entry: {e}")),
            }
        }
        let names: BTreeSet<&str> = packages.keys().map(String::as_str).collect();
        for pkg in packages.values() {
            for v in &pkg.versions {
                for dep in &v.dependencies {
                    if !names.contains(dep.name.as_str()) {
                        report.warnings.push(format!(
                            "`{}` depends on `{}`, which is not in the registry",
                            v.id(),
                            dep.name
                        ));
                    }
                }
            }
        }
        (packages.into_values().collect(), report)
    }

    /// Builds the file from unified packages, recomputing the derived fields.
    pub fn from_packages<'a>(
        packages: impl IntoIterator<Item = &'a Package>,
        registry_url: &str,
        generation: u64,
    ) -> Self {
        let mut file = Self::empty();
        file.registry_url = registry_url.to_string();
        file.generation = generation;
        file.updated_at = Some(Utc::now());
        for pkg in packages {
            let entry = IndexEntry::from_package(pkg);
            if let Some(c) = &entry.latest.category {
                *file.categories.entry(c.clone()).or_default() += 1;
            }
            let latest = &entry.latest;
            let terms = latest
                .tags
                .iter()
                .chain(&latest.keywords)
                .map(|t| t.to_lowercase());
            for term in terms.chain(ggen_marketplace_core::search::tokenize(&pkg.name)) {
                let names = file.search_index.entry(term).or_default();
                if names.last() != Some(&pkg.name) {
                    names.push(pkg.name.clone());
                }
            }
            file.packages.push(entry);
        }
        file.packages.sort_by(|a, b| a.name.cmp(&b.name));
        file.package_count = file.packages.len();
        file
    }

    /// The index as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("index serializes");
        out.push(b'\n');
        out
    }
}

impl IndexEntry {
    /// The entry as a checked package (names, versions, requirements).
    pub fn to_package(&self) -> Result<Package> {
        ggen_marketplace_core::name::validate_name(&self.name)?;
        let entries: Vec<&VersionEntry> = if self.versions.is_empty() {
            vec![&self.latest]
        } else {
            self.versions.iter().collect()
        };
        let mut versions = entries
            .into_iter()
            .map(|v| v.to_unified(&self.name))
            .collect::<Result<Vec<_>>>()?;
        versions.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(Package {
            name: self.name.clone(),
            downloads: self.downloads,
            stars: self.stars,
            versions,
        })
    }

    /// The entry of `pkg`.
    pub fn from_package(pkg: &Package) -> Self {
        let versions: Vec<VersionEntry> = pkg
            .versions
            .iter()
            .map(VersionEntry::from_unified)
            .collect();
        Self {
            name: pkg.name.clone(),
            latest: VersionEntry::from_unified(pkg.latest()),
            downloads: pkg.downloads,
            stars: pkg.stars,
            versions,
        }
    }
}

impl VersionEntry {
    fn to_unified(&self, name: &str) -> Result<PackageVersion> {
        let version = Version::parse(&self.version).map_err(|e| {
            MarketplaceError::Other(format!(
                "`{name}` has invalid version `{}`: {e}",
                self.version
            ))
        })?;
        let mut dependencies = Vec::with_capacity(self.dependencies.len());
        for d in &self.dependencies {
            dependencies.push(match d {
                DepEntry::Name(n) => Dependency::new(n.clone(), VersionReq::STAR),
                DepEntry::Full {
                    name: n,
                    req,
                    optional,
                } => Dependency {
                    name: n.clone(),
                    req: VersionReq::parse(req).map_err(|e| {
                        MarketplaceError::InvalidRequirement {
                            requirement: format!("{req} (dependency `{n}` of `{name}@{version}`)"),
                            reason: e.to_string(),
                        }
                    })?,
                    optional: *optional,
                },
            });
        }
        let authors = if !self.authors.is_empty() {
            self.authors.clone()
        } else {
            self.author.iter().cloned().collect()
        };
        Ok(PackageVersion {
            name: name.to_string(),
            version,
            description: self.description.clone(),
            category: self.category.clone(),
            tags: self.tags.clone(),
            keywords: self.keywords.clone(),
            authors,
            license: self.license.clone(),
            repository: self.repository.clone(),
            homepage: self.homepage.clone(),
            dependencies,
            production_ready: self.production_ready,
            path: self.path.clone(),
            download_url: self.download_url.clone(),
            checksum: self.checksum.clone(),
            size: self.size,
            signature: self.signature.clone(),
            yanked: self.yanked,
            published_at: self.published_at,
        })
    }

    fn from_unified(v: &PackageVersion) -> Self {
        Self {
            version: v.version.to_string(),
            category: v.category.clone(),
            description: v.description.clone(),
            tags: v.tags.clone(),
            keywords: v.keywords.clone(),
            author: v.authors.first().cloned(),
            authors: if v.authors.len() > 1 {
                v.authors.clone()
            } else {
                Vec::new()
            },
            license: v.license.clone(),
            production_ready: v.production_ready,
            dependencies: v
                .dependencies
                .iter()
                .map(|d| {
                    if d.req == VersionReq::STAR && !d.optional {
                        DepEntry::Name(d.name.clone())
                    } else {
                        DepEntry::Full {
                            name: d.name.clone(),
                            req: d.req.to_string(),
                            optional: d.optional,
                        }
                    }
                })
                .collect(),
            path: v.path.clone(),
            download_url: v.download_url.clone(),
            checksum: v.checksum.clone(),
            repository: v.repository.clone(),
            homepage: v.homepage.clone(),
            size: v.size,
            signature: v.signature.clone(),
            yanked: v.yanked,
            published_at: v.published_at,
        }
    }
}
