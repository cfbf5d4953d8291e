//! Two tantivy queries tantivy does not ship, each the cheap form of a query
//! V1 would otherwise build several times over:
//!
//! - [`AutomatonQuery`] matches one Levenshtein automaton in one field. A
//!   `FuzzyTermQuery` builds its automaton again for every field it is asked
//!   about; building it is most of a prefix or typo lookup's cost, and a
//!   query word is looked up in up to six fields.
//! - [`BonusQuery`] adds a constant to the score of what its query matches.
//!   Word coverage (`ranking::WORD_COVERAGE_SCORE`) is "a bonus when any
//!   clause of this word matched"; as a separate union it evaluated each
//!   clause twice.

use std::fmt;
use std::sync::Arc;

use tantivy::query::{
    AutomatonWeight, DfaWrapper, EnableScoring, Explanation, FuzzyTermQuery, Query, Scorer, Weight,
};
use tantivy::schema::Field;
use tantivy::{
    COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term,
};

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

/// What `query` matches, scored as `query` does plus `bonus`.
pub struct BonusQuery {
    query: Box<dyn Query>,
    bonus: Score,
}

impl BonusQuery {
    pub fn new(query: Box<dyn Query>, bonus: Score) -> Self {
        Self { query, bonus }
    }
}

impl Clone for BonusQuery {
    fn clone(&self) -> Self {
        Self {
            query: self.query.box_clone(),
            bonus: self.bonus,
        }
    }
}

impl fmt::Debug for BonusQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bonus(bonus={}, query={:?})", self.bonus, self.query)
    }
}

impl Query for BonusQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weight = self.query.weight(scoring)?;
        Ok(if scoring.is_scoring_enabled() {
            Box::new(BonusWeight {
                weight,
                bonus: self.bonus,
            })
        } else {
            weight
        })
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

struct BonusWeight {
    weight: Box<dyn Weight>,
    bonus: Score,
}

impl Weight for BonusWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(BonusScorer {
            scorer: self.weight.scorer(reader, boost)?,
            bonus: boost * self.bonus,
        }))
    }

    fn scorer_danger(
        &self,
        reader: &SegmentReader,
        target: DocId,
        boost: Score,
    ) -> tantivy::Result<(SeekDangerResult, Box<dyn Scorer>)> {
        let (found, scorer) = self.weight.scorer_danger(reader, target, boost)?;
        let bonus = boost * self.bonus;
        Ok((found, Box::new(BonusScorer { scorer, bonus })))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let inner = self.weight.explain(reader, doc)?;
        let mut e = Explanation::new("Bonus", inner.value() + self.bonus);
        e.add_detail(inner);
        Ok(e)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.weight.count(reader)
    }
}

struct BonusScorer {
    scorer: Box<dyn Scorer>,
    bonus: Score,
}

impl DocSet for BonusScorer {
    fn advance(&mut self) -> DocId {
        self.scorer.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.scorer.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.scorer.seek_danger(target)
    }

    fn fill_buffer(&mut self, buffer: &mut [DocId; COLLECT_BLOCK_BUFFER_LEN]) -> usize {
        self.scorer.fill_buffer(buffer)
    }

    fn doc(&self) -> DocId {
        self.scorer.doc()
    }

    fn size_hint(&self) -> u32 {
        self.scorer.size_hint()
    }

    fn cost(&self) -> u64 {
        self.scorer.cost()
    }
}

impl Scorer for BonusScorer {
    fn score(&mut self) -> Score {
        self.scorer.score() + self.bonus
    }
}
