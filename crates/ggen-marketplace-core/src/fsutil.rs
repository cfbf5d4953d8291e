//! Crash-safe file writes and the registry's writer lock.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{MarketplaceError, Result};

/// Prefix of the temp files [`atomic_write`] creates. A process killed between
/// creating one and renaming it leaves it behind; it holds nothing of value and
/// [`remove_stale_temp_files`] clears it.
pub const TEMP_PREFIX: &str = ".ggen-tmp-";

/// How old a temp file must be before cleanup even looks at it: it covers the
/// moment between a writer creating its temp file and locking it.
const TEMP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes temp files that killed writers left in `dir` (not recursive).
///
/// Several writers share a directory under different locks (the V1 index,
/// `tokens.json`, `owners.json` all live in the registry directory), so a
/// temp file may belong to a live writer of another file. Every writer holds
/// an exclusive lock on its temp file until the rename; the kernel drops it
/// when the writer dies. Only unlocked temp files past a minute go.
pub fn remove_stale_temp_files(dir: &Path) {
    remove_temp_files(dir, TEMP_GRACE);
}

/// Removes every unlocked temp file in `dir` (not recursive), however new:
/// for a directory only writers holding a lock the caller holds write in
/// (a project under update), where a temp file with no live writer's lock
/// on it is a killed writer's.
pub fn remove_dead_temp_files(dir: &Path) {
    remove_temp_files(dir, std::time::Duration::ZERO);
}

fn remove_temp_files(dir: &Path, grace: std::time::Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let old_enough = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= grace);
        if !old_enough {
            continue;
        }
        let mut opts = OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW);
        }
        let Ok(file) = opts.open(e.path()) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `path` so that readers see either the old or the new file,
/// never a mix: temp file in the same directory, fsync, rename, fsync the directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, None)
}

/// [`atomic_write`], the file given Unix permission bits `mode` before it is
/// renamed into place, so it never exists with others (ignored elsewhere).
pub fn atomic_write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_replacing(path, bytes, Some(mode))
}

fn write_replacing(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| MarketplaceError::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| MarketplaceError::io(dir, e))?;
    // Tells `remove_stale_temp_files` in other processes this writer lives.
    tmp.as_file()
        .lock()
        .map_err(|e| MarketplaceError::io(tmp.path(), e))?;
    tmp.write_all(bytes)
        .map_err(|e| MarketplaceError::io(tmp.path(), e))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| MarketplaceError::io(tmp.path(), e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file()
        .sync_all()
        .map_err(|e| MarketplaceError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| MarketplaceError::io(path, e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Whether `path` itself is a symbolic link (not followed).
pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Whether anything (a file, a directory, a link, even a dangling one) is at
/// `path`, without following a link there. `Path::exists` follows links, so a
/// dangling link planted in a target directory would read as absent.
pub fn entry_exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Files [`sync_files`] keeps open before it syncs them: well under the
/// common limit of 1024 open descriptors.
pub const SYNC_BATCH: usize = 256;
/// Threads [`sync_files`] syncs on at once.
const SYNC_THREADS: usize = 8;

/// Makes written files durable, several `fsync`s at once. One after another,
/// each waits for its own write and flush; in flight together, the disk takes
/// them as one queue: see BENCHMARKS.md, "Installs with their fsyncs in
/// flight together", for what it saves an install. Every file is still synced
/// before this returns, so a commit written afterwards never names a file a
/// crash could lose. Threads rather than `sync_file_range` (what dpkg uses to
/// start writeback early), which needs `unsafe` and is Linux-only.
pub fn sync_files(files: Vec<(PathBuf, File)>) -> Result<()> {
    if files.len() <= 1 {
        for (path, f) in &files {
            f.sync_all().map_err(|e| MarketplaceError::io(path, e))?;
        }
        return Ok(());
    }
    let per_thread = files.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    for (path, f) in chunk {
                        f.sync_all().map_err(|e| MarketplaceError::io(path, e))?;
                    }
                    Ok(())
                })
            })
            .collect();
        // The scope joins any worker left when one reports an error.
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("an fsync thread panicked"))
    })
}

