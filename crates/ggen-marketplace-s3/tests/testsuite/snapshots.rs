//! A fleet's servers share their term index through the bucket: a new one
//! starts from the index another saved and catches up from the change feed,
//! instead of reading every package from the endpoint; and an index object
//! that is not what the graph says is refused for a rebuild.

use std::sync::Arc;

use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_v2::{IndexRefreshes, V2Backend};
use ggen_test_support::garage::GarageServer;
use ggen_test_support::{OxigraphServer, Pkg, garage_available, oxigraph_available};

use crate::client;

const PREFIX: &str = "fleet";

fn server(sparql: &OxigraphServer, garage: &GarageServer, home: &std::path::Path) -> V2Backend {
    V2Backend::remote(&sparql.query_url(), &sparql.update_url(), home)
        .unwrap()
        .with_blobs(Arc::new(client(garage, PREFIX)))
}

/// What a search client would compare.
fn answers(b: &V2Backend) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = ["saved", "index", "late", "snap"]
        .iter()
        .map(|q| {
            b.search(&SearchQuery::text(*q))
                .unwrap()
                .hits
                .into_iter()
                .map(|h| h.name)
                .collect()
        })
        .collect();
    out.push(b.list().unwrap().into_iter().map(|p| p.name).collect());
    out
}

struct Fleet {
    sparql: OxigraphServer,
    garage: GarageServer,
    _data: tempfile::TempDir,
    homes: Vec<tempfile::TempDir>,
}

impl Fleet {
    fn start(what: &str) -> Option<Self> {
        if !garage_available(what) || !oxigraph_available(what) {
            return None;
        }
        let data = tempfile::tempdir().unwrap();
        Some(Self {
            sparql: OxigraphServer::start(&data.path().join("graph")),
            garage: GarageServer::start(),
            _data: data,
            homes: Vec::new(),
        })
    }

    /// A server with a home of its own, as on a new host.
    fn new_server(&mut self) -> V2Backend {
        let home = tempfile::tempdir().unwrap();
        let b = server(&self.sparql, &self.garage, home.path());
        self.homes.push(home);
        b
    }
}

/// Server A with twelve packages and an index it saved at their generation,
/// then two more packages published through it.
fn a_with_a_saved_index(fleet: &mut Fleet) -> V2Backend {
    let a = fleet.new_server();
    for i in 0..12 {
        Pkg::new(&format!("snap-{i:02}"), "1.0.0")
            .description("a package in a saved index")
            .publish(&a);
    }
    // A rebuild saves the index for other servers.
    a.rebuild_index().unwrap();
    assert!(
        a.index_refreshes().snapshots_saved >= 1,
        "{:?}",
        a.index_refreshes()
    );
    for name in ["late-one", "late-two"] {
        Pkg::new(name, "1.0.0")
            .description("late after the saved index")
            .publish(&a);
    }
    a
}

#[test]
fn a_new_server_starts_from_the_index_another_saved() {
    let Some(mut fleet) = Fleet::start("index snapshots") else {
        return;
    };
    let a = a_with_a_saved_index(&mut fleet);
    let c = fleet.new_server();
    assert_eq!(answers(&c), answers(&a));
    let IndexRefreshes {
        rebuilt,
        from_snapshot,
        packages_reread,
        ..
    } = c.index_refreshes();
    assert_eq!(
        (rebuilt, from_snapshot, packages_reread),
        (0, 1, 2),
        "C starts from A's index and reads only the two packages published since"
    );
    assert!(answers(&c)[2].contains(&"late-one".to_string()));

    // From then on C follows the feed as any server does.
    Pkg::new("later-still", "1.0.0")
        .description("late after C started")
        .publish(&a);
    std::thread::sleep(ggen_marketplace_v2::REMOTE_FRESHNESS);
    assert_eq!(answers(&c), answers(&a));
    assert_eq!(c.index_refreshes().rebuilt, 0);
}

