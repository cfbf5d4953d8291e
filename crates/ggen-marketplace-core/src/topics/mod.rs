//! The topic scheme search expands queries through: SKOS concepts with their
//! labels, narrower and related concepts. The scheme shipped is
//! `topics/topics.ttl` ([`TOPICS_TTL`]; `build.rs` turns it into a table,
//! so V1, which has no RDF store, expands from the same file); V2 keeps a
//! scheme in its graph, the shipped one until an operator imports their own
//! ([`TopicScheme::from_triples`] reads it; `skos` holds the rules).
//!
//! A query phrase (the whole query, or any run of up to three of its words)
//! that equals a concept's `prefLabel` or `altLabel` selects the concept; the
//! concept then expands to its other labels and to the labels of its
//! narrower concepts (two levels down). A multi-word label matches a package
//! when all its words are in one field.

mod skos;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::search::tokenize;

pub use skos::{MAX_CONCEPTS, MAX_IRI_BYTES, MAX_LABEL_CHARS, MAX_LABELS, Object, SKOS};

/// The scheme, as shipped.
pub const TOPICS_TTL: &str = include_str!("../../topics/topics.ttl");
/// Where the shipped scheme's concepts live.
pub const TOPICS_NS: &str = "https://ggen.io/marketplace/topics/";

/// One concept of the generated table.
struct ConceptRecord {
    iri: &'static str,
    pref: &'static str,
    alt: &'static [&'static str],
    narrower: &'static [usize],
    related: &'static [usize],
}

include!(concat!(env!("OUT_DIR"), "/topics.rs"));

/// How deep `narrower` is followed.
const NARROWER_DEPTH: usize = 2;
/// The longest run of query words looked up as a label.
const MAX_LABEL_WORDS: usize = 3;

/// One concept: its labels (lowercased) and its relations, as positions in
/// the scheme's [`TopicScheme::concepts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concept {
    /// Its IRI.
    pub iri: String,
    /// Its `skos:prefLabel`.
    pub pref_label: String,
    /// Its `skos:altLabel`s.
    pub alt_labels: Vec<String>,
    /// Its narrower concepts.
    pub narrower: Vec<usize>,
    /// Its related concepts.
    pub related: Vec<usize>,
}

impl Concept {
    /// The preferred label, then the alternative ones.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.pref_label.as_str()).chain(self.alt_labels.iter().map(String::as_str))
    }
}

/// A set of concepts search expands through.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TopicScheme {
    concepts: Vec<Concept>,
    /// Label (tokens joined by spaces) to the concepts that carry it.
    #[serde(skip)]
    by_label: OnceLock<HashMap<String, Vec<usize>>>,
}

impl std::fmt::Debug for TopicScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.concepts).finish()
    }
}

impl PartialEq for TopicScheme {
    fn eq(&self, other: &Self) -> bool {
        self.concepts == other.concepts
    }
}

/// A phrase a query expands to, and the concept that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicExpansion {
    /// The phrase's words (tokenized as indexes tokenize).
    pub tokens: Vec<String>,
    /// The concept's IRI.
    pub concept: String,
    /// The query's words that named the concept (or its broader one).
    pub via: String,
}

