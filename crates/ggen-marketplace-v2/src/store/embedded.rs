//! Opening the embedded RocksDB store: RocksDB admits one process at a time,
//! so an open waits its turn for a store another process holds, and a
//! read-only open (a dry run) holds writers off while it reads.
//!
//! Beside the store, `store.generation` tells readers whether they need to
//! open it at all. Every write marks it `dirty` (durably) before touching the
//! store and `clean N` once the store is at generation `N`. A reader that finds
//! `clean N` and a term index built from generation `N` answers from the index
//! without opening RocksDB: opening it read-write was about half of a search
//! process's time, and it admits one process at a time. Anything else (a
//! write in progress, a writer killed mid-way, no marker, a marker that does
//! not parse) means: open the store and ask it. A process that writes the
//! store without maintaining the marker (an older ggen) moves the store and
//! its term index past the marker's `N`, which readers then notice; only such
//! a process killed between its store write and its index write goes unseen,
//! until the next write or `ggen marketplace rebuild-index`.

use std::path::Path;

use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::store::{StorageError, Store};

use super::{BACKEND, GraphStore};

impl GraphStore {
    /// Opens (creating if needed) a RocksDB store in `path`. RocksDB admits one
    /// process at a time, so a locked store is retried for up to `wait` before
    /// it is reported as [`MarketplaceError::Unavailable`] (callers then fall
    /// back to V1).
    pub fn embedded(path: &Path, wait: std::time::Duration) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(|e| MarketplaceError::io(path, e))?;
        waiting_turn(path, wait, || match Store::open(path) {
            Ok(store) => Ok(Some(GraphStore::Embedded {
                store,
                path: path.to_path_buf(),
                #[cfg(unix)]
                _writers_out: None,
            })),
            Err(e) => match open_error(path, &e) {
                MarketplaceError::Unavailable { .. } => Ok(None),
                other => Err(other),
            },
        })
    }

    /// Opens the existing RocksDB store in `path` without writing a byte to
    /// it (a dry run). RocksDB's read-only mode is unsafe while another
    /// process writes, so the store's own `LOCK` is held for as long as this
    /// is open: writers wait for it as for any other process, and this waits
    /// up to `wait` for a writer to finish.
    pub fn embedded_read_only(path: &Path, wait: std::time::Duration) -> Result<Self> {
        if !path.join("CURRENT").is_file() {
            return Err(MarketplaceError::Unavailable {
                backend: BACKEND.into(),
                reason: format!(
                    "there is no store at {} yet, and a read-only open does not create one",
                    path.display()
                ),
            });
        }
        #[cfg(unix)]
        {
            use ggen_marketplace_core::fsutil::RecordLock;
            waiting_turn(path, wait, || {
                let Some(lock) = RecordLock::try_exclusive(&path.join("LOCK"))? else {
                    return Ok(None);
                };
                let store = Store::open_read_only(path).map_err(|e| open_error(path, &e))?;
                Ok(Some(GraphStore::Embedded {
                    store,
                    path: path.to_path_buf(),
                    _writers_out: Some(lock),
                }))
            })
        }
        #[cfg(not(unix))]
        Self::embedded(path, wait)
    }
}

/// The marker file of the store at `path`.
fn marker_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("generation")
}

const DIRTY: &[u8] = b"dirty\n";

impl GraphStore {
    /// The generation the marker beside the store at `path` vouches for:
    /// `Some(N)` only for a well-formed `clean N`.
    pub fn marked_generation(path: &Path) -> Option<u64> {
        let text = std::fs::read(marker_path(path)).ok()?;
        let text = std::str::from_utf8(&text).ok()?;
        let n = text.strip_prefix("clean ")?.strip_suffix('\n')?;
        // `parse` takes a leading `+`; the marker is only ever digits.
        n.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
        n.parse().ok()
    }

    /// Marks an embedded store as being written, before the write: readers
    /// open the store until [`Self::mark_clean`]. A marker that cannot be
    /// written stops the write, since readers could otherwise miss it.
    pub(super) fn mark_dirty(&self) -> Result<()> {
        if let Self::Embedded { path, .. } = self {
            ggen_marketplace_core::fsutil::atomic_write(&marker_path(path), DIRTY)?;
        }
        Ok(())
    }

    /// Marks an embedded store as settled at its current generation, after a
    /// write. The write itself is done by then, so a failure here is only
    /// logged: the marker stays dirty, and readers open the store.
    pub fn mark_clean(&self) {
        let Self::Embedded { path, .. } = self else {
            return;
        };
        let marked = self.generation().and_then(|n| {
            ggen_marketplace_core::fsutil::atomic_write(
                &marker_path(path),
                format!("clean {n}\n").as_bytes(),
            )
        });
        if let Err(e) = marked {
            tracing::warn!(error = %e, "could not mark the V2 store clean; reads will open the store until the next write");
        }
    }
}

/// Runs `attempt` until it gets the store (`Some`) or `wait` has passed while
/// another process held it (`None`): then the store is
/// [`MarketplaceError::Unavailable`].
///
/// One process at a time waits, the others queue on a lock beside the store:
/// without it, a stream of short commands (each opening the store as the
/// previous one exits) starves a waiter that polls. The wait counts from a
/// process's turn, so one queued behind others can wait longer in total.
fn waiting_turn<T>(
    path: &Path,
    wait: std::time::Duration,
    mut attempt: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let _turn = ggen_marketplace_core::fsutil::FileLock::exclusive(&path.with_extension("queue"))?;
    let started = std::time::Instant::now();
    let pause = std::time::Duration::from_millis(10);
    let mut told = false;
    loop {
        if let Some(store) = attempt()? {
            return Ok(store);
        }
        if started.elapsed() + pause > wait {
            return Err(MarketplaceError::Unavailable {
                backend: BACKEND.into(),
                reason: format!(
                    "the RocksDB store at {} is locked: another ggen process holds the store open (waited {} ms)",
                    path.display(),
                    wait.as_millis()
                ),
            });
        }
        if !told && started.elapsed() > std::time::Duration::from_millis(500) {
            tracing::warn!(
                "waiting for the V2 store at {} (another ggen process holds it)",
                path.display()
            );
            told = true;
        }
        std::thread::sleep(pause);
    }
}

fn open_error(path: &Path, e: &StorageError) -> MarketplaceError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("lock") {
        MarketplaceError::Unavailable {
            backend: BACKEND.into(),
            reason: format!(
                "the RocksDB store at {} is locked: another ggen process holds the store open ({text})",
                path.display()
            ),
        }
    } else {
        MarketplaceError::backend(
            BACKEND,
            format!("cannot open the store at {}: {text}", path.display()),
        )
    }
}
