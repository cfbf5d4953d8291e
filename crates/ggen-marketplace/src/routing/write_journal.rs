//! Dual writes that survive a kill between the two backends.
//!
//! Before a dual write touches either backend it leaves an intent in
//! `<home>/pending-writes/<pid>-<nanos>.json`, locked by its `.lock` twin, and
//! removes both once the write is over (whatever its outcome). An intent whose
//! lock is free belongs to a process that died mid-write; the next dual write,
//! `migrate` or `verify-migration` completes it: a version that either backend
//! holds is copied to the other, and a yank follows the backend written first.
//! Nothing is undone, so a publish that reached either store is never lost.
//! (Errors the writer saw and handled itself go to `dual-write-gaps.jsonl`
//! instead; see [`crate::routing::dual`].)

use std::path::{Path, PathBuf};

use ggen_marketplace_core::fsutil::{FileLock, sync_dir};
use ggen_marketplace_core::model::PackageVersion;
use ggen_marketplace_core::{BackendKind, MarketplaceBackend, MarketplaceError, Result};
use semver::Version;
use serde::{Deserialize, Serialize};

pub const DIR: &str = "pending-writes";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Write {
    Publish,
    Yank,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub write: Write,
    pub name: String,
    pub version: Version,
    /// The backend the writer went to first.
    pub first: BackendKind,
}

/// A write under way; dropping it (write finished, whatever the outcome)
/// removes the intent.
#[derive(Debug)]
pub struct Pending {
    json: PathBuf,
    lock: Option<FileLock>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.json);
        if let Some(lock) = self.lock.take() {
            let path = lock.path().to_path_buf();
            let _ = std::fs::remove_file(&path);
            drop(lock);
        }
    }
}

/// Records `intent` before the first backend is written.
pub fn begin(home: &Path, intent: &Intent) -> Result<Pending> {
    let dir = home.join(DIR);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let stem = format!("{}-{nanos}", std::process::id());
    // Lock first: an intent file is never visible without its lock held.
    let lock = FileLock::exclusive(&dir.join(format!("{stem}.lock")))?;
    let json = dir.join(format!("{stem}.json"));
    let body = serde_json::to_vec(intent).expect("an intent serializes");
    // Not `atomic_write`: its temp file has a random name, and a writer killed
    // before the rename would leave one here that no reader can tell from a
    // live writer's. `<stem>.partial` is covered by `<stem>.lock`, so
    // `recover` removes it once that lock is free.
    let partial = dir.join(format!("{stem}.partial"));
    let written = (|| {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&partial)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&partial, &json)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(MarketplaceError::io(&json, e));
    }
    sync_dir(&dir);
    Ok(Pending {
        json,
        lock: Some(lock),
    })
}

/// Completes the writes of processes that died mid-way. Returns how many were
/// completed; an intent that cannot be completed now (a backend is down, a
/// record is damaged) is kept for the next attempt with a warning, and the
/// others are still tried.
pub fn recover(
    home: &Path,
    v1: &dyn MarketplaceBackend,
    v2: &dyn MarketplaceBackend,
) -> Result<usize> {
    let dir = home.join(DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let mut done = 0;
    for entry in entries.flatten() {
        let json = entry.path();
        if json.extension().and_then(|e| e.to_str()) == Some("lock")
            && !json.with_extension("json").exists()
        {
            // A lock whose writer died before writing its record (or between
            // the two removals): garbage once nobody holds it.
            if let Ok(Some(_free)) = FileLock::try_exclusive(&json) {
                let _ = std::fs::remove_file(&json);
            }
            continue;
        }
        if json.extension().and_then(|e| e.to_str()) == Some("partial") {
            // A record whose writer died before renaming it into place.
            let lock_path = json.with_extension("lock");
            if let Ok(Some(_free)) = FileLock::try_exclusive(&lock_path) {
                let _ = std::fs::remove_file(&json);
                let _ = std::fs::remove_file(&lock_path);
            }
            continue;
        }
        if json.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let lock_path = json.with_extension("lock");
        // Held: its writer is alive and will clean up after itself.
        let Some(lock) = FileLock::try_exclusive(&lock_path)? else {
            continue;
        };
        let bytes = match std::fs::read(&json) {
            Ok(b) => b,
            // Finished (and removed) while we were looking.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(&lock_path);
                continue;
            }
            Err(e) => return Err(MarketplaceError::io(&json, e)),
        };
        let intent: Intent = match serde_json::from_slice(&bytes) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(
                    "{} is not a pending-write record ({e}); remove it once `ggen marketplace verify-migration` agrees",
                    json.display()
                );
                continue;
            }
        };
        if let Err(e) = complete(&intent, v1, v2) {
            tracing::warn!(
                write = ?intent.write,
                package = %intent.name,
                version = %intent.version,
                error = %e,
                "an interrupted dual write could not be completed yet; it is kept for the next attempt"
            );
            continue;
        }
        tracing::warn!(
            write = ?intent.write,
            package = %intent.name,
            version = %intent.version,
            "completed a dual write interrupted by a crash"
        );
        let _ = std::fs::remove_file(&json);
        let _ = std::fs::remove_file(&lock_path);
        drop(lock);
        done += 1;
    }
    Ok(done)
}

fn find(
    b: &dyn MarketplaceBackend,
    name: &str,
    version: &Version,
) -> Result<Option<PackageVersion>> {
    match b.versions(name) {
        Ok(vs) => Ok(vs.into_iter().find(|v| &v.version == version)),
        Err(MarketplaceError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn complete(
    intent: &Intent,
    v1: &dyn MarketplaceBackend,
    v2: &dyn MarketplaceBackend,
) -> Result<()> {
    let (first, second) = match intent.first {
        BackendKind::V1 => (v1, v2),
        BackendKind::V2 => (v2, v1),
    };
    let a = find(first, &intent.name, &intent.version)?;
    let b = find(second, &intent.name, &intent.version)?;
    match (intent.write, a, b) {
        (Write::Publish, Some(v), None) => copy(first, second, &v),
        (Write::Publish, None, Some(v)) => copy(second, first, &v),
        (Write::Yank, Some(x), Some(y)) if x.yanked != y.yanked => {
            second.yank(&intent.name, &intent.version, x.yanked)
        }
        _ => Ok(()),
    }
}

fn copy(
    from: &dyn MarketplaceBackend,
    to: &dyn MarketplaceBackend,
    v: &PackageVersion,
) -> Result<()> {
    let archive = from.fetch_archive(&v.name, &v.version)?;
    to.publish(v, &archive)
}
