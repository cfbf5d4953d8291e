//! V2 backend: the registry as an RDF graph (ontology in `ontology/marketplace.ttl`,
//! see `ONTOLOGY.md`) in Oxigraph, queried with SPARQL, with an FST term index for
//! search.
//!
//! ```text
//! <registry>/v2/store/                     RocksDB (embedded mode)
//! <registry>/v2/store.generation           `clean N` or `dirty`: whether readers must open the store
//! <registry>/v2/terms/index.bin            term index base segment + the generation it was built from
//! <registry>/v2/terms/delta.bin            docs written since the base, + their generation
//! <registry>/v2/.lock                      writers' lock (a fleet's servers also take a lease in etcd)
//! <registry>/blobs/sha256/<ab>/<sha>.tar.gz archives, content-addressed (default)
//! ```
//!
//! Archives go to a [`BlobStore`]: the registry's `blobs/` folder unless
//! [`V2Backend::with_blobs`] gives another (object storage a fleet shares).
//!
//! Remote mode keeps the graph in a SPARQL 1.1 endpoint and the term index
//! and lock in a local directory: an endpoint stores triples,
//! not our FST, so each client keeps its own index and brings it up to the
//! endpoint's `mp:generation` whenever the two differ (checked at most once
//! per [`REMOTE_FRESHNESS`]): from the change feed when it accounts for every
//! generation in between, by a rebuild otherwise (`sync`, `store::feed`).
//!
//! Writers hold the lock, apply one atomic batch to the graph (which also bumps
//! `mp:generation` and records what changed in the feed), then update the
//! in-memory term index from the touched packages and save its delta
//! (`delta.bin`; the base `index.bin` only when the delta is merged into it,
//! `terms::layers`). A crash between the two leaves an index with an older
//! generation, which is caught up or rebuilt on next use.
//!
//! A process that only reads can open the embedded store on first need
//! ([`V2Backend::open_embedded_deferred`]): a search, listing, `info` or
//! install whose term index the generation marker vouches for is then
//! answered without opening RocksDB (see `store::embedded`).
//!
//! | module | holds |
//! |---|---|
//! | `backend` | the `MarketplaceBackend` implementation |
//! | `import` | bulk writes: migration's import, a backup's graph, counters |
//! | `graph` | SPARQL answers and RDF exports |
//! | `mapping` | the unified model as triples, and back |
//! | `store` | one interface over in-memory, embedded (RocksDB) and remote stores, and the change feed |
//! | `sync` | bringing a term index up to a newer generation |
//! | `snapshot` | a fleet's servers sharing their term index through the object store |
//! | `terms` | the FST term index search runs on |
//! | `topics` | the topic scheme in the graph, its import, and versions' links to it |
//! | `writers` | the writers' lock: a file lock, and a fleet's lease in etcd |
#![warn(missing_docs)]

mod backend;
mod graph;
mod import;
mod mapping;
mod snapshot;
mod store;
mod sync;
mod terms;
mod topics;
mod writers;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use ggen_marketplace_core::blobs::{BlobKey, BlobStore, LocalBlobs};
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::FileLock;
use ggen_marketplace_core::model::{Package, PackageVersion};
use ggen_marketplace_core::name::validate_name;
use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{NamedNode, Term};
use semver::Version;

use crate::mapping::{Nodes, mp, package_iri, version_iri};
use crate::snapshot::SnapshotsSeen;
use crate::store::{Change, Changed, GraphStore, Op, RemoteEndpoint};
use crate::sync::RefreshCounters;
use crate::terms::{Doc, TermIndex};
use ggen_marketplace_core::topics::TopicScheme;

pub use crate::graph::ExportFormat;
pub use crate::import::BULK_MIN_RELEASES;
pub use crate::store::RemoteEndpoint as Endpoint;
pub use crate::store::{
    Auth as EndpointAuth, DEFAULT_GRAPH, FEED_KEEP, Protocol as EndpointProtocol,
};
pub use crate::sync::IndexRefreshes;
pub use crate::topics::{MAX_TOPICS_BYTES, SUBJECT as TOPIC_LINK, TopicsImport};
pub use crate::writers::{FLEET_WAIT, FleetLock, LEASE_TTL, WriterLock};

