//! The SPARQL 1.1 Protocol client: queries and updates over HTTP to an
//! endpoint's query and update URLs, answers read as SPARQL TSV or JSON
//! results, N-Triples or Turtle, as the server's `Content-Type` says. TSV is
//! asked for first for SELECT: a full rebuild reads every triple of the
//! registry, and TSV's terms in N-Triples syntax are about half the bytes of
//! JSON's and cheaper to parse. ASK stays JSON, which TSV has no form for.
//!
//! Requests are form-encoded POSTs (`query=...`, `update=...`) unless the
//! endpoint is configured otherwise ([`Protocol`]): of the forms the protocol
//! allows, it is the one every server answers (Virtuoso, for one, never
//! answers a direct `application/sparql-query` POST), and unlike GET it has no
//! URL-length limit. Queries name the registry's graph with the protocol's
//! `default-graph-uri` and `named-graph-uri`, so neither the server's other
//! graphs nor a union default graph (Virtuoso's) leak into the answers;
//! updates name it in their text (see `render_update`).

use std::sync::atomic::{AtomicBool, Ordering};

use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::vocab::xsd;
use oxigraph::model::{Literal, NamedNode, Term, Triple};
use oxigraph::sparql::results::{
    QueryResultsFormat, QueryResultsParser, SliceQueryResultsParserOutput,
};

use super::endpoint::{Protocol, RemoteEndpoint};
use super::{Answer, BACKEND};
use crate::mapping::mp;

/// The client of one endpoint.
pub(crate) struct Remote {
    endpoint: RemoteEndpoint,
    agent: ureq::Agent,
    /// Set once this process has seen that the configured graph is the
    /// registry's (see [`Remote::check_legacy_default_graph`]).
    graph_checked: AtomicBool,
    /// Cleared once the endpoint's TSV results have failed to parse: SELECTs
    /// then ask for JSON only.
    tsv: AtomicBool,
}

/// A SELECT's answer in `format`, whole.
fn parse_results(
    format: QueryResultsFormat,
    body: &[u8],
) -> std::result::Result<Answer, oxigraph::sparql::results::QueryResultsSyntaxError> {
    Ok(
        match QueryResultsParser::from_format(format).for_slice(body)? {
            SliceQueryResultsParserOutput::Boolean(b) => Answer::Boolean(b),
            SliceQueryResultsParserOutput::Solutions(sols) => {
                let variables = sols.variables().to_vec();
                let mut rows = Vec::new();
                for s in sols {
                    let s = s?;
                    rows.push(
                        variables
                            .iter()
                            .map(|v| s.get(v).cloned().map(canonical_term))
                            .collect(),
                    );
                }
                Answer::Solutions { variables, rows }
            }
        },
    )
}

/// What a request carries: its text under `field`, and the dataset.
struct Request<'a> {
    url: &'a str,
    /// `query` or `update`.
    field: &'static str,
    text: &'a str,
    accept: &'a str,
    /// Protocol parameters (`default-graph-uri`, ...).
    dataset: Vec<(&'static str, String)>,
    protocol: Protocol,
}

