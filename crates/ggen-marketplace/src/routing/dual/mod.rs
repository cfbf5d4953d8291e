//! [`DualBackendAdapter`]: routes one operation between V1 and V2 according to a
//! [`BackendStrategy`], falls back from V2 to V1 on failure, compares the two in
//! compare mode, and writes to both during the migration.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ggen_marketplace_core::ArchiveStream;
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{
    BackendKind, BackendMetadata, MarketplaceBackend, MarketplaceError, Result,
};
use semver::Version;

use crate::config::{BackendStrategy, Operation, Settings};
use crate::routing::compare::{
    COMPARE_LOG_CAP, COMPARE_LOG_MAX_BYTES, Side, append_capped, append_compare_log, record_of,
    top10_names, version_keys,
};
use crate::routing::write_journal as journal;

mod unopened;
pub(crate) use unopened::Unopened;

/// Writes that reached one backend but not the other, one JSON object per line.
pub const GAPS_LOG: &str = "dual-write-gaps.jsonl";

pub struct DualBackendAdapter {
    v1: Arc<dyn MarketplaceBackend>,
    v2: Arc<dyn MarketplaceBackend>,
    strategy: BackendStrategy,
    op: Operation,
    subject: String,
    fallback: bool,
    compare_timeout: Duration,
    home: PathBuf,
    /// The backend that answered last (0 = none yet, 1 = v1, 2 = v2).
    last: AtomicU8,
}

impl DualBackendAdapter {
    pub fn new(
        v1: Arc<dyn MarketplaceBackend>,
        v2: Arc<dyn MarketplaceBackend>,
        strategy: BackendStrategy,
        op: Operation,
        subject: String,
        settings: &Settings,
        home: PathBuf,
    ) -> Self {
        Self {
            v1,
            v2,
            strategy,
            op,
            subject,
            fallback: settings.fallback_enabled.value,
            compare_timeout: settings.compare_timeout,
            home,
            last: AtomicU8::new(0),
        }
    }

    /// The backend this call goes to first, and whether V1 may answer instead.
    fn route(&self) -> (BackendKind, bool) {
        match self.strategy {
            BackendStrategy::V1Only => (BackendKind::V1, false),
            BackendStrategy::V2Only => (BackendKind::V2, false),
            BackendStrategy::V2WithFallback | BackendStrategy::Compare => {
                (BackendKind::V2, self.fallback)
            }
            BackendStrategy::AbTest { v2_percentage } => {
                if crate::routing::bucket::in_v2(self.op.as_str(), &self.subject, v2_percentage) {
                    (BackendKind::V2, self.fallback)
                } else {
                    (BackendKind::V1, false)
                }
            }
        }
    }

    fn backend(&self, kind: BackendKind) -> &Arc<dyn MarketplaceBackend> {
        match kind {
            BackendKind::V1 => &self.v1,
            BackendKind::V2 => &self.v2,
        }
    }

    /// Runs a read on the routed backend, falling back to V1 when V2 cannot answer.
    fn read<T>(&self, call: impl Fn(&dyn MarketplaceBackend) -> Result<T>) -> Result<T> {
        let (primary, fallback) = self.route();
        tracing::debug!(operation = self.op.as_str(), backend = %primary, strategy = %self.strategy, "backend selected");
        self.note(primary);
        match call(self.backend(primary).as_ref()) {
            Ok(v) => Ok(v),
            Err(e) if fallback && primary == BackendKind::V2 && should_fall_back(&e) => {
                // A package missing from V2 is expected while migration is under
                // way; only real failures deserve a warning on the user's terminal.
                if matches!(
                    e,
                    MarketplaceError::NotFound { .. } | MarketplaceError::VersionNotFound { .. }
                ) {
                    tracing::debug!(operation = self.op.as_str(), error = %e, "not in v2; asking v1");
                } else {
                    tracing::warn!(operation = self.op.as_str(), error = %e, "v2 failed; falling back to v1");
                }
                metrics::counter!(crate::observe::metrics::FALLBACKS, "operation" => self.op.as_str())
                    .increment(1);
                self.note(BackendKind::V1);
                call(self.v1.as_ref()).map_err(|v1| both_failed(e, v1))
            }
            Err(e) => Err(e),
        }
    }