/// V2's directory in the registry directory.
pub const V2_DIR: &str = "v2";
/// The embedded Oxigraph store, under [`V2_DIR`].
pub const STORE_DIR: &str = "store";
/// The term index, under [`V2_DIR`].
pub const TERMS_DIR: &str = "terms";
/// The writers' lock, under [`V2_DIR`].
pub const LOCK_FILE: &str = ".lock";
const BACKEND: &str = "v2";
/// Releases per atomic batch when an import is written transactionally.
const BATCH: usize = 500;
/// How many batches a full rebuild reads at once. Over an endpoint, one
/// read leaves the server (decoding terms) and this process (parsing and
/// indexing) each idle while the other works: with an `oxigraph serve` on
/// the same 2-core machine, one reader rebuilt 10k packages in 13 s, two and
/// four in 7.3 s, and at 100k four took 100 s to two's 111 s (BENCHMARKS.md).
/// Each reader holds one batch's answer, about 45 MB.
const READERS: usize = 4;
/// How long a remote endpoint's generation is trusted before it is asked
/// again: the longest a write through another client can go unseen.
pub const REMOTE_FRESHNESS: Duration = Duration::from_secs(1);

/// How long [`V2Backend::open_embedded`] waits for an embedded store another
/// process holds: another ggen command usually holds it for well under a
/// second. (The facade chooses its own waits; see its `StoreWait`.)
pub const DEFAULT_STORE_WAIT: Duration = Duration::from_secs(5);

/// The V2 backend: a graph store (in memory, embedded, or a SPARQL endpoint)
/// plus a blob store for archives and the term index on local disk.
pub struct V2Backend {
    /// Opened on first use when `deferred` says how (see [`Self::store`]).
    store: OnceLock<GraphStore>,
    deferred: Option<DeferredOpen>,
    /// Holds `v2/.lock` (and `v2/terms/` unless in memory, and `blobs/`
    /// unless archives go elsewhere).
    root: PathBuf,
    blobs: Arc<dyn BlobStore>,
    terms_dir: Option<PathBuf>,
    index: RwLock<Option<Arc<TermIndex>>>,
    last_check: Mutex<Option<Instant>>,
    /// Held while the deferred store is opened, so two threads never race to.
    opening: Mutex<()>,
    /// Opened for a dry run: nothing is written, not even the term index.
    read_only: bool,
    refreshes: RefreshCounters,
    snapshots: SnapshotsSeen,
    /// The fleet's writers' lock, taken after the local one.
    fleet_lock: Option<FleetLock>,
}

/// How to open an embedded store that has not been needed yet.
struct DeferredOpen {
    path: PathBuf,
    wait: Duration,
    read_only: bool,
}

impl V2Backend {
    fn with_store(store: GraphStore, root: PathBuf, terms_dir: Option<PathBuf>) -> Self {
        Self {
            store: OnceLock::from(store),
            deferred: None,
            blobs: Arc::new(LocalBlobs::new(&root)),
            root,
            terms_dir,
            index: RwLock::new(None),
            last_check: Mutex::new(None),
            opening: Mutex::new(()),
            read_only: false,
            refreshes: RefreshCounters::default(),
            snapshots: SnapshotsSeen::default(),
            fleet_lock: None,
        }
    }

    /// The default: a RocksDB store at `<registry>/v2/store` (created if missing).
    /// Fails with [`MarketplaceError::Unavailable`] when another process holds it.
    ///
    /// A store directory that is missing while its term index is present was
    /// removed (a fresh registry has neither): that is an error, not a new
    /// empty store, which would answer every search with nothing.
    pub fn open_embedded(registry_dir: impl Into<PathBuf>) -> Result<Self> {
        Self::open_embedded_waiting(registry_dir, DEFAULT_STORE_WAIT)
    }

    /// [`Self::open_embedded`], waiting up to `wait` for a store another
    /// process holds before it is [`MarketplaceError::Unavailable`].
    pub fn open_embedded_waiting(registry_dir: impl Into<PathBuf>, wait: Duration) -> Result<Self> {
        Self::embedded_at(registry_dir.into(), wait, false, false)
    }

