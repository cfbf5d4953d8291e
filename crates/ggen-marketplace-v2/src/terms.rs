//! The term index: what makes V2 search fast without `CONTAINS`/`REGEX` scans.
//!
//! One [`Doc`] per package (its latest version), holding the tokens of each
//! searchable field and what filtering and sorting need. Every distinct token is a
//! key of an FST (`fst` crate) whose value is the token's ordinal in a postings
//! table `(doc, field, term frequency)`. Lookups: exact (FST get), prefix (FST
//! range stream) and typo-tolerant (a Levenshtein DFA from `levenshtein_automata`,
//! Damerau transpositions costing one, run as an `fst::Automaton`).
//!
//! Scoring is core's ranking policy (`ggen_marketplace_core::ranking`), the
//! one V1 implements with tantivy queries, so both backends agree on the first
//! hit: whole-name matches first, then BM25 x field weight per query word,
//! plus prefix and typo matches at a share of the weight.
//!
//! Persistence: `<dir>/index.bin`, written atomically after every write and
//! used only when its generation equals the graph's (otherwise the index is
//! rebuilt from the graph). A CLI search is one process per query, so the file
//! is laid out to be memory-mapped and read lazily rather than decoded whole:
//! decoding every document on each run was most of a V2 search process
//! (BENCHMARKS.md, "Where the time goes"). Little-endian, in this order:
//!
//! ```text
//! magic "GGENV2T5" | generation u64 | docs u32 | terms u32
//! | lengths u64 x 5 (meta, starts, postings, doc ends, docs) | fst length u64
//! | meta      postcard: what ranking and filters read, as columns (names in one
//! |           string, counters, category and tag ids, field lengths), decoded at load
//! | starts    u32 per term + 1: term i's postings are records starts[i]..starts[i+1]
//! | postings  8 bytes each: doc u32, field u8, 0u8, term frequency u16
//! | doc ends  u32 per doc: where each doc's bytes end in the docs section
//! | docs      each doc in postcard, decoded on first use (search hits, list)
//! | fst       the terms, valued by their ordinal
//! ```
//!
//! Loading checks the layout (lengths, sort order, monotonic offsets) and the
//! FST's checksum; postings and docs are checked when read, and one that no
//! longer fits is an error naming `rebuild-index`, never a panic. Damage that
//! still decodes (a changed letter in a description) goes unnoticed: a checksum
//! over the whole file would mean reading all of it on every search. Crashes
//! cannot cause it (writes are atomic); `rebuild-index` repairs it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use fst::{Automaton, IntoStreamer, Streamer};
use ggen_marketplace_core::fsutil::atomic_write;
use ggen_marketplace_core::model::{Package, PackageSummary};
use ggen_marketplace_core::ranking;
use ggen_marketplace_core::search::{SearchQuery, SortOrder, tokenize};
use ggen_marketplace_core::{MarketplaceError, Result};
use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use serde::{Deserialize, Serialize};

pub const INDEX_FILE: &str = "index.bin";
// Bumped whenever the layout or `Doc` changes: an older file is then rebuilt, never misread.
const MAGIC: &[u8; 8] = b"GGENV2T5";
const PREAMBLE: usize = 8 + 8 + 4 + 4 + 8 * 6;
const POSTING_BYTES: usize = 8;
/// Whole-name matches outrank any combination of word matches (as in V1).
/// Core's ranking policy, shared with V1.
pub use ggen_marketplace_core::ranking::EXACT_NAME_SCORE;
/// V1 drops tokens of 40 bytes or more; so do we.
const MAX_TOKEN_BYTES: usize = 40;
use ggen_marketplace_core::ranking::{BM25_B as B, BM25_K1 as K1, Field};

pub const NAME: usize = Field::Name as usize;
pub const TAGS: usize = Field::Tags as usize;
pub const KEYWORDS: usize = Field::Keywords as usize;
pub const CATEGORY: usize = Field::Category as usize;
pub const DESCRIPTION: usize = Field::Description as usize;
pub const AUTHOR: usize = Field::Author as usize;
pub const FIELD_COUNT: usize = Field::ALL.len();
/// Field weights in index order, from core's policy.
pub const WEIGHTS: [f32; FIELD_COUNT] = [
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

/// What the index knows about one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    pub name: String,
    /// The latest version (see `Package::latest`), whose node a hit is hydrated from.
    pub latest: String,
    pub downloads: u64,
    /// Unix seconds of the latest version's publication (0 when unknown).
    pub published: i64,
    /// Lowercase, for the category filter.
    pub category: Option<String>,
    /// Lowercase whole tags, for the tag filter.
    pub tags: Vec<String>,
    /// Tokens per field, in `WEIGHTS` order.
    pub fields: [Vec<String>; FIELD_COUNT],
    /// What `search` hits and `list` show, as published: they are answered from
    /// the index alone, without a round trip to the store per package.
    pub summary: PackageSummary,
}

