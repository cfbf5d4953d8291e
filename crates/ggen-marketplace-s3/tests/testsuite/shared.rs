//! Two V2 clients on different machines' worth of local state, sharing one
//! SPARQL endpoint and one bucket: what a fleet of registry servers is.

use std::sync::Arc;

use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::V2Backend;
use ggen_test_support::{GarageServer, OxigraphServer, Pkg, garage_available, oxigraph_available};

use crate::client;

fn v2_client(sparql: &OxigraphServer, garage: &GarageServer, home: &std::path::Path) -> V2Backend {
    V2Backend::remote(&sparql.query_url(), &sparql.update_url(), home)
        .unwrap()
        .with_blobs(Arc::new(client(garage, "fleet")))
}

#[test]
fn a_package_published_through_one_client_installs_through_another() {
    if !garage_available("shared archives") || !oxigraph_available("shared archives") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let sparql = OxigraphServer::start(&data.path().join("graph"));
    let garage = GarageServer::start();
    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = v2_client(&sparql, &garage, home_a.path());
    let b = v2_client(&sparql, &garage, home_b.path());

    let pkg = Pkg::new("shared-archive", "1.0.0").description("published through A");
    let release = pkg.publish(&a);
    let version = release.version.clone();
    assert_eq!(b.package("shared-archive").unwrap().versions.len(), 1);
    assert_eq!(
        b.fetch_archive("shared-archive", &version).unwrap(),
        pkg.archive()
    );
    // Neither client's own directory holds the archive: the bucket does.
    for home in [home_a.path(), home_b.path()] {
        assert!(
            !home.join("blobs").exists(),
            "{} has local blobs",
            home.display()
        );
    }
}

#[test]
fn a_publish_while_the_store_is_down_is_visible_nowhere() {
    if !garage_available("store down") || !oxigraph_available("store down") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let sparql = OxigraphServer::start(&data.path().join("graph"));
    let mut garage = GarageServer::start();
    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = v2_client(&sparql, &garage, home_a.path());
    let b = v2_client(&sparql, &garage, home_b.path());

    garage.stop();
    let (release, archive) = Pkg::new("never-there", "1.0.0").release();
    let err = a.publish(&release, &archive).unwrap_err();
    assert!(matches!(err, MarketplaceError::Unavailable { .. }), "{err}");
    for client in [&a, &b] {
        assert!(matches!(
            client.package("never-there"),
            Err(MarketplaceError::NotFound { .. })
        ));
    }

    // Once the store is back the same publish succeeds, and B installs it.
    garage.restart();
    a.publish(&release, &archive).unwrap();
    assert_eq!(
        b.fetch_archive("never-there", &release.version).unwrap(),
        archive
    );
}
