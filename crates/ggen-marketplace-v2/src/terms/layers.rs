//! The term index as the backend sees it: a base segment, saved rarely, and
//! a small delta segment holding the docs written since, with the names of
//! the base docs they replace or remove. A write rebuilds and saves only the
//! delta, so its cost follows the size of the delta rather than of the
//! catalogue (rewriting the whole index was most of a publish into a 10k
//! registry, BENCHMARKS.md). Once the delta passes [`MERGE_AT`] docs (or the
//! size of its base, for small registries), the write that takes it there
//! merges both into a new base: segments and merges as tantivy and Lucene
//! keep them, with one level.
//!
//! A search runs on both segments against the counts of the whole index
//! (`score::Corpus`: live docs, average field lengths, per-word document
//! frequencies), so each hit's score is the one a single merged segment
//! gives it, and the two pages are merged by the query's order, with names
//! breaking ties as doc order does within a segment. Doc ids run through the
//! base, then the delta.
//!
//! On disk the base is `index.bin` and the delta `delta.bin` (layout in
//! `file`). A delta names its base by the base's random id, so a delta left
//! next to another base (a crash between the two renames, another process's
//! merge) is ignored, and the base alone is used at its own generation.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ggen_marketplace_core::Result;
use ggen_marketplace_core::model::Package;
use ggen_marketplace_core::search::{self, QueryPlan, SearchQuery, SortOrder};
use ggen_marketplace_core::topics::TopicScheme;
use serde::{Deserialize, Serialize};

use super::columns::averages;
use super::file::{DELTA_FILE, INDEX_FILE};
use super::score::{Corpus, WINDOW};
use super::{Doc, FIELD_COUNT, Scored, Segment};

/// A delta of more docs (new, changed or removed) than this is merged into
/// its base by the write that makes it so. At 100k packages that is a merge
/// every thousand writes or so; each write in between rebuilds at most this
/// many docs.
pub const MERGE_AT: usize = 1024;

/// What makes a segment a delta.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Over {
    /// The id of the base segment it applies to.
    pub(super) base: u64,
    /// Base docs it replaces or removes, by name.
    pub(super) dead: Vec<String>,
}

/// The term index: see the module docs.
#[derive(Clone)]
pub struct TermIndex {
    base: Arc<Segment>,
    delta: Option<Delta>,
}

#[derive(Clone)]
struct Delta {
    segment: Arc<Segment>,
    /// Per base doc, whether the delta replaces or removes it.
    dead: Arc<[bool]>,
    /// Live docs of base and delta together.
    n: usize,
    /// Tokens per field averaged over them.
    avg_len: [f32; FIELD_COUNT],
}

impl Delta {
    /// `segment` (whose `over` names `base`) over `base`. Every base doc the
    /// delta holds a doc of the same name for is dead, whatever the saved
    /// list says, so a hand-edited delta cannot make a package appear twice.
    fn new(base: &Segment, segment: Segment) -> Self {
        let mut dead = vec![false; base.len()];
        let named = segment.over.iter().flat_map(|o| o.dead.iter());
        let replaced = (0..segment.len()).map(|i| segment.columns.name(i));
        let mut totals = base.len_totals;
        let mut live = base.len();
        for name in named.map(String::as_str).chain(replaced) {
            if let Some(i) = base.position(name)
                && !dead[i]
            {
                dead[i] = true;
                live -= 1;
                for (f, t) in totals.iter_mut().enumerate() {
                    *t = t.saturating_sub(u64::from(base.columns.field_len(i, f)));
                }
            }
        }
        for (t, d) in totals.iter_mut().zip(segment.len_totals) {
            *t += d;
        }
        let n = live + segment.len();
        Self {
            avg_len: averages(totals, n),
            n,
            dead: dead.into(),
            segment: Arc::new(segment),
        }
    }
}

impl TermIndex {
    /// An index of `docs` (any order; kept sorted by name), in one segment.
    pub fn build(generation: u64, docs: Vec<Doc>) -> Self {
        Self {
            base: Arc::new(Segment::build(generation, docs)),
            delta: None,
        }
    }

    #[cfg(test)]
    pub(super) fn base(&self) -> &Segment {
        &self.base
    }

    /// The segment the index's generation, head and scheme are those of.
    fn top(&self) -> &Segment {
        self.delta.as_ref().map_or(&self.base, |d| &d.segment)
    }

    /// The top segment, to relabel: a base changed this way is a new base
    /// (a new id), so that saving writes it.
    fn top_mut(&mut self) -> &mut Segment {
        match &mut self.delta {
            Some(d) => Arc::make_mut(&mut d.segment),
            None => {
                let base = Arc::make_mut(&mut self.base);
                base.id = rand::random();
                base
            }
        }
    }

