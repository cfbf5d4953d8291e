//! Two tantivy queries tantivy does not ship, each the cheap form of a query
//! V1 would otherwise build several times over:
//!
//! - [`AutomatonQuery`] matches one Levenshtein automaton in one field. A
//!   `FuzzyTermQuery` builds its automaton again for every field it is asked
//!   about; building it is most of a prefix or typo lookup's cost, and a
//!   query word is looked up in up to six fields.
//! - [`CoverageQuery`] sums its clauses' scores and adds a bonus per query
//!   word some clause covering it matched (`ranking::WORD_COVERAGE_SCORE`).
//!   Tantivy's unions say what matched, not which clause did; as nested
//!   unions (one per word, a bonus on each) the coverage cost as much as
//!   the matching. It scores term at a time into arrays instead, as V2's
//!   term index does: search counts every match anyway, so nothing is lost
//!   by not pruning. It walks every clause through one window of docs
//!   before the next, as Lucene's `BooleanScorer` does, so the window's
//!   sums stay in the first caches instead of a random write per posting
//!   into arrays as long as the segment.

use std::fmt;
use std::sync::Arc;

use tantivy::query::{
    AutomatonWeight, DfaWrapper, EnableScoring, Explanation, FuzzyTermQuery, Query, Scorer, Weight,
};
use tantivy::schema::Field;
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// Terms of one field within `distance` edits of a word (a prefix of them
/// with `prefix`), scored 1 like a `FuzzyTermQuery`: its automaton is built
/// once per word with [`AutomatonQuery::automaton`] and shared.
#[derive(Clone)]
pub struct AutomatonQuery {
    field: Field,
    automaton: Arc<DfaWrapper>,
}

impl AutomatonQuery {
    /// The automaton of `word` (any field's term of it will do).
    pub fn automaton(term: Term, distance: u8, prefix: bool) -> tantivy::Result<Arc<DfaWrapper>> {
        let fuzzy = if prefix {
            FuzzyTermQuery::new_prefix(term, distance, true)
        } else {
            FuzzyTermQuery::new(term, distance, true)
        };
        Ok(Arc::new(fuzzy.automaton()?))
    }

    pub fn new(field: Field, automaton: Arc<DfaWrapper>) -> Self {
        Self { field, automaton }
    }
}

impl fmt::Debug for AutomatonQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Automaton(field={:?})", self.field)
    }
}

impl Query for AutomatonQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AutomatonWeight::<DfaWrapper>::new(
            self.field,
            self.automaton.clone(),
        )))
    }
}

/// Docs per window of [`CoverageQuery`]'s sums (26 KiB of them).
const WINDOW: usize = 2048;

/// Any of `clauses`, scored as the sum of the clauses that match plus
/// `bonus` for each bit set in the union of their masks.
pub struct CoverageQuery {
    clauses: Vec<(Box<dyn Query>, u64)>,
    bonus: Score,
    /// Docs per window ([`WINDOW`] but in tests).
    window: u32,
}

impl CoverageQuery {
    pub fn new(clauses: Vec<(Box<dyn Query>, u64)>, bonus: Score) -> Self {
        Self {
            clauses,
            bonus,
            window: WINDOW as u32,
        }
    }
}

impl Clone for CoverageQuery {
    fn clone(&self) -> Self {
        Self {
            clauses: self
                .clauses
                .iter()
                .map(|(q, mask)| (q.box_clone(), *mask))
                .collect(),
            bonus: self.bonus,
            window: self.window,
        }
    }
}

impl fmt::Debug for CoverageQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Coverage(bonus={}, clauses={})",
            self.bonus,
            self.clauses.len()
        )
    }
}

impl Query for CoverageQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let clauses = self
            .clauses
            .iter()
            .map(|(q, mask)| Ok((q.weight(scoring)?, *mask)))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(CoverageWeight {
            clauses,
            bonus: self.bonus,
            window: self.window,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (q, _) in &self.clauses {
            q.query_terms(visitor);
        }
    }
}

struct CoverageWeight {
    clauses: Vec<(Box<dyn Weight>, u64)>,
    bonus: Score,
    window: u32,
}

