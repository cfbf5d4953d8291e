//! The dual adapter over real backends (V1 on disk, V2 in memory): every
//! strategy, fallback on and off, compare records, dual writes. Faults a real
//! store cannot produce on demand (a V2 that never opened, a stalled V2) come
//! from `Unopened` and a small delaying wrapper.
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::DualBackendAdapter;
use super::Unopened;
use crate::config::{BackendStrategy, Compiled, Flags, Operation, Settings};
use crate::migration::copy as migrate;
use crate::routing::compare::{COMPARE_LOG, CompareRecord};
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{
    BackendKind, BackendMetadata, MarketplaceBackend, MarketplaceError, Result,
};
use ggen_marketplace_v1::V1Backend;
use ggen_marketplace_v2::V2Backend;
use semver::Version;

fn release(name: &str, version: &str, description: &str) -> (PackageVersion, Vec<u8>) {
    ggen_test_support::Pkg::new(name, version)
        .description(description)
        .release()
}

struct World {
    dir: tempfile::TempDir,
    v1: Arc<V1Backend>,
    v2: Arc<V2Backend>,
}

/// Both backends hold hello-world and rust-cli; only V1 has v1-only-package
/// (V2 lags behind V1 until migration completes).
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let v1 = V1Backend::create(dir.path().join("v1"), "test").unwrap();
    let v2 = V2Backend::in_memory(dir.path().join("v2")).unwrap();
    let common = vec![
        release("hello-world", "1.0.0", "The classic greeting"),
        release("rust-cli", "1.2.0", "Command line applications in Rust"),
    ];
    v1.publish_many(&common).unwrap();
    // V2 holds V1's copies, as after a migration (so verify finds them equal).
    let copies: Vec<(PackageVersion, Option<Vec<u8>>)> = common
        .iter()
        .map(|(v, a)| (v1.versions(&v.name).unwrap()[0].clone(), Some(a.clone())))
        .collect();
    v2.import(&copies).unwrap();
    v1.publish_many(&[release("v1-only-package", "0.1.0", "Not migrated yet")])
        .unwrap();
    World {
        dir,
        v1: Arc::new(v1),
        v2: Arc::new(v2),
    }
}

fn settings(fallback: bool, compare_ms: u64) -> Settings {
    let env = move |key: &str| match key {
        "GGEN_MARKETPLACE_FALLBACK" => Some(fallback.to_string()),
        _ => None,
    };
    let mut s = Settings::resolve(
        None,
        Path::new("config.yaml"),
        &env,
        &Flags::default(),
        Compiled::this_build(),
    )
    .unwrap();
    s.compare_timeout = Duration::from_millis(compare_ms);
    s
}

impl World {
    /// An adapter over both healthy backends, fallback allowed.
    fn adapter(&self, strategy: BackendStrategy, op: Operation) -> DualBackendAdapter {
        self.adapter_with(self.v2.clone(), strategy, op, true)
    }

    fn adapter_with(
        &self,
        v2: Arc<dyn MarketplaceBackend>,
        strategy: BackendStrategy,
        op: Operation,
        fallback: bool,
    ) -> DualBackendAdapter {
        DualBackendAdapter::new(
            self.v1.clone(),
            v2,
            strategy,
            op,
            "subject-1".into(),
            &settings(fallback, 500),
            self.dir.path().to_path_buf(),
        )
    }
}

fn down() -> Arc<dyn MarketplaceBackend> {
    Arc::new(Unopened::new(
        BackendKind::V2,
        "store locked by another process",
    ))
}

#[test]
fn single_strategies_answer_from_their_backend() {
    let w = world();
    let a = w.adapter(BackendStrategy::V1Only, Operation::Search);
    assert_eq!(
        a.search(&SearchQuery::text("hello")).unwrap().backend_used,
        BackendKind::V1
    );
    assert_eq!(a.last_used(), BackendKind::V1);
    let a = w.adapter(BackendStrategy::V2Only, Operation::Search);
    assert_eq!(
        a.search(&SearchQuery::text("hello")).unwrap().backend_used,
        BackendKind::V2
    );
    assert_eq!(a.last_used(), BackendKind::V2);
}