    /// The same index, expanding queries through `scheme` (the graph's).
    pub fn with_scheme(mut self, scheme: Option<Arc<TopicScheme>>) -> Self {
        self.top_mut().scheme = scheme;
        self
    }

    /// This index with the feed entry of its generation set to `head`.
    pub fn with_head(mut self, head: Option<String>) -> Self {
        self.top_mut().head = head;
        self
    }

    /// The feed entry of this index's generation, when known.
    pub fn head(&self) -> Option<&str> {
        self.top().head()
    }

    /// The topic scheme queries expand through.
    pub fn scheme(&self) -> &TopicScheme {
        self.top().scheme()
    }

    /// Whether the graph held a topic scheme when this index was built.
    pub fn graph_has_scheme(&self) -> bool {
        self.top().graph_has_scheme()
    }

    pub fn generation(&self) -> u64 {
        self.top().generation()
    }

    /// Packages indexed.
    pub fn len(&self) -> usize {
        self.delta.as_ref().map_or(self.base.len(), |d| d.n)
    }

    /// Distinct terms of the base plus those of the delta (a term in both
    /// counts twice).
    pub fn term_count(&self) -> usize {
        self.base.term_count() + self.delta.as_ref().map_or(0, |d| d.segment.term_count())
    }

    /// Docs in the delta (0: the index is one segment).
    pub fn delta_len(&self) -> usize {
        self.delta.as_ref().map_or(0, |d| d.segment.len())
    }

    /// Whether base doc `i` is still in the index.
    fn live(&self, i: usize) -> bool {
        self.delta.as_ref().is_none_or(|d| !d.dead[i])
    }

    /// Whether a package of this name is indexed (that is, in the graph).
    pub fn contains(&self, name: &str) -> bool {
        self.delta
            .as_ref()
            .is_some_and(|d| d.segment.contains(name))
            || self.base.position(name).is_some_and(|i| self.live(i))
    }

    /// The package named `name` as the graph held it at this index's
    /// generation, from its record: one lookup and one decode instead of a
    /// walk over the package's subgraph.
    pub fn package(&self, name: &str) -> Result<Option<Package>> {
        if let Some(d) = &self.delta
            && let Some(p) = d.segment.package(name)?
        {
            return Ok(Some(p));
        }
        match self.base.position(name) {
            Some(i) if self.live(i) => self.base.record(i).map(Some),
            _ => Ok(None),
        }
    }

    /// Doc `i` (as in [`Scored::doc`] and [`Self::ids`]), decoded on first use.
    pub fn doc(&self, i: u32) -> Result<&Doc> {
        let base = self.base.len() as u32;
        match &self.delta {
            Some(d) if i >= base => d.segment.doc(i - base),
            _ => self.base.doc(i),
        }
    }

