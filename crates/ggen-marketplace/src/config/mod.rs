//! Configuration: `config.yaml`, environment, flags.
//!
//! Precedence: command-line flag > `GGEN_*` environment > file > built-in
//! default. Every effective setting remembers where it came from, for
//! `ggen marketplace status`. Unknown keys and bad values are errors naming the
//! key and the file (or the variable): a typo must not silently route traffic.
//!
//! | module | holds |
//! |---|---|
//! | `file` | `config.yaml` as written |
//! | `env` | every environment variable ggen reads |
//! | `resolve` | file + environment + flags into [`Settings`] |
//! | `endpoint` | a SPARQL endpoint's graph, protocol, credentials |
//! | `blobs` | the object store V2's archives go to |
//! | `paths` | where state lives |

mod blobs;
mod endpoint;
pub mod env;
mod file;
mod mistakes;
mod paths;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use blobs::BlobSettings;
#[cfg(feature = "marketplace-v2")]
pub use endpoint::v2_endpoint;
pub use endpoint::{EndpointAuth, EndpointOptions, EndpointProtocol};
pub use file::{ConfigFile, read_file};
pub use paths::Paths;

/// How an operation picks its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum BackendStrategy {
    /// Always V1.
    V1Only,
    /// Always V2; its failures are the command's failures.
    V2Only,
    /// V2, answered by V1 when V2 fails or its circuit is open.
    V2WithFallback,
    /// A sticky split: each user's bucket decides, `v2_percentage` of users get V2.
    AbTest {
        /// Share of users routed to V2, 0 to 100.
        v2_percentage: u8,
    },
    /// Both are asked at once, the slower bounded by the compare timeout; V2's
    /// answer is used (V1's when V2 fails and fallback is on) and the
    /// difference goes to the compare log.
    Compare,
}

impl fmt::Display for BackendStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V1Only => f.write_str("v1"),
            Self::V2Only => f.write_str("v2"),
            Self::V2WithFallback => f.write_str("v2 (fallback to v1)"),
            Self::AbTest { v2_percentage } => write!(f, "ab-test ({v2_percentage}% v2)"),
            Self::Compare => f.write_str("compare"),
        }
    }
}

/// The operations that can be routed separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// `search`.
    Search,
    /// `info` and `versions`.
    Info,
    /// `list`.
    List,
    /// `install`, `update` and downloads.
    Install,
    /// `publish` and `yank`.
    Publish,
}

impl Operation {
    /// Every operation, in the order reports list them.
    pub const ALL: [Operation; 5] = [
        Self::Search,
        Self::Info,
        Self::List,
        Self::Install,
        Self::Publish,
    ];

    /// The name in `config.yaml`, `--json` output and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Search => "search",
            Self::Info => "info",
            Self::List => "list",
            Self::Install => "install",
            Self::Publish => "publish",
        }
    }
}

/// Where a setting's value came from, for `ggen marketplace status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "from", rename_all = "lowercase")]
pub enum Source {
    /// Nothing set it.
    Default,
    /// This `config.yaml`.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// This command-line flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(p) => write!(f, "file {}", p.display()),
            Self::Env(v) => write!(f, "env {v}"),
            Self::Flag(v) => write!(f, "flag {v}"),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sourced<T> {
    /// The value in force.
    pub value: T,
    /// Who set it.
    pub source: Source,
}

impl<T> Sourced<T> {
    pub(crate) fn default(value: T) -> Self {
        Self {
            value,
            source: Source::Default,
        }
    }

    fn file(value: T, path: &Path) -> Self {
        Self {
            value,
            source: Source::File(path.to_path_buf()),
        }
    }
}

/// When a backend's circuit opens and how it closes again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerSettings {
    /// Outcomes remembered (the most recent calls).
    pub window: u32,
    /// Calls needed in the window before the circuit may open.
    pub minimum_calls: u32,
    /// Share of failed or slow calls in the window that opens it (0..=1).
    pub failure_rate: f64,
    /// A call slower than this counts as failed.
    pub slow_call: Duration,
    /// How long an open circuit refuses calls before probing.
    pub open_for: Duration,
    /// Successful probes that close a half-open circuit.
    pub half_open_probes: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            window: 20,
            minimum_calls: 10,
            failure_rate: 0.5,
            slow_call: Duration::from_millis(500),
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

/// Retries of a failed idempotent call, with exponential backoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrySettings {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the first retry.
    pub initial: Duration,
    /// Each wait is this many times the one before.
    pub factor: f64,
    /// No wait is longer than this.
    pub max: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            attempts: 3,
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_secs(5),
        }
    }
}

