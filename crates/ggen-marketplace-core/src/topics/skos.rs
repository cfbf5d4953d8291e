//! SKOS triples to concepts, with the limits a scheme from anywhere must
//! keep. Shared, as source, by `build.rs` (the shipped scheme: a mistake
//! fails the build) and by V2's `topics import` (an operator's file: a
//! mistake is an error naming the concept), so both read SKOS one way.
//! Plain strings in and out: the build script has no access to the crate.

use std::collections::{BTreeMap, BTreeSet};

/// `skos:` namespace.
pub const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// More concepts than this is not a topic scheme but a dump.
pub const MAX_CONCEPTS: usize = 10_000;
/// Labels (preferred and alternative) one concept may have.
pub const MAX_LABELS: usize = 64;
/// The longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 128;
/// The longest concept IRI, in bytes.
pub const MAX_IRI_BYTES: usize = 1024;

/// The object of a triple, as far as SKOS reading needs it.
pub enum Object<'a> {
    /// A named node.
    Iri(&'a str),
    /// A literal, with its language tag if any.
    Literal {
        /// Its lexical form.
        value: &'a str,
        /// Its language tag.
        language: Option<&'a str>,
    },
    /// A blank node (or a quoted triple): never part of a topic scheme here.
    Other,
}

/// One concept, its relations resolved to positions in the list it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Its IRI.
    pub iri: String,
    /// Its English (or untagged) `skos:prefLabel`, lowercased.
    pub pref: String,
    /// Its English (or untagged) `skos:altLabel`s, lowercased, sorted.
    pub alt: Vec<String>,
    /// Narrower concepts (`skos:narrower`, and `skos:broader` read backwards).
    pub narrower: Vec<usize>,
    /// `skos:related` concepts, both ways.
    pub related: Vec<usize>,
}

#[derive(Default)]
struct Raw {
    pref: Vec<String>,
    alt: Vec<String>,
    narrower: BTreeSet<String>,
    related: BTreeSet<String>,
    is_concept: bool,
}

fn english(language: Option<&str>) -> bool {
    match language {
        None => true,
        Some(l) => l.eq_ignore_ascii_case("en") || l.to_ascii_lowercase().starts_with("en-"),
    }
}

/// Reads the concepts out of `triples` (subject IRI, predicate IRI,
/// object), sorted by IRI. Other subjects and predicates are left to the
/// caller; a reference to something that is not a `skos:Concept`, a
/// concept without exactly one English `prefLabel`, or a limit passed is
/// an error that names the concept.
pub fn collect<'a>(
    triples: impl IntoIterator<Item = (&'a str, &'a str, Object<'a>)>,
) -> Result<Vec<Collected>, String> {
    let mut raw: BTreeMap<String, Raw> = BTreeMap::new();
    for (s, p, o) in triples {
        let Some(local) = p.strip_prefix(SKOS).or((p == RDF_TYPE).then_some("type")) else {
            continue;
        };
        let iri_object = || match o {
            Object::Iri(i) => Ok(i.to_string()),
            _ => Err(format!("{p} of <{s}> must be an IRI")),
        };
        match local {
            "type" => {
                if matches!(o, Object::Iri(t) if t == format!("{SKOS}Concept")) {
                    raw.entry(s.to_string()).or_default().is_concept = true;
                }
            }
            "prefLabel" | "altLabel" => {
                let Object::Literal { value, language } = o else {
                    return Err(format!("{p} of <{s}> must be a literal"));
                };
                if !english(language) {
                    continue;
                }
                let chars = value.chars().count();
                if chars == 0 || chars > MAX_LABEL_CHARS || value.chars().any(char::is_control) {
                    return Err(format!(
                        "a label of <{s}> is empty, longer than {MAX_LABEL_CHARS} characters, or holds control characters"
                    ));
                }
                let r = raw.entry(s.to_string()).or_default();
                let list = if local == "prefLabel" {
                    &mut r.pref
                } else {
                    &mut r.alt
                };
                let label = value.to_lowercase();
                if !list.contains(&label) {
                    list.push(label);
                }
            }
            "narrower" => {
                let n = iri_object()?;
                raw.entry(s.to_string()).or_default().narrower.insert(n);
            }
            "broader" => {
                let b = iri_object()?;
                raw.entry(b).or_default().narrower.insert(s.to_string());
            }
            "related" => {
                let r = iri_object()?;
                raw.entry(r.clone())
                    .or_default()
                    .related
                    .insert(s.to_string());
                raw.entry(s.to_string()).or_default().related.insert(r);
            }
            _ => {}
        }
    }
    let referenced: BTreeSet<String> = raw
        .values()
        .flat_map(|r| r.narrower.iter().chain(&r.related).cloned())
        .collect();
    for r in &referenced {
        if !raw.get(r).is_some_and(|c| c.is_concept) {
            return Err(format!(
                "<{r}> is named by skos:narrower, broader or related but is not a skos:Concept in the file"
            ));
        }
    }
    // Labels of other subjects (the scheme itself) are not topics.
    raw.retain(|_, r| r.is_concept);
    if raw.len() > MAX_CONCEPTS {
        return Err(format!(
            "{} concepts; a topic scheme may hold at most {MAX_CONCEPTS}",
            raw.len()
        ));
    }
    let position: BTreeMap<&str, usize> = raw
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    for (iri, r) in &raw {
        if iri.len() > MAX_IRI_BYTES {
            return Err(format!(
                "a concept IRI is longer than {MAX_IRI_BYTES} bytes: <{}...>",
                &iri[..iri.floor_char_boundary(64)]
            ));
        }
        if r.pref.len() != 1 {
            return Err(format!(
                "<{iri}> has {} English (or untagged) skos:prefLabel; a concept needs exactly one",
                r.pref.len()
            ));
        }
        // Sorted: a store gives a node's values back in any order, and a
        // scheme must expand the same wherever it was read.
        let mut alt: Vec<String> = r.alt.iter().filter(|a| **a != r.pref[0]).cloned().collect();
        alt.sort();
        if alt.len() + 1 > MAX_LABELS {
            return Err(format!(
                "<{iri}> has {} labels; at most {MAX_LABELS} are read",
                alt.len() + 1
            ));
        }
        let refs = |set: &BTreeSet<String>| -> Vec<usize> {
            set.iter()
                .filter(|n| *n != iri)
                .map(|n| position[n.as_str()])
                .collect()
        };
        out.push(Collected {
            iri: iri.clone(),
            pref: r.pref[0].clone(),
            alt,
            narrower: refs(&r.narrower),
            related: refs(&r.related),
        });
    }
    Ok(out)
}
