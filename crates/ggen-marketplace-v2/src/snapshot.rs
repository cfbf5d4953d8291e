//! Sharing the term index across a fleet. A new server (or one whose index
//! is gone or too far behind for the change feed) would otherwise rebuild
//! its index from the whole graph, which at 100k packages is minutes of the
//! endpoint's time (BENCHMARKS.md). Instead, servers whose graph is on an
//! endpoint and whose archives are in shared object storage save their
//! index there now and then, as content-addressed segments, and record it
//! in the graph (`store::snapshots`); a server without a usable index
//! downloads the newest, checks it, and catches up from the feed.
//!
//! The graph vouches for the bytes, as its checksums do for archives: a
//! segment that does not hash to its entry's digest, does not load, is of
//! another generation than its entry says, or of another history than the
//! feed's, is refused, and the next entry or a rebuild follows. What a
//! snapshot can never do is put something in the index that the graph and
//! feed do not: a server that writes to both could, but it could write the
//! registry itself too.
//!
//! When: after every rebuild (the usual way a fleet's first index is made),
//! and whenever a server's index is [`SAVE_EVERY`] generations past the
//! newest entry, so a new server catches up at most about that many, well
//! inside the feed's [`FEED_KEEP`]. The base segment changes only when a
//! delta is merged into it, and an unchanged one is not uploaded again.
//! Saving is best effort: a failure is logged and the index in use is not
//! affected.

use std::io::Read;
use std::sync::Mutex;

use ggen_marketplace_core::Result;
use ggen_marketplace_core::blobs::BlobKey;
use ggen_marketplace_core::checksum::VerifyingReader;

use crate::V2Backend;
use crate::store::{FEED_KEEP, GraphStore, IndexSnapshot};
use crate::terms::TermIndex;

/// How far past the newest saved index a server's index gets before the
/// server saves it: a quarter of the feed, so that a new server starting
/// from the newest can always catch up from the feed.
pub const SAVE_EVERY: u64 = FEED_KEEP / 4;

/// The largest segment accepted from the object store: about fifteen
/// times the base segment of 100k packages (~70 MB).
const MAX_SEGMENT_BYTES: u64 = 1 << 30;

/// What this backend knows of the endpoint's saved indexes.
#[derive(Debug, Default)]
pub(crate) struct SnapshotsSeen {
    /// The newest entry's generation and base, when one has been read or saved.
    newest: Mutex<Option<(u64, BlobKey)>>,
}

impl SnapshotsSeen {
    fn note(&self, s: &IndexSnapshot) {
        let mut newest = self.newest.lock().expect("snapshots lock");
        if newest.as_ref().is_none_or(|(g, _)| *g <= s.generation) {
            *newest = Some((s.generation, s.base.clone()));
        }
    }

    fn generation(&self) -> Option<u64> {
        self.newest
            .lock()
            .expect("snapshots lock")
            .as_ref()
            .map(|(g, _)| *g)
    }

    fn base(&self) -> Option<BlobKey> {
        self.newest
            .lock()
            .expect("snapshots lock")
            .as_ref()
            .map(|(_, b)| b.clone())
    }
}

impl V2Backend {
    /// Whether this backend shares its term index: its graph is on an
    /// endpoint, its archives are in a store other machines see, and it may
    /// write.
    fn shares_index(&self) -> bool {
        !self.read_only
            && self.blobs.shared()
            && matches!(self.store.get(), Some(GraphStore::Remote(_)))
    }

    /// The newest saved index that checks out, brought to `generation`
    /// (and saved locally); `None` when there is none to start from.
    pub(crate) fn start_from_snapshot(&self, generation: u64) -> Result<Option<TermIndex>> {
        if !self.shares_index() {
            return Ok(None);
        }
        let saved = self.store()?.index_snapshots()?;
        for s in &saved {
            self.snapshots.note(s);
        }
        for s in saved.iter().filter(|s| s.generation <= generation) {
            let ix = match self.download(s) {
                Ok(ix) => ix,
                Err(reason) => {
                    tracing::warn!(generation = s.generation, base = s.base.as_str(), %reason, "a saved term index was refused; trying the next, then a rebuild");
                    continue;
                }
            };
            let ix = if ix.generation() == generation {
                // Nothing to catch up on; the feed must still vouch for its history.
                let head = self.store()?.changes_since(generation)?;
                if ix.head().is_none() || head.head_at(generation) != ix.head() {
                    tracing::warn!(
                        generation,
                        "a saved term index is of another history; not used"
                    );
                    continue;
                }
                if let Some(dir) = &self.terms_dir {
                    ix.save(dir)?;
                }
                ix
            } else {
                match self.catch_up(&ix, generation)? {
                    Some(ix) => ix,
                    None => continue,
                }
            };
            self.refreshes.started_from_snapshot();
            tracing::info!(
                from = s.generation,
                to = generation,
                packages = ix.len(),
                "v2 term index started from one another server saved"
            );
            return Ok(Some(ix));
        }
        Ok(None)
    }