impl TopicScheme {
    /// The scheme shipped in `topics/topics.ttl`.
    pub fn shipped() -> &'static TopicScheme {
        static SCHEME: OnceLock<TopicScheme> = OnceLock::new();
        SCHEME.get_or_init(|| TopicScheme {
            concepts: SHIPPED
                .iter()
                .map(|c| Concept {
                    iri: c.iri.into(),
                    pref_label: c.pref.into(),
                    alt_labels: c.alt.iter().map(|a| a.to_string()).collect(),
                    narrower: c.narrower.to_vec(),
                    related: c.related.to_vec(),
                })
                .collect(),
            by_label: OnceLock::new(),
        })
    }

    /// The concepts in `triples` (subject IRI, predicate IRI, object):
    /// each `skos:Concept` with exactly one English (or untagged)
    /// `prefLabel`, its `altLabel`s, `narrower`/`broader` and `related`
    /// concepts. Fails naming the concept at fault; within
    /// [`MAX_CONCEPTS`], [`MAX_LABELS`] and [`MAX_LABEL_CHARS`].
    pub fn from_triples<'a>(
        triples: impl IntoIterator<Item = (&'a str, &'a str, Object<'a>)>,
    ) -> Result<Self, String> {
        let concepts = skos::collect(triples)?
            .into_iter()
            .map(|c| Concept {
                iri: c.iri,
                pref_label: c.pref,
                alt_labels: c.alt,
                narrower: c.narrower,
                related: c.related,
            })
            .collect();
        Ok(Self {
            concepts,
            by_label: OnceLock::new(),
        })
    }

    /// Every concept, by IRI.
    pub fn concepts(&self) -> &[Concept] {
        &self.concepts
    }

    /// The concept at `i`, if any (positions in a scheme read from a damaged
    /// file may point nowhere).
    pub fn concept(&self, i: usize) -> Option<&Concept> {
        self.concepts.get(i)
    }

    fn by_label(&self) -> &HashMap<String, Vec<usize>> {
        self.by_label.get_or_init(|| {
            let mut m: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, c) in self.concepts.iter().enumerate() {
                for l in c.labels() {
                    let entry = m.entry(tokenize(l).join(" ")).or_default();
                    if !entry.contains(&i) {
                        entry.push(i);
                    }
                }
            }
            m
        })
    }

    /// The concepts a package's category, tags or keywords name (a value
    /// equal to one of a concept's labels, word for word), by position.
    pub fn concepts_named<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        let labels = self.by_label();
        let mut out: Vec<usize> = Vec::new();
        for v in values {
            for &i in labels.get(&tokenize(v).join(" ")).into_iter().flatten() {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The phrases `words` (a tokenized query) expands to through the
    /// scheme, leaving out phrases made only of the query's own words.
    pub fn expand(&self, words: &[String]) -> Vec<TopicExpansion> {
        let labels = self.by_label();
        // (concept, the query phrase that reached it)
        let mut chosen: Vec<(usize, String)> = Vec::new();
        for len in (1..=MAX_LABEL_WORDS.min(words.len())).rev() {
            for run in words.windows(len) {
                let phrase = run.join(" ");
                for &i in labels.get(&phrase).into_iter().flatten() {
                    if !chosen.iter().any(|(c, _)| *c == i) {
                        chosen.push((i, phrase.clone()));
                    }
                }
            }
        }
        let mut frontier = chosen.clone();
        for _ in 0..NARROWER_DEPTH {
            let mut next = Vec::new();
            for (i, via) in &frontier {
                let narrower = self.concept(*i).map(|c| c.narrower.as_slice());
                for &n in narrower.unwrap_or_default() {
                    if n < self.concepts.len() && !chosen.iter().any(|(c, _)| *c == n) {
                        chosen.push((n, via.clone()));
                        next.push((n, via.clone()));
                    }
                }
            }
            frontier = next;
        }
        let mut out: Vec<TopicExpansion> = Vec::new();
        for (i, via) in chosen {
            let c = &self.concepts[i];
            for l in c.labels() {
                let tokens = tokenize(l);
                if tokens.is_empty() || tokens.iter().all(|t| words.contains(t)) {
                    continue;
                }
                if !out.iter().any(|e| e.tokens == tokens) {
                    out.push(TopicExpansion {
                        tokens,
                        concept: c.iri.clone(),
                        via: via.clone(),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(q: &str) -> Vec<String> {
        TopicScheme::shipped()
            .expand(&tokenize(q))
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
        let s = TopicScheme::shipped();
        assert!(s.concepts().len() >= 50, "{}", s.concepts().len());
        assert!(s.concepts().iter().all(|c| c.iri.starts_with(TOPICS_NS)));
        assert!(TOPICS_TTL.contains("skos:ConceptScheme"));
    }

    /// Triples of concepts `c0..cN` described by `(predicate, object)` pairs.
    fn scheme(triples: &[(&str, &str, &str)]) -> Result<TopicScheme, String> {
        let iri = |local: &str| format!("https://e.org/{local}");
        let owned: Vec<(String, String, String, bool)> = triples
            .iter()
            .map(|(s, p, o)| {
                let predicate = if *p == "type" {
                    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type".to_string()
                } else {
                    format!("{SKOS}{p}")
                };
                let (object, is_iri) = match o.strip_prefix('@') {
                    Some(local) => (iri(local), true),
                    None if *p == "type" => (format!("{SKOS}{o}"), true),
                    None => (o.to_string(), false),
                };
                (iri(s), predicate, object, is_iri)
            })
            .collect();
        TopicScheme::from_triples(owned.iter().map(|(s, p, o, is_iri)| {
            let object = if *is_iri {
                Object::Iri(o)
            } else {
                match o.split_once("@@") {
                    Some((value, lang)) => Object::Literal {
                        value,
                        language: Some(lang),
                    },
                    None => Object::Literal {
                        value: o,
                        language: None,
                    },
                }
            };
            (s.as_str(), p.as_str(), object)
        }))
    }

    #[test]
    fn a_scheme_is_read_as_skos_says_and_its_limits_hold() {
        let s = scheme(&[
            ("a", "type", "Concept"),
            ("a", "prefLabel", "Alpha"),
            ("a", "altLabel", "first"),
            ("a", "altLabel", "erste@@de"),
            ("b", "type", "Concept"),
            ("b", "prefLabel", "beta@@en-GB"),
            ("b", "broader", "@a"),
            ("b", "related", "@a"),
            // A cycle: expansion still ends.
            ("b", "narrower", "@a"),
        ])
        .unwrap();
        let a = &s.concepts()[0];
        assert_eq!(
            (a.pref_label.as_str(), a.alt_labels.clone()),
            ("alpha", vec!["first".into()])
        );
        assert_eq!(a.narrower, [1], "broader is read backwards");
        assert_eq!(a.related, [1], "related goes both ways");
        assert_eq!(s.concepts()[1].pref_label, "beta");
        let e: Vec<String> = s
            .expand(&tokenize("first"))
            .into_iter()
            .map(|e| e.tokens.join(" "))
            .collect();
        assert_eq!(e, ["alpha", "beta"]);
        assert_eq!(s.concepts_named(["First", "nothing"]), [0]);

        let refused = |t: &[(&str, &str, &str)], needle: &str| {
            let e = scheme(t).unwrap_err();
            assert!(e.contains(needle), "{needle} in {e}");
        };
        refused(&[("a", "type", "Concept")], "has 0 English");
        refused(
            &[
                ("a", "type", "Concept"),
                ("a", "prefLabel", "x"),
                ("a", "prefLabel", "y"),
            ],
            "has 2 English",
        );
        refused(
            &[
                ("a", "type", "Concept"),
                ("a", "prefLabel", "x"),
                ("a", "narrower", "@gone"),
            ],
            "<https://e.org/gone> is named",
        );
        let long = "x".repeat(MAX_LABEL_CHARS + 1);
        refused(
            &[("a", "type", "Concept"), ("a", "prefLabel", &long)],
            "longer than",
        );
        refused(
            &[("a", "type", "Concept"), ("a", "prefLabel", "a\u{1b}[2J")],
            "control",
        );
        let labels: Vec<String> = (0..MAX_LABELS).map(|i| format!("l{i}")).collect();
        let mut many = vec![("a", "type", "Concept"), ("a", "prefLabel", "x")];
        many.extend(labels.iter().map(|l| ("a", "altLabel", l.as_str())));
        refused(&many, "labels");
        let names: Vec<String> = (0..=MAX_CONCEPTS).map(|i| format!("c{i}")).collect();
        let all: Vec<(&str, &str, &str)> = names
            .iter()
            .map(|n| (n.as_str(), "type", "Concept"))
            .collect();
        refused(&all, "at most");
    }
}
