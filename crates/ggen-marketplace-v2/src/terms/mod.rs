//! The term index: what makes V2 search fast without `CONTAINS`/`REGEX` scans.
//!
//! The index is one or two segments (`layers`); in each, one [`Doc`] per
//! package (its latest version), holding the tokens of each searchable field and what filtering and sorting need. Every distinct token is a
//! key of an FST (`fst` crate) whose value is the token's ordinal in a postings
//! table `(doc, field, term frequency)`. Lookups: exact (FST get), prefix (FST
//! range stream) and typo-tolerant (a Levenshtein DFA from `levenshtein_automata`,
//! Damerau transpositions costing one, run as an `fst::Automaton`).
//!
//! Scoring is core's ranking policy (`ggen_marketplace_core::ranking`), the
//! one V1 implements with tantivy queries, so both backends agree on the first
//! hit: whole-name matches first, then BM25 x field weight per query word,
//! plus prefix and typo matches, and the stem and topic expansions of core's
//! query plan (`search::plan`), at a share of the weight.
//!
//! | module | holds |
//! |---|---|
//! | `doc` | [`Doc`], one package as the index sees it, and the ranking columns |
//! | `layers` | [`TermIndex`]: a base segment and a delta of the docs written since |
//! | `file` | a segment's file (`index.bin`, `delta.bin`): layout, saving, loading, checks |
//! | `query` | lookups (exact, prefix, typo automata) and the lists a query reads |
//! | `score` | BM25 and the other parts, summed a window of docs at a time; the best hits |

mod columns;
mod doc;
mod file;
mod layers;
mod query;
mod score;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ggen_marketplace_core::Result;
use ggen_marketplace_core::model::Package;
use ggen_marketplace_core::ranking::Field;
use ggen_marketplace_core::search::tokenize;
use ggen_marketplace_core::topics::TopicScheme;

use columns::{Columns, averages, length_totals};
pub use doc::Doc;
use file::{Bytes, LONG_FIELD, POSTING_BYTES, Posting, encode_docs};
use layers::Over;
pub use layers::TermIndex;
pub use query::Scored;

/// V1 drops tokens of 40 bytes or more; so do we.
const MAX_TOKEN_BYTES: usize = 40;

pub(crate) const NAME: usize = Field::Name as usize;
pub(crate) const TAGS: usize = Field::Tags as usize;
pub(crate) const KEYWORDS: usize = Field::Keywords as usize;
pub(crate) const CATEGORY: usize = Field::Category as usize;
pub(crate) const DESCRIPTION: usize = Field::Description as usize;
pub(crate) const AUTHOR: usize = Field::Author as usize;
pub(crate) const FIELD_COUNT: usize = Field::ALL.len();
/// Field weights in index order, from core's policy.
pub(crate) const WEIGHTS: [f32; FIELD_COUNT] = [
    Field::Name.weight(),
    Field::Tags.weight(),
    Field::Keywords.weight(),
    Field::Category.weight(),
    Field::Description.weight(),
    Field::Author.weight(),
];

fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    tokenize(text)
        .into_iter()
        .filter(|t| t.len() < MAX_TOKEN_BYTES)
}

/// One immutable set of docs with their terms and postings: the whole
/// index, or the base or delta of a [`TermIndex`].
#[derive(Clone)]
pub(crate) struct Segment {
    generation: u64,
    /// Random, made with the segment: a delta names the base it applies to
    /// by it, and saving skips a base whose file already holds it.
    id: u64,
    /// For a delta: its base and the base docs it replaces or removes.
    over: Option<Over>,
    /// Sorted by name; row i is doc i.
    columns: Columns,
    /// Tokens per field over all docs, and their average.
    len_totals: [u64; FIELD_COUNT],
    avg_len: [f32; FIELD_COUNT],
    fst: fst::Map<Bytes>,
    starts: Bytes,
    postings: Bytes,
    doc_ends: Bytes,
    doc_bytes: Bytes,
    /// Docs decoded so far (all of them for an index built in this process).
    decoded: Vec<OnceLock<Box<Doc>>>,
    /// The file this index was read from, for error messages.
    source: Option<PathBuf>,
    /// The graph's topic scheme when it was built (`None`: the graph holds
    /// none, so the shipped one is in effect).
    scheme: Option<Arc<TopicScheme>>,
    /// The id of the change-feed entry of `generation` this index reflects,
    /// when known: a catch-up starts only from an index whose entry the
    /// feed still holds (see `crate::sync`).
    head: Option<String>,
}

