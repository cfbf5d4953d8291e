mod common;

use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::V2Backend;

#[test]
fn every_operation_on_the_rocksdb_store() {
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::open_embedded(dir.path()).unwrap();
    common::exercise(&b);
    assert!(dir.path().join("v2/store").is_dir());
    assert!(dir.path().join("v2/terms/index.bin").is_file());
}

#[test]
fn data_and_index_survive_reopening_and_a_stale_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = V2Backend::open_embedded(dir.path()).unwrap();
        b.publish_many(&common::catalogue()).unwrap();
    }
    let index = dir.path().join("v2/terms/index.bin");
    let written = std::fs::metadata(&index).unwrap().modified().unwrap();
    {
        let b = V2Backend::open_embedded(dir.path()).unwrap();
        assert_eq!(
            b.search(&SearchQuery::text("helo wrld")).unwrap().hits[0].name,
            "hello-world"
        );
        assert_eq!(b.list().unwrap().len(), 6);
    }
    assert_eq!(
        std::fs::metadata(&index).unwrap().modified().unwrap(),
        written,
        "a fresh index is reused"
    );
    // An index from another generation (e.g. a crash between graph and index writes)
    // is rebuilt, as is a corrupt one.
    std::fs::write(&index, b"GGENV2T1\x63\0\0\0\0\0\0\0garbage").unwrap();
    let b = V2Backend::open_embedded(dir.path()).unwrap();
    assert_eq!(
        b.search(&SearchQuery::text("bib")).unwrap().hits[0].name,
        "bibtex-references"
    );
    assert!(std::fs::read(&index).unwrap().len() > 100);
}

#[test]
fn a_store_held_by_another_opener_is_unavailable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let _first = V2Backend::open_embedded(dir.path()).unwrap();
    match V2Backend::open_embedded(dir.path()) {
        Err(MarketplaceError::Unavailable { backend, reason }) => {
            assert_eq!(backend, "v2");
            assert!(
                reason.contains("another ggen process holds the store"),
                "{reason}"
            );
        }
        Err(e) => panic!("expected Unavailable, got {e}"),
        Ok(_) => panic!("expected Unavailable, got a second handle"),
    }
}
