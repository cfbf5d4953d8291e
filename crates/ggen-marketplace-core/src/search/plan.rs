//! What a backend looks up for a query's text, decided once here so both
//! backends expand a query the same way: the query's own words (with prefix
//! and typo matching as `ranking` allows), other forms of their stems, and
//! the labels of the topics the query names.

use serde::{Deserialize, Serialize};

use super::tokenize;
use crate::topics::TopicScheme;

/// What a backend looks up for a query's text: decided here once, so both
/// backends expand a query the same way (see [`crate::ranking`] for how each
/// kind of match scores).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    /// The query's own words, each with whether it may match prefixes and
    /// within how many edits.
    pub words: Vec<PlannedWord>,
    /// Other phrases to look for at a lower weight: other forms of a word's
    /// stem, and the labels of topics the query names.
    pub expansions: Vec<Expansion>,
    /// Some short word was denied typo matching; if the plan matches nothing,
    /// [`plan`] with `fallback` grants it.
    pub withheld_typos: bool,
}

impl QueryPlan {
    /// Whether packages score [`crate::ranking::WORD_COVERAGE_SCORE`] per
    /// query word they match: with two or more words (one word is matched
    /// by every hit).
    pub fn counts_words(&self) -> bool {
        self.words.len() >= 2
    }
}

/// One of the query's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWord {
    /// The token.
    pub text: String,
    /// Matches tokens it starts.
    pub prefix: bool,
    /// Matches tokens within this many edits.
    pub typo: Option<u8>,
}

/// Why a phrase is searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpansionKind {
    /// Another form of a query word's stem (`investing` -> `investment`).
    Stem,
    /// A label of a topic the query names (`k8s` -> `kubernetes`).
    Topic,
}

/// A phrase a package matches when one of its fields holds all the words.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// Its words.
    pub tokens: Vec<String>,
    /// Why.
    pub kind: ExpansionKind,
    /// The share of a field's weight a match adds.
    pub factor: f32,
    /// The query's word(s) it comes from.
    pub source: String,
    /// For a topic, the concept's IRI.
    pub concept: Option<String>,
    /// The positions in [`QueryPlan::words`] of the words it stands in for
    /// (see [`crate::ranking::WORD_COVERAGE_SCORE`]).
    pub covers: Vec<usize>,
}

/// Endings tried on a word's stem to find its other forms: a stem matches
/// the indexed forms that share it, so a query needs no stemmed index.
const FORM_ENDINGS: &[&str] = &[
    "", "s", "e", "es", "ed", "ing", "ings", "er", "ers", "or", "ors", "ment", "ments", "ion",
    "ions", "ation", "ations", "al", "y", "ies", "ity",
];

/// The English (Snowball) stem of a token.
pub fn stem(token: &str) -> String {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    STEMMER
        .get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
        .stem(token)
        .into_owned()
}

/// The plan for `text` with the shipped topic scheme (V1's).
pub fn plan(text: &str, fallback: bool) -> QueryPlan {
    plan_with(text, fallback, TopicScheme::shipped())
}

