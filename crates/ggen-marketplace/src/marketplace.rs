//! [`Marketplace`]: the facade's one entry point. It opens the compiled
//! backends lazily and hands out the backend each operation should use; what
//! it can do is spread over the folders that own each concern (routing,
//! caches, operations, migration), each adding its methods.

use std::sync::{Arc, OnceLock};

use ggen_marketplace_core::{BackendKind, MarketplaceBackend, SearchResults};

use crate::cache::SEARCH_CACHE_TTL;
use crate::config::{BackendStrategy, Operation, Paths, Settings};
use crate::error::{Error, Result};
use crate::observe::instrument::Instrumented;
use crate::routing::breaker::{CircuitBreaker, Guarded};

#[cfg(feature = "marketplace-v1")]
use ggen_marketplace_v1::V1Backend;
#[cfg(feature = "marketplace-v2")]
use ggen_marketplace_v2::V2Backend;

/// The marketplace of one home: its paths, its settings, and its backends,
/// opened on first use.
pub struct Marketplace {
    /// Where its state lives.
    pub paths: Paths,
    /// Its effective configuration.
    pub settings: Settings,
    #[cfg(feature = "marketplace-v1")]
    v1: OnceLock<Arc<V1Backend>>,
    #[cfg(feature = "marketplace-v2")]
    v2: OnceLock<Arc<V2Backend>>,
    subject: OnceLock<String>,
    /// Held while a backend is being opened: two threads of the server asking
    /// at once must not both open the store (RocksDB admits one opener per
    /// process; the second would wait out its store wait and fail).
    opening: std::sync::Mutex<()>,
    breakers: [Arc<CircuitBreaker>; 2],
    /// See [`Self::read_only`].
    read_only: bool,
    /// See [`Self::reads_only`].
    defer_store: bool,
    /// In-memory search tier for long-running processes (the server); see
    /// [`Self::with_memory_cache`].
    pub(crate) memory: Option<moka::sync::Cache<String, Arc<SearchResults>>>,
    /// In-memory package-metadata tier (server); see [`Self::with_package_cache`].
    packages: Option<crate::cache::packages::PackageTier>,
    /// In-memory SPARQL-result tier; see [`Self::with_sparql_cache`].
    #[cfg(feature = "marketplace-v2")]
    pub(crate) sparql_memory: Option<crate::cache::sparql::SparqlTier>,
}

impl Marketplace {
    /// A marketplace over `paths` with `settings`; nothing is opened yet.
    pub fn new(paths: Paths, settings: Settings) -> Self {
        Self {
            breakers: breakers(&paths, &settings, true),
            read_only: false,
            defer_store: false,
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

    /// Makes this marketplace write nothing, anywhere: for dry runs. The
    /// embedded V2 store opens read-only (holding off writers meanwhile), a
    /// registry that does not exist yet is an error instead of being seeded,
    /// and circuit breakers and the A/B subject are kept in memory only.
    pub fn read_only(mut self) -> Self {
        self.breakers = breakers(&self.paths, &self.settings, false);
        self.read_only = true;
        self
    }

    /// Tells this marketplace that its process only reads packages (search,
    /// list, info, versions, and installs, which write their target but not
    /// the registry): an embedded V2 store is then opened only when
    /// an answer needs it, which a search whose term index is current never
    /// does (see `V2Backend::open_embedded_deferred`). A registry not seeded
    /// yet is opened as usual, since seeding writes.
    pub fn reads_only(mut self) -> Self {
        self.defer_store = true;
        self
    }

    /// Whether this marketplace writes nothing ([`Self::read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Keeps up to `entries` SPARQL answers in memory (0 = none), above the disk
    /// tier; see the `cache::sparql` module.
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

    /// The A/B subject of this user (see `routing::bucket::subject`).
    pub fn subject(&self) -> &str {
        self.subject.get_or_init(|| {
            crate::routing::bucket::subject(
                &self.paths.config_dir,
                self.settings.user_id.as_deref(),
                !self.read_only,
            )
        })
    }

    /// Completes dual writes a killed process left half-done (see
    /// `routing::write_journal`); returns how many.
    #[cfg(feature = "marketplace-parallel")]
    pub fn recover_interrupted_writes(&self) -> Result<usize> {
        Ok(crate::routing::write_journal::recover(
            &self.paths.home,
            &*self.v1()?,
            &*self.v2()?,
        )?)
    }

    /// The V1 backend (opened on first use, then shared).
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

    /// The V2 backend (opened on first use, then shared). An embedded store
    /// held by another process is waited for as long as a command with no
    /// other backend waits ([`crate::config::StoreWait::alone`]).
    #[cfg(feature = "marketplace-v2")]
    pub fn v2(&self) -> Result<Arc<V2Backend>> {
        self.v2_within(self.settings.store_wait.alone())
    }

    /// The V2 backend if this process has opened it already.
    #[cfg(feature = "marketplace-v2")]
    pub fn v2_if_open(&self) -> Option<Arc<V2Backend>> {
        self.v2.get().cloned()
    }

    /// [`Self::v2`], waiting at most `wait` for a store another process holds.
    #[cfg(feature = "marketplace-v2")]
    pub(crate) fn v2_within(&self, wait: std::time::Duration) -> Result<Arc<V2Backend>> {
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
                let remote = crate::config::v2_endpoint(
                    &endpoint.value,
                    update,
                    &self.settings.v2_options,
                    // Every SPARQL request is bounded by the search timeout, so a
                    // stalled endpoint fails (and falls back) instead of hanging.
                    self.settings.search_timeout,
                )?;
                let b = V2Backend::remote_with(remote, &self.paths.registry)?;
                self.with_configured_fleet_lock(b)?
            }
            None if self.read_only => {
                V2Backend::open_embedded_read_only(&self.paths.registry, wait)?
            }
            None if self.defer_store && self.is_seeded() => {
                V2Backend::open_embedded_deferred(&self.paths.registry, wait)?
            }
            None => V2Backend::open_embedded_waiting(&self.paths.registry, wait)?,
        };
        let b = self.with_configured_blobs(b)?;
        Ok(self.v2.get_or_init(|| Arc::new(b)).clone())
    }

