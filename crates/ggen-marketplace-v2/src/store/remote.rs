//! The SPARQL 1.1 Protocol client: queries and updates over HTTP to an
//! endpoint's query and update URLs, answers read as SPARQL JSON results or
//! N-Triples.
//!
//! Requests are form-encoded POSTs (`query=...`, `update=...`): of the forms
//! the protocol allows, it is the one every server answers (Virtuoso, for
//! one, never answers a direct `application/sparql-query` POST), and unlike
//! GET it has no URL-length limit.

use std::time::Duration;

use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::Triple;
use oxigraph::sparql::results::{
    QueryResultsFormat, QueryResultsParser, SliceQueryResultsParserOutput,
};

use super::{Answer, BACKEND};

/// A remote SPARQL 1.1 endpoint.
#[derive(Debug, Clone)]
pub struct RemoteEndpoint {
    /// Where SPARQL queries go.
    pub query_url: String,
    /// Where SPARQL updates go.
    pub update_url: String,
    /// Whole-request timeout (connect, send, read).
    pub timeout: Duration,
}

impl RemoteEndpoint {
    /// An endpoint with the default timeout (10 s).
    pub fn new(query_url: impl Into<String>, update_url: impl Into<String>) -> Self {
        Self {
            query_url: query_url.into(),
            update_url: update_url.into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The client of one endpoint.
pub(crate) struct Remote {
    endpoint: RemoteEndpoint,
    agent: ureq::Agent,
}

impl Remote {
    pub(super) fn new(endpoint: RemoteEndpoint) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(endpoint.timeout))
            .http_status_as_error(false)
            .build();
        Self {
            agent: config.into(),
            endpoint,
        }
    }

    pub(super) fn query_url(&self) -> &str {
        &self.endpoint.query_url
    }

    /// POSTs `field=text` form-encoded to `url`, accepting `accept`.
    fn post(&self, url: &str, field: &str, text: &str, accept: &str) -> Result<Vec<u8>> {
        let operation = field;
        let sent = self
            .agent
            .post(url)
            .header("Accept", accept)
            .send_form([(field, text)]);
        let mut resp = match sent {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return Err(MarketplaceError::Timeout {
                    backend: BACKEND.into(),
                    operation: operation.into(),
                    millis: self.endpoint.timeout.as_millis() as u64,
                });
            }
            Err(
                e
                @ (ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound),
            ) => {
                return Err(MarketplaceError::Unavailable {
                    backend: BACKEND.into(),
                    reason: format!("SPARQL endpoint {url} is unreachable: {e}"),
                });
            }
            Err(e) => {
                return Err(MarketplaceError::backend(
                    BACKEND,
                    format!("request to {url} failed: {e}"),
                ));
            }
        };
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| {
                MarketplaceError::backend(
                    BACKEND,
                    format!("reading the answer of {url} failed: {e}"),
                )
            })?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(500).collect();
            return Err(MarketplaceError::backend(
                BACKEND,
                format!(
                    "SPARQL endpoint {url} answered HTTP {status} to {operation}: {}{}",
                    text.trim(),
                    missing_path_hint(url)
                ),
            ));
        }
        Ok(body)
    }

    pub(super) fn query(&self, query: &spargebra::Query) -> Result<Answer> {
        let graph = matches!(
            query,
            spargebra::Query::Construct { .. } | spargebra::Query::Describe { .. }
        );
        let accept = if graph {
            "application/n-triples"
        } else {
            "application/sparql-results+json"
        };
        let body = self.post(
            &self.endpoint.query_url,
            "query",
            &query.to_string(),
            accept,
        )?;
        let malformed = |e: &dyn std::fmt::Display| {
            MarketplaceError::backend(
                BACKEND,
                format!(
                    "SPARQL endpoint {} returned malformed results: {e}",
                    self.endpoint.query_url
                ),
            )
        };
        if graph {
            let triples = RdfParser::from_format(RdfFormat::NTriples)
                .for_slice(&body)
                .map(|q| q.map(Triple::from))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| malformed(&e))?;
            return Ok(Answer::Graph(triples));
        }
        match QueryResultsParser::from_format(QueryResultsFormat::Json)
            .for_slice(&body)
            .map_err(|e| malformed(&e))?
        {
            SliceQueryResultsParserOutput::Boolean(b) => Ok(Answer::Boolean(b)),
            SliceQueryResultsParserOutput::Solutions(sols) => {
                let variables = sols.variables().to_vec();
                let mut rows = Vec::new();
                for s in sols {
                    let s = s.map_err(|e| malformed(&e))?;
                    rows.push(variables.iter().map(|v| s.get(v).cloned()).collect());
                }
                Ok(Answer::Solutions { variables, rows })
            }
        }
    }

    pub(super) fn update(&self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.post(&self.endpoint.update_url, "update", text, "*/*")?;
        Ok(())
    }
}

/// A server's root is almost never its SPARQL endpoint: when the configured
/// URL has no path, say where endpoints usually are.
fn missing_path_hint(url: &str) -> String {
    let root = url
        .parse::<ureq::http::Uri>()
        .is_ok_and(|u| u.path().trim_matches('/').is_empty());
    if !root {
        return String::new();
    }
    let base = url.trim_end_matches('/');
    format!(
        "; {url} has no path, and SPARQL servers answer at one: `oxigraph serve` at {base}/query (updates at {base}/update), Fuseki at {base}/DATASET/query, Virtuoso at {base}/sparql"
    )
}
