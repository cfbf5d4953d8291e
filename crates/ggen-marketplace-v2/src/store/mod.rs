//! Where the graph lives: an embedded Oxigraph store (RocksDB, the default), an
//! in-memory store (tests), or a remote SPARQL 1.1 endpoint (query + update URLs,
//! the registry in a named graph there, so a shared server can hold other data).
//!
//! Everything above this module talks to a [`GraphStore`] only. Writes are a
//! list of [`Op`]s applied atomically: in one Oxigraph transaction locally, in
//! one SPARQL Update request (operations separated by `;`) remotely. SPARQL text
//! sent to an endpoint is only ever assembled from typed terms (`NamedNode`,
//! `Literal`), whose `Display` is the escaped N-Triples/SPARQL form; no user
//! string is pasted into query text. Opening the embedded store (waiting for
//! another process, or reading without writing) is `embedded`'s; talking to an
//! endpoint, `remote`'s, with its settings in `endpoint`. A local store is the
//! registry's alone, so there the graph is the default graph. Beside the
//! registry's graph a store holds the change feed (`feed`) and, on an
//! endpoint, the list of term indexes a fleet saved in object storage
//! (`snapshots`).

use std::fmt::Write as _;
use std::path::PathBuf;

use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::io::RdfFormat;
use oxigraph::model::vocab::xsd;
use oxigraph::model::{GraphNameRef, Literal, NamedNode, NamedOrBlankNode, Quad, Term, Triple};
use oxigraph::sparql::{QueryResults, SparqlEvaluator, Variable};
use oxigraph::store::Store;

use crate::mapping::mp;

mod embedded;
mod endpoint;
mod feed;
mod remote;
mod snapshots;

pub use endpoint::{Auth, DEFAULT_GRAPH, Protocol, RemoteEndpoint};
pub use feed::{Change, Changed, ChangesSince, KEEP as FEED_KEEP};
use remote::Remote;
pub use snapshots::IndexSnapshot;

const BACKEND: &str = "v2";

/// A change to the graph. A batch of them is applied atomically.
#[derive(Debug, Clone)]
pub enum Op {
    Insert(Vec<Triple>),
    /// Removes exactly these triples (as read back from the store).
    Delete(Vec<Triple>),
    /// Removes every `<s> <p> ?o`.
    DeleteValues(NamedNode, NamedNode),
    /// Adds one to the registry's `mp:generation` (0 when absent) and
    /// records in the change feed what the batch changed.
    BumpGeneration(Change),
}

/// The answer to a SPARQL query, fully read.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Solutions {
        variables: Vec<Variable>,
        rows: Vec<Vec<Option<Term>>>,
    },
    Boolean(bool),
    Graph(Vec<Triple>),
}

pub enum GraphStore {
    Memory(Store),
    Embedded {
        store: Store,
        path: PathBuf,
        /// Held by a read-only open: keeps RocksDB writers out meanwhile.
        /// Declared after `store`, so it is released after the store closes.
        #[cfg(unix)]
        _writers_out: Option<ggen_marketplace_core::fsutil::RecordLock>,
    },
    Remote(Box<Remote>),
}

/// Memory the bulk loader aims to stay within (its default is 2 GB per thread).
const BULK_MEMORY_MB: usize = 512;

fn storage_err(e: impl std::fmt::Display) -> MarketplaceError {
    MarketplaceError::backend(BACKEND, format!("oxigraph: {e}"))
}

impl GraphStore {
    pub fn memory() -> Result<Self> {
        Ok(Self::Memory(Store::new().map_err(storage_err)?))
    }

    /// A client of `endpoint`; nothing is contacted until first use. Fails
    /// only on a CA file that cannot be read.
    pub fn remote(endpoint: RemoteEndpoint) -> Result<Self> {
        Ok(Self::Remote(Box::new(Remote::new(endpoint)?)))
    }