impl Weight for CoverageWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let max = reader.max_doc();
        let mut scorers = self
            .clauses
            .iter()
            .map(|(weight, mask)| Ok((weight.scorer(reader, boost)?, *mask)))
            .collect::<tantivy::Result<Vec<_>>>()?;
        // One window of docs at a time through every clause, so the sums
        // stay in the first caches (see the module docs).
        let window = self.window;
        let mut scores = vec![0 as Score; window as usize];
        let mut masks = vec![0u64; window as usize];
        let mut seen = vec![false; window as usize];
        let bonus = boost * self.bonus;
        let mut docs = Vec::new();
        let mut doc_scores = Vec::new();
        for start in (0..max).step_by(window as usize) {
            let end = start.saturating_add(window).min(max);
            for (scorer, mask) in &mut scorers {
                // TERMINATED is past every window.
                let mut doc = scorer.doc();
                while doc < end {
                    let d = (doc - start) as usize;
                    scores[d] += scorer.score();
                    masks[d] |= *mask;
                    seen[d] = true;
                    doc = scorer.advance();
                }
            }
            for d in 0..(end - start) as usize {
                if std::mem::take(&mut seen[d]) {
                    docs.push(start + d as DocId);
                    let score = std::mem::take(&mut scores[d]);
                    doc_scores
                        .push(score + bonus * std::mem::take(&mut masks[d]).count_ones() as Score);
                }
            }
        }
        Ok(Box::new(ScoredDocs {
            docs,
            scores: doc_scores,
            at: 0,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("Coverage", scorer.score()))
    }
}

/// Documents in order with their scores, computed up front.
struct ScoredDocs {
    docs: Vec<DocId>,
    scores: Vec<Score>,
    at: usize,
}

impl DocSet for ScoredDocs {
    fn advance(&mut self) -> DocId {
        self.at += 1;
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc() < target {
            let rest = &self.docs[self.at..];
            self.at += rest.partition_point(|&d| d < target);
        }
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        (self.docs.len() - self.at.min(self.docs.len())) as u32
    }
}

impl Scorer for ScoredDocs {
    fn score(&mut self) -> Score {
        self.scores[self.at]
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::TermQuery;
    use tantivy::schema::{IndexRecordOption, STRING, Schema, TEXT};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    /// The hits, scores and count are the same whatever the window: one
    /// doc, an odd size, the size used, and the whole segment at once.
    #[test]
    fn coverage_does_not_depend_on_the_window() {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let tag = schema.add_text_field("tag", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer(15_000_000).unwrap();
        // Two words of twelve per doc, scattered, so that docs with and
        // without each word follow each other in every window.
        let words = [
            "rust", "web", "service", "graph", "api", "cli", "data", "docs", "test", "ci", "go",
            "db",
        ];
        let pick = |i: usize, k: usize| words[(i * 2_654_435_761 + k * 40_503) % 97 % 12];
        for i in 0..5000usize {
            let mut doc = TantivyDocument::default();
            doc.add_text(text, format!("{} {}", pick(i, 1), pick(i, 2)));
            doc.add_text(tag, pick(i, 3));
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let clause = |field, word: &str, bit: u64| -> (Box<dyn Query>, u64) {
            let term = Term::from_field_text(field, word);
            let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
            (Box::new(q), bit)
        };
        let query = |window: u32| CoverageQuery {
            window,
            ..CoverageQuery::new(
                vec![
                    clause(text, "rust", 1),
                    clause(text, "web", 2),
                    clause(tag, "web", 2),
                    clause(text, "api", 0),
                ],
                3.0,
            )
        };
        let run = |window| {
            searcher
                .search(
                    &query(window),
                    &(TopDocs::with_limit(50).order_by_score(), Count),
                )
                .unwrap()
        };
        let (want, total) = run(searcher.num_docs() as u32);
        assert!(total > 500 && total < 4500, "{total}");
        for window in [1, 7, WINDOW as u32] {
            let (got, count) = run(window);
            assert_eq!(count, total, "window {window}");
            assert_eq!(got, want, "window {window}");
        }
    }
}
