//! Lookups in the term FST (exact, prefix, and typo-tolerant through a
//! Levenshtein automaton), the posting lists a query plan reads and what
//! each adds by core's ranking policy, and the page of hits; `score` sums
//! them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use fst::{Automaton, IntoStreamer, Streamer};
use ggen_marketplace_core::Result;
use ggen_marketplace_core::ranking::{self, EXACT_NAME_SCORE, Field};
use ggen_marketplace_core::search::{MatchKind, MatchPart, QueryPlan, SearchQuery, SortOrder};
use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};

use super::file::POSTING_BYTES;
use super::score::{Corpus, Cursor, Label, Parts, Points, Source, TopK, Window, coverage};
use super::{FIELD_COUNT, Segment};

/// One matching package: index into [`Segment::doc`] and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
    /// The parts of `score`, when the query asked for them.
    pub explain: Vec<MatchPart>,
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

impl Segment {
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

    /// The docs holding `word` per field, leaving out `dead` ones.
    pub(super) fn word_df(&self, word: &str, dead: Option<&[bool]>) -> Result<[u32; FIELD_COUNT]> {
        let mut df = [0u32; FIELD_COUNT];
        if let Some(ord) = self.ords_exact(word) {
            for r in self.posting_bytes(ord)?.chunks_exact(POSTING_BYTES) {
                let doc = u32::from_le_bytes(r[..4].try_into().expect("4 bytes")) as usize;
                if dead.is_none_or(|d| !d[doc]) {
                    df[r[4] as usize] += 1;
                }
            }
        }
        Ok(df)
    }

