//! The term index: what makes V2 search fast without `CONTAINS`/`REGEX` scans.
//!
//! One [`Doc`] per package (its latest version), holding the tokens of each
//! searchable field and what filtering and sorting need. Every distinct token is a
//! key of an FST (`fst` crate) whose value is the token's ordinal in a postings
//! table `(doc, field, term frequency)`. Lookups: exact (FST get), prefix (FST
//! range stream) and typo-tolerant (a Levenshtein DFA from `levenshtein_automata`,
//! Damerau transpositions costing one, run as an `fst::Automaton`).
//!
//! Scoring mirrors V1 (tantivy) so both backends agree on the first hit: a whole
//! name match scores 1000 (checked as typed, and with words joined by `-`); each
//! query word scores BM25 (k1 1.2, b 0.75) times the field weight (name 6, tags 3,
//! keywords 3, category 2, description 1, author 0.5), plus a constant
//! 0.4 x weight when some token of the field starts with it (words of 2+ chars,
//! fields weighing 2+), plus 0.3 x weight when some token is within edit distance
//! 1 (words of 4-7 chars) or 2 (8+ chars) (fields weighing 1+). Ties go to the
//! more downloaded package, then the name.
//!
//! Persistence: `<dir>/index.bin` = magic, the graph generation it was built from,
//! the docs as JSON and the FST bytes, written atomically. It is used only when
//! its generation equals the graph's; otherwise the index is rebuilt from the
//! graph. Writers update it in memory and rewrite it after every write.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fst::{Automaton, IntoStreamer, Streamer};
use ggen_marketplace_core::fsutil::atomic_write;
use ggen_marketplace_core::model::{Package, PackageSummary};
use ggen_marketplace_core::search::{SearchQuery, SortOrder, tokenize};
use ggen_marketplace_core::{MarketplaceError, Result};
use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use serde::{Deserialize, Serialize};

pub const INDEX_FILE: &str = "index.bin";
// Bumped whenever `Doc` changes: an older file is then rebuilt, never misread.
const MAGIC: &[u8; 8] = b"GGENV2T3";
/// Whole-name matches outrank any combination of word matches (as in V1).
pub const EXACT_NAME_SCORE: f32 = 1000.0;
/// V1 drops tokens of 40 bytes or more; so do we.
const MAX_TOKEN_BYTES: usize = 40;
const K1: f32 = 1.2;
const B: f32 = 0.75;

pub const NAME: usize = 0;
pub const TAGS: usize = 1;
pub const KEYWORDS: usize = 2;
pub const CATEGORY: usize = 3;
pub const DESCRIPTION: usize = 4;
pub const AUTHOR: usize = 5;
pub const FIELD_COUNT: usize = 6;
pub const WEIGHTS: [f32; FIELD_COUNT] = [6.0, 3.0, 3.0, 2.0, 1.0, 0.5];

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

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Posting {
    doc: u32,
    field: u8,
    tf: u16,
}

/// `index.bin` after the magic and lengths, in postcard (a compact binary
/// serde format): the postings are stored, not recomputed, because a CLI
/// search loads this file on every run (JSON plus re-deriving the postings
/// took ~150 ms at 10k packages).
#[derive(Serialize, Deserialize)]
struct Header {
    generation: u64,
    docs: Vec<Doc>,
    postings: Vec<Vec<Posting>>,
}

pub struct TermIndex {
    generation: u64,
    docs: Vec<Doc>,
    by_name: HashMap<String, u32>,
    fst: fst::Map<Vec<u8>>,
    postings: Vec<Vec<Posting>>,
    avg_len: [f32; FIELD_COUNT],
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

/// The edit distance a query word of this many characters may be off by.
pub fn fuzzy_distance(chars: usize) -> Option<u8> {
    match chars {
        0..=3 => None,
        4..=7 => Some(1),
        _ => Some(2),
    }
}

fn index_err(dir: &Path, reason: impl std::fmt::Display) -> MarketplaceError {
    MarketplaceError::SearchIndex {
        path: dir.to_path_buf(),
        reason: reason.to_string(),
    }
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
        let postings = terms.into_values().collect();
        Self::assemble(generation, docs, fst, postings)
    }