    /// `b` taking turns with a fleet's other writers through the etcd of
    /// `marketplace.v2.lock_url`, when set. The lock's key is the
    /// registry's graph, so every server of the fleet takes the same one;
    /// its value names this host and process for a waiting writer's message.
    #[cfg(feature = "marketplace-v2")]
    fn with_configured_fleet_lock(&self, b: V2Backend) -> Result<V2Backend> {
        let Some(url) = &self.settings.v2_options.lock_url else {
            return Ok(b);
        };
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().chars().take(64).collect::<String>())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "a server".into());
        let holder = format!("{host} (pid {})", std::process::id());
        let lock = ggen_marketplace_v2::FleetLock::new(&url.value, &b.registry_id()?, &holder)
            .map_err(|e| {
                crate::error::Error::Setup(format!("marketplace.v2.lock_url ({}): {e}", url.source))
            })?;
        Ok(b.with_fleet_lock(lock))
    }

    /// `b` keeping archives where `marketplace.blobs` says: an object store
    /// when set (each request bounded by the install timeout, an archive
    /// download's), else the registry's own `blobs/`.
    #[cfg(feature = "marketplace-v2")]
    fn with_configured_blobs(&self, b: V2Backend) -> Result<V2Backend> {
        let Some(blobs) = &self.settings.blobs else {
            return Ok(b);
        };
        let config = blobs
            .s3_config(self.settings.install_timeout)
            .map_err(|e| {
                crate::error::Error::Setup(format!("marketplace.blobs.{}: {}", e.field, e.reason))
            })?;
        let store = ggen_marketplace_s3::S3Blobs::new(config)?;
        Ok(b.with_blobs(Arc::new(store)))
    }

    /// Opens this registry's embedded V2 store (not cached; see [`Self::v2`]).
    #[cfg(feature = "marketplace-v2")]
    pub(crate) fn open_embedded_v2(&self) -> Result<V2Backend> {
        self.with_configured_blobs(V2Backend::open_embedded_waiting(
            &self.paths.registry,
            self.settings.store_wait.alone(),
        )?)
    }

    /// The V2 backend for `rebuild-db`: like [`Self::v2`], except that an
    /// embedded store whose directory was removed is created anew, empty,
    /// instead of being an error.
    #[cfg(feature = "marketplace-v2")]
    pub fn v2_for_rebuild(&self) -> Result<Arc<V2Backend>> {
        if self.settings.v2_endpoint.is_none() && self.v2.get().is_none() {
            let _opening = self.opening.lock().unwrap_or_else(|e| e.into_inner());
            if self.v2.get().is_none() {
                let b = Arc::new(self.with_configured_blobs(V2Backend::recreate_embedded(
                    &self.paths.registry,
                    self.settings.store_wait.alone(),
                )?)?);
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

    /// The circuit breaker guarding `kind`.
    pub fn breaker(&self, kind: BackendKind) -> &Arc<CircuitBreaker> {
        match kind {
            BackendKind::V1 => &self.breakers[0],
            BackendKind::V2 => &self.breakers[1],
        }
    }

    /// One backend behind its circuit breaker, with retries for reads.
    pub fn guarded(&self, kind: BackendKind) -> Result<Arc<dyn MarketplaceBackend>> {
        Ok(self.behind_breaker(kind, self.single(kind)?))
    }

    /// `backend` (of `kind`) behind its circuit breaker, with retries for reads.
    pub(crate) fn behind_breaker(
        &self,
        kind: BackendKind,
        backend: Arc<dyn MarketplaceBackend>,
    ) -> Arc<dyn MarketplaceBackend> {
        Arc::new(Guarded::new(
            backend,
            self.breaker(kind).clone(),
            self.settings.retry.clone(),
        ))
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
                Ok(Arc::new(crate::cache::packages::CachedPackages::new(
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
    pub(crate) fn routing_key(&self, op: Operation, subject: &str) -> String {
        match self.settings.strategy(op) {
            BackendStrategy::AbTest { v2_percentage } => format!(
                "{}|{}",
                self.settings.strategy(op),
                crate::routing::bucket::in_v2(op.as_str(), subject, v2_percentage)
            ),
            other => other.to_string(),
        }
    }

    /// Refuses `command` in remote mode: it works on a registry's own files
    /// (`migrate`, `rebuild-index`, `backup`, ...), which only the server's
    /// machine has.
    pub fn require_local(&self, command: &str) -> Result<()> {
        match self.remote_url() {
            None => Ok(()),
            Some(url) => Err(Error::Setup(format!(
                "`{command}` works on a local registry, but this command is set to use the registry server {url}; run it on the server's machine, or drop --registry / GGEN_REGISTRY_URL / registry.url"
            ))),
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
}

/// Each backend's circuit breaker, remembered across processes in the home
/// when `persist`.
fn breakers(paths: &Paths, settings: &Settings, persist: bool) -> [Arc<CircuitBreaker>; 2] {
    [BackendKind::V1, BackendKind::V2].map(|kind| {
        let file = persist.then(|| paths.home.join(format!("circuit-{kind}.json")));
        Arc::new(CircuitBreaker::new(kind, settings.breaker.clone(), file))
    })
}

fn not_compiled(kind: BackendKind) -> Error {
    Error::NotCompiled {
        backend: kind.to_string(),
        feature: format!("marketplace-{kind}"),
    }
}
