use crate::common::{self, names};

use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::V2Backend;
use tempfile::TempDir;

#[test]
fn every_operation_on_the_rocksdb_store() {
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::open_embedded(dir.path()).unwrap();
    common::exercise(&b);
    assert!(dir.path().join("v2/store").is_dir());
    assert!(dir.path().join("v2/terms/index.bin").is_file());
}

/// A RocksDB store holding the common catalogue, closed again: its directory.
fn closed_store_with_catalogue() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let b = V2Backend::open_embedded(dir.path()).unwrap();
    b.publish_many(&common::catalogue()).unwrap();
    dir
}

#[test]
fn data_and_index_survive_reopening_and_a_stale_index_is_rebuilt() {
    let dir = closed_store_with_catalogue();
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

/// A large import goes through Oxigraph's bulk loader; what it writes must read
/// back exactly like the same versions written in transactional batches.
#[test]
fn a_bulk_import_reads_back_like_transactional_batches() {
    use ggen_marketplace_core::model::PackageVersion;
    use ggen_test_support::corpus::{CorpusSpec, generate};
    use std::collections::HashMap;

    let corpus = generate(&CorpusSpec {
        min_versions: 3,
        ..CorpusSpec::new(800)
    });
    let releases: Vec<(PackageVersion, Option<Vec<u8>>)> = corpus
        .iter()
        .flat_map(|p| p.versions.iter().map(|v| (v.clone(), None)))
        .collect();
    assert!(releases.len() >= ggen_marketplace_v2::BULK_MIN_RELEASES);
    let counters: HashMap<String, (u64, u64)> = corpus
        .iter()
        .map(|p| (p.name.clone(), (p.downloads, p.stars)))
        .collect();

    let bulk_dir = tempfile::tempdir().unwrap();
    let bulk = V2Backend::open_embedded(bulk_dir.path()).unwrap();
    let added = bulk
        .import_stream(releases.iter().cloned().map(Ok), &counters)
        .unwrap();
    assert_eq!(added, releases.len());

    let tx_dir = tempfile::tempdir().unwrap();
    let tx = V2Backend::open_embedded(tx_dir.path()).unwrap();
    for chunk in releases.chunks(ggen_marketplace_v2::BULK_MIN_RELEASES / 2) {
        tx.import(chunk).unwrap();
    }
    let triples: Vec<_> = corpus
        .iter()
        .map(|p| (p.name.clone(), p.downloads, p.stars))
        .collect();
    tx.set_counters(&triples).unwrap();

    assert_eq!(bulk.list().unwrap(), tx.list().unwrap());
    assert_eq!(bulk.list().unwrap().len(), corpus.len());
    for p in corpus.iter().step_by(13) {
        assert_eq!(&bulk.package(&p.name).unwrap(), p);
        assert_eq!(bulk.package(&p.name).unwrap(), tx.package(&p.name).unwrap());
    }
    for text in [
        "graph",
        "rust web service",
        "dashb",
        corpus[400].name.as_str(),
    ] {
        let q = SearchQuery::text(text);
        assert_eq!(names(&bulk, q.clone()), names(&tx, q.clone()), "{q:?}");
    }

    // The incrementally built index equals one rebuilt from the graph alone.
    let incremental = bulk.list().unwrap();
    let hits = |b: &V2Backend| names(b, SearchQuery::text("graph query"));
    let incremental_hits = hits(&bulk);
    assert_eq!(bulk.rebuild_index().unwrap(), corpus.len());
    assert_eq!(bulk.list().unwrap(), incremental);
    assert_eq!(hits(&bulk), incremental_hits);

    // A re-run adds nothing; the saved term index is current after reopening.
    assert_eq!(
        bulk.import_stream(releases.iter().cloned().map(Ok), &counters)
            .unwrap(),
        0
    );
    let listed = bulk.list().unwrap();
    drop(bulk);
    let reopened = V2Backend::open_embedded(bulk_dir.path()).unwrap();
    assert_eq!(reopened.list().unwrap(), listed);

    // A conflicting version anywhere in a large import refuses all of it.
    let mut more: Vec<_> = (0..ggen_marketplace_v2::BULK_MIN_RELEASES)
        .map(|i| {
            let mut v = PackageVersion::new(format!("late-{i}"), semver::Version::new(1, 0, 0));
            v.description = "added late".into();
            (v, None)
        })
        .collect();
    let mut clash = releases[5].0.clone();
    clash.checksum = Some("0".repeat(64));
    more.push((clash, None));
    let err = reopened
        .import_stream(more.into_iter().map(Ok), &HashMap::new())
        .unwrap_err();
    assert!(
        matches!(err, MarketplaceError::AlreadyPublished { .. }),
        "{err}"
    );
    assert_eq!(reopened.list().unwrap(), listed);
}

/// A store whose files were damaged (a bad disk, a copy cut short) must give an
/// error that names the store, never a panic and never an empty answer.
#[test]
fn a_corrupt_store_is_a_clear_error() {
    let dir = closed_store_with_catalogue();
    let store = dir.path().join("v2/store");
    let mut damaged = 0;
    for e in std::fs::read_dir(&store).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sst") || name.starts_with("MANIFEST") || name == "CURRENT" {
            let len = e.metadata().unwrap().len() as usize;
            std::fs::write(e.path(), vec![0x5a; len.max(16)]).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged >= 2, "nothing to damage in {}", store.display());
    // Opening may succeed: the term index is intact and its marker clean, so
    // search, list and info answer from it, correctly. The first read that
    // needs the store fails, naming it.
    let err = match V2Backend::open_embedded(dir.path()) {
        Err(e) => e.to_string(),
        Ok(b) => {
            if let Ok(l) = b.list() {
                assert_eq!(
                    l.len(),
                    6,
                    "a damaged store's index answered a partial list"
                );
            }
            match b.metadata() {
                Err(e) => e.to_string(),
                Ok(m) => panic!("a damaged store answered {} versions", m.version_count),
            }
        }
    };
    assert!(err.contains("v2/store"), "{err}");
}

