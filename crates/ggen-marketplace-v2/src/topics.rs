//! The topic scheme in the graph. Search expands queries through SKOS
//! concepts (core's `topics`); V2 keeps them in the registry's own graph,
//! so they are queried with SPARQL like everything else, and links each
//! version to the concepts its category, tags and keywords name
//! (`<version> dcterms:subject <concept>`), so
//! `?v dcterms:subject/skos:broader* <healthcare>` finds a domain's packages.
//!
//! A graph without a scheme (a new or an older store) gets the shipped one
//! with its first write; `ggen marketplace topics import FILE.ttl` replaces
//! it, links included, in one atomic step. The registry node records which
//! scheme is loaded (`mp:registry mp:topicScheme <scheme>`): a graph holds a
//! scheme when that triple is there, even one with no concepts (an operator
//! who wants no expansion).
//!
//! An imported file is hostile until checked: at most [`MAX_TOPICS_BYTES`],
//! Turtle, only triples about the file's `skos:Concept`s and
//! `skos:ConceptScheme`s (so it cannot write a package), none of them in
//! the registry's namespace but under `topics/`, no blank nodes, and core's
//! limits on concepts and labels.

use std::collections::HashSet;
use std::sync::Arc;

use ggen_marketplace_core::model::PackageVersion;
use ggen_marketplace_core::topics::{self, TOPICS_NS, TOPICS_TTL, TopicScheme};
use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{NamedNode, NamedOrBlankNode, Term, Triple};

use crate::mapping::{self, Nodes, mp, version_iri};
use crate::store::{self, Answer, Op};
use crate::terms::TermIndex;
use crate::{BATCH, V2Backend};

/// The largest scheme file `topics import` reads.
pub const MAX_TOPICS_BYTES: usize = 4 << 20;

/// The predicate linking a version to a concept.
pub const SUBJECT: &str = "http://purl.org/dc/terms/subject";

fn skos(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{}{local}", topics::SKOS))
}

fn subject() -> NamedNode {
    NamedNode::new_unchecked(SUBJECT)
}

/// What `topics import` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicsImport {
    /// Concepts in the scheme now in the graph.
    pub concepts: usize,
    /// Triples of the scheme.
    pub triples: usize,
    /// `dcterms:subject` links written, version to concept.
    pub links: usize,
}

/// A checked scheme: its triples and the concepts read from them.
#[derive(Debug)]
struct SchemeFile {
    triples: Vec<Triple>,
    schemes: Vec<NamedNode>,
    scheme: TopicScheme,
}

fn invalid(origin: &str, reason: impl Into<String>) -> MarketplaceError {
    MarketplaceError::InvalidTopics {
        origin: origin.to_string(),
        reason: reason.into(),
    }
}

/// Reads and checks a scheme file (see the module docs for the rules).
fn parse_scheme(turtle: &[u8], origin: &str) -> Result<SchemeFile> {
    if turtle.len() > MAX_TOPICS_BYTES {
        return Err(invalid(
            origin,
            format!(
                "{} bytes; a topic scheme may be at most {MAX_TOPICS_BYTES} bytes",
                turtle.len()
            ),
        ));
    }
    let mut triples: Vec<Triple> = Vec::new();
    let mut seen: HashSet<Triple> = HashSet::new();
    for q in RdfParser::from_format(RdfFormat::Turtle).for_slice(turtle) {
        let t = Triple::from(q.map_err(|e| invalid(origin, format!("not Turtle: {e}")))?);
        if !matches!(t.subject, NamedOrBlankNode::NamedNode(_))
            || !matches!(t.object, Term::NamedNode(_) | Term::Literal(_))
        {
            return Err(invalid(
                origin,
                format!("blank nodes are not read here (in `{t}`); give every node an IRI"),
            ));
        }
        if seen.insert(t.clone()) {
            triples.push(t);
        }
    }
    let typed = |class: NamedNode| -> HashSet<String> {
        let class = Term::NamedNode(class);
        triples
            .iter()
            .filter(|t| t.predicate == rdf::TYPE && t.object == class)
            .map(|t| t.subject.to_string())
            .collect()
    };
    let concepts = typed(skos("Concept"));
    let scheme_nodes = typed(skos("ConceptScheme"));
    let registry_ns = mapping::NS;
    for t in &triples {
        let s = t.subject.to_string();
        if !concepts.contains(&s) && !scheme_nodes.contains(&s) {
            return Err(invalid(
                origin,
                format!(
                    "a triple about {s}, which is neither a skos:Concept nor a skos:ConceptScheme here; a topic scheme holds only those"
                ),
            ));
        }
        if let NamedOrBlankNode::NamedNode(n) = &t.subject
            && n.as_str().starts_with(registry_ns)
            && !n.as_str().starts_with(TOPICS_NS)
        {
            return Err(invalid(
                origin,
                format!(
                    "{s} is in the registry's own namespace ({registry_ns}); concepts there must be under {TOPICS_NS}"
                ),
            ));
        }
    }
    let mut schemes: Vec<NamedNode> = triples
        .iter()
        .filter_map(|t| match &t.subject {
            NamedOrBlankNode::NamedNode(n) if scheme_nodes.contains(&t.subject.to_string()) => {
                Some(n.clone())
            }
            _ => None,
        })
        .collect();
    schemes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    schemes.dedup();
    if schemes.is_empty() {
        return Err(invalid(
            origin,
            "no skos:ConceptScheme; declare one (`<https://example.org/topics> a skos:ConceptScheme .`)",
        ));
    }
    let scheme = TopicScheme::from_triples(triples.iter().filter_map(skos_view))
        .map_err(|e| invalid(origin, e))?;
    Ok(SchemeFile {
        triples,
        schemes,
        scheme,
    })
}

