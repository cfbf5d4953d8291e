//! V2 backend: the registry as an RDF graph (ontology in `ontology/marketplace.ttl`,
//! see `ONTOLOGY.md`) in Oxigraph, queried with SPARQL, with an FST term index for
//! search.
//!
//! ```text
//! <registry>/v2/store/                     RocksDB (embedded mode)
//! <registry>/v2/terms/index.bin            term index + the graph generation it was built from
//! <registry>/v2/.lock                      writers' lock
//! <registry>/blobs/sha256/<ab>/<sha>.tar.gz archives, content-addressed
//! ```
//!
//! Remote mode keeps the graph in a SPARQL 1.1 endpoint and everything else
//! (term index, lock, blobs) in a local directory: an endpoint stores triples,
//! not our FST, so each client keeps its own index and rebuilds it from the
//! endpoint whenever the endpoint's `mp:generation` differs from the one the
//! index was built from (checked at most once a second).
//!
//! Writers hold the lock, apply one atomic batch to the graph (which also bumps
//! `mp:generation`), then update the in-memory term index from the touched
//! packages and rewrite `index.bin`. A crash between the two leaves an index
//! with an older generation, which is rebuilt on next use.
#![warn(missing_docs)]

mod mapping;
mod store;
mod terms;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use ggen_marketplace_core::checksum::{is_sha256_hex, sha256_hex};
use ggen_marketplace_core::fsutil::{FileLock, atomic_write};
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::name::validate_name;
use ggen_marketplace_core::search::{SearchHit, SearchQuery, SearchResults};
use ggen_marketplace_core::{
    ArchiveStream, BackendKind, BackendMetadata, Capabilities, MarketplaceBackend,
    MarketplaceError, Result,
};
use oxigraph::io::{JsonLdProfile, RdfFormat};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{NamedNode, Term};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use semver::Version;

use crate::mapping::{Nodes, mp, package_iri, version_iri};
use crate::store::{Answer, GraphStore, Op, RemoteEndpoint};
use crate::terms::{Doc, TermIndex};

pub use crate::store::RemoteEndpoint as Endpoint;

/// V2's directory in the registry directory.
pub const V2_DIR: &str = "v2";
/// The embedded Oxigraph store, under [`V2_DIR`].
pub const STORE_DIR: &str = "store";
/// The term index, under [`V2_DIR`].
pub const TERMS_DIR: &str = "terms";
/// The writers' lock, under [`V2_DIR`].
pub const LOCK_FILE: &str = ".lock";
/// Archives by SHA-256, in the registry directory.
pub const BLOBS_DIR: &str = "blobs";
const BACKEND: &str = "v2";
/// How long a remote endpoint's generation is trusted before it is asked again.
const REMOTE_FRESHNESS: Duration = Duration::from_secs(1);
/// Releases per atomic batch when an import is written transactionally.
const BATCH: usize = 500;
/// From this many new versions on, an import into a local store goes through
/// Oxigraph's bulk loader (one atomic SST ingestion) instead of transactions.
pub const BULK_MIN_RELEASES: usize = 2_000;

/// Formats [`V2Backend::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Turtle.
    Turtle,
    /// N-Triples.
    NTriples,
    /// JSON-LD.
    JsonLd,
}

impl std::str::FromStr for ExportFormat {
    type Err = MarketplaceError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "turtle" | "ttl" => Ok(Self::Turtle),
            "ntriples" | "n-triples" | "nt" => Ok(Self::NTriples),
            "jsonld" | "json-ld" => Ok(Self::JsonLd),
            other => Err(MarketplaceError::Unsupported {
                backend: BACKEND.into(),
                operation: "export".into(),
                reason: format!("unknown format `{other}` (expected turtle, ntriples or jsonld)"),
            }),
        }
    }
}

/// How long an embedded store held by another process is waited for: another
/// ggen command usually holds it for well under a second, so waiting is what
/// cargo does for its package lock.
pub const DEFAULT_STORE_WAIT: Duration = Duration::from_secs(5);

/// Where archives live: `<root>/blobs/sha256/<first 2 hex>/<sha256>.tar.gz`.
pub fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    let prefix = sha256.get(..2).unwrap_or("00");
    root.join(BLOBS_DIR)
        .join("sha256")
        .join(prefix)
        .join(format!("{sha256}.tar.gz"))
}