impl Doc {
    pub fn from_package(p: &Package) -> Self {
        let v = p.latest();
        let mut fields: [Vec<String>; FIELD_COUNT] = Default::default();
        fields[NAME] = tokens(&p.name).collect();
        fields[TAGS] = v
            .tags
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[KEYWORDS] = v
            .keywords
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[CATEGORY] = v
            .category
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[DESCRIPTION] = tokens(&v.description).collect();
        fields[AUTHOR] = v
            .authors
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        Self {
            name: p.name.clone(),
            latest: v.version.to_string(),
            downloads: p.downloads,
            published: v.published_at.map_or(0, |t| t.timestamp()),
            category: v.category.as_ref().map(|c| c.to_lowercase()),
            tags: v.tags.iter().map(|t| t.to_lowercase()).collect(),
            fields,
            summary: p.summary(),
        }
    }
}

/// What ranking and filtering read for every candidate, as columns (doc i
/// is row i, in name order) with every string in one allocation: at 100k
/// packages a struct per doc meant half a million allocations on every load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Columns {
    /// Every name, concatenated; name i ends at `name_ends[i]`.
    names: String,
    name_ends: Vec<u32>,
    downloads: Vec<u64>,
    published: Vec<i64>,
    /// Distinct lowercase categories and tags.
    labels: Vec<String>,
    /// `labels` index + 1 of each doc's category, 0 for none.
    category: Vec<u32>,
    /// Doc i's tags are `tag_ids[tag_ends[i - 1]..tag_ends[i]]` (labels indexes).
    tag_ids: Vec<u32>,
    tag_ends: Vec<u32>,
    /// Tokens per field (BM25's document length).
    lens: Vec<[u32; FIELD_COUNT]>,
}

impl Columns {
    fn of(docs: &[Doc]) -> Self {
        let mut c = Self::default();
        let mut label_ids: std::collections::HashMap<String, u32> = Default::default();
        let mut label = |c: &mut Self, l: &str| -> u32 {
            if let Some(&id) = label_ids.get(l) {
                return id;
            }
            c.labels.push(l.to_string());
            let id = c.labels.len() as u32 - 1;
            label_ids.insert(l.to_string(), id);
            id
        };
        for d in docs {
            c.names.push_str(&d.name);
            c.name_ends.push(c.names.len() as u32);
            c.downloads.push(d.downloads);
            c.published.push(d.published);
            let category = d.category.as_deref().map_or(0, |l| label(&mut c, l) + 1);
            c.category.push(category);
            for t in &d.tags {
                let id = label(&mut c, t);
                c.tag_ids.push(id);
            }
            c.tag_ends.push(c.tag_ids.len() as u32);
            c.lens
                .push(std::array::from_fn(|f| d.fields[f].len() as u32));
        }
        c
    }

    fn len(&self) -> usize {
        self.name_ends.len()
    }