    /// [`Self::open_embedded_waiting`] for a process that only reads: the
    /// store is opened on first need, and a search, listing, `info` or
    /// archive read that the term index answers while the store's marker
    /// vouches for it never opens RocksDB (so it neither waits for a store
    /// another process holds nor holds it).
    ///
    /// Not for a process that writes, or that takes a lock a store holder may
    /// wait for (the registry's writers' locks): a writer must open the store
    /// before any such lock, as every other writer does, or two of them can
    /// wait for each other for ever. An install's lock on its target
    /// directory is not one: no process waits for it while holding the store.
    pub fn open_embedded_deferred(
        registry_dir: impl Into<PathBuf>,
        wait: Duration,
    ) -> Result<Self> {
        Self::embedded_at(registry_dir.into(), wait, false, true)
    }

    /// The embedded store, opened without writing anything anywhere (a dry
    /// run): the store read-only, under its lock so no writer can change it
    /// meanwhile, and the term index kept in memory if it must be rebuilt.
    /// Every write is refused. Waits up to `wait` for a writer to finish.
    pub fn open_embedded_read_only(
        registry_dir: impl Into<PathBuf>,
        wait: Duration,
    ) -> Result<Self> {
        Self::embedded_at(registry_dir.into(), wait, true, false)
    }

    fn embedded_at(root: PathBuf, wait: Duration, read_only: bool, deferred: bool) -> Result<Self> {
        let store_dir = root.join(V2_DIR).join(STORE_DIR);
        let terms = root.join(V2_DIR).join(TERMS_DIR);
        if !store_dir.exists() && terms.exists() {
            return Err(MarketplaceError::Unavailable {
                backend: BACKEND.into(),
                reason: format!(
                    "the store {} is missing, though its term index is there: it was removed. `ggen marketplace rebuild-db` rebuilds it from the archives and the V1 index (or restore a backup)",
                    store_dir.display()
                ),
            });
        }
        let backend = Self {
            store: OnceLock::new(),
            deferred: Some(DeferredOpen {
                path: store_dir,
                wait,
                read_only,
            }),
            blobs: Arc::new(LocalBlobs::new(&root)),
            root,
            terms_dir: Some(terms),
            index: RwLock::new(None),
            last_check: Mutex::new(None),
            opening: Mutex::new(()),
            read_only,
            refreshes: RefreshCounters::default(),
            snapshots: SnapshotsSeen::default(),
            fleet_lock: None,
        };
        if !deferred {
            backend.store()?;
        }
        backend.index()?;
        Ok(backend)
    }