    /// The posting lists `plan` reads, and what each adds (see `score`).
    fn sources<'a>(
        &'a self,
        plan: &'a QueryPlan,
        phrases: &'a [Cow<'a, [u8]>],
        corpus: &Corpus<'_>,
    ) -> Result<Vec<Source<'a>>> {
        let mut sources = Vec::new();
        let bit = |w: usize| if w < 64 { 1u64 << w } else { 0 };
        for (wi, word) in plan.words.iter().enumerate() {
            let w = word.text.as_str();
            if let Some(ord) = self.ords_exact(w) {
                let bytes = self.posting_bytes(ord)?;
                let df = match corpus.df {
                    Some(all) => all[wi],
                    None => {
                        let mut df = [0u32; FIELD_COUNT];
                        for r in bytes.chunks_exact(POSTING_BYTES) {
                            df[r[4] as usize] += 1;
                        }
                        df
                    }
                };
                sources.push(Source {
                    lists: vec![Cursor::new(bytes)],
                    points: Points::Bm25 {
                        idf: std::array::from_fn(|f| idf(corpus.n, df[f])),
                        avg_len: corpus.avg_len,
                    },
                    covers: bit(wi),
                    label: Label::Word(w, MatchKind::Exact),
                });
            }
            let mut constant = |ords: Vec<u64>, min_weight, factor, kind| -> Result<()> {
                let lists = ords
                    .into_iter()
                    .map(|o| Ok(Cursor::new(self.posting_bytes(o)?)))
                    .collect::<Result<Vec<_>>>()?;
                if !lists.is_empty() {
                    sources.push(Source {
                        lists,
                        points: Points::Constant { factor, min_weight },
                        covers: 0,
                        label: Label::Word(w, kind),
                    });
                }
                Ok(())
            };
            if word.prefix {
                let ords = self.ords_prefix(w);
                constant(
                    ords,
                    ranking::PREFIX_MIN_WEIGHT,
                    ranking::PREFIX_FACTOR,
                    MatchKind::Prefix,
                )?;
            }
            if let Some(d) = word.typo {
                let ords = self.ords_fuzzy(w, d);
                constant(
                    ords,
                    ranking::TYPO_MIN_WEIGHT,
                    ranking::TYPO_FACTOR,
                    MatchKind::Typo,
                )?;
            }
        }
        // An expansion matches a field holding all its words, once per field.
        for (e, bytes) in plan.expansions.iter().zip(phrases) {
            if !bytes.is_empty() {
                sources.push(Source {
                    lists: vec![Cursor::new(bytes)],
                    points: Points::Constant {
                        factor: e.factor,
                        min_weight: ranking::EXPANSION_MIN_WEIGHT,
                    },
                    covers: e.covers.iter().fold(0, |m, &w| m | bit(w)),
                    label: Label::Expansion(e),
                });
            }
        }
        Ok(sources)
    }

    /// The postings of the (doc, field) pairs holding every token of
    /// `tokens`: a term's own for one token (a term has one posting per doc
    /// and field), an intersection, encoded the same way, for several.
    fn phrase_postings(&self, tokens: &[String]) -> Result<Cow<'_, [u8]>> {
        if let [token] = tokens {
            return Ok(match self.ords_exact(token) {
                Some(ord) => Cow::Borrowed(self.posting_bytes(ord)?),
                None => Cow::Borrowed(&[]),
            });
        }
        let mut common: Option<Vec<(u32, u8)>> = None;
        for t in tokens {
            let here: Vec<(u32, u8)> = match self.ords_exact(t) {
                Some(ord) => self.postings(ord)?.map(|p| (p.doc, p.field)).collect(),
                None => Vec::new(),
            };
            common = Some(match common {
                None => here,
                Some(prev) => prev
                    .into_iter()
                    .filter(|x| here.binary_search(x).is_ok())
                    .collect(),
            });
        }
        let mut bytes = Vec::new();
        for (doc, field) in common.unwrap_or_default() {
            bytes.extend_from_slice(&doc.to_le_bytes());
            // Constant scores read neither length nor frequency.
            bytes.extend_from_slice(&[field, 0]);
            bytes.extend_from_slice(&1u16.to_le_bytes());
        }
        Ok(Cow::Owned(bytes))
    }

    /// The page `query` asks for and the total, for the hits of `plan`,
    /// summed `window_len` docs at a time, scored against `corpus`.
    pub(super) fn search_with(
        &self,
        query: &SearchQuery,
        plan: &QueryPlan,
        window_len: usize,
        corpus: &Corpus<'_>,
    ) -> Result<(Vec<Scored>, usize)> {
        let n = self.columns.len();
        let c = &self.columns;
        let has_text = !plan.words.is_empty();
        let mut parts = Parts(query.explain.then(HashMap::new));
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
        // With a filter, the docs it admits, decided once (a category holds
        // a small share of a large catalogue, and most postings miss it).
        let admitted: Option<Vec<bool>> = (category.is_some() || !tags.is_empty()).then(|| {
            (0..n)
                .map(|i| {
                    category.is_none_or(|id| c.category(i) == id)
                        && tags.iter().all(|&t| c.has_tag(i, t))
                })
                .collect()
        });
        let admit = |doc: u32| {
            admitted.as_ref().is_none_or(|a| a[doc as usize])
                && corpus.dead.is_none_or(|d| !d[doc as usize])
        };
        // Docs are in name order, so comparing indexes compares names.
        let by_downloads = |a: u32, b: u32| {
            c.downloads(b as usize)
                .cmp(&c.downloads(a as usize))
                .then_with(|| a.cmp(&b))
        };
        let cmp = |a: &(f32, u32), b: &(f32, u32)| -> std::cmp::Ordering {
            match query.sort {
                SortOrder::Relevance => b.0.total_cmp(&a.0).then_with(|| by_downloads(a.1, b.1)),
                SortOrder::Downloads => by_downloads(a.1, b.1),
                SortOrder::Name => a.1.cmp(&b.1),
                SortOrder::Recent => c
                    .published(b.1 as usize)
                    .cmp(&c.published(a.1 as usize))
                    .then_with(|| a.1.cmp(&b.1)),
            }
        };
        let relevance = has_text && query.sort == SortOrder::Relevance;
        let mut top = TopK::new(query.offset.saturating_add(query.limit), cmp);
        if has_text {
            let phrases = plan
                .expansions
                .iter()
                .map(|e| self.phrase_postings(&e.tokens))
                .collect::<Result<Vec<_>>>()?;
            let mut sources = self.sources(plan, &phrases, corpus)?;
            // The whole query as a name, as typed and joined by `-` (once
            // when they are the same).
            let lowered = query.text.trim().to_lowercase();
            let joined = plan
                .words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join("-");
            let mut candidates = vec![lowered];
            if joined != candidates[0] {
                candidates.push(joined);
            }
            let names: Vec<(u32, String)> = candidates
                .into_iter()
                .filter_map(|name| Some((self.position(&name)? as u32, name)))
                .collect();
            let counts_words = plan.counts_words();
            let mut window = Window::new(window_len);
            for start in (0..n).step_by(window.len()) {
                let end = (start + window.len()).min(n) as u32;
                window.reset(start as u32);
                for source in &mut sources {
                    self.score_window(source, end, &mut window, &admit, &mut parts);
                }
                for (doc, name) in &names {
                    if (start as u32..end).contains(doc) && admit(*doc) {
                        window.add_to(*doc, EXACT_NAME_SCORE);
                        parts.add(*doc, || {
                            MatchPart::word(Field::Name, MatchKind::Name, name, EXACT_NAME_SCORE)
                        });
                    }
                }
                for (doc, score, covered) in window.hits() {
                    let mut score = score;
                    if counts_words && covered != 0 {
                        score += coverage(covered);
                        for (wi, word) in plan.words.iter().enumerate().take(64) {
                            if covered & (1 << wi) != 0 {
                                parts.add(doc, || MatchPart::covered(&word.text));
                            }
                        }
                    }
                    top.push((if relevance { score } else { 0.0 }, doc));
                }
            }
        } else {
            for doc in (0..n as u32).filter(|&d| admit(d)) {
                top.push((0.0, doc));
            }
        }
        let total = top.total;
        let hits = top.into_sorted();
        let mut by_doc = parts.0;
        let page = hits
            .get(query.offset..)
            .unwrap_or_default()
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

/// BM25's inverse document frequency of a term in `df` of `n` documents.
fn idf(n: usize, df: u32) -> f32 {
    let n = n as f32;
    (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
}