/// A triple as core's SKOS reader takes it.
fn skos_view(t: &Triple) -> Option<(&str, &str, topics::Object<'_>)> {
    let NamedOrBlankNode::NamedNode(s) = &t.subject else {
        return None;
    };
    let o = match &t.object {
        Term::NamedNode(n) => topics::Object::Iri(n.as_str()),
        Term::Literal(l) => topics::Object::Literal {
            value: l.value(),
            language: l.language(),
        },
        _ => topics::Object::Other,
    };
    Some((s.as_str(), t.predicate.as_str(), o))
}

/// The links of one version to the concepts its category, tags and
/// keywords name.
pub(crate) fn links(v: &PackageVersion, scheme: &TopicScheme) -> Vec<Triple> {
    let values = v
        .category
        .iter()
        .chain(&v.tags)
        .chain(&v.keywords)
        .map(String::as_str);
    let iri = version_iri(&v.name, &v.version);
    scheme
        .concepts_named(values)
        .into_iter()
        .filter_map(|i| scheme.concept(i))
        .map(|c| {
            Triple::new(
                iri.clone(),
                subject(),
                NamedNode::new_unchecked(c.iri.clone()),
            )
        })
        .collect()
}

impl V2Backend {
    /// The scheme the graph holds, `None` when it holds none (the shipped
    /// one is then in effect). A scheme in the graph that no longer reads
    /// (changed by hand) is an error naming `topics import`.
    pub(crate) fn read_scheme(&self) -> Result<Option<TopicScheme>> {
        if self
            .store()?
            .objects(&mp::registry(), &mp::topic_scheme())?
            .is_empty()
        {
            return Ok(None);
        }
        let triples = self.scheme_triples()?;
        TopicScheme::from_triples(triples.iter().filter_map(skos_view))
            .map(Some)
            .map_err(|e| invalid("in the graph", e))
    }

    /// Every triple about a concept or a concept scheme.
    pub(crate) fn scheme_triples(&self) -> Result<Vec<Triple>> {
        self.construct(&format!(
            "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?t {{ {} {} }} ?s {} ?t . ?s ?p ?o }}",
            skos("Concept"),
            skos("ConceptScheme"),
            rdf::TYPE
        ))
    }

    fn construct(&self, query: &str) -> Result<Vec<Triple>> {
        match self.store()?.query(&store::parse_query(query)?)? {
            Answer::Graph(t) => Ok(t),
            _ => Err(MarketplaceError::backend(
                crate::BACKEND,
                "a CONSTRUCT was not answered with a graph",
            )),
        }
    }

    /// The links of every version in the graph under `scheme`, read a
    /// batch of packages at a time as the term index is built.
    fn all_links(&self, scheme: &TopicScheme) -> Result<Vec<Triple>> {
        let roots = self.store()?.subjects_of_type(&mp::package_class())?;
        let mut out = Vec::new();
        for chunk in roots.chunks(BATCH) {
            for p in Nodes::new(&self.store()?.describe(chunk)?).packages()? {
                for v in &p.versions {
                    out.extend(links(v, scheme));
                }
            }
        }
        Ok(out)
    }

    /// Inserts that give a graph without a scheme the shipped one (with
    /// links for the versions it has), to go with the caller's write; `None`
    /// when the graph has a scheme.
    pub(crate) fn topic_install(
        &self,
        before: &TermIndex,
    ) -> Result<Option<(Vec<Triple>, Arc<TopicScheme>)>> {
        if before.graph_has_scheme() {
            return Ok(None);
        }
        let file = parse_scheme(TOPICS_TTL.as_bytes(), "shipped")?;
        let mut triples = file.triples;
        triples.extend(self.all_links(&file.scheme)?);
        for s in &file.schemes {
            triples.push(Triple::new(mp::registry(), mp::topic_scheme(), s.clone()));
        }
        Ok(Some((triples, Arc::new(file.scheme))))
    }

