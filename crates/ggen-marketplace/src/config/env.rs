//! The environment: every variable ggen reads, named and parsed here and
//! nowhere else. Each is read through an [`Env`] so tests and benchmarks can
//! give a process several configurations ([`crate::Settings::from_pairs`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// A lookup of environment variables (the process's, or a test's pairs).
/// Empty values count as unset.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, empty values treated as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Every variable, for `status` and the documentation test.
pub const ALL: &[&str] = &[
    HOME,
    REGISTRY_DIR,
    CONFIG_DIR,
    USER_ID,
    BACKEND,
    V2_PERCENTAGE,
    FALLBACK,
    V2_ENDPOINT,
    V2_UPDATE_ENDPOINT,
    V2_GRAPH,
    V2_PROTOCOL,
    V2_USER,
    V2_PASSWORD,
    V2_TOKEN,
    V2_CA_FILE,
    V2_LOCK_URL,
    BLOBS_URL,
    BLOBS_ENDPOINT,
    BLOBS_REGION,
    BLOBS_ACCESS_KEY_ID,
    BLOBS_SECRET_ACCESS_KEY,
    REGISTRY_URL,
    REGISTRY_TOKEN,
    REGISTRY_ALLOW_INSECURE_HTTP,
    CACHE_SIZE,
    SEARCH_CACHE,
    PACKAGE_CACHE,
    SPARQL_CACHE,
    SIGNATURE_CACHE,
    STORE_WAIT_MS,
    METRICS_FILE,
    FAULT_DELAY_MS,
];

