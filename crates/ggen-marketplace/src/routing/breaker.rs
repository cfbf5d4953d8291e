//! Circuit breakers and retries around a backend.
//!
//! A [`Guarded`] backend refuses calls at once while its breaker is open, retries
//! idempotent reads on transient errors with jittered exponential backoff, and
//! feeds every outcome to the breaker (slow calls count as failures).
//!
//! The CLI is a new process per command, so an open breaker is also written to
//! `GGEN_HOME/circuit-<backend>.json`: the next process skips the failed backend
//! until the open period ends, then probes it (half-open).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use backon::{BlockingRetryable, ExponentialBuilder};
use ggen_marketplace_core::ArchiveStream;
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::{
    BackendKind, BackendMetadata, MarketplaceBackend, MarketplaceError, Result,
};
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::config::{BreakerSettings, RetrySettings};

/// Where a backend's circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CircuitState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// A few probe calls decide whether to close again.
    HalfOpen,
}

impl CircuitState {
    /// The name used in `--json` output and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half-open",
        }
    }
}

impl std::fmt::Display for CircuitState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug)]
struct Inner {
    state: CircuitState,
    /// Most recent outcomes, `true` = failure (or slow).
    window: VecDeque<bool>,
    open_until: Option<SystemTime>,
    probe_successes: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Persisted {
    open_until: SystemTime,
}

pub struct CircuitBreaker {
    backend: BackendKind,
    settings: BreakerSettings,
    inner: Mutex<Inner>,
    persist: Option<PathBuf>,
}

impl CircuitBreaker {
    pub fn new(backend: BackendKind, settings: BreakerSettings, persist: Option<PathBuf>) -> Self {
        let mut inner = Inner {
            state: CircuitState::Closed,
            window: VecDeque::new(),
            open_until: None,
            probe_successes: 0,
        };
        if let Some(p) = persist
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Persisted>(&b).ok())
        {
            inner.state = CircuitState::Open;
            inner.open_until = Some(p.open_until);
        }
        Self {
            backend,
            settings,
            inner: Mutex::new(inner),
            persist,
        }
    }

    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    pub fn state(&self) -> CircuitState {
        let mut inner = self.inner.lock().expect("breaker lock");
        self.advance(&mut inner);
        inner.state
    }

    fn advance(&self, inner: &mut Inner) {
        if inner.state == CircuitState::Open
            && inner.open_until.is_some_and(|t| SystemTime::now() >= t)
        {
            inner.state = CircuitState::HalfOpen;
            inner.probe_successes = 0;
        }
    }

    /// Whether a call may go to the backend now.
    pub fn allow(&self) -> bool {
        let mut inner = self.inner.lock().expect("breaker lock");
        self.advance(&mut inner);
        inner.state != CircuitState::Open
    }

    pub fn record(&self, failed: bool, elapsed: Duration) {
        let failed = failed || elapsed > self.settings.slow_call;
        let mut inner = self.inner.lock().expect("breaker lock");
        self.advance(&mut inner);
        match inner.state {
            CircuitState::HalfOpen if failed => self.open(&mut inner),
            CircuitState::HalfOpen => {
                inner.probe_successes += 1;
                if inner.probe_successes >= self.settings.half_open_probes {
                    inner.state = CircuitState::Closed;
                    inner.window.clear();
                    inner.open_until = None;
                    if let Some(p) = &self.persist {
                        let _ = std::fs::remove_file(p);
                    }
                    tracing::info!(backend = %self.backend, "circuit closed");
                }
            }
            CircuitState::Closed => {
                inner.window.push_back(failed);
                while inner.window.len() > self.settings.window as usize {
                    inner.window.pop_front();
                }
                let n = inner.window.len();
                let failures = inner.window.iter().filter(|f| **f).count();
                if n >= self.settings.minimum_calls as usize
                    && n > 0
                    && failures as f64 / n as f64 >= self.settings.failure_rate
                {
                    self.open(&mut inner);
                }
            }
            CircuitState::Open => {}
        }
    }

    fn open(&self, inner: &mut Inner) {
        let until = SystemTime::now() + self.settings.open_for;
        inner.state = CircuitState::Open;
        inner.open_until = Some(until);
        inner.window.clear();
        tracing::warn!(backend = %self.backend, open_for = ?self.settings.open_for, "circuit opened");
        metrics::counter!("marketplace_circuit_opened_total", "backend" => self.backend.as_str())
            .increment(1);
        if let Some(p) = &self.persist
            && let Ok(bytes) = serde_json::to_vec(&Persisted { open_until: until })
        {
            let _ = ggen_marketplace_core::fsutil::atomic_write(p, &bytes);
        }
    }
}

