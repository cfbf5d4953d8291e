//! Scoring a query's posting lists term at a time, one window of docs at a
//! time, and keeping the best hits.
//!
//! A query over a large catalogue touches tens of thousands of docs in each
//! of a dozen lists. Adding each list into per-doc arrays as long as the
//! catalogue makes every posting a cache miss (at 100k packages the arrays
//! are megabytes); walking all lists through one window of [`WINDOW`] docs
//! before moving to the next keeps the window's sums in the first caches,
//! which is what Lucene's `BooleanScorer` does. The hits of each window go
//! through [`TopK`], which keeps the page being asked for and counts the
//! rest, so nothing sorts every hit.

use std::cmp::Ordering;
use std::collections::HashMap;

use ggen_marketplace_core::ranking::{self, BM25_B as B, BM25_K1 as K1, Field};
use ggen_marketplace_core::search::{Expansion, MatchKind, MatchPart};

use super::file::{LONG_FIELD, POSTING_BYTES, Posting, decode};
use super::{FIELD_COUNT, Segment, WEIGHTS};

/// Docs per window: its sums, word masks, marks and lists take 36 KiB.
pub(super) const WINDOW: usize = 2048;

/// Postings of one term from a doc on, in doc order.
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Over postings already checked (`Segment::posting_bytes`): in range
    /// and in increasing doc order.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next posting if its doc is before `end`.
    #[inline]
    fn next_before(&mut self, end: u32) -> Option<Posting> {
        let p = decode(self.rest.get(..POSTING_BYTES)?);
        if p.doc >= end {
            return None;
        }
        self.rest = &self.rest[POSTING_BYTES..];
        Some(p)
    }
}

/// What a list's matches stand for, to explain them.
#[derive(Clone, Copy)]
pub(super) enum Label<'a> {
    Word(&'a str, MatchKind),
    Expansion(&'a Expansion),
}

impl Label<'_> {
    fn part(self, field: usize, points: f32) -> MatchPart {
        let field = Field::ALL[field];
        match self {
            Label::Word(w, kind) => MatchPart::word(field, kind, w, points),
            Label::Expansion(e) => MatchPart::expansion(field, e, points),
        }
    }
}

/// Score parts per doc, kept only when the query asks (`--explain`): every
/// addition to a score goes through [`Parts::add`], so the parts are the
/// score.
pub(super) struct Parts(pub(super) Option<HashMap<u32, Vec<MatchPart>>>);

impl Parts {
    #[inline]
    pub(super) fn add(&mut self, doc: u32, part: impl FnOnce() -> MatchPart) {
        if let Some(m) = &mut self.0 {
            m.entry(doc).or_default().push(part());
        }
    }
}

/// What BM25 reads of the whole index a segment belongs to, so that a
/// delta's docs score exactly as they will once merged into their base (and
/// a base's as if the docs a delta replaced were gone).
pub(super) struct Corpus<'a> {
    /// Docs in the whole index.
    pub(super) n: usize,
    /// Tokens per field, averaged over those docs.
    pub(super) avg_len: [f32; FIELD_COUNT],
    /// Per query word, the docs of the whole index holding it, per field;
    /// `None` when the segment is the whole index and counts its own.
    pub(super) df: Option<&'a [[u32; FIELD_COUNT]]>,
    /// The segment's docs that are no longer in the index (`true`).
    pub(super) dead: Option<&'a [bool]>,
}

impl Segment {
    /// The corpus of a segment that is the whole index.
    pub(super) fn own_corpus(&self) -> Corpus<'static> {
        Corpus {
            n: self.columns.len(),
            avg_len: self.avg_len,
            df: None,
            dead: None,
        }
    }
}

/// How a source's postings score.
pub(super) enum Points {
    /// BM25 of the posting x its field's weight, with the term's idf per field
    /// (a query word's exact matches) and the average field lengths.
    Bm25 {
        idf: [f32; FIELD_COUNT],
        avg_len: [f32; FIELD_COUNT],
    },
    /// The field's weight x `factor`, once per doc and field whatever the
    /// number of lists or postings (prefixes, typos, expansions), in fields
    /// weighing at least `min_weight`.
    Constant { factor: f32, min_weight: f32 },
}

/// One query word's or expansion's posting lists and what they add.
pub(super) struct Source<'a> {
    pub(super) lists: Vec<Cursor<'a>>,
    pub(super) points: Points,
    /// The query words a match covers (bit i: word i, for the first 64).
    pub(super) covers: u64,
    pub(super) label: Label<'a>,
}

/// The sums of one window of docs.
pub(super) struct Window {
    start: u32,
    score: Vec<f32>,
    covered: Vec<u64>,
    seen: Vec<bool>,
    /// Window-relative docs seen, in first-seen order.
    touched: Vec<u16>,
    /// Fields a constant source matched per doc, and the docs it marked.
    marks: Vec<u8>,
    marked: Vec<u16>,
}

impl Window {
    /// A window of `len` docs (at most 65536; [`WINDOW`] but in tests).
    pub(super) fn new(len: usize) -> Self {
        assert!((1..=1 << 16).contains(&len), "a window of {len} docs");
        Self {
            start: 0,
            score: vec![0.0; len],
            covered: vec![0; len],
            seen: vec![false; len],
            touched: Vec::with_capacity(len),
            marks: vec![0; len],
            marked: Vec::with_capacity(len),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.score.len()
    }

    /// Empties the window and moves it to start at `start`.
    pub(super) fn reset(&mut self, start: u32) {
        for &d in &self.touched {
            let d = d as usize;
            self.score[d] = 0.0;
            self.covered[d] = 0;
            self.seen[d] = false;
        }
        self.touched.clear();
        self.start = start;
    }

    #[inline]
    fn add(&mut self, doc: u32, points: f32, covers: u64) {
        let d = (doc - self.start) as usize;
        if !self.seen[d] {
            self.seen[d] = true;
            self.touched.push(d as u16);
        }
        self.score[d] += points;
        self.covered[d] |= covers;
    }

    /// Adds `points` to `doc` (in this window) from outside any source (a
    /// whole-name match).
    pub(super) fn add_to(&mut self, doc: u32, points: f32) {
        self.add(doc, points, 0);
    }

    /// The docs seen in this window, with their sums and covered words.
    pub(super) fn hits(&self) -> impl Iterator<Item = (u32, f32, u64)> + '_ {
        self.touched.iter().map(|&d| {
            let d = d as usize;
            (self.start + d as u32, self.score[d], self.covered[d])
        })
    }
}

