//! What it takes to talk to one SPARQL endpoint: its URLs, the graph the
//! registry lives in, the protocol form, credentials and trusted roots. Kept
//! apart from the client so the settings can be built, shown and compared
//! without a connection.
//!
//! Secrets (a password, a token) are only ever printed as their kind (see
//! [`Auth`], which is core's `Credentials`).

use std::path::PathBuf;
use std::time::Duration;

use oxigraph::model::NamedNode;

/// Credentials sent with every request (shown only as their kind), and the
/// protocol forms; both shared with the settings that hold them.
pub use ggen_marketplace_core::endpoint::{Credentials as Auth, Protocol};

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
