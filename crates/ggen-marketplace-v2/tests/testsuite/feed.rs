//! Two clients of one real `oxigraph serve`, as two registry servers: the one
//! that did not write catches up from the change feed, re-reading only what
//! changed, and rebuilds whenever the feed cannot vouch for a generation.

use crate::common;

use std::time::Duration;

use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_v2::{DEFAULT_GRAPH, IndexRefreshes, V2Backend};

/// Past the second for which a client trusts the generation it last read.
const TRUST: Duration = Duration::from_millis(1100);

fn update(url: &str, text: &str) {
    ureq::post(url)
        .send_form([("update", text)])
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

fn refreshes(b: &V2Backend) -> (u64, u64, u64) {
    let IndexRefreshes {
        rebuilt,
        caught_up,
        packages_reread,
        ..
    } = b.index_refreshes();
    (rebuilt, caught_up, packages_reread)
}

/// Everything a search client would compare: hits of a few queries, and
/// the names listed.
fn answers(b: &V2Backend) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = ["rust", "web", "template", "late arrival", "helo wrld"]
        .iter()
        .map(|q| common::names(b, SearchQuery::text(*q)))
        .collect();
    out.push(b.list().unwrap().into_iter().map(|p| p.name).collect());
    out
}

fn publish(b: &V2Backend, name: &str, version: &str, description: &str) {
    let (v, a) = common::release(name, version, description, &["web"]);
    b.publish(&v, &a).unwrap();
}

#[test]
fn a_client_behind_rereads_only_what_the_feed_says_changed() {
    let Some(common::Served {
        backend,
        server,
        data: _data,
        ..
    }) = common::served("the change feed tests")
    else {
        return;
    };
    catches_up(&backend, &server.query_url(), &server.update_url());
}

#[test]
fn virtuoso_keeps_the_feed_too() {
    let Some(common::ServedByVirtuoso {
        backend, server, ..
    }) = common::served_by_virtuoso("the change feed tests")
    else {
        return;
    };
    let url = server.sparql_url();
    catches_up(&backend, &url, &url);
}

/// `a` writes and a second client of the same endpoint follows.
fn catches_up(a: &V2Backend, query_url: &str, update_url: &str) {
    for (v, archive) in common::catalogue() {
        a.publish(&v, &archive).unwrap();
    }
    let local = tempfile::tempdir().unwrap();
    let b = V2Backend::remote(query_url, update_url, local.path()).unwrap();
    assert_eq!(
        common::names(&b, SearchQuery::text("command line"))[0],
        "rust-cli"
    );
    assert_eq!(
        refreshes(&b),
        (1, 0, 0),
        "a new client builds its index once"
    );

    // Three writes through A touching three packages, one of them twice.
    publish(
        a,
        "late-arrival",
        "1.0.0",
        "published through the other server",
    );
    publish(
        a,
        "rust-cli",
        "1.3.0",
        "Command line applications in Rust, newer",
    );
    a.yank("rust-web", &"0.9.0".parse().unwrap(), true).unwrap();
    publish(
        a,
        "late-arrival",
        "1.1.0",
        "published through the other server again",
    );
    std::thread::sleep(TRUST);
    assert_eq!(
        common::names(&b, SearchQuery::text("late arrival"))[0],
        "late-arrival"
    );
    assert_eq!(
        refreshes(&b),
        (1, 1, 3),
        "one catch-up re-reading three packages"
    );
    assert_eq!(b.generation().unwrap(), a.generation().unwrap());
    assert_eq!(
        b.package("rust-cli").unwrap().latest().version.to_string(),
        "1.3.0"
    );
    assert!(b.versions("rust-web").unwrap().iter().all(|v| v.yanked));
    // B answers as a client that read the whole graph does.
    let fresh = tempfile::tempdir().unwrap();
    let c = V2Backend::remote(query_url, update_url, fresh.path()).unwrap();
    assert_eq!(answers(&b), answers(&c));

    // The index B caught up to is what it saved: a restart loads it as it is.
    drop(b);
    let b = V2Backend::remote(query_url, update_url, local.path()).unwrap();
    assert_eq!(answers(&b), answers(&c));
    assert_eq!(refreshes(&b), (0, 0, 0));

    // Down while A writes twice more: at restart B starts from its saved
    // index and catches up, instead of rebuilding.
    drop(b);
    publish(
        a,
        "late-arrival",
        "1.2.0",
        "published while the other server was down",
    );
    publish(a, "rust-web", "0.9.1", "Web services in Rust, patched");
    let b = V2Backend::remote(query_url, update_url, local.path()).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let c = V2Backend::remote(query_url, update_url, fresh.path()).unwrap();
    assert_eq!(answers(&b), answers(&c));
    assert_eq!(
        refreshes(&b),
        (0, 1, 2),
        "one catch-up from the saved index"
    );
}

