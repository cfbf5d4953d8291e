//! Running it: auth for reads, readiness, graceful shutdown, metrics.

use std::net::SocketAddr;
use std::time::Duration;

use ggen_marketplace::{Compiled, Scope};
use ggen_registry::ServeOptions;

use crate::support::*;

#[test]
fn auth_required_closes_reads_too() {
    let s = Server::start(ServeOptions {
        auth_required: true,
        ..unthrottled()
    });
    let r = get(&s.url("/api/v1/search?q=rust"));
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "unauthorized");
    let reader = s.token(&[Scope::Read], "*");
    let r = get_with(
        &s.url("/api/v1/search?q=rust"),
        ("Authorization", &format!("Bearer {reader}")),
    );
    assert_eq!(r.status, 200);
    // Health stays open for load balancers.
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

#[test]
fn readyz_reports_a_degraded_backend_while_fallback_serves() {
    // V2 points at an endpoint nobody listens on; V1 is fine.
    let compiled = Compiled::this_build();
    if !(compiled.v1 && compiled.v2) {
        return; // needs both backends
    }
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let home = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}/query");
    let mp = marketplace(home.path(), move |k| {
        (k == "GGEN_MARKETPLACE_V2_ENDPOINT").then(|| endpoint.clone())
    });
    let s = Server::with_marketplace(home, mp, unthrottled());
    let r = get(&s.url("/readyz"));
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["status"], "degraded", "{j}");
    assert_eq!(j["backends"]["v1"]["ready"], true, "{j}");
    assert_eq!(j["backends"]["v2"]["ready"], false, "{j}");
    let hits = get(&s.url("/api/v1/search?q=bibtex")).json();
    assert_eq!(hits["hits"][0]["name"], "bibtex-references");
    assert_eq!(hits["backend_used"], "v1", "answered by fallback: {hits}");
}

#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    use std::io::{Read, Write};
    let mut s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let body = b"{\"archive\": \"\"}";
    write!(
        conn,
        "POST /api/v1/packages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Stop the server while the request is half sent.
    let _ = s.stop.take().unwrap().send(());
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&body[5..]).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 422"),
        "the request was cut off: {answer:?}"
    );
    s.thread.take().unwrap().join().unwrap();
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the server still accepts connections after shutdown"
    );
}

#[test]
fn metrics_use_the_contract_names() {
    let Some(handle) = ggen_marketplace::metrics::install() else {
        return; // another test in this process installed the recorder first
    };
    let home = tempfile::tempdir().unwrap();
    let mp = marketplace(home.path(), |_| None);
    let s = Server::with_marketplace_and_metrics(home, mp, unthrottled(), Some(handle));
    get(&s.url("/api/v1/search?q=rust"));
    get(&s.url("/api/v1/packages/no-such-package"));
    let m = get(&s.url("/metrics"));
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = m.text();
    for name in [
        "marketplace_requests_total",
        "marketplace_search_latency",
        "marketplace_total_packages",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    // The search opened V2: its term index's refreshes are there too.
    if cfg!(feature = "marketplace-v2") {
        for name in [
            "marketplace_index_rebuilds_total",
            "marketplace_index_catch_ups_total",
            "marketplace_index_snapshot_starts_total",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
    let total = text
        .lines()
        .find(|l| l.starts_with("marketplace_total_packages "))
        .unwrap();
    let n: f64 = total.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n >= 10.0, "{total}");
}

#[test]
fn metrics_need_a_token_when_reads_do_or_live_on_their_own_listener() {
    let s = Server::start(ServeOptions {
        auth_required: true,
        ..unthrottled()
    });
    let r = get(&s.url("/metrics"));
    assert_eq!(r.status, 401, "{}", r.text());
    let reader = s.token(&[Scope::Read], "*");
    let r = get_with(
        &s.url("/metrics"),
        ("Authorization", &format!("Bearer {reader}")),
    );
    assert_ne!(r.status, 401, "{}", r.text());

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Server::start(ServeOptions {
        auth_required: true,
        metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], port))),
        ..unthrottled()
    });
    let r = get_with(
        &s.url("/metrics"),
        (
            "Authorization",
            &format!("Bearer {}", s.token(&[Scope::Read], "*")),
        ),
    );
    assert_eq!(r.status, 404, "metrics are not on the main listener");
    let r = get(&format!("http://127.0.0.1:{port}/metrics"));
    assert_ne!(r.status, 404, "{}", r.text());
    assert_ne!(r.status, 401);
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/api/v1/packages")).status,
        404
    );
}
