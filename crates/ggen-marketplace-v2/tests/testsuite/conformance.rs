//! The backend conformance suite (`ggen_test_support::conformance`), which
//! V1 and the registry client pass too, on each V2 store.

use ggen_marketplace_v2::V2Backend;
use ggen_test_support::conformance::{self, Writes};
use ggen_test_support::{OxigraphServer, oxigraph_available};

#[test]
fn the_in_memory_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(&V2Backend::in_memory(dir.path()).unwrap(), Writes::AsGiven);
}

#[test]
fn the_rocksdb_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(
        &V2Backend::open_embedded(dir.path()).unwrap(),
        Writes::AsGiven,
    );
}

#[test]
fn a_store_behind_oxigraph_serve_conforms() {
    if !oxigraph_available("V2 conformance over oxigraph serve") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = OxigraphServer::start(&data.path().join("db"));
    let b = V2Backend::remote(&server.query_url(), &server.update_url(), local.path()).unwrap();
    conformance::run(&b, Writes::AsGiven);
}
