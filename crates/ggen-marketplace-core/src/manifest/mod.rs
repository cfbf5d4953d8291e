//! Package manifests: `gpack.toml`, `gpack.yaml`, and the legacy `package.toml`
//! of ggen's public registry, all read into one [`Manifest`].
//!
//! The gpack formats are strict (unknown keys are errors, as in Cargo.toml) because
//! we define them. The legacy format is read leniently because the real registry
//! wrote it many ways: `author` or `authors`, `tags` as an array or as a table,
//! `id` beside a display `name`, dependencies as a list or a table. What cannot be
//! understood becomes a warning, not a crash.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::error::{MarketplaceError, Result};
use crate::model::{Dependency, PackageVersion};
use crate::name::validate_name;

mod variables;

pub use variables::{TemplateSection, Variable, VariableType, check_value, is_identifier};

/// Manifest file names, in order of preference.
pub const MANIFEST_FILES: &[&str] = &["gpack.toml", "gpack.yaml", "gpack.yml", "package.toml"];

/// Manifests larger than this are refused before parsing.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Which manifest file a package has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManifestFormat {
    /// `gpack.toml`.
    GpackToml,
    /// `gpack.yaml` or `gpack.yml`.
    GpackYaml,
    /// `package.toml`, the older layout.
    LegacyToml,
}

/// A package's manifest, read from its directory and checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// The package name ([`crate::name::validate_name`]).
    pub name: String,
    /// The version being described.
    pub version: Version,
    /// One line on what it generates.
    pub description: String,
    /// Its category, if any.
    pub category: Option<String>,
    /// Its authors.
    pub authors: Vec<String>,
    /// SPDX license expression, if given.
    pub license: Option<String>,
    /// Source repository URL, if given.
    pub repository: Option<String>,
    /// Home page URL, if given.
    pub homepage: Option<String>,
    /// Tags for search and filters.
    pub tags: Vec<String>,
    /// Extra search words.
    pub keywords: Vec<String>,
    /// Packages it needs.
    pub dependencies: Vec<Dependency>,
    /// Template variables, by name, in the order the manifest declares them
    /// (the order questions are asked in).
    pub variables: IndexMap<String, Variable>,
    /// How `templates/` are rendered.
    pub template: TemplateSection,
    /// The publisher marks it ready for production use.
    pub production_ready: bool,
    /// Which file it came from.
    pub format: ManifestFormat,
    /// That file's path.
    pub path: PathBuf,
    /// Things worth telling the publisher that do not stop the package from working.
    pub warnings: Vec<String>,
}