impl Remote {
    pub(super) fn new(endpoint: RemoteEndpoint) -> Result<Self> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(endpoint.timeout))
            .http_status_as_error(false)
            .tls_config(tls_config(&endpoint)?)
            .build();
        Ok(Self {
            agent: config.into(),
            endpoint,
            graph_checked: AtomicBool::new(false),
            tsv: AtomicBool::new(true),
        })
    }

    pub(super) fn endpoint(&self) -> &RemoteEndpoint {
        &self.endpoint
    }

    /// Sends one request and reads the whole answer: the body and its media
    /// type (without parameters), or an error naming the URL (credentials
    /// left out) and what to do.
    fn send(&self, req: Request<'_>) -> Result<(Vec<u8>, Option<String>)> {
        let url = req.url;
        let shown = shown_url(url);
        let operation = req.field;
        let mut params: Vec<(&str, &str)> = vec![(req.field, req.text)];
        params.extend(req.dataset.iter().map(|(k, v)| (*k, v.as_str())));
        let auth = self.endpoint.auth.header();
        let sent = match req.protocol {
            Protocol::Form => {
                let mut r = self.agent.post(url).header("Accept", req.accept);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send_form(params)
            }
            Protocol::Get => {
                let mut r = self
                    .agent
                    .get(url)
                    .header("Accept", req.accept)
                    .query_pairs(params);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            Protocol::Direct => {
                let content_type = if req.field == "query" {
                    "application/sparql-query"
                } else {
                    "application/sparql-update"
                };
                let mut r = self
                    .agent
                    .post(url)
                    .header("Accept", req.accept)
                    .header("Content-Type", content_type)
                    .query_pairs(req.dataset.iter().map(|(k, v)| (*k, v.as_str())));
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send(req.text)
            }
        };
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
                // A refused certificate surfaces here too, as an I/O error.
                let tls = if url.starts_with("https://") {
                    "; if its certificate is signed by a private CA, set the V2 endpoint's CA file (marketplace.v2.ca_file)"
                } else {
                    ""
                };
                return Err(MarketplaceError::Unavailable {
                    backend: BACKEND.into(),
                    reason: format!("SPARQL endpoint {shown} is unreachable: {e}{tls}"),
                });
            }
            Err(e @ (ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_))) => {
                return Err(MarketplaceError::Unavailable {
                    backend: BACKEND.into(),
                    reason: format!(
                        "TLS with SPARQL endpoint {shown} failed: {e}; if its certificate is signed by a private CA, set the V2 endpoint's CA file (marketplace.v2.ca_file)"
                    ),
                });
            }
            Err(e) => {
                return Err(MarketplaceError::backend(
                    BACKEND,
                    format!("request to {shown} failed: {e}"),
                ));
            }
        };
        let status = resp.status().as_u16();
        let media_type = resp.body().mime_type().map(str::to_ascii_lowercase);
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        // Virtuoso answers a query over its row limit, or past its time limit,
        // with the rows it has and a header saying so. Taken as whole, such an
        // answer would make packages vanish; refused instead.
        if let Some(rows) = header("x-sparql-maxrows") {
            return Err(MarketplaceError::backend(
                BACKEND,
                format!(
                    "SPARQL endpoint {shown} cut its answer to {operation} at {} rows (Virtuoso: [SPARQL] ResultSetMaxRows in virtuoso.ini); raise that limit above the registry's triple count",
                    rows.trim()
                ),
            ));
        }
        if let Some(state) = header("x-sql-state") {
            let why = header("x-sql-message").unwrap_or_default();
            return Err(MarketplaceError::backend(
                BACKEND,
                format!(
                    "SPARQL endpoint {shown} answered {operation} with a partial result ({} {}); raise its query time limit (Virtuoso: [SPARQL] MaxQueryExecutionTime)",
                    state.trim(),
                    why.trim()
                ),
            ));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| {
                MarketplaceError::backend(
                    BACKEND,
                    format!("reading the answer of {shown} failed: {e}"),
                )
            })?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(500).collect();
            let hint = match status {
                401 | 403 => format!(
                    "; the endpoint refused {} credentials: set the V2 endpoint's user and password or token (see `ggen marketplace status`)",
                    match self.endpoint.auth {
                        super::Auth::None => "the absent",
                        _ => "these",
                    }
                ),
                _ => missing_path_hint(url),
            };
            return Err(MarketplaceError::backend(
                BACKEND,
                format!(
                    "SPARQL endpoint {shown} answered HTTP {status} to {operation}: {}{hint}",
                    text.trim(),
                ),
            ));
        }
        Ok((body, media_type))
    }

    /// The dataset parameters that scope a query to the registry's graph.
    fn dataset(&self) -> Vec<(&'static str, String)> {
        match &self.endpoint.graph {
            Some(g) => vec![
                ("default-graph-uri", g.as_str().to_string()),
                ("named-graph-uri", g.as_str().to_string()),
            ],
            None => Vec::new(),
        }
    }

    pub(super) fn query(&self, query: &spargebra::Query) -> Result<Answer> {
        self.check_legacy_default_graph()?;
        self.query_in(query, self.dataset())
    }

    pub(super) fn query_in(
        &self,
        query: &spargebra::Query,
        dataset: Vec<(&'static str, String)>,
    ) -> Result<Answer> {
        let graph = matches!(
            query,
            spargebra::Query::Construct { .. } | spargebra::Query::Describe { .. }
        );
        let ask = matches!(query, spargebra::Query::Ask { .. });
        let tsv_asked = !graph && !ask && self.tsv.load(Ordering::Relaxed);
        let accept = if graph {
            "application/n-triples, text/turtle;q=0.9"
        } else if tsv_asked {
            "text/tab-separated-values, application/sparql-results+json;q=0.9"
        } else {
            "application/sparql-results+json"
        };
        let text = query.to_string();
        let dataset_again = dataset.clone();
        let (body, media_type) = self.send(Request {
            url: &self.endpoint.query_url,
            field: "query",
            text: &text,
            accept,
            dataset,
            protocol: self.endpoint.protocol,
        })?;
        let shown = shown_url(&self.endpoint.query_url);
        let malformed = |e: &dyn std::fmt::Display| {
            MarketplaceError::backend(
                BACKEND,
                format!("SPARQL endpoint {shown} returned malformed results: {e}"),
            )
        };
        let wrong_type = |got: &str, wanted: &str| {
            MarketplaceError::backend(
                BACKEND,
                format!(
                    "SPARQL endpoint {shown} answered with Content-Type {got}, where {wanted} was asked for; check that the URL is the server's SPARQL endpoint"
                ),
            )
        };
        if graph {
            // A server that names no type gets the benefit of the doubt: what
            // was asked for is parsed, and a wrong guess is a parse error.
            let format = match media_type.as_deref() {
                None | Some("application/n-triples") | Some("text/plain") => RdfFormat::NTriples,
                Some("text/turtle") => RdfFormat::Turtle,
                Some(other) => return Err(wrong_type(other, "N-Triples or Turtle")),
            };
            let triples = RdfParser::from_format(format)
                .for_slice(&body)
                .map(|q| {
                    q.map(|q| {
                        let t = Triple::from(q);
                        Triple::new(t.subject, t.predicate, canonical_term(t.object))
                    })
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| malformed(&e))?;
            return Ok(Answer::Graph(triples));
        }
        let format = match media_type.as_deref() {
            None | Some("application/sparql-results+json") | Some("application/json") => {
                QueryResultsFormat::Json
            }
            Some("text/tab-separated-values") if !ask => QueryResultsFormat::Tsv,
            Some(other) => {
                return Err(wrong_type(
                    other,
                    if ask {
                        "application/sparql-results+json"
                    } else {
                        "text/tab-separated-values or application/sparql-results+json"
                    },
                ));
            }
        };
        let answer = match parse_results(format, &body) {
            Ok(answer) => answer,
            Err(e) if format == QueryResultsFormat::Tsv && tsv_asked => {
                // Virtuoso 7 answers TSV with its header's names in quotes
                // (`"o"`, where the format has `?o`): an endpoint whose TSV
                // does not parse is asked for JSON from then on, once (TSV
                // sent where JSON alone was asked for is simply malformed).
                tracing::info!(endpoint = %shown, error = %e, "SPARQL endpoint's TSV results do not parse; asking it for JSON results");
                self.tsv.store(false, Ordering::Relaxed);
                return self.query_in(query, dataset_again);
            }
            Err(e) => return Err(malformed(&e)),
        };
        match answer {
            Answer::Solutions { variables, rows } if ask => ask_from_table(&variables, &rows)
                .ok_or_else(|| malformed(&"an ASK answered with a table that is not one boolean")),
            other => Ok(other),
        }
    }

    /// The rows of the SELECT `text` run over the graph `graph` alone (its
    /// whole dataset: the change feed's, the snapshot entries'); `what`
    /// names the query in the error when the answer is not rows.
    pub(super) fn select_in(
        &self,
        graph: &NamedNode,
        text: &str,
        what: &str,
    ) -> Result<Vec<Vec<Option<Term>>>> {
        let dataset = vec![("default-graph-uri", graph.as_str().to_string())];
        match self.query_in(&super::parse_query(text)?, dataset)? {
            Answer::Solutions { rows, .. } => Ok(rows),
            other => Err(MarketplaceError::backend(
                BACKEND,
                format!("the {what} query got {other:?} instead of solutions"),
            )),
        }
    }

    pub(super) fn update(&self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.check_legacy_default_graph()?;
        let protocol = match self.endpoint.protocol {
            Protocol::Direct => Protocol::Direct,
            // The protocol has no GET form for updates.
            Protocol::Form | Protocol::Get => Protocol::Form,
        };
        self.send(Request {
            url: &self.endpoint.update_url,
            field: "update",
            text,
            accept: "*/*",
            dataset: Vec::new(),
            protocol,
        })?;
        Ok(())
    }

    /// Replaces the registry's graph with `triples` in one visible step (a
    /// restore): they are loaded into a staging graph in batches of `batch`,
    /// counted there, and moved over the registry's graph by one `MOVE`,
    /// in the same request that sets the generation past both graphs', so
    /// every client's term index sees a change. A failure before the move
    /// leaves the registry's graph as it was (the staging graph is dropped).
    /// `current` is the registry graph's generation now.
    pub(super) fn replace_graph(
        &self,
        triples: &[Triple],
        batch: usize,
        current: u64,
    ) -> Result<()> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let staging = NamedNode::new_unchecked(format!("urn:ggen:marketplace:restore:{nanos}"));
        let target = match &self.endpoint.graph {
            Some(g) => format!("GRAPH {g}"),
            None => "DEFAULT".to_string(),
        };
        let loaded = (|| {
            self.update(&format!("DROP SILENT GRAPH {staging}"))?;
            for chunk in triples.chunks(batch.max(1)) {
                self.update(&super::render_update(
                    &[super::Op::Insert(chunk.to_vec())],
                    Some(&staging),
                ))?;
            }
            let count = super::parse_query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")?;
            let dataset = vec![("default-graph-uri", staging.as_str().to_string())];
            let n = match self.query_in(&count, dataset)? {
                Answer::Solutions { rows, .. } => rows
                    .first()
                    .and_then(|r| r.first())
                    .and_then(|t| t.as_ref())
                    .and_then(super::term_u64),
                _ => None,
            };
            let distinct = triples
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len();
            if n != Some(distinct as u64) {
                return Err(MarketplaceError::backend(
                    BACKEND,
                    format!(
                        "the endpoint holds {} triples of the {distinct} loaded for the restore; the registry's graph was not touched",
                        n.map_or_else(|| "an unknown number".to_string(), |n| n.to_string())
                    ),
                ));
            }
            Ok(())
        })();
        if let Err(e) = loaded {
            let _ = self.update(&format!("DROP SILENT GRAPH {staging}"));
            return Err(e);
        }
        let (reg, generation) = (mp::registry(), mp::generation());
        let restored = triples
            .iter()
            .filter(|t| t.subject == reg.clone().into() && t.predicate == generation)
            .filter_map(|t| super::term_u64(&t.object))
            .max()
            .unwrap_or(0);
        let next = super::generation_triples(restored.max(current) + 1);
        let graph = self.endpoint.graph.as_ref();
        self.update(&format!(
            "MOVE SILENT GRAPH {staging} TO {target} ;\n{}",
            super::render_update(
                &[
                    super::Op::DeleteValues(reg.clone(), generation.clone()),
                    super::Op::Insert(next),
                ],
                graph,
            )
        ))
    }

    /// Before this process first reads or writes a named graph: refuses an
    /// endpoint whose registry still sits in the default graph (where stores
    /// were written before they had a graph of their own) while the
    /// configured graph holds none, since reading the empty graph would show
    /// an empty registry and writing it would start a second one. One ASK
    /// per process. Triples that are also in some named graph do not count:
    /// on a server whose default graph is the union of all graphs
    /// (Virtuoso's), every registry would look like a legacy one.
    fn check_legacy_default_graph(&self) -> Result<()> {
        let Some(graph) = &self.endpoint.graph else {
            return Ok(());
        };
        if self.graph_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (reg, generation) = (mp::registry(), mp::generation());
        let ask = super::parse_query(&format!(
            "ASK {{ FILTER NOT EXISTS {{ GRAPH {graph} {{ {reg} {generation} ?any }} }}              {reg} {generation} ?n              FILTER NOT EXISTS {{ GRAPH ?g {{ {reg} {generation} ?n }} }} }}"
        ))?;
        match self.query_in(&ask, Vec::new())? {
            Answer::Boolean(false) => {
                self.graph_checked.store(true, Ordering::Relaxed);
                Ok(())
            }
            Answer::Boolean(true) => Err(MarketplaceError::backend(
                BACKEND,
                format!(
                    "the registry on {shown} is in the endpoint's default graph (where stores were written before registries had a graph of their own), and the configured graph {graph} holds none. Either keep it where it is (set the V2 graph to `default`: marketplace.v2.graph or GGEN_MARKETPLACE_V2_GRAPH), or move it into the graph once with the SPARQL update `MOVE DEFAULT TO {graph}` sent to {update} (for example: curl --data-urlencode 'update=MOVE DEFAULT TO {graph}' {update})",
                    shown = shown_url(&self.endpoint.query_url),
                    update = shown_url(&self.endpoint.update_url),
                ),
            )),
            other => Err(MarketplaceError::backend(
                BACKEND,
                format!("expected a boolean, got {other:?}"),
            )),
        }
    }
}

