//! `validate`: checks a package directory (or a directory of them) the way a
//! publish would read it: the manifest, whether the directory packs, and
//! whether its templates use only the variables it declares.

use std::path::{Path, PathBuf};

use ggen_marketplace_core::Manifest;
use ggen_marketplace_core::manifest::ManifestFormat;
use ggen_template::{TemplateSource, check_templates};
use semver::Version;
use serde::Serialize;

use crate::error::{Error, Result};

/// One package's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// The directory or manifest checked.
    pub path: PathBuf,
    /// The package name, when the manifest could be read.
    pub name: Option<String>,
    /// Its version.
    pub version: Option<Version>,
    /// Which manifest format it is.
    pub format: Option<ManifestFormat>,
    /// No errors.
    pub valid: bool,
    /// What stops it from being published.
    pub errors: Vec<String>,
    /// What is worth fixing but does not stop it.
    pub warnings: Vec<String>,
}

/// Every package checked.
#[derive(Debug, Clone, Serialize)]
pub struct ValidateReport {
    /// Packages checked.
    pub checked: usize,
    /// How many of them are invalid.
    pub invalid: usize,
    /// Each package's verdict.
    pub results: Vec<Validation>,
}

/// Checks the package at `path`, or, when `path` is a directory without a
/// manifest, every package directory directly inside it.
pub fn validate_packages(path: &Path) -> Result<ValidateReport> {
    let mut targets: Vec<PathBuf> = Vec::new();
    if path.is_dir() && Manifest::find_in_dir(path).is_err() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ggen_marketplace_core::MarketplaceError::io(path, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        targets.extend(dirs);
    } else {
        targets.push(path.to_path_buf());
    }
    if targets.is_empty() {
        return Err(Error::Setup(format!(
            "{} holds no package (no gpack.toml, gpack.yaml or package.toml)",
            path.display()
        )));
    }
    let results: Vec<Validation> = targets.iter().map(|t| validate_one(t)).collect();
    Ok(ValidateReport {
        checked: results.len(),
        invalid: results.iter().filter(|r| !r.valid).count(),
        results,
    })
}

fn validate_one(path: &Path) -> Validation {
    match Manifest::load(path) {
        Ok(m) => {
            let mut errors = Vec::new();
            let mut warnings = m.warnings.clone();
            if path.is_dir() {
                match ggen_marketplace_core::archive::pack_dir(path)
                    .map(|packed| TemplateSource::from_archive(&packed))
                {
                    Ok(Ok(source)) => {
                        let check = check_templates(&source);
                        errors.extend(check.errors);
                        warnings.extend(check.warnings);
                    }
                    Ok(Err(e)) => errors.push(e.to_string()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Validation {
                path: path.to_path_buf(),
                name: Some(m.name),
                version: Some(m.version),
                format: Some(m.format),
                valid: errors.is_empty(),
                errors,
                warnings,
            }
        }
        Err(e) => Validation {
            path: path.to_path_buf(),
            name: None,
            version: None,
            format: None,
            valid: false,
            errors: vec![e.to_string()],
            warnings: Vec::new(),
        },
    }
}
