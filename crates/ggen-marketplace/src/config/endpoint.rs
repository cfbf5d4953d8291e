//! How V2 talks to a SPARQL endpoint beyond its URLs: the graph the registry
//! lives in, the protocol form, credentials and trusted roots
//! (`marketplace.v2.*`, `GGEN_MARKETPLACE_V2_*`).
//!
//! Secrets (a password, a token) may come from the file or the environment;
//! they are kept out of `Serialize` and `Debug`, so neither `status --json`
//! nor a log line can show them. Status shows [`EndpointAuth::kind`].

use std::path::PathBuf;

use serde::Serialize;

use super::Sourced;

/// Credentials for the endpoint; shown and serialized as their kind only.
pub use ggen_marketplace_core::endpoint::Credentials as EndpointAuth;
/// How requests travel (`marketplace.v2.protocol`).
pub use ggen_marketplace_core::endpoint::Protocol as EndpointProtocol;

/// The endpoint options in force (they matter only when an endpoint is set).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EndpointOptions {
    /// The graph IRI, or `default` for the endpoint's default graph; `None`
    /// is V2's built-in graph (`ggen_marketplace_v2::DEFAULT_GRAPH`).
    pub graph: Option<Sourced<String>>,
    /// `form` (the default), `direct` or `get`.
    pub protocol: Option<Sourced<EndpointProtocol>>,
    /// Credentials sent with every request.
    pub auth: EndpointAuth,
    /// PEM roots to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// The etcd that serialises a fleet's writers (`marketplace.v2.lock_url`).
    pub lock_url: Option<Sourced<String>>,
}

/// The V2 client's endpoint from these settings. A graph IRI that the
/// textual check let through but the IRI grammar refuses is an error here.
#[cfg(feature = "marketplace-v2")]
pub fn v2_endpoint(
    query: &str,
    update: String,
    options: &EndpointOptions,
    timeout: std::time::Duration,
) -> crate::error::Result<ggen_marketplace_v2::Endpoint> {
    use ggen_marketplace_v2::Endpoint;
    let mut e = Endpoint::new(query, update);
    e.timeout = timeout;
    if let Some(g) = &options.graph {
        e.graph = Endpoint::parse_graph(&g.value).map_err(|message| match &g.source {
            super::Source::File(path) => crate::error::Error::Config {
                path: path.clone(),
                message: format!("marketplace.v2.graph: {message}"),
                fix: None,
            },
            _ => crate::error::Error::Env {
                var: super::env::V2_GRAPH.into(),
                message,
                fix: None,
            },
        })?;
    }
    if let Some(p) = &options.protocol {
        e.protocol = p.value;
    }
    e.auth = options.auth.clone();
    e.ca_file = options.ca_file.clone();
    Ok(e)
}