/// The plan for `text`: its words, their stems' other forms, and the topics
/// of `scheme` it names. With `fallback`, short words get typo matching too
/// (for a query that matched nothing without it).
pub fn plan_with(text: &str, fallback: bool, scheme: &TopicScheme) -> QueryPlan {
    use crate::ranking;
    let mut tokens: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    for t in tokenize(text) {
        last = Some(t.clone());
        if t.len() < ranking::MAX_TOKEN_BYTES && !tokens.contains(&t) {
            tokens.push(t);
        }
    }
    // Only the word being typed is a prefix: the last, unless a space
    // after it says it is complete (as Algolia's and Meilisearch's default).
    if text.ends_with(char::is_whitespace) {
        last = None;
    }
    let mut withheld_typos = false;
    let words = tokens
        .iter()
        .map(|t| {
            let chars = t.chars().count();
            let mut typo = ranking::typo_distance(chars);
            if chars <= ranking::SHORT_WORD_CHARS && typo.is_some() && !fallback {
                typo = None;
                withheld_typos = true;
            }
            PlannedWord {
                text: t.clone(),
                prefix: chars >= ranking::PREFIX_MIN_CHARS && last.as_ref() == Some(t),
                typo,
            }
        })
        .collect();
    let mut expansions: Vec<Expansion> = Vec::new();
    let positions = |source: &str| -> Vec<usize> {
        source
            .split(' ')
            .filter_map(|w| tokens.iter().position(|t| t == w))
            .collect()
    };
    let mut add = |tokens: Vec<String>, kind, factor, source: &str, concept: Option<String>| {
        if !expansions.iter().any(|e| e.tokens == tokens) {
            expansions.push(Expansion {
                tokens,
                kind,
                factor,
                source: source.to_string(),
                concept,
                covers: positions(source),
            });
        }
    };
    for t in &tokens {
        if t.chars().count() < ranking::STEM_MIN_CHARS {
            continue;
        }
        let root = stem(t);
        // Endings on the word itself find the forms the stem's endings miss
        // (`happy`: `happi`), and nothing more when the word starts with its
        // stem (`investing`: `invest` + `ings` = `investing` + `s`).
        let bases: &[&str] = if t.starts_with(root.as_str()) {
            &[root.as_str()]
        } else {
            &[root.as_str(), t.as_str()]
        };
        for ending in FORM_ENDINGS {
            for &base in bases {
                let form = format!("{base}{ending}");
                if !tokens.contains(&form) && stem(&form) == root {
                    add(
                        vec![form],
                        ExpansionKind::Stem,
                        ranking::STEM_FACTOR,
                        t,
                        None,
                    );
                }
            }
        }
    }
    for e in scheme.expand(&tokens) {
        add(
            e.tokens,
            ExpansionKind::Topic,
            ranking::TOPIC_FACTOR,
            &e.via,
            Some(e.concept),
        );
    }
    QueryPlan {
        words,
        expansions,
        withheld_typos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expansions(text: &str, kind: ExpansionKind) -> Vec<String> {
        plan(text, false)
            .expansions
            .into_iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.tokens.join(" "))
            .collect()
    }

    #[test]
    fn short_words_get_typos_only_as_a_fallback() {
        let p = plan("shop", false);
        assert_eq!(p.words[0].typo, None);
        assert!(p.withheld_typos);
        assert_eq!(plan("shop", true).words[0].typo, Some(1));
        let p = plan("kubernetes", false);
        assert_eq!(p.words[0].typo, Some(2));
        assert!(!p.withheld_typos);
        assert_eq!(plan("ml", false).words[0].typo, None);
        assert!(
            !plan("ml", false).withheld_typos,
            "two letters never get typos"
        );
    }

    #[test]
    fn only_the_word_being_typed_is_a_prefix() {
        let prefixes =
            |text| -> Vec<bool> { plan(text, false).words.iter().map(|w| w.prefix).collect() };
        assert_eq!(prefixes("rust web serv"), [false, false, true]);
        assert_eq!(
            prefixes("rust web serv "),
            [false, false, false],
            "a space ends it"
        );
        assert_eq!(
            prefixes("web rust web"),
            [true, false],
            "the last one typed"
        );
        assert_eq!(prefixes("dashb"), [true]);
        assert_eq!(
            prefixes("rust x"),
            [false, false],
            "too short to be a prefix"
        );
    }

    #[test]
    fn a_stem_expands_to_the_forms_that_share_it() {
        let forms = expansions("investing", ExpansionKind::Stem);
        for want in ["invest", "investment", "invested"] {
            assert!(forms.contains(&want.to_string()), "{want} in {forms:?}");
        }
        assert!(
            !forms.contains(&"investing".to_string()),
            "not the word itself"
        );
        assert!(expansions("dashboards", ExpansionKind::Stem).contains(&"dashboard".to_string()));
        assert!(expansions("bill", ExpansionKind::Stem).contains(&"billing".to_string()));
    }

    #[test]
    fn topics_come_from_the_scheme() {
        assert!(expansions("k8s", ExpansionKind::Topic).contains(&"kubernetes".to_string()));
        assert!(expansions("shop", ExpansionKind::Topic).contains(&"ecommerce".to_string()));
        assert!(expansions("zzzz", ExpansionKind::Topic).is_empty());
    }
}
