//! The unified package model every backend reads and writes.
//!
//! A [`Package`] is a name with its package-wide counters and every published
//! [`PackageVersion`]; each version carries its own metadata, as on crates.io,
//! because descriptions, dependencies and archives change between releases.

use chrono::{DateTime, Utc};
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

/// A dependency of a package version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dependency {
    /// The package depended on.
    pub name: String,
    /// Semver requirement; `*` when the registry gave none.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub req: VersionReq,
    /// Installed only when optional dependencies are asked for.
    #[serde(default)]
    pub optional: bool,
}

impl Dependency {
    /// A required dependency on `name` matching `req`.
    pub fn new(name: impl Into<String>, req: VersionReq) -> Self {
        Self {
            name: name.into(),
            req,
            optional: false,
        }
    }
}

/// An Ed25519 signature over a canonical statement (see the signing module of the
/// facade). The statement is kept verbatim because it holds the signing time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    /// `ed25519`, the only one accepted.
    #[cfg_attr(feature = "openapi", schema(pattern = "^ed25519$"))]
    pub algorithm: String,
    /// The signing key's id (see `signing::key_id`).
    pub key_id: String,
    /// Raw 32-byte public key, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub public_key: String,
    /// Raw 64-byte signature, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{128}$"))]
    pub signature: String,
    /// The exact bytes that were signed (UTF-8 text).
    pub statement: String,
}

/// One published version of a package: everything both backends store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageVersion {
    /// The package name.
    pub name: String,
    /// This version.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::SemVer))]
    pub version: Version,
    /// One line on what it generates.
    #[serde(default)]
    pub description: String,
    /// Its category, if any.
    #[serde(default)]
    pub category: Option<String>,
    /// Tags for search and filters.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Extra search words.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Its authors.
    #[serde(default)]
    pub authors: Vec<String>,
    /// SPDX license expression, if given.
    #[serde(default)]
    pub license: Option<String>,
    /// Source repository URL, if given.
    #[serde(default)]
    pub repository: Option<String>,
    /// Home page URL, if given.
    #[serde(default)]
    pub homepage: Option<String>,
    /// Packages it needs.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// The publisher marks it ready for production use.
    #[serde(default)]
    pub production_ready: bool,
    /// Where the package's sources live in the publisher's repository (real V1 data).
    #[serde(default)]
    pub path: Option<String>,
    /// Where the archive can be fetched, when it is not in the registry itself.
    #[serde(default)]
    pub download_url: Option<String>,
    /// SHA-256 of the `.tar.gz` archive, lowercase hex.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Archive size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Its publisher's signature, if signed.
    #[serde(default)]
    pub signature: Option<Signature>,
    /// Withdrawn: kept for lockfiles that pin it, never chosen otherwise.
    #[serde(default)]
    pub yanked: bool,
    /// When it was published.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub published_at: Option<DateTime<Utc>>,
}

/// The time a version is published at: now, to the microsecond. That is
/// the finest every store keeps (Virtuoso's `xsd:dateTime` drops digits past
/// microseconds), so a version's time reads back from each backend as it was
/// written, and V1 and V2 agree on it.
pub fn publish_time() -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    Utc::now().trunc_subsecs(6)
}

impl PackageVersion {
    /// A version with only a name and a version set.
    pub fn new(name: impl Into<String>, version: Version) -> Self {
        Self {
            name: name.into(),
            version,
            description: String::new(),
            category: None,
            tags: Vec::new(),
            keywords: Vec::new(),
            authors: Vec::new(),
            license: None,
            repository: None,
            homepage: None,
            dependencies: Vec::new(),
            production_ready: false,
            path: None,
            download_url: None,
            checksum: None,
            size: None,
            signature: None,
            yanked: false,
            published_at: None,
        }
    }

    /// `name@version`, as users type it.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Checks every text field for control characters and escape sequences
    /// (see [`crate::name::validate_metadata_text`]), and the dependency names.
    pub fn validate_metadata(&self) -> crate::Result<()> {
        use crate::name::{validate_metadata_text as text, validate_name};
        text("description", &self.description, true)?;
        for (field, value) in [
            ("category", &self.category),
            ("license", &self.license),
            ("repository", &self.repository),
            ("homepage", &self.homepage),
            ("path", &self.path),
            ("download_url", &self.download_url),
        ] {
            if let Some(v) = value {
                text(field, v, false)?;
            }
        }
        for (field, values) in [
            ("tags", &self.tags),
            ("keywords", &self.keywords),
            ("authors", &self.authors),
        ] {
            for v in values {
                text(field, v, false)?;
            }
        }
        for dep in &self.dependencies {
            validate_name(&dep.name)?;
        }
        Ok(())
    }
}

/// Checks that versions said to be `expected`'s are: each names `expected`,
/// none is listed twice, dependency names are valid and checksums are well
/// formed. A backend answers this by construction; a registry server's answer
/// (or a damaged store) may not, and a version of `bar` relabelled as `foo`
/// must never be resolved, verified or installed as `foo`.
pub fn check_versions_of(expected: &str, versions: &[PackageVersion]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for v in versions {
        if v.name != expected {
            return Err(format!(
                "asked for `{expected}`, got a version named `{}`",
                v.name.escape_debug()
            ));
        }
        if !seen.insert(&v.version) {
            return Err(format!("`{expected}@{}` is listed twice", v.version));
        }
        for dep in &v.dependencies {
            crate::name::validate_name(&dep.name)
                .map_err(|e| format!("`{}`: dependency {e}", v.id()))?;
        }
        if let Some(c) = &v.checksum
            && !crate::checksum::is_sha256_hex(c)
        {
            return Err(format!(
                "`{}` has checksum `{}`, which is not a SHA-256 digest",
                v.id(),
                c.escape_debug()
            ));
        }
    }
    Ok(())
}