    fn assemble(
        generation: u64,
        docs: Vec<Doc>,
        fst: fst::Map<Vec<u8>>,
        postings: Vec<Vec<Posting>>,
    ) -> Self {
        let mut avg_len = [0f32; FIELD_COUNT];
        if !docs.is_empty() {
            for (f, avg) in avg_len.iter_mut().enumerate() {
                let total: usize = docs.iter().map(|d| d.fields[f].len()).sum();
                *avg = total as f32 / docs.len() as f32;
            }
        }
        let by_name = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.clone(), i as u32))
            .collect();
        Self {
            generation,
            docs,
            by_name,
            fst,
            postings,
            avg_len,
        }
    }

    /// A copy with these packages' docs replaced (or added) and `removed` dropped.
    pub fn with_changes(&self, generation: u64, upserts: Vec<Doc>, removed: &[String]) -> Self {
        let mut docs: BTreeMap<String, Doc> = self
            .docs
            .iter()
            .map(|d| (d.name.clone(), d.clone()))
            .collect();
        for r in removed {
            docs.remove(r);
        }
        for d in upserts {
            docs.insert(d.name.clone(), d);
        }
        Self::build(generation, docs.into_values().collect())
    }

    /// A copy with these packages' counters `(name, downloads, stars)` set.
    /// Counters only rank and display, so the terms and postings are shared
    /// as they are: no rebuild, which matters when a migration sets 100k of them.
    pub fn with_counters(&self, generation: u64, counters: &[(String, u64, u64)]) -> Self {
        let mut docs = self.docs.clone();
        for (name, downloads, stars) in counters {
            if let Some(&i) = self.by_name.get(name) {
                let d = &mut docs[i as usize];
                d.downloads = *downloads;
                d.summary.downloads = *downloads;
                d.summary.stars = *stars;
            }
        }
        Self {
            generation,
            docs,
            by_name: self.by_name.clone(),
            fst: self.fst.clone(),
            postings: self.postings.clone(),
            avg_len: self.avg_len,
        }
    }

    /// Whether a package of this name is indexed (that is, in the graph).
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn doc(&self, i: u32) -> &Doc {
        &self.docs[i as usize]
    }

    pub fn docs(&self) -> &[Doc] {
        &self.docs
    }

    pub fn term_count(&self) -> usize {
        self.fst.len()
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(INDEX_FILE)
    }

    /// Writes `<dir>/index.bin` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let header = postcard::to_stdvec(&Header {
            generation: self.generation,
            docs: self.docs.clone(),
            postings: self.postings.clone(),
        })
        .map_err(|e| index_err(dir, e))?;
        let fst_bytes = self.fst.as_fst().as_bytes();
        let mut out = Vec::with_capacity(24 + header.len() + fst_bytes.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(fst_bytes);
        atomic_write(&Self::path(dir), &out)
    }

    /// Reads `<dir>/index.bin`; `None` when absent, unreadable or built from
    /// another generation than `expected_generation` (i.e. stale).
    pub fn load(dir: &Path, expected_generation: u64) -> Option<Self> {
        let path = Self::path(dir);
        let bytes = std::fs::read(&path).ok()?;
        let parsed = (|| -> std::result::Result<Self, String> {
            if bytes.len() < 24 || &bytes[..8] != MAGIC {
                return Err("not a term index file".into());
            }
            let generation = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
            if generation != expected_generation {
                return Err(format!(
                    "built from generation {generation}, the graph is at {expected_generation}"
                ));
            }
            let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")) as usize;
            let header_end = 24usize
                .checked_add(len)
                .filter(|&e| e <= bytes.len())
                .ok_or("truncated")?;
            let header: Header =
                postcard::from_bytes(&bytes[24..header_end]).map_err(|e| e.to_string())?;
            if header.generation != generation {
                return Err("header disagrees with itself".into());
            }
            let fst = fst::Map::new(bytes[header_end..].to_vec()).map_err(|e| e.to_string())?;
            if header.docs.windows(2).any(|w| w[0].name >= w[1].name) {
                return Err("docs are not sorted".into());
            }
            let postings = header.postings;
            if postings.len() != fst.len() {
                return Err("postings and FST disagree".into());
            }
            // Term i of the FST must point at postings[i] (as `build` writes it).
            {
                let mut stream = fst.stream();
                let mut i = 0u64;
                while let Some((_, v)) = stream.next() {
                    if v != i {
                        return Err("FST values out of order".into());
                    }
                    i += 1;
                }
            }
            let n = header.docs.len();
            if postings.iter().any(|p| {
                p.is_empty()
                    || p.iter()
                        .any(|x| x.doc as usize >= n || x.field as usize >= FIELD_COUNT)
            }) {
                return Err("postings out of range".into());
            }
            Ok(Self::assemble(generation, header.docs, fst, postings))
        })();
        match parsed {
            Ok(ix) => Some(ix),
            Err(reason) => {
                tracing::info!(path = %path.display(), %reason, "term index is stale or unreadable; rebuilding");
                None
            }
        }
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

    /// Tokens the index would match for `word` (exact, prefix, typo), for tests
    /// and `--verbose` output.
    pub fn candidates(&self, word: &str) -> Vec<String> {
        let word = word.to_lowercase();
        let mut ords: Vec<u64> = self.ords_exact(&word).into_iter().collect();
        if word.chars().count() >= 2 {
            ords.extend(self.ords_prefix(&word));
        }
        if let Some(d) = fuzzy_distance(word.chars().count()) {
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
        let n = self.docs.len() as f32;
        let idf = (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let dl = self.docs[p.doc as usize].fields[p.field as usize].len() as f32;
        let avg = self.avg_len[p.field as usize].max(f32::EPSILON);
        let tf = p.tf as f32;
        idf * (1.0 + K1) * tf / (tf + K1 * (1.0 - B + B * dl / avg))
    }

    /// Scores, filters and sorts; returns the requested page and the total.
    pub fn search(&self, query: &SearchQuery) -> (Vec<Scored>, usize) {
        let n = self.docs.len();
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
                    let list = &self.postings[ord as usize];
                    let mut df = [0u32; FIELD_COUNT];
                    for p in list {
                        df[p.field as usize] += 1;
                    }
                    for p in list {
                        scores[p.doc as usize] +=
                            WEIGHTS[p.field as usize] * self.bm25(p, df[p.field as usize]);
                        matched[p.doc as usize] = true;
                    }
                }
                let chars = w.chars().count();
                let mut constant = |ords: Vec<u64>, min_weight: f32, factor: f32| {
                    for ord in ords {
                        for p in &self.postings[ord as usize] {
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
                };
                if chars >= 2 {
                    constant(self.ords_prefix(w), 2.0, 0.4);
                }
                if let Some(d) = fuzzy_distance(chars) {
                    constant(self.ords_fuzzy(w, d), 1.0, 0.3);
                }
            }
            let lowered = query.text.trim().to_lowercase();
            for candidate in [lowered, words.join("-")] {
                if let Some(&i) = self.by_name.get(&candidate) {
                    scores[i as usize] += EXACT_NAME_SCORE;
                    matched[i as usize] = true;
                }
            }
        }
        let category = query.category.as_ref().map(|c| c.to_lowercase());
        let tags: Vec<String> = query.tags.iter().map(|t| t.to_lowercase()).collect();
        let mut hits: Vec<Scored> = (0..n)
            .filter(|&i| matched[i])
            .filter(|&i| {
                let d = &self.docs[i];
                category
                    .as_ref()
                    .is_none_or(|c| d.category.as_ref() == Some(c))
                    && tags.iter().all(|t| d.tags.contains(t))
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
        let docs = &self.docs;
        let by_downloads = |a: &Scored, b: &Scored| {
            let (da, db) = (&docs[a.doc as usize], &docs[b.doc as usize]);
            db.downloads
                .cmp(&da.downloads)
                .then_with(|| da.name.cmp(&db.name))
        };
        let cmp = |a: &Scored, b: &Scored| -> std::cmp::Ordering {
            let (da, db) = (&docs[a.doc as usize], &docs[b.doc as usize]);
            match query.sort {
                SortOrder::Relevance => {
                    b.score.total_cmp(&a.score).then_with(|| by_downloads(a, b))
                }
                SortOrder::Downloads => by_downloads(a, b),
                SortOrder::Name => da.name.cmp(&db.name),
                SortOrder::Recent => db
                    .published
                    .cmp(&da.published)
                    .then_with(|| da.name.cmp(&db.name)),
            }
        };
        let end = query.offset.saturating_add(query.limit).min(total);
        if query.offset >= total {
            return (Vec::new(), total);
        }
        if end < total {
            hits.select_nth_unstable_by(end, cmp);
            hits.truncate(end);
        }
        hits.sort_unstable_by(cmp);
        (hits.split_off(query.offset), total)
    }
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
            .0
            .iter()
            .map(|s| ix.doc(s.doc).name.clone())
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
        let (hits, _) = ix.search(&SearchQuery::text("hello world"));
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
        assert!(ix.search(&SearchQuery::text("zzzzqqq")).0.is_empty());
    }

    #[test]
    fn persisted_index_is_used_only_for_its_generation() {
        let dir = tempfile::tempdir().unwrap();
        let ix = index();
        ix.save(dir.path()).unwrap();
        let back = TermIndex::load(dir.path(), 7).expect("fresh");
        assert_eq!(back.docs(), ix.docs());
        assert_eq!(back.term_count(), ix.term_count());
        assert_eq!(
            names(&back, SearchQuery::text("helo")),
            names(&ix, SearchQuery::text("helo"))
        );
        assert!(TermIndex::load(dir.path(), 8).is_none());
        std::fs::write(TermIndex::path(dir.path()), b"garbage").unwrap();
        assert!(TermIndex::load(dir.path(), 7).is_none());
    }
}
