//! Storing, streaming and verifying archives in a real bucket.

use std::io::Read;
use std::sync::Arc;

use ggen_marketplace_core::MarketplaceError;
use ggen_marketplace_core::blobs::{self, BlobKey, BlobStore};
use ggen_marketplace_s3::S3Blobs;
use ggen_test_support::{GarageServer, Rng, garage, garage_available};
use object_store::ObjectStore;
use semver::Version;

use crate::{client, config};

fn v1() -> Version {
    Version::new(1, 0, 0)
}

#[test]
fn a_large_archive_round_trips_streamed_and_verified() {
    if !garage_available("s3 round trip") {
        return;
    }
    let server = GarageServer::start();
    let store = client(&server, "registry/main");
    // Incompressible, larger than any one chunk of a response body.
    let bytes = Rng::new(7).bytes(2_800_000);
    let key = BlobKey::of(&bytes);
    assert!(store.get(&key).unwrap().is_none(), "a new bucket is empty");
    store.put(&key, &bytes).unwrap();
    store.put(&key, &bytes).unwrap(); // again: harmless

    let mut streamed = Vec::new();
    let mut reader = blobs::open_archive(&store, "big", &v1(), Some(key.as_str())).unwrap();
    let mut chunk = vec![0; 8192];
    let mut reads = 0;
    loop {
        let n = reader.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        reads += 1;
        streamed.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(streamed, bytes);
    assert!(reads > 300, "read in pieces, not at once ({reads} reads)");
    assert_eq!(
        blobs::read_archive(&store, "big", &v1(), Some(key.as_str())).unwrap(),
        bytes
    );
    assert_eq!(
        store.locate(&key).to_string_lossy(),
        format!(
            "s3://{}/registry/main/sha256/{}/{}.tar.gz",
            garage::BUCKET,
            &key.as_str()[..2],
            key.as_str()
        )
    );
    assert!(store.describe().contains(&server.endpoint()));
}

/// Overwrites the object of `key` behind the store's back, as an attacker
/// with write access to the bucket (or a failing disk) would.
fn tamper(server: &GarageServer, prefix: &str, key: &BlobKey, bytes: &'static [u8]) {
    let raw = crate::raw_client(server);
    let path = object_store::path::Path::from(format!("{prefix}/{}", key.relative_path()));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(raw.put_opts(&path, bytes.into(), Default::default()))
        .unwrap();
}

#[test]
fn altered_objects_are_refused_and_a_second_put_repairs_them() {
    if !garage_available("s3 tampering") {
        return;
    }
    let server = GarageServer::start();
    let store = client(&server, "p");
    let bytes = b"the archive as published".to_vec();
    let key = BlobKey::of(&bytes);
    store.put(&key, &bytes).unwrap();
    tamper(&server, "p", &key, b"something else entirely");

    let err = blobs::read_archive(&store, "a", &v1(), Some(key.as_str())).unwrap_err();
    assert!(
        matches!(err, MarketplaceError::ChecksumMismatch { .. }),
        "{err}"
    );
    let mut out = Vec::new();
    let err = blobs::open_archive(&store, "a", &v1(), Some(key.as_str()))
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");

    store.put(&key, &bytes).unwrap();
    assert_eq!(
        blobs::read_archive(&store, "a", &v1(), Some(key.as_str())).unwrap(),
        bytes
    );
}

#[test]
fn an_outage_is_a_named_error_and_the_store_works_again_after_it() {
    if !garage_available("s3 outage") {
        return;
    }
    let mut server = GarageServer::start();
    let store = client(&server, "");
    let bytes = b"kept across a restart".to_vec();
    let key = BlobKey::of(&bytes);
    store.put(&key, &bytes).unwrap();

    server.stop();
    let other = BlobKey::of(b"other");
    let err = store.put(&other, b"other").unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, MarketplaceError::Unavailable { .. }),
        "{text}"
    );
    assert!(
        text.contains(&server.endpoint()) && text.contains("marketplace.blobs"),
        "{text}"
    );
    assert!(err.is_transient(), "an outage is worth a retry: {text}");
    let err = blobs::read_archive(&store, "a", &v1(), Some(key.as_str())).unwrap_err();
    assert!(matches!(err, MarketplaceError::Unavailable { .. }), "{err}");

    server.restart();
    assert_eq!(
        blobs::read_archive(&store, "a", &v1(), Some(key.as_str())).unwrap(),
        bytes,
        "what was stored before the outage is there after it"
    );
    store.put(&other, b"other").unwrap();
}

#[test]
fn wrong_credentials_are_refused_with_the_setting_to_check() {
    if !garage_available("s3 credentials") {
        return;
    }
    let server = GarageServer::start();
    let mut c = config(&server, "");
    c.secret_access_key = Some("00".repeat(32));
    let store = S3Blobs::new(c).unwrap();
    let err = store.put(&BlobKey::of(b"x"), b"x").unwrap_err().to_string();
    assert!(err.contains("marketplace.blobs"), "{err}");
    // Nothing is readable without the right key either.
    let good = client(&server, "");
    good.put(&BlobKey::of(b"x"), b"x").unwrap();
    let err = store
        .get(&BlobKey::of(b"x"))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("downloading"), "{err}");
}

#[test]
fn a_store_is_shared_safely_between_threads() {
    if !garage_available("s3 threads") {
        return;
    }
    let server = GarageServer::start();
    let store: Arc<dyn BlobStore> = Arc::new(client(&server, "t"));
    let handles: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                let bytes = vec![i; 10_000 + i as usize];
                let key = BlobKey::of(&bytes);
                store.put(&key, &bytes).unwrap();
                blobs::read_archive(store.as_ref(), "t", &v1(), Some(key.as_str())).unwrap()
                    == bytes
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}