    fn note(&self, kind: BackendKind) {
        metrics::counter!(crate::observe::metrics::SELECTION, "backend" => kind.as_str(), "operation" => self.op.as_str()).increment(1);
        self.last.store(
            if kind == BackendKind::V1 { 1 } else { 2 },
            Ordering::Relaxed,
        );
    }

    fn compare_search(&self, query: &SearchQuery) -> Result<SearchResults> {
        let q = query.clone();
        self.compare(&query.text, move |b| b.search(&q), top10_names)
    }

    /// Compare mode: asks both backends at once, the slower one bounded by the
    /// compare timeout; records the outcome in the compare log (`keys` turns an
    /// answer into the list compared: hit names, versions with their checksums
    /// and yank flags, or package names), and answers from V2 (V1 on V2's
    /// failure when fallback is on).
    fn compare<T: Send + 'static>(
        &self,
        query: &str,
        call: impl Fn(&dyn MarketplaceBackend) -> Result<T> + Send + Sync + 'static,
        keys: fn(&T) -> Vec<String>,
    ) -> Result<T> {
        let call = Arc::new(call);
        let (tx, rx) = mpsc::channel();
        for (kind, backend) in [
            (BackendKind::V1, self.v1.clone()),
            (BackendKind::V2, self.v2.clone()),
        ] {
            let tx = tx.clone();
            let call = call.clone();
            // Detached so a stalled backend cannot hold the caller past the timeout.
            std::thread::spawn(move || {
                let started = Instant::now();
                let r = call(backend.as_ref());
                let _ = tx.send((kind, r, started.elapsed()));
            });
        }
        drop(tx);
        let deadline = Instant::now() + self.compare_timeout;
        let (mut v1, mut v2) = (None, None);
        while v1.is_none() || v2.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((BackendKind::V1, r, t)) => v1 = Some((r, t)),
                Ok((BackendKind::V2, r, t)) => v2 = Some((r, t)),
                Err(_) => break,
            }
        }
        let timeout = |kind: &str| MarketplaceError::Timeout {
            backend: kind.into(),
            operation: format!("{} (compare)", self.op.as_str()),
            millis: self.compare_timeout.as_millis() as u64,
        };
        let (r1, t1) = v1.unwrap_or_else(|| (Err(timeout("v1")), self.compare_timeout));
        let (r2, t2) = v2.unwrap_or_else(|| (Err(timeout("v2")), self.compare_timeout));
        let side = |r: &Result<T>, t: Duration| match r {
            Ok(v) => Side::Answer(keys(v), t),
            Err(e) => Side::Failed(e.to_string()),
        };
        let record = record_of(self.op, query, side(&r1, t1), side(&r2, t2));
        if let Err(e) = append_compare_log(&self.home, &record) {
            tracing::warn!(error = %e, "could not record comparison");
        }
        self.note(if r2.is_ok() || !self.fallback {
            BackendKind::V2
        } else {
            BackendKind::V1
        });
        match (r2, r1) {
            (Ok(v2), _) => Ok(v2),
            (Err(e2), Ok(v1)) if self.fallback => Ok(v1).inspect(
                |_| tracing::warn!(error = %e2, "v2 failed in compare mode; answered from v1"),
            ),
            (Err(e2), Ok(_)) => Err(e2),
            (Err(e2), Err(e1)) => Err(both_failed(e2, e1)),
        }
    }

    /// Writes to both backends, the routed one (the primary) first.
    ///
    /// - Primary fails: nothing was written and the call fails, except that a
    ///   V2 that is unavailable with fallback enabled does not stop a publish:
    ///   it goes to V1 alone and the gap is recorded (see [`Self::record_gap`]).
    /// - Secondary V2 fails after V1 took the write: V1 is what fallback and
    ///   rollback read, so the write stands and the gap is recorded for
    ///   `ggen marketplace migrate` (V1 -> V2) to repair.
    /// - Secondary V1 fails after V2 took the write: V2's half is undone with
    ///   `undo`, so a rollback to V1 loses nothing that was acknowledged, and the
    ///   call fails. If the undo fails too, that gap is recorded and named.
    fn write(
        &self,
        (write, name, version): (journal::Write, &str, &Version),
        call: impl Fn(&dyn MarketplaceBackend) -> Result<()>,
        undo: impl Fn(&dyn MarketplaceBackend) -> Result<()>,
    ) -> Result<()> {
        let what = &format!(
            "{} {name}@{version}",
            if write == journal::Write::Publish {
                "publish"
            } else {
                "yank"
            }
        );
        let (primary, fallback) = self.route();
        let secondary = other(primary);
        self.note(primary);
        // Finish what a killed writer left half-done before starting anew; a
        // backend that cannot help now leaves it for the next write.
        if let Err(e) = journal::recover(&self.home, self.v1.as_ref(), self.v2.as_ref()) {
            tracing::warn!(error = %e, "could not look for interrupted dual writes");
        }
        let _pending = journal::begin(
            &self.home,
            &journal::Intent {
                write,
                name: name.to_string(),
                version: version.clone(),
                first: primary,
            },
        )?;
        if let Err(e) = call(self.backend(primary).as_ref()) {
            if primary == BackendKind::V2 && fallback && e.is_transient() {
                tracing::warn!(operation = self.op.as_str(), error = %e, "v2 failed; writing to v1 alone");
                metrics::counter!(crate::observe::metrics::FALLBACKS, "operation" => self.op.as_str())
                    .increment(1);
                self.note(BackendKind::V1);
                return match call(self.v1.as_ref()) {
                    Ok(()) => {
                        self.record_gap(what, BackendKind::V1, BackendKind::V2, &e);
                        Ok(())
                    }
                    Err(v1) => Err(both_failed(e, v1)),
                };
            }
            return Err(e);
        }
        crate::config::env::fault_pause();
        match call(self.backend(secondary).as_ref()) {
            Ok(()) => Ok(()),
            Err(e) if secondary == BackendKind::V2 => {
                self.record_gap(what, BackendKind::V1, BackendKind::V2, &e);
                Ok(())
            }
            Err(e) => {
                metrics::counter!(crate::observe::metrics::ERRORS, "backend" => "v1", "operation" => self.op.as_str(), "call" => "dual_write").increment(1);
                match undo(self.v2.as_ref()) {
                    Ok(()) => {
                        tracing::warn!("{what} failed on v1 ({e}); undone on v2");
                        Err(e)
                    }
                    Err(undo_err) => {
                        self.record_gap(what, BackendKind::V2, BackendKind::V1, &e);
                        Err(MarketplaceError::backend(
                            "dual",
                            format!(
                                "{what} was written to v2 but failed on v1 ({e}), and undoing it on v2 failed too ({undo_err}); the gap is recorded in {}. `ggen marketplace verify-migration` lists it",
                                self.home.join(GAPS_LOG).display()
                            ),
                        ))
                    }
                }
            }
        }
    }

    /// Appends a write that reached one backend but not the other to
    /// `dual-write-gaps.jsonl`, so it is never silent.
    fn record_gap(
        &self,
        what: &str,
        written: BackendKind,
        missing: BackendKind,
        e: &MarketplaceError,
    ) {
        let gap = serde_json::json!({
            "at": chrono::Utc::now(),
            "operation": what,
            "written_to": written.as_str(),
            "missing_from": missing.as_str(),
            "error": e.to_string(),
        });
        let path = self.home.join(GAPS_LOG);
        let mut line = gap.to_string();
        line.push('\n');
        // The same capped, locked append as the compare log.
        let _ = std::fs::create_dir_all(&self.home);
        if let Err(e) = append_capped(&path, &line, COMPARE_LOG_MAX_BYTES, COMPARE_LOG_CAP) {
            tracing::error!(error = %e, "could not record the dual-write gap in {}", path.display());
        }
        let repair = match missing {
            BackendKind::V2 => "run `ggen marketplace migrate` to repair it",
            BackendKind::V1 => "`ggen marketplace verify-migration` lists it",
        };
        tracing::warn!(
            "{what} was written to {written} but not to {missing}: {e}. The gap is recorded in {}; {repair}",
            path.display()
        );
        metrics::counter!(crate::observe::metrics::ERRORS, "backend" => missing.as_str(), "operation" => self.op.as_str(), "call" => "dual_write").increment(1);
    }
}