    fn name(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.name_ends[i - 1] as usize
        };
        &self.names[start..self.name_ends[i] as usize]
    }

    fn position(&self, name: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.name(mid).cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn label(&self, l: &str) -> Option<u32> {
        self.labels.iter().position(|x| x == l).map(|i| i as u32)
    }

    fn tags(&self, i: usize) -> &[u32] {
        let start = if i == 0 {
            0
        } else {
            self.tag_ends[i - 1] as usize
        };
        &self.tag_ids[start..self.tag_ends[i] as usize]
    }

    /// Everything `name`, `tags` and the filters index is in range, and the
    /// names are sorted and distinct (checked once per load, in O(docs)).
    fn check(&self) -> std::result::Result<(), String> {
        let n = self.len();
        if [
            self.downloads.len(),
            self.published.len(),
            self.category.len(),
            self.tag_ends.len(),
            self.lens.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err("ranking columns of different lengths".into());
        }
        let ordered = |ends: &[u32], total: usize| {
            ends.windows(2).all(|w| w[0] <= w[1])
                && ends.last().is_none_or(|&e| e as usize == total)
        };
        if !ordered(&self.name_ends, self.names.len())
            || (0..n).any(|i| {
                let start = if i == 0 {
                    0
                } else {
                    self.name_ends[i - 1] as usize
                };
                !self.names.is_char_boundary(start)
            })
        {
            return Err("name offsets out of range".into());
        }
        if (1..n).any(|i| self.name(i - 1) >= self.name(i)) {
            return Err("documents are not sorted by name".into());
        }
        let labels = self.labels.len() as u32;
        if !ordered(&self.tag_ends, self.tag_ids.len())
            || self.tag_ids.iter().any(|&t| t >= labels)
            || self.category.iter().any(|&c| c > labels)
        {
            return Err("tag or category out of range".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    field: u8,
    tf: u16,
}

/// Immutable bytes: built in memory, or a range of the memory-mapped file.
/// Cloning shares them.
#[derive(Clone)]
struct Bytes {
    buf: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl Bytes {
    fn owned(v: Vec<u8>) -> Self {
        let range = 0..v.len();
        Self {
            buf: Arc::new(v),
            range,
        }
    }

    fn slice(&self, range: Range<usize>) -> Self {
        Self {
            buf: self.buf.clone(),
            range: self.range.start + range.start..self.range.start + range.end,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &(*self.buf).as_ref()[self.range.clone()]
    }
}

fn u32_at(bytes: &[u8], i: usize) -> Option<u32> {
    let b = bytes.get(i * 4..i * 4 + 4)?;
    Some(u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

pub struct TermIndex {
    generation: u64,
    /// Sorted by name; row i is doc i.
    columns: Columns,
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
}

/// One matching package: index into [`TermIndex::doc`] and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
}

struct Lev<'a>(&'a DFA);

impl Automaton for Lev<'_> {
    type State = u32;
    fn start(&self) -> u32 {
        self.0.initial_state()
    }
    fn is_match(&self, s: &u32) -> bool {
        matches!(self.0.distance(*s), Distance::Exact(_))
    }
    fn can_match(&self, s: &u32) -> bool {
        *s != SINK_STATE
    }
    fn accept(&self, s: &u32, byte: u8) -> u32 {
        self.0.transition(*s, byte)
    }
}

fn lev_builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    if distance == 1 {
        ONE.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true))
    } else {
        TWO.get_or_init(|| LevenshteinAutomatonBuilder::new(2, true))
    }
}

fn index_err(path: &Path, reason: impl std::fmt::Display) -> MarketplaceError {
    MarketplaceError::SearchIndex {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Each doc in postcard, concatenated, and where each one ends.
fn encode_docs<'a>(docs: impl Iterator<Item = &'a Doc>) -> (Vec<u8>, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for d in docs {
        bytes = postcard::to_extend(d, bytes).expect("a Doc always serializes");
        // A docs section over 4 GiB would need ~10M packages; `save` refuses it.
        ends.extend_from_slice(&(bytes.len().min(u32::MAX as usize) as u32).to_le_bytes());
    }
    (bytes, ends)
}

impl TermIndex {
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
                postings.extend_from_slice(&[p.field, 0]);
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
        let decoded = docs
            .into_iter()
            .map(|d| OnceLock::from(Box::new(d)))
            .collect();
        Self {
            generation,
            avg_len: average_lengths(&columns),
            columns,
            fst,
            starts,
            postings,
            doc_ends: Bytes::owned(doc_ends),
            doc_bytes: Bytes::owned(doc_bytes),
            decoded,
            source: None,
        }
    }

    /// Every doc, decoded (writers, which rebuild from them).
    pub fn all_docs(&self) -> Result<Vec<Doc>> {
        (0..self.columns.len() as u32)
            .map(|i| self.doc(i).cloned())
            .collect()
    }

    /// A copy with these packages' docs replaced (or added) and `removed` dropped.
    pub fn with_changes(
        &self,
        generation: u64,
        upserts: Vec<Doc>,
        removed: &[String],
    ) -> Result<Self> {
        let mut docs: BTreeMap<String, Doc> = self
            .all_docs()?
            .into_iter()
            .map(|d| (d.name.clone(), d))
            .collect();
        for r in removed {
            docs.remove(r);
        }
        for d in upserts {
            docs.insert(d.name.clone(), d);
        }
        Ok(Self::build(generation, docs.into_values().collect()))
    }

    /// A copy with these packages' counters `(name, downloads, stars)` set.
    /// Counters only rank and display, so the terms and postings are shared
    /// as they are: no rebuild, which matters when a migration sets 100k of them.
    pub fn with_counters(&self, generation: u64, counters: &[(String, u64, u64)]) -> Result<Self> {
        let mut docs = self.all_docs()?;
        for (name, downloads, stars) in counters {
            if let Some(i) = self.position(name) {
                let d = &mut docs[i];
                d.downloads = *downloads;
                d.summary.downloads = *downloads;
                d.summary.stars = *stars;
            }
        }
        Ok(Self::with_docs(
            generation,
            docs,
            self.fst.clone(),
            self.starts.clone(),
            self.postings.clone(),
        ))
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

    fn damaged(&self, what: impl std::fmt::Display) -> MarketplaceError {
        let path = self
            .source
            .clone()
            .unwrap_or_else(|| PathBuf::from(INDEX_FILE));
        index_err(&path, format!("damaged term index: {what}"))
    }

    /// Doc `i` (an index into the name order, as in [`Scored::doc`]), decoded
    /// from the file on first use.
    pub fn doc(&self, i: u32) -> Result<&Doc> {
        let i = i as usize;
        let cell = self
            .decoded
            .get(i)
            .ok_or_else(|| self.damaged(format!("no document {i}")))?;
        if let Some(d) = cell.get() {
            return Ok(d);
        }
        let ends = self.doc_ends.as_ref();
        let start = if i == 0 {
            0
        } else {
            u32_at(ends, i - 1).unwrap_or(0)
        } as usize;
        let end = u32_at(ends, i).unwrap_or(0) as usize;
        let doc: Doc = self
            .doc_bytes
            .as_ref()
            .get(start..end)
            .ok_or_else(|| self.damaged(format!("document {i} out of range")))
            .and_then(|b| {
                postcard::from_bytes(b).map_err(|e| self.damaged(format!("document {i}: {e}")))
            })?;
        if doc.name != self.columns.name(i) {
            return Err(self.damaged(format!("document {i} is not `{}`", self.columns.name(i))));
        }
        Ok(cell.get_or_init(|| Box::new(doc)))
    }

    pub fn term_count(&self) -> usize {
        self.fst.len()
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(INDEX_FILE)
    }

    /// Writes `<dir>/index.bin` atomically (layout in the module docs).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let meta = postcard::to_stdvec(&self.columns).map_err(|e| index_err(&path, e))?;
        let sections: [&[u8]; 6] = [
            &meta,
            self.starts.as_ref(),
            self.postings.as_ref(),
            self.doc_ends.as_ref(),
            self.doc_bytes.as_ref(),
            self.fst.as_fst().as_bytes(),
        ];
        if self.doc_bytes.as_ref().len() > u32::MAX as usize {
            return Err(index_err(&path, "over 4 GiB of documents"));
        }
        let total: usize = sections.iter().map(|s| s.len()).sum();
        let mut out = Vec::with_capacity(PREAMBLE + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.fst.len() as u32).to_le_bytes());
        for s in &sections {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        }
        for s in &sections {
            out.extend_from_slice(s);
        }
        atomic_write(&path, &out)
    }

    /// Maps `<dir>/index.bin`; `None` when absent, unreadable, damaged or
    /// built from another generation than `expected_generation` (i.e. stale).
    pub fn load(dir: &Path, expected_generation: u64) -> Option<Self> {
        let path = Self::path(dir);
        let parsed = (|| -> std::result::Result<Self, String> {
            let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
            // SAFETY: the file is never modified in place: every writer writes
            // a new file and renames it over this one (`atomic_write`), so the
            // mapped inode stays as it is for as long as the map lives.
            #[allow(unsafe_code)]
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| e.to_string())?;
            let bytes = Bytes {
                range: 0..map.len(),
                buf: Arc::new(map),
            };
            Self::parse(bytes, expected_generation, &path)
        })();
        match parsed {
            Ok(ix) => Some(ix),
            Err(reason) => {
                tracing::info!(path = %path.display(), %reason, "term index is stale or unreadable; rebuilding");
                None
            }
        }
    }

    fn parse(
        bytes: Bytes,
        expected_generation: u64,
        path: &Path,
    ) -> std::result::Result<Self, String> {
        let b = bytes.as_ref();
        if b.len() < PREAMBLE || &b[..8] != MAGIC {
            return Err("not a term index file (or an older layout)".into());
        }
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let generation = u64_at(8);
        if generation != expected_generation {
            return Err(format!(
                "built from generation {generation}, the graph is at {expected_generation}"
            ));
        }
        let n = u32_at(&b[16..20], 0).expect("4 bytes") as usize;
        let terms = u32_at(&b[20..24], 0).expect("4 bytes") as usize;
        let mut ranges = Vec::with_capacity(6);
        let mut at = PREAMBLE;
        for k in 0..6 {
            let len = usize::try_from(u64_at(24 + 8 * k)).map_err(|_| "length overflows")?;
            let end = at
                .checked_add(len)
                .filter(|&e| e <= b.len())
                .ok_or("truncated")?;
            ranges.push(at..end);
            at = end;
        }
        if at != b.len() {
            return Err("trailing bytes".into());
        }
        let section = |k: usize| bytes.slice(ranges[k].clone());
        let columns: Columns =
            postcard::from_bytes(section(0).as_ref()).map_err(|e| e.to_string())?;
        if columns.len() != n {
            return Err("document count disagrees with the ranking columns".into());
        }
        columns.check()?;
        let offsets_ok = |s: &Bytes, count: usize, last: usize| {
            let s = s.as_ref();
            s.len() == count * 4
                && (0..count).all(|i| {
                    let prev = if i == 0 {
                        0
                    } else {
                        u32_at(s, i - 1).unwrap_or(0)
                    };
                    u32_at(s, i).is_some_and(|v| v >= prev)
                })
                && (count == 0 || u32_at(s, count - 1) == Some(last as u32))
        };
        let (starts, postings, doc_ends, doc_bytes) =
            (section(1), section(2), section(3), section(4));
        if postings.as_ref().len() % POSTING_BYTES != 0
            || !offsets_ok(&starts, terms + 1, postings.as_ref().len() / POSTING_BYTES)
            || u32_at(starts.as_ref(), 0) != Some(0)
        {
            return Err("postings offsets disagree with the postings".into());
        }
        if !offsets_ok(&doc_ends, n, doc_bytes.as_ref().len()) {
            return Err("document offsets disagree with the documents".into());
        }
        let fst = fst::Map::new(section(5)).map_err(|e| e.to_string())?;
        if fst.len() != terms {
            return Err("term count disagrees with the FST".into());
        }
        // The FST's own checksum: its nodes are followed without bounds checks
        // of ours, so damage there must be caught here (a few ms at 100k terms).
        fst.as_fst().verify().map_err(|e| e.to_string())?;
        Ok(Self {
            generation,
            avg_len: average_lengths(&columns),
            decoded: (0..n).map(|_| OnceLock::new()).collect(),
            columns,
            fst,
            starts,
            postings,
            doc_ends,
            doc_bytes,
            source: Some(path.to_path_buf()),
        })
    }

    /// The postings of term `ord`, checked against the documents and fields
    /// before any is returned (a second pass over a few records: no allocation
    /// on the search path).
    fn postings(&self, ord: u64) -> Result<impl Iterator<Item = Posting> + '_> {
        let starts = self.starts.as_ref();
        let range = usize::try_from(ord)
            .ok()
            .and_then(|o| Some(u32_at(starts, o)? as usize..u32_at(starts, o + 1)? as usize))
            .ok_or_else(|| self.damaged(format!("term {ord} has no postings")))?;
        let bytes = self
            .postings
            .as_ref()
            .get(range.start * POSTING_BYTES..range.end * POSTING_BYTES)
            .ok_or_else(|| self.damaged(format!("postings of term {ord} out of range")))?;
        let decode = |r: &[u8]| Posting {
            doc: u32::from_le_bytes(r[..4].try_into().expect("4 bytes")),
            field: r[4],
            tf: u16::from_le_bytes(r[6..8].try_into().expect("2 bytes")),
        };
        let n = self.columns.len();
        if bytes
            .chunks_exact(POSTING_BYTES)
            .map(decode)
            .any(|p| p.doc as usize >= n || p.field as usize >= FIELD_COUNT)
        {
            return Err(self.damaged(format!("a posting of term {ord} is out of range")));
        }
        Ok(bytes.chunks_exact(POSTING_BYTES).map(decode))
    }

    /// Ordinals of the tokens equal to, starting with, or within `distance` of `word`.
    fn ords_exact(&self, word: &str) -> Option<u64> {
        self.fst.get(word)
    }

    fn ords_prefix(&self, word: &str) -> Vec<u64> {
        let aut = fst::automaton::Str::new(word).starts_with();
        let mut stream = self.fst.search(aut).into_stream();
        let mut out = Vec::new();
        while let Some((_, ord)) = stream.next() {
            out.push(ord);
        }
        out
    }

    fn ords_fuzzy(&self, word: &str, distance: u8) -> Vec<u64> {
        let dfa = lev_builder(distance).build_dfa(word);
        let mut stream = self.fst.search(Lev(&dfa)).into_stream();
        let mut out = Vec::new();
        while let Some((_, ord)) = stream.next() {
            out.push(ord);
        }
        out
    }

    #[cfg(test)]
    /// Tokens the index would match for `word` (exact, prefix, typo), for tests
    /// and `--verbose` output.
    pub fn candidates(&self, word: &str) -> Vec<String> {
        let word = word.to_lowercase();
        let mut ords: Vec<u64> = self.ords_exact(&word).into_iter().collect();
        if word.chars().count() >= 2 {
            ords.extend(self.ords_prefix(&word));
        }
        if let Some(d) = ranking::typo_distance(word.chars().count()) {
            ords.extend(self.ords_fuzzy(&word, d));
        }
        ords.sort_unstable();
        ords.dedup();
        let wanted: std::collections::HashSet<u64> = ords.into_iter().collect();
        let mut out = Vec::new();
        let mut stream = self.fst.stream();
        while let Some((k, v)) = stream.next() {
            if wanted.contains(&v) {
                out.push(String::from_utf8_lossy(k).into_owned());
            }
        }
        out
    }

    fn bm25(&self, p: &Posting, df: u32) -> f32 {
        let n = self.columns.len() as f32;
        let idf = (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let dl = self.columns.lens[p.doc as usize][p.field as usize] as f32;
        let avg = self.avg_len[p.field as usize].max(f32::EPSILON);
        let tf = p.tf as f32;
        idf * (1.0 + K1) * tf / (tf + K1 * (1.0 - B + B * dl / avg))
    }

    /// Scores, filters and sorts; returns the requested page and the total.
    /// Fails only on a damaged index file.
    pub fn search(&self, query: &SearchQuery) -> Result<(Vec<Scored>, usize)> {
        let n = self.columns.len();
        let mut words = Vec::new();
        for t in tokens(&query.text) {
            if !words.contains(&t) {
                words.push(t);
            }
        }
        let has_text = !words.is_empty();
        let mut scores = vec![0f32; if has_text { n } else { 0 }];
        let mut matched = vec![!has_text; n];
        if has_text {
            let mut marks = vec![0u8; n];
            let mut touched: Vec<u32> = Vec::new();
            for w in &words {
                // Exact: BM25 per field.
                if let Some(ord) = self.ords_exact(w) {
                    let list: Vec<Posting> = self.postings(ord)?.collect();
                    let mut df = [0u32; FIELD_COUNT];
                    for p in &list {
                        df[p.field as usize] += 1;
                    }
                    for p in &list {
                        scores[p.doc as usize] +=
                            WEIGHTS[p.field as usize] * self.bm25(p, df[p.field as usize]);
                        matched[p.doc as usize] = true;
                    }
                }
                let chars = w.chars().count();
                let mut constant = |ords: Vec<u64>, min_weight: f32, factor: f32| -> Result<()> {
                    for ord in ords {
                        for p in self.postings(ord)? {
                            if WEIGHTS[p.field as usize] >= min_weight {
                                let m = &mut marks[p.doc as usize];
                                if *m == 0 {
                                    touched.push(p.doc);
                                }
                                *m |= 1 << p.field;
                            }
                        }
                    }
                    for &d in &touched {
                        let m = std::mem::take(&mut marks[d as usize]);
                        for (f, weight) in WEIGHTS.iter().enumerate() {
                            if m & (1 << f) != 0 {
                                scores[d as usize] += weight * factor;
                            }
                        }
                        matched[d as usize] = true;
                    }
                    touched.clear();
                    Ok(())
                };
                if chars >= ranking::PREFIX_MIN_CHARS {
                    constant(
                        self.ords_prefix(w),
                        ranking::PREFIX_MIN_WEIGHT,
                        ranking::PREFIX_FACTOR,
                    )?;
                }
                if let Some(d) = ranking::typo_distance(chars) {
                    constant(
                        self.ords_fuzzy(w, d),
                        ranking::TYPO_MIN_WEIGHT,
                        ranking::TYPO_FACTOR,
                    )?;
                }
            }
            let lowered = query.text.trim().to_lowercase();
            for candidate in [lowered, words.join("-")] {
                if let Some(i) = self.position(&candidate) {
                    scores[i] += EXACT_NAME_SCORE;
                    matched[i] = true;
                }
            }
        }
        let c = &self.columns;
        // Filters as label ids; a label no package has matches nothing.
        let category = query
            .category
            .as_ref()
            .map(|l| c.label(&l.to_lowercase()).map_or(u32::MAX, |id| id + 1));
        let tags: Vec<u32> = query
            .tags
            .iter()
            .map(|t| c.label(&t.to_lowercase()).unwrap_or(u32::MAX))
            .collect();
        let mut hits: Vec<Scored> = (0..n)
            .filter(|&i| matched[i])
            .filter(|&i| {
                category.is_none_or(|id| c.category[i] == id)
                    && tags.iter().all(|t| c.tags(i).contains(t))
            })
            .map(|i| Scored {
                doc: i as u32,
                score: if has_text && query.sort == SortOrder::Relevance {
                    scores[i]
                } else {
                    0.0
                },
            })
            .collect();
        let total = hits.len();
        // Docs are in name order, so comparing indexes compares names.
        let by_downloads = |a: &Scored, b: &Scored| {
            c.downloads[b.doc as usize]
                .cmp(&c.downloads[a.doc as usize])
                .then_with(|| a.doc.cmp(&b.doc))
        };
        let cmp = |a: &Scored, b: &Scored| -> std::cmp::Ordering {
            match query.sort {
                SortOrder::Relevance => {
                    b.score.total_cmp(&a.score).then_with(|| by_downloads(a, b))
                }
                SortOrder::Downloads => by_downloads(a, b),
                SortOrder::Name => a.doc.cmp(&b.doc),
                SortOrder::Recent => c.published[b.doc as usize]
                    .cmp(&c.published[a.doc as usize])
                    .then_with(|| a.doc.cmp(&b.doc)),
            }
        };
        let end = query.offset.saturating_add(query.limit).min(total);
        if query.offset >= total {
            return Ok((Vec::new(), total));
        }
        if end < total {
            hits.select_nth_unstable_by(end, cmp);
            hits.truncate(end);
        }
        hits.sort_unstable_by(cmp);
        Ok((hits.split_off(query.offset), total))
    }
}