#[test]
fn a_gap_or_a_lie_in_the_feed_means_a_rebuild_not_a_wrong_index() {
    let Some(common::Served {
        backend: a,
        server,
        data: _data,
        ..
    }) = common::served("the change feed tests")
    else {
        return;
    };
    publish(&a, "first", "1.0.0", "the first package");
    let local = tempfile::tempdir().unwrap();
    let b = V2Backend::remote(&server.query_url(), &server.update_url(), local.path()).unwrap();
    assert_eq!(common::names(&b, SearchQuery::text("first")), ["first"]);
    assert_eq!(refreshes(&b), (1, 0, 0));
    let feed = format!("<{DEFAULT_GRAPH}/changes>");

    // The feed is dropped (by hand, or by an older server that never wrote
    // one): B cannot tell what changed, so it reads everything.
    publish(&a, "second", "1.0.0", "the second package");
    update(&server.update_url(), &format!("DROP GRAPH {feed}"));
    std::thread::sleep(TRUST);
    assert_eq!(common::names(&b, SearchQuery::text("second")), ["second"]);
    assert_eq!(refreshes(&b), (2, 0, 0));

    // An entry names something that is no package name: also a rebuild, and
    // nothing is built from that text.
    publish(&a, "third", "1.0.0", "the third package");
    let generation = a.generation().unwrap();
    update(
        &server.update_url(),
        &format!(
            "INSERT DATA {{ GRAPH {feed} {{ _:x <https://ggen.io/marketplace/changeGeneration> {generation} ; \
             <https://ggen.io/marketplace/changedPackage> \"../../etc/passwd\" }} }}"
        ),
    );
    std::thread::sleep(TRUST);
    assert_eq!(common::names(&b, SearchQuery::text("third")), ["third"]);
    assert_eq!(refreshes(&b), (3, 0, 0));

    // With the feed whole again, the next write is a catch-up.
    publish(&a, "fourth", "1.0.0", "the fourth package");
    std::thread::sleep(TRUST);
    assert_eq!(common::names(&b, SearchQuery::text("fourth")), ["fourth"]);
    assert_eq!(refreshes(&b), (3, 1, 1));

    // The entry of the generation B is at is another history's (the graph
    // restored from a dump and written again reuses the numbers): entries
    // after it say nothing about what B has, so B rebuilds.
    let generation = a.generation().unwrap();
    let mp = "https://ggen.io/marketplace/";
    update(
        &server.update_url(),
        &format!(
            "DELETE {{ GRAPH {feed} {{ ?c <{mp}changeId> ?id }} }}              INSERT {{ GRAPH {feed} {{ ?c <{mp}changeId> \"another history\" }} }}              WHERE {{ GRAPH {feed} {{ ?c <{mp}changeGeneration> ?g ; <{mp}changeId> ?id FILTER(?g = {generation}) }} }}"
        ),
    );
    publish(&a, "fifth", "1.0.0", "the fifth package");
    std::thread::sleep(TRUST);
    assert_eq!(common::names(&b, SearchQuery::text("fifth")), ["fifth"]);
    assert_eq!(refreshes(&b), (4, 1, 1));
}

/// The generations the endpoint's feed holds entries for.
fn feed_generations(query_url: &str) -> Vec<u64> {
    let text = format!(
        "SELECT ?g WHERE {{ GRAPH <{DEFAULT_GRAPH}/changes> {{ ?c <https://ggen.io/marketplace/changeGeneration> ?g }} }} ORDER BY ?g"
    );
    let body = ureq::get(query_url)
        .query("query", &text)
        .header("Accept", "application/sparql-results+json")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    answer["results"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["g"]["value"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn the_write_that_adds_an_entry_drops_the_ones_too_old_to_keep() {
    let Some(common::Served {
        backend: a,
        server,
        data: _data,
        ..
    }) = common::served("the change feed tests")
    else {
        return;
    };
    publish(&a, "first", "1.0.0", "the first package");
    assert_eq!(feed_generations(&server.query_url()), [1]);
    // As if 2000 writes had gone by: the generation moved on, with entries
    // left from generations 500 and 1500.
    let (mp, feed) = (
        "https://ggen.io/marketplace/",
        format!("<{DEFAULT_GRAPH}/changes>"),
    );
    update(
        &server.update_url(),
        &format!(
            "DELETE WHERE {{ GRAPH <{DEFAULT_GRAPH}> {{ <{mp}registry> <{mp}generation> ?g }} }} ; \
             INSERT DATA {{ GRAPH <{DEFAULT_GRAPH}> {{ <{mp}registry> <{mp}generation> 2000 }} \
             GRAPH {feed} {{ _:old <{mp}changeGeneration> 500 ; <{mp}changedPackage> \"first\" . \
             _:recent <{mp}changeGeneration> 1500 ; <{mp}changedPackage> \"first\" }} }}"
        ),
    );
    assert_eq!(feed_generations(&server.query_url()), [1, 500, 1500]);
    publish(&a, "second", "1.0.0", "the second package");
    // Kept: what is less than FEED_KEEP generations older than 2001.
    assert_eq!(ggen_marketplace_v2::FEED_KEEP, 1000);
    assert_eq!(feed_generations(&server.query_url()), [1500, 2001]);
}
