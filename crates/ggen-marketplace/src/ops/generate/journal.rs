//! The update transaction: every file an update changes is backed up and
//! listed in a journal before the first one changes; the answers file is the
//! last write; deleting the journal is the commit point. A run cut short
//! before that is rolled back by the next `ggen update` on the project, so
//! the project is either as it was or fully updated.
//!
//! As for installs, the journal and the backups live in the user's own ggen
//! home (named after a digest of the project's canonical path), never in the
//! project, where anyone could plant one; every path in a journal is checked
//! again before it is used.

use std::fs;
use std::path::{Path, PathBuf};

use ggen_marketplace_core::MarketplaceError;
use ggen_marketplace_core::fsutil::{atomic_write, remove_dead_temp_files, sync_dir};
use ggen_template::{ANSWERS_FILE, check_output_path};
use serde::{Deserialize, Serialize};

use super::project;
use crate::error::{Error, Result};

/// A journal lists paths; anything larger was not written by ggen.
const MAX_JOURNAL_BYTES: u64 = 16 * 1024 * 1024;

/// One planned write: a path, its new bytes (`None` removes it).
pub(super) struct Write<'a> {
    pub path: &'a str,
    pub data: Option<&'a [u8]>,
    pub executable: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    /// For people reading it; never used as a path.
    project: PathBuf,
    entries: Vec<Entry>,
    /// Directories the update creates (outermost first), removed again on
    /// rollback when empty.
    created_dirs: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    path: String,
    /// The backup file's number, when the file existed before.
    backup: Option<usize>,
    executable: bool,
}

fn check_path(p: &str) -> std::result::Result<(), String> {
    if p == ANSWERS_FILE {
        Ok(())
    } else {
        check_output_path(p)
    }
}

fn locations(journal_dir: &Path, project: &Path) -> Result<(PathBuf, PathBuf)> {
    let stem = crate::ops::journal_stem(journal_dir, project, "project-")?;
    Ok((stem.with_extension("json"), stem.with_extension("backup")))
}

/// Whether an interrupted update of `project` awaits rollback.
pub(super) fn pending(journal_dir: &Path, project: &Path) -> Result<bool> {
    let (journal, _) = locations(journal_dir, project)?;
    Ok(journal.exists())
}

/// Rolls back an interrupted update of `project`, if there is one; returns
/// whether there was. The caller holds the project's lock.
pub(super) fn roll_back(journal_dir: &Path, project: &Path) -> Result<bool> {
    let (journal_path, backups) = locations(journal_dir, project)?;
    let meta = match fs::symlink_metadata(&journal_path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = fs::remove_dir_all(&backups);
            return Ok(false);
        }
        Err(e) => return Err(MarketplaceError::io(&journal_path, e).into()),
    };
    let broken = |why: String| {
        Error::Setup(format!(
            "the journal of an interrupted update of {}, {}, {why}; look at it and the backups in {}, then delete both",
            project.display(),
            journal_path.display(),
            backups.display()
        ))
    };
    if !meta.is_file() || meta.len() > MAX_JOURNAL_BYTES {
        return Err(broken("is not a journal ggen wrote".into()));
    }
    let text = fs::read(&journal_path).map_err(|e| MarketplaceError::io(&journal_path, e))?;
    let journal: Journal =
        serde_json::from_slice(&text).map_err(|e| broken(format!("is unreadable ({e})")))?;
    for p in journal
        .entries
        .iter()
        .map(|e| &e.path)
        .chain(&journal.created_dirs)
    {
        check_path(p).map_err(|why| broken(format!("names `{p}`, which {why}")))?;
    }
    for e in &journal.entries {
        match e.backup {
            Some(n) => {
                let b = backups.join(n.to_string());
                let data = fs::read(&b).map_err(|err| MarketplaceError::io(&b, err))?;
                project::write(project, &e.path, &data, e.executable)?;
            }
            None => project::remove(project, &e.path)?,
        }
    }
    // A write the kill cut short left its temp file beside its target: we
    // hold the project's lock, so no live writer's temp file is there.
    let mut dirs: Vec<PathBuf> = journal
        .entries
        .iter()
        .filter_map(|e| Path::new(&e.path).parent().map(|d| project.join(d)))
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        remove_dead_temp_files(d);
    }
    for d in journal.created_dirs.iter().rev() {
        // Only if empty: what the user put there since stays.
        let _ = fs::remove_dir(project.join(d));
    }
    fs::remove_file(&journal_path).map_err(|e| MarketplaceError::io(&journal_path, e))?;
    sync_dir(journal_dir);
    let _ = fs::remove_dir_all(&backups);
    tracing::info!(project = %project.display(), "rolled back an interrupted update");
    Ok(true)
}

/// Applies `writes` to `project` as one transaction (see the module docs).
/// `current` gives each path's bytes now, as the plan read them.
pub(super) fn apply(
    journal_dir: &Path,
    project: &Path,
    writes: &[Write<'_>],
    current: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<()> {
    let (journal_path, backups) = locations(journal_dir, project)?;
    let _ = fs::remove_dir_all(&backups);
    fs::create_dir_all(&backups).map_err(|e| MarketplaceError::io(&backups, e))?;
    let mut entries = Vec::new();
    let mut created_dirs: Vec<String> = Vec::new();
    for (n, w) in writes.iter().enumerate() {
        let backup = match current(w.path) {
            Some(old) => {
                atomic_write(&backups.join(n.to_string()), &old)?;
                Some(n)
            }
            None => None,
        };
        let executable = fs::symlink_metadata(project.join(w.path)).is_ok_and(|m| is_exec(&m));
        if w.data.is_some() {
            for d in project::missing_dirs(project, w.path)? {
                if !created_dirs.contains(&d) {
                    created_dirs.push(d);
                }
            }
        }
        entries.push(Entry {
            path: w.path.to_string(),
            backup,
            executable,
        });
    }
    let journal = Journal {
        project: project.to_path_buf(),
        entries,
        created_dirs,
    };
    atomic_write(
        &journal_path,
        &serde_json::to_vec_pretty(&journal).expect("a journal serializes"),
    )?;
    let applied = writes.iter().try_for_each(|w| {
        match w.data {
            Some(data) => project::write(project, w.path, data, w.executable)?,
            None => project::remove(project, w.path)?,
        }
        crate::config::env::fault_pause();
        Ok::<(), Error>(())
    });
    if let Err(e) = applied {
        if let Err(undo) = roll_back(journal_dir, project) {
            tracing::error!(error = %undo, "rolling back the failed update failed too");
        }
        return Err(e);
    }
    // The commit point.
    fs::remove_file(&journal_path).map_err(|e| MarketplaceError::io(&journal_path, e))?;
    sync_dir(journal_dir);
    let _ = fs::remove_dir_all(&backups);
    Ok(())
}

fn is_exec(m: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.is_file() && m.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        false
    }
}
