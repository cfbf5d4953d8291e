//! The backend conformance suite (`ggen_test_support::conformance`), which
//! V1 and the registry client pass too, on each V2 store.

use crate::common;

use ggen_marketplace_v2::V2Backend;
use ggen_test_support::conformance::{self, Writes};

#[test]
fn the_in_memory_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(&V2Backend::in_memory(dir.path()).unwrap(), Writes::AsGiven);
}

#[test]
fn the_in_memory_store_understands_meaning() {
    let dir = tempfile::tempdir().unwrap();
    conformance::search_understands_meaning(&V2Backend::in_memory(dir.path()).unwrap());
}

#[test]
fn the_in_memory_store_explains_its_hits() {
    let dir = tempfile::tempdir().unwrap();
    conformance::search_explains_its_hits(&V2Backend::in_memory(dir.path()).unwrap());
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
    let Some(served) = common::served("V2 conformance over oxigraph serve") else {
        return;
    };
    conformance::run(&served.backend, Writes::AsGiven);
}

#[test]
fn a_store_in_virtuoso_conforms() {
    let Some(served) = common::served_by_virtuoso("V2 conformance over Virtuoso") else {
        return;
    };
    conformance::run(&served.backend, Writes::AsGiven);
}
