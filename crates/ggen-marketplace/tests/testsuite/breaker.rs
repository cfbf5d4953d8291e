//! The circuit breaker against a real failing V2: a remote SPARQL endpoint
//! (`oxigraph serve`) that is killed and restarted. Reads fall back to V1 while
//! it is down, the breaker opens, and after the open period half-open probes
//! find it back and close the breaker. Skipped with a message when the
//! `oxigraph` binary is missing, unless `CI` is set.
#![cfg(feature = "marketplace-parallel")]

use std::time::{Duration, Instant};

use ggen_marketplace::CircuitState;
use ggen_marketplace::{Marketplace, Operation, Paths, Settings};
use ggen_marketplace_core::{BackendKind, SearchQuery};
use ggen_test_support::{OxigraphServer, oxigraph_available};

#[test]
fn the_breaker_opens_on_a_dead_endpoint_and_closes_when_it_returns() {
    if !oxigraph_available("the breaker test") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = OxigraphServer::start(&data.path().join("db"));
    let port = server.port();

    let paths = Paths::under(home.path());
    let endpoint = server.query_url();
    let mut settings =
        Settings::from_pairs(&[("GGEN_MARKETPLACE_V2_ENDPOINT", &endpoint)]).unwrap();
    settings.breaker.open_for = Duration::from_secs(1);
    settings.retry.attempts = 1; // one call, one outcome for the breaker
    let mp = Marketplace::new(paths, settings);
    mp.ensure_seeded(false).unwrap();
    mp.migrate(false, &|_, _| {}).unwrap();
    let search = || {
        let b = mp.backend_for(Operation::Search).unwrap();
        let r = b.search(&SearchQuery::text("rust cli")).unwrap();
        assert_eq!(r.hits[0].name, "rust-cli");
        b.last_used()
    };
    let breaker = mp.breaker(BackendKind::V2);

    assert_eq!(search(), BackendKind::V2);
    assert_eq!(breaker.state(), CircuitState::Closed);

    // The endpoint dies: every read is answered by V1, and the breaker opens.
    // (V2 trusts its in-memory term index for a second after each check of
    // the endpoint, so wait that out first.)
    drop(server);
    std::thread::sleep(Duration::from_millis(1100));
    for i in 0..12 {
        assert_eq!(search(), BackendKind::V1, "call {i}");
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    // While open, V2 is skipped at once: no connection attempt, no wait.
    let t = Instant::now();
    assert_eq!(search(), BackendKind::V1);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );

    // The endpoint comes back; after the open period the probes find it.
    let _server = OxigraphServer::start_on(&data.path().join("db"), port);
    std::thread::sleep(Duration::from_millis(1200));
    let mut answered = Vec::new();
    for _ in 0..6 {
        answered.push(search());
    }
    assert_eq!(breaker.state(), CircuitState::Closed, "{answered:?}");
    assert_eq!(answered.last(), Some(&BackendKind::V2), "{answered:?}");
}