    pub fn describe_location(&self) -> (String, String) {
        match self {
            Self::Memory(_) => ("oxigraph (memory)".into(), "memory".into()),
            Self::Embedded { path, .. } => {
                ("oxigraph (rocksdb)".into(), path.display().to_string())
            }
            Self::Remote(r) => (
                "sparql endpoint".into(),
                format!(
                    "{} (graph {})",
                    remote::shown_url(&r.endpoint().query_url),
                    r.endpoint().graph_name()
                ),
            ),
        }
    }

    /// The registry graph's name on an endpoint (`default` for its default
    /// graph); the built-in graph's for a local store.
    pub fn registry_graph_name(&self) -> String {
        match self {
            Self::Remote(r) => r.endpoint().graph_name(),
            _ => DEFAULT_GRAPH.to_string(),
        }
    }

    /// The graph updates go to on a remote endpoint (`None`: its default
    /// graph, and always for a local store).
    fn remote_graph(&self) -> Option<&NamedNode> {
        match self {
            Self::Remote(r) => r.endpoint().graph.as_ref(),
            _ => None,
        }
    }

    fn local(&self) -> Option<&Store> {
        match self {
            Self::Memory(s) | Self::Embedded { store: s, .. } => Some(s),
            Self::Remote(_) => None,
        }
    }

    /// Runs a query already checked by spargebra.
    pub fn query(&self, query: &spargebra::Query) -> Result<Answer> {
        match self {
            Self::Memory(s) | Self::Embedded { store: s, .. } => {
                let results = SparqlEvaluator::new()
                    .for_query(query.clone())
                    .on_store(s)
                    .execute()
                    .map_err(|e| {
                        MarketplaceError::backend(BACKEND, format!("query failed: {e}"))
                    })?;
                collect(results)
            }
            Self::Remote(r) => r.query(query),
        }
    }

    /// Values of `<s> <p> ?o`.
    pub fn objects(&self, s: &NamedNode, p: &NamedNode) -> Result<Vec<Term>> {
        match self.local() {
            Some(store) => store
                .quads_for_pattern(
                    Some(s.as_ref().into()),
                    Some(p.as_ref()),
                    None,
                    Some(GraphNameRef::DefaultGraph),
                )
                .map(|q| q.map(|q| q.object).map_err(storage_err))
                .collect(),
            None => {
                let q = format!("SELECT ?o WHERE {{ {s} {p} ?o }}");
                Ok(self
                    .select_rows(&q)?
                    .into_iter()
                    .filter_map(|mut r| r.pop().flatten())
                    .collect())
            }
        }
    }

    fn select_rows(&self, text: &str) -> Result<Vec<Vec<Option<Term>>>> {
        let q = parse_query(text)?;
        match self.query(&q)? {
            Answer::Solutions { rows, .. } => Ok(rows),
            other => Err(MarketplaceError::backend(
                BACKEND,
                format!("expected solutions, got {other:?}"),
            )),
        }
    }

    pub fn generation(&self) -> Result<u64> {
        let values = self.objects(&mp::registry(), &mp::generation())?;
        Ok(values.iter().filter_map(term_u64).max().unwrap_or(0))
    }

    pub fn contains(&self, s: &NamedNode, p: &NamedNode, o: &Term) -> Result<bool> {
        match self.local() {
            Some(store) => store
                .contains(oxigraph::model::QuadRef::new(
                    s,
                    p,
                    o,
                    GraphNameRef::DefaultGraph,
                ))
                .map_err(storage_err),
            None => {
                let q = parse_query(&format!("ASK {{ {s} {p} {o} }}"))?;
                match self.query(&q)? {
                    Answer::Boolean(b) => Ok(b),
                    other => Err(MarketplaceError::backend(
                        BACKEND,
                        format!("expected a boolean, got {other:?}"),
                    )),
                }
            }
        }
    }

