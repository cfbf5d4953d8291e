//! The topic scheme search expands queries through: SKOS concepts with their
//! labels, narrower and related concepts, from `topics/topics.ttl` (the
//! table is generated from it by `build.rs`, so both backends expand from the
//! same table). The file itself is [`TOPICS_TTL`]; loading it (and an
//! operator's own scheme) into V2's graph is not built yet.
//!
//! A query phrase (the whole query, or any run of up to three of its words)
//! that equals a concept's `prefLabel` or `altLabel` selects the concept; the
//! concept then expands to its other labels and to the labels of its
//! narrower concepts (two levels down). A multi-word label matches a package
//! when all its words are in one field.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::search::tokenize;

/// The scheme, as shipped.
pub const TOPICS_TTL: &str = include_str!("../topics/topics.ttl");

/// One concept of the generated table.
#[derive(Debug)]
pub(crate) struct ConceptRecord {
    pub iri: &'static str,
    pub pref: &'static str,
    pub alt: &'static [&'static str],
    pub narrower: &'static [usize],
    /// Not followed by expansion yet (related concepts are weaker evidence
    /// than narrower ones); kept so the table is the whole scheme.
    #[allow(dead_code)]
    pub related: &'static [usize],
}

include!(concat!(env!("OUT_DIR"), "/topics.rs"));

/// How deep `narrower` is followed.
const NARROWER_DEPTH: usize = 2;
/// The longest run of query words looked up as a label.
const MAX_LABEL_WORDS: usize = 3;

/// A phrase a query expands to, and the concept that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicExpansion {
    /// The phrase's words (tokenized as indexes tokenize).
    pub tokens: Vec<String>,
    /// The concept's IRI.
    pub concept: &'static str,
}

fn labels_of(c: &ConceptRecord) -> impl Iterator<Item = &'static str> {
    std::iter::once(c.pref).chain(c.alt.iter().copied())
}

/// Label (tokens joined by spaces) to the concepts that carry it.
fn by_label() -> &'static HashMap<String, Vec<usize>> {
    static MAP: OnceLock<HashMap<String, Vec<usize>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in CONCEPTS.iter().enumerate() {
            for l in labels_of(c) {
                let key = tokenize(l).join(" ");
                let entry = m.entry(key).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        m
    })
}

/// The phrases `words` (a tokenized query) expands to through the scheme,
/// leaving out phrases made only of the query's own words.
pub fn expand(words: &[String]) -> Vec<TopicExpansion> {
    let labels = by_label();
    let mut chosen: Vec<usize> = Vec::new();
    for len in (1..=MAX_LABEL_WORDS.min(words.len())).rev() {
        for run in words.windows(len) {
            if let Some(ids) = labels.get(&run.join(" ")) {
                for &i in ids {
                    if !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    let mut with_narrower = chosen.clone();
    let mut frontier = chosen;
    for _ in 0..NARROWER_DEPTH {
        let mut next = Vec::new();
        for &i in &frontier {
            for &n in CONCEPTS[i].narrower {
                if !with_narrower.contains(&n) {
                    with_narrower.push(n);
                    next.push(n);
                }
            }
        }
        frontier = next;
    }
    let mut out: Vec<TopicExpansion> = Vec::new();
    for i in with_narrower {
        let c = &CONCEPTS[i];
        for l in labels_of(c) {
            let tokens = tokenize(l);
            if tokens.is_empty() || tokens.iter().all(|t| words.contains(t)) {
                continue;
            }
            if !out.iter().any(|e| e.tokens == tokens) {
                out.push(TopicExpansion {
                    tokens,
                    concept: c.iri,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(q: &str) -> Vec<String> {
        expand(&tokenize(q))
            .into_iter()
            .map(|e| e.tokens.join(" "))
            .collect()
    }

    #[test]
    fn abbreviations_reach_their_concept() {
        assert!(expanded("k8s").contains(&"kubernetes".to_string()));
        assert!(expanded("ml").contains(&"machine learning".to_string()));
        assert!(expanded("pg").contains(&"postgresql".to_string()));
    }

    #[test]
    fn a_broader_topic_reaches_its_narrower_concepts() {
        let e = expanded("medical");
        for want in ["healthcare", "pharmacy", "telemedicine", "medical billing"] {
            assert!(e.contains(&want.to_string()), "{want} in {e:?}");
        }
        // Two levels: ai -> machine learning (and its labels).
        assert!(expanded("ai").contains(&"deep learning".to_string()));
    }

    #[test]
    fn multi_word_labels_match_runs_of_query_words() {
        assert!(expanded("semantic web templates").contains(&"rdf".to_string()));
        assert!(expanded("nothing here").is_empty());
        // The query's own words are not expanded again.
        assert!(!expanded("kubernetes").contains(&"kubernetes".to_string()));
    }

    #[test]
    fn the_table_holds_the_whole_scheme() {
        assert!(CONCEPTS.len() >= 50, "{}", CONCEPTS.len());
        assert!(
            CONCEPTS
                .iter()
                .all(|c| c.iri.starts_with("https://ggen.io/marketplace/topics/"))
        );
        assert!(TOPICS_TTL.contains("skos:ConceptScheme"));
    }
}