/// Virtuoso answers an ASK in JSON as a one-column table (`__ASK_RETVAL`):
/// one row holding 1 for true, no row for false. Any single-column table of
/// at most one row is read that way; anything else is not an answer to ASK.
fn ask_from_table(
    variables: &[oxigraph::sparql::Variable],
    rows: &[Vec<Option<Term>>],
) -> Option<Answer> {
    if variables.len() != 1 {
        return None;
    }
    match rows {
        [] => Some(Answer::Boolean(false)),
        [row] => match row.first()? {
            Some(Term::Literal(l)) => match l.value() {
                "1" | "true" => Some(Answer::Boolean(true)),
                "0" | "false" => Some(Answer::Boolean(false)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// A term as Oxigraph would have answered it: servers differ in lexical
/// forms that mean the same value (Virtuoso writes `xsd:boolean` as 1/0), and
/// the graph's readers compare lexical forms.
fn canonical_term(term: Term) -> Term {
    match &term {
        Term::Literal(l) if l.datatype() == xsd::BOOLEAN => match l.value() {
            "1" => Literal::new_typed_literal("true", xsd::BOOLEAN).into(),
            "0" => Literal::new_typed_literal("false", xsd::BOOLEAN).into(),
            _ => term,
        },
        _ => term,
    }
}

/// Roots for `https://`: the system's, or the configured CA file's.
fn tls_config(endpoint: &RemoteEndpoint) -> Result<ureq::tls::TlsConfig> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    let roots = match &endpoint.ca_file {
        None => RootCerts::PlatformVerifier,
        Some(path) => {
            let bad = |why: String| {
                MarketplaceError::backend(
                    BACKEND,
                    format!(
                        "the V2 endpoint's CA file {}: {why}; give a PEM file of the CA certificates that sign the endpoint's",
                        path.display()
                    ),
                )
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                if let PemItem::Certificate(c) = item.map_err(|e| bad(e.to_string()))? {
                    certs.push(c);
                }
            }
            if certs.is_empty() {
                return Err(bad("it holds no certificate".into()));
            }
            RootCerts::new_with_certs(&certs)
        }
    };
    Ok(TlsConfig::builder().root_certs(roots).build())
}

/// A URL as messages may show it: any `user:password@` is left out.
pub(crate) fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
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
    let url = shown_url(url);
    let base = url.trim_end_matches('/');
    format!(
        "; {url} has no path, and SPARQL servers answer at one: `oxigraph serve` at {base}/query (updates at {base}/update), Fuseki at {base}/DATASET/query, Virtuoso at {base}/sparql"
    )
}