/// The V2 backend: a graph store (in memory, embedded, or a SPARQL endpoint)
/// plus the archives and term index on local disk.
pub struct V2Backend {
    store: GraphStore,
    /// Holds `blobs/` and `v2/.lock` (and `v2/terms/` unless in memory).
    root: PathBuf,
    terms_dir: Option<PathBuf>,
    index: RwLock<Option<Arc<TermIndex>>>,
    last_check: Mutex<Option<Instant>>,
}

impl V2Backend {
    fn with_store(store: GraphStore, root: PathBuf, terms_dir: Option<PathBuf>) -> Self {
        Self {
            store,
            root,
            terms_dir,
            index: RwLock::new(None),
            last_check: Mutex::new(None),
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
        let root = registry_dir.into();
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
        let store = GraphStore::embedded(&store_dir, wait)?;
        let backend = Self::with_store(store, root, Some(terms));
        backend.index()?;
        Ok(backend)
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
        // One index cache per endpoint, apart from the embedded store's, so a
        // registry dir used in both modes never loads the other graph's index.
        let tag = &sha256_hex(endpoint.query_url.as_bytes())[..12];
        let terms = root.join(V2_DIR).join(format!("{TERMS_DIR}-remote-{tag}"));
        Ok(Self::with_store(
            GraphStore::remote(endpoint),
            root,
            Some(terms),
        ))
    }

    /// The local directory: archives, lock and term index.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> Result<FileLock> {
        FileLock::exclusive(&self.root.join(V2_DIR).join(LOCK_FILE))
    }

    /// Holds off every writer (in any process) while the guard lives: a backup
    /// takes it to read a consistent graph.
    pub fn write_lock(&self) -> Result<FileLock> {
        self.lock()
    }

    /// Loads an N-Triples graph (a backup's `v2.nt`) into an empty store, in
    /// atomic batches, then rebuilds the term index. Returns the triple count.
    pub fn load_graph(&self, ntriples: &[u8]) -> Result<usize> {
        let _lock = self.lock()?;
        if self.triple_count()? > 0 {
            return Err(MarketplaceError::backend(
                BACKEND,
                "the store is not empty; a graph is only loaded into a new store",
            ));
        }
        let mut batch = Vec::with_capacity(BATCH * 20);
        let mut total = 0;
        for t in oxigraph::io::RdfParser::from_format(RdfFormat::NTriples).for_slice(ntriples) {
            let q = t.map_err(|e| MarketplaceError::InvalidArchive {
                reason: format!("the V2 graph does not parse: {e}"),
            })?;
            batch.push(oxigraph::model::Triple::from(q));
            if batch.len() >= BATCH * 20 {
                total += batch.len();
                self.store
                    .apply(&[Op::Insert(std::mem::take(&mut batch))])?;
            }
        }
        total += batch.len();
        self.store.apply(&[Op::Insert(batch), Op::BumpGeneration])?;
        let ix = self.build_index(self.store.generation()?)?;
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        Ok(total)
    }

    /// The graph's write counter (`mp:generation`), bumped by every write.
    pub fn generation(&self) -> Result<u64> {
        self.store.generation()
    }

    /// Number of triples in the graph.
    pub fn triple_count(&self) -> Result<usize> {
        self.store.len()
    }

    /// The term index, loaded or rebuilt when the graph has moved on.
    fn index(&self) -> Result<Arc<TermIndex>> {
        let current = self.index.read().expect("index lock").clone();
        if let (Some(ix), GraphStore::Remote(_)) = (&current, &self.store) {
            let last = *self.last_check.lock().expect("check lock");
            if last.is_some_and(|t| t.elapsed() < REMOTE_FRESHNESS) {
                return Ok(ix.clone());
            }
        }
        let generation = self.store.generation()?;
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        if let Some(ix) = current.filter(|ix| ix.generation() == generation) {
            return Ok(ix);
        }
        let loaded = self
            .terms_dir
            .as_deref()
            .and_then(|d| TermIndex::load(d, generation));
        let ix = match loaded {
            Some(ix) => ix,
            None => self.build_index(generation)?,
        };
        let ix = Arc::new(ix);
        *self.index.write().expect("index lock") = Some(ix.clone());
        Ok(ix)
    }

