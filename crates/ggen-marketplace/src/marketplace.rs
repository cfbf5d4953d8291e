//! [`Marketplace`]: opens the compiled backends lazily, seeds a fresh registry
//! from the bundled catalogue, and hands out the backend each operation should use.

use std::sync::{Arc, OnceLock};

use ggen_marketplace_core::fsutil::FileLock;
use ggen_marketplace_core::{BackendKind, MarketplaceBackend, SearchQuery, SearchResults};

use crate::cache::{CacheStatus, DiskCache};
use crate::config::{BackendStrategy, Operation, Settings};
use crate::error::{Error, Result};
use crate::home::Paths;
use crate::instrument::Instrumented;
use crate::resilience::{CircuitBreaker, Guarded};

#[cfg(feature = "marketplace-v1")]
use ggen_marketplace_v1::V1Backend;
#[cfg(feature = "marketplace-v2")]
use ggen_marketplace_v2::V2Backend;

/// How long a cached search stays valid even without writes (safety net for
/// writes made around the facade, e.g. by an older ggen).
const SEARCH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Lock serialising seeding against other processes.
const SEED_LOCK: &str = ".seed.lock";

pub struct Marketplace {
    pub paths: Paths,
    pub settings: Settings,
    #[cfg(feature = "marketplace-v1")]
    v1: OnceLock<Arc<V1Backend>>,
    #[cfg(feature = "marketplace-v2")]
    v2: OnceLock<Arc<V2Backend>>,
    subject: OnceLock<String>,
    /// Held while a backend is being opened: two threads of the server asking
    /// at once must not both open the store (RocksDB admits one opener per
    /// process; the second would wait out GGEN_STORE_WAIT_MS and fail).
    opening: std::sync::Mutex<()>,
    breakers: [Arc<CircuitBreaker>; 2],
    /// In-memory search tier for long-running processes (the server); see
    /// [`Self::with_memory_cache`].
    memory: Option<moka::sync::Cache<String, Arc<SearchResults>>>,
    /// In-memory package-metadata tier (server); see [`Self::with_package_cache`].
    packages: Option<crate::package_cache::PackageTier>,
    /// In-memory SPARQL-result tier; see [`Self::with_sparql_cache`].
    #[cfg(feature = "marketplace-v2")]
    pub(crate) sparql_memory: Option<crate::sparql::SparqlTier>,
}

/// What seeding did, for the CLI to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub v1_added: usize,
    pub v2_added: usize,
}

impl Marketplace {
    pub fn new(paths: Paths, settings: Settings) -> Self {
        let breaker = |kind: BackendKind| {
            let persist = paths.home.join(format!("circuit-{kind}.json"));
            Arc::new(CircuitBreaker::new(
                kind,
                settings.breaker.clone(),
                Some(persist),
            ))
        };
        let breakers = [breaker(BackendKind::V1), breaker(BackendKind::V2)];
        Self {
            breakers,
            paths,
            settings,
            #[cfg(feature = "marketplace-v1")]
            v1: OnceLock::new(),
            #[cfg(feature = "marketplace-v2")]
            v2: OnceLock::new(),
            subject: OnceLock::new(),
            opening: std::sync::Mutex::new(()),
            memory: None,
            packages: None,
            #[cfg(feature = "marketplace-v2")]
            sparql_memory: None,
        }
    }