impl Segment {
    /// BM25 of posting `p` of a term whose idf in `p`'s field is `idf`,
    /// where that field averages `avg` tokens.
    #[inline]
    fn bm25(&self, p: &Posting, idf: f32, avg: f32) -> f32 {
        let dl = if p.len == LONG_FIELD {
            self.columns.field_len(p.doc as usize, p.field as usize) as f32
        } else {
            f32::from(p.len)
        };
        let avg = avg.max(f32::EPSILON);
        let tf = p.tf as f32;
        idf * (1.0 + K1) * tf / (tf + K1 * (1.0 - B + B * dl / avg))
    }

    /// Adds `source`'s postings of docs before `end` into `window`;
    /// `admit` says which docs a filter lets through, `parts` takes every
    /// part added when the query asks for them.
    pub(super) fn score_window(
        &self,
        source: &mut Source<'_>,
        end: u32,
        window: &mut Window,
        admit: &impl Fn(u32) -> bool,
        parts: &mut Parts,
    ) {
        let label = source.label;
        match source.points {
            Points::Bm25 { idf, avg_len } => {
                for list in &mut source.lists {
                    while let Some(p) = list.next_before(end) {
                        if admit(p.doc) {
                            let f = p.field as usize;
                            let points = WEIGHTS[f] * self.bm25(&p, idf[f], avg_len[f]);
                            window.add(p.doc, points, source.covers);
                            parts.add(p.doc, || label.part(f, points));
                        }
                    }
                }
            }
            Points::Constant { factor, min_weight } => {
                for list in &mut source.lists {
                    while let Some(p) = list.next_before(end) {
                        if WEIGHTS[p.field as usize] >= min_weight && admit(p.doc) {
                            let d = (p.doc - window.start) as usize;
                            if window.marks[d] == 0 {
                                window.marked.push(d as u16);
                            }
                            window.marks[d] |= 1 << p.field;
                        }
                    }
                }
                let marked = std::mem::take(&mut window.marked);
                for &d in &marked {
                    let fields = std::mem::take(&mut window.marks[d as usize]);
                    let doc = window.start + u32::from(d);
                    for (f, weight) in WEIGHTS.iter().enumerate() {
                        if fields & (1 << f) != 0 {
                            window.add(doc, weight * factor, source.covers);
                            parts.add(doc, || label.part(f, weight * factor));
                        }
                    }
                }
                window.marked = marked;
                window.marked.clear();
            }
        }
    }
}

/// The bonus for the query words a doc covers.
pub(super) fn coverage(covered: u64) -> f32 {
    covered.count_ones() as f32 * ranking::WORD_COVERAGE_SCORE
}

/// The best `keep` of the hits pushed, by `cmp` (a total order), and how
/// many were pushed: a buffer of twice `keep` cut back to the best `keep`
/// whenever it fills, after which a hit no better than the worst kept is
/// counted and dropped.
pub(super) struct TopK<F> {
    keep: usize,
    buf: Vec<(f32, u32)>,
    worst: Option<(f32, u32)>,
    cmp: F,
    pub(super) total: usize,
}

impl<F: Fn(&(f32, u32), &(f32, u32)) -> Ordering> TopK<F> {
    pub(super) fn new(keep: usize, cmp: F) -> Self {
        Self {
            keep,
            // Grown as needed: `keep` is a page's end, which only
            // `SearchQuery::validate` bounds.
            buf: Vec::with_capacity(keep.clamp(64, 1 << 12) * 2),
            worst: None,
            cmp,
            total: 0,
        }
    }

    #[inline]
    pub(super) fn push(&mut self, hit: (f32, u32)) {
        self.total += 1;
        if self.keep == 0
            || self
                .worst
                .is_some_and(|w| (self.cmp)(&hit, &w) != Ordering::Less)
        {
            return;
        }
        self.buf.push(hit);
        if self.buf.len() >= self.keep.max(64).saturating_mul(2) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        if self.buf.len() > self.keep {
            self.buf.select_nth_unstable_by(self.keep - 1, &self.cmp);
            self.buf.truncate(self.keep);
            self.worst = Some(self.buf[self.keep - 1]);
        }
    }

    /// The kept hits, best first.
    pub(super) fn into_sorted(mut self) -> Vec<(f32, u32)> {
        self.cut();
        self.buf.sort_unstable_by(&self.cmp);
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_and_counts_all() {
        let cmp = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        for keep in [0, 1, 5, 64, 200, usize::MAX] {
            let mut top = TopK::new(keep, cmp);
            // Scores in a scrambled order, with ties broken by doc.
            let hits: Vec<(f32, u32)> = (0..1000u32)
                .map(|i| (((i * 7919) % 613) as f32, i))
                .collect();
            for &h in &hits {
                top.push(h);
            }
            assert_eq!(top.total, 1000);
            let mut want = hits.clone();
            want.sort_by(cmp);
            want.truncate(keep);
            assert_eq!(top.into_sorted(), want, "keep {keep}");
        }
    }
}