#[test]
fn fallback_answers_from_v1_when_v2_is_down_and_only_when_enabled() {
    let w = world();
    let a = w.adapter_with(
        down(),
        BackendStrategy::V2WithFallback,
        Operation::Search,
        true,
    );
    let r = a.search(&SearchQuery::text("hello")).unwrap();
    assert_eq!(r.hits[0].name, "hello-world");
    assert_eq!(a.last_used(), BackendKind::V1);
    assert_eq!(a.package("rust-cli").unwrap().name, "rust-cli");
    // V1 is complete: its "not found" is the answer, not an outage of both.
    assert!(matches!(
        a.package("nowhere"),
        Err(MarketplaceError::NotFound { .. })
    ));

    // V2 only (no fallback): the outage is the answer, with V2 named.
    let a = w.adapter_with(down(), BackendStrategy::V2Only, Operation::Search, false);
    match a.search(&SearchQuery::text("hello")) {
        Err(MarketplaceError::Unavailable { backend, .. }) => assert_eq!(backend, "v2"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Fallback configured off: same.
    let a = w.adapter_with(
        down(),
        BackendStrategy::V2WithFallback,
        Operation::Search,
        false,
    );
    assert!(matches!(
        a.search(&SearchQuery::text("hello")),
        Err(MarketplaceError::Unavailable { .. })
    ));
}

#[test]
fn packages_not_yet_in_v2_are_found_in_v1() {
    let w = world();
    let a = w.adapter(BackendStrategy::V2WithFallback, Operation::Info);
    assert_eq!(
        a.package("v1-only-package").unwrap().name,
        "v1-only-package"
    );
    assert_eq!(a.last_used(), BackendKind::V1);
    // Absent from both: V1's not-found is the user's answer, unchanged.
    assert!(matches!(
        a.package("nowhere"),
        Err(MarketplaceError::NotFound { .. })
    ));
}

#[test]
fn ab_split_follows_the_percentage() {
    let w = world();
    let none = w.adapter(
        BackendStrategy::AbTest { v2_percentage: 0 },
        Operation::Search,
    );
    none.search(&SearchQuery::text("hello")).unwrap();
    assert_eq!(none.last_used(), BackendKind::V1);
    let all = w.adapter(
        BackendStrategy::AbTest { v2_percentage: 100 },
        Operation::Search,
    );
    all.search(&SearchQuery::text("hello")).unwrap();
    assert_eq!(all.last_used(), BackendKind::V2);
    // Sticky: the subject's side never changes between calls.
    let half = w.adapter(
        BackendStrategy::AbTest { v2_percentage: 50 },
        Operation::Search,
    );
    half.search(&SearchQuery::text("hello")).unwrap();
    let first = half.last_used();
    for _ in 0..5 {
        half.search(&SearchQuery::text("rust")).unwrap();
        assert_eq!(half.last_used(), first);
    }
}

fn compare_log(dir: &Path) -> Vec<CompareRecord> {
    std::fs::read_to_string(dir.join(COMPARE_LOG))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn compare_runs_both_and_records_the_outcome() {
    let w = world();
    let a = w.adapter(BackendStrategy::Compare, Operation::Search);
    let r = a.search(&SearchQuery::text("hello")).unwrap();
    assert_eq!(r.hits[0].name, "hello-world");
    let log = compare_log(w.dir.path());
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].query, "hello");
    assert_eq!(log[0].outcome, "match");
    assert_eq!(log[0].overlap, 1.0);
    assert!(log[0].v1_ms.is_some() && log[0].v2_ms.is_some());

    // V2 down: recorded as an error, and the user still gets V1's answer.
    let a = w.adapter_with(down(), BackendStrategy::Compare, Operation::Search, true);
    assert_eq!(
        a.search(&SearchQuery::text("rust")).unwrap().hits[0].name,
        "rust-cli"
    );
    let log = compare_log(w.dir.path());
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].outcome, "error");
    assert!(log[1].v2_error.as_deref().unwrap().contains("locked"));
}

#[test]
fn compare_covers_info_versions_and_list_and_finds_real_differences() {
    let w = world();
    let info = w.adapter(BackendStrategy::Compare, Operation::Info);
    assert_eq!(info.package("hello-world").unwrap().name, "hello-world");
    assert_eq!(info.versions("rust-cli").unwrap().len(), 1);
    // Only V1 has it: V2's NotFound is an error on V2's side, V1 answers.
    assert_eq!(
        info.package("v1-only-package").unwrap().name,
        "v1-only-package"
    );
    let list = w.adapter(BackendStrategy::Compare, Operation::List);
    assert_eq!(list.list().unwrap().len(), 2); // V2's answer
    // A yank that reached V1 only is a mismatch of that version's state.
    w.v1.yank("hello-world", &Version::new(1, 0, 0), true)
        .unwrap();
    info.package("hello-world").unwrap();

    let log = compare_log(w.dir.path());
    let ops: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|r| (r.operation.as_str(), r.query.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("info", "hello-world", "match"),
            ("info", "rust-cli", "match"),
            ("info", "v1-only-package", "error"),
            ("list", "(list)", "mismatch"),
            ("info", "hello-world", "mismatch"),
        ]
    );
    assert!(
        (log[3].overlap - 2.0 / 3.0).abs() < 1e-9,
        "{}",
        log[3].overlap
    );
    assert!(
        log[4].v1_top[0].ends_with(":yanked:unsigned"),
        "{:?}",
        log[4].v1_top
    );
    assert!(log[4].v2_top[0].ends_with(":live:unsigned"));
    let report = crate::routing::report::summarise(&log);
    assert_eq!(report.by_operation["info"].comparisons, 4);
    assert_eq!(report.by_operation["list"].match_rate, 0.0);
}