/// Alters every index object in the bucket that holds the word "saved",
/// as an attacker with write access to it (or a failing disk) would: one
/// word of each description, so that the file still loads (a damaged letter
/// is not something the loader can see) and only the digest the graph holds
/// tells. Returns how many objects were altered.
fn tamper_with_index_objects(garage: &GarageServer) -> usize {
    use futures_util::TryStreamExt;
    use object_store::{ObjectStore, ObjectStoreExt};
    let raw = crate::raw_client(garage);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let under = object_store::path::Path::from(format!("{PREFIX}/index"));
        let objects: Vec<_> = raw.list(Some(&under)).try_collect().await.unwrap();
        let mut altered = 0;
        for o in &objects {
            let mut bytes = raw
                .get(&o.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            let mut hit = false;
            for at in 0..bytes.len().saturating_sub(5) {
                if &bytes[at..at + 5] == b"saved" {
                    bytes[at..at + 5].copy_from_slice(b"faked");
                    hit = true;
                }
            }
            if hit {
                raw.put_opts(&o.location, bytes.into(), Default::default())
                    .await
                    .unwrap();
                altered += 1;
            }
        }
        altered
    })
}

#[test]
fn an_index_object_that_is_not_what_the_graph_says_is_refused() {
    let Some(mut fleet) = Fleet::start("tampered index snapshots") else {
        return;
    };
    let a = a_with_a_saved_index(&mut fleet);
    assert!(tamper_with_index_objects(&fleet.garage) >= 1);

    let c = fleet.new_server();
    assert_eq!(answers(&c), answers(&a), "C's index is right all the same");
    let r = c.index_refreshes();
    assert_eq!(
        (r.rebuilt, r.from_snapshot),
        (1, 0),
        "the forged index is refused and C rebuilds from the graph: {r:?}"
    );
    // C's rebuild saved its own index (uploading the objects again), so the
    // next new server starts from it.
    assert_eq!(r.snapshots_saved, 1, "{r:?}");
    let d = fleet.new_server();
    assert_eq!(answers(&d), answers(&a));
    let r = d.index_refreshes();
    assert_eq!((r.rebuilt, r.from_snapshot), (0, 1), "{r:?}");
}

/// Entries in the snapshot graph that a hostile writer of the endpoint (or
/// a confused one) left: a path where a digest belongs, a generation that is
/// no number, two bases for one entry, a digest of no object. None is
/// followed: the new server reads no object by an unchecked name, rebuilds
/// from the graph, and answers as A does.
#[test]
fn snapshot_entries_that_are_not_well_formed_are_skipped() {
    let Some(mut fleet) = Fleet::start("malformed snapshot entries") else {
        return;
    };
    let a = fleet.new_server();
    for i in 0..3 {
        Pkg::new(&format!("snap-{i:02}"), "1.0.0")
            .description("a package in a saved index")
            .publish(&a);
    }
    let g = a.generation().unwrap();
    let digest = "ab".repeat(32);
    let graph = format!("<{}/index-snapshots>", ggen_marketplace_v2::DEFAULT_GRAPH);
    let mp = "https://ggen.io/marketplace/";
    let update = format!(
        "DROP SILENT GRAPH {graph} ; INSERT DATA {{ GRAPH {graph} {{ \
         _:a <{mp}snapshotGeneration> {g} ; <{mp}snapshotBase> \"../../../etc/passwd\" . \
         _:b <{mp}snapshotGeneration> \"soon\" ; <{mp}snapshotBase> \"{digest}\" . \
         _:c <{mp}snapshotGeneration> {g} ; <{mp}snapshotBase> \"{digest}\", \"{}\" . \
         _:d <{mp}snapshotGeneration> {g} ; <{mp}snapshotBase> \"{digest}\" . }} }}",
        "cd".repeat(32)
    );
    let answer = ureq::post(fleet.sparql.update_url())
        .send_form([("update", update.as_str())])
        .unwrap();
    assert!(answer.status().is_success());

    let c = fleet.new_server();
    assert_eq!(answers(&c), answers(&a));
    let r = c.index_refreshes();
    assert_eq!((r.rebuilt, r.from_snapshot), (1, 0), "{r:?}");
}