fn other(kind: BackendKind) -> BackendKind {
    match kind {
        BackendKind::V1 => BackendKind::V2,
        BackendKind::V2 => BackendKind::V1,
    }
}

/// V2 answers that should be retried on V1: unavailability, and "not found" (V2
/// may lag V1 until migration completes).
fn should_fall_back(e: &MarketplaceError) -> bool {
    e.is_transient()
        || matches!(
            e,
            MarketplaceError::NotFound { .. }
                | MarketplaceError::VersionNotFound { .. }
                | MarketplaceError::ArchiveMissing { .. }
        )
}

fn both_failed(v2: MarketplaceError, v1: MarketplaceError) -> MarketplaceError {
    // V1's answer about the data (not found, bad input) is the user's answer,
    // kept as is so its hint survives; only when both are down is it an outage.
    // V1 is complete while both are compiled (every write reaches it), so its
    // "not found" stands even when V2 could not be asked.
    if !v1.is_transient() && !matches!(v1, MarketplaceError::Backend { .. }) {
        return v1;
    }
    MarketplaceError::Unavailable {
        backend: "v1 and v2".into(),
        reason: format!("v2: {v2}; v1: {v1}"),
    }
}

impl MarketplaceBackend for DualBackendAdapter {
    fn kind(&self) -> BackendKind {
        self.route().0
    }

