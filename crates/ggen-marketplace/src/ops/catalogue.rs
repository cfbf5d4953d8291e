//! The bundled catalogue (`registry/packages/<name>/<version>/` in the repository),
//! compiled into the binary so a fresh `GGEN_HOME` is seeded with no network,
//! and seeding a new registry from it.

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

/// Lock serialising seeding against other processes.
const SEED_LOCK: &str = ".seed.lock";

/// What seeding did, for the CLI to report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    /// Versions added to V1.
    pub v1_added: usize,
    /// Versions added to V2.
    pub v2_added: usize,
}

impl crate::Marketplace {
    /// `init`: seeds a new registry from the bundled catalogue (with `force`,
    /// re-imports it into an existing one).
    pub fn init(&self, force: bool) -> crate::Result<Option<SeedReport>> {
        self.require_local("init")?;
        self.ensure_seeded(force)
    }

    /// `init --empty`: creates a registry with no packages (a private
    /// registry, which starts empty as a cargo or npm registry does). Returns
    /// false when a registry is already there (it is left as it is).
    pub fn init_empty(&self) -> crate::Result<bool> {
        self.require_local("init")?;
        let registry = &self.paths.registry;
        let _restore = crate::ops::backup::restore_lock(registry)?;
        crate::ops::backup::finish_interrupted_restore(registry)?;
        let _lock = ggen_marketplace_core::fsutil::FileLock::exclusive(&registry.join(SEED_LOCK))?;
        if self.is_seeded() {
            return Ok(false);
        }
        #[cfg(feature = "marketplace-v1")]
        ggen_marketplace_v1::V1Backend::create(registry, "local")?;
        #[cfg(feature = "marketplace-v2")]
        if self.settings.v2_endpoint.is_none() {
            self.open_embedded_v2()?;
        }
        crate::cache::bump_generation(registry);
        Ok(true)
    }

    /// Whether the registry directory has been seeded yet.
    pub fn is_seeded(&self) -> bool {
        let r = &self.paths.registry;
        (cfg!(feature = "marketplace-v1") && r.join("index.json").is_file())
            || (!cfg!(feature = "marketplace-v1") && r.join("v2").is_dir())
    }

    /// Seeds every compiled backend from the bundled catalogue if the registry is
    /// new; with `force`, re-imports it into an existing registry (versions already
    /// present are skipped). Returns `None` when nothing needed doing.
    pub fn ensure_seeded(&self, force: bool) -> crate::Result<Option<SeedReport>> {
        if self.remote_url().is_some() {
            return Ok(None); // the server has its own registry
        }
        let registry = &self.paths.registry;
        if self.is_seeded() && !force && !crate::ops::backup::restore_interrupted(registry) {
            return Ok(None);
        }
        if self.is_read_only() {
            // Seeding, or finishing a restore, writes: a dry run does neither.
            return Err(crate::error::Error::Setup(if self.is_seeded() {
                format!(
                    "a restore of {} was interrupted, and a dry run writes nothing, so it does not finish it: run any command without --dry-run first",
                    registry.display()
                )
            } else {
                format!(
                    "there is no registry at {} yet, and a dry run writes nothing, so it does not create one: run `ggen marketplace init` first, then the dry run",
                    registry.display()
                )
            }));
        }
        // About to seed, or a restore was cut short: wait for any restore in
        // progress, finish an interrupted one, then look again.
        let _restore = crate::ops::backup::restore_lock(registry)?;
        crate::ops::backup::finish_interrupted_restore(registry)?;
        if self.is_seeded() && !force {
            return Ok(None);
        }
        let _lock = ggen_marketplace_core::fsutil::FileLock::exclusive(
            &self.paths.registry.join(SEED_LOCK),
        )?;
        if self.is_seeded() && !force {
            return Ok(None); // another process seeded while we waited
        }
        let releases = releases()?;
        let mut report = SeedReport::default();
        #[cfg(feature = "marketplace-v1")]
        {
            let v1 = ggen_marketplace_v1::V1Backend::create(&self.paths.registry, "bundled")?;
            report.v1_added = v1.publish_many(&releases)?;
        }
        #[cfg(feature = "marketplace-v2")]
        {
            if self.settings.v2_endpoint.is_none() {
                let v2 = self.open_embedded_v2()?;
                report.v2_added = v2.publish_many(&releases)?;
            }
        }
        crate::cache::bump_generation(&self.paths.registry);
        Ok(Some(report))
    }
}