impl Segment {
    /// Builds the index over `docs` (any order; kept sorted by name).
    pub fn build(generation: u64, mut docs: Vec<Doc>) -> Self {
        docs.sort_by(|a, b| a.name.cmp(&b.name));
        docs.dedup_by(|a, b| a.name == b.name);
        let mut terms: BTreeMap<&str, Vec<Posting>> = BTreeMap::new();
        for (i, d) in docs.iter().enumerate() {
            for (f, toks) in d.fields.iter().enumerate() {
                let mut counts: BTreeMap<&str, u16> = BTreeMap::new();
                for t in toks {
                    let c = counts.entry(t.as_str()).or_default();
                    *c = c.saturating_add(1);
                }
                for (t, tf) in counts {
                    terms.entry(t).or_default().push(Posting {
                        doc: i as u32,
                        field: f as u8,
                        len: toks.len().min(usize::from(LONG_FIELD)) as u8,
                        tf,
                    });
                }
            }
        }
        let fst = fst::Map::from_iter(terms.keys().enumerate().map(|(i, t)| (*t, i as u64)))
            .expect("sorted, distinct keys");
        let mut starts = Vec::with_capacity((terms.len() + 1) * 4);
        let mut postings = Vec::new();
        for list in terms.values() {
            starts.extend_from_slice(&((postings.len() / POSTING_BYTES) as u32).to_le_bytes());
            for p in list {
                postings.extend_from_slice(&p.doc.to_le_bytes());
                postings.extend_from_slice(&[p.field, p.len]);
                postings.extend_from_slice(&p.tf.to_le_bytes());
            }
        }
        starts.extend_from_slice(&((postings.len() / POSTING_BYTES) as u32).to_le_bytes());
        let fst_bytes = Bytes::owned(fst.into_fst().into_inner());
        let fst = fst::Map::new(fst_bytes).expect("an FST just built");
        Self::with_docs(
            generation,
            docs,
            fst,
            Bytes::owned(starts),
            Bytes::owned(postings),
        )
    }

    /// `docs` (sorted, distinct names) with terms and postings already made for them.
    fn with_docs(
        generation: u64,
        docs: Vec<Doc>,
        fst: fst::Map<Bytes>,
        starts: Bytes,
        postings: Bytes,
    ) -> Self {
        let columns = Columns::of(&docs);
        let (doc_bytes, doc_ends) = encode_docs(docs.iter());
        // The records are in `doc_bytes` now; a second copy would double
        // what a built index holds.
        let decoded = docs
            .into_iter()
            .map(|mut d| {
                d.record = Vec::new();
                OnceLock::from(Box::new(d))
            })
            .collect();
        let totals = length_totals(&columns);
        Self {
            generation,
            id: rand::random(),
            over: None,
            len_totals: totals,
            avg_len: averages(totals, columns.len()),
            columns,
            fst,
            starts,
            postings,
            doc_ends: Bytes::owned(doc_ends),
            doc_bytes: Bytes::owned(doc_bytes),
            decoded,
            source: None,
            scheme: None,
            head: None,
        }
    }

    /// The same index, expanding queries through `scheme` (the graph's).
    pub fn with_scheme(mut self, scheme: Option<Arc<TopicScheme>>) -> Self {
        self.scheme = scheme;
        self
    }

    /// The feed entry of this index's generation, when known.
    pub fn head(&self) -> Option<&str> {
        self.head.as_deref()
    }

    /// The topic scheme queries expand through.
    pub fn scheme(&self) -> &TopicScheme {
        self.scheme
            .as_deref()
            .unwrap_or_else(|| TopicScheme::shipped())
    }

    /// Whether the graph held a topic scheme when this index was built.
    pub fn graph_has_scheme(&self) -> bool {
        self.scheme.is_some()
    }

    /// Every doc, decoded, with its record (writers, which rebuild from them).
    pub fn all_docs(&self) -> Result<Vec<Doc>> {
        // One decode per doc, which also finds its record; going through
        // `doc` would decode each twice and keep every doc in its cache.
        (0..self.columns.len())
            .map(|i| {
                let (mut d, record) = self.decode_doc(i)?;
                d.record = record.to_vec();
                Ok(d)
            })
            .collect()
    }

    /// The package named `name` as the graph held it at this index's
    /// generation, from its record: one lookup and one decode instead of a
    /// walk over the package's subgraph.
    pub fn package(&self, name: &str) -> Result<Option<Package>> {
        self.position(name).map(|i| self.record(i)).transpose()
    }

    /// A copy with these packages' counters `(name, downloads, stars)` set.
    /// Counters only rank and display, so the terms and postings are shared
    /// as they are: no rebuild, which matters when a migration sets 100k of them.
    pub fn with_counters(&self, generation: u64, counters: &[(String, u64, u64)]) -> Result<Self> {
        let mut docs = self.all_docs()?;
        for (name, downloads, stars) in counters {
            if let Some(i) = self.position(name) {
                let mut p = self.record(i)?;
                p.downloads = *downloads;
                p.stars = *stars;
                let d = &mut docs[i];
                d.downloads = *downloads;
                d.summary.downloads = *downloads;
                d.summary.stars = *stars;
                d.record = doc::record_of(&p);
            }
        }
        Ok(Self::with_docs(
            generation,
            docs,
            self.fst.clone(),
            self.starts.clone(),
            self.postings.clone(),
        )
        .with_scheme(self.scheme.clone()))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.columns.position(name)
    }

    /// Whether a package of this name is indexed (that is, in the graph).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn term_count(&self) -> usize {
        self.fst.len()
    }
}
