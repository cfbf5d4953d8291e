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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ggen_marketplace_core::archive::{ExtractLimits, extract_tar_gz};
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::{FileLock, atomic_write, entry_exists, sync_dir};
use ggen_marketplace_core::resolve::{self, Resolution, ResolveOptions};
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError, PackageVersion};
use semver::VersionReq;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lockfile::{LockedPackage, Lockfile};

/// Where older ggen versions kept their journal, inside the target. Such a
/// file is never believed: it makes the command stop and say so.
const LEGACY_JOURNAL: &str = ".ggen-txn.json";
/// The staging directory, always this child of the target.
const STAGING: &str = ".ggen-staging";
/// Staging directories of older ggen versions (`.ggen-staging-XXXXXX`).
const LEGACY_STAGING_PREFIX: &str = ".ggen-staging-";
/// A journal is a few names; anything larger was not written by ggen.
const MAX_JOURNAL_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub dry_run: bool,
    pub force: bool,
    pub no_dependencies: bool,
    pub locked: bool,
    pub include_optional: bool,
    pub limits: ExtractLimits,
}

/// Checks a package's signature; returns the key id that signed it.
pub type Verifier<'a> =
    &'a dyn Fn(&PackageVersion, &[u8]) -> std::result::Result<Option<String>, MarketplaceError>;

pub struct InstallContext<'a> {
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

#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    Resolved {
        count: usize,
    },
    Fetching {
        name: &'a str,
        version: &'a semver::Version,
        cached: bool,
    },
    Extracted {
        name: &'a str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Install,
    Upgrade,
    Downgrade,
    Keep,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub name: String,
    pub version: semver::Version,
    pub from: Option<semver::Version>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub target: PathBuf,
    pub changes: Vec<Change>,
    pub dry_run: bool,
    /// True when the target already matched and nothing was written.
    pub up_to_date: bool,
}

/// What a transaction is about to do to a target. Holds names only: the
/// staging directory is derived from the target, never read from here.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    /// The target this journal belongs to, for people reading it; never used
    /// as a path (the journal's file name is derived from the target).
    target: PathBuf,
    /// Packages moved into the target; `had_old` means a previous copy sits in
    /// `staging/.backup/<name>`.
    moves: Vec<(String, bool)>,
    /// Packages removed from the target (kept in the backup until commit).
    removals: Vec<String>,
    new_lock_sha256: String,
}

impl Journal {
    /// Every name a valid package name and none twice, the digest well formed.
    fn check(&self) -> std::result::Result<(), String> {
        let mut seen = BTreeSet::new();
        for name in self.moves.iter().map(|(n, _)| n).chain(&self.removals) {
            ggen_marketplace_core::name::validate_name(name).map_err(|e| e.to_string())?;
            if !seen.insert(name) {
                return Err(format!("`{name}` is listed twice"));
            }
        }
        if !ggen_marketplace_core::checksum::is_sha256_hex(&self.new_lock_sha256) {
            return Err("new_lock_sha256 is not a SHA-256 digest".into());
        }
        Ok(())
    }
}

/// The journal file of `target` in `journal_dir`: named after a digest of the
/// target's canonical path, so each target has exactly one.
fn journal_path(journal_dir: &Path, target: &Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(target).map_err(|e| MarketplaceError::io(target, e))?;
    let digest = sha256_hex(canonical.as_os_str().as_encoded_bytes());
    Ok(journal_dir.join(format!("{}.json", &digest[..32])))
}

fn untrusted(path: &Path, reason: &str) -> Error {
    Error::Setup(format!(
        "{} cannot be used: {reason}. Nothing was changed",
        path.display()
    ))
}

/// What the lockfile says was asked for, with the requirement it was asked with,
/// leaving out `except`.
fn requested_roots(old: &Lockfile, except: Option<&str>) -> BTreeMap<String, VersionReq> {
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

/// Installs `specs` (plus what the target already has) into `target`.
pub fn install(
    ctx: &InstallContext<'_>,
    specs: &[(String, VersionReq)],
    target: &Path,
    opts: &InstallOptions,
) -> Result<Report> {
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
        metrics::histogram!(crate::metrics::INSTALL_LATENCY, "backend" => backend)
            .record(started.elapsed().as_secs_f64() * 1000.0);
        metrics::counter!(crate::metrics::INSTALLS, "backend" => backend)
            .increment(report.changes.len() as u64);
    }
    Ok(report)
}

