//! The bundled catalogue (`registry/packages/<name>/<version>/` in the repository),
//! compiled into the binary so a fresh `GGEN_HOME` is seeded with no network.

use std::path::Path;

use chrono::{DateTime, Utc};
use ggen_marketplace_core::archive::pack_dir;
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::{Manifest, MarketplaceError, PackageVersion};
use include_dir::{Dir, include_dir};

static PACKAGES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../registry/packages");

/// When the bundled versions count as published (fixed, so seeding is reproducible).
const PUBLISHED_AT: &str = "2026-11-01T00:00:00Z";

/// Every bundled version with its packed archive, ready to publish.
pub fn releases() -> Result<Vec<(PackageVersion, Vec<u8>)>, MarketplaceError> {
    let published: DateTime<Utc> = PUBLISHED_AT.parse().expect("valid timestamp");
    let scratch = tempfile::tempdir().map_err(|e| MarketplaceError::io(std::env::temp_dir(), e))?;
    let mut out = Vec::new();
    for package in PACKAGES.dirs() {
        for version in package.dirs() {
            let dest = scratch.path().join(version.path());
            write_dir(version, &dest, scratch.path())?;
            let manifest = Manifest::load(&dest)?;
            let archive = pack_dir(&dest)?;
            let mut release = manifest.to_package_version();
            release.checksum = Some(sha256_hex(&archive));
            release.size = Some(archive.len() as u64);
            release.published_at = Some(published);
            release
                .repository
                .get_or_insert_with(|| "https://github.com/ggen/marketplace".into());
            out.push((release, archive));
        }
    }
    out.sort_by(|(a, _), (b, _)| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(out)
}

fn write_dir(dir: &Dir<'_>, dest: &Path, root: &Path) -> Result<(), MarketplaceError> {
    std::fs::create_dir_all(dest).map_err(|e| MarketplaceError::io(dest, e))?;
    for file in dir.files() {
        let path = root.join(file.path());
        std::fs::write(&path, file.contents()).map_err(|e| MarketplaceError::io(&path, e))?;
    }
    for sub in dir.dirs() {
        write_dir(sub, &root.join(sub.path()), root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_valid_and_complete() {
        let releases = releases().unwrap();
        let names: std::collections::BTreeSet<&str> =
            releases.iter().map(|(r, _)| r.name.as_str()).collect();
        assert!(names.len() >= 20, "only {} packages", names.len());
        assert!(names.contains("hello-world"));
        // Every dependency is satisfiable by a bundled version.
        for (r, _) in &releases {
            for d in &r.dependencies {
                assert!(
                    releases
                        .iter()
                        .any(|(o, _)| o.name == d.name && d.req.matches(&o.version)),
                    "{} needs {} {}, which is not bundled",
                    r.id(),
                    d.name,
                    d.req
                );
            }
        }
        // Seeding is reproducible: the same checksums every time.
        let again = super::releases().unwrap();
        assert_eq!(
            releases
                .iter()
                .map(|(r, _)| r.checksum.clone())
                .collect::<Vec<_>>(),
            again
                .iter()
                .map(|(r, _)| r.checksum.clone())
                .collect::<Vec<_>>()
        );
    }
}