    /// The index an entry names, each segment checked against its digest.
    fn download(&self, s: &IndexSnapshot) -> std::result::Result<TermIndex, String> {
        let base = self.read_segment(&s.base)?;
        let delta = match &s.delta {
            Some(k) => Some(self.read_segment(k)?),
            None => None,
        };
        let ix = TermIndex::from_segments(base, delta, &self.blobs.locate(&s.base))?;
        if ix.generation() != s.generation {
            return Err(format!(
                "it is of generation {}, not the {} its entry says",
                ix.generation(),
                s.generation
            ));
        }
        Ok(ix)
    }

    fn read_segment(&self, key: &BlobKey) -> std::result::Result<Vec<u8>, String> {
        let stream = self
            .blobs
            .get(key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "{} is not in the object store",
                    self.blobs.locate(key).display()
                )
            })?;
        let mut bytes = Vec::new();
        VerifyingReader::new(stream, key.as_str())
            .take(MAX_SEGMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {e}", self.blobs.locate(key).display()))?;
        if bytes.len() as u64 > MAX_SEGMENT_BYTES {
            return Err(format!(
                "{} is over {MAX_SEGMENT_BYTES} bytes",
                self.blobs.locate(key).display()
            ));
        }
        Ok(bytes)
    }

    /// Saves `ix` for other servers to start from when it is due: always
    /// after a rebuild (`rebuilt`), else once it is [`SAVE_EVERY`]
    /// generations past the newest saved. Failures are logged, not returned.
    pub(crate) fn share_if_due(&self, ix: &TermIndex, rebuilt: bool) {
        if !self.shares_index() {
            return;
        }
        let due = |newest: Option<u64>| {
            rebuilt || newest.is_none_or(|g| ix.generation() >= g + SAVE_EVERY)
        };
        if !due(self.snapshots.generation()) {
            return;
        }
        if let Err(e) = self.share(ix, rebuilt, &due) {
            tracing::warn!(error = %e, generation = ix.generation(), "could not save the term index for other servers; they rebuild theirs instead");
        }
    }

    fn share(
        &self,
        ix: &TermIndex,
        rebuilt: bool,
        due: &dyn Fn(Option<u64>) -> bool,
    ) -> Result<()> {
        let store = self.store()?;
        // Another server may have saved one since this one last looked.
        for s in store.index_snapshots()? {
            self.snapshots.note(&s);
        }
        if !due(self.snapshots.generation()) {
            return Ok(());
        }
        let (base, delta) = ix.to_segments().map_err(|e| {
            ggen_marketplace_core::MarketplaceError::Other(format!("term index: {e}"))
        })?;
        let base_key = BlobKey::index_segment_of(&base);
        // An unchanged base is already there (and was checked by whoever
        // started from it); a rebuild uploads its own, which may replace
        // a damaged object.
        if rebuilt || self.snapshots.base().as_ref() != Some(&base_key) {
            self.blobs.put(&base_key, &base)?;
        }
        let delta_key = match delta {
            Some(bytes) => {
                let key = BlobKey::index_segment_of(&bytes);
                self.blobs.put(&key, &bytes)?;
                Some(key)
            }
            None => None,
        };
        let entry = IndexSnapshot {
            generation: ix.generation(),
            base: base_key,
            delta: delta_key,
        };
        store.record_index_snapshot(&entry)?;
        self.snapshots.note(&entry);
        self.refreshes.snapshot_saved();
        tracing::info!(
            generation = entry.generation,
            base_bytes = base.len(),
            "v2 term index saved for other servers to start from"
        );
        Ok(())
    }
}