/// Every setting in force, resolved from flags, environment, `config.yaml`
/// and defaults, in that order of precedence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Per operation, the strategy in force and where it came from.
    pub strategies: BTreeMap<Operation, Sourced<BackendStrategy>>,
    /// V2 failures are answered by V1 (`marketplace.fallback.enabled`).
    pub fallback_enabled: Sourced<bool>,
    /// Log which backend answered each operation.
    pub log_backend_selection: bool,
    /// `publish` signs with the local key.
    pub signing_enabled: Sourced<bool>,
    /// Unsigned packages are refused at publish.
    pub signing_required: Sourced<bool>,
    /// Installs refuse packages without a trusted signature.
    pub require_signatures: Sourced<bool>,
    /// The SPARQL query endpoint V2 uses instead of its embedded store.
    pub v2_endpoint: Option<Sourced<String>>,
    /// That endpoint's update URL, when it is not derived from the query URL.
    pub v2_update_endpoint: Option<String>,
    /// That endpoint's graph, protocol form, credentials and roots.
    pub v2_options: EndpointOptions,
    /// The object store V2 keeps archives in, instead of the registry's `blobs/`.
    pub blobs: Option<BlobSettings>,
    /// The registry server every command goes to, if any.
    pub registry_url: Option<Sourced<String>>,
    /// Bearer token for a registry server (`--token`, `GGEN_REGISTRY_TOKEN`);
    /// never read from the config file, which is often shared.
    #[serde(skip)]
    pub registry_token: Option<String>,
    /// `registry.allow_insecure_http` / `GGEN_REGISTRY_ALLOW_INSECURE_HTTP`.
    pub registry_allow_insecure_http: Sourced<bool>,
    /// Circuit breaker around each backend.
    pub breaker: BreakerSettings,
    /// Retries of idempotent calls.
    pub retry: RetrySettings,
    /// How long a search may take before it fails (or falls back).
    pub search_timeout: Duration,
    /// How long an install's download may take.
    pub install_timeout: Duration,
    /// How long compare mode waits for the second answer.
    pub compare_timeout: Duration,
    /// The `config.yaml` that was read, if one exists.
    pub config_file: Option<PathBuf>,
    /// Entries of each cache tier (0 = off); see the `cache` module.
    pub cache_sizes: CacheSizes,
    /// How long to wait for an embedded V2 store another process holds.
    pub store_wait: StoreWait,
    /// The A/B subject given by `GGEN_USER_ID`, instead of the stored id.
    pub user_id: Option<String>,
    /// Where a CLI run adds its metrics (`GGEN_METRICS_FILE`).
    pub metrics_file: Option<PathBuf>,
}

/// How long a command waits for the embedded V2 store while another process
/// holds it (RocksDB admits one process at a time).
///
/// Unless `GGEN_STORE_WAIT_MS` says otherwise, the wait depends on what the
/// command can do without V2: a read V1 can answer instead (both backends
/// compiled, a dual strategy) gives up after a few seconds and falls back;
/// a write (which would leave V2 behind) and anything with V2 as its only
/// backend wait their turn, as cargo does for its package lock, and fail
/// only after two minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreWait {
    /// `GGEN_STORE_WAIT_MS`, which applies to both cases.
    pub explicit: Option<Duration>,
}

impl StoreWait {
    /// The default wait when V1 can answer a read instead of V2.
    pub const WITH_FALLBACK: Duration = Duration::from_secs(5);
    /// The default wait for a write, or when V2 is the only backend.
    pub const ALONE: Duration = Duration::from_secs(120);

    /// The wait for a read that falls back to V1 when V2 cannot be had.
    pub fn with_fallback(self) -> Duration {
        self.explicit.unwrap_or(Self::WITH_FALLBACK)
    }

    /// The wait for a write, or a command that has nothing but V2.
    pub fn alone(self) -> Duration {
        self.explicit.unwrap_or(Self::ALONE)
    }
}

/// Shown as the two waits in force, in milliseconds.
impl Serialize for StoreWait {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown {
            with_fallback_ms: u128,
            alone_ms: u128,
        }
        Shown {
            with_fallback_ms: self.with_fallback().as_millis(),
            alone_ms: self.alone().as_millis(),
        }
        .serialize(s)
    }
}

