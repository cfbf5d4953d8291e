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
//!   by not pruning.

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

/// Any of `clauses`, scored as the sum of the clauses that match plus
/// `bonus` for each bit set in the union of their masks.
pub struct CoverageQuery {
    clauses: Vec<(Box<dyn Query>, u64)>,
    bonus: Score,
}

impl CoverageQuery {
    pub fn new(clauses: Vec<(Box<dyn Query>, u64)>, bonus: Score) -> Self {
        Self { clauses, bonus }
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
}

impl Weight for CoverageWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let max = reader.max_doc() as usize;
        let mut scores = vec![0 as Score; max];
        let mut masks = vec![0u64; max];
        let mut seen = vec![false; max];
        for (weight, mask) in &self.clauses {
            let mut scorer = weight.scorer(reader, boost)?;
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                let d = doc as usize;
                scores[d] += scorer.score();
                masks[d] |= mask;
                seen[d] = true;
                doc = scorer.advance();
            }
        }
        let bonus = boost * self.bonus;
        let mut docs = Vec::new();
        let mut doc_scores = Vec::new();
        for (d, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            docs.push(d as DocId);
            doc_scores.push(scores[d] + bonus * masks[d].count_ones() as Score);
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
