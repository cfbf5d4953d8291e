//! `config.yaml`, exactly as written: every section and key as serde reads
//! them. Unknown keys are errors naming the key and the file: a typo must not
//! silently route traffic.
//!
//! A few keys are accepted under a second spelling that earlier configs used
//! (`marketplace.v2_percentage`, `enable_ab_testing`, `fallback_on_error`,
//! `fallback.fallback_to_v1`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Operation;
use crate::error::{Error, Result};

/// `config.yaml` as written by the user; unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `marketplace:`: backends, routing, breakers, caches.
    #[serde(default)]
    pub marketplace: MarketplaceSection,
    /// `install:`: what installs insist on.
    #[serde(default)]
    pub install: InstallSection,
    /// `registry:`: the registry server to use.
    #[serde(default)]
    pub registry: RegistrySection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceSection {
    pub backend: Option<StrategyName>,
    pub fallback: Option<FallbackSection>,
    /// Older spelling of `fallback.enabled`.
    pub fallback_on_error: Option<bool>,
    /// Older spelling of `ab_testing.v2_percentage`.
    pub v2_percentage: Option<i64>,
    /// Older spelling of `ab_testing.enabled`.
    pub enable_ab_testing: Option<bool>,
    pub log_backend_selection: Option<bool>,
    pub ab_testing: Option<AbSection>,
    #[serde(default)]
    pub operations: BTreeMap<Operation, OperationOverride>,
    pub publishing: Option<PublishingSection>,
    pub v2: Option<V2Section>,
    /// Where V2 keeps archives (see `config::blobs`).
    pub blobs: Option<super::blobs::BlobSection>,
    pub circuit_breaker: Option<BreakerSection>,
    pub retry: Option<RetrySection>,
    pub timeouts: Option<TimeoutSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    V1,
    V2,
    AbTest,
    Compare,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackSection {
    pub enabled: Option<bool>,
    /// Older spelling of `enabled`.
    pub fallback_to_v1: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbSection {
    pub enabled: Option<bool>,
    pub v2_percentage: Option<i64>,
    pub log_backend_selection: Option<bool>,
    pub compare_results: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OperationOverride {
    Backend(StrategyName),
    Detailed(OperationDetail),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationDetail {
    pub backend: Option<StrategyName>,
    pub ab_testing: Option<AbSection>,
    pub fallback: Option<FallbackSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishingSection {
    pub signing: Option<SigningSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningSection {
    pub enabled: Option<bool>,
    pub required: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Section {
    /// SPARQL query endpoint, e.g. `http://127.0.0.1:7878/query`.
    pub endpoint: Option<String>,
    /// SPARQL update endpoint; defaults to the query endpoint with `/query` -> `/update`.
    pub update_endpoint: Option<String>,
    /// The named graph holding the registry on the endpoint (`default`: its default graph).
    pub graph: Option<String>,
    /// How requests travel: `form` (default), `direct` or `get`.
    pub protocol: Option<String>,
    /// HTTP Basic user (with `password`).
    pub user: Option<String>,
    /// HTTP Basic password (or `GGEN_MARKETPLACE_V2_PASSWORD`).
    pub password: Option<String>,
    /// Bearer token (or `GGEN_MARKETPLACE_V2_TOKEN`).
    pub token: Option<String>,
    /// PEM file of the CA certificates to trust for an `https://` endpoint.
    pub ca_file: Option<PathBuf>,
    /// etcd client URL of a fleet's writers' lock, e.g. `http://etcd:2379`.
    pub lock_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSection {
    pub window: Option<u32>,
    pub minimum_calls: Option<u32>,
    pub failure_rate: Option<f64>,
    pub slow_call_ms: Option<u64>,
    pub open_seconds: Option<u64>,
    pub half_open_probes: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    pub attempts: Option<u32>,
    pub initial_ms: Option<u64>,
    pub factor: Option<f64>,
    pub max_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSection {
    pub search_ms: Option<u64>,
    pub install_ms: Option<u64>,
    pub compare_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallSection {
    pub require_signatures: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    pub url: Option<String>,
    /// Send a token over plain `http://` to a host that is not this machine.
    pub allow_insecure_http: Option<bool>,
}

/// Reads `path` if it exists. A missing file is the defaults; an unreadable or
/// invalid one is an error naming the file and the key.
pub fn read_file(path: &Path) -> Result<Option<ConfigFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Config {
                path: path.to_path_buf(),
                message: format!("cannot read: {e}"),
                fix: None,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(ConfigFile::default()));
    }
    serde_norway::from_str(&text).map(Some).map_err(|e| {
        let message = e.to_string();
        Error::Config {
            path: path.to_path_buf(),
            fix: Some(super::mistakes::fix_for_parse_error(&message, &text)),
            message,
        }
    })
}
