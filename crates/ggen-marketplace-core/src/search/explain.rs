//! Why a hit matched (`search --explain`): the parts of its score, each a
//! field, a kind of match and the term that made it. Both backends fill
//! them from the very clauses they score with, so the parts add up to the
//! hit's score (up to float rounding).

use serde::{Deserialize, Serialize};

use super::{Expansion, ExpansionKind};
use crate::ranking::Field;

/// The kind of match a part of a score comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// The whole query is the package's name.
    Name,
    /// A query word is a token of the field (BM25 x the field's weight).
    Exact,
    /// A query word starts a token of the field.
    Prefix,
    /// A query word is within a few edits of a token of the field.
    Typo,
    /// Another form of a query word's stem is in the field.
    Stem,
    /// A label of a topic the query names is in the field.
    Topic,
    /// The package matches this query word somewhere (for queries of two
    /// or more words; no field).
    Word,
}

impl MatchKind {
    /// `name`, `exact`, `prefix`, `typo`, `stem`, `topic` or `word`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Exact => "exact",
            Self::Prefix => "prefix",
            Self::Typo => "typo",
            Self::Stem => "stem",
            Self::Topic => "topic",
            Self::Word => "word",
        }
    }
}

/// One part of a hit's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchPart {
    /// The field matched (none for [`MatchKind::Word`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    /// How.
    pub kind: MatchKind,
    /// What was looked for: the query word, the stem form, the topic label
    /// (words joined by spaces), or the name.
    pub term: String,
    /// For a stem or topic: the query's words it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For a topic: the concept's IRI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concept: Option<String>,
    /// What it added to the score.
    pub score: f32,
}

impl MatchPart {
    /// A part from one of the query's own words (or the name).
    pub fn word(field: Field, kind: MatchKind, term: &str, score: f32) -> Self {
        Self {
            field: Some(field),
            kind,
            term: term.to_string(),
            source: None,
            concept: None,
            score,
        }
    }

    /// A part from an expansion of the query plan.
    pub fn expansion(field: Field, e: &Expansion, score: f32) -> Self {
        Self {
            field: Some(field),
            kind: match e.kind {
                ExpansionKind::Stem => MatchKind::Stem,
                ExpansionKind::Topic => MatchKind::Topic,
            },
            term: e.tokens.join(" "),
            source: Some(e.source.clone()),
            concept: e.concept.clone(),
            score,
        }
    }

    /// The part a matched query word adds (see [`MatchKind::Word`]).
    pub fn covered(word: &str) -> Self {
        Self {
            field: None,
            kind: MatchKind::Word,
            term: word.to_string(),
            source: None,
            concept: None,
            score: crate::ranking::WORD_COVERAGE_SCORE,
        }
    }
}