impl Manifest {
    /// Finds the manifest in a package directory.
    pub fn find_in_dir(dir: &Path) -> Result<PathBuf> {
        MANIFEST_FILES
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| MarketplaceError::InvalidManifest {
                path: dir.to_path_buf(),
                reason: format!(
                    "no manifest found (expected one of {})",
                    MANIFEST_FILES.join(", ")
                ),
            })
    }

    /// Reads the manifest at the root of a package archive (an upload to the
    /// registry server), so what gets published is the archive's own metadata.
    pub fn from_archive(archive: &[u8]) -> Result<Self> {
        let limits = crate::archive::ExtractLimits::default();
        for name in MANIFEST_FILES {
            let Some(raw) = crate::archive::read_file(archive, name, &limits)? else {
                continue;
            };
            let path = Path::new(name);
            if raw.len() as u64 > MAX_MANIFEST_BYTES {
                return Err(MarketplaceError::InvalidManifest {
                    path: path.to_path_buf(),
                    reason: format!(
                        "manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                        raw.len()
                    ),
                });
            }
            let text = String::from_utf8(raw).map_err(|e| MarketplaceError::InvalidManifest {
                path: path.to_path_buf(),
                reason: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
            })?;
            return Self::parse(&text, format_for(path)?, path);
        }
        Err(MarketplaceError::InvalidArchive {
            reason: format!(
                "no manifest at the archive root (expected one of {})",
                MANIFEST_FILES.join(", ")
            ),
        })
    }

    /// Reads a manifest from a file, or from the manifest inside a directory.
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            Self::find_in_dir(path)?
        } else {
            path.to_path_buf()
        };
        let meta = std::fs::metadata(&file).map_err(|e| MarketplaceError::io(&file, e))?;
        if meta.len() > MAX_MANIFEST_BYTES {
            return Err(MarketplaceError::InvalidManifest {
                path: file,
                reason: format!(
                    "manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                    meta.len()
                ),
            });
        }
        let bytes = std::fs::read(&file).map_err(|e| MarketplaceError::io(&file, e))?;
        let text = String::from_utf8(bytes).map_err(|e| MarketplaceError::InvalidManifest {
            path: file.clone(),
            reason: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        })?;
        let format = format_for(&file)?;
        Self::parse(&text, format, &file)
    }

    /// Parses and checks manifest `text` in `format`; `path` names it in errors.
    pub fn parse(text: &str, format: ManifestFormat, path: &Path) -> Result<Self> {
        let invalid = |reason: String| MarketplaceError::InvalidManifest {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(line) = nested_too_deep(text) {
            return Err(invalid(format!(
                "line {line}: arrays or tables nested more than {MAX_NESTING} levels deep"
            )));
        }
        let manifest = match format {
            ManifestFormat::GpackToml => {
                let file: GpackFile =
                    toml::from_str(text).map_err(|e| invalid(toml_error(text, &e)))?;
                file.into_manifest(format, path)?
            }
            ManifestFormat::GpackYaml => {
                let file: GpackFile =
                    serde_norway::from_str(text).map_err(|e| invalid(e.to_string()))?;
                file.into_manifest(format, path)?
            }
            ManifestFormat::LegacyToml => {
                let table: toml::Table =
                    toml::from_str(text).map_err(|e| invalid(toml_error(text, &e)))?;
                legacy(&table, path)?
            }
        };
        Ok(manifest)
    }

    /// The unified record of this manifest (no archive data yet).
    pub fn to_package_version(&self) -> PackageVersion {
        let mut pv = PackageVersion::new(self.name.clone(), self.version.clone());
        pv.description = self.description.clone();
        pv.category = self.category.clone();
        pv.tags = self.tags.clone();
        pv.keywords = self.keywords.clone();
        pv.authors = self.authors.clone();
        pv.license = self.license.clone();
        pv.repository = self.repository.clone();
        pv.homepage = self.homepage.clone();
        pv.dependencies = self.dependencies.clone();
        pv.production_ready = self.production_ready;
        pv
    }
}

fn format_for(file: &Path) -> Result<ManifestFormat> {
    match file.file_name().and_then(|n| n.to_str()) {
        Some("gpack.toml") => Ok(ManifestFormat::GpackToml),
        Some("gpack.yaml" | "gpack.yml") => Ok(ManifestFormat::GpackYaml),
        Some("package.toml") => Ok(ManifestFormat::LegacyToml),
        _ => match file.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Ok(ManifestFormat::GpackYaml),
            Some("toml") => Ok(ManifestFormat::GpackToml),
            _ => Err(MarketplaceError::InvalidManifest {
                path: file.to_path_buf(),
                reason: format!(
                    "unknown manifest file (expected one of {})",
                    MANIFEST_FILES.join(", ")
                ),
            }),
        },
    }
}

/// No manifest field nests more than a few levels; the parsers recurse per
/// level and spend seconds on a few hundred kilobytes of `[[[[...`.
const MAX_NESTING: usize = 32;

/// The line where flow brackets (`[`, `{`) first nest deeper than
/// [`MAX_NESTING`], outside quoted strings and comments (TOML and YAML agree
/// on `"`, `'` and `#` closely enough for a bound like this).
fn nested_too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
            continue;
        }
        if comment {
            continue;
        }
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some(line);
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    None
}

