//! Where V2 keeps archives (`marketplace.blobs.*`, `GGEN_MARKETPLACE_BLOBS_*`):
//! unset, the registry directory's `blobs/`; set, an S3-compatible bucket that
//! every registry server of a fleet shares.
//!
//! Each key comes from the environment if set there, else the file. The
//! secret key is kept out of `Serialize` and `Debug`, as the endpoint's
//! password is.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::env::{self, Env};
use super::{Source, Sourced};
use crate::error::{Error, Result};

/// `marketplace.blobs:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobSection {
    /// `s3://bucket[/prefix]`.
    pub url: Option<String>,
    /// `http(s)://host[:port]` of an S3-compatible server (unset: AWS).
    pub endpoint: Option<String>,
    /// Signing region.
    pub region: Option<String>,
    /// Access key.
    pub access_key_id: Option<String>,
    /// Secret key (better given as `GGEN_MARKETPLACE_BLOBS_SECRET_ACCESS_KEY`).
    pub secret_access_key: Option<String>,
}

/// The object store in force.
#[derive(Clone, PartialEq, Serialize)]
pub struct BlobSettings {
    /// `s3://bucket[/prefix]`, and where it was set.
    pub url: Sourced<String>,
    /// The server, when not AWS.
    pub endpoint: Option<String>,
    /// Signing region (`us-east-1` unless set).
    pub region: String,
    /// Access key, if any.
    pub access_key_id: Option<String>,
    /// Secret key: never serialized or printed.
    #[serde(skip)]
    pub secret_access_key: Option<String>,
}

impl fmt::Debug for BlobSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobSettings")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(set)"),
            )
            .finish()
    }
}

/// The five keys, file name and variable.
const KEYS: [(&str, &str); 5] = [
    ("url", env::BLOBS_URL),
    ("endpoint", env::BLOBS_ENDPOINT),
    ("region", env::BLOBS_REGION),
    ("access_key_id", env::BLOBS_ACCESS_KEY_ID),
    ("secret_access_key", env::BLOBS_SECRET_ACCESS_KEY),
];

/// The object store from the file's section and the environment; `None`
/// when no URL is set anywhere. Settings that cannot work (a bad URL, keys
/// without a URL, one key without the other) are errors naming the key or
/// the variable they came from.
pub fn resolve(
    section: Option<&BlobSection>,
    path: &Path,
    env: Env<'_>,
    v2_compiled: bool,
) -> Result<Option<BlobSettings>> {
    let file = |key: &str| {
        section.and_then(|s| match key {
            "url" => s.url.clone(),
            "endpoint" => s.endpoint.clone(),
            "region" => s.region.clone(),
            "access_key_id" => s.access_key_id.clone(),
            _ => s.secret_access_key.clone(),
        })
    };
    let values: Vec<Option<Sourced<String>>> = KEYS
        .iter()
        .map(|(key, var)| match env(var) {
            Some(v) => Some(Sourced {
                value: v,
                source: Source::Env((*var).into()),
            }),
            None => file(key).map(|v| Sourced::file(v, path)),
        })
        .collect();
    let bad = |index: usize, message: String| {
        let (key, var) = KEYS[index];
        match values[index].as_ref().map(|s| &s.source) {
            Some(Source::Env(_)) => Error::Env {
                var: var.into(),
                message,
                fix: None,
            },
            _ => Error::Config {
                path: path.to_path_buf(),
                message: format!("marketplace.blobs.{key}: {message}"),
                fix: None,
            },
        }
    };
    let Some(url) = values[0].clone() else {
        if let Some(i) = values.iter().position(Option::is_some) {
            return Err(bad(
                i,
                format!(
                    "is set but marketplace.blobs.url ({}) is not: give the bucket as `s3://bucket[/prefix]`, or remove the other blob settings",
                    env::BLOBS_URL
                ),
            ));
        }
        return Ok(None);
    };
    if !v2_compiled {
        return Err(bad(
            0,
            "an object store keeps V2's archives, and this build has no V2 (build with the marketplace-v2 feature)".into(),
        ));
    }
    let value = |i: usize| values[i].as_ref().map(|s| s.value.clone());
    let settings = BlobSettings {
        url,
        endpoint: value(1),
        region: value(2).unwrap_or_else(|| "us-east-1".into()),
        access_key_id: value(3),
        secret_access_key: value(4),
    };
    #[cfg(feature = "marketplace-v2")]
    if let Err(e) = settings.s3_config(std::time::Duration::from_secs(30)) {
        let index = KEYS.iter().position(|(k, _)| *k == e.field).unwrap_or(0);
        return Err(bad(index, e.reason));
    }
    Ok(Some(settings))
}

#[cfg(feature = "marketplace-v2")]
impl BlobSettings {
    /// The client settings, each request limited to `timeout`.
    pub fn s3_config(
        &self,
        timeout: std::time::Duration,
    ) -> std::result::Result<ggen_marketplace_s3::S3Config, ggen_marketplace_s3::ConfigError> {
        let mut c = ggen_marketplace_s3::S3Config::from_url(&self.url.value)?;
        c.endpoint = self.endpoint.clone();
        c.region = self.region.clone();
        c.access_key_id = self.access_key_id.clone();
        c.secret_access_key = self.secret_access_key.clone();
        c.timeout = timeout;
        c.check()?;
        Ok(c)
    }
}
