//! The change feed: what each generation changed, kept in the graph next to
//! the registry's, so a client whose term index is a few generations behind
//! re-reads only the packages those generations touched instead of the
//! whole catalogue.
//!
//! Every generation bump writes one entry, in the same atomic step as the
//! change itself:
//!
//! ```text
//! GRAPH <{registry graph}/changes> {
//!     _:c a mp:Change ; mp:changeGeneration N ;
//!         mp:changedPackage "name" ...          (the packages generation N touched)
//!         | mp:changedEverything true           (an import, a restore, the topic scheme)
//! }
//! ```
//!
//! Entries more than [`KEEP`] generations old are dropped by the same write
//! that adds a new one, so the feed stays bounded. A client can catch up from
//! generation M to N only if the feed holds an entry for every generation in
//! between and none of them changed everything; a gap (a compacted stretch,
//! a graph written before the feed existed, a restore) means a full rebuild.
//! That rule needs no marker of where the feed starts, and a feed the server
//! lies about can only cost a rebuild, never a wrong index: entries are
//! checked (generations are integers, names are package names) and anything
//! else is a gap.
//!
//! The feed is its own graph so that exports, backups and triple counts of
//! the registry never include it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ggen_marketplace_core::Result;
use ggen_marketplace_core::name::validate_name;
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{BlankNode, GraphNameRef, Literal, NamedNode, NamedOrBlankNode, Quad, Term};
use oxigraph::store::Transaction;

use super::{DEFAULT_GRAPH, GraphStore, storage_err, term_u64};
use crate::mapping::mp;

/// How many generations of changes the feed keeps. A client further behind
/// than this rebuilds its index. At a write a second, 1000 covers a server
/// that was away for a quarter of an hour; each entry is a few triples.
pub const KEEP: u64 = 1000;

/// What one generation changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// These packages' subgraphs (added, edited or removed).
    Packages(Vec<String>),
    /// Anything at all: clients rebuild.
    Everything,
}

/// The graph the feed of a registry in `registry_graph` lives in (`None`:
/// the default graph, locally and on an endpoint).
pub fn feed_graph(registry_graph: Option<&NamedNode>) -> NamedNode {
    let base = registry_graph.map_or(DEFAULT_GRAPH, |g| g.as_str());
    NamedNode::new_unchecked(format!("{base}/changes"))
}

/// One write's entry: a fresh id (which tells this history's generation N
/// from another's, say a graph restored from a dump and written again) and
/// what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub changed: Changed,
}

impl Change {
    pub fn new(changed: Changed) -> Self {
        // A blank node's default id is 128 random bits in hex.
        let id = BlankNode::default().into_string();
        Self { id, changed }
    }
}

/// What the feed says from one generation on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChangesSince {
    /// The generation asked from: only its entries' ids are kept.
    pub after: u64,
    /// Generations after `after` with an entry.
    pub generations: BTreeSet<u64>,
    /// Every package those entries touched.
    pub packages: BTreeSet<String>,
    /// Whether an entry changed everything, or one was not well formed.
    pub everything: bool,
    /// The ids of each generation's entries (one, unless writers raced).
    pub ids: BTreeMap<u64, BTreeSet<String>>,
}

impl ChangesSince {
    /// Whether an index at `after` whose own entry is `head` can be brought
    /// to `upto` from these entries alone: its entry is still the one
    /// there (the same history), and every generation up to `upto` has an
    /// entry that changed packages only.
    pub fn covers(&self, upto: u64, head: Option<&str>) -> bool {
        let same_history = head.is_some_and(|h| self.head_at(self.after) == Some(h));
        same_history
            && !self.everything
            && self.after < upto
            && (self.after + 1..=upto).all(|g| self.generations.contains(&g))
    }

    /// The id of generation `g`'s entry, if it has exactly one.
    pub fn head_at(&self, g: u64) -> Option<&str> {
        match self.ids.get(&g) {
            Some(ids) if ids.len() == 1 => ids.first().map(String::as_str),
            _ => None,
        }
    }

    /// Adds one field `predicate value` of generation `generation`'s entry.
    /// Anything malformed counts as a change to everything.
    fn add(&mut self, generation: &Term, predicate: &NamedNode, value: &Term) {
        let Some(g) = term_u64(generation) else {
            self.everything = true;
            return;
        };
        if *predicate == mp::change_id() {
            match value {
                Term::Literal(l) => {
                    self.ids.entry(g).or_default().insert(l.value().to_string());
                }
                _ => self.everything = true,
            }
            return;
        }
        if g <= self.after {
            return;
        }
        self.generations.insert(g);
        if *predicate == mp::changed_everything() {
            self.everything = true;
        } else if *predicate == mp::changed_package() {
            match value {
                Term::Literal(l) if validate_name(l.value()).is_ok() => {
                    self.packages.insert(l.value().to_string());
                }
                other => {
                    tracing::warn!(value = %other, "the change feed names something that is not a package name; rebuilding instead");
                    self.everything = true;
                }
            }
        }
    }
}

