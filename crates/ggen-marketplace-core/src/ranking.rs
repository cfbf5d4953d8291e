//! The ranking policy: how a search scores a package, defined once and
//! implemented by both backends (V1 as tantivy queries, V2 over its term
//! index), so compare mode measures two implementations of one policy rather
//! than two policies.
//!
//! - A whole-name match (the query as typed, or its words joined by `-`)
//!   scores [`EXACT_NAME_SCORE`], above anything a word can add.
//! - Each query word scores BM25 ([`BM25_K1`], [`BM25_B`]) times the weight
//!   of the [`Field`] it is found in.
//! - The query's last word, if at least [`PREFIX_MIN_CHARS`] long and not
//!   followed by a space, is the word being typed: where it starts a token
//!   it adds [`PREFIX_FACTOR`] x weight, in fields weighing at least
//!   [`PREFIX_MIN_WEIGHT`]. Earlier words are complete (`rust web` does not
//!   match `rustls`), as in Algolia's and Meilisearch's default.
//! - A word within [`typo_distance`] edits of a token adds [`TYPO_FACTOR`] x
//!   weight, in fields weighing at least [`TYPO_MIN_WEIGHT`].
//! - Words of [`SHORT_WORD_CHARS`] or fewer get no typo matching unless the
//!   query matches nothing without it (a typo of a short word is usually
//!   another word: `shop` is not `hop`).
//! - Other forms of a word's stem (`investing`: `investment`) add
//!   [`STEM_FACTOR`] x weight, and the labels of topics the query names
//!   (`k8s`: `kubernetes`; `medical`: `healthcare`, `pharmacy`, ...) add
//!   [`TOPIC_FACTOR`] x weight, in fields weighing at least
//!   [`EXPANSION_MIN_WEIGHT`]; both below a prefix match of the word itself
//!   (see `search::plan`, `topics`).
//! - With two or more query words, each word a package holds (as typed, in
//!   any field, or through a stem or a topic it stands in) adds
//!   [`WORD_COVERAGE_SCORE`]: a package matching every word ranks above one
//!   matching fewer, whatever their BM25 (Algolia's `words` criterion).
//!   Prefix and typo matches do not count here: they are guesses at a
//!   word, not the word.
//!   `machine learning` then ranks a package about collaborative filtering
//!   (a narrower topic of the phrase) above one that only says "learning".
//! - Ties go to the more downloaded package, then the name.

/// What a whole-name match scores.
pub const EXACT_NAME_SCORE: f32 = 1000.0;

/// BM25's term-frequency saturation.
pub const BM25_K1: f32 = 1.2;
/// BM25's length normalisation.
pub const BM25_B: f32 = 0.75;

/// Prefix matches count for words at least this long.
pub const PREFIX_MIN_CHARS: usize = 2;
/// Prefix matches count in fields weighing at least this.
pub const PREFIX_MIN_WEIGHT: f32 = 2.0;
/// A prefix match adds this share of the field's weight.
pub const PREFIX_FACTOR: f32 = 0.4;

/// Typo matches count in fields weighing at least this: not in descriptions,
/// the largest vocabulary and the weakest signal (no judged query needs
/// them there, and dropping them took V1's multi-word p95 at 100k from 5.9
/// to 4.9 ms in one pair of `ggen-bench` runs).
pub const TYPO_MIN_WEIGHT: f32 = 2.0;
/// A typo match adds this share of the field's weight.
pub const TYPO_FACTOR: f32 = 0.3;

/// Typo matching of words this short waits for a query that matches nothing.
pub const SHORT_WORD_CHARS: usize = 4;

/// Stems are looked for from words this long.
pub const STEM_MIN_CHARS: usize = 3;
/// A match of another form of a word's stem adds this share of the field's weight.
pub const STEM_FACTOR: f32 = 0.35;
/// A match of a topic's label adds this share of the field's weight.
pub const TOPIC_FACTOR: f32 = 0.35;
/// Stem and topic matches count in fields weighing at least this.
pub const EXPANSION_MIN_WEIGHT: f32 = 1.0;

/// What each query word a package matches adds, for queries of two or more
/// words; above what a word's own matches add in practice, below
/// [`EXACT_NAME_SCORE`] (which a whole-name match also earns these on top of).
pub const WORD_COVERAGE_SCORE: f32 = 100.0;

/// Tokens this long or longer are not indexed (nor looked up).
pub const MAX_TOKEN_BYTES: usize = 40;

/// The searchable fields of a package, in the order indexes store them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The package name, split into words.
    Name,
    /// Its tags.
    Tags,
    /// Its keywords.
    Keywords,
    /// Its category.
    Category,
    /// Its description.
    Description,
    /// Its authors.
    Author,
}

impl Field {
    /// Every field, in index order (`Field as usize` is the position).
    pub const ALL: [Field; 6] = [
        Field::Name,
        Field::Tags,
        Field::Keywords,
        Field::Category,
        Field::Description,
        Field::Author,
    ];

    /// `name`, `tags`, `keywords`, `category`, `description` or `author`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Tags => "tags",
            Field::Keywords => "keywords",
            Field::Category => "category",
            Field::Description => "description",
            Field::Author => "author",
        }
    }

    /// How much a match in this field counts.
    pub const fn weight(self) -> f32 {
        match self {
            Field::Name => 6.0,
            Field::Tags | Field::Keywords => 3.0,
            Field::Category => 2.0,
            Field::Description => 1.0,
            Field::Author => 0.5,
        }
    }
}

/// The edit distance a word of `chars` characters is matched within: none for
/// short words (a typo there is a different word), one for 4 to 7, two above.
pub fn typo_distance(chars: usize) -> Option<u8> {
    match chars {
        0..=3 => None,
        4..=7 => Some(1),
        _ => Some(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_in_index_order_and_weighted_as_documented() {
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
        }
        let weights: Vec<f32> = Field::ALL.iter().map(|f| f.weight()).collect();
        assert_eq!(weights, [6.0, 3.0, 3.0, 2.0, 1.0, 0.5]);
        assert_eq!(
            [3, 4, 7, 8].map(typo_distance),
            [None, Some(1), Some(1), Some(2)]
        );
    }
}