/// A package and every version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Package {
    /// The package name.
    pub name: String,
    /// Installs counted by the registry.
    #[serde(default)]
    pub downloads: u64,
    /// Stars counted by the registry.
    #[serde(default)]
    pub stars: u64,
    /// Every published version, ascending.
    pub versions: Vec<PackageVersion>,
}

impl Package {
    /// The version to show and to install by default: the highest that is neither
    /// yanked nor a pre-release, else the highest not yanked, else the highest.
    pub fn latest(&self) -> &PackageVersion {
        let live = || self.versions.iter().filter(|v| !v.yanked);
        live()
            .filter(|v| v.version.pre.is_empty())
            .max_by(|a, b| a.version.cmp(&b.version))
            .or_else(|| live().max_by(|a, b| a.version.cmp(&b.version)))
            .or_else(|| {
                self.versions
                    .iter()
                    .max_by(|a, b| a.version.cmp(&b.version))
            })
            .expect("a package has at least one version")
    }

    /// The version `version` exactly, if published.
    pub fn version(&self, version: &Version) -> Option<&PackageVersion> {
        self.versions.iter().find(|v| &v.version == version)
    }

    /// The highest version matching `req`; yanked versions only when `include_yanked`.
    pub fn best_match(&self, req: &VersionReq, include_yanked: bool) -> Option<&PackageVersion> {
        self.versions
            .iter()
            .filter(|v| include_yanked || !v.yanked)
            .filter(|v| req.matches(&v.version))
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// Sorts versions ascending.
    pub fn sort_versions(&mut self) {
        self.versions.sort_by(|a, b| a.version.cmp(&b.version));
    }

    /// The `list` line of this package: its latest version and counters.
    pub fn summary(&self) -> PackageSummary {
        let latest = self.latest();
        PackageSummary {
            name: self.name.clone(),
            version: latest.version.clone(),
            description: latest.description.clone(),
            category: latest.category.clone(),
            tags: latest.tags.clone(),
            downloads: self.downloads,
            stars: self.stars,
            signed: latest.signature.is_some(),
            versions: self.versions.len(),
        }
    }
}

/// One line of `list`: the latest version of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageSummary {
    /// The package name.
    pub name: String,
    /// Its latest version ([`Package::latest`]).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::SemVer))]
    pub version: Version,
    /// That version's description.
    pub description: String,
    /// That version's category.
    pub category: Option<String>,
    /// That version's tags.
    pub tags: Vec<String>,
    /// Installs counted by the registry.
    pub downloads: u64,
    /// Stars counted by the registry.
    pub stars: u64,
    /// The latest version is signed.
    pub signed: bool,
    /// How many versions are published.
    pub versions: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(versions: &[(&str, bool)]) -> Package {
        Package {
            name: "p".into(),
            downloads: 0,
            stars: 0,
            versions: versions
                .iter()
                .map(|(v, yanked)| {
                    let mut pv = PackageVersion::new("p", v.parse().unwrap());
                    pv.yanked = *yanked;
                    pv
                })
                .collect(),
        }
    }

    #[test]
    fn latest_skips_yanked_and_prereleases() {
        let p = pkg(&[("1.0.0", false), ("1.1.0", true), ("2.0.0-beta.1", false)]);
        assert_eq!(p.latest().version.to_string(), "1.0.0");
        let only_pre = pkg(&[("2.0.0-beta.1", false)]);
        assert_eq!(only_pre.latest().version.to_string(), "2.0.0-beta.1");
        let all_yanked = pkg(&[("1.0.0", true), ("1.2.0", true)]);
        assert_eq!(all_yanked.latest().version.to_string(), "1.2.0");
    }

    #[test]
    fn versions_of_another_package_are_refused() {
        let mut foo = PackageVersion::new("foo", "1.0.0".parse().unwrap());
        foo.checksum = Some("ab".repeat(32));
        check_versions_of("foo", std::slice::from_ref(&foo)).unwrap();
        let mut bar = foo.clone();
        bar.name = "bar".into();
        assert!(
            check_versions_of("foo", &[bar])
                .unwrap_err()
                .contains("bar")
        );
        assert!(check_versions_of("foo", &[foo.clone(), foo.clone()]).is_err());
        let mut bad_sum = foo.clone();
        bad_sum.checksum = Some("../../etc".into());
        assert!(check_versions_of("foo", &[bad_sum]).is_err());
        let mut bad_dep = foo;
        bad_dep
            .dependencies
            .push(Dependency::new("../x", VersionReq::STAR));
        assert!(check_versions_of("foo", &[bad_dep]).is_err());
    }

    #[test]
    fn best_match_honours_yanked() {
        let p = pkg(&[("1.0.0", false), ("1.1.0", true)]);
        let req: VersionReq = "^1".parse().unwrap();
        assert_eq!(
            p.best_match(&req, false).unwrap().version.to_string(),
            "1.0.0"
        );
        assert_eq!(
            p.best_match(&req, true).unwrap().version.to_string(),
            "1.1.0"
        );
    }
}