/// An entry's fields other than its generation: its type, id, and what changed.
fn entry_fields(change: &Change) -> Vec<(NamedNode, Term)> {
    let mut out = vec![
        (rdf::TYPE.into_owned(), mp::change_class().into()),
        (
            mp::change_id(),
            Literal::new_simple_literal(&change.id).into(),
        ),
    ];
    match &change.changed {
        Changed::Packages(names) => out.extend(
            names
                .iter()
                .map(|n| (mp::changed_package(), Literal::new_simple_literal(n).into())),
        ),
        Changed::Everything => out.push((mp::changed_everything(), Literal::from(true).into())),
    }
    out
}

/// In a local transaction that has just moved the generation to `generation`:
/// adds its entry and drops the ones [`KEEP`] or more generations older.
pub(super) fn record_local(
    tx: &mut Transaction<'_>,
    generation: u64,
    change: &Change,
) -> Result<()> {
    let graph = feed_graph(None);
    let in_feed = GraphNameRef::NamedNode(graph.as_ref());
    let stale: Vec<NamedOrBlankNode> = tx
        .quads_for_pattern(
            None,
            Some(mp::change_generation().as_ref()),
            None,
            Some(in_feed),
        )
        .filter_map(|q| match q {
            Ok(q) if term_u64(&q.object).is_none_or(|g| g + KEEP <= generation) => {
                Some(Ok(q.subject))
            }
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(storage_err)?;
    for subject in &stale {
        let quads: Vec<Quad> = tx
            .quads_for_pattern(Some(subject.as_ref()), None, None, Some(in_feed))
            .collect::<std::result::Result<_, _>>()
            .map_err(storage_err)?;
        for q in &quads {
            tx.remove(q);
        }
    }
    let node = BlankNode::default();
    let value = Literal::new_typed_literal(generation.to_string(), xsd::INTEGER);
    let fields =
        std::iter::once((mp::change_generation(), value.into())).chain(entry_fields(change));
    for (p, o) in fields {
        tx.insert(&Quad::new(node.clone(), p, o, graph.clone()));
    }
    Ok(())
}

/// The SPARQL Update operations that follow a generation bump of the
/// registry in `graph`: add the new generation's entry, then drop the ones
/// [`KEEP`] or more generations older. Both read the generation the bump
/// just wrote, in the same request.
pub(super) fn render(change: &Change, graph: Option<&NamedNode>) -> [String; 2] {
    let feed = feed_graph(graph);
    let (reg, gen_p) = (mp::registry(), mp::generation());
    let current = match graph {
        Some(g) => {
            format!("{{ SELECT (MAX(?n) AS ?cur) WHERE {{ GRAPH {g} {{ {reg} {gen_p} ?n }} }} }}")
        }
        None => format!("{{ SELECT (MAX(?n) AS ?cur) WHERE {{ {reg} {gen_p} ?n }} }}"),
    };
    // The blank node is a fresh one for the one solution.
    let mut template = format!("_:c {} ?cur .\n", mp::change_generation());
    for (p, o) in entry_fields(change) {
        writeln!(template, "_:c {p} {o} .").expect("write to string");
    }
    let add = format!("INSERT {{ GRAPH {feed} {{\n{template}}} }} WHERE {{ {current} }}");
    let compact = format!(
        "DELETE {{ GRAPH {feed} {{ ?c ?p ?o }} }} WHERE {{ {current} GRAPH {feed} {{ ?c {cg} ?g . ?c ?p ?o }} FILTER(?g + {KEEP} <= ?cur) }}",
        cg = mp::change_generation(),
    );
    [add, compact]
}

impl GraphStore {
    /// The feed's entries for generation `after` and later.
    pub fn changes_since(&self, after: u64) -> Result<ChangesSince> {
        let mut out = ChangesSince {
            after,
            ..ChangesSince::default()
        };
        let cg = mp::change_generation();
        match self {
            Self::Memory(store) | Self::Embedded { store, .. } => {
                let graph = feed_graph(None);
                let in_feed = GraphNameRef::NamedNode(graph.as_ref());
                for q in store.quads_for_pattern(None, Some(cg.as_ref()), None, Some(in_feed)) {
                    let q = q.map_err(storage_err)?;
                    if term_u64(&q.object).is_some_and(|g| g < after) {
                        continue;
                    }
                    let fields = store.quads_for_pattern(
                        Some(q.subject.as_ref()),
                        None,
                        None,
                        Some(in_feed),
                    );
                    for field in fields {
                        let field = field.map_err(storage_err)?;
                        out.add(&q.object, &field.predicate, &field.object);
                    }
                }
            }
            Self::Remote(remote) => {
                let text = format!(
                    "SELECT ?g ?p ?v WHERE {{ ?c {cg} ?g . ?c ?p ?v FILTER(?g >= {after}) }}"
                );
                let graph = feed_graph(self.remote_graph());
                let rows = remote.select_in(&graph, &text, "change feed")?;
                for row in &rows {
                    match (row.first(), row.get(1), row.get(2)) {
                        (Some(Some(g)), Some(Some(Term::NamedNode(p))), Some(Some(v))) => {
                            out.add(g, p, v)
                        }
                        _ => out.everything = true,
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Op;

    /// Bumps the generation recording `changed`; returns the entry's id.
    fn bump(store: &GraphStore, changed: Changed) -> String {
        let change = Change::new(changed);
        let id = change.id.clone();
        store.apply(&[Op::BumpGeneration(change)]).unwrap();
        id
    }

    fn names(list: &[&str]) -> Changed {
        Changed::Packages(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn every_bump_leaves_an_entry_and_catching_up_needs_all_of_them() {
        let store = GraphStore::memory().unwrap();
        let first = bump(&store, names(&["a"]));
        bump(&store, names(&["b", "c"]));
        let third = bump(&store, names(&["a"]));
        assert_eq!(store.generation().unwrap(), 3);
        let since = store.changes_since(1).unwrap();
        assert_eq!(since.generations, BTreeSet::from([2, 3]));
        assert_eq!(
            since.packages,
            BTreeSet::from(["a".into(), "b".into(), "c".into()])
        );
        assert!(since.covers(3, Some(&first)));
        assert_eq!(since.head_at(3), Some(third.as_str()));
        assert!(!since.covers(3, None), "an index of unknown history");
        assert!(!since.covers(3, Some(&third)), "another history's entry 1");
        assert!(
            !store.changes_since(3).unwrap().covers(3, Some(&third)),
            "nothing to catch up on"
        );
        bump(&store, Changed::Everything);
        assert!(!store.changes_since(1).unwrap().covers(4, Some(&first)));
    }

    #[test]
    fn a_bump_without_an_entry_is_a_gap() {
        let store = GraphStore::memory().unwrap();
        let first = bump(&store, names(&["a"]));
        // A write from before the feed existed: generation only.
        let local = store.local().unwrap();
        let mut tx = local.start_transaction().unwrap();
        for t in super::super::generation_triples(2) {
            tx.insert(t.as_ref().in_graph(GraphNameRef::DefaultGraph));
        }
        tx.commit().unwrap();
        bump(&store, names(&["b"]));
        assert_eq!(store.generation().unwrap(), 3);
        assert!(!store.changes_since(1).unwrap().covers(3, Some(&first)));
        // Nor can an index at 2 catch up: no entry vouches for its history.
        assert!(store.changes_since(2).unwrap().head_at(2).is_none());
    }

    #[test]
    fn two_entries_for_one_generation_vouch_for_neither() {
        let store = GraphStore::memory().unwrap();
        let first = bump(&store, names(&["a"]));
        // Two writers that both took generation 1 (no compare-and-set).
        let local = store.local().unwrap();
        let mut tx = local.start_transaction().unwrap();
        record_local(&mut tx, 1, &Change::new(names(&["b"]))).unwrap();
        tx.commit().unwrap();
        bump(&store, names(&["c"]));
        let since = store.changes_since(1).unwrap();
        assert_eq!(since.head_at(1), None);
        assert!(!since.covers(2, Some(&first)));
    }

    #[test]
    fn the_feed_keeps_only_the_last_generations() {
        let store = GraphStore::memory().unwrap();
        let ids: Vec<String> = (0..KEEP + 5).map(|_| bump(&store, names(&["a"]))).collect();
        let all = store.changes_since(0).unwrap();
        assert_eq!(all.generations.len() as u64, KEEP);
        assert_eq!(all.generations.first(), Some(&6));
        // ids[i] is generation i + 1's entry.
        assert!(
            store
                .changes_since(6)
                .unwrap()
                .covers(KEEP + 5, Some(&ids[5]))
        );
        assert!(
            !store
                .changes_since(5)
                .unwrap()
                .covers(KEEP + 5, Some(&ids[4]))
        );
    }

    #[test]
    fn malformed_entries_count_as_everything() {
        let two: Term = Literal::from(2_i64).into();
        let mut since = ChangesSince::default();
        since.add(
            &two,
            &mp::changed_package(),
            &Literal::new_simple_literal("../etc").into(),
        );
        assert!(since.everything);
        let mut since = ChangesSince::default();
        since.add(
            &Literal::new_simple_literal("two").into(),
            &mp::changed_package(),
            &Literal::new_simple_literal("a").into(),
        );
        assert!(since.everything);
        let mut since = ChangesSince::default();
        since.add(
            &two,
            &mp::changed_package(),
            &NamedNode::new_unchecked("urn:x").into(),
        );
        assert!(since.everything);
        assert!(since.packages.is_empty());
        let mut since = ChangesSince::default();
        since.add(
            &two,
            &mp::change_id(),
            &NamedNode::new_unchecked("urn:x").into(),
        );
        assert!(since.everything);
    }
}
