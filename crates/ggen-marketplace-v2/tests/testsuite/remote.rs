//! Remote mode against a real `oxigraph serve` (from `pip install oxigraph`).
//! Skipped with a message when the binary is missing, unless `CI` is set.
//! What no real server here can show on demand (a server that demands
//! credentials, or answers HTML) is played by a loopback socket that records
//! the request and gives one canned answer.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::{Endpoint, EndpointAuth, EndpointProtocol, V2Backend};
use ggen_test_support::free_port;

/// A client of the SPARQL endpoints `/query` and `/update` on loopback `port`,
/// caching in `dir`.
fn client_of_port(port: u16, dir: &Path) -> V2Backend {
    V2Backend::remote(
        &format!("http://127.0.0.1:{port}/query"),
        &format!("http://127.0.0.1:{port}/update"),
        dir,
    )
    .unwrap()
}

/// Asserts that `result` is a backend error whose message contains `needle`.
fn assert_backend_error<T: std::fmt::Debug>(result: Result<T, MarketplaceError>, needle: &str) {
    match result {
        Err(MarketplaceError::Backend { message, .. }) => {
            assert!(message.contains(needle), "{message}")
        }
        other => panic!("expected a backend error naming {needle:?}, got {other:?}"),
    }
}

#[test]
fn every_operation_against_oxigraph_serve() {
    let Some(common::Served {
        backend: b,
        server,
        local,
        data: _data,
    }) = common::served("the V2 remote tests")
    else {
        return;
    };
    let (q, u) = (server.query_url(), server.update_url());
    common::exercise(&b);
    // The client's term index is cached per endpoint, apart from an embedded store's.
    let cached: Vec<_> = std::fs::read_dir(local.path().join("v2"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("terms-remote-"))
        .collect();
    assert_eq!(cached.len(), 1);
    assert!(cached[0].path().join("index.bin").is_file());

    // A second client (another registry server) with its own cache sees the same
    // graph, and notices writes made through the first one.
    let other = tempfile::tempdir().unwrap();
    let c = V2Backend::remote(&q, &u, other.path()).unwrap();
    assert_eq!(
        c.search(&SearchQuery::text("helo wrld")).unwrap().hits[0].name,
        "hello-world"
    );
    let (v, a) = common::release(
        "late-arrival",
        "1.0.0",
        "published by the other client",
        &[],
    );
    b.publish(&v, &a).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        c.search(&SearchQuery::text("late-arrival")).unwrap().hits[0].name,
        "late-arrival"
    );

    // HTTP errors name the status.
    let wrong = V2Backend::remote(&format!("{}/nope", server.base()), &u, other.path()).unwrap();
    assert_backend_error(wrong.package("hello-world"), "404");
    // A server's root given as the endpoint: the error says where endpoints are.
    let root = V2Backend::remote(&server.base(), &u, other.path()).unwrap();
    assert_backend_error(
        root.package("hello-world"),
        &format!("`oxigraph serve` at {}/query", server.base()),
    );
    drop(server);

    // Once the server is gone: Unavailable, not empty results.
    let c2 = V2Backend::remote(&q, &u, tempfile::tempdir().unwrap().path()).unwrap();
    assert!(matches!(
        c2.search(&SearchQuery::text("rust")),
        Err(MarketplaceError::Unavailable { .. })
    ));
    assert!(matches!(
        b.package("hello-world"),
        Err(MarketplaceError::Unavailable { .. })
    ));
}