/// A V2 that answers, but only after `delay`.
struct Slow {
    inner: Arc<dyn MarketplaceBackend>,
    delay: Duration,
}

impl MarketplaceBackend for Slow {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    fn metadata(&self) -> Result<BackendMetadata> {
        self.inner.metadata()
    }
    fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        std::thread::sleep(self.delay);
        self.inner.search(q)
    }
    fn package(&self, name: &str) -> Result<Package> {
        self.inner.package(name)
    }
    fn list(&self) -> Result<Vec<PackageSummary>> {
        self.inner.list()
    }
    fn fetch_archive(&self, name: &str, v: &Version) -> Result<Vec<u8>> {
        self.inner.fetch_archive(name, v)
    }
    fn publish(&self, r: &PackageVersion, a: &[u8]) -> Result<()> {
        self.inner.publish(r, a)
    }
    fn yank(&self, name: &str, v: &Version, y: bool) -> Result<()> {
        self.inner.yank(name, v, y)
    }
}

#[test]
fn compare_does_not_wait_for_a_stalled_backend() {
    let w = world();
    let slow: Arc<dyn MarketplaceBackend> = Arc::new(Slow {
        inner: w.v2.clone(),
        delay: Duration::from_secs(3),
    });
    let a = DualBackendAdapter::new(
        w.v1.clone(),
        slow,
        BackendStrategy::Compare,
        Operation::Search,
        "s".into(),
        &settings(true, 200),
        w.dir.path().to_path_buf(),
    );
    let started = Instant::now();
    let r = a.search(&SearchQuery::text("hello")).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(r.hits[0].name, "hello-world");
    assert_eq!(compare_log(w.dir.path())[0].outcome, "error");
}

#[test]
fn writes_go_to_both_and_a_v2_gap_is_recorded() {
    let w = world();
    let a = w.adapter(BackendStrategy::V2WithFallback, Operation::Publish);
    let (v, archive) = release("fresh", "1.0.0", "new");
    a.publish(&v, &archive).unwrap();
    assert!(w.v1.package("fresh").is_ok());
    assert!(w.v2.package("fresh").is_ok());
    a.yank("fresh", &Version::new(1, 0, 0), true).unwrap();
    assert!(w.v1.package("fresh").unwrap().versions[0].yanked);
    assert!(w.v2.package("fresh").unwrap().versions[0].yanked);

    // V2 down: the publish lands in V1 (the system of record) and the gap is logged.
    let a = w.adapter_with(
        down(),
        BackendStrategy::V2WithFallback,
        Operation::Publish,
        true,
    );
    let (v, archive) = release("during-outage", "1.0.0", "published while v2 was down");
    a.publish(&v, &archive).unwrap();
    assert!(w.v1.package("during-outage").is_ok());
    let gaps = std::fs::read_to_string(w.dir.path().join("dual-write-gaps.jsonl")).unwrap();
    assert!(
        gaps.contains("during-outage") && gaps.contains("\"missing_from\":\"v2\""),
        "{gaps}"
    );

    // A version that exists is refused by V2, written first; V1 is not asked.
    let (v, archive) = release("fresh", "1.0.0", "same version again");
    let a = w.adapter(BackendStrategy::V2WithFallback, Operation::Publish);
    assert!(matches!(
        a.publish(&v, &archive),
        Err(MarketplaceError::AlreadyPublished { .. })
    ));
}

/// A V1 whose writes fail (a full disk, say): the fault a real V1 cannot be
/// made to produce on demand when tests run as root.
struct RefusesWrites(Arc<V1Backend>);

