//! A fleet's writers take turns through a real etcd: three servers of one
//! `oxigraph serve`, each with a home of its own (as on three hosts), race
//! to publish the same versions and publish different ones at once. Without
//! the lock, two of them pass the existence check together, or take the
//! same generation (`scripts/sparql-cas-race` shows the endpoint cannot
//! decide).

use std::sync::Barrier;
use std::time::{Duration, Instant};

use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::{DEFAULT_GRAPH, FleetLock, V2Backend};
use ggen_test_support::{EtcdServer, OxigraphServer, etcd_available, oxigraph_available};

use crate::common;

struct Fleet {
    servers: Vec<V2Backend>,
    etcd: EtcdServer,
    sparql: OxigraphServer,
    _homes: Vec<tempfile::TempDir>,
    _data: tempfile::TempDir,
}

fn fleet(what: &str, n: usize) -> Option<Fleet> {
    if !oxigraph_available(what) || !etcd_available(what) {
        return None;
    }
    let data = tempfile::tempdir().unwrap();
    let sparql = OxigraphServer::start(&data.path().join("db"));
    let etcd = EtcdServer::start();
    let homes: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
    let servers = homes
        .iter()
        .enumerate()
        .map(|(i, home)| {
            let b =
                V2Backend::remote(&sparql.query_url(), &sparql.update_url(), home.path()).unwrap();
            let id = b.registry_id().unwrap();
            b.with_fleet_lock(FleetLock::new(&etcd.url(), &id, &format!("server-{i}")).unwrap())
        })
        .collect();
    Some(Fleet {
        servers,
        etcd,
        sparql,
        _homes: homes,
        _data: data,
    })
}

/// Generations the change feed holds more than one entry for.
fn generations_taken_twice(sparql: &OxigraphServer) -> String {
    let query = format!(
        "SELECT ?g WHERE {{ GRAPH <{DEFAULT_GRAPH}/changes> {{ ?c <https://ggen.io/marketplace/changeGeneration> ?g }} }} GROUP BY ?g HAVING (COUNT(?c) > 1)"
    );
    let mut answer = ureq::post(sparql.query_url())
        .header("Accept", "text/csv")
        .send_form([("query", query.as_str())])
        .unwrap();
    let text = answer.body_mut().read_to_string().unwrap();
    text.lines().skip(1).collect::<Vec<_>>().join(",")
}

#[test]
fn racing_servers_publish_each_version_once_and_number_writes_once() {
    let Some(f) = fleet("the fleet's writers' lock", 3) else {
        return;
    };
    for round in 0..6 {
        let (v, archive) = common::release(&format!("raced-{round}"), "1.0.0", "raced", &["web"]);
        let barrier = Barrier::new(f.servers.len());
        let results: Vec<_> = std::thread::scope(|s| {
            let running: Vec<_> = f
                .servers
                .iter()
                .map(|b| {
                    s.spawn(|| {
                        barrier.wait();
                        b.publish(&v, &archive)
                    })
                })
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}: exactly one server wins: {results:?}"
        );
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(e, MarketplaceError::AlreadyPublished { .. }),
                "the others get the usual conflict: {e}"
            );
        }
    }
    // Different packages through every server at once: each write its own
    // generation, so every server follows the feed and none rebuilds.
    let before = f.servers[0].generation().unwrap();
    std::thread::scope(|s| {
        for (i, b) in f.servers.iter().enumerate() {
            s.spawn(move || {
                for k in 0..5 {
                    let (v, a) = common::release(&format!("busy-{i}-{k}"), "1.0.0", "busy", &[]);
                    b.publish(&v, &a).unwrap();
                }
            });
        }
    });
    assert_eq!(f.servers[0].generation().unwrap(), before + 15);
    assert_eq!(
        generations_taken_twice(&f.sparql),
        "",
        "no generation taken twice"
    );
    std::thread::sleep(ggen_marketplace_v2::REMOTE_FRESHNESS);
    let listed: Vec<Vec<String>> = f
        .servers
        .iter()
        .map(|b| {
            common::names(b, SearchQuery::text("busy"));
            b.list().unwrap().into_iter().map(|p| p.name).collect()
        })
        .collect();
    assert_eq!(listed[0].len(), 6 + 15);
    assert!(listed.iter().all(|l| *l == listed[0]), "{listed:?}");
    for b in &f.servers {
        assert_eq!(b.index_refreshes().rebuilt, 1, "{:?}", b.index_refreshes());
    }
}