    /// Replaces the graph's topic scheme with the one in `turtle` (read
    /// from `origin`, for messages) and relinks every version, in one
    /// atomic write; search expands through it from then on. Nothing
    /// changes when the file is refused.
    pub fn import_topics(&self, turtle: &[u8], origin: &str) -> Result<TopicsImport> {
        let file = parse_scheme(turtle, origin)?;
        let lock = self.lock()?;
        let old_links = self.construct(&format!(
            "CONSTRUCT {{ ?v <{SUBJECT}> ?c }} WHERE {{ ?v {} {} ; <{SUBJECT}> ?c }}",
            rdf::TYPE,
            mp::version_class()
        ))?;
        let new_links = self.all_links(&file.scheme)?;
        let report = TopicsImport {
            concepts: file.scheme.concepts().len(),
            triples: file.triples.len(),
            links: new_links.len(),
        };
        let mut inserts = file.triples;
        inserts.extend(new_links);
        for s in &file.schemes {
            inserts.push(Triple::new(mp::registry(), mp::topic_scheme(), s.clone()));
        }
        let ops = vec![
            Op::Delete(self.scheme_triples()?),
            Op::Delete(old_links),
            Op::DeleteValues(mp::registry(), mp::topic_scheme()),
            Op::Insert(inserts),
        ];
        self.commit_with(&lock, ops, &[], Some(Arc::new(file.scheme)))?;
        Ok(report)
    }

    /// The scheme search expands through, and whether the graph holds it
    /// (else it is the shipped one, not yet written).
    pub fn topic_scheme(&self) -> Result<(TopicScheme, bool)> {
        let ix = self.index()?;
        Ok((ix.scheme().clone(), ix.graph_has_scheme()))
    }

    /// The scheme as Turtle: the graph's triples, or the shipped file when
    /// the graph holds none yet.
    pub fn export_topics(&self) -> Result<Vec<u8>> {
        if !self.index()?.graph_has_scheme() {
            return Ok(TOPICS_TTL.as_bytes().to_vec());
        }
        let mut triples = self.scheme_triples()?;
        triples.sort_by_cached_key(|t| t.to_string());
        crate::graph::serialize_turtle(&triples)
    }

    /// Packages linked to each concept (`dcterms:subject` of any version),
    /// by concept IRI.
    pub fn topic_package_counts(&self) -> Result<Vec<(String, u64)>> {
        let q = format!(
            "SELECT ?c (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p {} ?v . ?v <{SUBJECT}> ?c }} GROUP BY ?c",
            mp::has_version()
        );
        let Answer::Solutions { rows, .. } = self.store()?.query(&store::parse_query(&q)?)? else {
            return Ok(Vec::new());
        };
        Ok(rows
            .into_iter()
            .filter_map(|r| match (r.first(), r.get(1)) {
                (Some(Some(Term::NamedNode(c))), Some(Some(n))) => {
                    Some((c.as_str().to_string(), store::term_u64(n)?))
                }
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
        <https://example.org/s> a skos:ConceptScheme .\n";

    fn parse(body: &str) -> std::result::Result<SchemeFile, String> {
        parse_scheme(format!("{HEAD}{body}").as_bytes(), "t.ttl").map_err(|e| e.to_string())
    }

    #[test]
    fn the_shipped_scheme_passes_the_checks_an_import_gets() {
        let f = parse_scheme(TOPICS_TTL.as_bytes(), "shipped").unwrap();
        assert_eq!(f.scheme, *TopicScheme::shipped());
        assert_eq!(f.schemes.len(), 1);
    }

    #[test]
    fn a_file_may_only_describe_concepts_and_schemes() {
        let e = parse(
            "<https://ggen.io/marketplace/package/x> <https://ggen.io/marketplace/name> \"x\" .",
        )
        .unwrap_err();
        assert!(e.contains("neither a skos:Concept"), "{e}");
        // A package node declared a concept is still the registry's own.
        let e = parse(
            "<https://ggen.io/marketplace/package/x> a skos:Concept ; skos:prefLabel \"x\" .",
        )
        .unwrap_err();
        assert!(e.contains("registry's own namespace"), "{e}");
        let e = parse("<https://e.org/c> a skos:Concept ; skos:prefLabel [ a skos:Label ] .")
            .unwrap_err();
        assert!(e.contains("blank nodes"), "{e}");
    }

    #[test]
    fn concepts_are_checked_as_core_reads_them() {
        let e = parse("<https://e.org/c> a skos:Concept .").unwrap_err();
        assert!(e.contains("<https://e.org/c> has 0"), "{e}");
        let e = parse("<https://e.org/c> a skos:Concept ; skos:prefLabel \"c\" ; skos:narrower <https://e.org/gone> .")
            .unwrap_err();
        assert!(e.contains("<https://e.org/gone>"), "{e}");
        let e = parse_scheme(b"@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<https://e.org/c> a skos:Concept ; skos:prefLabel \"c\" .", "t.ttl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no skos:ConceptScheme"), "{e}");
        let e = parse("<https://e.org/c> a skos:Concept ; skos:prefLabel \"c\"").unwrap_err();
        assert!(e.contains("t.ttl: not Turtle"), "{e}");
        let big = vec![b' '; MAX_TOPICS_BYTES + 1];
        let e = parse_scheme(&big, "t.ttl").unwrap_err().to_string();
        assert!(e.contains("at most"), "{e}");
    }
}