    /// Keeps up to `entries` SPARQL answers in memory (0 = none), above the disk
    /// tier; see [`crate::sparql`].
    #[cfg(feature = "marketplace-v2")]
    pub fn with_sparql_cache(mut self, entries: u64) -> Self {
        self.sparql_memory = (entries > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_live(SEARCH_CACHE_TTL)
                .build()
        });
        self
    }

    /// Keeps up to `entries` packages' metadata in memory (0 = none) for the
    /// `info`, `versions` and download reads of a long-running process; keyed by
    /// routing decision and registry generation like the search tier.
    pub fn with_package_cache(mut self, entries: u64) -> Self {
        self.packages = (entries > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_live(SEARCH_CACHE_TTL)
                .build()
        });
        self
    }

    /// Keeps up to `entries` search answers in memory (0 = none), keyed like the
    /// disk cache: query, routing decision and registry generation, so a write
    /// through any process invalidates them.
    pub fn with_memory_cache(mut self, entries: u64) -> Self {
        self.memory = (entries > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(entries)
                .time_to_live(SEARCH_CACHE_TTL)
                .build()
        });
        self
    }

    /// The A/B subject of this user (see [`crate::bucket::subject`]).
    pub fn subject(&self) -> &str {
        self.subject
            .get_or_init(|| crate::bucket::subject(&self.paths.config_dir))
    }

    /// Whether the registry directory has been seeded yet.
    pub fn is_seeded(&self) -> bool {
        let r = &self.paths.registry;
        (cfg!(feature = "marketplace-v1") && r.join("index.json").is_file())
            || (!cfg!(feature = "marketplace-v1") && r.join("v2").is_dir())
    }

    /// Seeds every compiled backend from the bundled catalogue if the registry is
    /// new; with `force`, re-imports it into an existing registry (versions already
    /// present are skipped). Returns `None` when nothing needed doing.
    pub fn ensure_seeded(&self, force: bool) -> Result<Option<SeedReport>> {
        if self.remote_url().is_some() {
            return Ok(None); // the server has its own registry
        }
        let registry = &self.paths.registry;
        if self.is_seeded() && !force && !crate::backup::restore_interrupted(registry) {
            return Ok(None);
        }
        // About to seed, or a restore was cut short: wait for any restore in
        // progress, finish an interrupted one, then look again.
        let _restore = crate::backup::restore_lock(registry)?;
        crate::backup::finish_interrupted_restore(registry)?;
        if self.is_seeded() && !force {
            return Ok(None);
        }
        let _lock = FileLock::exclusive(&self.paths.registry.join(SEED_LOCK))?;
        if self.is_seeded() && !force {
            return Ok(None); // another process seeded while we waited
        }
        let releases = crate::catalogue::releases()?;
        let mut report = SeedReport::default();
        #[cfg(feature = "marketplace-v1")]
        {
            let v1 = V1Backend::create(&self.paths.registry, "bundled")?;
            report.v1_added = v1.publish_many(&releases)?;
        }
        #[cfg(feature = "marketplace-v2")]
        {
            if self.settings.v2_endpoint.is_none() {
                let v2 = V2Backend::open_embedded(&self.paths.registry)?;
                report.v2_added = v2.publish_many(&releases)?;
            }
        }
        crate::cache::bump_generation(&self.paths.registry);
        Ok(Some(report))
    }

    /// Completes dual writes a killed process left half-done (see
    /// [`crate::journal`]); returns how many.
    #[cfg(feature = "marketplace-parallel")]
    pub fn recover_interrupted_writes(&self) -> Result<usize> {
        Ok(crate::journal::recover(
            &self.paths.home,
            &*self.v1()?,
            &*self.v2()?,
        )?)
    }

    #[cfg(feature = "marketplace-v1")]
    pub fn v1(&self) -> Result<Arc<V1Backend>> {
        if let Some(b) = self.v1.get() {
            return Ok(b.clone());
        }
        let _opening = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = self.v1.get() {
            return Ok(b.clone());
        }
        let b = Arc::new(V1Backend::open(&self.paths.registry)?);
        Ok(self.v1.get_or_init(|| b).clone())
    }

    #[cfg(feature = "marketplace-v2")]
    pub fn v2(&self) -> Result<Arc<V2Backend>> {
        if let Some(b) = self.v2.get() {
            return Ok(b.clone());
        }
        let _opening = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = self.v2.get() {
            return Ok(b.clone());
        }
        let b = match &self.settings.v2_endpoint {
            Some(endpoint) => {
                let update = self
                    .settings
                    .v2_update_endpoint
                    .clone()
                    .unwrap_or_else(|| crate::config::derive_update_url(&endpoint.value));
                {
                    // Every SPARQL request is bounded by the search timeout, so a
                    // stalled endpoint fails (and falls back) instead of hanging.
                    let mut remote = ggen_marketplace_v2::Endpoint::new(&endpoint.value, update);
                    remote.timeout = self.settings.search_timeout;
                    V2Backend::remote_with(remote, &self.paths.registry)?
                }
            }
            None => V2Backend::open_embedded(&self.paths.registry)?,
        };
        Ok(self.v2.get_or_init(|| Arc::new(b)).clone())
    }

    /// The V2 backend for `rebuild-db`: like [`Self::v2`], except that an
    /// embedded store whose directory was removed is created anew, empty,
    /// instead of being an error.
    #[cfg(feature = "marketplace-v2")]
    pub fn v2_for_rebuild(&self) -> Result<Arc<V2Backend>> {
        if self.settings.v2_endpoint.is_none() && self.v2.get().is_none() {
            let _opening = self.opening.lock().unwrap_or_else(|e| e.into_inner());
            if self.v2.get().is_none() {
                let b = Arc::new(V2Backend::recreate_embedded(&self.paths.registry)?);
                let _ = self.v2.set(b);
            }
        }
        self.v2()
    }

    /// One backend by kind, or a clear error when this build lacks it.
    pub fn single(&self, kind: BackendKind) -> Result<Arc<dyn MarketplaceBackend>> {
        match kind {
            #[cfg(feature = "marketplace-v1")]
            BackendKind::V1 => Ok(self.v1()?),
            #[cfg(feature = "marketplace-v2")]
            BackendKind::V2 => Ok(self.v2()?),
            #[allow(unreachable_patterns)]
            other => Err(not_compiled(other)),
        }
    }

    pub fn breaker(&self, kind: BackendKind) -> &Arc<CircuitBreaker> {
        match kind {
            BackendKind::V1 => &self.breakers[0],
            BackendKind::V2 => &self.breakers[1],
        }
    }

    /// One backend behind its circuit breaker, with retries for reads.
    pub fn guarded(&self, kind: BackendKind) -> Result<Arc<dyn MarketplaceBackend>> {
        Ok(Arc::new(Guarded::new(
            self.single(kind)?,
            self.breaker(kind).clone(),
            self.settings.retry.clone(),
        )))
    }

    /// The backend that answers `op` under the configured strategy, instrumented.
    pub fn backend_for(&self, op: Operation) -> Result<Arc<dyn MarketplaceBackend>> {
        self.backend_for_subject(op, self.subject())
    }

    /// [`Self::backend_for`] with the A/B subject given (the registry server
    /// routes each request by its client id or peer address).
    pub fn backend_for_subject(
        &self,
        op: Operation,
        subject: &str,
    ) -> Result<Arc<dyn MarketplaceBackend>> {
        let backend: Arc<dyn MarketplaceBackend> = Arc::new(Instrumented::new(
            op,
            self.route(op, subject)?,
            self.paths.registry.clone(),
        ));
        let strategy = self.settings.strategy(op);
        match &self.packages {
            // Compare mode exists to ask both backends: never answer it from memory.
            Some(tier) if strategy != BackendStrategy::Compare && self.remote_url().is_none() => {
                Ok(Arc::new(crate::package_cache::CachedPackages::new(
                    backend,
                    tier.clone(),
                    self.paths.registry.clone(),
                    self.routing_key(op, subject),
                )))
            }
            _ => Ok(backend),
        }
    }

    /// The routing decision an answer depends on: the strategy, and for A/B the
    /// side this subject is on (so everyone in one bucket shares cache entries).
    fn routing_key(&self, op: Operation, subject: &str) -> String {
        match self.settings.strategy(op) {
            BackendStrategy::AbTest { v2_percentage } => format!(
                "{}|{}",
                self.settings.strategy(op),
                crate::bucket::in_v2(op.as_str(), subject, v2_percentage)
            ),
            other => other.to_string(),
        }
    }

    /// Search through the configured routing, answered from the on-disk cache when
    /// the same query ran since the last write.
    pub fn search(
        &self,
        query: &SearchQuery,
    ) -> Result<(SearchResults, CacheStatus, Arc<dyn MarketplaceBackend>)> {
        let backend = self.backend_for(Operation::Search)?;
        let strategy = self.settings.strategy(Operation::Search);
        let cache_size = crate::cache::env_size("GGEN_SEARCH_CACHE", 5000);
        if strategy == BackendStrategy::Compare || cache_size == 0 {
            let r = backend.search(query)?;
            return Ok((r, CacheStatus::Bypass, backend));
        }
        let cache = DiskCache::new(self.paths.cache_dir().join("search"), SEARCH_CACHE_TTL);
        let routing = format!("{strategy}|{}", self.subject());
        let key = DiskCache::key(
            query,
            &routing,
            crate::cache::generation(&self.paths.registry),
        );
        let label = strategy.to_string();
        metrics::counter!(crate::metrics::CACHE_REQUESTS, "tier" => "search", "strategy" => label.clone()).increment(1);
        if let Some(mut hit) = cache.get(&key) {
            metrics::counter!(crate::metrics::CACHE_HITS, "tier" => "search", "strategy" => label)
                .increment(1);
            hit.query_time = std::time::Duration::ZERO;
            return Ok((hit, CacheStatus::Hit, backend));
        }
        let r = backend.search(query)?;
        cache.put(&key, &r);
        Ok((r, CacheStatus::Miss, backend))
    }

    /// The rules a publish by `writer` is held to here: the signing policy of
    /// the config, and this registry's owners (none in remote mode: the server
    /// applies its own).
    pub fn publish_policy(&self, writer: crate::access::Writer) -> crate::publish::PublishPolicy {
        crate::publish::PublishPolicy {
            signing_required: self.settings.signing_required.value,
            writer,
            owners: self
                .remote_url()
                .is_none()
                .then(|| crate::access::Owners::new(&self.paths.registry)),
        }
    }

    /// The registry server every command goes to (`--registry`, `GGEN_REGISTRY_URL`,
    /// `registry.url`), if any.
    pub fn remote_url(&self) -> Option<&str> {
        self.settings
            .registry_url
            .as_ref()
            .map(|u| u.value.as_str())
    }

    /// Search for one A/B subject through the in-memory tier (the server's path).
    /// Compare mode always runs both backends: that is its point.
    pub fn search_for_subject(
        &self,
        query: &SearchQuery,
        subject: &str,
    ) -> Result<(SearchResults, CacheStatus, Arc<dyn MarketplaceBackend>)> {
        let backend = self.backend_for_subject(Operation::Search, subject)?;
        let strategy = self.settings.strategy(Operation::Search);
        let Some(cache) = self
            .memory
            .as_ref()
            .filter(|_| strategy != BackendStrategy::Compare)
        else {
            let r = backend.search(query)?;
            return Ok((r, CacheStatus::Bypass, backend));
        };
        let routing = self.routing_key(Operation::Search, subject);
        let key = DiskCache::key(
            query,
            &routing,
            crate::cache::generation(&self.paths.registry),
        );
        let label = strategy.to_string();
        metrics::counter!(crate::metrics::CACHE_REQUESTS, "tier" => "memory", "strategy" => label.clone()).increment(1);
        if let Some(hit) = cache.get(&key) {
            metrics::counter!(crate::metrics::CACHE_HITS, "tier" => "memory", "strategy" => label)
                .increment(1);
            let mut hit = (*hit).clone();
            hit.query_time = std::time::Duration::ZERO;
            return Ok((hit, CacheStatus::Hit, backend));
        }
        let r = backend.search(query)?;
        cache.insert(key, Arc::new(r.clone()));
        Ok((r, CacheStatus::Miss, backend))
    }

    fn route(&self, op: Operation, subject: &str) -> Result<Arc<dyn MarketplaceBackend>> {
        if let Some(url) = self.remote_url() {
            // The server routes between V1 and V2 by its own config; the
            // subject travels along so A/B buckets stay sticky per user.
            return Ok(Arc::new(crate::remote::RemoteBackend::new(
                url,
                self.settings.registry_token.clone(),
                subject.to_string(),
                self.settings.install_timeout,
                self.settings.registry_allow_insecure_http.value,
            )?));
        }
        match self.settings.strategy(op) {
            BackendStrategy::V1Only => self.guarded(BackendKind::V1),
            BackendStrategy::V2Only => self.guarded(BackendKind::V2),
            #[cfg(feature = "marketplace-parallel")]
            strategy => Ok(Arc::new(crate::dual::DualBackendAdapter::new(
                self.guarded(BackendKind::V1)?,
                // A V2 that cannot open must not take V1 down with it.
                self.guarded(BackendKind::V2).unwrap_or_else(|e| {
                    tracing::debug!(error = %e, "v2 could not be opened");
                    Arc::new(crate::resilience::Unopened::new(
                        BackendKind::V2,
                        e.to_string(),
                    ))
                }),
                strategy,
                op,
                subject.to_string(),
                &self.settings,
                self.paths.home.clone(),
            ))),
            #[cfg(not(feature = "marketplace-parallel"))]
            strategy => Err(Error::Setup(format!(
                "strategy `{strategy}` needs both backends; rebuild with `--features marketplace-parallel` or set `marketplace.backend` to the compiled backend"
            ))),
        }
    }
}

fn not_compiled(kind: BackendKind) -> Error {
    Error::NotCompiled {
        backend: kind.to_string(),
        feature: format!("marketplace-{kind}"),
    }
}
