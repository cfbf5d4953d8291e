//! V2 over OpenLink Virtuoso, a SPARQL server unlike `oxigraph serve`: one
//! URL for queries and updates, a default graph that is the union of every
//! graph (its own system graphs included), ASK answered as a table,
//! booleans as 1/0. Skipped with a message where `virtuoso-t` is missing,
//! unless `CI` is set.

use crate::common;

use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_v2::{Endpoint, V2Backend};

#[test]
fn every_operation_against_virtuoso() {
    let Some(served) = common::served_by_virtuoso("the V2 tests over Virtuoso") else {
        return;
    };
    common::exercise(&served.backend);
}

/// Two registries in one Virtuoso, each in its own graph: neither sees the
/// other's packages, and neither counts Virtuoso's own thousands of triples.
#[test]
fn registries_side_by_side_in_one_virtuoso_stay_apart() {
    let Some(served) = common::served_by_virtuoso("graph isolation over Virtuoso") else {
        return;
    };
    let a = &served.backend;
    let url = served.server.sparql_url();
    let mut other = Endpoint::new(&url, &url);
    other.graph = Endpoint::parse_graph("https://example.org/registries/b").unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let b = V2Backend::remote_with(other, other_dir.path()).unwrap();

    assert_eq!(
        a.triple_count().unwrap(),
        0,
        "Virtuoso's own graphs are not ours"
    );
    let (one, archive_one) = common::release("only-in-a", "1.0.0", "first registry", &[]);
    let (two, archive_two) = common::release("only-in-b", "1.0.0", "second registry", &[]);
    a.publish(&one, &archive_one).unwrap();
    b.publish(&two, &archive_two).unwrap();

    let names =
        |x: &V2Backend| -> Vec<String> { x.list().unwrap().into_iter().map(|s| s.name).collect() };
    assert_eq!(names(a), ["only-in-a"]);
    assert_eq!(names(&b), ["only-in-b"]);
    assert_eq!(a.generation().unwrap(), 1);
    assert_eq!(b.generation().unwrap(), 1);
    assert!(common::names(a, SearchQuery::text("second")).is_empty());
    assert_eq!(
        a.triple_count().unwrap(),
        b.triple_count().unwrap(),
        "the same shape, apart"
    );
    let exported = String::from_utf8(
        a.export(ggen_marketplace_v2::ExportFormat::NTriples)
            .unwrap(),
    )
    .unwrap();
    assert!(exported.contains("only-in-a") && !exported.contains("only-in-b"));
    // A user's query cannot reach the other graph either.
    let json = a
        .sparql_select("SELECT ?s WHERE { GRAPH ?g { ?s ?p \"only-in-b\" } }")
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed["results"]["bindings"].as_array().unwrap().len(),
        0,
        "{json}"
    );
}

/// Virtuoso answers GET queries as well as forms; updates then still go as forms.
#[test]
fn the_get_form_works_against_virtuoso() {
    let Some(served) = common::served_by_virtuoso("the GET protocol form over Virtuoso") else {
        return;
    };
    let url = served.server.sparql_url();
    let mut e = Endpoint::new(&url, &url);
    e.protocol = ggen_marketplace_v2::EndpointProtocol::Get;
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::remote_with(e, dir.path()).unwrap();
    let (v, archive) = common::release("by-get", "1.0.0", "queried by GET", &[]);
    b.publish(&v, &archive).unwrap();
    assert_eq!(common::names(&b, SearchQuery::text("by-get")), ["by-get"]);
    assert_eq!(
        common::names(&served.backend, SearchQuery::text("by-get")),
        ["by-get"]
    );
}

/// HTTPS to a real TLS server: a certificate from a private CA is refused
/// against the system's roots (the error names the CA-file setting), and
/// accepted once that CA is given.
#[test]
fn https_is_verified_against_the_system_roots_or_the_given_ca() {
    if !ggen_test_support::virtuoso_available("HTTPS over Virtuoso") {
        return;
    }
    let server = ggen_test_support::VirtuosoServer::start_tls();
    let url = server.https_sparql_url();
    let dir = tempfile::tempdir().unwrap();

    let untrusted = V2Backend::remote(&url, &url, dir.path()).unwrap();
    match untrusted.package("anything") {
        Err(ggen_marketplace_core::MarketplaceError::Unavailable { reason, .. }) => {
            assert!(reason.contains("marketplace.v2.ca_file"), "{reason}")
        }
        other => panic!("expected the certificate to be refused, got {other:?}"),
    }

    let mut e = Endpoint::new(&url, &url);
    e.ca_file = Some(server.ca_file());
    let trusted = V2Backend::remote_with(e, dir.path()).unwrap();
    let (v, archive) = common::release("over-tls", "1.0.0", "published over HTTPS", &[]);
    trusted.publish(&v, &archive).unwrap();
    assert_eq!(
        common::names(&trusted, SearchQuery::text("over-tls")),
        ["over-tls"]
    );

    // A CA file that holds no certificate is refused when the client is made.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let mut e = Endpoint::new(&url, &url);
    e.ca_file = Some(empty);
    let Err(refused) = V2Backend::remote_with(e, dir.path()) else {
        panic!("a CA file without a certificate was taken");
    };
    let message = refused.to_string();
    assert!(message.contains("holds no certificate"), "{message}");
}

/// A Virtuoso that cuts answers at its row limit says so in a header; the
/// cut answer is refused, naming the setting, rather than read as a
/// registry with fewer packages.
#[test]
fn an_answer_cut_at_the_servers_row_limit_is_refused() {
    if !ggen_test_support::virtuoso_available("Virtuoso's row limit") {
        return;
    }
    let server = ggen_test_support::VirtuosoServer::start_with_max_rows(40);
    let url = server.sparql_url();
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::remote(&url, &url, dir.path()).unwrap();
    for (v, archive) in common::catalogue() {
        b.publish(&v, &archive).unwrap();
    }
    assert!(
        b.triple_count().unwrap() > 40,
        "the graph outgrows the limit"
    );
    let message = b
        .export(ggen_marketplace_v2::ExportFormat::NTriples)
        .expect_err("the export reads every triple, over the limit")
        .to_string();
    assert!(message.contains("ResultSetMaxRows"), "{message}");
}
