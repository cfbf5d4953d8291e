//! Installing packages into a target directory: resolve, fetch, verify, stage,
//! then move into place and write `ggen.lock` as one transaction.
//!
//! Nothing touches the target until every archive is fetched, checked and
//! extracted into a staging directory inside it. The move into place is recorded
//! in a journal first; the new `ggen.lock` is the commit point. A run interrupted
//! during the move is rolled back (or, past the commit point, finished) by the
//! next command on that target, so the target is always either old or new.
//!
//! The target is untrusted: it may be a cloned repository or an unpacked
//! tarball that someone prepared. So the journal lives in the user's own ggen
//! home (keyed by the target's path), never in the target, where anyone could
//! plant one; the staging directory is always `TARGET/.ggen-staging`, derived,
//! never read from a file; every name from `ggen.lock` or the journal is
//! validated as a package name before it becomes a path; and links planted in
//! the target are never followed (entries are looked at with `lstat`). The
//! target is locked through its own directory descriptor, so ggen adds no
//! lock file to it. A dry run writes nothing anywhere.
//!
//! | module | holds |
//! |---|---|
//! | `plan` | what will change: roots, resolution, the diff against `ggen.lock` |
//! | `fetch` | archives fetched and checked against their release's checksum |
//! | `transaction` | staging, the journal, commit and recovery |
//! | `session` | the `Marketplace` methods: install, update, remove, installed |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ggen_marketplace_core::archive::{ExtractLimits, extract_tar_gz};
use ggen_marketplace_core::fsutil::{FileLock, entry_exists};
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError, PackageVersion};
use semver::VersionReq;
use serde::Serialize;

use crate::error::{Error, Result};

mod fetch;
mod plan;
mod session;
mod transaction;

use crate::ops::lockfile::Lockfile;
pub(crate) use fetch::fetch_verified;
use plan::{diff, lockfile_for, new_lock_equal, requested_roots, resolve_plan};
pub use transaction::recover;
use transaction::{STAGING, Staged, commit, pending_transaction};

/// How an install, update or remove runs.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Report what would change; write nothing anywhere.
    pub dry_run: bool,
    /// Replace what ggen did not install; remove a package others need.
    pub force: bool,
    /// Only the named packages, not their dependencies.
    pub no_dependencies: bool,
    /// Exactly what `ggen.lock` says, or fail.
    pub locked: bool,
    /// Follow optional dependencies too.
    pub include_optional: bool,
    /// Every package must carry a valid signature from a trusted key
    /// (`--verify-signature`); `install.require_signatures` in the config
    /// turns this on whatever the caller says.
    pub verify_signatures: bool,
    /// Caps on what one archive may unpack to.
    pub limits: ExtractLimits,
}

/// Checks a package's signature; returns the key id that signed it.
pub(crate) type Verifier<'a> =
    &'a dyn Fn(&PackageVersion, &[u8]) -> std::result::Result<Option<String>, MarketplaceError>;

/// Everything an install reads besides the target (built by [`session`]).
pub(crate) struct InstallContext<'a> {
    pub backend: &'a dyn MarketplaceBackend,
    /// Where transaction journals are kept: a directory of the user's own
    /// (`GGEN_HOME/transactions`), never inside a target.
    pub journal_dir: PathBuf,
    /// Written into the lockfile's `source`.
    pub source: String,
    /// Download cache (content-addressed by SHA-256).
    pub cache_dir: PathBuf,
    pub verifier: Option<Verifier<'a>>,
    pub on_event: &'a dyn Fn(Event<'_>),
}

/// Progress of an install, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The resolution is known: this many packages.
    Resolved {
        /// Packages in the resolution.
        count: usize,
    },
    /// An archive is being fetched (or taken from the download cache).
    Fetching {
        /// The package.
        name: &'a str,
        /// Its version.
        version: &'a semver::Version,
        /// From the download cache.
        cached: bool,
    },
    /// An archive was checked and unpacked into staging.
    Extracted {
        /// The package.
        name: &'a str,
    },
}

/// What happens to one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// New in the target.
    Install,
    /// Replaced by a higher version.
    Upgrade,
    /// Replaced by a lower version.
    Downgrade,
    /// Unchanged.
    Keep,
    /// Taken out of the target.
    Remove,
}

/// One package's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The package.
    pub name: String,
    /// The version it ends at (for a removal, the one removed).
    pub version: semver::Version,
    /// The version it had.
    pub from: Option<semver::Version>,
    /// What happens to it.
    pub action: Action,
}

/// What an install, update or remove did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallReport {
    /// The target directory.
    pub target: PathBuf,
    /// Every package's change.
    pub changes: Vec<Change>,
    /// Nothing was written.
    pub dry_run: bool,
    /// True when the target already matched and nothing was written.
    pub up_to_date: bool,
    /// The backend that answered.
    pub backend_used: ggen_marketplace_core::BackendKind,
    /// Things the user should know that did not stop the install.
    pub warnings: Vec<String>,
}

