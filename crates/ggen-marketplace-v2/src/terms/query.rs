//! Lookups in the term FST (exact, prefix, and typo-tolerant through a
//! Levenshtein automaton) and scoring by core's ranking policy.

use std::collections::HashMap;
use std::sync::OnceLock;

use fst::{Automaton, IntoStreamer, Streamer};
use ggen_marketplace_core::Result;
use ggen_marketplace_core::ranking::{self, BM25_B as B, BM25_K1 as K1, EXACT_NAME_SCORE, Field};
use ggen_marketplace_core::search::{
    self, MatchKind, MatchPart, QueryPlan, SearchQuery, SortOrder,
};
use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};

use super::file::Posting;
use super::{FIELD_COUNT, TermIndex, WEIGHTS};

/// One matching package: index into [`TermIndex::doc`] and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
    /// The parts of `score`, when the query asked for them.
    pub explain: Vec<MatchPart>,
}

/// Score parts per doc, kept only when the query asks (`--explain`): every
/// addition to a score goes through [`Parts::add`], so the parts are the
/// score.
struct Parts(Option<HashMap<u32, Vec<MatchPart>>>);

impl Parts {
    #[inline]
    fn add(&mut self, doc: u32, part: impl FnOnce() -> MatchPart) {
        if let Some(m) = &mut self.0 {
            m.entry(doc).or_default().push(part());
        }
    }
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

impl TermIndex {
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

