//! Hostile and greedy clients: oversized bodies, rate limits, slow and
//! half-sent requests, connection floods, expensive requests, odd queries.

use std::net::SocketAddr;
use std::time::Duration;

use ggen_marketplace::{Compiled, Scope};
use ggen_registry::{AppState, ServeOptions};
use serde_json::json;

use crate::support::*;

#[test]
fn oversized_bodies_are_refused_before_reading_them() {
    let s = Server::start(ServeOptions {
        max_body_bytes: 64 * 1024,
        ..unthrottled()
    });
    let token = s.token(&[Scope::Publish], "*");
    // Raw HTTP: announce 200 KiB but send only the first 1 KiB. The answer must
    // come without the rest (a client library sending the whole body could
    // instead see the connection closed under it: the server does not read it).
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/v1/packages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        200 * 1024
    )
    .unwrap();
    conn.write_all(&[b'A'; 1024]).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"too_large\""), "{answer}");
    // And through a client library, when it manages to send before the close.
    let big = json!({"archive": "A".repeat(200 * 1024)});
    let mut req = agent()
        .post(&s.url("/api/v1/packages"))
        .header("Content-Type", "application/json")
        .header("Authorization", &format!("Bearer {token}"));
    req = req.header("Connection", "close");
    if let Ok(mut resp) = req.send(big.to_string()) {
        assert_eq!(resp.status().as_u16(), 413);
        let _ = resp.body_mut().read_to_vec();
    }
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let s = Server::start(ServeOptions {
        per_address_rps: 1,
        writes_per_token_per_minute: 1,
        ..ServeOptions::default()
    });
    // Burst of 2, then limited.
    let codes: Vec<u16> = (0..5).map(|_| get(&s.url("/healthz")).status).collect();
    assert!(codes.contains(&429), "{codes:?}");
    let limited = (0..3)
        .map(|_| get(&s.url("/api/v1/packages")))
        .find(|r| r.status == 429)
        .expect("still limited");
    assert_eq!(limited.error_code(), "rate_limited");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");

    // Per token: one write a minute. Wait out the address limit between calls.
    let s = Server::start(ServeOptions {
        writes_per_token_per_minute: 1,
        ..unthrottled()
    });
    let yanker = s.token(&[Scope::Yank], "*");
    let info = get(&s.url("/api/v1/packages/bibtex-references")).json();
    let v = info["versions"][0]["version"].as_str().unwrap().to_string();
    let yank = s.url(&format!("/api/v1/packages/bibtex-references/{v}/yank"));
    assert_eq!(post(&yank, Some(&yanker)).status, 200);
    let r = post(&yank, Some(&yanker));
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let other = s.token(&[Scope::Yank], "*");
    assert_eq!(
        post(&yank, Some(&other)).status,
        200,
        "limits are per token"
    );
}

