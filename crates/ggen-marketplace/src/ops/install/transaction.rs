//! The install transaction: a journal of what moves, the move, the commit
//! point (the new `ggen.lock`), and recovery of a run that was cut short.
//!
//! The journal lives in the user's own ggen home (keyed by the target's
//! path), never in the target, where anyone could plant one; the staging
//! directory is always `TARGET/.ggen-staging`, derived, never read from a
//! file; every name is validated before it becomes a path; and links are
//! never followed (entries are looked at with `lstat`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ggen_marketplace_core::MarketplaceError;
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::{atomic_write, entry_exists, sync_dir};
use serde::{Deserialize, Serialize};

use super::{Action, Change};
use crate::error::{Error, Result};
use crate::ops::lockfile::Lockfile;

/// Where older ggen versions kept their journal, inside the target. Such a
/// file is never believed: it makes the command stop and say so.
const LEGACY_JOURNAL: &str = ".ggen-txn.json";
/// The staging directory, always this child of the target.
pub(super) const STAGING: &str = ".ggen-staging";
/// Staging directories of older ggen versions (`.ggen-staging-XXXXXX`).
const LEGACY_STAGING_PREFIX: &str = ".ggen-staging-";
/// A journal is a few names; anything larger was not written by ggen.
const MAX_JOURNAL_BYTES: u64 = 4 * 1024 * 1024;

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
    Ok(crate::ops::journal_stem(journal_dir, target, "")?.with_extension("json"))
}

fn untrusted(path: &Path, reason: &str) -> Error {
    Error::Setup(format!(
        "{} cannot be used: {reason}. Nothing was changed",
        path.display()
    ))
}

/// The staging directory of a run that has not reached [`commit`]'s journal:
/// removed when dropped (an error, a refusal), since nothing moved yet.
pub(super) struct Staged(pub(super) Option<PathBuf>);

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

pub(super) fn commit(
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
        crate::config::env::fault_pause();
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
pub(super) fn remove_staging(path: &Path) {
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
pub(super) fn pending_transaction(journal_dir: &Path, target: &Path) -> Result<bool> {
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
    let text = crate::ops::lockfile::read_capped(&jpath, MAX_JOURNAL_BYTES)
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

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| MarketplaceError::io(path, e).into()
}