/// Makes a rename durable. Best effort: some filesystems refuse to open directories.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// An exclusive advisory lock on a file, held until dropped. Writers to a registry
/// take it so that concurrent processes serialise instead of interleaving.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Opens (creating it and its directory if needed) the file to lock. A
    /// symbolic link at `path` is refused rather than followed: lock files
    /// live in directories others may have prepared (an install target), and
    /// opening a planted link with `create` would make a file wherever it points.
    fn open(path: &Path) -> Result<File> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| MarketplaceError::io(dir, e))?;
        }
        let mut opts = OpenOptions::new();
        opts.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW);
        }
        opts.open(path).map_err(|e| {
            if is_symlink(path) {
                MarketplaceError::io(
                    path,
                    std::io::Error::other(
                        "is a symbolic link; ggen does not follow links it did not make. Remove it and retry",
                    ),
                )
            } else {
                MarketplaceError::io(path, e)
            }
        })
    }

    /// An exclusive lock on the directory `dir` itself, leaving no lock file
    /// in it: for directories that are not ggen's own (an install target),
    /// where a user sees every file ggen adds. `flock` on the directory's own
    /// descriptor; elsewhere than Unix, a `.ggen.lock-guard` file inside it.
    pub fn directory(dir: &Path) -> Result<Self> {
        #[cfg(unix)]
        {
            let file = File::open(dir).map_err(|e| MarketplaceError::io(dir, e))?;
            file.lock().map_err(|e| MarketplaceError::io(dir, e))?;
            Ok(Self {
                file,
                path: dir.to_path_buf(),
            })
        }
        #[cfg(not(unix))]
        {
            Self::exclusive(&dir.join(".ggen.lock-guard"))
        }
    }

    /// Takes the lock at `path`, waiting for other holders.
    pub fn exclusive(path: &Path) -> Result<Self> {
        let file = Self::open(path)?;
        file.lock().map_err(|e| MarketplaceError::io(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Like [`Self::exclusive`] but without waiting: `None` while another
    /// process (or another handle in this one) holds the lock.
    pub fn try_exclusive(path: &Path) -> Result<Option<Self>> {
        let file = Self::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self {
                file,
                path: path.to_path_buf(),
            })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(MarketplaceError::io(path, e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// A POSIX record lock (`fcntl`) on a whole existing file, held until dropped:
/// the kind RocksDB takes on its `LOCK` file, which a [`FileLock`] (`flock`)
/// does not exclude. Holding it keeps RocksDB writers out of a store that
/// this process reads without writing.
///
/// POSIX locks belong to the process and go when any of its descriptors of
/// the file closes, so a process must not open the file elsewhere while it
/// holds one.
#[cfg(unix)]
#[derive(Debug)]
pub struct RecordLock {
    _file: File,
}

#[cfg(unix)]
impl RecordLock {
    /// Takes a write lock on `path` without waiting: `None` while another
    /// process holds a lock on it. The file is opened for writing (a write
    /// lock needs that) but never written, and never created.
    pub fn try_exclusive(path: &Path) -> Result<Option<Self>> {
        use rustix::fs::{FlockOperation, fcntl_lock};
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| MarketplaceError::io(path, e))?;
        match fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(e) if e == rustix::io::Errno::ACCESS || e == rustix::io::Errno::AGAIN => Ok(None),
            Err(e) => Err(MarketplaceError::io(path, e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store's `LOCK` planted as a link (a hostile home) is refused, not
    /// followed: the file it points at is not opened for writing or locked.
    #[cfg(unix)]
    #[test]
    fn a_record_lock_refuses_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"someone else's").unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("LOCK")).unwrap();
        assert!(RecordLock::try_exclusive(&dir.path().join("LOCK")).is_err());
        assert_eq!(fs::read(&outside).unwrap(), b"someone else's");
        // A real file is locked, and a missing one is an error, never created.
        let real = dir.path().join("REAL");
        fs::write(&real, b"").unwrap();
        assert!(RecordLock::try_exclusive(&real).unwrap().is_some());
        assert!(RecordLock::try_exclusive(&dir.path().join("MISSING")).is_err());
        assert!(!dir.path().join("MISSING").exists());
    }

    #[test]
    fn cleanup_spares_a_live_writers_temp_file_and_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let make = |name: &str, age: Option<std::time::SystemTime>| {
            let path = dir.path().join(format!("{TEMP_PREFIX}{name}"));
            let f = File::create(&path).unwrap();
            if let Some(t) = age {
                f.set_modified(t).unwrap();
            }
            (path, f)
        };
        let (dead, _) = make("dead", Some(hour_ago));
        let (live, live_file) = make("live", Some(hour_ago));
        live_file.lock().unwrap(); // a writer of another file, still at work
        let (fresh, _) = make("fresh", None);
        let kept = dir.path().join("index.json");
        fs::write(&kept, b"{}").unwrap();

        remove_stale_temp_files(dir.path());
        assert!(!dead.exists(), "a dead writer's temp file stays");
        assert!(live.exists(), "a live writer's temp file was taken from it");
        assert!(
            fresh.exists(),
            "a temp file inside the grace time was taken"
        );
        assert!(kept.exists());
        drop(live_file);
        remove_stale_temp_files(dir.path());
        assert!(!live.exists(), "the lock died with its writer");
    }

    #[test]
    fn dead_temp_files_go_at_once_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(format!("{TEMP_PREFIX}dead"));
        File::create(&dead).unwrap();
        let live = dir.path().join(format!("{TEMP_PREFIX}live"));
        let live_file = File::create(&live).unwrap();
        live_file.lock().unwrap();
        let kept = dir.path().join("README.md");
        fs::write(&kept, b"mine").unwrap();
        remove_dead_temp_files(dir.path());
        assert!(!dead.exists(), "a fresh temp file no one locks stays");
        assert!(live.exists(), "a live writer's temp file was taken from it");
        assert!(kept.exists());
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/index.json");
        atomic_write(&p, b"first").unwrap();
        atomic_write(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        // No temp files left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_lock_excludes_a_second_holder_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = FileLock::directory(dir.path()).unwrap();
        let second = File::open(dir.path()).unwrap();
        assert!(matches!(
            second.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(first);
        second.try_lock().unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_planted_as_a_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let planted = dir.path().join("target/.lock");
        fs::create_dir_all(planted.parent().unwrap()).unwrap();
        // A dangling link: following it with O_CREAT would create `outside/made`.
        std::os::unix::fs::symlink(outside.join("made"), &planted).unwrap();
        let err = FileLock::exclusive(&planted).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!outside.join("made").exists());
        assert!(!entry_exists(&outside.join("made")));
        assert!(entry_exists(&planted) && !planted.exists());
    }
}