/// The gateway's answer field `"ID":"..."`.
fn lease_id(answer: &str) -> String {
    let at = answer.find("\"ID\":\"").unwrap() + 6;
    answer[at..].split('"').next().unwrap().to_string()
}

#[test]
fn a_lock_left_by_a_dead_server_runs_out_with_its_lease() {
    let Some(f) = fleet("a dead server's lock", 1) else {
        return;
    };
    let b = &f.servers[0];
    // What a server that died holding the lock leaves: the key, on a lease
    // nobody keeps alive (2 s here, 10 s as ggen takes them).
    let lease = lease_id(&f.etcd.post("/v3/lease/grant", r#"{"TTL": 2}"#).unwrap());
    let key = base64_of(&format!(
        "ggen/marketplace/{}/writer",
        b.registry_id().unwrap()
    ));
    let put = format!(
        r#"{{"key":"{key}","value":"{}","lease":"{lease}"}}"#,
        base64_of("a dead server")
    );
    f.etcd.post("/v3/kv/put", &put).unwrap();

    let started = Instant::now();
    let (v, a) = common::release("after-the-dead", "1.0.0", "waited", &[]);
    b.publish(&v, &a).unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the publish waited for the lease to run out ({:?})",
        started.elapsed()
    );
    assert_eq!(b.package("after-the-dead").unwrap().versions.len(), 1);
}

/// A writer that waits longer than a lease lives (another server's long
/// write) still gets the lock once it is free: the lease it offers is kept
/// alive while it waits.
#[test]
fn a_wait_longer_than_a_lease_still_ends_in_the_write() {
    let Some(f) = fleet("a long wait", 2) else {
        return;
    };
    let held = f.servers[0].write_lock().unwrap();
    let hold = ggen_marketplace_v2::LEASE_TTL + Duration::from_secs(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            std::thread::sleep(hold);
            drop(held);
        });
        let started = Instant::now();
        let (v, a) = common::release("after-a-long-wait", "1.0.0", "waited", &[]);
        f.servers[1].publish(&v, &a).unwrap();
        assert!(started.elapsed() >= hold, "it waited for the holder");
    });
    assert_eq!(
        f.servers[0]
            .package("after-a-long-wait")
            .unwrap()
            .versions
            .len(),
        1
    );
}

#[test]
fn without_etcd_nothing_is_written_and_the_error_says_where_to_look() {
    let Some(mut f) = fleet("etcd down", 1) else {
        return;
    };
    let b = &f.servers[0];
    let generation = b.generation().unwrap();
    f.etcd.stop();
    let (v, a) = common::release("never-written", "1.0.0", "no lock", &[]);
    let err = b.publish(&v, &a).unwrap_err();
    assert!(matches!(err, MarketplaceError::Unavailable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("etcd") && text.contains("marketplace.v2.lock_url"),
        "{text}"
    );
    assert_eq!(b.generation().unwrap(), generation);
    assert!(matches!(
        b.package("never-written"),
        Err(MarketplaceError::NotFound { .. })
    ));
}

#[test]
fn a_writer_whose_lease_is_gone_stops_before_it_writes() {
    let Some(f) = fleet("a lost lease", 1) else {
        return;
    };
    let b = &f.servers[0];
    let lock = b.write_lock().unwrap();
    assert!(lock.check().is_ok());
    // Every lease revoked behind the holder's back (as when etcd expired it
    // while this server stalled).
    let key = base64_of(&format!(
        "ggen/marketplace/{}/writer",
        b.registry_id().unwrap()
    ));
    let held = f
        .etcd
        .post("/v3/kv/range", &format!(r#"{{"key":"{key}"}}"#))
        .unwrap();
    let at = held.find("\"lease\":\"").unwrap() + 9;
    let lease = held[at..].split('"').next().unwrap();
    f.etcd
        .post("/v3/lease/revoke", &format!(r#"{{"ID":"{lease}"}}"#))
        .unwrap();
    // The next keep-alive (every 3 s) finds the lease gone.
    let deadline = Instant::now() + Duration::from_secs(8);
    while lock.check().is_ok() {
        assert!(Instant::now() < deadline, "the lost lease went unnoticed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = lock.check().unwrap_err().to_string();
    assert!(err.contains("nothing was written"), "{err}");
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