    /// Every triple of the node trees rooted at `roots` (packages or
    /// versions): the root, the nodes it links as a package or version does
    /// (`mp:hasVersion`, `mp:tag`, `mp:keyword`, `mp:author`,
    /// `mp:dependency`, `mp:signature`), and theirs in turn; see
    /// [`crate::mapping`]. The embedded walk takes only children whose IRI
    /// extends the parent's with `/`; over an endpoint that check is left to
    /// the mapping ([`crate::mapping::Nodes`] refuses a link out of its own
    /// tree), which keeps the query to index lookups: a `STRSTARTS` filter
    /// per row, with `DISTINCT`, made it take twice as long on Oxigraph.
    pub fn describe(&self, roots: &[NamedNode]) -> Result<Vec<Triple>> {
        if roots.is_empty() {
            return Ok(Vec::new());
        }
        match self.local() {
            Some(store) => {
                let mut out = Vec::new();
                let mut queue: Vec<NamedNode> = roots.to_vec();
                while let Some(s) = queue.pop() {
                    let prefix = format!("{}/", s.as_str());
                    for q in store.quads_for_pattern(
                        Some(s.as_ref().into()),
                        None,
                        None,
                        Some(GraphNameRef::DefaultGraph),
                    ) {
                        let q = q.map_err(storage_err)?;
                        if let Term::NamedNode(o) = &q.object
                            && o.as_str().starts_with(&prefix)
                        {
                            queue.push(o.clone());
                        }
                        out.push(Triple::from(q));
                    }
                }
                Ok(out)
            }
            None => {
                let mut values = String::new();
                for r in roots {
                    write!(values, "{r} ").expect("write to string");
                }
                let links = |ps: &[NamedNode]| {
                    ps.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let entries = [
                    mp::tag(),
                    mp::keyword(),
                    mp::author(),
                    mp::dependency(),
                    mp::signature(),
                ];
                let children = links(&[&[mp::has_version()][..], &entries].concat());
                let entries = links(&entries);
                // VALUES sits inside each branch: a group is evaluated on its own,
                // so a `?root` bound only outside would be unbound within it.
                let q = format!(
                    "SELECT ?s ?p ?o WHERE {{ \
                     {{ VALUES ?root {{ {values}}} ?root ?p ?o . BIND(?root AS ?s) }} \
                     UNION {{ VALUES ?root {{ {values}}} ?root ?link ?s . \
                     FILTER(?link IN ({children})) ?s ?p ?o }} \
                     UNION {{ VALUES ?root {{ {values}}} ?root {has_version} ?v . ?v ?link ?s . \
                     FILTER(?link IN ({entries})) ?s ?p ?o }} }}",
                    has_version = mp::has_version(),
                );
                rows_to_triples(self.select_rows(&q)?)
            }
        }
    }

    /// Every subject typed `class` (`?s rdf:type class`), sorted.
    pub fn subjects_of_type(&self, class: &NamedNode) -> Result<Vec<NamedNode>> {
        let mut out: Vec<NamedNode> = match self.local() {
            Some(store) => {
                let mut out = Vec::new();
                for q in store.quads_for_pattern(
                    None,
                    Some(oxigraph::model::vocab::rdf::TYPE),
                    Some(class.as_ref().into()),
                    Some(GraphNameRef::DefaultGraph),
                ) {
                    if let NamedOrBlankNode::NamedNode(n) = q.map_err(storage_err)?.subject {
                        out.push(n);
                    }
                }
                out
            }
            None => self
                .select_rows(&format!(
                    "SELECT ?s WHERE {{ ?s {} {class} }}",
                    oxigraph::model::vocab::rdf::TYPE
                ))?
                .into_iter()
                .filter_map(|row| match row.into_iter().next() {
                    Some(Some(Term::NamedNode(n))) => Some(n),
                    _ => None,
                })
                .collect(),
        };
        out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(out)
    }

    /// The whole default graph.
    pub fn all_triples(&self) -> Result<Vec<Triple>> {
        match self.local() {
            Some(store) => store
                .quads_for_pattern(None, None, None, Some(GraphNameRef::DefaultGraph))
                .map(|q| q.map(Triple::from).map_err(storage_err))
                .collect(),
            None => rows_to_triples(self.select_rows("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")?),
        }
    }

    /// Number of triples in the default graph.
    pub fn len(&self) -> Result<usize> {
        match self.local() {
            Some(store) => Ok(store
                .quads_for_pattern(None, None, None, Some(GraphNameRef::DefaultGraph))
                .count()),
            None => {
                let rows = self.select_rows("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")?;
                Ok(rows
                    .first()
                    .and_then(|r| r.first())
                    .and_then(|t| t.as_ref())
                    .and_then(term_u64)
                    .unwrap_or(0) as usize)
            }
        }
    }

    /// Refuses writes to an embedded store whose directory was removed while
    /// this process had it open: RocksDB would go on writing to the unlinked
    /// files, and the write would vanish when the process ends.
    fn check_present(&self) -> Result<()> {
        match self {
            Self::Embedded { path, .. } if !path.is_dir() => Err(MarketplaceError::Unavailable {
                backend: BACKEND.into(),
                reason: format!(
                    "the store directory {} was removed while this process had it open; nothing was written to it. Restart, then run `ggen marketplace rebuild-db`",
                    path.display()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Applies `ops` atomically.
    pub fn apply(&self, ops: &[Op]) -> Result<()> {
        self.check_present()?;
        self.mark_dirty()?;
        let applied = self.apply_marked(ops);
        if applied.is_ok() {
            self.mark_clean();
        }
        applied
    }

    fn apply_marked(&self, ops: &[Op]) -> Result<()> {
        match self {
            Self::Memory(s) | Self::Embedded { store: s, .. } => {
                let mut tx = s.start_transaction().map_err(storage_err)?;
                for op in ops {
                    match op {
                        Op::Insert(ts) => {
                            for t in ts {
                                tx.insert(t.as_ref().in_graph(GraphNameRef::DefaultGraph));
                            }
                        }
                        Op::Delete(ts) => {
                            for t in ts {
                                tx.remove(t.as_ref().in_graph(GraphNameRef::DefaultGraph));
                            }
                        }
                        Op::DeleteValues(subject, predicate) => {
                            let found: Vec<Quad> = tx
                                .quads_for_pattern(
                                    Some(subject.as_ref().into()),
                                    Some(predicate.as_ref()),
                                    None,
                                    Some(GraphNameRef::DefaultGraph),
                                )
                                .collect::<std::result::Result<_, _>>()
                                .map_err(storage_err)?;
                            for q in &found {
                                tx.remove(q);
                            }
                        }
                        Op::BumpGeneration(change) => {
                            let reg = mp::registry();
                            let gen_p = mp::generation();
                            let found: Vec<Quad> = tx
                                .quads_for_pattern(
                                    Some(reg.as_ref().into()),
                                    Some(gen_p.as_ref()),
                                    None,
                                    Some(GraphNameRef::DefaultGraph),
                                )
                                .collect::<std::result::Result<_, _>>()
                                .map_err(storage_err)?;
                            let current = found
                                .iter()
                                .filter_map(|q| term_u64(&q.object))
                                .max()
                                .unwrap_or(0);
                            for q in &found {
                                tx.remove(q);
                            }
                            for t in generation_triples(current + 1) {
                                tx.insert(t.as_ref().in_graph(GraphNameRef::DefaultGraph));
                            }
                            feed::record_local(&mut tx, current + 1, change)?;
                        }
                    }
                }
                tx.commit().map_err(storage_err)
            }
            Self::Remote(r) => r.update(&render_update(ops, self.remote_graph())),
        }
    }

    /// Replaces a remote endpoint's registry graph with `triples` in one
    /// visible step (see `Remote::replace_graph`). Remote stores only: a
    /// local store is restored by building a new one.
    pub fn replace_remote_graph(&self, triples: &[Triple], batch: usize) -> Result<()> {
        match self {
            Self::Remote(r) => r.replace_graph(triples, batch, self.generation()?),
            _ => Err(MarketplaceError::backend(
                BACKEND,
                "replacing the graph in place is for remote endpoints; a local store is restored as a new store",
            )),
        }
    }

    /// Whether [`Self::bulk_insert`] goes through Oxigraph's bulk loader.
    pub fn is_local(&self) -> bool {
        self.local().is_some()
    }

    /// Inserts many triples in one atomic step through Oxigraph's bulk loader:
    /// it sorts them into SST files and ingests those at `commit`, skipping the
    /// memtable that dominates transactional writes (an import of 10k packages
    /// spent most of its 57 s in RocksDB's skip list). Nothing is visible until
    /// the commit, so a kill leaves the store as it was. Local stores only.
    pub fn bulk_insert(&self, triples: impl IntoIterator<Item = Triple>) -> Result<()> {
        let Some(store) = self.local() else {
            return Err(MarketplaceError::backend(
                BACKEND,
                "bulk loading needs a local store (remote endpoints take INSERT DATA batches)",
            ));
        };
        self.check_present()?;
        self.mark_dirty()?;
        let mut loader = store
            .bulk_loader()
            .with_max_memory_size_in_megabytes(BULK_MEMORY_MB);
        loader
            .load_quads(
                triples
                    .into_iter()
                    .map(|t| t.in_graph(oxigraph::model::GraphName::DefaultGraph)),
            )
            .map_err(storage_err)?;
        loader.commit().map_err(storage_err)?;
        self.mark_clean();
        // The ingested files all overlap (keys are hashes); compacting them now
        // keeps later point reads from probing each one. The data is committed
        // either way, so a failure here is only worth a warning.
        if let Self::Embedded { store, .. } = self
            && let Err(e) = store.optimize()
        {
            tracing::warn!(error = %e, "compacting the V2 store after a bulk load failed; reads may be slower until RocksDB compacts on its own");
        }
        Ok(())
    }

    /// Serializes the default graph.
    pub fn export(&self, format: RdfFormat) -> Result<Vec<u8>> {
        let triples = self.all_triples()?;
        let mut ser = oxigraph::io::RdfSerializer::from_format(format)
            .with_prefix("mp", crate::mapping::NS)
            .map_err(storage_err)?
            .with_prefix("xsd", "http://www.w3.org/2001/XMLSchema#")
            .map_err(storage_err)?
            .for_writer(Vec::new());
        for t in &triples {
            ser.serialize_triple(t).map_err(storage_err)?;
        }
        ser.finish().map_err(storage_err)
    }
}

pub(crate) fn generation_triples(n: u64) -> Vec<Triple> {
    vec![
        Triple::new(
            mp::registry(),
            oxigraph::model::vocab::rdf::TYPE.into_owned(),
            mp::registry_class(),
        ),
        Triple::new(
            mp::registry(),
            mp::generation(),
            Literal::new_typed_literal(n.to_string(), xsd::INTEGER),
        ),
    ]
}

/// The SPARQL Update text of a batch, from typed terms only, writing to
/// `graph` (`None`: the default graph). Each operation names the graph itself
/// (`GRAPH`, `WITH`): the protocol's `using-graph-uri` would scope only the
/// `WHERE` parts, and some servers (Virtuoso) refuse updates of a default
/// graph they do not have.
pub fn render_update(ops: &[Op], graph: Option<&NamedNode>) -> String {
    let mut parts = Vec::new();
    let data = |ts: &[Triple]| {
        let mut s = String::new();
        for t in ts {
            writeln!(s, "{} {} {} .", t.subject, t.predicate, t.object).expect("write to string");
        }
        match graph {
            Some(g) => format!("GRAPH {g} {{\n{s}}}\n"),
            None => s,
        }
    };
    let in_graph = |pattern: String| match graph {
        Some(g) => format!("GRAPH {g} {{ {pattern} }}"),
        None => pattern,
    };
    let with = graph.map(|g| format!("WITH {g} ")).unwrap_or_default();
    for op in ops {
        match op {
            Op::Insert(ts) if !ts.is_empty() => {
                parts.push(format!("INSERT DATA {{\n{}}}", data(ts)))
            }
            Op::Delete(ts) if !ts.is_empty() => {
                parts.push(format!("DELETE DATA {{\n{}}}", data(ts)))
            }
            Op::Insert(_) | Op::Delete(_) => {}
            Op::DeleteValues(s, p) => parts.push(format!(
                "DELETE WHERE {{ {} }}",
                in_graph(format!("{s} {p} ?o"))
            )),
            Op::BumpGeneration(change) => {
                let (reg, g, class) = (mp::registry(), mp::generation(), mp::registry_class());
                let ty = oxigraph::model::vocab::rdf::TYPE;
                // The aggregate gives one row even on an empty graph, where
                // Virtuoso gives none for a lone OPTIONAL (and so no new
                // generation at all).
                parts.push(format!(
                    "{with}DELETE {{ {reg} {g} ?old }} INSERT {{ {reg} {ty} {class} . {reg} {g} ?new }} \
                     WHERE {{ {{ SELECT (MAX(?n) AS ?old) WHERE {{ {reg} {g} ?n }} }} \
                     BIND(COALESCE(?old, 0) + 1 AS ?new) }}"
                ));
                parts.extend(feed::render(change, graph));
            }
        }
    }
    parts.join(" ;\n")
}

pub fn term_u64(t: &Term) -> Option<u64> {
    match t {
        Term::Literal(l) => l.value().trim().parse().ok(),
        _ => None,
    }
}

fn rows_to_triples(rows: Vec<Vec<Option<Term>>>) -> Result<Vec<Triple>> {
    rows.into_iter()
        .map(|row| {
            let bad = || {
                MarketplaceError::backend(BACKEND, "endpoint returned an incomplete ?s ?p ?o row")
            };
            let mut it = row.into_iter();
            let (s, p, o) = (
                it.next().flatten(),
                it.next().flatten(),
                it.next().flatten(),
            );
            let subject: NamedOrBlankNode = match s.ok_or_else(bad)? {
                Term::NamedNode(n) => n.into(),
                Term::BlankNode(b) => b.into(),
                other => {
                    return Err(MarketplaceError::backend(
                        BACKEND,
                        format!("bad subject {other}"),
                    ));
                }
            };
            let predicate = match p.ok_or_else(bad)? {
                Term::NamedNode(n) => n,
                other => {
                    return Err(MarketplaceError::backend(
                        BACKEND,
                        format!("bad predicate {other}"),
                    ));
                }
            };
            Ok(Triple::new(subject, predicate, o.ok_or_else(bad)?))
        })
        .collect()
}

pub fn parse_query(text: &str) -> Result<spargebra::Query> {
    spargebra::SparqlParser::new()
        .parse_query(text)
        .map_err(|e| MarketplaceError::InvalidQuery {
            reason: format!("not a SPARQL query: {e}"),
        })
}

fn collect(results: QueryResults<'_>) -> Result<Answer> {
    let err = |e: oxigraph::sparql::QueryEvaluationError| {
        MarketplaceError::backend(BACKEND, format!("query failed: {e}"))
    };
    Ok(match results {
        QueryResults::Boolean(b) => Answer::Boolean(b),
        QueryResults::Solutions(sols) => {
            let variables = sols.variables().to_vec();
            let mut rows = Vec::new();
            for s in sols {
                let s = s.map_err(err)?;
                rows.push(variables.iter().map(|v| s.get(v).cloned()).collect());
            }
            Answer::Solutions { variables, rows }
        }
        QueryResults::Graph(triples) => Answer::Graph(
            triples
                .collect::<std::result::Result<_, _>>()
                .map_err(err)?,
        ),
    })
}
