//! Search requests and answers, identical for every backend so that compare mode
//! can diff them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;

mod explain;
mod plan;

pub use explain::{MatchKind, MatchPart};
pub use plan::{Expansion, ExpansionKind, PlannedWord, QueryPlan, plan, plan_with, stem};

/// Hits per page when the query asks for no limit.
pub const DEFAULT_LIMIT: usize = 20;
/// Queries longer than this many characters are refused rather than searched:
/// nobody types them, and they make fuzzy expansion expensive.
pub const MAX_QUERY_LEN: usize = 1024;
/// The most hits one page may hold.
pub const MAX_LIMIT: usize = 1000;
/// How deep paging may go. Every backend collects `offset + limit` hits before
/// it drops the first `offset`, so an unbounded offset is an unbounded
/// allocation; nobody reads past the first ten thousand hits of a search (as
/// Elasticsearch's `max_result_window`), they narrow the query instead.
pub const MAX_OFFSET: usize = 10_000;
/// Filters a query may carry: more tags than this, or longer values, are not
/// something a person or a page sends.
pub const MAX_TAGS: usize = 32;
/// The longest category or tag filter accepted, in characters.
pub const MAX_FILTER_LEN: usize = 128;

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Best match first.
    #[default]
    Relevance,
    /// Most installed first.
    Downloads,
    /// By name, A to Z.
    Name,
    /// Newest publish first.
    Recent,
}

impl SortOrder {
    /// `relevance`, `downloads`, `name` or `recent`, as in the API and `--sort`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::Downloads => "downloads",
            Self::Name => "name",
            Self::Recent => "recent",
        }
    }
}

impl std::str::FromStr for SortOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "relevance" => Ok(Self::Relevance),
            "downloads" => Ok(Self::Downloads),
            "name" => Ok(Self::Name),
            "recent" => Ok(Self::Recent),
            other => Err(format!(
                "unknown sort order `{other}` (expected relevance, downloads, name or recent)"
            )),
        }
    }
}

/// A search: text, filters, order and page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words to look for; empty matches every package.
    pub text: String,
    /// Only packages in this category.
    pub category: Option<String>,
    /// Only packages with all of these tags.
    pub tags: Vec<String>,
    /// The order of hits.
    pub sort: SortOrder,
    /// Hits per page, at most [`MAX_LIMIT`].
    pub limit: usize,
    /// Hits to skip, at most [`MAX_OFFSET`].
    pub offset: usize,
    /// Fill each hit's [`SearchHit::explain`] (costs a second pass over
    /// the page's hits).
    #[serde(default)]
    pub explain: bool,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: String::new(),
            category: None,
            tags: Vec::new(),
            sort: SortOrder::Relevance,
            limit: DEFAULT_LIMIT,
            offset: 0,
            explain: false,
        }
    }
}

impl SearchQuery {
    /// A query for `text` with no filters and the default page.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Checks what no backend should have to: length and control characters.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |reason: String| Err(crate::MarketplaceError::InvalidQuery { reason });
        // Characters, not bytes: the unit the API's schema (and a person) counts in.
        let length = self.text.chars().count();
        if length > MAX_QUERY_LEN {
            return bad(format!(
                "query is {length} characters long; the limit is {MAX_QUERY_LEN}"
            ));
        }
        if self
            .text
            .chars()
            .any(|c| c.is_control() && !c.is_whitespace())
        {
            return bad("query contains control characters".into());
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return bad(format!("limit {} is outside 1..={MAX_LIMIT}", self.limit));
        }
        if self.offset > MAX_OFFSET {
            return bad(format!(
                "offset {} is beyond the last page this registry serves (offset {MAX_OFFSET}); narrow the query or add filters instead",
                self.offset
            ));
        }
        if self.tags.len() > MAX_TAGS {
            return bad(format!(
                "{} tags given; at most {MAX_TAGS} may be combined",
                self.tags.len()
            ));
        }
        for value in self.tags.iter().chain(self.category.as_ref()) {
            let length = value.chars().count();
            if length > MAX_FILTER_LEN {
                return bad(format!(
                    "a category or tag filter is {length} characters long; the limit is {MAX_FILTER_LEN}"
                ));
            }
            if value.chars().any(char::is_control) {
                return bad("a category or tag filter contains control characters".into());
            }
        }
        Ok(())
    }

    /// The lowercase words of the query, as both backends tokenize it.
    pub fn terms(&self) -> Vec<String> {
        tokenize(&self.text)
    }
}

/// Splits text into lowercase alphanumeric words. Shared by V1 and V2 so their
/// notion of a "word" is identical.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// One package found by a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    /// The package name.
    pub name: String,
    /// Its latest version.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::SemVer))]
    pub version: semver::Version,
    /// That version's description.
    pub description: String,
    /// That version's category.
    pub category: Option<String>,
    /// That version's tags.
    pub tags: Vec<String>,
    /// Installs counted by the registry.
    pub downloads: u64,
    /// Relevance; comparable within one answer only.
    pub score: f32,
    /// Why it matched, part by part, when the query asked
    /// ([`SearchQuery::explain`]); the parts add up to `score`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<MatchPart>,
}

/// One page of hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    /// The hits, in the order asked for.
    pub hits: Vec<SearchHit>,
    /// Matches before limit and offset.
    pub total: usize,
    /// The backend that answered.
    pub backend_used: BackendKind,
    /// How long the backend took.
    #[serde(rename = "query_time_ms", with = "millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub query_time: Duration,
}

impl SearchResults {
    /// The hits' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.hits.iter().map(|h| h.name.as_str()).collect()
    }
}

/// Durations travel as fractional milliseconds in JSON (`query_time_ms` style).
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Ok(Duration::from_secs_f64(ms.max(0.0) / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_splits_on_punctuation_and_lowercases() {
        assert_eq!(
            tokenize("Hello-World, BibTeX!"),
            ["hello", "world", "bibtex"]
        );
        assert_eq!(tokenize("x\") } ; DROP ALL ; #"), ["x", "drop", "all"]);
    }

    #[test]
    fn validate_refuses_control_chars_and_huge_queries() {
        assert!(SearchQuery::text("a\u{0}b").validate().is_err());
        assert!(SearchQuery::text("x".repeat(10_000)).validate().is_err());
        assert!(SearchQuery::text("tab\tok").validate().is_ok());
    }

    #[test]
    fn validate_bounds_paging_and_filters() {
        let page = |limit, offset| SearchQuery {
            limit,
            offset,
            ..SearchQuery::text("x")
        };
        assert!(page(MAX_LIMIT, MAX_OFFSET).validate().is_ok());
        for (limit, offset) in [
            (0, 0),
            (MAX_LIMIT + 1, 0),
            (20, MAX_OFFSET + 1),
            (20, usize::MAX),
        ] {
            let e = page(limit, offset).validate().unwrap_err().to_string();
            assert!(e.contains("limit") || e.contains("offset"), "{e}");
        }
        let tags = SearchQuery {
            tags: vec!["t".into(); MAX_TAGS + 1],
            ..SearchQuery::text("x")
        };
        assert!(tags.validate().is_err());
        let long = SearchQuery {
            category: Some("c".repeat(MAX_FILTER_LEN + 1)),
            ..SearchQuery::text("x")
        };
        assert!(long.validate().is_err());
        let escape = SearchQuery {
            tags: vec!["a\u{1b}[2J".into()],
            ..SearchQuery::text("x")
        };
        assert!(escape.validate().is_err());
    }
}
