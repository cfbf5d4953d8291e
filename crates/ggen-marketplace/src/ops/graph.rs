//! What only V2's RDF graph answers: read-only SPARQL and whole-graph
//! exports. Both exist in every build; without `marketplace-v2` they answer
//! "not compiled", so front ends carry no feature gates of their own.

use crate::cache::CacheStatus;
use crate::error::Result;
use crate::marketplace::Marketplace;

/// The RDF syntaxes `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// Turtle (`.ttl`).
    Turtle,
    /// N-Triples (`.nt`), one triple per line.
    NTriples,
    /// JSON-LD (`.jsonld`).
    JsonLd,
}

impl GraphFormat {
    /// The name used on the command line and in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            GraphFormat::Turtle => "turtle",
            GraphFormat::NTriples => "ntriples",
            GraphFormat::JsonLd => "jsonld",
        }
    }
}

impl Marketplace {
    /// Runs a read-only SPARQL query against the V2 graph and returns the
    /// standard SPARQL results document, from the cache when the same query
    /// ran against the same graph generation.
    pub fn sparql(&self, query: &str) -> Result<(String, CacheStatus)> {
        self.require_local("sparql")?;
        #[cfg(feature = "marketplace-v2")]
        {
            self.sparql_cached(query)
        }
        #[cfg(not(feature = "marketplace-v2"))]
        {
            let _ = query;
            Err(v2_not_compiled())
        }
    }

    /// The whole V2 graph in `format`.
    pub fn export(&self, format: GraphFormat) -> Result<Vec<u8>> {
        self.require_local("export")?;
        #[cfg(feature = "marketplace-v2")]
        {
            use ggen_marketplace_v2::ExportFormat as F;
            let f = match format {
                GraphFormat::Turtle => F::Turtle,
                GraphFormat::NTriples => F::NTriples,
                GraphFormat::JsonLd => F::JsonLd,
            };
            Ok(self.v2()?.export(f)?)
        }
        #[cfg(not(feature = "marketplace-v2"))]
        {
            let _ = format;
            Err(v2_not_compiled())
        }
    }
}

#[cfg(not(feature = "marketplace-v2"))]
fn v2_not_compiled() -> crate::Error {
    crate::Error::NotCompiled {
        backend: "v2".into(),
        feature: "marketplace-v2".into(),
    }
}
