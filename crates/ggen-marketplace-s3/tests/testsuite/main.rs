//! The S3 blob store against a real Garage on loopback (one test binary).

mod blobs;
mod shared;
mod snapshots;

use ggen_marketplace_s3::{S3Blobs, S3Config};
use ggen_test_support::garage::{self, GarageServer};

/// A client of `server` under `prefix`, with short limits so an outage is
/// reported in seconds.
pub fn client(server: &GarageServer, prefix: &str) -> S3Blobs {
    S3Blobs::new(config(server, prefix)).unwrap()
}

/// The settings of [`client`].
pub fn config(server: &GarageServer, prefix: &str) -> S3Config {
    let mut c = S3Config::from_url(&server.url(prefix)).unwrap();
    c.endpoint = Some(server.endpoint());
    c.region = garage::REGION.into();
    c.access_key_id = Some(garage::ACCESS_KEY_ID.into());
    c.secret_access_key = Some(garage::SECRET_ACCESS_KEY.into());
    c.timeout = std::time::Duration::from_secs(10);
    c.connect_timeout = std::time::Duration::from_secs(2);
    c.retries = 1;
    c
}

/// A client of `server` that bypasses [`S3Blobs`], to alter objects behind
/// its back as an attacker with write access to the bucket would.
pub fn raw_client(server: &GarageServer) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(garage::BUCKET)
        .with_region(garage::REGION)
        .with_endpoint(server.endpoint())
        .with_allow_http(true)
        .with_access_key_id(garage::ACCESS_KEY_ID)
        .with_secret_access_key(garage::SECRET_ACCESS_KEY)
        .build()
        .unwrap()
}
