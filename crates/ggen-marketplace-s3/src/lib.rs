//! Archives in S3-compatible object storage: the [`BlobStore`] a fleet of
//! registry servers shares, so a package published through one server
//! installs through every other.
//!
//! Built on `object_store` (Apache Arrow's; the object-store layer of
//! DataFusion, Delta and others): signing, retries with backoff, timeouts and
//! streaming bodies are its, kept and tested against AWS, MinIO, Garage and
//! more; what is ours is small. The layout is the local one
//! (`<prefix>/sha256/<ab>/<sha256>.tar.gz`, [`BlobKey::relative_path`]), so
//! a registry's `blobs/` folder can be copied into a bucket as it stands.
//!
//! A publish is visible only once its archive is verified in the bucket:
//! [`S3Blobs::put`] sends the SHA-256 with the upload (servers that check
//! `x-amz-checksum-sha256` refuse a body damaged on the way), then reads the
//! object back and hashes it, so a server that accepted something else is
//! caught before the version is recorded. Downloads stream ([`S3Blobs::get`])
//! and are checked as they are read, by the caller
//! ([`ggen_marketplace_core::blobs::open_archive`]).
//!
//! | module | holds |
//! |---|---|
//! | `config` | [`S3Config`]: bucket, prefix, endpoint, keys, limits, and their checks |
//! | `bridge` | the runtime requests run on, and a blocking reader over a body |

mod bridge;
mod config;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use ggen_marketplace_core::blobs::{BlobKey, BlobStore};
use ggen_marketplace_core::{ArchiveStream, MarketplaceError, Result};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, GetOptions, ObjectStore, PutOptions, RetryConfig};
use sha2::{Digest, Sha256};

pub use config::{ConfigError, S3Config};

/// How the store is named in errors (the `backend` of `Unavailable`).
const STORE: &str = "object store";

/// Archives in a bucket of an S3-compatible server.
pub struct S3Blobs {
    config: S3Config,
    store: Arc<AmazonS3>,
}

impl S3Blobs {
    /// A client for `config`, checked first. Nothing is sent until first use.
    pub fn new(config: S3Config) -> Result<Self> {
        config
            .check()
            .map_err(|e| MarketplaceError::Other(format!("object store settings: {e}")))?;
        install_tls_provider();
        let mut options = ClientOptions::new()
            .with_timeout(config.timeout)
            .with_connect_timeout(config.connect_timeout);
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_retry(RetryConfig {
                max_retries: config.retries,
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &config.endpoint {
            // Path-style requests (`endpoint/bucket/key`): what self-hosted
            // servers expect without wildcard DNS.
            builder = builder
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
            options = options.with_allow_http(endpoint.starts_with("http://"));
        }
        match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret)
            }
            _ => builder = builder.with_skip_signature(true),
        }
        let store = builder
            .with_client_options(options)
            .build()
            .map_err(|e| MarketplaceError::Other(format!("object store settings: {e}")))?;
        Ok(Self {
            config,
            store: Arc::new(store),
        })
    }

    /// The settings this client was made from.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn object(&self, key: &BlobKey) -> ObjectPath {
        let relative = key.relative_path();
        if self.config.prefix.is_empty() {
            ObjectPath::from(relative)
        } else {
            ObjectPath::from(format!("{}/{relative}", self.config.prefix))
        }
    }

    /// A failure to reach or use the store, naming where and what to check.
    fn unavailable(
        &self,
        doing: &str,
        key: &BlobKey,
        e: impl std::fmt::Display,
    ) -> MarketplaceError {
        MarketplaceError::Unavailable {
            backend: STORE.into(),
            reason: format!(
                "{doing} {} at {} failed: {e}. Check that the server is up and the `marketplace.blobs` settings (`ggen marketplace status` shows them)",
                self.locate(key).display(),
                self.config.endpoint_name(),
            ),
        }
    }

    /// Hashes the stored object: what the bucket would serve now.
    fn stored_digest(&self, key: &BlobKey) -> Result<Option<String>> {
        let Some(mut body) = self.get(key)? else {
            return Ok(None);
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = body
                .read(&mut buf)
                .map_err(|e| self.unavailable("reading back", key, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }
}

impl BlobStore for S3Blobs {
    fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<()> {
        let store = self.store.clone();
        let path = self.object(key);
        let payload = bytes::Bytes::copy_from_slice(bytes);
        bridge::wait(async move {
            store
                .put_opts(&path, payload.into(), PutOptions::default())
                .await
        })
        .map_err(|e| self.unavailable("uploading", key, e))?;
        match self.stored_digest(key)? {
            Some(d) if d == key.as_str() => Ok(()),
            Some(d) => Err(MarketplaceError::Unavailable {
                backend: STORE.into(),
                reason: format!(
                    "{} at {} holds other bytes (sha256 {d}) right after the upload of {}: the server or something on the way altered the bytes; nothing was published",
                    self.locate(key).display(),
                    self.config.endpoint_name(),
                    key.as_str()
                ),
            }),
            None => Err(MarketplaceError::Unavailable {
                backend: STORE.into(),
                reason: format!(
                    "{} at {} is not there right after its upload: the bucket does not keep what it accepts; nothing was published",
                    self.locate(key).display(),
                    self.config.endpoint_name(),
                ),
            }),
        }
    }

    fn get(&self, key: &BlobKey) -> Result<Option<ArchiveStream>> {
        let store = self.store.clone();
        let path = self.object(key);
        let answer =
            bridge::wait(async move { store.get_opts(&path, GetOptions::default()).await });
        match answer {
            Ok(found) => {
                let body = futures_util::StreamExt::boxed(futures_util::StreamExt::map(
                    found.into_stream(),
                    |chunk| chunk.map_err(std::io::Error::other),
                ));
                Ok(Some(Box::new(bridge::StreamReader::new(body))))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.unavailable("downloading", key, e)),
        }
    }

    fn locate(&self, key: &BlobKey) -> PathBuf {
        PathBuf::from(format!("s3://{}/{}", self.config.bucket, self.object(key)))
    }

    fn describe(&self) -> String {
        format!(
            "s3 {} at {}",
            self.config.url(),
            self.config.endpoint_name()
        )
    }

    fn shared(&self) -> bool {
        true
    }
}

/// reqwest is built without a TLS provider of its own (`aws-lc-rs` would be
/// a second C build); ring is installed as the process default once, unless
/// something else already was.
fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