    /// The ids of every indexed doc, base first, each in name order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        let base = self.base.len();
        (0..base)
            .filter(|&i| self.live(i))
            .chain(base..base + self.delta_len())
            .map(|i| i as u32)
    }

    /// Every doc, decoded, with its record, in name order (writers, which
    /// rebuild from them).
    pub fn all_docs(&self) -> Result<Vec<Doc>> {
        let mut docs: Vec<Doc> = self
            .base
            .all_docs()?
            .into_iter()
            .enumerate()
            .filter(|(i, _)| self.live(*i))
            .map(|(_, d)| d)
            .collect();
        if let Some(d) = &self.delta {
            docs.extend(d.segment.all_docs()?);
            docs.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(docs)
    }

    /// A copy at `generation` with these packages' docs replaced (or added)
    /// and `removed` dropped: a new delta over the same base, or a merged
    /// base when the delta would pass [`MERGE_AT`] docs.
    pub fn with_changes(
        &self,
        generation: u64,
        upserts: Vec<Doc>,
        removed: &[String],
    ) -> Result<Self> {
        let (mut docs, mut dead): (BTreeMap<String, Doc>, BTreeSet<String>) = match &self.delta {
            Some(d) => (
                d.segment
                    .all_docs()?
                    .into_iter()
                    .map(|d| (d.name.clone(), d))
                    .collect(),
                d.segment.over.iter().flat_map(|o| o.dead.clone()).collect(),
            ),
            None => Default::default(),
        };
        for r in removed {
            docs.remove(r);
            if self.base.contains(r) {
                dead.insert(r.clone());
            }
        }
        for d in upserts {
            if self.base.contains(&d.name) {
                dead.insert(d.name.clone());
            }
            docs.insert(d.name.clone(), d);
        }
        let scheme = self.top().scheme.clone();
        if docs.len() + dead.len() > MERGE_AT.min(self.base.len()) {
            // A base doc the delta holds again is dead even if no list says
            // so (a hand-made delta.bin): the delta's is the newer.
            let mut all: Vec<Doc> = self
                .base
                .all_docs()?
                .into_iter()
                .filter(|d| !dead.contains(&d.name) && !docs.contains_key(&d.name))
                .collect();
            all.extend(docs.into_values());
            return Ok(Self::build(generation, all).with_scheme(scheme));
        }
        let mut segment = Segment::build(generation, docs.into_values().collect());
        segment.scheme = scheme;
        segment.over = Some(Over {
            base: self.base.id,
            dead: dead.into_iter().collect(),
        });
        Ok(Self {
            delta: Some(Delta::new(&self.base, segment)),
            base: self.base.clone(),
        })
    }

    /// A copy with these packages' counters `(name, downloads, stars)` set.
    /// Counters only rank and display, so a one-segment index keeps its
    /// terms and postings as they are; an index with a delta is merged
    /// first (counters come in bulk, from migrations and imports).
    pub fn with_counters(&self, generation: u64, counters: &[(String, u64, u64)]) -> Result<Self> {
        if counters.is_empty() {
            // Only the label moves (a topic scheme installed): a delta's worth of work.
            return self.with_changes(generation, Vec::new(), &[]);
        }
        let merged;
        let base = match &self.delta {
            None => &*self.base,
            Some(_) => {
                merged = Segment::build(generation, self.all_docs()?)
                    .with_scheme(self.top().scheme.clone());
                &merged
            }
        };
        Ok(Self {
            base: Arc::new(
                base.with_counters(generation, counters)?
                    .with_scheme(self.top().scheme.clone()),
            ),
            delta: None,
        })
    }

    /// Scores, filters and sorts; returns the requested page and the total.
    /// Fails only on a damaged index file.
    pub fn search(&self, query: &SearchQuery) -> Result<(Vec<Scored>, usize)> {
        let plan = search::plan_with(&query.text, false, self.scheme());
        let found = self.search_with(query, &plan, WINDOW)?;
        // Short words' typos only when nothing else matched (core's policy).
        if found.1 == 0 && plan.withheld_typos {
            let fallback = search::plan_with(&query.text, true, self.scheme());
            return self.search_with(query, &fallback, WINDOW);
        }
        Ok(found)
    }

    /// [`Self::search`] for `plan`, summing `window_len` docs at a time.
    pub(super) fn search_with(
        &self,
        query: &SearchQuery,
        plan: &QueryPlan,
        window_len: usize,
    ) -> Result<(Vec<Scored>, usize)> {
        let Some(delta) = &self.delta else {
            return self
                .base
                .search_with(query, plan, window_len, &self.base.own_corpus());
        };
        let dead = Some(&*delta.dead);
        let df = plan
            .words
            .iter()
            .map(|w| {
                let a = self.base.word_df(&w.text, dead)?;
                let b = delta.segment.word_df(&w.text, None)?;
                Ok(std::array::from_fn(|f| a[f] + b[f]))
            })
            .collect::<Result<Vec<[u32; FIELD_COUNT]>>>()?;
        let corpus = |dead| Corpus {
            n: delta.n,
            avg_len: delta.avg_len,
            df: Some(&df),
            dead,
        };
        // Each segment's best `offset + limit`, merged.
        let mut first = query.clone();
        first.offset = 0;
        first.limit = query.offset.saturating_add(query.limit);
        let (a, a_total) = self
            .base
            .search_with(&first, plan, window_len, &corpus(dead))?;
        let (b, b_total) = delta
            .segment
            .search_with(&first, plan, window_len, &corpus(None))?;
        fn key<'a>(seg: &'a Segment, s: &Scored) -> Key<'a> {
            let i = s.doc as usize;
            Key {
                score: s.score,
                downloads: seg.columns.downloads(i),
                published: seg.columns.published(i),
                name: seg.columns.name(i),
            }
        }
        let base_len = self.base.len() as u32;
        let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
        let mut page = Vec::with_capacity(query.limit.min(first.limit));
        let mut taken = 0;
        while taken < first.limit {
            let from_base = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => {
                    order(query.sort, &key(&self.base, x), &key(&delta.segment, y))
                        != Ordering::Greater
                }
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let hit = if from_base {
                a.next().expect("peeked")
            } else {
                let mut s = b.next().expect("peeked");
                s.doc += base_len;
                s
            };
            if taken >= query.offset {
                page.push(hit);
            }
            taken += 1;
        }
        Ok((page, a_total + b_total))
    }

    /// `<dir>/index.bin`, the base.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(INDEX_FILE)
    }

    /// Saves the index in `dir`: the delta alone when the base there is
    /// already this one, else the base first, then the delta (or no delta).
    /// Each file is written atomically; a crash between the two leaves a
    /// delta that names another base, which loading ignores.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let base = Self::path(dir);
        if Segment::saved_id(&base) != Some(self.base.id) {
            self.base.save(&base)?;
        }
        let delta = dir.join(DELTA_FILE);
        match &self.delta {
            Some(d) => d.segment.save(&delta),
            None => match std::fs::remove_file(&delta) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(ggen_marketplace_core::MarketplaceError::io(&delta, e))
                }
                _ => Ok(()),
            },
        }
    }

    /// The index saved in `dir`, at whatever generation it was saved (the
    /// caller decides whether it is current, or a start to catch up from);
    /// `None` when there is none or it is damaged. A delta that does not
    /// name this base, or is older than it, is left out.
    pub fn load(dir: &Path) -> Option<Self> {
        let path = Self::path(dir);
        let base = match Segment::load(&path) {
            Ok(b) if b.over.is_none() => b,
            Ok(_) => return refused(&path, "a delta where the base belongs"),
            Err(reason) => return refused(&path, &reason),
        };
        let path = dir.join(DELTA_FILE);
        Some(Self::from_parts(base, Segment::load(&path).ok(), &path))
    }

    /// The index's files as bytes: the base, and the delta if there is one
    /// (what [`Self::save`] writes, for another machine to start from).
    pub fn to_segments(&self) -> std::result::Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let base = self.base.to_bytes()?;
        let delta = match &self.delta {
            Some(d) => Some(d.segment.to_bytes()?),
            None => None,
        };
        Ok((base, delta))
    }

    /// The index of [`Self::to_segments`]' bytes, with the checks
    /// [`Self::load`] makes; `origin` names them in messages. A delta that
    /// does not name this base is an error here: both came as one.
    pub fn from_segments(
        base: Vec<u8>,
        delta: Option<Vec<u8>>,
        origin: &Path,
    ) -> std::result::Result<Self, String> {
        let base = Segment::from_bytes(base, origin)?;
        if base.over.is_some() {
            return Err("a delta where the base belongs".into());
        }
        let delta = match delta {
            Some(d) => {
                let d = Segment::from_bytes(d, origin)?;
                if d.over.as_ref().is_none_or(|o| o.base != base.id)
                    || d.generation() < base.generation()
                {
                    return Err("its delta is not of its base".into());
                }
                Some(d)
            }
            None => None,
        };
        Ok(Self::from_parts(base, delta, origin))
    }

    /// `base` (a base: callers check) with `delta` over it when the delta
    /// names it and is not older.
    fn from_parts(base: Segment, delta: Option<Segment>, delta_path: &Path) -> Self {
        let delta = match delta {
            Some(d)
                if d.over.as_ref().is_some_and(|o| o.base == base.id)
                    && d.generation() >= base.generation() =>
            {
                Some(Delta::new(&base, d))
            }
            Some(_) => {
                tracing::debug!(path = %delta_path.display(), "term index delta is of another base; ignored");
                None
            }
            None => None,
        };
        Self {
            base: Arc::new(base),
            delta,
        }
    }
}

fn refused<T>(path: &Path, reason: &str) -> Option<T> {
    tracing::info!(path = %path.display(), %reason, "term index is unreadable; rebuilding");
    None
}

/// What orders hits across segments.
struct Key<'a> {
    score: f32,
    downloads: u64,
    published: i64,
    name: &'a str,
}

/// The order a segment's search sorts its hits by (see
/// `Segment::search_with`), with names where it compares doc ids.
fn order(sort: SortOrder, a: &Key<'_>, b: &Key<'_>) -> Ordering {
    let by_downloads = || {
        b.downloads
            .cmp(&a.downloads)
            .then_with(|| a.name.cmp(b.name))
    };
    match sort {
        SortOrder::Relevance => b.score.total_cmp(&a.score).then_with(by_downloads),
        SortOrder::Downloads => by_downloads(),
        SortOrder::Name => a.name.cmp(b.name),
        SortOrder::Recent => b
            .published
            .cmp(&a.published)
            .then_with(|| a.name.cmp(b.name)),
    }
}