const MARKER: &str = "v2/store.generation";
const SHORT: std::time::Duration = std::time::Duration::from_millis(50);

/// A reading process's backend opened while another handle holds the RocksDB
/// store (as a running server does): `Unavailable` if it has to open the
/// store, an answer if it does not.
fn second_reader(dir: &std::path::Path) -> Result<V2Backend, MarketplaceError> {
    V2Backend::open_embedded_deferred(dir, SHORT)
}

#[test]
fn a_clean_marker_lets_search_answer_without_opening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let holder = V2Backend::open_embedded(dir.path()).unwrap();
    holder.publish_many(&common::catalogue()).unwrap();
    let g = holder.generation().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(MARKER)).unwrap(),
        format!("clean {g}\n")
    );

    // The holder keeps RocksDB's lock, yet search and list answer.
    let reader = second_reader(dir.path()).expect("a clean marker needs no store");
    assert_eq!(
        reader.search(&SearchQuery::text("helo wrld")).unwrap().hits[0].name,
        "hello-world"
    );
    assert_eq!(reader.list().unwrap().len(), 6);

    // A write through the holder is seen by the same reader: marker and index
    // moved together.
    let (extra, archive) =
        common::release("marker-news", "1.0.0", "fresh news from the holder", &[]);
    holder.publish(&extra, &archive).unwrap();
    assert!(names(&reader, SearchQuery::text("news")).contains(&"marker-news".to_string()));
    assert_eq!(reader.list().unwrap().len(), 7);

    // `info` and archives read the index's package records: still no store,
    // and the same answer the graph gives.
    assert_eq!(
        reader.package("marker-news").unwrap(),
        holder.package("marker-news").unwrap()
    );
    assert_eq!(
        reader
            .fetch_archive("marker-news", &"1.0.0".parse().unwrap())
            .unwrap(),
        archive
    );
    // What only the graph holds needs the store, which is still held.
    match reader.metadata() {
        Err(MarketplaceError::Unavailable { .. }) => {}
        other => panic!("expected Unavailable from a held store, got {other:?}"),
    }
}

#[test]
fn any_marker_but_a_matching_clean_one_opens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let holder = V2Backend::open_embedded(dir.path()).unwrap();
    holder.publish_many(&common::catalogue()).unwrap();
    let g = holder.generation().unwrap();
    assert!(second_reader(dir.path()).is_ok());
    let marker = dir.path().join(MARKER);
    for planted in [
        "dirty\n".to_string(),             // a write in progress, or a killed one
        format!("clean {}\n", g + 1),      // ahead of the index
        format!("clean {}\n", g - 1),      // behind it
        format!("clean +{g}\n"),           // not the form we write
        format!("clean {g}"),              // cut short
        format!("clean {g}\nclean {g}\n"), // two of them
        String::new(),
    ] {
        std::fs::write(&marker, &planted).unwrap();
        match second_reader(dir.path()) {
            Err(MarketplaceError::Unavailable { .. }) => {}
            Err(e) => panic!("marker {planted:?}: expected Unavailable, got {e}"),
            Ok(_) => panic!("marker {planted:?} was trusted"),
        }
    }
    std::fs::remove_file(&marker).unwrap();
    assert!(second_reader(dir.path()).is_err(), "no marker was trusted");

    // A reader that opens the store answers from it as before.
    std::fs::write(&marker, "dirty\n").unwrap();
    drop(holder);
    let reader = V2Backend::open_embedded(dir.path()).unwrap();
    assert_eq!(reader.list().unwrap().len(), 6);
    // `rebuild-index` (under the writers' lock) settles the marker again.
    reader.rebuild_index().unwrap();
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        format!("clean {g}\n")
    );
}

/// A write marks the store dirty before touching it: a writer killed after its
/// store write and before its index write leaves `dirty`, so no reader trusts
/// the old index.
#[test]
fn a_write_marks_the_store_dirty_before_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let holder = V2Backend::open_embedded(dir.path()).unwrap();
    holder.publish_many(&common::catalogue()).unwrap();
    let marker = dir.path().join(MARKER);
    // A directory where the marker goes cannot be replaced by a file: the
    // write must then be refused, with nothing written to the graph.
    std::fs::remove_file(&marker).unwrap();
    std::fs::create_dir(&marker).unwrap();
    let (extra, archive) = common::release("never-written", "1.0.0", "blocked by the marker", &[]);
    let err = holder.publish(&extra, &archive).unwrap_err();
    assert!(err.to_string().contains("store.generation"), "{err}");
    std::fs::remove_dir(&marker).unwrap();
    match holder.package("never-written") {
        Err(MarketplaceError::NotFound { .. }) => {}
        other => panic!("a refused write reached the graph: {other:?}"),
    }
}
