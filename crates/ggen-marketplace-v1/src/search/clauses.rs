//! A text query as tantivy clauses. The policy is core's (`ranking`,
//! `search::plan`); this file only says it in tantivy's terms, twice: as
//! labelled clauses, one per score part `--explain` reports, and as the one
//! query the search runs ([`compose`]), which scores every document the same
//! as the sum of those parts.

use ggen_marketplace_core::ranking::{self, Field as Ranked};
use ggen_marketplace_core::search::{MatchKind, MatchPart, QueryPlan};
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Searcher, Term};

use super::queries::{AutomatonQuery, CoverageQuery};
use super::{Fields, fold};

/// Word coverage counts at most this many query words.
const MAX_COVERED_WORDS: usize = 64;

/// One scoring clause of a text query and the score part it stands for.
pub(super) struct Clause {
    pub part: MatchPart,
    pub query: Box<dyn Query>,
    /// The query words (positions in the plan) a match of it counts for.
    pub covers: Vec<usize>,
}

impl Clone for Clause {
    fn clone(&self) -> Self {
        Self {
            part: self.part.clone(),
            query: self.query.box_clone(),
            covers: self.covers.clone(),
        }
    }
}

/// The scoring clauses of `text` planned as `plan`: the whole query as a
/// name; BM25 x field weight per word, plus prefix and typo matches; and
/// stem and topic expansions, at a share of the weight. A term no segment
/// holds gets no clause (most stem forms and topic labels are not in a
/// given catalogue, and each clause costs a weight and a scorer).
pub(super) fn text_clauses(
    f: &Fields,
    searcher: &Searcher,
    text: &str,
    plan: &QueryPlan,
) -> tantivy::Result<Vec<Clause>> {
    let mut clauses: Vec<Clause> = Vec::new();
    if plan.words.is_empty() {
        return Ok(clauses);
    }
    let present = |t: &Term| -> tantivy::Result<bool> { Ok(searcher.doc_freq(t)? > 0) };
    let terms: Vec<String> = plan.words.iter().map(|w| fold(&w.text)).collect();
    // The whole query as a package name, as typed and with words joined by `-`.
    let joined = terms.join("-");
    let typed = text.trim().to_lowercase();
    for candidate in [&typed, &joined] {
        let exact = Term::from_field_text(f.name, candidate);
        if !present(&exact)? {
            continue;
        }
        clauses.push(Clause {
            part: MatchPart::word(Ranked::Name, MatchKind::Name, candidate, 0.0),
            query: Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(exact, IndexRecordOption::Basic)),
                ranking::EXACT_NAME_SCORE,
            )),
            covers: Vec::new(),
        });
        if typed == joined {
            break;
        }
    }
    for (wi, (word, term)) in plan.words.iter().zip(&terms).enumerate() {
        // One automaton per word and kind, shared by the fields it is
        // looked up in, with the fields' minimum weight and share of it.
        let automaton = |distance, prefix| {
            AutomatonQuery::automaton(Term::from_field_text(f.name_words, term), distance, prefix)
        };
        let mut guesses = Vec::new();
        if word.prefix {
            let a = automaton(0, true)?;
            guesses.push((
                MatchKind::Prefix,
                a,
                ranking::PREFIX_MIN_WEIGHT,
                ranking::PREFIX_FACTOR,
            ));
        }
        if let Some(distance) = word.typo {
            let a = automaton(distance, false)?;
            guesses.push((
                MatchKind::Typo,
                a,
                ranking::TYPO_MIN_WEIGHT,
                ranking::TYPO_FACTOR,
            ));
        }
        for field in Ranked::ALL {
            let boost = field.weight();
            let part = |kind| MatchPart::word(field, kind, &word.text, 0.0);
            let t = Term::from_field_text(f.of(field), term);
            if present(&t)? {
                let q = TermQuery::new(t, IndexRecordOption::WithFreqs);
                clauses.push(Clause {
                    part: part(MatchKind::Exact),
                    query: Box::new(BoostQuery::new(Box::new(q), boost)),
                    covers: vec![wi],
                });
            }
            // Prefix and typo matches are guesses at the word, not the word:
            // they cover nothing (see `ranking`).
            for (kind, a, min_weight, factor) in &guesses {
                if boost >= *min_weight {
                    let q = AutomatonQuery::new(f.of(field), a.clone());
                    clauses.push(Clause {
                        part: part(*kind),
                        query: Box::new(BoostQuery::new(Box::new(q), boost * factor)),
                        covers: Vec::new(),
                    });
                }
            }
        }
    }
    // An expansion matches a field holding all its words, once per field.
    for e in &plan.expansions {
        let folded: Vec<String> = e.tokens.iter().map(|t| fold(t)).collect();
        'fields: for field in Ranked::ALL {
            let boost = field.weight();
            if boost < ranking::EXPANSION_MIN_WEIGHT {
                continue;
            }
            let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for token in &folded {
                let t = Term::from_field_text(f.of(field), token);
                if !present(&t)? {
                    continue 'fields;
                }
                all.push((
                    Occur::Must,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                ));
            }
            // One word (most stems and labels) needs no conjunction around it.
            let matches: Box<dyn Query> = if all.len() == 1 {
                all.pop().expect("one").1
            } else {
                Box::new(BooleanQuery::new(all))
            };
            clauses.push(Clause {
                part: MatchPart::expansion(field, e, 0.0),
                query: Box::new(ConstScoreQuery::new(matches, boost * e.factor)),
                covers: e.covers.clone(),
            });
        }
    }
    Ok(clauses)
}