#[test]
fn a_slow_client_gets_408_and_the_server_keeps_serving() {
    use std::io::{Read, Write};
    let s = Server::start(ServeOptions {
        request_timeout: Duration::from_secs(1),
        ..unthrottled()
    });
    let token = s.token(&[Scope::Publish], "*");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Announce a body, send a sliver of it, then stall.
    write!(
        conn,
        "POST /api/v1/packages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"archive\": \""
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        head.contains("application/json"),
        "not the error body: {head}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

/// Every strategy that can send a search to V1 (v1, fallback, compare, an A/B
/// bucket) gets a query string of every kind an attacker might send, and the
/// server answers each with a 4xx and stays up.
#[test]
fn any_query_string_gets_an_answer_and_the_server_stays_up() {
    let strategies: &[&str] = if Compiled::this_build().v1 && Compiled::this_build().v2 {
        &["v1", "v2", "compare", "ab-test"]
    } else if Compiled::this_build().v1 {
        &["v1"]
    } else {
        &["v2"]
    };
    for strategy in strategies {
        let home = tempfile::tempdir().unwrap();
        let strategy = strategy.to_string();
        let mp = marketplace(home.path(), move |k| match k {
            "GGEN_MARKETPLACE_BACKEND" => Some(strategy.clone()),
            "GGEN_MARKETPLACE_V2_PERCENTAGE" => Some("50".into()),
            _ => None,
        });
        let s = Server::with_marketplace(home, mp, unthrottled());
        for query in [
            "q=x&offset=18446744073709551615",
            "q=x&offset=10001",
            "q=x&offset=9999999999&limit=100",
            "q=x&offset=184467440737095516150",
            "q=x&limit=0",
            "q=x&limit=-1",
            "q=x&offset=-5",
            "q=x&offset=NaN",
            "q=x&offset=1e9",
            "q=%00",
            "tags=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,aa,bb,cc,dd,ee,ff,gg",
            "category=%1B%5B2J",
        ] {
            let r = get(&s.url(&format!("/api/v1/search?{query}")));
            assert!(
                (400..500).contains(&r.status),
                "{query} got {}: {}",
                r.status,
                r.text()
            );
            r.error_code();
        }
        // Odd but harmless: answered (2xx or 4xx), never a 5xx.
        for query in [
            "q=%FF%FE",
            "q=x&q=y",
            "q=%F0%9F%92%A9",
            "limit=1&&&&=&offset=",
        ] {
            let r = get(&s.url(&format!("/api/v1/search?{query}")));
            assert!(r.status < 500, "{query} got {}: {}", r.status, r.text());
        }
        // The deepest page still served is served.
        let r = get(&s.url("/api/v1/search?q=rust&offset=10000"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            get(&s.url("/healthz")).status,
            200,
            "the server is still up"
        );
    }
}

/// Reads until the peer closes or `limit` passes; returns what came and whether it closed.
fn read_until_closed(conn: &mut std::net::TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    use std::io::Read;
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

#[test]
fn half_sent_headers_are_dropped_after_the_header_timeout() {
    use std::io::Write;
    let s = Server::start(ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        ..unthrottled()
    });
    let addr = s.base.trim_start_matches("http://").to_string();
    // A slowloris: a request line and half a header, then nothing.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    write!(slow, "GET /api/v1/packages HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    let started = std::time::Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(10));
    assert!(closed, "the server kept a half-sent request open");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed only after {:?}",
        started.elapsed()
    );
    // An idle connection that never sends anything is closed too.
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
    assert!(closed, "an idle connection was kept open");
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

#[test]
fn a_connection_flood_from_one_address_leaves_room_for_others() {
    use std::io::Write;
    let s = Server::start(ServeOptions {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 64,
        max_connections_per_address: 8,
        ..unthrottled()
    });
    let addr: SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    // 200 half-sent requests from 127.0.0.1: eight are held, the rest closed.
    let mut flood = Vec::new();
    for _ in 0..200 {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let _ = write!(c, "GET / HTTP/1.1\r\nHost: x\r\n");
        flood.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    let closed = flood
        .iter_mut()
        .map(|c| read_until_closed(c, Duration::from_millis(20)).1)
        .filter(|&closed| closed)
        .count();
    assert!(
        closed >= 190,
        "only {closed} of 200 connections from one address were refused"
    );
    // Another address (all of 127/8 is this machine) is served at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut conn = socket.connect(addr).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out))
            .await
            .expect("answered in time")
            .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    });
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(flood);
}

#[test]
fn expensive_requests_beyond_the_limit_get_503_with_retry_after() {
    let home = tempfile::tempdir().unwrap();
    let mp = marketplace(home.path(), |_| None);
    let state = AppState::new(
        mp,
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            per_address_rps: 0,
            max_expensive_requests: 1,
            ..ServeOptions::default()
        },
        None,
    );
    let s = Server::with_state(home, state.clone());
    // One expensive request is running (held here); the next is shed, cheap ones are not.
    let held = state.expensive_permit().unwrap();
    for path in ["/api/v1/packages", "/"] {
        let r = get(&s.url(path));
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    }
    let token = s.token(&[Scope::Publish], "*");
    let r = post_json(
        &s.url("/api/v1/packages"),
        Some(&token),
        &upload(&package("quokka-busy", "1.0.0"), None),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.error_code(), "busy");
    assert_eq!(get(&s.url("/api/v1/search?q=rust")).status, 200);
    assert_eq!(
        get(&s.url("/api/v1/packages/bibtex-references")).status,
        200
    );
    drop(held);
    assert_eq!(get(&s.url("/api/v1/packages")).status, 200);
}

#[test]
fn rate_limits_key_on_forwarded_for_only_from_trusted_proxies() {
    let limited = |trusted: &[&str]| {
        let s = Server::start(ServeOptions {
            per_address_rps: 1,
            trusted_proxies: ggen_registry::client::TrustedProxies::parse(trusted).unwrap(),
            ..ServeOptions::default()
        });
        // Ten requests, each claiming another client address.
        (0..10)
            .map(|i| {
                get_with(
                    &s.url("/healthz"),
                    ("X-Forwarded-For", &format!("198.51.100.{i}")),
                )
                .status
            })
            .filter(|&c| c == 429)
            .count()
    };
    assert_eq!(
        limited(&["127.0.0.1"]),
        0,
        "behind a trusted proxy each client has its own limit"
    );
    assert!(
        limited(&[]) >= 5,
        "an untrusted peer cannot choose its rate-limit key"
    );
}