/// Installs `specs` (plus what the target already has) into `target`.
pub(crate) fn install(
    ctx: &InstallContext<'_>,
    specs: &[(String, VersionReq)],
    target: &Path,
    opts: &InstallOptions,
) -> Result<InstallReport> {
    let started = std::time::Instant::now();
    let report = apply(
        ctx,
        target,
        opts,
        |old| {
            let mut roots: BTreeMap<String, VersionReq> = requested_roots(old, None);
            for (name, req) in specs {
                roots.insert(name.clone(), req.clone());
            }
            Ok(roots)
        },
        specs.iter().map(|(n, _)| n.clone()).collect(),
    )?;
    if !report.dry_run && !report.up_to_date {
        let backend = ctx.backend.last_used().as_str();
        metrics::histogram!(crate::observe::metrics::INSTALL_LATENCY, "backend" => backend)
            .record(started.elapsed().as_secs_f64() * 1000.0);
        metrics::counter!(crate::observe::metrics::INSTALLS, "backend" => backend)
            .increment(report.changes.len() as u64);
    }
    Ok(report)
}

/// Re-resolves the target's requested packages, ignoring the lock for `only`
/// (or for everything when `only` is empty).
pub(crate) fn update(
    ctx: &InstallContext<'_>,
    only: &[String],
    target: &Path,
    opts: &InstallOptions,
) -> Result<InstallReport> {
    settle(ctx, target, opts)?;
    let old = Lockfile::read(target)?;
    for n in only {
        if old.get(n).is_none() {
            return Err(Error::Setup(format!(
                "`{n}` is not installed in {}",
                target.display()
            )));
        }
    }
    let opts = InstallOptions {
        locked: false,
        ..opts.clone()
    };
    let keep: BTreeSet<String> = if only.is_empty() {
        BTreeSet::new()
    } else {
        old.packages
            .iter()
            .filter(|p| !only.contains(&p.name))
            .map(|p| p.name.clone())
            .collect()
    };
    apply_with_pins(
        ctx,
        target,
        &opts,
        |old| Ok(requested_roots(old, None)),
        Vec::new(),
        Some(keep),
        None,
    )
}

/// Removes a requested package (and dependencies nothing else needs).
pub(crate) fn remove(
    ctx: &InstallContext<'_>,
    name: &str,
    target: &Path,
    opts: &InstallOptions,
) -> Result<InstallReport> {
    settle(ctx, target, opts)?;
    let old = Lockfile::read(target)?;
    if old.get(name).is_none() {
        return Err(Error::Setup(format!(
            "`{name}` is not installed in {}",
            target.display()
        )));
    }
    let dependents: Vec<&str> = old
        .packages
        .iter()
        .filter(|p| {
            p.dependencies
                .iter()
                .any(|d| d.split(' ').next() == Some(name))
        })
        .map(|p| p.name.as_str())
        .collect();
    if !dependents.is_empty() && !opts.force {
        return Err(Error::Setup(format!(
            "`{name}` is needed by {}; remove those first or pass --force",
            dependents.join(", ")
        )));
    }
    // Everything else keeps its locked version (apply prefers the lock). With
    // --force and dependents, `name` is evicted from the resolution even though
    // they still need it: the user asked for a broken set, knowingly.
    let evict = (!dependents.is_empty()).then_some(name);
    apply_with_pins(
        ctx,
        target,
        opts,
        |old| Ok(requested_roots(old, Some(name))),
        Vec::new(),
        None,
        evict,
    )
}

/// Finishes an interrupted transaction (or refuses a planted journal) before
/// `update` and `remove` read the lockfile to check their arguments, so they
/// check against what the target really holds. A dry run only looks.
fn settle(ctx: &InstallContext<'_>, target: &Path, opts: &InstallOptions) -> Result<()> {
    if !target.is_dir() {
        return Ok(());
    }
    if opts.dry_run {
        if pending_transaction(&ctx.journal_dir, target)? {
            return Err(Error::Setup(format!(
                "an interrupted install is pending in {}; run the command without --dry-run to finish it first",
                target.display()
            )));
        }
        return Ok(());
    }
    let _guard = FileLock::directory(target)?;
    recover(&ctx.journal_dir, target)
}

fn apply(
    ctx: &InstallContext<'_>,
    target: &Path,
    opts: &InstallOptions,
    roots: impl FnOnce(&Lockfile) -> Result<BTreeMap<String, VersionReq>>,
    requested: Vec<String>,
) -> Result<InstallReport> {
    apply_with_pins(ctx, target, opts, roots, requested, None, None)
}

