//! The graph as RDF: read-only SPARQL answers and whole-graph exports.

use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::io::{JsonLdProfile, RdfFormat};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};

use crate::store::Answer;
use crate::{BACKEND, V2Backend, store};

/// Formats [`V2Backend::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Turtle.
    Turtle,
    /// N-Triples.
    NTriples,
    /// JSON-LD.
    JsonLd,
}

impl std::str::FromStr for ExportFormat {
    type Err = MarketplaceError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "turtle" | "ttl" => Ok(Self::Turtle),
            "ntriples" | "n-triples" | "nt" => Ok(Self::NTriples),
            "jsonld" | "json-ld" => Ok(Self::JsonLd),
            other => Err(MarketplaceError::Unsupported {
                backend: BACKEND.into(),
                operation: "export".into(),
                reason: format!("unknown format `{other}` (expected turtle, ntriples or jsonld)"),
            }),
        }
    }
}

impl V2Backend {
    /// Runs a read-only SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE; anything
    /// else is refused before it reaches the store) and returns the answer
    /// serialized: SPARQL 1.1 JSON results for SELECT/ASK, JSON-LD for graphs.
    pub fn sparql_select(&self, query_text: &str) -> Result<String> {
        let query = store::parse_query(query_text)?;
        match &query {
            spargebra::Query::Select { .. }
            | spargebra::Query::Ask { .. }
            | spargebra::Query::Construct { .. }
            | spargebra::Query::Describe { .. } => {}
        }
        let ser_err = |e: std::io::Error| {
            MarketplaceError::backend(BACKEND, format!("serializing results: {e}"))
        };
        let bytes = match self.store()?.query(&query)? {
            Answer::Boolean(b) => QueryResultsSerializer::from_format(QueryResultsFormat::Json)
                .serialize_boolean_to_writer(Vec::new(), b)
                .map_err(ser_err)?,
            Answer::Solutions { variables, rows } => {
                let mut w = QueryResultsSerializer::from_format(QueryResultsFormat::Json)
                    .serialize_solutions_to_writer(Vec::new(), variables.clone())
                    .map_err(ser_err)?;
                for row in &rows {
                    w.serialize(
                        variables
                            .iter()
                            .zip(row)
                            .filter_map(|(v, t)| t.as_ref().map(|t| (v.as_ref(), t.as_ref()))),
                    )
                    .map_err(ser_err)?;
                }
                w.finish().map_err(ser_err)?
            }
            Answer::Graph(triples) => serialize_triples(&triples, jsonld())?,
        };
        String::from_utf8(bytes).map_err(|e| MarketplaceError::backend(BACKEND, e))
    }

    /// Dumps the whole graph.
    pub fn export(&self, format: ExportFormat) -> Result<Vec<u8>> {
        self.store()?.export(match format {
            ExportFormat::Turtle => RdfFormat::Turtle,
            ExportFormat::NTriples => RdfFormat::NTriples,
            ExportFormat::JsonLd => jsonld(),
        })
    }
}

fn jsonld() -> RdfFormat {
    RdfFormat::JsonLd {
        profile: JsonLdProfile::Streaming.into(),
    }
}

fn serialize_triples(triples: &[oxigraph::model::Triple], format: RdfFormat) -> Result<Vec<u8>> {
    let err =
        |e: std::io::Error| MarketplaceError::backend(BACKEND, format!("serializing RDF: {e}"));
    let mut ser = oxigraph::io::RdfSerializer::from_format(format).for_writer(Vec::new());
    for t in triples {
        ser.serialize_triple(t).map_err(err)?;
    }
    ser.finish().map_err(err)
}

/// `triples` as Turtle, with the `skos:` and `topic:` prefixes (a topic
/// scheme export reads like the file it came from).
pub(crate) fn serialize_turtle(triples: &[oxigraph::model::Triple]) -> Result<Vec<u8>> {
    let err =
        |e: std::io::Error| MarketplaceError::backend(BACKEND, format!("serializing RDF: {e}"));
    let mut ser = oxigraph::io::RdfSerializer::from_format(RdfFormat::Turtle)
        .with_prefix("skos", ggen_marketplace_core::topics::SKOS)
        .and_then(|s| s.with_prefix("topic", ggen_marketplace_core::topics::TOPICS_NS))
        .map_err(|e| MarketplaceError::backend(BACKEND, e))?
        .for_writer(Vec::new());
    for t in triples {
        ser.serialize_triple(t).map_err(err)?;
    }
    ser.finish().map_err(err)
}
