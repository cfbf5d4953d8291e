//! The packages of one generation, fetched and verified like an install's:
//! resolved from a requirement (`ggen new`, the new side of `ggen update`) or
//! pinned to the versions a project recorded (the base of `ggen update`).

use std::collections::BTreeMap;

use ggen_marketplace_core::resolve::{self, ResolveOptions};
use ggen_marketplace_core::{MarketplaceError, PackageVersion};
use ggen_template::{RecordedPackage, TemplateSource};
use semver::VersionReq;

use crate::error::{Error, Result};
use crate::ops::install::{Event, InstallContext, fetch_verified};

/// Packages in rendering order (each after its dependencies), read from
/// their verified archives.
pub(super) struct Stack {
    pub sources: Vec<TemplateSource>,
    pub recorded: Vec<RecordedPackage>,
}

impl Stack {
    /// The manifests whose variables are the generation's questions: the
    /// root's first, then its dependencies', nearest first.
    pub fn manifests(&self) -> Vec<&ggen_marketplace_core::Manifest> {
        self.sources.iter().rev().map(|s| &s.manifest).collect()
    }

    /// The root package's release.
    pub fn root(&self) -> &RecordedPackage {
        self.recorded.last().expect("a stack has its root")
    }
}

/// Resolves `name@req` and its dependencies and fetches them all.
pub(super) fn resolve_stack(
    ctx: &InstallContext<'_>,
    name: &str,
    req: &VersionReq,
    include_optional: bool,
) -> Result<Stack> {
    let options = ResolveOptions {
        include_optional,
        locked: BTreeMap::new(),
        no_dependencies: false,
    };
    let resolution =
        resolve::resolve_backend(ctx.backend, &[(name.to_string(), req.clone())], &options)?;
    (ctx.on_event)(Event::Resolved {
        count: resolution.packages.len(),
    });
    let releases: Vec<&PackageVersion> = resolution
        .order
        .iter()
        .map(|n| &resolution.packages[n])
        .collect();
    load(ctx, &releases)
}

/// Fetches exactly the packages a project recorded, each checked against the
/// checksum recorded then, so the base of an update is what was generated.
pub(super) fn pinned_stack(
    ctx: &InstallContext<'_>,
    packages: &[RecordedPackage],
) -> Result<Stack> {
    let mut releases = Vec::new();
    for p in packages {
        let release = ctx
            .backend
            .versions(&p.name)?
            .into_iter()
            .find(|v| v.version == p.version)
            .ok_or_else(|| MarketplaceError::VersionNotFound {
                name: p.name.clone(),
                requirement: format!("={}", p.version),
            })?;
        if release.checksum.as_deref() != Some(p.checksum.as_str()) {
            return Err(Error::Setup(format!(
                "the registry's `{}@{}` is not the archive this project was generated from (checksum {} recorded, {} now); ggen cannot tell what changed, so it updates nothing. Generate the project anew, or restore the registry",
                p.name,
                p.version,
                p.checksum,
                release.checksum.as_deref().unwrap_or("none")
            )));
        }
        releases.push(release);
    }
    let refs: Vec<&PackageVersion> = releases.iter().collect();
    load(ctx, &refs)
}

fn load(ctx: &InstallContext<'_>, releases: &[&PackageVersion]) -> Result<Stack> {
    let mut sources = Vec::new();
    let mut recorded = Vec::new();
    for release in releases {
        let bytes = fetch_verified(ctx, release)?;
        if let Some(verify) = ctx.verifier {
            verify(release, &bytes)?;
        }
        let source = TemplateSource::from_archive(&bytes)?;
        // The registry's record and the archive's own manifest must agree on
        // what this is, or a registry could pass off one package as another.
        if source.manifest.name != release.name || source.manifest.version != release.version {
            return Err(MarketplaceError::UntrustedAnswer {
                from: format!("the {} backend", ctx.backend.last_used()),
                reason: format!(
                    "the archive of `{}` holds the manifest of `{}`",
                    release.id(),
                    source.id()
                ),
            }
            .into());
        }
        recorded.push(RecordedPackage {
            name: release.name.clone(),
            version: release.version.clone(),
            checksum: release
                .checksum
                .clone()
                .expect("fetch_verified refuses a release without a checksum"),
        });
        (ctx.on_event)(Event::Extracted {
            name: &release.name,
        });
        sources.push(source);
    }
    Ok(Stack { sources, recorded })
}