    /// Builds the term index from the graph, `BATCH` packages per read so
    /// memory stays bounded by the docs (reading the whole graph at once took
    /// 1.1 GB at 10k packages) and each remote query stays well within the
    /// endpoint timeout. The index is labelled with `generation`, read by the
    /// caller before the build: a write that lands during the build may be
    /// partly in it, but it has moved the graph past `generation` (which only
    /// grows), so that index is never taken as current again and the next use
    /// rebuilds. Retrying instead failed readers outright under a steady
    /// stream of publishes (the server's concurrency test).
    fn build_index(&self, generation: u64) -> Result<TermIndex> {
        let started = Instant::now();
        let roots = self.store.subjects_of_type(&mp::package_class())?;
        let mut docs = Vec::with_capacity(roots.len());
        for chunk in roots.chunks(BATCH) {
            let packages = Nodes::new(&self.store.describe(chunk)?).packages()?;
            docs.extend(packages.iter().map(Doc::from_package));
        }
        let ix = TermIndex::build(generation, docs);
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
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
        let generation = self.store.generation()?;
        let ix = self.build_index(generation)?;
        let n = ix.len();
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        Ok(n)
    }

    /// Applies `ops` plus a generation bump under the caller's lock, then brings
    /// the term index up to date for `touched` packages.
    fn commit(&self, mut ops: Vec<Op>, touched: &[String]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let before = self.index()?;
        ops.push(Op::BumpGeneration);
        self.store.apply(&ops)?;
        let generation = self.store.generation()?;
        let ix = if generation == before.generation() + 1 {
            let roots: Vec<NamedNode> = touched.iter().map(|n| package_iri(n)).collect();
            let packages = Nodes::new(&self.store.describe(&roots)?).packages()?;
            // Touched packages that no longer exist (a retracted last version).
            let removed: Vec<String> = touched
                .iter()
                .filter(|n| !packages.iter().any(|p| &p.name == *n))
                .cloned()
                .collect();
            let ix = before.with_changes(
                generation,
                packages.iter().map(Doc::from_package).collect(),
                &removed,
            )?;
            if let Some(dir) = &self.terms_dir {
                ix.save(dir)?;
            }
            ix
        } else {
            // Someone else wrote to the endpoint in between: start over.
            self.build_index(generation)?
        };
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        Ok(())
    }

    fn store_blob(&self, sha256: &str, archive: &[u8]) -> Result<()> {
        let path = blob_path(&self.root, sha256);
        if path.is_file()
            && std::fs::read(&path)
                .map(|b| sha256_hex(&b) == sha256)
                .unwrap_or(false)
        {
            return Ok(());
        }
        atomic_write(&path, archive)
    }

    fn exists(&self, s: &NamedNode, class: NamedNode) -> Result<bool> {
        self.store
            .contains(s, &rdf::TYPE.into_owned(), &Term::NamedNode(class))
    }

    /// Publishes many versions (seeding, benchmarks). Versions already present
    /// with the same checksum are skipped, so a re-run after a crash completes
    /// the work; the same version with another checksum is
    /// [`MarketplaceError::AlreadyPublished`]. Returns how many were added.
    pub fn publish_many(&self, releases: &[(PackageVersion, Vec<u8>)]) -> Result<usize> {
        self.import_stream(
            releases
                .iter()
                .map(|(r, a)| Ok((complete(r, a), Some(a.clone())))),
            &HashMap::new(),
        )
    }

    /// Copies versions in exactly as given (migration from V1): nothing is
    /// filled in, so V1 -> V2 stays lossless. A release without an archive is
    /// metadata only (the real public index has no archives); one with an
    /// archive must match its checksum. Re-runs skip what is already there.
    pub fn import(&self, releases: &[(PackageVersion, Option<Vec<u8>>)]) -> Result<usize> {
        self.import_stream(
            releases.iter().map(|(r, a)| Ok((r.clone(), a.clone()))),
            &HashMap::new(),
        )
    }