/// "line 60, column 3: expected `=`" rather than toml's multi-line report.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let col = before.len() - line_start + 1;
            // Name the key when the error sits in a `key = value` line's value
            // (toml reports "invalid type" with the value's position only).
            let line_text = text[line_start..].lines().next().unwrap_or("");
            let key = line_text
                .split_once('=')
                .map(|(k, _)| k.trim())
                .filter(|k| {
                    !k.is_empty()
                        && k.len() <= 64
                        && line_start + line_text.find('=').unwrap_or(0) < span.start
                        && k.chars()
                            .all(|c| c.is_alphanumeric() || "-_.\"' ".contains(c))
                });
            match key {
                Some(k) => format!("line {line}, column {col} (`{}`): {msg}", k.escape_debug()),
                None => format!("line {line}, column {col}: {msg}"),
            }
        }
        None => msg,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GpackFile {
    package: GpackPackage,
    #[serde(default)]
    dependencies: BTreeMap<String, DepSpec>,
    #[serde(default)]
    variables: IndexMap<String, Variable>,
    #[serde(default)]
    template: TemplateSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GpackPackage {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    homepage: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    production_ready: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DepSpec {
    Req(String),
    Detailed {
        version: String,
        #[serde(default)]
        optional: bool,
    },
}

impl GpackFile {
    fn into_manifest(self, format: ManifestFormat, path: &Path) -> Result<Manifest> {
        let invalid = |reason: String| MarketplaceError::InvalidManifest {
            path: path.to_path_buf(),
            reason,
        };
        let p = self.package;
        validate_name(&p.name).map_err(|e| invalid(format!("package.name: {e}")))?;
        let version = Version::parse(&p.version)
            .map_err(|e| invalid(format!("package.version `{}`: {e}", p.version)))?;
        let mut dependencies = Vec::new();
        for (name, spec) in self.dependencies {
            validate_name(&name).map_err(|e| invalid(format!("dependencies.{name}: {e}")))?;
            let (req, optional) = match spec {
                DepSpec::Req(r) => (r, false),
                DepSpec::Detailed { version, optional } => (version, optional),
            };
            let req = VersionReq::parse(&req)
                .map_err(|e| invalid(format!("dependencies.{name}: requirement `{req}`: {e}")))?;
            dependencies.push(Dependency {
                name,
                req,
                optional,
            });
        }
        for (name, var) in &self.variables {
            var.check(name).map_err(invalid)?;
        }
        self.template.check().map_err(invalid)?;
        let mut warnings = Vec::new();
        if p.description.trim().is_empty() {
            warnings.push("package.description is empty: searches will rarely find it".into());
        }
        if p.license.is_none() {
            warnings.push("package.license is missing".into());
        }
        Ok(Manifest {
            name: p.name,
            version,
            description: p.description,
            category: p.category.map(|c| c.to_lowercase()),
            authors: p.authors,
            license: p.license,
            repository: p.repository,
            homepage: p.homepage,
            tags: p.tags,
            keywords: p.keywords,
            dependencies,
            variables: self.variables,
            template: self.template,
            production_ready: p.production_ready,
            format,
            path: path.to_path_buf(),
            warnings,
        })
    }
}

fn legacy(table: &toml::Table, path: &Path) -> Result<Manifest> {
    let invalid = |reason: String| MarketplaceError::InvalidManifest {
        path: path.to_path_buf(),
        reason,
    };
    let pkg = table
        .get("package")
        .and_then(|v| v.as_table())
        .ok_or_else(|| invalid("missing [package] table".into()))?;
    let s = |t: &toml::Table, k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let mut warnings = Vec::new();

    // Some packages put the registry id in `id` and a display title in `name`.
    let name = match (s(pkg, "id"), s(pkg, "name")) {
        (Some(id), _) => id,
        (None, Some(name)) => name,
        (None, None) => return Err(invalid("package.name is missing".into())),
    };
    validate_name(&name).map_err(|e| invalid(format!("package.name: {e}")))?;
    if let Some(dir) = path
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|d| d.to_str())
        && dir != name
    {
        warnings.push(format!(
            "package name `{name}` differs from its directory `{dir}`"
        ));
    }
    let version_text =
        s(pkg, "version").ok_or_else(|| invalid("package.version is missing".into()))?;
    let version = Version::parse(&version_text)
        .map_err(|e| invalid(format!("package.version `{version_text}`: {e}")))?;

    let list = |v: Option<&toml::Value>, key: &str| -> Vec<String> {
        match v {
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            // `[package.tags] tags = [...]`
            Some(toml::Value::Table(t)) => match t.get(key) {
                Some(toml::Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            Some(toml::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    };
    let authors = match (pkg.get("authors"), s(pkg, "author")) {
        (Some(v), _) => list(Some(v), "authors"),
        (None, Some(a)) => vec![a],
        (None, None) => Vec::new(),
    };
    let category =
        s(pkg, "category").or_else(|| list(pkg.get("categories"), "categories").into_iter().next());
    let metadata = pkg
        .get("metadata")
        .and_then(|v| v.as_table())
        .or_else(|| table.get("metadata").and_then(|v| v.as_table()));
    let production_ready = pkg
        .get("production_ready")
        .or_else(|| pkg.get("production"))
        .or_else(|| metadata.and_then(|m| m.get("production_ready")))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let repository = s(pkg, "repository").or_else(|| metadata.and_then(|m| s(m, "repository")));
    let homepage = s(pkg, "homepage").or_else(|| metadata.and_then(|m| s(m, "homepage")));

    let mut dependencies = Vec::new();
    let deps = table
        .get("dependencies")
        .or_else(|| pkg.get("dependencies"));
    let mut add = |name: &str, req: Option<&str>, optional: bool, warnings: &mut Vec<String>| {
        if validate_name(name).is_err() {
            warnings.push(format!(
                "dependency `{name}` is not a valid package name; ignored"
            ));
            return;
        }
        match VersionReq::parse(req.unwrap_or("*")) {
            Ok(req) => dependencies.push(Dependency {
                name: name.to_string(),
                req,
                optional,
            }),
            Err(_) => warnings.push(format!(
                "dependency `{name}` has requirement `{}`, which is not semver; ignored",
                req.unwrap_or_default()
            )),
        }
    };
    match deps {
        Some(toml::Value::Array(a)) => {
            for d in a {
                match d.as_str() {
                    Some(n) => add(n, None, false, &mut warnings),
                    None => warnings.push(format!("dependency entry `{d}` is not a name; ignored")),
                }
            }
        }
        Some(toml::Value::Table(t)) => {
            for (k, v) in t {
                match (k.as_str(), v) {
                    // `required = [..]`, `optional = [..]`
                    ("required" | "optional", toml::Value::Array(a)) => {
                        for n in a.iter().filter_map(|x| x.as_str()) {
                            add(n, None, k == "optional", &mut warnings);
                        }
                    }
                    (_, toml::Value::String(req)) => add(k, Some(req), false, &mut warnings),
                    (_, toml::Value::Table(spec)) => {
                        let optional = spec
                            .get("optional")
                            .and_then(|o| o.as_bool())
                            .unwrap_or(false);
                        add(
                            k,
                            spec.get("version").and_then(|r| r.as_str()),
                            optional,
                            &mut warnings,
                        )
                    }
                    _ => warnings.push(format!(
                        "dependency `{k}` has an unreadable requirement; ignored"
                    )),
                }
            }
        }
        Some(other) => warnings.push(format!(
            "dependencies has unexpected type {}; ignored",
            other.type_str()
        )),
        None => {}
    }

    Ok(Manifest {
        name,
        version,
        description: s(pkg, "description").unwrap_or_default(),
        category,
        authors,
        license: s(pkg, "license"),
        repository,
        homepage,
        tags: list(pkg.get("tags"), "tags"),
        keywords: list(pkg.get("keywords"), "keywords"),
        dependencies,
        variables: IndexMap::new(),
        template: TemplateSection::default(),
        production_ready,
        format: ManifestFormat::LegacyToml,
        path: path.to_path_buf(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, format: ManifestFormat, file: &str) -> Result<Manifest> {
        Manifest::parse(text, format, Path::new(file))
    }

    #[test]
    fn gpack_toml_reads_dependencies_and_variables() {
        let m = parse(
            r#"
[package]
name = "axum-service"
version = "0.3.0"
description = "HTTP service"
category = "Rust"
tags = ["axum"]

[dependencies]
rust-cli = "^1.2"
github-actions-rust = { version = ">=0.2, <2", optional = true }

[variables]
port = { default = 8080, description = "Port" }
"#,
            ManifestFormat::GpackToml,
            "x/gpack.toml",
        )
        .unwrap();
        assert_eq!(m.name, "axum-service");
        assert_eq!(m.category.as_deref(), Some("rust"));
        assert_eq!(m.dependencies.len(), 2);
        let gha = m
            .dependencies
            .iter()
            .find(|d| d.name == "github-actions-rust")
            .unwrap();
        assert!(gha.optional);
        assert!(gha.req.matches(&Version::new(1, 5, 0)));
        assert_eq!(m.variables["port"].default, Some(serde_json::json!(8080)));
    }

    #[test]
    fn gpack_yaml_is_the_same_structure() {
        let m = parse(
            "package:\n  name: python-package\n  version: 1.0.0\n  description: py\ndependencies:\n  editorconfig-defaults: \"^1\"\n",
            ManifestFormat::GpackYaml,
            "x/gpack.yaml",
        )
        .unwrap();
        assert_eq!(m.dependencies[0].name, "editorconfig-defaults");
    }

    #[test]
    fn gpack_errors_name_the_field_and_line() {
        let e = parse(
            "[package]\nname = \"a\"\nversion = \"1.0\"\n",
            ManifestFormat::GpackToml,
            "p/gpack.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("p/gpack.toml") && e.contains("package.version"),
            "{e}"
        );
        let e = parse(
            "[package]\nname = \"a\"\nversion = \"1.0.0\"\nbogus = 1\n",
            ManifestFormat::GpackToml,
            "p/gpack.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 4") && e.contains("bogus"), "{e}");
        let e = parse(
            "[package]\nname = \"../x\"\nversion = \"1.0.0\"\n",
            ManifestFormat::GpackToml,
            "p/gpack.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("package.name"), "{e}");
        let e = parse("package: [1, 2", ManifestFormat::GpackYaml, "p/gpack.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn legacy_quirks_are_understood() {
        // Shapes taken from the real registry: `id` beside a display name, tags as a
        // table, dependencies as a table holding non-semver values.
        let m = parse(
            r#"
[package]
id = "io.ggen.nextjs.ontology-crud"
name = "Next.js Ontology-Driven CRUD"
version = "1.0.0"
author = "ggen"

[package.tags]
tags = ["nextjs", "rdf"]

[dependencies]
ggen = ">=2.6.0"
rdf_ontology = "ontology/banking_core.ttl"
"#,
            ManifestFormat::LegacyToml,
            "io.ggen.nextjs.ontology-crud/package.toml",
        )
        .unwrap();
        assert_eq!(m.name, "io.ggen.nextjs.ontology-crud");
        assert_eq!(m.authors, ["ggen"]);
        assert_eq!(m.tags, ["nextjs", "rdf"]);
        assert_eq!(m.dependencies.len(), 1);
        assert!(m.warnings.iter().any(|w| w.contains("rdf_ontology")));
    }

    #[test]
    fn legacy_dependency_lists_and_required_optional_tables() {
        let m = parse(
            "[package]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n",
            ManifestFormat::LegacyToml,
            "a/package.toml",
        )
        .unwrap();
        assert_eq!(m.dependencies[0].req, VersionReq::STAR);
        let m = parse(
            "[package]\nname = \"a\"\nversion = \"1.0.0\"\n[dependencies]\nrequired = []\noptional = [\"c\"]\n",
            ManifestFormat::LegacyToml,
            "a/package.toml",
        )
        .unwrap();
        assert!(m.dependencies[0].optional);
    }

    #[test]
    fn invalid_legacy_toml_reports_line_and_column() {
        let e = parse(
            "[package]\nname = \"a\"\nversion = \"1.0.0\"\n[features]\n- \"x\"\n",
            ManifestFormat::LegacyToml,
            "a/package.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("a/package.toml") && e.contains("line 5, column"),
            "{e}"
        );
    }
}
