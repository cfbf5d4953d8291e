//! Bringing a term index up to a newer generation of the graph. When the
//! change feed (see `store::feed`) accounts for every generation in between,
//! only the packages those generations touched are read again; otherwise the
//! index is rebuilt from the whole graph. A registry server that shares an
//! endpoint with others is behind by a few generations after each of their
//! writes, so this is what keeps a fleet's per-write cost at the size of the
//! write rather than of the catalogue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ggen_marketplace_core::Result;
use oxigraph::model::NamedNode;

use crate::mapping::{Nodes, package_iri};
use crate::store::ChangesSince;
use crate::terms::{Doc, TermIndex};
use crate::{BATCH, V2Backend};

/// How a backend's term index has been brought up to date since it was
/// opened (`ggen registry serve` reports these as metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IndexRefreshes {
    /// Full rebuilds from the graph.
    pub rebuilt: u64,
    /// Starts from an index another server saved in the object store
    /// (each also counts as a catch-up when it had generations to catch up).
    pub from_snapshot: u64,
    /// Indexes this backend saved there for others to start from.
    pub snapshots_saved: u64,
    /// Catch-ups from the change feed.
    pub caught_up: u64,
    /// Packages read again by those catch-ups.
    pub packages_reread: u64,
    /// Time the catch-ups spent reading the feed and the packages it named.
    pub catch_up_read: Duration,
    /// Time they spent making the new term index in memory.
    pub catch_up_index: Duration,
    /// Time they spent saving it (`delta.bin`, and `index.bin` after a merge).
    pub catch_up_save: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct RefreshCounters {
    rebuilt: AtomicU64,
    from_snapshot: AtomicU64,
    snapshots_saved: AtomicU64,
    caught_up: AtomicU64,
    packages_reread: AtomicU64,
    /// Microseconds, as [`IndexRefreshes`]' durations.
    read_us: AtomicU64,
    index_us: AtomicU64,
    save_us: AtomicU64,
}

impl RefreshCounters {
    pub(crate) fn rebuilt(&self) {
        self.rebuilt.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn started_from_snapshot(&self) {
        self.from_snapshot.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot_saved(&self) {
        self.snapshots_saved.fetch_add(1, Ordering::Relaxed);
    }

    fn caught_up(&self, packages: usize, read: Duration, index: Duration, save: Duration) {
        self.caught_up.fetch_add(1, Ordering::Relaxed);
        self.packages_reread
            .fetch_add(packages as u64, Ordering::Relaxed);
        for (counter, d) in [
            (&self.read_us, read),
            (&self.index_us, index),
            (&self.save_us, save),
        ] {
            counter.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        }
    }

    fn read(&self) -> IndexRefreshes {
        IndexRefreshes {
            rebuilt: self.rebuilt.load(Ordering::Relaxed),
            from_snapshot: self.from_snapshot.load(Ordering::Relaxed),
            snapshots_saved: self.snapshots_saved.load(Ordering::Relaxed),
            caught_up: self.caught_up.load(Ordering::Relaxed),
            packages_reread: self.packages_reread.load(Ordering::Relaxed),
            catch_up_read: Duration::from_micros(self.read_us.load(Ordering::Relaxed)),
            catch_up_index: Duration::from_micros(self.index_us.load(Ordering::Relaxed)),
            catch_up_save: Duration::from_micros(self.save_us.load(Ordering::Relaxed)),
        }
    }
}

impl V2Backend {
    /// How the term index has been refreshed since this backend was opened.
    pub fn index_refreshes(&self) -> IndexRefreshes {
        self.refreshes.read()
    }

    /// `from` brought to `generation` from the change feed, or `None` when
    /// the feed cannot vouch for every generation in between (or would have
    /// more read again than a rebuild reads). Entries of writes that landed
    /// after `generation` was read may be in the answer too; their packages
    /// are then newer than the label, which the next catch-up from
    /// `generation` reads again, so nothing is missed.
    pub(crate) fn catch_up(&self, from: &TermIndex, generation: u64) -> Result<Option<TermIndex>> {
        let started = Instant::now();
        let after = from.generation();
        if generation <= after || generation - after > crate::store::FEED_KEEP {
            return Ok(None);
        }
        let since: ChangesSince = self.store()?.changes_since(after)?;
        if !since.covers(generation, from.head()) {
            return Ok(None);
        }
        let names: Vec<String> = since.packages.iter().cloned().collect();
        if names.len() > BATCH && names.len() > from.len() / 2 {
            return Ok(None);
        }
        let mut docs = Vec::with_capacity(names.len());
        for chunk in names.chunks(BATCH) {
            let roots: Vec<NamedNode> = chunk.iter().map(|n| package_iri(n)).collect();
            let packages = Nodes::new(&self.store()?.describe(&roots)?).packages()?;
            // Only what was asked for: an endpoint's extra answers are not news.
            docs.extend(
                packages
                    .iter()
                    .filter(|p| chunk.contains(&p.name))
                    .map(Doc::from_package),
            );
        }
        let removed: Vec<String> = names
            .iter()
            .filter(|n| !docs.iter().any(|d| &d.name == *n))
            .cloned()
            .collect();
        let read = started.elapsed();
        let head = since.head_at(generation).map(str::to_string);
        let ix = from
            .with_changes(generation, docs, &removed)?
            .with_head(head);
        let index = started.elapsed() - read;
        if let Some(dir) = self.terms_dir.as_ref().filter(|_| !self.read_only) {
            ix.save(dir)?;
        }
        let save = started.elapsed() - read - index;
        self.refreshes.caught_up(names.len(), read, index, save);
        tracing::debug!(
            from = after,
            to = generation,
            packages = names.len(),
            read_ms = read.as_millis() as u64,
            index_ms = index.as_millis() as u64,
            save_ms = save.as_millis() as u64,
            "v2 term index caught up from the change feed"
        );
        Ok(Some(ix))
    }
}