fn average_lengths(c: &Columns) -> [f32; FIELD_COUNT] {
    let mut avg = [0f32; FIELD_COUNT];
    if c.len() > 0 {
        for (f, a) in avg.iter_mut().enumerate() {
            let total: u64 = c.lens.iter().map(|l| u64::from(l[f])).sum();
            *a = total as f32 / c.len() as f32;
        }
    }
    avg
}

#[cfg(test)]
mod tests {
    use super::*;
    use ggen_marketplace_core::model::PackageVersion;

    fn pkg(name: &str, desc: &str, tags: &[&str], downloads: u64) -> Package {
        let mut v = PackageVersion::new(name, "1.0.0".parse().unwrap());
        v.description = desc.into();
        v.tags = tags.iter().map(|s| s.to_string()).collect();
        Package {
            name: name.into(),
            downloads,
            stars: 0,
            versions: vec![v],
        }
    }

    fn index() -> TermIndex {
        TermIndex::build(
            7,
            vec![
                Doc::from_package(&pkg(
                    "hello-world",
                    "A friendly greeting template",
                    &["example"],
                    5,
                )),
                Doc::from_package(&pkg(
                    "bibtex-references",
                    "Bibliography management",
                    &["latex"],
                    50,
                )),
                Doc::from_package(&pkg(
                    "rust-cli",
                    "Command line apps in Rust",
                    &["rust", "cli"],
                    100,
                )),
                Doc::from_package(&pkg(
                    "io.ggen.nextjs.ontology-crud",
                    "CRUD from an ontology",
                    &["nextjs"],
                    1,
                )),
            ],
        )
    }

