use crate::common;

use ggen_marketplace_v2::V2Backend;

#[test]
fn every_operation_on_the_in_memory_store() {
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::in_memory(dir.path()).unwrap();
    common::exercise(&b);
}