/// Where state lives (default `~/.ggen`).
pub const HOME: &str = "GGEN_HOME";
/// Moves just the registry (default `$GGEN_HOME/registry`).
pub const REGISTRY_DIR: &str = "GGEN_REGISTRY_DIR";
/// Where `config.yaml` lives (default the XDG config dir's `ggen/`).
pub const CONFIG_DIR: &str = "GGEN_CONFIG_DIR";
/// The A/B subject, instead of the stored random id.
pub const USER_ID: &str = "GGEN_USER_ID";
/// `marketplace.backend` for every operation.
pub const BACKEND: &str = "GGEN_MARKETPLACE_BACKEND";
/// `marketplace.ab_testing.v2_percentage`.
pub const V2_PERCENTAGE: &str = "GGEN_MARKETPLACE_V2_PERCENTAGE";
/// `marketplace.fallback.enabled`.
pub const FALLBACK: &str = "GGEN_MARKETPLACE_FALLBACK";
/// `marketplace.v2.endpoint`.
pub const V2_ENDPOINT: &str = "GGEN_MARKETPLACE_V2_ENDPOINT";
/// `marketplace.v2.update_endpoint`.
pub const V2_UPDATE_ENDPOINT: &str = "GGEN_MARKETPLACE_V2_UPDATE_ENDPOINT";
/// `marketplace.v2.graph`.
pub const V2_GRAPH: &str = "GGEN_MARKETPLACE_V2_GRAPH";
/// `marketplace.v2.protocol`.
pub const V2_PROTOCOL: &str = "GGEN_MARKETPLACE_V2_PROTOCOL";
/// `marketplace.v2.user`.
pub const V2_USER: &str = "GGEN_MARKETPLACE_V2_USER";
/// `marketplace.v2.password`.
pub const V2_PASSWORD: &str = "GGEN_MARKETPLACE_V2_PASSWORD";
/// `marketplace.v2.token`.
pub const V2_TOKEN: &str = "GGEN_MARKETPLACE_V2_TOKEN";
/// `marketplace.v2.ca_file`.
pub const V2_CA_FILE: &str = "GGEN_MARKETPLACE_V2_CA_FILE";
/// `marketplace.v2.lock_url`: the etcd a fleet's writers take turns through.
pub const V2_LOCK_URL: &str = "GGEN_MARKETPLACE_V2_LOCK_URL";
/// `marketplace.blobs.url`: V2's archives in an S3-compatible bucket.
pub const BLOBS_URL: &str = "GGEN_MARKETPLACE_BLOBS_URL";
/// `marketplace.blobs.endpoint`.
pub const BLOBS_ENDPOINT: &str = "GGEN_MARKETPLACE_BLOBS_ENDPOINT";
/// `marketplace.blobs.region`.
pub const BLOBS_REGION: &str = "GGEN_MARKETPLACE_BLOBS_REGION";
/// `marketplace.blobs.access_key_id`.
pub const BLOBS_ACCESS_KEY_ID: &str = "GGEN_MARKETPLACE_BLOBS_ACCESS_KEY_ID";
/// `marketplace.blobs.secret_access_key`.
pub const BLOBS_SECRET_ACCESS_KEY: &str = "GGEN_MARKETPLACE_BLOBS_SECRET_ACCESS_KEY";
/// `registry.url`.
pub const REGISTRY_URL: &str = "GGEN_REGISTRY_URL";
/// The registry server token (never read from the file).
pub const REGISTRY_TOKEN: &str = "GGEN_REGISTRY_TOKEN";
/// `registry.allow_insecure_http`.
pub const REGISTRY_ALLOW_INSECURE_HTTP: &str = "GGEN_REGISTRY_ALLOW_INSECURE_HTTP";
/// Size of every cache tier that has no variable of its own.
pub const CACHE_SIZE: &str = "GGEN_CACHE_SIZE";
/// Search-result tier entries (0 = off).
pub const SEARCH_CACHE: &str = "GGEN_SEARCH_CACHE";
/// Package-metadata tier entries (server; 0 = off).
pub const PACKAGE_CACHE: &str = "GGEN_PACKAGE_CACHE";
/// SPARQL-result tier entries (0 = off).
pub const SPARQL_CACHE: &str = "GGEN_SPARQL_CACHE";
/// Signature-verification tier entries (0 = off).
pub const SIGNATURE_CACHE: &str = "GGEN_SIGNATURE_CACHE";
/// How long to wait for an embedded V2 store another process holds.
pub const STORE_WAIT_MS: &str = "GGEN_STORE_WAIT_MS";
/// Where a CLI run adds its metrics (node-exporter textfile).
pub const METRICS_FILE: &str = "GGEN_METRICS_FILE";
/// Tests only: a pause between a transaction's steps, so a kill lands inside it.
pub const FAULT_DELAY_MS: &str = "GGEN_FAULT_DELAY_MS";

/// `1/true/yes/on` or `0/false/no/off`, any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `var` parsed by `parse`, or an error naming the variable and what it wants.
pub fn parsed<T>(
    env: Env<'_>,
    var: &str,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    match env(var) {
        None => Ok(None),
        Some(v) => parse(&v).map(Some).ok_or_else(|| Error::Env {
            var: var.into(),
            message: format!("`{v}` is not {expected}"),
            fix: None,
        }),
    }
}

/// A cache tier's size: its own variable, else [`CACHE_SIZE`], else `default`.
pub fn cache_size(env: Env<'_>, var: &str, default: u64) -> u64 {
    [var, CACHE_SIZE]
        .iter()
        .find_map(|v| env(v).and_then(|v| v.parse().ok()))
        .unwrap_or(default)
}

/// A directory variable, if set.
pub fn dir(env: Env<'_>, var: &str) -> Option<PathBuf> {
    env(var).map(PathBuf::from)
}

/// [`FAULT_DELAY_MS`] of this process, for the crash tests' kill windows.
pub fn fault_delay() -> Option<Duration> {
    process_env(FAULT_DELAY_MS)
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

/// Sleeps for [`FAULT_DELAY_MS`] if set: install, dual writes, migration and
/// restore call it between their steps so a crash test's kill lands inside a
/// transaction rather than before or after it.
pub(crate) fn fault_pause() {
    if let Some(d) = fault_delay() {
        std::thread::sleep(d);
    }
}
