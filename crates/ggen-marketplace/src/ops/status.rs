//! `status`: what this build and configuration will do, and whether each
//! backend answers, as one typed report for both JSON and people.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ggen_marketplace_core::{BackendKind, BackendMetadata};
use serde::Serialize;

use crate::config::{BackendStrategy, Compiled, Operation, Sourced};
use crate::marketplace::Marketplace;
use crate::routing::breaker::CircuitState;

/// One backend's state.
#[derive(Debug, Clone, Serialize)]
pub struct BackendStatus {
    /// It opened and answered.
    pub available: bool,
    /// Its circuit breaker.
    pub circuit: CircuitState,
    /// What it holds, when it answered.
    pub metadata: Option<BackendMetadata>,
    /// Why not, when it did not.
    pub error: Option<String>,
}

/// The graph a V2 endpoint holds the registry in unless configured.
#[cfg(feature = "marketplace-v2")]
const DEFAULT_GRAPH: &str = ggen_marketplace_v2::DEFAULT_GRAPH;
#[cfg(not(feature = "marketplace-v2"))]
const DEFAULT_GRAPH: &str = "(none: V2 is not compiled)";

/// Where V2's graph lives, without any secret.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStatus {
    /// The query endpoint, and where that setting came from.
    pub query: Sourced<String>,
    /// The update endpoint.
    pub update: Option<String>,
    /// The graph the registry lives in there (`default`: the endpoint's
    /// default graph), and where that setting came from.
    pub graph: Sourced<String>,
    /// How requests travel: `form`, `direct` or `get`.
    pub protocol: String,
    /// The kind of credentials sent (`none`, `basic (user NAME)`, `bearer
    /// token`); never the secret.
    pub auth: String,
    /// The CA file trusted instead of the system's roots, if any.
    pub ca_file: Option<PathBuf>,
    /// The etcd a fleet's writers take turns through, and where that
    /// setting came from; `None`: writes are serialised on this machine only.
    pub lock_url: Option<Sourced<String>>,
}

/// Everything `ggen marketplace status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `marketplace-v1`, `marketplace-v2`, `marketplace-parallel` as compiled.
    pub features: Vec<&'static str>,
    /// `GGEN_HOME`.
    pub home: PathBuf,
    /// The registry directory.
    pub registry: PathBuf,
    /// The config file's path.
    pub config_file: PathBuf,
    /// Whether it exists (otherwise the defaults apply).
    pub config_file_present: bool,
    /// The strategy of each operation and where it came from.
    pub operations: BTreeMap<Operation, Sourced<BackendStrategy>>,
    /// Whether reads fall back to V1, and where that came from.
    pub fallback: Sourced<bool>,
    /// A remote V2 endpoint, if one is configured.
    pub v2_endpoint: Option<EndpointStatus>,
    /// Where V2 keeps archives: `local <dir>`, or the object store.
    pub archives: String,
    /// Why these settings cannot serve a fleet, when they make this process
    /// one of a fleet but can still reach V1 ([`crate::Settings::fleet_conflict`]).
    pub fleet_conflict: Option<String>,
    /// The registry server every command goes to, if any.
    pub registry_url: Option<Sourced<String>>,
    /// Each backend of this build.
    pub backends: BTreeMap<BackendKind, BackendStatus>,
}

impl Marketplace {
    /// Asks every compiled backend for its metadata and reports the rest of
    /// the configuration beside it.
    pub fn status(&self) -> StatusReport {
        let compiled = Compiled::this_build();
        let features = [
            (compiled.v1, "marketplace-v1"),
            (compiled.v2, "marketplace-v2"),
            (compiled.v1 && compiled.v2, "marketplace-parallel"),
        ]
        .into_iter()
        .filter_map(|(on, f)| on.then_some(f))
        .collect();
        let mut backends = BTreeMap::new();
        for kind in [BackendKind::V1, BackendKind::V2] {
            let circuit = self.breaker(kind).state();
            let answer = self.single(kind).and_then(|b| Ok(b.metadata()?));
            backends.insert(
                kind,
                match answer {
                    Ok(m) => BackendStatus {
                        available: true,
                        circuit,
                        metadata: Some(m),
                        error: None,
                    },
                    Err(e) => BackendStatus {
                        available: false,
                        circuit,
                        metadata: None,
                        error: Some(e.to_string()),
                    },
                },
            );
        }
        let s = &self.settings;
        StatusReport {
            features,
            home: self.paths.home.clone(),
            registry: self.paths.registry.clone(),
            config_file: self.paths.config_file(),
            config_file_present: s.config_file.is_some(),
            operations: s.strategies.clone(),
            fallback: s.fallback_enabled.clone(),
            v2_endpoint: s.v2_endpoint.clone().map(|query| {
                let o = &s.v2_options;
                EndpointStatus {
                    query,
                    update: s.v2_update_endpoint.clone(),
                    graph: o
                        .graph
                        .clone()
                        .unwrap_or_else(|| Sourced::default(DEFAULT_GRAPH.to_string())),
                    protocol: o
                        .protocol
                        .as_ref()
                        .map_or_else(Default::default, |p| p.value)
                        .to_string(),
                    auth: o.auth.kind(),
                    ca_file: o.ca_file.clone(),
                    lock_url: o.lock_url.clone(),
                }
            }),
            archives: match &s.blobs {
                Some(b) => format!(
                    "s3 {} at {} ({})",
                    b.url.value,
                    b.endpoint.as_deref().unwrap_or("AWS S3"),
                    b.url.source
                ),
                None => format!("local {}", self.paths.registry.join("blobs").display()),
            },
            fleet_conflict: s.fleet_conflict(),
            registry_url: s.registry_url.clone(),
            backends,
        }
    }
}