    /// BM25's inverse document frequency of a term in `df` documents.
    fn idf(&self, df: u32) -> f32 {
        let n = self.columns.len() as f32;
        (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
    }

    /// BM25 of posting `p` of a term whose idf in `p`'s field is `idf`.
    #[inline]
    fn bm25(&self, p: &Posting, idf: f32) -> f32 {
        let dl = self.columns.lens[p.doc as usize][p.field as usize] as f32;
        let avg = self.avg_len[p.field as usize].max(f32::EPSILON);
        let tf = p.tf as f32;
        idf * (1.0 + K1) * tf / (tf + K1 * (1.0 - B + B * dl / avg))
    }

    /// Scores, filters and sorts; returns the requested page and the total.
    /// Fails only on a damaged index file.
    pub fn search(&self, query: &SearchQuery) -> Result<(Vec<Scored>, usize)> {
        let plan = search::plan_with(&query.text, false, self.scheme());
        let found = self.search_with(query, &plan)?;
        // Short words' typos only when nothing else matched (core's policy).
        if found.1 == 0 && plan.withheld_typos {
            let fallback = search::plan_with(&query.text, true, self.scheme());
            return self.search_with(query, &fallback);
        }
        Ok(found)
    }

    fn search_with(&self, query: &SearchQuery, plan: &QueryPlan) -> Result<(Vec<Scored>, usize)> {
        let n = self.columns.len();
        let words: Vec<String> = plan.words.iter().map(|w| w.text.clone()).collect();
        let has_text = !words.is_empty();
        let mut scores = vec![0f32; if has_text { n } else { 0 }];
        let mut matched = vec![!has_text; n];
        let mut parts = Parts(query.explain.then(HashMap::new));
        // Per doc, the query words it matches (the first 64), when they count.
        let mut covered = vec![0u64; if plan.counts_words() { n } else { 0 }];
        let mask_of = |words: &[usize]| -> u64 {
            words
                .iter()
                .filter(|&&w| w < 64)
                .fold(0, |m, &w| m | 1 << w)
        };
        let mut cover = |doc: u32, mask: u64| {
            if let Some(c) = covered.get_mut(doc as usize) {
                *c |= mask;
            }
        };
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
        let passes = |i: usize| {
            category.is_none_or(|id| c.category[i] == id)
                && tags.iter().all(|t| c.tags(i).contains(t))
        };
        // With a filter, the docs it admits, so scoring skips the rest (a
        // category holds a small share of a large catalogue).
        let admitted: Option<Vec<bool>> =
            (category.is_some() || !tags.is_empty()).then(|| (0..n).map(passes).collect());
        let admit = |doc: u32| admitted.as_ref().is_none_or(|a| a[doc as usize]);
        if has_text {
            let mut marks = vec![0u8; n];
            let mut touched: Vec<u32> = Vec::new();
            for (wi, word) in plan.words.iter().enumerate() {
                let w = &word.text;
                // Exact: BM25 per field.
                if let Some(ord) = self.ords_exact(w) {
                    let list: Vec<Posting> = self.postings(ord)?.collect();
                    let mut df = [0u32; FIELD_COUNT];
                    for p in &list {
                        df[p.field as usize] += 1;
                    }
                    let idf: [f32; FIELD_COUNT] = std::array::from_fn(|f| self.idf(df[f]));
                    let mask = mask_of(&[wi]);
                    for p in list.iter().filter(|p| admit(p.doc)) {
                        let points =
                            WEIGHTS[p.field as usize] * self.bm25(p, idf[p.field as usize]);
                        scores[p.doc as usize] += points;
                        matched[p.doc as usize] = true;
                        cover(p.doc, mask);
                        let field = Field::ALL[p.field as usize];
                        parts.add(p.doc, || {
                            MatchPart::word(field, MatchKind::Exact, w, points)
                        });
                    }
                }
                let mut constant =
                    |ords: Vec<u64>, min_weight: f32, factor: f32, kind: MatchKind| -> Result<()> {
                        for ord in ords {
                            for p in self.postings(ord)? {
                                if WEIGHTS[p.field as usize] >= min_weight && admit(p.doc) {
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
                                    let part =
                                        || MatchPart::word(Field::ALL[f], kind, w, weight * factor);
                                    parts.add(d, part);
                                }
                            }
                            matched[d as usize] = true;
                        }
                        touched.clear();
                        Ok(())
                    };
                if word.prefix {
                    constant(
                        self.ords_prefix(w),
                        ranking::PREFIX_MIN_WEIGHT,
                        ranking::PREFIX_FACTOR,
                        MatchKind::Prefix,
                    )?;
                }
                if let Some(d) = word.typo {
                    constant(
                        self.ords_fuzzy(w, d),
                        ranking::TYPO_MIN_WEIGHT,
                        ranking::TYPO_FACTOR,
                        MatchKind::Typo,
                    )?;
                }
            }
            // An expansion matches a field holding all its words, once per field.
            for e in &plan.expansions {
                if let [token] = e.tokens.as_slice() {
                    // One word (most stems and labels): a term has one posting
                    // per (doc, field), so its postings are the matches as they are.
                    let Some(ord) = self.ords_exact(token) else {
                        continue;
                    };
                    let mask = mask_of(&e.covers);
                    for p in self.postings(ord)? {
                        let weight = WEIGHTS[p.field as usize];
                        if weight >= ranking::EXPANSION_MIN_WEIGHT && admit(p.doc) {
                            scores[p.doc as usize] += weight * e.factor;
                            matched[p.doc as usize] = true;
                            cover(p.doc, mask);
                            let field = Field::ALL[p.field as usize];
                            parts.add(p.doc, || MatchPart::expansion(field, e, weight * e.factor));
                        }
                    }
                    continue;
                }
                let mut common: Option<Vec<(u32, u8)>> = None;
                for t in &e.tokens {
                    let mut here: Vec<(u32, u8)> = match self.ords_exact(t) {
                        Some(ord) => self.postings(ord)?.map(|p| (p.doc, p.field)).collect(),
                        None => Vec::new(),
                    };
                    here.sort_unstable();
                    here.dedup();
                    common = Some(match common {
                        None => here,
                        Some(prev) => prev
                            .into_iter()
                            .filter(|x| here.binary_search(x).is_ok())
                            .collect(),
                    });
                }
                let mask = mask_of(&e.covers);
                for (doc, field) in common.unwrap_or_default() {
                    let weight = WEIGHTS[field as usize];
                    if weight >= ranking::EXPANSION_MIN_WEIGHT && admit(doc) {
                        scores[doc as usize] += weight * e.factor;
                        matched[doc as usize] = true;
                        cover(doc, mask);
                        let field = Field::ALL[field as usize];
                        parts.add(doc, || MatchPart::expansion(field, e, weight * e.factor));
                    }
                }
            }
            for (d, bits) in covered.iter().enumerate().filter(|(_, b)| **b != 0) {
                for (wi, word) in plan.words.iter().enumerate().take(64) {
                    if bits & (1 << wi) != 0 {
                        scores[d] += ranking::WORD_COVERAGE_SCORE;
                        parts.add(d as u32, || MatchPart::covered(&word.text));
                    }
                }
            }
            // The whole query as a name, as typed and joined by `-` (once
            // when they are the same).
            let lowered = query.text.trim().to_lowercase();
            let joined = words.join("-");
            let mut candidates = vec![joined];
            if lowered != candidates[0] {
                candidates.insert(0, lowered);
            }
            for candidate in candidates {
                if let Some(i) = self.position(&candidate) {
                    scores[i] += EXACT_NAME_SCORE;
                    matched[i] = true;
                    let part = || {
                        MatchPart::word(Field::Name, MatchKind::Name, &candidate, EXACT_NAME_SCORE)
                    };
                    parts.add(i as u32, part);
                }
            }
        }
        // (score, doc) of every hit: 8 bytes each, as all of them are sorted.
        let relevance = has_text && query.sort == SortOrder::Relevance;
        let mut hits: Vec<(f32, u32)> = (0..n)
            .filter(|&i| matched[i] && admit(i as u32))
            .map(|i| (if relevance { scores[i] } else { 0.0 }, i as u32))
            .collect();
        let total = hits.len();
        // Docs are in name order, so comparing indexes compares names.
        let by_downloads = |a: u32, b: u32| {
            c.downloads[b as usize]
                .cmp(&c.downloads[a as usize])
                .then_with(|| a.cmp(&b))
        };
        let cmp = |a: &(f32, u32), b: &(f32, u32)| -> std::cmp::Ordering {
            match query.sort {
                SortOrder::Relevance => b.0.total_cmp(&a.0).then_with(|| by_downloads(a.1, b.1)),
                SortOrder::Downloads => by_downloads(a.1, b.1),
                SortOrder::Name => a.1.cmp(&b.1),
                SortOrder::Recent => c.published[b.1 as usize]
                    .cmp(&c.published[a.1 as usize])
                    .then_with(|| a.1.cmp(&b.1)),
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
        let mut by_doc = parts.0;
        let page = hits[query.offset..]
            .iter()
            .map(|&(score, doc)| Scored {
                doc,
                score,
                explain: by_doc
                    .as_mut()
                    .and_then(|m| m.remove(&doc))
                    .unwrap_or_default(),
            })
            .collect();
        Ok((page, total))
    }
}
