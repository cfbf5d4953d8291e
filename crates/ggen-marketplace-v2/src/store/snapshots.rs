//! Where a fleet's servers say which term index they saved in the shared
//! object store: a graph of its own, `<{registry graph}/index-snapshots>`,
//! next to the registry's and the change feed's (layout in `ONTOLOGY.md`).
//!
//! ```text
//! _:s a mp:IndexSnapshot ; mp:snapshotGeneration N ;
//!     mp:snapshotBase "sha256" ; mp:snapshotDelta "sha256"   (a delta only if there is one)
//! ```
//!
//! Saving an entry drops those of its generation and older in the same
//! request, so the graph keeps about one. Two servers saving at once may
//! leave two; readers take the newest that downloads and checks out. Only
//! an endpoint holds entries: a local store is one machine's, and so is its
//! index. Every value read is checked (an integer generation, digests as
//! [`BlobKey`]s, one value of each per entry); an entry that is not well
//! formed is skipped, which costs a rebuild at worst.

use std::collections::BTreeMap;

use ggen_marketplace_core::Result;
use ggen_marketplace_core::blobs::BlobKey;
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{Literal, NamedNode, Term};

use super::{DEFAULT_GRAPH, GraphStore, term_u64};
use crate::mapping::mp;

/// The newest entries a read looks at: an endpoint that answers more (a
/// hostile one, or many racing saves) cannot make a start download more.
const READ_AT_MOST: usize = 4;

/// One saved index: its generation and its segments' objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSnapshot {
    pub generation: u64,
    pub base: BlobKey,
    pub delta: Option<BlobKey>,
}

/// The graph a registry in `registry_graph` keeps its snapshot entries in.
fn snapshot_graph(registry_graph: Option<&NamedNode>) -> NamedNode {
    let base = registry_graph.map_or(DEFAULT_GRAPH, |g| g.as_str());
    NamedNode::new_unchecked(format!("{base}/index-snapshots"))
}

/// What one entry's rows say so far.
#[derive(Default)]
struct Entry {
    generations: Vec<u64>,
    bases: Vec<String>,
    deltas: Vec<String>,
    malformed: bool,
}

impl Entry {
    fn snapshot(self) -> Option<IndexSnapshot> {
        let one = |v: &[String]| (v.len() <= 1).then(|| v.first().cloned());
        let (generation, base) = match (self.generations.as_slice(), self.bases.as_slice()) {
            ([g], [b]) if !self.malformed => (*g, b.clone()),
            _ => return None,
        };
        let delta = match one(&self.deltas)? {
            Some(d) => Some(BlobKey::index_segment(&d)?),
            None => None,
        };
        Some(IndexSnapshot {
            generation,
            base: BlobKey::index_segment(&base)?,
            delta,
        })
    }
}

impl GraphStore {
    /// The endpoint's saved indexes, newest first (at most [`READ_AT_MOST`]);
    /// none for a local store.
    pub fn index_snapshots(&self) -> Result<Vec<IndexSnapshot>> {
        let Self::Remote(remote) = self else {
            return Ok(Vec::new());
        };
        let text = format!(
            "SELECT ?s ?g ?p ?v WHERE {{ \
             {{ SELECT DISTINCT ?s ?g WHERE {{ ?s {sg} ?g }} ORDER BY DESC(?g) LIMIT {READ_AT_MOST} }} \
             ?s ?p ?v FILTER(?p IN ({sg}, {sb}, {sd})) }} LIMIT {limit}",
            sg = mp::snapshot_generation(),
            sb = mp::snapshot_base(),
            sd = mp::snapshot_delta(),
            // Room for a few values of each field per entry; more is damage.
            limit = READ_AT_MOST * 12,
        );
        let graph = snapshot_graph(self.remote_graph());
        let rows = remote.select_in(&graph, &text, "index snapshot")?;
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for row in rows {
            let (Some(Some(s)), Some(Some(Term::NamedNode(p))), Some(Some(v))) =
                (row.first(), row.get(2), row.get(3))
            else {
                continue;
            };
            let entry = entries.entry(s.to_string()).or_default();
            match (p, v) {
                (p, v) if *p == mp::snapshot_generation() => match term_u64(v) {
                    Some(g) => entry.generations.push(g),
                    None => entry.malformed = true,
                },
                (p, Term::Literal(l)) if *p == mp::snapshot_base() => {
                    entry.bases.push(l.value().to_string())
                }
                (p, Term::Literal(l)) if *p == mp::snapshot_delta() => {
                    entry.deltas.push(l.value().to_string())
                }
                _ => entry.malformed = true,
            }
        }
        let mut out: Vec<IndexSnapshot> = entries
            .into_values()
            .filter_map(|e| {
                let s = e.snapshot();
                if s.is_none() {
                    tracing::warn!(
                        "an index snapshot entry on the endpoint is not well formed; skipped"
                    );
                }
                s
            })
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.generation));
        out.truncate(READ_AT_MOST);
        Ok(out)
    }

    /// Records `snapshot` as the endpoint's newest saved index, dropping the
    /// entries of its generation and older (and any that are not numbered).
    /// A local store keeps none: this does nothing there.
    pub fn record_index_snapshot(&self, snapshot: &IndexSnapshot) -> Result<()> {
        let Self::Remote(remote) = self else {
            return Ok(());
        };
        let graph = snapshot_graph(self.remote_graph());
        let generation = Literal::new_typed_literal(snapshot.generation.to_string(), xsd::INTEGER);
        let digest = |k: &BlobKey| Literal::new_simple_literal(k.as_str());
        let mut fields = format!(
            "_:s {} {} ; {} {generation} ; {} {}",
            rdf::TYPE,
            mp::index_snapshot_class(),
            mp::snapshot_generation(),
            mp::snapshot_base(),
            digest(&snapshot.base),
        );
        if let Some(d) = &snapshot.delta {
            fields.push_str(&format!(" ; {} {}", mp::snapshot_delta(), digest(d)));
        }
        let text = format!(
            "DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {graph} {{ ?s {sg} ?g . ?s ?p ?o }} \
             FILTER(!isNumeric(?g) || ?g <= {generation}) }} ;\n\
             INSERT DATA {{ GRAPH {graph} {{ {fields} . }} }}",
            sg = mp::snapshot_generation(),
        );
        remote.update(&text)
    }
}
