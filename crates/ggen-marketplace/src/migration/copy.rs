//! The copying and comparing behind `migrate`, `verify-migration` and
//! `rebuild-db`; compiled only where both backends are.

use std::collections::BTreeSet;

use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError, Package, PackageVersion};
use ggen_marketplace_v1::V1Backend;
use ggen_marketplace_v2::V2Backend;

use super::{MigrationReport, VerifyReport};
use crate::error::Result;

/// Copies every V1 version V2 lacks (or holds with other metadata) into V2.
///
/// Three passes: compare (V2 is only read for packages it already has, so a
/// first migration reads V1 alone), retract the versions to repair, then one
/// streaming import: archives go to `blobs/` one at a time and the graph is
/// written in atomic steps (one bulk load into a local store from 2,000
/// versions on, else batches of 500). A killed run leaves every version either
/// copied whole or absent (and repaired ones retracted), and the next run
/// finishes the work.
pub(crate) fn migrate(
    v1: &V1Backend,
    v2: &V2Backend,
    dry_run: bool,
    progress: &dyn Fn(usize, usize),
) -> Result<MigrationReport> {
    let names: Vec<String> = v1.list()?.into_iter().map(|s| s.name).collect();
    let in_v2: BTreeSet<String> = v2.list()?.into_iter().map(|s| s.name).collect();
    let mut report = MigrationReport {
        dry_run,
        packages: names.len(),
        ..Default::default()
    };
    let mut todo: Vec<PackageVersion> = Vec::new();
    let mut repair: Vec<(String, semver::Version)> = Vec::new();
    let mut counters = std::collections::HashMap::new();
    // Packages V2 has whose counters differ from V1's.
    let mut recount = Vec::new();
    for name in &names {
        let pkg = v1.package(name)?;
        let existing = if in_v2.contains(name) {
            Some(v2.package(name)?)
        } else {
            None
        };
        for v in &pkg.versions {
            report.versions += 1;
            match existing.as_ref().and_then(|p| p.version(&v.version)) {
                Some(e) if e == v => {
                    report.already_present += 1;
                    continue;
                }
                Some(_) => {
                    report.repaired += 1;
                    repair.push((name.clone(), v.version.clone()));
                }
                None => report.copied += 1,
            }
            todo.push(v.clone());
        }
        if existing
            .as_ref()
            .is_some_and(|e| (e.downloads, e.stars) != (pkg.downloads, pkg.stars))
        {
            recount.push((pkg.name.clone(), pkg.downloads, pkg.stars));
        }
        counters.insert(pkg.name.clone(), (pkg.downloads, pkg.stars));
    }
    if dry_run {
        progress(names.len(), names.len());
        return Ok(report);
    }
    for (name, version) in &repair {
        v2.retract(name, version)?;
    }
    let total = todo.len();
    let without_archive = std::cell::Cell::new(0);
    let releases = todo.into_iter().enumerate().map(|(i, v)| {
        crate::config::env::fault_pause();
        let archive = match v1.fetch_archive(&v.name, &v.version) {
            Ok(bytes) => Some(bytes),
            Err(MarketplaceError::ArchiveMissing { .. }) => {
                without_archive.set(without_archive.get() + 1);
                None
            }
            Err(e) => return Err(e),
        };
        if (i + 1) % 256 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
        Ok((v, archive))
    });
    v2.import_stream(releases, &counters)?;
    report.without_archive = without_archive.get();
    // New packages were created with their counters; existing ones are updated.
    v2.set_counters(&recount)?;
    Ok(report)
}

pub(crate) fn verify(
    v1: &dyn MarketplaceBackend,
    v2: &dyn MarketplaceBackend,
) -> Result<VerifyReport> {
    let names = |b: &dyn MarketplaceBackend| -> Result<BTreeSet<String>> {
        Ok(b.list()?.into_iter().map(|s| s.name).collect())
    };
    let (a, b) = (names(v1)?, names(v2)?);
    let mut report = VerifyReport {
        packages: a.union(&b).count(),
        differences: Vec::new(),
    };
    for n in a.difference(&b) {
        report.differences.push(format!("{n}: in v1 only"));
    }
    for n in b.difference(&a) {
        report.differences.push(format!("{n}: in v2 only"));
    }
    for n in a.intersection(&b) {
        diff_package(&v1.package(n)?, &v2.package(n)?, &mut report.differences);
    }
    Ok(report)
}

fn diff_package(a: &Package, b: &Package, out: &mut Vec<String>) {
    if a.downloads != b.downloads || a.stars != b.stars {
        out.push(format!(
            "{}: counters differ (v1 {}/{}, v2 {}/{} downloads/stars)",
            a.name, a.downloads, a.stars, b.downloads, b.stars
        ));
    }
    for v in &a.versions {
        match b.version(&v.version) {
            None => out.push(format!("{}: in v1 only", v.id())),
            Some(w) if w != v => {
                let (x, y) = (
                    serde_json::to_value(v).unwrap_or_default(),
                    serde_json::to_value(w).unwrap_or_default(),
                );
                let fields: Vec<String> = x
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, val)| y.get(k.as_str()) != Some(val))
                    .map(|(k, _)| k.clone())
                    .collect();
                out.push(format!("{}: fields differ: {}", v.id(), fields.join(", ")));
            }
            Some(_) => {}
        }
    }
    for w in &b.versions {
        if a.version(&w.version).is_none() {
            out.push(format!("{}: in v2 only", w.id()));
        }
    }
}