    fn names(ix: &TermIndex, q: SearchQuery) -> Vec<String> {
        ix.search(&q)
            .unwrap()
            .0
            .iter()
            .map(|s| ix.doc(s.doc).unwrap().name.clone())
            .collect()
    }

    #[test]
    fn exact_prefix_and_typo_candidates() {
        let ix = index();
        assert_eq!(ix.candidates("rust"), ["rust"]);
        assert!(ix.candidates("bib").contains(&"bibtex".to_string()));
        assert!(ix.candidates("bib").contains(&"bibliography".to_string()));
        assert!(ix.candidates("helo").contains(&"hello".to_string()));
        assert!(ix.candidates("wrld").contains(&"world".to_string()));
        // two edits allowed from 8 characters on
        assert!(
            ix.candidates("bibliogrphy")
                .contains(&"bibliography".to_string())
        );
        assert!(ix.candidates("ontologgy").contains(&"ontology".to_string()));
        // one char: no prefix expansion, no typo
        assert!(ix.candidates("b").is_empty());
        // three chars: prefix yes, typos no
        assert!(!ix.candidates("rst").contains(&"rust".to_string()));
    }

    #[test]
    fn ranking_matches_v1_rules() {
        let ix = index();
        assert_eq!(names(&ix, SearchQuery::text("helo wrld"))[0], "hello-world");
        assert_eq!(names(&ix, SearchQuery::text("bib"))[0], "bibtex-references");
        assert_eq!(names(&ix, SearchQuery::text("rust-cli"))[0], "rust-cli");
        assert_eq!(
            names(&ix, SearchQuery::text("io.ggen.nextjs.ontology-crud"))[0],
            "io.ggen.nextjs.ontology-crud"
        );
        let (hits, _) = ix.search(&SearchQuery::text("hello world")).unwrap();
        assert!(hits[0].score >= EXACT_NAME_SCORE);
        // No text: every package, by downloads.
        assert_eq!(
            names(&ix, SearchQuery::default()),
            [
                "rust-cli",
                "bibtex-references",
                "hello-world",
                "io.ggen.nextjs.ontology-crud"
            ]
        );
        assert!(
            ix.search(&SearchQuery::text("zzzzqqq"))
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[test]
    fn filters_and_sorts_read_the_columns() {
        let mut academic = pkg(
            "bibtex-references",
            "Bibliography management",
            &["latex"],
            50,
        );
        academic.versions[0].category = Some("Academic".into());
        let ix = TermIndex::build(
            1,
            vec![
                Doc::from_package(&academic),
                Doc::from_package(&pkg("rust-cli", "Command line apps", &["rust", "cli"], 100)),
                Doc::from_package(&pkg("rust-web", "Web services", &["rust", "web"], 7)),
            ],
        );
        let query = |category: Option<&str>, tags: &[&str], sort: SortOrder| {
            let q = SearchQuery {
                category: category.map(str::to_string),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                sort,
                ..SearchQuery::default()
            };
            names(&ix, q)
        };
        assert_eq!(
            query(Some("ACADEMIC"), &[], SortOrder::Relevance),
            ["bibtex-references"]
        );
        assert!(query(Some("web"), &[], SortOrder::Relevance).is_empty());
        assert_eq!(
            query(None, &["Rust"], SortOrder::Relevance),
            ["rust-cli", "rust-web"]
        );
        assert_eq!(
            query(None, &["rust", "web"], SortOrder::Relevance),
            ["rust-web"]
        );
        assert!(query(None, &["rust", "latex"], SortOrder::Relevance).is_empty());
        assert!(query(None, &["unknown"], SortOrder::Relevance).is_empty());
        assert_eq!(
            query(None, &[], SortOrder::Name),
            ["bibtex-references", "rust-cli", "rust-web"]
        );
        assert_eq!(
            query(None, &[], SortOrder::Downloads),
            ["rust-cli", "bibtex-references", "rust-web"]
        );
    }

    #[test]
    fn persisted_index_is_used_only_for_its_generation() {
        let dir = tempfile::tempdir().unwrap();
        let ix = index();
        ix.save(dir.path()).unwrap();
        let back = TermIndex::load(dir.path(), 7).expect("fresh");
        assert_eq!(back.all_docs().unwrap(), ix.all_docs().unwrap());
        assert_eq!(back.term_count(), ix.term_count());
        for q in ["helo", "bib", "rust cli", "hello world", "ontology", ""] {
            let (a, b) = (
                ix.search(&SearchQuery::text(q)).unwrap(),
                back.search(&SearchQuery::text(q)).unwrap(),
            );
            assert_eq!(a, b, "{q}");
        }
        // A loaded index changes and saves like a built one.
        let changed = back
            .with_counters(8, &[("hello-world".into(), 500, 3)])
            .unwrap();
        assert_eq!(names(&changed, SearchQuery::default())[0], "hello-world");
        assert_eq!(changed.doc(1).unwrap().summary.stars, 3);
        changed.save(dir.path()).unwrap();
        let again = TermIndex::load(dir.path(), 8).expect("fresh");
        assert_eq!(again.all_docs().unwrap(), changed.all_docs().unwrap());
        assert!(TermIndex::load(dir.path(), 7).is_none());
        std::fs::write(TermIndex::path(dir.path()), b"garbage").unwrap();
        assert!(TermIndex::load(dir.path(), 8).is_none());
    }

    /// Every truncation of the file is refused at load; a posting or document
    /// damaged in place (the layout intact) is an error naming the file when
    /// read, never a panic.
    #[test]
    fn a_damaged_index_file_is_refused_or_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let ix = index();
        ix.save(dir.path()).unwrap();
        let path = TermIndex::path(dir.path());
        let good = std::fs::read(&path).unwrap();
        for len in (0..good.len()).step_by(7) {
            std::fs::write(&path, &good[..len]).unwrap();
            assert!(TermIndex::load(dir.path(), 7).is_none(), "{len} bytes");
        }
        // Every byte of the body flipped in turn: load refuses it, or searches
        // and documents answer or fail cleanly.
        let (mut refused, mut failed) = (0, 0);
        for at in PREAMBLE..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0xff;
            std::fs::write(&path, &bad).unwrap();
            let Some(ix) = TermIndex::load(dir.path(), 7) else {
                refused += 1;
                continue;
            };
            for q in ["hello", "bib", "rust cli", ""] {
                if let Err(e) = ix.search(&SearchQuery::text(q)) {
                    assert!(e.to_string().contains("index.bin"), "{e}");
                    failed += 1;
                }
            }
            for i in 0..ix.len() as u32 {
                if let Err(e) = ix.doc(i) {
                    assert!(e.to_string().contains("damaged"), "{e}");
                    failed += 1;
                }
            }
        }
        // Both paths are exercised: refusals at load, errors on use.
        assert!(
            refused > 0 && failed > 0,
            "{refused} refused, {failed} failed"
        );
    }
}
