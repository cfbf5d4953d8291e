//! What it takes to talk to one SPARQL endpoint: its URLs, the graph the
//! registry lives in, the protocol form, credentials and trusted roots. Kept
//! apart from the client so the settings can be built, shown and compared
//! without a connection.
//!
//! Secrets (a password, a token) are only ever printed as their kind (see
//! [`Auth`], which is core's `Credentials`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use oxigraph::model::NamedNode;

/// Credentials sent with every request (shown only as their kind).
pub use ggen_marketplace_core::credentials::Credentials as Auth;

/// The graph a registry lives in on a shared endpoint unless configured
/// otherwise.
pub const DEFAULT_GRAPH: &str = "https://ggen.io/marketplace/graph";

/// A remote SPARQL 1.1 endpoint.
#[derive(Debug, Clone)]
pub struct RemoteEndpoint {
    /// Where SPARQL queries go.
    pub query_url: String,
    /// Where SPARQL updates go.
    pub update_url: String,
    /// Whole-request timeout (connect, send, read).
    pub timeout: Duration,
    /// The named graph holding the registry; `None` is the endpoint's default
    /// graph (how stores were written before named graphs; the whole default
    /// graph then counts as the registry's).
    pub graph: Option<NamedNode>,
    /// How queries travel (updates: form-encoded unless `Direct`).
    pub protocol: Protocol,
    /// Credentials sent with every request.
    pub auth: Auth,
    /// PEM roots to trust for `https://` instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl RemoteEndpoint {
    /// An endpoint with the defaults: a 10 s timeout, the registry in
    /// [`DEFAULT_GRAPH`], form-encoded requests, no credentials, the system's
    /// roots.
    pub fn new(query_url: impl Into<String>, update_url: impl Into<String>) -> Self {
        Self {
            query_url: query_url.into(),
            update_url: update_url.into(),
            timeout: Duration::from_secs(10),
            graph: Some(NamedNode::new_unchecked(DEFAULT_GRAPH)),
            protocol: Protocol::default(),
            auth: Auth::None,
            ca_file: None,
        }
    }

    /// The graph as configured: `default` for the endpoint's default graph,
    /// else an absolute IRI.
    pub fn parse_graph(text: &str) -> Result<Option<NamedNode>, String> {
        if text == "default" {
            return Ok(None);
        }
        let iri = NamedNode::new(text).map_err(|e| {
            format!("`{text}` is not an absolute IRI ({e}); give one such as {DEFAULT_GRAPH}, or `default` for the endpoint's default graph")
        })?;
        Ok(Some(iri))
    }

    /// The graph for display: its IRI, or `default`.
    pub fn graph_name(&self) -> String {
        self.graph
            .as_ref()
            .map_or_else(|| "default".to_string(), |g| g.as_str().to_string())
    }
}

/// The SPARQL 1.1 Protocol forms a query can take. Servers differ on which
/// they answer; the form-encoded POST is the one every server tried answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// `POST` with `application/x-www-form-urlencoded` (`query=`, `update=`).
    #[default]
    Form,
    /// `POST` of the bare text (`application/sparql-query`,
    /// `application/sparql-update`), the dataset in the URL.
    Direct,
    /// `GET ...?query=` for queries (updates cannot be GETs; they go as forms).
    Get,
}

impl Protocol {
    /// The spellings [`FromStr`] accepts, for messages.
    pub const NAMES: &'static str = "form, direct or get";

    /// The spelling of this form in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Direct => "direct",
            Self::Get => "get",
        }
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "form" => Ok(Self::Form),
            "direct" => Ok(Self::Direct),
            "get" => Ok(Self::Get),
            other => Err(format!(
                "`{other}` is not a SPARQL protocol form; use {}",
                Self::NAMES
            )),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