    /// The graph store, opening an embedded one on first use. A read the term
    /// index answers never gets here while the store's generation marker says
    /// the index is current (see [`Self::index`]), which spares a search the
    /// RocksDB open that was most of its process's time.
    fn store(&self) -> Result<&GraphStore> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let d = self
            .deferred
            .as_ref()
            .expect("a backend without a store has a deferred open");
        let _opening = self.opening.lock().expect("opening lock");
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = if d.read_only {
            GraphStore::embedded_read_only(&d.path, d.wait)?
        } else {
            GraphStore::embedded(&d.path, d.wait)?
        };
        Ok(self.store.get_or_init(|| store))
    }

    /// [`Self::open_embedded`] for a rebuild: a store that was removed is
    /// created anew, empty (its stale term index goes with it).
    pub fn recreate_embedded(registry_dir: impl Into<PathBuf>, wait: Duration) -> Result<Self> {
        let root = registry_dir.into();
        if !root.join(V2_DIR).join(STORE_DIR).exists() {
            let terms = root.join(V2_DIR).join(TERMS_DIR);
            match std::fs::remove_dir_all(&terms) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MarketplaceError::io(&terms, e)),
            }
        }
        Self::open_embedded_waiting(root, wait)
    }

    /// An in-memory graph (tests); archives still go to `<blob_root>/blobs/`, and
    /// the term index is kept in memory only.
    pub fn in_memory(blob_root: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self::with_store(
            GraphStore::memory()?,
            blob_root.into(),
            None,
        ))
    }

    /// A remote SPARQL 1.1 endpoint (`oxigraph serve` exposes `/query` and
    /// `/update`). `local_dir` holds the term index cache (`v2/terms/`), the
    /// writers' lock and the archives. Nothing is contacted until first use.
    pub fn remote(
        query_url: &str,
        update_url: &str,
        local_dir: impl Into<PathBuf>,
    ) -> Result<Self> {
        Self::remote_with(RemoteEndpoint::new(query_url, update_url), local_dir)
    }

    /// Like [`V2Backend::remote`], with every endpoint setting given.
    pub fn remote_with(endpoint: RemoteEndpoint, local_dir: impl Into<PathBuf>) -> Result<Self> {
        let root = local_dir.into();
        // One index cache per endpoint and graph, apart from the embedded
        // store's, so a registry dir used in several ways never loads another
        // graph's index.
        let identity = format!("{}\n{}", endpoint.query_url, endpoint.graph_name());
        let tag = &sha256_hex(identity.as_bytes())[..12];
        let terms = root.join(V2_DIR).join(format!("{TERMS_DIR}-remote-{tag}"));
        Ok(Self::with_store(
            GraphStore::remote(endpoint)?,
            root,
            Some(terms),
        ))
    }

    /// The local directory: lock, term index, and archives by default.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Keeps archives in `blobs` instead of the registry's `blobs/` folder:
    /// every server of a fleet gives the same shared store.
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }

    /// Where archives are kept.
    pub fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    /// The writers' lock; every write takes it first: this machine's file
    /// lock, then the fleet's when one is set ([`Self::with_fleet_lock`]).
    fn lock(&self) -> Result<WriterLock> {
        if self.read_only {
            return Err(MarketplaceError::Unsupported {
                backend: BACKEND.into(),
                operation: "writes".into(),
                reason: "this store was opened read-only, for a dry run".into(),
            });
        }
        // The store first, then the lock, in every process: a process that
        // took the lock and then waited for a store another writer holds
        // while waiting for the lock would wait for ever.
        self.store()?;
        let local = FileLock::exclusive(&self.root.join(V2_DIR).join(LOCK_FILE))?;
        let fleet = match &self.fleet_lock {
            Some(f) => Some(f.acquire(writers::FLEET_WAIT)?),
            None => None,
        };
        Ok(WriterLock::new(local, fleet))
    }

    /// Holds off every writer (in any process, and on any server of the
    /// fleet) while the guard lives: a backup takes it to read a consistent
    /// graph.
    pub fn write_lock(&self) -> Result<WriterLock> {
        self.lock()
    }

    /// Serialises this backend's writes with every other server's of a
    /// fleet through `lock`, an etcd lease (see `writers`), on top of the
    /// machine's file lock.
    pub fn with_fleet_lock(mut self, lock: FleetLock) -> Self {
        self.fleet_lock = Some(lock);
        self
    }

    /// What names this registry across a fleet (a digest of its graph on
    /// the endpoint), for keys that every server must agree on.
    pub fn registry_id(&self) -> Result<String> {
        let graph = self.store()?.registry_graph_name();
        Ok(sha256_hex(graph.as_bytes())[..16].to_string())
    }

    /// The graph's write counter (`mp:generation`), bumped by every write.
    pub fn generation(&self) -> Result<u64> {
        self.store()?.generation()
    }

    /// Number of triples in the graph.
    pub fn triple_count(&self) -> Result<usize> {
        self.store()?.len()
    }

    /// The term index, loaded or rebuilt when the graph has moved on.
    ///
    /// Before the embedded store is open, its generation marker stands in for
    /// it: a clean marker naming the generation `index.bin` was built from
    /// means the index is current, and the store is not opened at all. Any
    /// other marker (a write in progress, a crash, no marker) opens the store
    /// and asks it.
    fn index(&self) -> Result<Arc<TermIndex>> {
        let current = self.index.read().expect("index lock").clone();
        if let (Some(ix), Some(GraphStore::Remote(_))) = (&current, self.store.get()) {
            let last = *self.last_check.lock().expect("check lock");
            if last.is_some_and(|t| t.elapsed() < REMOTE_FRESHNESS) {
                return Ok(ix.clone());
            }
        }
        // A store directory without RocksDB's `CURRENT` is no store (removed,
        // or replaced): open it, to fail or fall back as before.
        if self.store.get().is_none()
            && let Some(d) = &self.deferred
            && d.path.join("CURRENT").is_file()
            && let Some(marked) = GraphStore::marked_generation(&d.path)
        {
            let known = current.clone().filter(|ix| ix.generation() == marked);
            let loaded = known.or_else(|| {
                let dir = self.terms_dir.as_deref()?;
                TermIndex::load(dir)
                    .filter(|ix| ix.generation() == marked)
                    .map(Arc::new)
            });
            if let Some(ix) = loaded {
                *self.index.write().expect("index lock") = Some(ix.clone());
                return Ok(ix);
            }
        }
        let generation = self.store()?.generation()?;
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        if let Some(ix) = current.clone().filter(|ix| ix.generation() == generation) {
            return Ok(ix);
        }
        // The saved index may be current (another process wrote it), or an
        // older start to catch up from (a restart after others wrote).
        let loaded = self.terms_dir.as_deref().and_then(TermIndex::load);
        let ix = match loaded {
            Some(ix) if ix.generation() == generation => ix,
            loaded => {
                let newest = [current.as_deref(), loaded.as_ref()]
                    .into_iter()
                    .flatten()
                    .filter(|ix| ix.generation() < generation)
                    .max_by_key(|ix| ix.generation());
                self.catch_up_or_build(newest, generation)?
            }
        };
        let ix = Arc::new(ix);
        *self.index.write().expect("index lock") = Some(ix.clone());
        Ok(ix)
    }

    /// `from` brought to `generation` from the change feed when it can be,
    /// else an index another server of the fleet saved, caught up (see
    /// `snapshot`), else a fresh build.
    fn catch_up_or_build(&self, from: Option<&TermIndex>, generation: u64) -> Result<TermIndex> {
        if let Some(from) = from
            && let Some(ix) = self.catch_up(from, generation)?
        {
            self.share_if_due(&ix, false);
            return Ok(ix);
        }
        if let Some(ix) = self.start_from_snapshot(generation)? {
            return Ok(ix);
        }
        self.build_index(generation)
    }

    /// Builds the term index from the graph, `BATCH` packages per read so
    /// memory stays bounded by the docs (reading the whole graph at once took
    /// 1.1 GB at 10k packages) and each remote query stays well within the
    /// endpoint timeout, [`READERS`] reads at a time ([`read_docs`]). The
    /// index is labelled with `generation`, read by the caller before the
    /// build: a write that lands during the build may be
    /// partly in it, but it has moved the graph past `generation` (which only
    /// grows), so that index is never taken as current again and the next use
    /// rebuilds. Retrying instead failed readers outright under a steady
    /// stream of publishes (the server's concurrency test).
    fn build_index(&self, generation: u64) -> Result<TermIndex> {
        let started = Instant::now();
        let store = self.store()?;
        let roots = store.subjects_of_type(&mp::package_class())?;
        let docs = read_docs(store, &roots)?;
        let scheme = self.read_scheme()?.map(Arc::new);
        // The feed entry of `generation` names the history this index is of,
        // so that later catch-ups can check it is still the endpoint's.
        let head = self
            .store()?
            .changes_since(generation)?
            .head_at(generation)
            .map(str::to_string);
        let ix = TermIndex::build(generation, docs)
            .with_scheme(scheme)
            .with_head(head);
        if let Some(dir) = self.terms_dir.as_ref().filter(|_| !self.read_only) {
            ix.save(dir)?;
        }
        self.refreshes.rebuilt();
        self.share_if_due(&ix, true);
        tracing::info!(
            packages = ix.len(),
            terms = ix.term_count(),
            ms = started.elapsed().as_millis() as u64,
            "v2 term index built"
        );
        Ok(ix)
    }

    /// Rebuilds the term index from the graph (`ggen marketplace rebuild-index`);
    /// returns the number of packages indexed.
    pub fn rebuild_index(&self) -> Result<usize> {
        let _lock = self.lock()?;
        let generation = self.store()?.generation()?;
        let ix = self.build_index(generation)?;
        let n = ix.len();
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        // Under the lock no write is in progress, so a marker a killed writer
        // left dirty can be settled.
        self.store()?.mark_clean();
        Ok(n)
    }

    /// Applies `ops` plus a generation bump under the caller's lock, then brings
    /// the term index up to date for `touched` packages. A graph without a
    /// topic scheme gets the shipped one in the same step.
    fn commit(&self, lock: &WriterLock, ops: Vec<Op>, touched: &[String]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let before = self.index()?;
        match self.topic_install(&before)? {
            Some((triples, scheme)) => {
                let mut all = vec![Op::Insert(triples)];
                all.extend(ops);
                self.commit_with(lock, all, touched, Some(scheme))
            }
            None => self.commit_with(lock, ops, touched, None),
        }
    }

    /// [`Self::commit`] with no scheme installed; with `scheme`, the graph's
    /// topic scheme is that one once `ops` are applied.
    fn commit_with(
        &self,
        lock: &WriterLock,
        mut ops: Vec<Op>,
        touched: &[String],
        scheme: Option<Arc<TopicScheme>>,
    ) -> Result<()> {
        let before = self.index()?;
        let change = Change::new(if scheme.is_some() || touched.is_empty() {
            Changed::Everything
        } else {
            Changed::Packages(touched.to_vec())
        });
        let head = change.id.clone();
        ops.push(Op::BumpGeneration(change));
        lock.check()?;
        self.store()?.apply(&ops)?;
        let generation = self.store()?.generation()?;
        let ix = if generation == before.generation() + 1 {
            let ix = if touched.is_empty() {
                // Only the topic scheme changed: the docs stay as they are.
                before.with_counters(generation, &[])?
            } else {
                let roots: Vec<NamedNode> = touched.iter().map(|n| package_iri(n)).collect();
                let packages = Nodes::new(&self.store()?.describe(&roots)?).packages()?;
                // Touched packages that no longer exist (a retracted last version).
                let removed: Vec<String> = touched
                    .iter()
                    .filter(|n| !packages.iter().any(|p| &p.name == *n))
                    .cloned()
                    .collect();
                before.with_changes(
                    generation,
                    packages.iter().map(Doc::from_package).collect(),
                    &removed,
                )?
            };
            let ix = match scheme {
                Some(s) => ix.with_scheme(Some(s)),
                None => ix,
            }
            .with_head(Some(head));
            if let Some(dir) = &self.terms_dir {
                ix.save(dir)?;
            }
            ix
        } else {
            // Someone else wrote to the endpoint in between; the feed holds
            // their changes and this one.
            self.catch_up_or_build(Some(&before), generation)?
        };
        self.share_if_due(&ix, false);
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        Ok(())
    }

    fn store_blob(&self, sha256: &str, archive: &[u8]) -> Result<()> {
        let key = BlobKey::parse(sha256).ok_or_else(|| MarketplaceError::InvalidArchive {
            reason: format!("`{sha256}` is not a sha256 digest"),
        })?;
        self.blobs.put(&key, archive)
    }

    fn exists(&self, s: &NamedNode, class: NamedNode) -> Result<bool> {
        self.store()?
            .contains(s, &rdf::TYPE.into_owned(), &Term::NamedNode(class))
    }

    fn hydrate_version(&self, name: &str, version: &Version) -> Result<Option<PackageVersion>> {
        let iri = version_iri(name, version);
        let triples = self.store()?.describe(std::slice::from_ref(&iri))?;
        if triples.is_empty() {
            return Ok(None);
        }
        Nodes::new(&triples).version(iri.as_str()).map(Some)
    }

    /// Whether the graph is in a SPARQL endpoint (rather than this process's
    /// or this machine's store).
    fn is_remote(&self) -> bool {
        matches!(self.store.get(), Some(GraphStore::Remote(_)))
    }

    /// The package `name` (already validated) as stored. A local graph's term
    /// index is brought up to its generation on every use, so its record of
    /// the package is the graph's, read in one lookup; a remote endpoint is
    /// asked directly, since the index trusts its generation for a second.
    fn stored_package(&self, name: &str) -> Result<Option<Package>> {
        if self.is_remote() {
            self.graph_package(name)
        } else {
            self.index()?.package(name)
        }
    }

    /// The package `name` (already validated) read from the graph itself: what
    /// a write that removes its triples must see.
    fn graph_package(&self, name: &str) -> Result<Option<Package>> {
        let iri = package_iri(name);
        let triples = self.store()?.describe(std::slice::from_ref(&iri))?;
        let nodes = Nodes::new(&triples);
        if !nodes.has_type(iri.as_str(), &mp::package_class()) {
            return Ok(None);
        }
        nodes.package(iri.as_str()).map(Some)
    }

    /// One stored version's record, or the not-found that names what is
    /// missing (an invalid name is simply not found: it never becomes an IRI).
    fn stored_release(&self, name: &str, version: &Version) -> Result<PackageVersion> {
        if validate_name(name).is_err() {
            return Err(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        if !self.is_remote() {
            // Fetching an archive needs its checksum, not the graph: the
            // record has it.
            let package = self
                .stored_package(name)?
                .ok_or_else(|| MarketplaceError::NotFound {
                    name: name.to_string(),
                })?;
            return package
                .versions
                .into_iter()
                .find(|v| v.version == *version)
                .ok_or_else(|| MarketplaceError::VersionNotFound {
                    name: name.to_string(),
                    requirement: format!("={version}"),
                });
        }
        self.graph_release(name, version)
    }

    /// [`Self::stored_release`] read from the graph itself (see
    /// [`Self::graph_package`]).
    fn graph_release(&self, name: &str, version: &Version) -> Result<PackageVersion> {
        if validate_name(name).is_err() {
            return Err(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        match self.hydrate_version(name, version)? {
            Some(r) => Ok(r),
            None => Err(self.missing_version(name, version)?),
        }
    }

    fn missing_version(&self, name: &str, version: &Version) -> Result<MarketplaceError> {
        if !self.exists(&package_iri(name), mp::package_class())? {
            return Ok(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        Ok(MarketplaceError::VersionNotFound {
            name: name.to_string(),
            requirement: format!("={version}"),
        })
    }
}

/// Fills what the registry knows better than the publisher: time and size.
pub(crate) fn complete(release: &PackageVersion, archive: &[u8]) -> PackageVersion {
    let mut r = release.clone();
    r.published_at.get_or_insert_with(Utc::now);
    r.size.get_or_insert(archive.len() as u64);
    r
}

/// The docs of the packages `roots`, read `BATCH` at a time by [`READERS`]
/// threads (in any order: the index sorts them). The first error stops every
/// reader and is returned.
fn read_docs(store: &GraphStore, roots: &[NamedNode]) -> Result<Vec<Doc>> {
    let batches: Vec<&[NamedNode]> = roots.chunks(BATCH).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let read = || -> Result<Vec<Doc>> {
        let mut docs = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            let packages = Nodes::new(&store.describe(batch).inspect_err(|_| {
                failed.store(true, Ordering::Relaxed);
            })?)
            .packages()
            .inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
            // Only what was asked for: an endpoint answering a package in two
            // batches would otherwise leave which copy is indexed to chance.
            let asked: HashSet<&str> = batch.iter().map(NamedNode::as_str).collect();
            docs.extend(
                packages
                    .iter()
                    .filter(|p| asked.contains(package_iri(&p.name).as_str()))
                    .map(Doc::from_package),
            );
        }
        Ok(docs)
    };
    let parts: Vec<Result<Vec<Doc>>> = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS.min(batches.len()))
            .map(|_| scope.spawn(read))
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().expect("a rebuild reader panicked"))
            .collect()
    });
    let mut docs = Vec::with_capacity(roots.len());
    for part in parts {
        docs.extend(part?);
    }
    Ok(docs)
}
