//! What an install, update or remove will change: the roots asked for, the
//! resolution, and the difference from the current `ggen.lock`.

use std::collections::{BTreeMap, BTreeSet};

use ggen_marketplace_core::resolve::{self, Resolution, ResolveOptions};
use semver::VersionReq;

use super::fetch::required_checksum;
use super::{Action, Change, InstallContext, InstallOptions};
use crate::error::Result;
use crate::ops::lockfile::{LockedPackage, Lockfile};

/// What the lockfile says was asked for, with the requirement it was asked with,
/// leaving out `except`.
pub(super) fn requested_roots(
    old: &Lockfile,
    except: Option<&str>,
) -> BTreeMap<String, VersionReq> {
    old.packages
        .iter()
        .filter(|p| p.requested && Some(p.name.as_str()) != except)
        .map(|p| {
            (
                p.name.clone(),
                p.requirement.clone().unwrap_or(VersionReq::STAR),
            )
        })
        .collect()
}

pub(super) fn new_lock_equal(a: &Lockfile, b: &Lockfile) -> bool {
    let strip = |l: &Lockfile| {
        let mut l = l.clone();
        l.sort();
        for p in &mut l.packages {
            p.signature_key_id = None;
        }
        l
    };
    strip(a) == strip(b)
}

pub(super) fn resolve_plan(
    ctx: &InstallContext<'_>,
    roots: &BTreeMap<String, VersionReq>,
    locked: &BTreeMap<String, semver::Version>,
    opts: &InstallOptions,
) -> Result<Resolution> {
    let roots: Vec<(String, VersionReq)> =
        roots.iter().map(|(n, r)| (n.clone(), r.clone())).collect();
    let options = ResolveOptions {
        include_optional: opts.include_optional,
        locked: locked.clone(),
        no_dependencies: opts.no_dependencies,
    };
    Ok(resolve::resolve_backend(ctx.backend, &roots, &options)?)
}

pub(super) fn diff(old: &Lockfile, new: &Resolution) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, release) in &new.packages {
        let from = old.get(name).map(|p| p.version.clone());
        let action = match &from {
            None => Action::Install,
            Some(v) if *v == release.version => Action::Keep,
            Some(v) if *v < release.version => Action::Upgrade,
            Some(_) => Action::Downgrade,
        };
        changes.push(Change {
            name: name.clone(),
            version: release.version.clone(),
            from,
            action,
        });
    }
    for p in &old.packages {
        if !new.packages.contains_key(&p.name) {
            changes.push(Change {
                name: p.name.clone(),
                version: p.version.clone(),
                from: Some(p.version.clone()),
                action: Action::Remove,
            });
        }
    }
    changes
}

pub(super) fn lockfile_for(
    ctx: &InstallContext<'_>,
    res: &Resolution,
    requested: &BTreeSet<String>,
    roots: &BTreeMap<String, VersionReq>,
    old: &Lockfile,
) -> Result<Lockfile> {
    let mut lock = Lockfile::default();
    for (name, release) in &res.packages {
        let sha = required_checksum(release)?;
        let deps = res
            .edges
            .get(name)
            .map(|ds| {
                // A dependency evicted by `remove --force` is no longer listed.
                ds.iter()
                    .filter_map(|d| res.packages.get(d).map(|p| format!("{d} {}", p.version)))
                    .collect()
            })
            .unwrap_or_default();
        let prior_key = old
            .get(name)
            .filter(|p| p.version == release.version)
            .and_then(|p| p.signature_key_id.clone());
        lock.packages.push(LockedPackage {
            name: name.clone(),
            version: release.version.clone(),
            source: ctx.source.clone(),
            sha256: sha,
            signature_key_id: release
                .signature
                .as_ref()
                .map(|s| s.key_id.clone())
                .or(prior_key),
            requested: requested.contains(name),
            requirement: roots
                .get(name)
                .filter(|r| requested.contains(name) && **r != VersionReq::STAR)
                .cloned(),
            dependencies: deps,
        });
    }
    lock.sort();
    Ok(lock)
}