/// Each query word's coverage as a clause of its own, for `--explain`: the
/// clauses covering it, any of them, scored
/// [`ranking::WORD_COVERAGE_SCORE`].
pub(super) fn coverage_clauses(clauses: &[Clause], plan: &QueryPlan) -> Vec<Clause> {
    if !plan.counts_words() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (wi, word) in plan.words.iter().enumerate().take(MAX_COVERED_WORDS) {
        let any: Vec<(Occur, Box<dyn Query>)> = clauses
            .iter()
            .filter(|c| c.covers.contains(&wi))
            .map(|c| (Occur::Should, c.query.box_clone()))
            .collect();
        if any.is_empty() {
            continue;
        }
        out.push(Clause {
            part: MatchPart::covered(&word.text),
            query: Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(any)),
                ranking::WORD_COVERAGE_SCORE,
            )),
            covers: Vec::new(),
        });
    }
    out
}

/// The query a search runs: any clause, each clause's score, plus
/// [`ranking::WORD_COVERAGE_SCORE`] for each query word some clause covering
/// it matched (a [`CoverageQuery`]), every clause within `filter`.
pub(super) fn compose(
    clauses: Vec<Clause>,
    plan: &QueryPlan,
    filter: Option<&dyn Query>,
) -> Box<dyn Query> {
    let bonus = if plan.counts_words() {
        ranking::WORD_COVERAGE_SCORE
    } else {
        0.0
    };
    let words = plan.words.len().min(MAX_COVERED_WORDS);
    let clauses = clauses
        .into_iter()
        .map(|c| {
            let mask = c
                .covers
                .iter()
                .filter(|&&w| w < words)
                .fold(0u64, |m, &w| m | 1 << w);
            // Each clause within the filter: an intersection led by the
            // smaller side skips through the other, so a clause costs what
            // it matches among the filtered documents.
            let query: Box<dyn Query> = match filter {
                Some(f) => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, c.query),
                    (Occur::Must, f.box_clone()),
                ])),
                None => c.query,
            };
            (query, mask)
        })
        .collect();
    Box::new(CoverageQuery::new(clauses, bonus))
}

/// What each clause added to the score of the document at `addr`.
pub(super) fn explain(
    searcher: &Searcher,
    clauses: &[(MatchPart, Box<dyn Weight>)],
    addr: DocAddress,
) -> tantivy::Result<Vec<MatchPart>> {
    let reader = searcher.segment_reader(addr.segment_ord);
    let mut parts = Vec::new();
    for (part, weight) in clauses {
        match weight.explain(reader, addr.doc_id) {
            Ok(e) => parts.push(MatchPart {
                score: e.value(),
                ..part.clone()
            }),
            // The clause does not match this document.
            Err(tantivy::TantivyError::InvalidArgument(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(parts)
}
