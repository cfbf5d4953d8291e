//! The whole V2 surface of `ggen marketplace` over two real SPARQL servers
//! that differ where clients notice (`oxigraph serve`, and Virtuoso: one URL
//! for queries and updates, a union default graph, ASK answered as a table).
//! Each run: migrate the seeded V1 registry into the endpoint's graph, check
//! it, read it every way, write to it, back it up and restore it, and compare V1 and V2 in
//! compare mode. Skipped with a message where a server is not installed,
//! unless `CI` is set.
#![cfg(feature = "marketplace-parallel")]

use crate::common::{self, Home};

use ggen_test_support::{OxigraphServer, VirtuosoServer, oxigraph_available, virtuoso_available};
use serde_json::Value;

/// A home whose V2 is the SPARQL endpoint at `query` (updates at `update`).
fn home_on(query: &str, update: &str) -> Home {
    let home = Home::new();
    home.write_config(&format!(
        "marketplace:\n  v2:\n    endpoint: {query}\n    update_endpoint: {update}\n"
    ));
    home
}

fn count(v: &Value) -> u64 {
    v["results"]["results"]["bindings"][0]["n"]["value"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {v}"))
}

fn whole_surface(home: &Home, server: &str) {
    let status = home.json(&["status"]);
    let endpoint = &status["v2_endpoint"];
    assert_eq!(
        endpoint["graph"]["value"], "https://ggen.io/marketplace/graph",
        "{server}"
    );
    assert_eq!(endpoint["auth"], "none", "{server}");
    assert_eq!(endpoint["protocol"], "form", "{server}");

    home.succeeds(&["migrate"]);
    home.succeeds(&["verify-migration"]);

    let v2 = home.json(&["search", "--query", "rust", "--backend", "v2"]);
    assert_eq!(v2["backend_used"], "v2", "{server}");
    assert!(!common::names(&v2).is_empty(), "{server}: {v2}");
    let typo = home.json(&["search", "--query", "helo wrld", "--backend", "v2"]);
    assert_eq!(common::names(&typo)[0], "hello-world", "{server}");
    let info = home.json(&["info", "hello-world", "--backend", "v2"]);
    assert_eq!(info["backend_used"], "v2", "{server}");
    let versions = home.json(&["versions", "hello-world", "--backend", "v2"]);
    assert_eq!(versions["backend_used"], "v2", "{server}");
    let listed = |backend: &str| {
        let mut names = common::listed_names(&home.json(&["list", "--backend", backend]));
        names.sort();
        names
    };
    assert_eq!(listed("v2"), listed("v1"), "{server}");

    let target = home.path().join("project");
    home.succeeds_in(&target, &["install", "hello-world", "--backend", "v2"]);
    assert!(target.join("ggen.lock").is_file(), "{server}");

    // Writes through the default routing (V2, V1 kept in step).
    let src = common::package_dir(
        home.path(),
        "endpoint-pkg",
        "1.0.0",
        "Written over SPARQL",
        &["sparql"],
    );
    home.succeeds(&["publish", src.to_str().unwrap()]);
    let found = home.json(&["info", "endpoint-pkg", "--backend", "v2"]);
    assert_eq!(found["backend_used"], "v2", "{server}");
    home.succeeds(&["yank", "endpoint-pkg@1.0.0"]);
    home.succeeds(&["yank", "endpoint-pkg@1.0.0", "--undo"]);
    home.succeeds(&["verify-migration"]);

    let triples = count(&home.json(&["sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"]));
    let exported = home.json(&["export", "--format", "ntriples"]);
    let lines = exported["document"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    assert_eq!(
        lines, triples,
        "{server}: the export is the registry's graph, nothing more"
    );
    let ask = home.json(&[
        "sparql",
        "ASK { ?p a <https://ggen.io/marketplace/Package> }",
    ]);
    assert_eq!(ask["results"]["boolean"], true, "{server}: {ask}");

    let backup = home.path().join("registry.backup");
    home.succeeds(&["backup", "create", "--output", backup.to_str().unwrap()]);
    home.succeeds(&["backup", "list", backup.to_str().unwrap()]);
    // A restore puts the endpoint's graph back as the backup has it: a package
    // published since is gone from V2 (and V1), the rest is there, and the two
    // agree.
    let later = common::package_dir(
        home.path(),
        "after-backup",
        "1.0.0",
        "Published after the backup",
        &[],
    );
    home.succeeds(&["publish", later.to_str().unwrap()]);
    let generation_before = count(&home.json(&[
        "sparql",
        "SELECT (MAX(?g) AS ?n) WHERE { <https://ggen.io/marketplace/registry> <https://ggen.io/marketplace/generation> ?g }",
    ]));
    home.succeeds(&["backup", "restore", backup.to_str().unwrap(), "--force"]);
    home.fails(
        &["info", "after-backup", "--backend", "v2"],
        &["after-backup"],
    );
    home.succeeds(&["info", "endpoint-pkg", "--backend", "v2"]);
    assert_eq!(listed("v2"), listed("v1"), "{server}");
    home.succeeds(&["verify-migration"]);
    let generation_after = count(&home.json(&[
        "sparql",
        "SELECT (MAX(?g) AS ?n) WHERE { <https://ggen.io/marketplace/registry> <https://ggen.io/marketplace/generation> ?g }",
    ]));
    assert!(
        generation_after > generation_before,
        "{server}: a restore moves the generation on ({generation_before} -> {generation_after}), so every client's index notices"
    );

    for query in ["rust", "web service", "hello", "ontology", "ci"] {
        let out = home
            .ggen()
            .env("GGEN_MARKETPLACE_BACKEND", "compare")
            .args(["search", "--query", query])
            .output()
            .unwrap();
        assert!(out.status.success(), "{server}: compare search {query}");
    }
    let report = home.json(&["ab-report"]);
    assert_eq!(report["comparisons"], 5, "{server}: {report}");
    assert_eq!(report["match_rate"], 1.0, "{server}: {report}");
    assert_eq!(report["v2_error_rate"], 0.0, "{server}: {report}");
}

#[test]
fn the_whole_v2_surface_runs_on_oxigraph_serve() {
    if !oxigraph_available("the CLI over oxigraph serve") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = OxigraphServer::start(&data.path().join("db"));
    let home = home_on(&server.query_url(), &server.update_url());
    whole_surface(&home, "oxigraph serve");
}

#[test]
fn the_whole_v2_surface_runs_on_virtuoso() {
    if !virtuoso_available("the CLI over Virtuoso") {
        return;
    }
    let server = VirtuosoServer::start();
    let url = server.sparql_url();
    let home = home_on(&url, &url);
    whole_surface(&home, "Virtuoso");
}
