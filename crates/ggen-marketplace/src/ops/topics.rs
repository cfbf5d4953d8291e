//! The topics search expands queries through. Listing and exporting work in
//! every build (V1 expands through the shipped scheme); replacing the scheme
//! is V2's, which keeps it in its graph (see `ggen_marketplace_v2`'s
//! `topics` module).

use std::path::Path;

use ggen_marketplace_core::topics::TopicScheme;
use serde::Serialize;

use ggen_marketplace_core::MarketplaceError;

use crate::error::Result;
use crate::marketplace::Marketplace;

/// The largest scheme file read, in bytes (V2's limit, in every build).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// One concept as `topics list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TopicRow {
    /// Its IRI.
    pub iri: String,
    /// Its preferred label.
    pub label: String,
    /// Its other labels.
    pub alt_labels: Vec<String>,
    /// Its narrower concepts' preferred labels.
    pub narrower: Vec<String>,
    /// Its related concepts' preferred labels.
    pub related: Vec<String>,
    /// Packages with a version linked to it (V2's graph only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<u64>,
}

/// The scheme in use.
#[derive(Debug, Clone, Serialize)]
pub struct TopicsReport {
    /// `graph` (V2's graph holds it) or `shipped` (built in: V1's always,
    /// V2's until its first write).
    pub source: &'static str,
    /// Every concept, by IRI.
    pub concepts: Vec<TopicRow>,
}

/// What `topics import` did.
#[derive(Debug, Clone, Serialize)]
pub struct TopicsImported {
    /// Concepts in the scheme now in the graph.
    pub concepts: usize,
    /// Triples of the scheme.
    pub triples: usize,
    /// `dcterms:subject` links written, version to concept.
    pub links: usize,
}

fn rows(scheme: &TopicScheme, counts: &[(String, u64)], with_counts: bool) -> Vec<TopicRow> {
    let label = |i: &usize| scheme.concept(*i).map(|c| c.pref_label.clone());
    scheme
        .concepts()
        .iter()
        .map(|c| TopicRow {
            iri: c.iri.clone(),
            label: c.pref_label.clone(),
            alt_labels: c.alt_labels.clone(),
            narrower: c.narrower.iter().filter_map(label).collect(),
            related: c.related.iter().filter_map(label).collect(),
            packages: with_counts.then(|| {
                counts
                    .iter()
                    .find(|(iri, _)| *iri == c.iri)
                    .map_or(0, |(_, n)| *n)
            }),
        })
        .collect()
}

impl Marketplace {
    /// The topic scheme search expands through: V2's when it is compiled
    /// in, else the shipped one.
    pub fn topics(&self) -> Result<TopicsReport> {
        self.require_local("topics")?;
        #[cfg(feature = "marketplace-v2")]
        {
            let v2 = self.v2()?;
            let (scheme, in_graph) = v2.topic_scheme()?;
            let counts = if in_graph {
                v2.topic_package_counts()?
            } else {
                Vec::new()
            };
            Ok(TopicsReport {
                source: if in_graph { "graph" } else { "shipped" },
                concepts: rows(&scheme, &counts, in_graph),
            })
        }
        #[cfg(not(feature = "marketplace-v2"))]
        {
            Ok(TopicsReport {
                source: "shipped",
                concepts: rows(TopicScheme::shipped(), &[], false),
            })
        }
    }

    /// The scheme in use, as Turtle.
    pub fn topics_export(&self) -> Result<Vec<u8>> {
        self.require_local("topics export")?;
        #[cfg(feature = "marketplace-v2")]
        {
            Ok(self.v2()?.export_topics()?)
        }
        #[cfg(not(feature = "marketplace-v2"))]
        {
            Ok(ggen_marketplace_core::topics::TOPICS_TTL
                .as_bytes()
                .to_vec())
        }
    }

    /// Replaces V2's topic scheme with the SKOS file at `path` (checked
    /// whole before anything is written; see the V2 crate for the rules).
    pub fn topics_import(&self, path: &Path) -> Result<TopicsImported> {
        self.require_local("topics import")?;
        // Turtle is UTF-8: a file that is not, or is too large, is refused.
        let turtle =
            crate::ops::lockfile::read_capped(path, MAX_FILE_BYTES).map_err(|e| {
                match e.kind() {
                    std::io::ErrorKind::InvalidData => MarketplaceError::InvalidTopics {
                        origin: path.display().to_string(),
                        reason: e.to_string(),
                    },
                    _ => MarketplaceError::io(path, e),
                }
            })?;
        let turtle = turtle.into_bytes();
        #[cfg(feature = "marketplace-v2")]
        {
            let r = self
                .v2()?
                .import_topics(&turtle, &path.display().to_string())?;
            crate::cache::bump_generation(&self.paths.registry);
            Ok(TopicsImported {
                concepts: r.concepts,
                triples: r.triples,
                links: r.links,
            })
        }
        #[cfg(not(feature = "marketplace-v2"))]
        {
            let _ = turtle;
            Err(crate::Error::NotCompiled {
                backend: "v2".into(),
                feature: "marketplace-v2".into(),
            })
        }
    }
}