/// Re-resolves the target's requested packages, ignoring the lock for `only`
/// (or for everything when `only` is empty).
pub fn update(
    ctx: &InstallContext<'_>,
    only: &[String],
    target: &Path,
    opts: &InstallOptions,
) -> Result<Report> {
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
pub fn remove(
    ctx: &InstallContext<'_>,
    name: &str,
    target: &Path,
    opts: &InstallOptions,
) -> Result<Report> {
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
) -> Result<Report> {
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
) -> Result<Report> {
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
        return Ok(Report {
            target: target.to_path_buf(),
            changes,
            dry_run: opts.dry_run,
            up_to_date: true,
        });
    }
    if opts.locked && !new_lock_equal(&old, &new_lock) && !old.packages.is_empty() {
        return Err(Error::Setup(
            "--locked: ggen.lock would change; run without --locked to update it".into(),
        ));
    }
    if opts.dry_run {
        return Ok(Report {
            target: target.to_path_buf(),
            changes,
            dry_run: true,
            up_to_date: false,
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
        fault_delay();
    }
    let mut new_lock = new_lock;
    for p in &mut new_lock.packages {
        if let Some(Some(k)) = signers.get(&p.name) {
            p.signature_key_id = Some(k.clone());
        }
    }
    commit(&ctx.journal_dir, target, staged, &changes, &new_lock)?;
    Ok(Report {
        target: target.to_path_buf(),
        changes,
        dry_run: false,
        up_to_date: false,
    })
}

fn new_lock_equal(a: &Lockfile, b: &Lockfile) -> bool {
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

fn resolve_plan(
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

fn diff(old: &Lockfile, new: &Resolution) -> Vec<Change> {
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

fn lockfile_for(
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

/// A release without a checksum cannot be verified, so it is never installed.
fn required_checksum(release: &PackageVersion) -> Result<String> {
    release.checksum.clone().ok_or_else(|| {
        MarketplaceError::InvalidArchive {
            reason: format!(
                "`{}` has no checksum in the registry; it cannot be verified",
                release.id()
            ),
        }
        .into()
    })
}

/// The archive of `release`, from the download cache or the backend, with its
/// SHA-256 checked against the registry before anything uses it.
pub fn fetch_verified(ctx: &InstallContext<'_>, release: &PackageVersion) -> Result<Vec<u8>> {
    let expected = required_checksum(release)?;
    let cached = ctx
        .cache_dir
        .join("archives")
        .join(format!("{expected}.tar.gz"));
    if let Ok(bytes) = std::fs::read(&cached) {
        if sha256_hex(&bytes) == expected {
            (ctx.on_event)(Event::Fetching {
                name: &release.name,
                version: &release.version,
                cached: true,
            });
            return Ok(bytes);
        }
        let _ = std::fs::remove_file(&cached); // corrupt cache entry
    }
    (ctx.on_event)(Event::Fetching {
        name: &release.name,
        version: &release.version,
        cached: false,
    });
    let bytes = ctx.backend.fetch_archive(&release.name, &release.version)?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(MarketplaceError::ChecksumMismatch {
            name: release.name.clone(),
            version: release.version.to_string(),
            expected,
            actual,
        }
        .into());
    }
    if let Err(e) = atomic_write(&cached, &bytes) {
        tracing::warn!(error = %e, "could not cache the download");
    }
    Ok(bytes)
}

/// Crash tests set `GGEN_FAULT_DELAY_MS` to widen the windows between steps, so a
/// kill lands inside the transaction rather than before or after it. Install,
/// dual writes, migration and restore call it between their steps.
pub(crate) fn fault_delay() {
    if let Some(ms) = std::env::var("GGEN_FAULT_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| MarketplaceError::io(path, e).into()
}

/// The staging directory of a run that has not reached [`commit`]'s journal:
/// removed when dropped (an error, a refusal), since nothing moved yet.
struct Staged(Option<PathBuf>);

impl Staged {
    /// From here on the journal owns the directory: recovery decides its fate.
    fn keep(mut self) -> PathBuf {
        self.0.take().expect("kept once")
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn commit(
    journal_dir: &Path,
    target: &Path,
    staged: Staged,
    changes: &[Change],
    new_lock: &Lockfile,
) -> Result<()> {
    let jpath = journal_path(journal_dir, target)?;
    let staging = staged.keep();
    let backup = staging.join(".backup");
    std::fs::create_dir_all(&backup).map_err(io(&backup))?;
    let lock_text = new_lock.render();
    let journal = Journal {
        target: target.to_path_buf(),
        moves: changes
            .iter()
            .filter(|c| {
                matches!(
                    c.action,
                    Action::Install | Action::Upgrade | Action::Downgrade
                )
            })
            .map(|c| (c.name.clone(), entry_exists(&target.join(&c.name))))
            .collect(),
        removals: changes
            .iter()
            .filter(|c| c.action == Action::Remove)
            .map(|c| c.name.clone())
            .collect(),
        new_lock_sha256: sha256_hex(lock_text.as_bytes()),
    };
    atomic_write(
        &jpath,
        &serde_json::to_vec(&journal).expect("journal serializes"),
    )?;
    for (name, had_old) in &journal.moves {
        if *had_old {
            std::fs::rename(target.join(name), backup.join(name)).map_err(io(target))?;
        }
        std::fs::rename(staging.join("new").join(name), target.join(name)).map_err(io(target))?;
        fault_delay();
    }
    for name in &journal.removals {
        if entry_exists(&target.join(name)) {
            std::fs::rename(target.join(name), backup.join(name)).map_err(io(target))?;
        }
    }
    sync_dir(target);
    atomic_write(&Lockfile::path(target), lock_text.as_bytes())?; // the commit point
    std::fs::remove_file(&jpath).map_err(io(&jpath))?;
    sync_dir(journal_dir);
    remove_staging(&staging);
    Ok(())
}

/// Removes the staging directory `path` (a child of a target). A link there is
/// removed itself, never followed; `remove_dir_all` does not follow the links
/// inside a directory either.
fn remove_staging(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Whether a transaction on `target` was interrupted and not yet recovered.
fn pending_transaction(journal_dir: &Path, target: &Path) -> Result<bool> {
    Ok(entry_exists(&journal_path(journal_dir, target)?)
        || entry_exists(&target.join(LEGACY_JOURNAL)))
}

/// Finishes or undoes a transaction a previous run left behind. Callers hold
/// the target lock, so no live writer owns what this removes.
///
/// It touches only direct children of `target`: the staging directory (always
/// `.ggen-staging`, or an older version's `.ggen-staging-*`), ggen's own temp
/// files, and packages the journal names, each name checked first. The journal
/// is the user's own file (in `journal_dir`); a journal found inside the
/// target, where older versions kept it, is refused rather than believed.
pub fn recover(journal_dir: &Path, target: &Path) -> Result<()> {
    ggen_marketplace_core::fsutil::remove_stale_temp_files(target);
    let legacy = target.join(LEGACY_JOURNAL);
    if entry_exists(&legacy) {
        return Err(untrusted(
            &legacy,
            "it is a transaction journal inside the target directory, where this ggen never writes one (older versions did, and so could anyone who prepared this directory). If an older ggen was interrupted here, finish with that version; otherwise delete the file",
        ));
    }
    let jpath = journal_path(journal_dir, target)?;
    let staging = target.join(STAGING);
    let meta = match std::fs::symlink_metadata(&jpath) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Staging dirs of runs killed before their journal hold nothing of value.
            remove_staging(&staging);
            if let Ok(entries) = std::fs::read_dir(target) {
                for e in entries.flatten() {
                    if e.file_name()
                        .to_string_lossy()
                        .starts_with(LEGACY_STAGING_PREFIX)
                    {
                        remove_staging(&e.path());
                    }
                }
            }
            return Ok(());
        }
        Err(e) => return Err(MarketplaceError::io(&jpath, e).into()),
    };
    if !meta.is_file() {
        return Err(untrusted(&jpath, "it is not a regular file"));
    }
    let text = crate::lockfile::read_capped(&jpath, MAX_JOURNAL_BYTES)
        .map_err(|e| untrusted(&jpath, &e.to_string()))?;
    // The journal is written atomically, so it is whole or absent: one that
    // does not parse was not written by ggen.
    let journal: Journal = serde_json::from_str(&text)
        .map_err(|e| untrusted(&jpath, &format!("it is not a journal ggen writes ({e})")))?;
    journal
        .check()
        .map_err(|reason| untrusted(&jpath, &reason))?;
    if ggen_marketplace_core::fsutil::is_symlink(&staging) {
        return Err(untrusted(
            &staging,
            "it is a symbolic link where ggen keeps its staging directory; remove it",
        ));
    }
    let backup = staging.join(".backup");
    // Past the commit point the lockfile on disk is exactly the new one.
    let committed = !ggen_marketplace_core::fsutil::is_symlink(&Lockfile::path(target))
        && std::fs::read(Lockfile::path(target))
            .is_ok_and(|l| sha256_hex(&l) == journal.new_lock_sha256);
    if !committed {
        tracing::warn!(target = %target.display(), "rolling back an interrupted install");
        for (name, had_old) in journal.moves.iter().rev() {
            let staged_new = staging.join("new").join(name);
            let placed = target.join(name);
            if !entry_exists(&staged_new) && entry_exists(&placed) {
                std::fs::rename(&placed, &staged_new).map_err(io(target))?;
            }
            if *had_old && entry_exists(&backup.join(name)) {
                std::fs::rename(backup.join(name), &placed).map_err(io(target))?;
            }
        }
        for name in &journal.removals {
            if entry_exists(&backup.join(name)) && !entry_exists(&target.join(name)) {
                std::fs::rename(backup.join(name), target.join(name)).map_err(io(target))?;
            }
        }
    }
    sync_dir(target);
    std::fs::remove_file(&jpath).map_err(io(&jpath))?;
    sync_dir(journal_dir);
    remove_staging(&staging);
    Ok(())
}