    /// [`Self::import`] from a stream, so a migration never holds every archive
    /// at once: each archive is checked and written to `blobs/` as it arrives
    /// and only the metadata is kept. The graph is then written in one atomic
    /// step: a bulk load into a local store once there are
    /// [`BULK_MIN_RELEASES`] or more, else (and always for a remote endpoint)
    /// atomic batches of `BATCH` versions. The first error stops the import
    /// before anything reaches the graph (archives already written stay: they
    /// are content-addressed and unreferenced).
    ///
    /// `counters` (`name -> (downloads, stars)`) are written with the packages
    /// this import creates, sparing a migration a second pass over every
    /// package; existing packages keep theirs (see [`Self::set_counters`]).
    pub fn import_stream(
        &self,
        releases: impl IntoIterator<Item = Result<(PackageVersion, Option<Vec<u8>>)>>,
        counters: &HashMap<String, (u64, u64)>,
    ) -> Result<usize> {
        let _lock = self.lock()?;
        // Ask a remote endpoint for its generation now rather than trust the
        // last second's answer: other clients may have written since.
        *self.last_check.lock().expect("check lock") = None;
        let before = self.index()?;
        // Versions seen so far: all of a remote graph's up front; a local graph
        // is asked per release. Later duplicates in the stream are then
        // skipped or refused like stored ones.
        let mut known = self.remote_versions()?.unwrap_or_default();
        let local = self.store.is_local();
        let mut fresh: Vec<PackageVersion> = Vec::new();
        for item in releases {
            let (release, archive) = item?;
            ggen_marketplace_core::backend::check_import(&release, archive.as_deref())?;
            let iri = version_iri(&release.name, &release.version);
            let existing = match known.get(iri.as_str()) {
                Some(c) => Some(c.clone()),
                None if local => self.local_checksum(&iri)?,
                None => None,
            };
            if let Some(existing) = existing {
                if existing == release.checksum {
                    continue;
                }
                return Err(MarketplaceError::AlreadyPublished {
                    name: release.name.clone(),
                    version: release.version.to_string(),
                });
            }
            if let (Some(archive), Some(sha)) = (&archive, release.checksum.as_deref()) {
                self.store_blob(sha, archive)?;
            }
            known.insert(iri.as_str().to_string(), release.checksum.clone());
            fresh.push(release);
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        // Package nodes for names the graph does not have yet, once each.
        let mut created: HashSet<String> = HashSet::new();
        let mut triples_of = |r: &PackageVersion| -> Vec<oxigraph::model::Triple> {
            let mut t = Vec::new();
            if !before.contains(&r.name) && created.insert(r.name.clone()) {
                let (downloads, stars) = counters.get(&r.name).copied().unwrap_or_default();
                t.extend(mapping::package_node_triples(&r.name, downloads, stars));
            }
            t.extend(mapping::version_triples(r));
            t
        };
        let bumps = if self.store.is_local() && fresh.len() >= BULK_MIN_RELEASES {
            // The next generation number goes in with the data, in the same
            // atomic ingestion (`generation()` reads the highest value), so no
            // index can be saved at that number without the data being there.
            // The bump after it drops the old value.
            let next = self.store.generation()? + 1;
            self.store.bulk_insert(
                fresh
                    .iter()
                    .flat_map(&mut triples_of)
                    .chain(store::generation_triples(next)),
            )?;
            self.store.apply(&[Op::BumpGeneration])?;
            2
        } else {
            let mut bumps = 0;
            for chunk in fresh.chunks(BATCH) {
                let triples = chunk.iter().flat_map(&mut triples_of).collect();
                self.store
                    .apply(&[Op::Insert(triples), Op::BumpGeneration])?;
                bumps += 1;
            }
            bumps
        };
        let generation = self.store.generation()?;
        let ix = if generation == before.generation() + bumps {
            self.index_with(&before, generation, &fresh, counters)?
        } else {
            // Someone else wrote to the endpoint in between: start over.
            self.build_index(generation)?
        };
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        Ok(fresh.len())
    }

    /// `before` with the packages `fresh` touched brought up to date: new
    /// packages are built from `fresh` itself (the mapping is lossless, so
    /// that is what the graph now holds), packages that had versions already
    /// are read back from the graph.
    fn index_with(
        &self,
        before: &TermIndex,
        generation: u64,
        fresh: &[PackageVersion],
        counters: &HashMap<String, (u64, u64)>,
    ) -> Result<TermIndex> {
        let mut new: HashMap<&str, Package> = HashMap::new();
        let mut old: Vec<NamedNode> = Vec::new();
        for r in fresh {
            if before.contains(&r.name) {
                old.push(package_iri(&r.name));
                continue;
            }
            new.entry(r.name.as_str())
                .or_insert_with(|| {
                    let (downloads, stars) = counters.get(&r.name).copied().unwrap_or_default();
                    Package {
                        name: r.name.clone(),
                        downloads,
                        stars,
                        versions: Vec::new(),
                    }
                })
                .versions
                .push(r.clone());
        }
        old.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        old.dedup();
        let mut docs: Vec<Doc> = new.values().map(Doc::from_package).collect();
        for chunk in old.chunks(BATCH) {
            let packages = Nodes::new(&self.store.describe(chunk)?).packages()?;
            docs.extend(packages.iter().map(Doc::from_package));
        }
        before.with_changes(generation, docs, &[])
    }

    /// Every version IRI and its checksum, for a remote endpoint (one query
    /// instead of one round trip per release); `None` for local stores, which
    /// answer point lookups in microseconds.
    fn remote_versions(&self) -> Result<Option<HashMap<String, Option<String>>>> {
        if self.store.is_local() {
            return Ok(None);
        }
        let q = format!(
            "SELECT ?v ?c WHERE {{ ?v {} {} . OPTIONAL {{ ?v {} ?c }} }}",
            rdf::TYPE,
            mp::version_class(),
            mp::checksum()
        );
        let mut known = HashMap::new();
        if let Answer::Solutions { rows, .. } = self.store.query(&store::parse_query(&q)?)? {
            for row in rows {
                if let Some(Some(Term::NamedNode(v))) = row.first() {
                    let c = match row.get(1) {
                        Some(Some(Term::Literal(l))) => Some(l.value().to_string()),
                        _ => None,
                    };
                    known.insert(v.as_str().to_string(), c);
                }
            }
        }
        Ok(Some(known))
    }

    /// `Some(checksum)` when the version is in a local graph.
    fn local_checksum(&self, iri: &NamedNode) -> Result<Option<Option<String>>> {
        if !self.exists(iri, mp::version_class())? {
            return Ok(None);
        }
        let checksum = self
            .store
            .objects(iri, &mp::checksum())?
            .into_iter()
            .find_map(|t| match t {
                Term::Literal(l) => Some(l.value().to_string()),
                _ => None,
            });
        Ok(Some(checksum))
    }

    /// Removes every package and version (`ggen marketplace rebuild-db` before a
    /// fresh migration). The generation counter is kept and bumped, so no cached
    /// term index from before the clear can be mistaken for the new state.
    /// Archives in `blobs/` stay: they are content-addressed and shared.
    pub fn clear(&self) -> Result<()> {
        let _lock = self.lock()?;
        let registry = mp::registry();
        let generation = mp::generation();
        let doomed: Vec<_> = self
            .store
            .all_triples()?
            .into_iter()
            .filter(|t| {
                !(t.subject.to_string() == registry.to_string() && t.predicate == generation)
            })
            .collect();
        self.store
            .apply(&[Op::Delete(doomed), Op::BumpGeneration])?;
        let ix = self.build_index(self.store.generation()?)?;
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        Ok(())
    }

    /// Sets package-wide counters `(name, downloads, stars)`; unknown names are skipped.
    pub fn set_counters(&self, counters: &[(String, u64, u64)]) -> Result<()> {
        let _lock = self.lock()?;
        *self.last_check.lock().expect("check lock") = None; // see import_stream
        let before = self.index()?;
        let mut ops = Vec::new();
        let mut set = Vec::new();
        for (name, downloads, stars) in counters {
            // The index is current under the lock: it lists exactly the graph's packages.
            if validate_name(name).is_err() || !before.contains(name) {
                continue;
            }
            let p = package_iri(name);
            ops.push(Op::DeleteValues(p.clone(), mp::downloads()));
            ops.push(Op::DeleteValues(p, mp::stars()));
            ops.push(Op::Insert(mapping::counter_triples(
                name, *downloads, *stars,
            )));
            set.push((name.clone(), *downloads, *stars));
        }
        if ops.is_empty() {
            return Ok(());
        }
        ops.push(Op::BumpGeneration);
        self.store.apply(&ops)?;
        let generation = self.store.generation()?;
        let ix = if generation == before.generation() + 1 {
            before.with_counters(generation, &set)?
        } else {
            self.build_index(generation)?
        };
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        Ok(())
    }

    /// Runs a read-only SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE; anything
    /// else is refused before it reaches the store) and returns the answer
    /// serialized: SPARQL 1.1 JSON results for SELECT/ASK, JSON-LD for graphs.
    pub fn sparql_select(&self, query_text: &str) -> Result<String> {
        let query = store::parse_query(query_text)?;
        match &query {
            spargebra::Query::Select { .. }
            | spargebra::Query::Ask { .. }
            | spargebra::Query::Construct { .. }
            | spargebra::Query::Describe { .. } => {}
        }
        let ser_err = |e: std::io::Error| {
            MarketplaceError::backend(BACKEND, format!("serializing results: {e}"))
        };
        let bytes = match self.store.query(&query)? {
            Answer::Boolean(b) => QueryResultsSerializer::from_format(QueryResultsFormat::Json)
                .serialize_boolean_to_writer(Vec::new(), b)
                .map_err(ser_err)?,
            Answer::Solutions { variables, rows } => {
                let mut w = QueryResultsSerializer::from_format(QueryResultsFormat::Json)
                    .serialize_solutions_to_writer(Vec::new(), variables.clone())
                    .map_err(ser_err)?;
                for row in &rows {
                    w.serialize(
                        variables
                            .iter()
                            .zip(row)
                            .filter_map(|(v, t)| t.as_ref().map(|t| (v.as_ref(), t.as_ref()))),
                    )
                    .map_err(ser_err)?;
                }
                w.finish().map_err(ser_err)?
            }
            Answer::Graph(triples) => serialize_triples(&triples, jsonld())?,
        };
        String::from_utf8(bytes).map_err(|e| MarketplaceError::backend(BACKEND, e))
    }

    /// Dumps the whole graph.
    pub fn export(&self, format: ExportFormat) -> Result<Vec<u8>> {
        self.store.export(match format {
            ExportFormat::Turtle => RdfFormat::Turtle,
            ExportFormat::NTriples => RdfFormat::NTriples,
            ExportFormat::JsonLd => jsonld(),
        })
    }

    fn hydrate_version(&self, name: &str, version: &Version) -> Result<Option<PackageVersion>> {
        let iri = version_iri(name, version);
        let triples = self.store.describe(std::slice::from_ref(&iri))?;
        if triples.is_empty() {
            return Ok(None);
        }
        Nodes::new(&triples).version(iri.as_str()).map(Some)
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

fn jsonld() -> RdfFormat {
    RdfFormat::JsonLd {
        profile: JsonLdProfile::Streaming.into(),
    }
}

fn serialize_triples(triples: &[oxigraph::model::Triple], format: RdfFormat) -> Result<Vec<u8>> {
    let err =
        |e: std::io::Error| MarketplaceError::backend(BACKEND, format!("serializing RDF: {e}"));
    let mut ser = oxigraph::io::RdfSerializer::from_format(format).for_writer(Vec::new());
    for t in triples {
        ser.serialize_triple(t).map_err(err)?;
    }
    ser.finish().map_err(err)
}

/// Fills what the registry knows better than the publisher: time and size.
fn complete(release: &PackageVersion, archive: &[u8]) -> PackageVersion {
    let mut r = release.clone();
    r.published_at.get_or_insert_with(Utc::now);
    r.size.get_or_insert(archive.len() as u64);
    r
}

impl MarketplaceBackend for V2Backend {
    fn kind(&self) -> BackendKind {
        BackendKind::V2
    }

    fn metadata(&self) -> Result<BackendMetadata> {
        let ix = self.index()?;
        let q = format!(
            "SELECT (COUNT(?v) AS ?n) WHERE {{ ?v {} {} }}",
            rdf::TYPE,
            mp::version_class()
        );
        let version_count = match self.store.query(&store::parse_query(&q)?)? {
            Answer::Solutions { rows, .. } => rows
                .first()
                .and_then(|r| r.first())
                .and_then(|t| t.as_ref())
                .and_then(store::term_u64)
                .unwrap_or(0) as usize,
            _ => 0,
        };
        let (storage, location) = self.store.describe_location();
        Ok(BackendMetadata {
            kind: BackendKind::V2,
            storage,
            location,
            package_count: ix.len(),
            version_count,
            capabilities: Capabilities {
                supports_full_text_search: true,
                supports_sparql_queries: true,
                supports_rdf_metadata: true,
                supports_cryptographic_signing: true,
                supports_publish: true,
            },
        })
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        query.validate()?;
        let started = Instant::now();
        let ix = self.index()?;
        let (page, total) = ix.search(query)?;
        let hits = page
            .iter()
            .map(|s| {
                let d = &ix.doc(s.doc)?.summary;
                Ok(SearchHit {
                    name: d.name.clone(),
                    version: d.version.clone(),
                    description: d.description.clone(),
                    category: d.category.clone(),
                    tags: d.tags.clone(),
                    downloads: d.downloads,
                    score: s.score,
                })
            })
            .collect::<Result<_>>()?;
        Ok(SearchResults {
            hits,
            total,
            backend_used: BackendKind::V2,
            query_time: started.elapsed(),
        })
    }

    fn package(&self, name: &str) -> Result<Package> {
        let not_found = || MarketplaceError::NotFound {
            name: name.to_string(),
        };
        if validate_name(name).is_err() {
            return Err(not_found());
        }
        let iri = package_iri(name);
        let triples = self.store.describe(std::slice::from_ref(&iri))?;
        let nodes = Nodes::new(&triples);
        if !nodes.has_type(iri.as_str(), &mp::package_class()) {
            return Err(not_found());
        }
        nodes.package(iri.as_str())
    }

    fn list(&self) -> Result<Vec<PackageSummary>> {
        // The term index holds every package's summary and is brought up to date
        // with the graph before use, so listing needs no pass over the store.
        let ix = self.index()?;
        let mut out: Vec<PackageSummary> = (0..ix.len() as u32)
            .map(|i| Ok(ix.doc(i)?.summary.clone()))
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        if validate_name(name).is_err() {
            return Err(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        let release = match self.hydrate_version(name, version)? {
            Some(r) => r,
            None => return Err(self.missing_version(name, version)?),
        };
        let expected = release.checksum.clone().unwrap_or_default();
        let path = blob_path(&self.root, &expected);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(MarketplaceError::ArchiveMissing {
                    name: name.to_string(),
                    version: version.to_string(),
                    path,
                });
            }
            Err(e) => return Err(MarketplaceError::io(&path, e)),
        };
        let actual = sha256_hex(&bytes);
        if actual != expected {
            return Err(MarketplaceError::ChecksumMismatch {
                name: name.to_string(),
                version: version.to_string(),
                expected: release.checksum.unwrap_or_else(|| "(none)".into()),
                actual,
            });
        }
        Ok(bytes)
    }

    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        if validate_name(name).is_err() {
            return Err(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        let release = match self.hydrate_version(name, version)? {
            Some(r) => r,
            None => return Err(self.missing_version(name, version)?),
        };
        let expected = release.checksum.as_deref().filter(|c| is_sha256_hex(c));
        ggen_marketplace_core::archive::open_stored(
            &blob_path(&self.root, expected.unwrap_or_default()),
            name,
            version,
            expected,
        )
    }

    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        let _lock = self.lock()?;
        ggen_marketplace_core::backend::check_release(release, archive)?;
        let iri = version_iri(&release.name, &release.version);
        if self.exists(&iri, mp::version_class())? {
            return Err(MarketplaceError::AlreadyPublished {
                name: release.name.clone(),
                version: release.version.to_string(),
            });
        }
        let release = complete(release, archive);
        self.store_blob(release.checksum.as_deref().unwrap_or_default(), archive)?;
        let mut triples = Vec::new();
        if !self.exists(&package_iri(&release.name), mp::package_class())? {
            triples.extend(mapping::package_node_triples(&release.name, 0, 0));
        }
        triples.extend(mapping::version_triples(&release));
        self.commit(
            vec![Op::Insert(triples)],
            std::slice::from_ref(&release.name),
        )
    }

    fn retract(&self, name: &str, version: &Version) -> Result<()> {
        let _lock = self.lock()?;
        let Some(stored) = self.hydrate_version(name, version)? else {
            return Err(self.missing_version(name, version)?);
        };
        // The mapping is lossless, so mapping the stored version again yields
        // exactly the triples it was written as.
        let mut doomed = mapping::version_triples(&stored);
        let pkg = self.package(name)?;
        if pkg.versions.len() == 1 {
            doomed.extend(mapping::package_node_triples(
                name,
                pkg.downloads,
                pkg.stars,
            ));
        }
        // The archive blob stays: blobs are content-addressed and may be shared.
        self.commit(vec![Op::Delete(doomed)], &[name.to_string()])
    }

    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        let _lock = self.lock()?;
        if validate_name(name).is_err() {
            return Err(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        let iri = version_iri(name, version);
        if !self.exists(&iri, mp::version_class())? {
            return Err(self.missing_version(name, version)?);
        }
        self.commit(
            vec![
                Op::DeleteValues(iri, mp::yanked()),
                Op::Insert(vec![mapping::yanked_triple(name, version, yanked)]),
            ],
            &[name.to_string()],
        )
    }
}