/// Entries of each cache tier, from `GGEN_*_CACHE`, else `GGEN_CACHE_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheSizes {
    /// Search results on disk (CLI) or in memory (server).
    pub search: u64,
    /// Search results in the server's memory.
    pub server_search: u64,
    /// Package metadata in the server's memory.
    pub packages: u64,
    /// SPARQL answers.
    pub sparql: u64,
}

/// Which backends this build has, for the built-in default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compiled {
    /// `marketplace-v1` is on.
    pub v1: bool,
    /// `marketplace-v2` is on.
    pub v2: bool,
}

impl Compiled {
    /// The features this binary was built with.
    pub const fn this_build() -> Self {
        Self {
            v1: cfg!(feature = "marketplace-v1"),
            v2: cfg!(feature = "marketplace-v2"),
        }
    }
}

/// Overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--backend v1|v2`: every operation on that backend alone.
    pub backend: Option<ggen_marketplace_core::BackendKind>,
    /// `--registry URL`.
    pub registry_url: Option<String>,
    /// `--token TOKEN` for a registry server.
    pub registry_token: Option<String>,
}

impl Settings {
    /// Whether these settings make this process one of a fleet: its graph in
    /// a shared SPARQL endpoint and its archives in a shared object store.
    pub fn is_fleet(&self) -> bool {
        self.v2_endpoint.is_some() && self.blobs.is_some()
    }

    /// Why these settings cannot serve a fleet, if they cannot. V1 is
    /// single-node by design: its `index.json` and tantivy index are files
    /// of one machine, so in a fleet each server's V1 would answer from its
    /// own stale copy. A fleet therefore routes every operation to V2 alone
    /// (`marketplace.backend: v2` with `marketplace.fallback.enabled: false`).
    pub fn fleet_conflict(&self) -> Option<String> {
        if !self.is_fleet() {
            return None;
        }
        // Operations grouped by what reaches V1 and where that was set.
        let mut routed: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (op, s) in &self.strategies {
            if s.value != BackendStrategy::V2Only {
                let why = format!("{} ({})", s.value, s.source);
                routed.entry(why).or_default().push(op.as_str());
            }
        }
        if routed.is_empty() {
            return None;
        }
        let every = routed.len() == 1
            && routed
                .values()
                .all(|ops| ops.len() == self.strategies.len());
        let listed: Vec<String> = routed
            .iter()
            .map(|(why, ops)| match every {
                true => format!("every operation is routed {why}"),
                false => format!(
                    "{} {} routed {why}",
                    ops.join(", "),
                    if ops.len() == 1 { "is" } else { "are" }
                ),
            })
            .collect();
        Some(format!(
            "a shared SPARQL endpoint and object store make this server one of a fleet, but {} and can reach V1, which is single-node (each server's V1 would serve its own stale copy). Set `marketplace.backend: v2` and `marketplace.fallback.enabled: false` (or GGEN_MARKETPLACE_BACKEND=v2 GGEN_MARKETPLACE_FALLBACK=false)",
            listed.join("; ")
        ))
    }

    /// The effective settings of this process: `config_file` (if present),
    /// the process environment and `flags`.
    pub fn load(config_file: &Path, flags: &Flags, compiled: Compiled) -> Result<Self> {
        let file = read_file(config_file)?;
        Self::resolve(file, config_file, &env::process_env, flags, compiled)
    }

    /// The settings this build gets with only `env` as its environment (the
    /// process's own is ignored), no config file and no flags: for tests and
    /// benchmarks that set up several configurations in one process.
    pub fn from_pairs(env: &[(&str, &str)]) -> Result<Self> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |k: &str| {
            env.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        Self::resolve(
            None,
            Path::new("(none)"),
            &lookup,
            &Flags::default(),
            Compiled::this_build(),
        )
    }

    /// The strategy in force for `op`.
    pub fn strategy(&self, op: Operation) -> BackendStrategy {
        self.strategies[&op].value
    }
}

/// `oxigraph serve` answers queries at `/query` and updates at `/update`.
pub fn derive_update_url(query_url: &str) -> String {
    match query_url.strip_suffix("/query") {
        Some(base) => format!("{base}/update"),
        None => query_url.to_string(),
    }
}

/// Parses `30s`, `15m`, `1h`, `7d` (a plain number is seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