    fn last_used(&self) -> BackendKind {
        match self.last.load(Ordering::Relaxed) {
            1 => BackendKind::V1,
            2 => BackendKind::V2,
            _ => self.route().0,
        }
    }

    fn metadata(&self) -> Result<BackendMetadata> {
        self.read(|b| b.metadata())
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        if self.strategy == BackendStrategy::Compare {
            return self.compare_search(query);
        }
        self.read(|b| b.search(query))
    }

    fn package(&self, name: &str) -> Result<Package> {
        if self.strategy == BackendStrategy::Compare {
            let n = name.to_string();
            return self.compare(name, move |b| b.package(&n), |p| version_keys(&p.versions));
        }
        self.read(|b| b.package(name))
    }

    fn versions(&self, name: &str) -> Result<Vec<PackageVersion>> {
        if self.strategy == BackendStrategy::Compare {
            let n = name.to_string();
            return self.compare(name, move |b| b.versions(&n), |v| version_keys(v));
        }
        self.read(|b| b.versions(name))
    }

    fn list(&self) -> Result<Vec<PackageSummary>> {
        if self.strategy == BackendStrategy::Compare {
            return self.compare(
                "(list)",
                |b| b.list(),
                |l| {
                    l.iter()
                        .map(|s| format!("{}@{}", s.name, s.version))
                        .collect()
                },
            );
        }
        self.read(|b| b.list())
    }

    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        self.read(|b| b.fetch_archive(name, version))
    }

    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        self.read(|b| b.open_archive(name, version))
    }

    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        // Fill what each backend would otherwise fill on its own (its own clock),
        // so both hold the same version and verify-migration agrees.
        let mut release = release.clone();
        release.size.get_or_insert(archive.len() as u64);
        release.published_at.get_or_insert_with(chrono::Utc::now);
        let release = &release;
        self.write(
            (journal::Write::Publish, &release.name, &release.version),
            |b| b.publish(release, archive),
            |b| b.retract(&release.name, &release.version),
        )
    }

    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        // What V2 said before, so a yank that fails on V1 can be put back.
        let before = self
            .v2
            .versions(name)
            .ok()
            .and_then(|vs| vs.into_iter().find(|v| &v.version == version))
            .map(|v| v.yanked);
        self.write(
            (journal::Write::Yank, name, version),
            |b| b.yank(name, version, yanked),
            |b| match before {
                Some(was) => b.yank(name, version, was),
                None => Ok(()),
            },
        )
    }

    fn validate(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        self.v1.validate(release, archive)?;
        match self.v2.validate(release, archive) {
            // A V2 that cannot answer gets the write later (see `write`).
            Err(e) if e.is_transient() && self.fallback => {
                tracing::debug!(error = %e, "v2 cannot validate; v1's answer stands");
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
