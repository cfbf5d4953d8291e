//! Remote mode against a real `oxigraph serve` (from `pip install oxigraph`).
//! Skipped with a message when the binary is missing, unless `CI` is set.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::V2Backend;
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

/// Reads one whole HTTP request (headers and Content-Length body): answering
/// and closing with unread bytes in the socket makes the kernel send a reset,
/// which the client would rightly report as "unreachable".
fn read_request(s: &mut TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return;
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
            return;
        }
    }
}