/// A backend behind a breaker, with retries for reads.
pub struct Guarded {
    inner: Arc<dyn MarketplaceBackend>,
    breaker: Arc<CircuitBreaker>,
    retry: RetrySettings,
}

impl Guarded {
    pub fn new(
        inner: Arc<dyn MarketplaceBackend>,
        breaker: Arc<CircuitBreaker>,
        retry: RetrySettings,
    ) -> Self {
        Self {
            inner,
            breaker,
            retry,
        }
    }

    fn rejected(&self) -> MarketplaceError {
        MarketplaceError::Unavailable {
            backend: self.inner.kind().to_string(),
            reason:
                "circuit breaker is open after repeated failures; calls skip it until it recovers"
                    .into(),
        }
    }

    fn call<T>(&self, retry: bool, f: impl Fn(&dyn MarketplaceBackend) -> Result<T>) -> Result<T> {
        if !self.breaker.allow() {
            return Err(self.rejected());
        }
        let once = || {
            let started = Instant::now();
            let r = f(self.inner.as_ref());
            let failed = matches!(&r, Err(e) if e.is_transient());
            self.breaker.record(failed, started.elapsed());
            r
        };
        if !retry || self.retry.attempts <= 1 {
            return once();
        }
        let policy = ExponentialBuilder::default()
            .with_min_delay(self.retry.initial)
            .with_max_delay(self.retry.max)
            .with_factor(self.retry.factor as f32)
            .with_max_times(self.retry.attempts as usize - 1)
            .with_jitter();
        once.retry(policy)
            .sleep(std::thread::sleep)
            // Stop retrying as soon as the breaker opens: waiting would only add latency.
            .when(|e: &MarketplaceError| e.is_transient() && self.breaker.allow())
            .call()
    }
}

impl MarketplaceBackend for Guarded {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    fn metadata(&self) -> Result<BackendMetadata> {
        self.call(true, |b| b.metadata())
    }
    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        self.call(true, |b| b.search(query))
    }
    fn package(&self, name: &str) -> Result<Package> {
        self.call(true, |b| b.package(name))
    }
    fn versions(&self, name: &str) -> Result<Vec<PackageVersion>> {
        self.call(true, |b| b.versions(name))
    }
    fn list(&self) -> Result<Vec<PackageSummary>> {
        self.call(true, |b| b.list())
    }
    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        self.call(true, |b| b.fetch_archive(name, version))
    }
    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        self.call(true, |b| b.open_archive(name, version))
    }
    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        self.call(false, |b| b.publish(release, archive))
    }
    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        self.call(false, |b| b.yank(name, version, yanked))
    }
    fn retract(&self, name: &str, version: &Version) -> Result<()> {
        self.call(false, |b| b.retract(name, version))
    }
    fn validate(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        self.call(false, |b| b.validate(release, archive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            window: 20,
            minimum_calls: 10,
            failure_rate: 0.5,
            slow_call: Duration::from_millis(500),
            open_for: Duration::from_millis(200),
            half_open_probes: 3,
        }
    }

    #[test]
    fn opens_rejects_half_opens_and_closes() {
        let b = CircuitBreaker::new(BackendKind::V2, settings(), None);
        for _ in 0..9 {
            b.record(true, Duration::ZERO);
        }
        assert_eq!(
            b.state(),
            CircuitState::Closed,
            "below the minimum number of calls"
        );
        b.record(true, Duration::ZERO);
        assert_eq!(b.state(), CircuitState::Open);
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(b.state(), CircuitState::HalfOpen);
        b.record(false, Duration::ZERO);
        b.record(false, Duration::ZERO);
        assert_eq!(b.state(), CircuitState::HalfOpen);
        b.record(false, Duration::ZERO);
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_and_slow_calls_count() {
        let b = CircuitBreaker::new(BackendKind::V2, settings(), None);
        for _ in 0..10 {
            b.record(false, Duration::from_secs(1));
        }
        assert_eq!(b.state(), CircuitState::Open, "slow calls are failures");
        std::thread::sleep(Duration::from_millis(250));
        assert!(b.allow());
        b.record(true, Duration::ZERO);
        assert_eq!(b.state(), CircuitState::Open);
    }

    #[test]
    fn open_state_survives_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("circuit-v2.json");
        let b = CircuitBreaker::new(
            BackendKind::V2,
            BreakerSettings {
                open_for: Duration::from_secs(60),
                ..settings()
            },
            Some(p.clone()),
        );
        for _ in 0..10 {
            b.record(true, Duration::ZERO);
        }
        let again = CircuitBreaker::new(BackendKind::V2, settings(), Some(p));
        assert_eq!(again.state(), CircuitState::Open);
    }
}