impl MarketplaceBackend for RefusesWrites {
    fn kind(&self) -> BackendKind {
        BackendKind::V1
    }
    fn metadata(&self) -> Result<BackendMetadata> {
        self.0.metadata()
    }
    fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        self.0.search(q)
    }
    fn package(&self, name: &str) -> Result<Package> {
        self.0.package(name)
    }
    fn list(&self) -> Result<Vec<PackageSummary>> {
        self.0.list()
    }
    fn fetch_archive(&self, name: &str, v: &Version) -> Result<Vec<u8>> {
        self.0.fetch_archive(name, v)
    }
    fn publish(&self, _: &PackageVersion, _: &[u8]) -> Result<()> {
        Err(MarketplaceError::backend("v1", "no space left on device"))
    }
    fn yank(&self, _: &str, _: &Version, _: bool) -> Result<()> {
        Err(MarketplaceError::backend("v1", "no space left on device"))
    }
}

#[test]
fn v2_primary_writes_v2_first_and_undoes_it_when_v1_fails() {
    let w = world();
    let a = DualBackendAdapter::new(
        Arc::new(RefusesWrites(w.v1.clone())),
        w.v2.clone(),
        BackendStrategy::V2WithFallback,
        Operation::Publish,
        "s".into(),
        &settings(true, 500),
        w.dir.path().to_path_buf(),
    );
    let (v, archive) = release("half-written", "1.0.0", "would be in v2 only");
    let err = a.publish(&v, &archive).unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
    assert!(matches!(
        w.v2.package("half-written"),
        Err(MarketplaceError::NotFound { .. })
    ));
    assert!(
        w.v2.search(&SearchQuery::text("half"))
            .unwrap()
            .hits
            .is_empty()
    );

    // A yank that V1 refuses is put back on V2.
    let err = a
        .yank("hello-world", &Version::new(1, 0, 0), true)
        .unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
    assert!(!w.v2.package("hello-world").unwrap().versions[0].yanked);
    assert!(
        !w.dir.path().join("dual-write-gaps.jsonl").exists(),
        "an undone write leaves no gap"
    );
    assert!(
        migrate::verify(w.v1.as_ref(), w.v2.as_ref())
            .unwrap()
            .differences
            .iter()
            .all(|d| d.starts_with("v1-only-package"))
    );
}

#[test]
fn v2_primary_refusing_a_write_leaves_v1_untouched() {
    let w = world();
    // A version V2 already has (published there alone): V2, written first,
    // refuses it, so V1 never sees the write.
    let (v, archive) = release("v2-first", "1.0.0", "only in v2");
    w.v2.publish(&v, &archive).unwrap();
    let a = w.adapter_with(
        w.v2.clone(),
        BackendStrategy::V2Only,
        Operation::Publish,
        false,
    );
    assert!(matches!(
        a.publish(&v, &archive),
        Err(MarketplaceError::AlreadyPublished { .. })
    ));
    assert!(matches!(
        w.v1.package("v2-first"),
        Err(MarketplaceError::NotFound { .. })
    ));

    // V2 down and no fallback: nothing is written anywhere.
    let a = w.adapter_with(down(), BackendStrategy::V2Only, Operation::Publish, false);
    let (v, archive) = release("nowhere", "1.0.0", "");
    assert!(a.publish(&v, &archive).is_err());
    assert!(w.v1.package("nowhere").is_err());
    assert!(!w.dir.path().join("dual-write-gaps.jsonl").exists());
}

#[test]
fn v1_primary_records_a_v2_gap_that_migrate_repairs() {
    let w = world();
    let a = w.adapter_with(down(), BackendStrategy::V1Only, Operation::Publish, false);
    let (v, archive) = release("while-v2-down", "1.0.0", "");
    a.publish(&v, &archive).unwrap();
    a.yank("hello-world", &Version::new(1, 0, 0), true).unwrap();
    let gaps = std::fs::read_to_string(w.dir.path().join("dual-write-gaps.jsonl")).unwrap();
    assert_eq!(gaps.lines().count(), 2, "{gaps}");
    assert!(gaps.contains("yank hello-world@1.0.0"), "{gaps}");
    let before = migrate::verify(w.v1.as_ref(), w.v2.as_ref()).unwrap();
    assert!(
        before
            .differences
            .iter()
            .any(|d| d.contains("hello-world@1.0.0: fields differ: yanked")),
        "{:?}",
        before.differences
    );

    let report = migrate::migrate(&w.v1, &w.v2, false, &|_, _| {}).unwrap();
    assert_eq!(report.repaired, 1, "{report:?}");
    assert_eq!(report.copied, 2, "{report:?}");
    assert!(w.v2.package("hello-world").unwrap().versions[0].yanked);
    let after = migrate::verify(w.v1.as_ref(), w.v2.as_ref()).unwrap();
    assert!(after.differences.is_empty(), "{:?}", after.differences);
    // Nothing left to do on a second run.
    let again = migrate::migrate(&w.v1, &w.v2, false, &|_, _| {}).unwrap();
    assert_eq!((again.copied, again.repaired), (0, 0));
}