fn apply_with_pins(
    ctx: &InstallContext<'_>,
    target: &Path,
    opts: &InstallOptions,
    roots: impl FnOnce(&Lockfile) -> Result<BTreeMap<String, VersionReq>>,
    requested: Vec<String>,
    pins: Option<BTreeSet<String>>,
    evict: Option<&str>,
) -> Result<InstallReport> {
    // A dry run takes no lock and recovers nothing: it writes nothing, not even
    // the target directory. It refuses to guess while a transaction is pending.
    let _guard = if opts.dry_run {
        if target.is_dir() && pending_transaction(&ctx.journal_dir, target)? {
            return Err(Error::Setup(format!(
                "an interrupted install is pending in {}; run the command without --dry-run to finish it first",
                target.display()
            )));
        }
        None
    } else {
        std::fs::create_dir_all(target).map_err(|e| MarketplaceError::io(target, e))?;
        let guard = FileLock::directory(target)?;
        recover(&ctx.journal_dir, target)?;
        Some(guard)
    };
    let old = Lockfile::read(target)?;
    let roots = roots(&old)?;
    let requested: BTreeSet<String> = requested
        .into_iter()
        .chain(
            old.packages
                .iter()
                .filter(|p| p.requested)
                .map(|p| p.name.clone()),
        )
        .filter(|n| roots.contains_key(n))
        .collect();

    // Pins: the lock's versions are preferred (and required with --locked).
    let locked = match &pins {
        Some(keep) => old
            .versions()
            .into_iter()
            .filter(|(n, _)| keep.contains(n))
            .collect(),
        None => old.versions(),
    };
    let mut resolution = resolve_plan(ctx, &roots, &locked, opts)?;
    if let Some(name) = evict {
        resolution.packages.remove(name);
        resolution.edges.remove(name);
        resolution.order.retain(|n| n != name);
    }
    (ctx.on_event)(Event::Resolved {
        count: resolution.packages.len(),
    });
    if opts.locked {
        for (name, v) in &resolution.packages {
            if old.get(name).map(|p| &p.version) != Some(&v.version)
                && roots.contains_key(name)
                && old.get(name).is_some()
            {
                return Err(Error::Setup(format!(
                    "--locked: `{name}` would change from {} to {}; run without --locked to update ggen.lock",
                    old.get(name)
                        .map(|p| p.version.to_string())
                        .unwrap_or_default(),
                    v.version
                )));
            }
        }
    }

    let changes = diff(&old, &resolution);
    let new_lock = lockfile_for(ctx, &resolution, &requested, &roots, &old)?;
    let all_present = resolution
        .packages
        .keys()
        .all(|n| std::fs::symlink_metadata(target.join(n)).is_ok_and(|m| m.is_dir()));
    if changes.iter().all(|c| c.action == Action::Keep)
        && all_present
        && new_lock_equal(&old, &new_lock)
    {
        return Ok(InstallReport {
            target: target.to_path_buf(),
            changes,
            dry_run: opts.dry_run,
            up_to_date: true,
            backend_used: ctx.backend.last_used(),
            warnings: Vec::new(),
        });
    }
    if opts.locked && !new_lock_equal(&old, &new_lock) && !old.packages.is_empty() {
        return Err(Error::Setup(
            "--locked: ggen.lock would change; run without --locked to update it".into(),
        ));
    }
    if opts.dry_run {
        return Ok(InstallReport {
            target: target.to_path_buf(),
            changes,
            dry_run: true,
            up_to_date: false,
            backend_used: ctx.backend.last_used(),
            warnings: Vec::new(),
        });
    }

    // Refuse to overwrite what ggen did not install.
    for c in &changes {
        if c.from.is_none()
            && c.action == Action::Install
            && entry_exists(&target.join(&c.name))
            && !opts.force
        {
            return Err(Error::Setup(format!(
                "{} exists and was not installed by ggen; move it away or pass --force",
                target.join(&c.name).display()
            )));
        }
    }

    // Fetch, verify and extract everything into staging first. Recovery just
    // cleared any stale staging directory, so this one is new and ours.
    let staging = target.join(STAGING);
    std::fs::create_dir(&staging).map_err(io(&staging))?;
    let staged = Staged(Some(staging.clone()));
    let mut signers = BTreeMap::new();
    for c in changes.iter().filter(|c| {
        matches!(
            c.action,
            Action::Install | Action::Upgrade | Action::Downgrade
        )
    }) {
        let release = &resolution.packages[&c.name];
        // The resolver refuses versions labelled with another name; say it
        // again where the signature is checked against the name asked for.
        if release.name != c.name {
            return Err(MarketplaceError::UntrustedAnswer {
                from: format!("the {} backend", ctx.backend.last_used()),
                reason: format!("asked for `{}`, got `{}`", c.name, release.id()),
            }
            .into());
        }
        let bytes = fetch_verified(ctx, release)?;
        if let Some(verify) = ctx.verifier {
            let key = verify(release, &bytes)?;
            signers.insert(c.name.clone(), key);
        }
        extract_tar_gz(&bytes, &staging.join("new").join(&c.name), &opts.limits)?;
        (ctx.on_event)(Event::Extracted { name: &c.name });
        crate::config::env::fault_pause();
    }
    let mut new_lock = new_lock;
    for p in &mut new_lock.packages {
        if let Some(Some(k)) = signers.get(&p.name) {
            p.signature_key_id = Some(k.clone());
        }
    }
    commit(&ctx.journal_dir, target, staged, &changes, &new_lock)?;
    Ok(InstallReport {
        target: target.to_path_buf(),
        changes,
        dry_run: false,
        up_to_date: false,
        backend_used: ctx.backend.last_used(),
        warnings: Vec::new(),
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| MarketplaceError::io(path, e).into()
}
