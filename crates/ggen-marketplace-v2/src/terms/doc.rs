//! One package as the index sees it ([`Doc`]).

use ggen_marketplace_core::model::{Package, PackageSummary};
use serde::{Deserialize, Serialize};

use super::{AUTHOR, CATEGORY, DESCRIPTION, FIELD_COUNT, KEYWORDS, NAME, TAGS, tokens};

/// What the index knows about one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    pub name: String,
    /// The latest version (see `Package::latest`), whose node a hit is hydrated from.
    pub latest: String,
    pub downloads: u64,
    /// Unix seconds of the latest version's publication (0 when unknown).
    pub published: i64,
    /// Lowercase, for the category filter.
    pub category: Option<String>,
    /// Lowercase whole tags, for the tag filter.
    pub tags: Vec<String>,
    /// Tokens per field, in `WEIGHTS` order.
    pub fields: [Vec<String>; FIELD_COUNT],
    /// What `search` hits and `list` show, as published: they are answered from
    /// the index alone, without a round trip to the store per package.
    pub summary: PackageSummary,
    /// The whole package in postcard (versions sorted as the graph reads
    /// them back), which `info`, `versions` and resolution read instead of
    /// the package's subgraph. Saved after the doc, outside its encoding, so
    /// a search hit never decodes it; empty in a doc decoded from a file.
    #[serde(skip)]
    pub record: Vec<u8>,
}

impl Doc {
    pub fn from_package(p: &Package) -> Self {
        let v = p.latest();
        let mut fields: [Vec<String>; FIELD_COUNT] = Default::default();
        fields[NAME] = tokens(&p.name).collect();
        fields[TAGS] = v
            .tags
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[KEYWORDS] = v
            .keywords
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[CATEGORY] = v
            .category
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        fields[DESCRIPTION] = tokens(&v.description).collect();
        fields[AUTHOR] = v
            .authors
            .iter()
            .flat_map(|t| tokens(t).collect::<Vec<_>>())
            .collect();
        Self {
            name: p.name.clone(),
            latest: v.version.to_string(),
            downloads: p.downloads,
            published: v.published_at.map_or(0, |t| t.timestamp()),
            category: v.category.as_ref().map(|c| c.to_lowercase()),
            tags: v.tags.iter().map(|t| t.to_lowercase()).collect(),
            fields,
            summary: p.summary(),
            record: record_of(p),
        }
    }
}

/// `p` as [`Doc::record`] holds it.
pub(super) fn record_of(p: &Package) -> Vec<u8> {
    let mut p = p.clone();
    p.sort_versions();
    postcard::to_stdvec(&p).expect("a Package always serializes")
}