#[test]
fn unreachable_endpoint_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let b = client_of_port(free_port(), dir.path());
    match b.search(&SearchQuery::text("x")) {
        Err(MarketplaceError::Unavailable { backend, reason }) => {
            assert_eq!(backend, "v2");
            assert!(reason.contains("unreachable"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn malformed_results_are_a_backend_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let mut s = stream.unwrap();
            read_request(&mut s);
            let body = "this is not sparql json";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let b = client_of_port(port, dir.path());
    assert_backend_error(b.package("anything"), "malformed");
}

/// An endpoint whose TSV results do not parse is asked once more, for JSON;
/// when that answer is TSV again (a hostile or broken server), the query
/// fails as malformed instead of asking forever.
#[test]
fn tsv_that_does_not_parse_is_asked_again_as_json_once() {
    const JSON: &str = "application/sparql-results+json";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, accepts) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut asked_json = false;
        for stream in listener.incoming().take(10) {
            let mut s = stream.unwrap();
            let head = read_request(&mut s);
            let accept = head
                .lines()
                .find_map(|l| l.strip_prefix("accept:"))
                .unwrap_or_default()
                .trim()
                .to_string();
            // The first JSON-only request is the graph check (an ASK):
            // answered, so the SELECT after it is what meets the broken TSV.
            let (kind, body) = if accept == JSON && !asked_json {
                asked_json = true;
                (JSON, r#"{"head":{},"boolean":false}"#)
            } else {
                ("text/tab-separated-values", "\"s\"\t\"p\"\t\"o\"\n")
            };
            let _ = tx.send(accept);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let b = client_of_port(port, dir.path());
    assert_backend_error(b.package("anything"), "malformed");
    let sent: Vec<String> = accepts.try_iter().collect();
    assert_eq!(
        sent,
        [
            JSON,
            "text/tab-separated-values, application/sparql-results+json;q=0.9",
            JSON
        ],
        "the graph check, the SELECT asking for TSV, the same SELECT asking for JSON"
    );
}

/// Reads one whole HTTP request (headers and Content-Length body): answering
/// and closing with unread bytes in the socket makes the kernel send a reset,
/// which the client would rightly report as "unreachable". Returns the
/// request line and headers.
fn read_request(s: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return String::from_utf8_lossy(&data).into_owned();
        }
        data.extend_from_slice(&buf[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if data.len() >= end + 4 + length {
            return String::from_utf8_lossy(&data[..end]).into_owned();
        }
    }
}

/// A registry written in the default graph (as every store was before
/// registries had a graph of their own) is found, named, and moved by the
/// one update the error gives; nothing is lost or doubled.
#[test]
fn a_registry_in_the_default_graph_is_refused_with_the_move_that_adopts_it() {
    if !ggen_test_support::oxigraph_available("the default-graph adoption test") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = ggen_test_support::OxigraphServer::start(&data.path().join("db"));
    let (q, u) = (server.query_url(), server.update_url());
    let mut legacy = Endpoint::new(&q, &u);
    legacy.graph = None;
    let old_dir = tempfile::tempdir().unwrap();
    let old = V2Backend::remote_with(legacy, old_dir.path()).unwrap();
    let (v, a) = common::release("from-before", "1.0.0", "written to the default graph", &[]);
    old.publish(&v, &a).unwrap();
    let triples = old.triple_count().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let new = V2Backend::remote(&q, &u, dir.path()).unwrap();
    let message = match new.package("from-before") {
        Err(MarketplaceError::Backend { message, .. }) => message,
        other => panic!("expected the default-graph error, got {other:?}"),
    };
    let graph = ggen_marketplace_v2::DEFAULT_GRAPH;
    let update = format!("MOVE DEFAULT TO <{graph}>");
    assert!(message.contains(&update), "{message}");
    assert!(message.contains("`default`"), "{message}");
    // Writes are refused the same way: a second registry is not started.
    let (w, b) = common::release("too-early", "1.0.0", "", &[]);
    assert!(new.publish(&w, &b).is_err());

    let agent = ureq::Agent::new_with_defaults();
    agent
        .post(&u)
        .send_form([("update", update.as_str())])
        .unwrap();
    let adopted = V2Backend::remote(&q, &u, tempfile::tempdir().unwrap().path()).unwrap();
    assert_eq!(adopted.package("from-before").unwrap().versions.len(), 1);
    assert_eq!(adopted.triple_count().unwrap(), triples);
    assert_eq!(adopted.generation().unwrap(), 1);
}

/// The three protocol forms against `oxigraph serve`, which answers all of them.
#[test]
fn every_protocol_form_works_against_oxigraph_serve() {
    let Some(served) = common::served("the protocol forms") else {
        return;
    };
    let (q, u) = (served.server.query_url(), served.server.update_url());
    for protocol in [
        EndpointProtocol::Form,
        EndpointProtocol::Direct,
        EndpointProtocol::Get,
    ] {
        let mut e = Endpoint::new(&q, &u);
        e.protocol = protocol;
        let dir = tempfile::tempdir().unwrap();
        let b = V2Backend::remote_with(e, dir.path()).unwrap();
        let name = format!("sent-as-{protocol}");
        let (v, a) = common::release(&name, "1.0.0", "protocol form", &[]);
        b.publish(&v, &a).unwrap();
        assert_eq!(common::names(&b, SearchQuery::text(&name))[0], name);
        assert_eq!(b.package(&name).unwrap().versions.len(), 1, "{protocol}");
    }
    assert_eq!(served.backend.generation().unwrap(), 3);
}

/// A loopback server that gives every request the same answer, and sends
/// each request's line and headers to the receiver.
fn recorded_server(
    status: &'static str,
    content_type: &'static str,
    body: &'static str,
) -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let head = read_request(&mut s);
            if tx.send(head).is_err() {
                return;
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, rx)
}

/// Credentials go in every request's `Authorization` header, and nowhere
/// else: not in an error, not in `Debug`.
#[test]
fn credentials_are_sent_and_never_shown() {
    let ask_true = r#"{"head":{},"boolean":true}"#;
    for (auth, expected) in [
        (
            EndpointAuth::Basic {
                user: "alice".into(),
                password: "s3cret-pw".into(),
            },
            // base64("alice:s3cret-pw")
            "Basic YWxpY2U6czNjcmV0LXB3",
        ),
        (
            EndpointAuth::Bearer("tok-s3cret".into()),
            "Bearer tok-s3cret",
        ),
    ] {
        let (port, requests) =
            recorded_server("200 OK", "application/sparql-results+json", ask_true);
        let mut e = Endpoint::new(
            format!("http://127.0.0.1:{port}/query"),
            format!("http://127.0.0.1:{port}/update"),
        );
        e.auth = auth.clone();
        let debug = format!("{e:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let dir = tempfile::tempdir().unwrap();
        let b = V2Backend::remote_with(e, dir.path()).unwrap();
        let _ = b.package("anything");
        let head = requests.recv_timeout(Duration::from_secs(5)).unwrap();
        let sent = head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                .map(|(_, value)| value.trim().to_string())
        });
        assert_eq!(sent.as_deref(), Some(expected), "{auth:?}: {head}");
    }

    // Refused: the error says so, and shows no secret.
    let (port, _requests) = recorded_server("401 Unauthorized", "text/plain", "no");
    let mut e = Endpoint::new(
        format!("http://127.0.0.1:{port}/query"),
        format!("http://127.0.0.1:{port}/update"),
    );
    e.auth = EndpointAuth::Basic {
        user: "alice".into(),
        password: "s3cret-pw".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::remote_with(e, dir.path()).unwrap();
    let message = match b.package("x") {
        Err(MarketplaceError::Backend { message, .. }) => message,
        other => panic!("expected a backend error, got {other:?}"),
    };
    assert!(
        message.contains("401") && message.contains("credentials"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

/// An answer of a type other than the one asked for is an error that says
/// so, not a parse of HTML as JSON.
#[test]
fn an_answer_of_the_wrong_content_type_is_named() {
    let (port, _requests) = recorded_server("200 OK", "text/html", "<html>login</html>");
    let dir = tempfile::tempdir().unwrap();
    let b = client_of_port(port, dir.path());
    assert_backend_error(b.package("x"), "Content-Type text/html");
}

/// Credentials in an endpoint URL never reach a message.
#[test]
fn credentials_in_an_endpoint_url_are_not_shown() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::remote(
        &format!("http://bob:pa55word@127.0.0.1:{port}/query"),
        &format!("http://bob:pa55word@127.0.0.1:{port}/update"),
        dir.path(),
    )
    .unwrap();
    match b.package("x") {
        Err(e) => {
            let shown = e.to_string();
            assert!(
                shown.contains("127.0.0.1") && !shown.contains("pa55word"),
                "{shown}"
            );
        }
        Ok(_) => panic!("nothing listens there"),
    }
}

/// A topic scheme in the endpoint's graph that breaks the rules (changed
/// behind the registry's back, or a hostile endpoint) is never used: the
/// search names it and `topics import`, and nothing is written.
#[test]
fn a_broken_topic_scheme_in_the_graph_is_named_not_used() {
    let Some(common::Served {
        backend: b,
        server,
        local: _local,
        data: _data,
    }) = common::served("a broken topic scheme on the endpoint")
    else {
        return;
    };
    let (v, a) = common::release("planted", "1.0.0", "a package", &["rust"]);
    b.publish(&v, &a).unwrap(); // installs the shipped scheme
    let graph = ggen_marketplace_v2::DEFAULT_GRAPH;
    let update = format!(
        "INSERT DATA {{ GRAPH <{graph}> {{ <https://ggen.io/marketplace/topics/rust> \
         <http://www.w3.org/2004/02/skos/core#prefLabel> \"second preferred label\" }} }}"
    );
    let mut answer = ureq::Agent::new_with_defaults()
        .post(&server.update_url())
        .config()
        .http_status_as_error(false)
        .build()
        .send_form([("update", update.as_str())])
        .unwrap();
    let status = answer.status();
    let body = answer.body_mut().read_to_string().unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
    let fresh = tempfile::tempdir().unwrap();
    let c = V2Backend::remote(&server.query_url(), &server.update_url(), fresh.path()).unwrap();
    let generation = c.generation().unwrap();
    match c.search(&SearchQuery::text("rust")) {
        Err(e @ MarketplaceError::InvalidTopics { .. }) => {
            let text = e.to_string();
            assert!(text.contains("in the graph"), "{text}");
            assert!(text.contains("topics/rust"), "{text}");
            assert!(
                ggen_marketplace_core::Hint::hint(&e)
                    .unwrap()
                    .contains("topics import")
            );
        }
        other => panic!("expected the scheme to be refused, got {other:?}"),
    }
    assert_eq!(c.generation().unwrap(), generation, "nothing was written");
}
