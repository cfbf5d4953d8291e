//! Configuration: `config.yaml` (DESIGN.md §4), environment, flags.
//!
//! Precedence: command-line flag > `GGEN_MARKETPLACE_*` environment > file >
//! built-in default. Every effective setting remembers where it came from, for
//! `ggen marketplace status`. Unknown keys and bad values are errors naming the
//! key and the file: a typo must not silently route traffic.
//!
//! The seeds spell a few keys differently in different places
//! (`marketplace.v2_percentage`, `enable_ab_testing`, `fallback_on_error`,
//! `fallback.fallback_to_v1`); those spellings are accepted as aliases.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How an operation picks its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum BackendStrategy {
    V1Only,
    V2Only,
    V2WithFallback,
    AbTest { v2_percentage: u8 },
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
    Search,
    Info,
    List,
    Install,
    Publish,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Self::Search,
        Self::Info,
        Self::List,
        Self::Install,
        Self::Publish,
    ];

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "from", rename_all = "lowercase")]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    fn default(value: T) -> Self {
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

// ---- the file, exactly as written -------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub marketplace: MarketplaceSection,
    #[serde(default)]
    pub install: InstallSection,
    #[serde(default)]
    pub registry: RegistrySection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceSection {
    pub backend: Option<StrategyName>,
    pub fallback: Option<FallbackSection>,
    /// Seeds alias of `fallback.enabled`.
    pub fallback_on_error: Option<bool>,
    /// Seeds alias of `ab_testing.v2_percentage`.
    pub v2_percentage: Option<i64>,
    /// Seeds alias of `ab_testing.enabled`.
    pub enable_ab_testing: Option<bool>,
    pub log_backend_selection: Option<bool>,
    pub ab_testing: Option<AbSection>,
    #[serde(default)]
    pub operations: BTreeMap<Operation, OperationOverride>,
    pub publishing: Option<PublishingSection>,
    pub v2: Option<V2Section>,
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
    /// Seeds alias of `enabled`.
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

// ---- effective settings ------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerSettings {
    pub window: u32,
    pub minimum_calls: u32,
    pub failure_rate: f64,
    pub slow_call: Duration,
    pub open_for: Duration,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrySettings {
    pub attempts: u32,
    pub initial: Duration,
    pub factor: f64,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Per operation, the strategy in force and where it came from.
    pub strategies: BTreeMap<Operation, Sourced<BackendStrategy>>,
    pub fallback_enabled: Sourced<bool>,
    pub log_backend_selection: bool,
    pub signing_enabled: Sourced<bool>,
    pub signing_required: Sourced<bool>,
    pub require_signatures: Sourced<bool>,
    pub v2_endpoint: Option<Sourced<String>>,
    pub v2_update_endpoint: Option<String>,
    pub registry_url: Option<Sourced<String>>,
    /// Bearer token for a registry server (`--token`, `GGEN_REGISTRY_TOKEN`);
    /// never read from the config file, which is often shared.
    #[serde(skip)]
    pub registry_token: Option<String>,
    /// `registry.allow_insecure_http` / `GGEN_REGISTRY_ALLOW_INSECURE_HTTP`.
    pub registry_allow_insecure_http: Sourced<bool>,
    pub breaker: BreakerSettings,
    pub retry: RetrySettings,
    pub search_timeout: Duration,
    pub install_timeout: Duration,
    pub compare_timeout: Duration,
    pub config_file: Option<PathBuf>,
}

/// Which backends this build has, for the built-in default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compiled {
    pub v1: bool,
    pub v2: bool,
}

impl Compiled {
    pub const fn this_build() -> Self {
        Self {
            v1: cfg!(feature = "marketplace-v1"),
            v2: cfg!(feature = "marketplace-v2"),
        }
    }
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
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(ConfigFile::default()));
    }
    serde_norway::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
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

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

impl Settings {
    pub fn load(config_file: &Path, flags: &Flags, compiled: Compiled) -> Result<Self> {
        let file = read_file(config_file)?;
        Self::resolve(file, config_file, &process_env, flags, compiled)
    }

    /// The settings this build gets with only `env` as its environment (the
    /// process's own is ignored), no config file and no flags: for tests and
    /// benchmarks that set up several configurations in one process.
    pub fn from_pairs(env: &[(&str, &str)]) -> Result<Self> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        Self::resolve(
            None,
            Path::new("(none)"),
            &lookup,
            &Flags::default(),
            Compiled::this_build(),
        )
    }

    pub fn resolve(
        file: Option<ConfigFile>,
        path: &Path,
        env: Env<'_>,
        flags: &Flags,
        compiled: Compiled,
    ) -> Result<Self> {
        let present = file.is_some();
        let file = file.unwrap_or_default();
        let m = &file.marketplace;
        let bad = |key: &str, message: String| Error::Config {
            path: path.to_path_buf(),
            message: format!("{key}: {message}"),
        };
        let percentage = |key: &str, v: i64| -> Result<u8> {
            u8::try_from(v)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| bad(key, format!("{v} is outside 0..=100")))
        };

        // fallback
        let mut fallback_enabled = Sourced::default(true);
        let file_fallback = m
            .fallback
            .as_ref()
            .and_then(|f| f.enabled.or(f.fallback_to_v1))
            .or(m.fallback_on_error);
        if let Some(v) = file_fallback {
            fallback_enabled = Sourced::file(v, path);
        }
        if let Some(v) = env("GGEN_MARKETPLACE_FALLBACK") {
            fallback_enabled = Sourced {
                value: parse_bool(&v).ok_or_else(|| Error::Env {
                    var: "GGEN_MARKETPLACE_FALLBACK".into(),
                    message: format!("`{v}` is not true or false"),
                })?,
                source: Source::Env("GGEN_MARKETPLACE_FALLBACK".into()),
            };
        }

        // A/B percentage
        let ab = m.ab_testing.clone().unwrap_or_default();
        let mut pct: Sourced<u8> = Sourced::default(10);
        if let Some(v) = ab.v2_percentage {
            pct = Sourced::file(percentage("marketplace.ab_testing.v2_percentage", v)?, path);
        } else if let Some(v) = m.v2_percentage {
            pct = Sourced::file(percentage("marketplace.v2_percentage", v)?, path);
        }
        if let Some(v) = env("GGEN_MARKETPLACE_V2_PERCENTAGE") {
            let var = "GGEN_MARKETPLACE_V2_PERCENTAGE";
            let p = v
                .parse::<i64>()
                .ok()
                .and_then(|n| u8::try_from(n).ok())
                .filter(|p| *p <= 100)
                .ok_or_else(|| Error::Env {
                    var: var.into(),
                    message: format!("`{v}` is not a percentage in 0..=100"),
                })?;
            pct = Sourced {
                value: p,
                source: Source::Env(var.into()),
            };
        }

        let strategy_of = |name: StrategyName, pct: u8, fallback: bool| match name {
            StrategyName::V1 => BackendStrategy::V1Only,
            // Fallback needs V1: a V2-only build (the seeds' phase 5, or a
            // rollback by build) keeps a `backend: v2` config working as V2 alone.
            StrategyName::V2 if fallback && compiled.v1 => BackendStrategy::V2WithFallback,
            StrategyName::V2 => BackendStrategy::V2Only,
            StrategyName::AbTest => BackendStrategy::AbTest { v2_percentage: pct },
            StrategyName::Compare => BackendStrategy::Compare,
        };

        // The base strategy for every operation.
        let default_strategy = match (compiled.v1, compiled.v2) {
            (true, true) if fallback_enabled.value => BackendStrategy::V2WithFallback,
            (true, true) => BackendStrategy::V2Only,
            (false, true) => BackendStrategy::V2Only,
            _ => BackendStrategy::V1Only,
        };
        let mut base = Sourced::default(default_strategy);
        let ab_enabled = ab.enabled.or(m.enable_ab_testing).unwrap_or(false);
        if let Some(name) = m.backend {
            base = Sourced::file(strategy_of(name, pct.value, fallback_enabled.value), path);
        } else if ab_enabled {
            base = Sourced::file(
                BackendStrategy::AbTest {
                    v2_percentage: pct.value,
                },
                path,
            );
        }
        let mut env_base = None;
        if let Some(v) = env("GGEN_MARKETPLACE_BACKEND") {
            let var = "GGEN_MARKETPLACE_BACKEND";
            let name: StrategyName = serde_norway::from_str(&v).map_err(|_| Error::Env {
                var: var.into(),
                message: format!("`{v}` is not one of v1, v2, ab-test, compare"),
            })?;
            let s = Sourced {
                value: strategy_of(name, pct.value, fallback_enabled.value),
                source: Source::Env(var.into()),
            };
            base = s.clone();
            env_base = Some(s);
        }

        let mut strategies = BTreeMap::new();
        for op in Operation::ALL {
            let mut s = base.clone();
            if let Some(o) = m.operations.get(&op) {
                let key = format!("marketplace.operations.{}", op.as_str());
                let value = match o {
                    OperationOverride::Backend(name) => {
                        strategy_of(*name, pct.value, fallback_enabled.value)
                    }
                    OperationOverride::Detailed(d) => {
                        let fb = d
                            .fallback
                            .as_ref()
                            .and_then(|f| f.enabled.or(f.fallback_to_v1))
                            .unwrap_or(fallback_enabled.value);
                        let op_pct = match d.ab_testing.as_ref().and_then(|a| a.v2_percentage) {
                            Some(v) => percentage(&format!("{key}.ab_testing.v2_percentage"), v)?,
                            None => pct.value,
                        };
                        match (d.backend, &d.ab_testing) {
                            (Some(name), _) => strategy_of(name, op_pct, fb),
                            (None, Some(_)) => BackendStrategy::AbTest {
                                v2_percentage: op_pct,
                            },
                            (None, None) => s.value,
                        }
                    }
                };
                s = Sourced::file(value, path);
            }
            // The environment overrides the file, operation overrides included.
            if let Some(e) = &env_base {
                s = e.clone();
            }
            if let Some(kind) = flags.backend {
                s = Sourced {
                    value: match kind {
                        ggen_marketplace_core::BackendKind::V1 => BackendStrategy::V1Only,
                        ggen_marketplace_core::BackendKind::V2 => BackendStrategy::V2Only,
                    },
                    source: Source::Flag(format!("--backend {kind}")),
                };
            }
            strategies.insert(op, s);
        }

        let signing = m.publishing.as_ref().and_then(|p| p.signing.as_ref());
        let opt_file = |v: Option<bool>, default: bool| {
            v.map(|v| Sourced::file(v, path))
                .unwrap_or(Sourced::default(default))
        };
        let signing_enabled = opt_file(signing.and_then(|s| s.enabled), true);
        let signing_required = opt_file(signing.and_then(|s| s.required), false);
        let require_signatures = opt_file(file.install.require_signatures, false);

        let v2 = m.v2.as_ref();
        let mut v2_endpoint = v2
            .and_then(|v| v.endpoint.clone())
            .map(|v| Sourced::file(v, path));
        if let Some(v) = env("GGEN_MARKETPLACE_V2_ENDPOINT") {
            v2_endpoint = Some(Sourced {
                value: v,
                source: Source::Env("GGEN_MARKETPLACE_V2_ENDPOINT".into()),
            });
        }
        if let Some(e) = &v2_endpoint
            && !(e.value.starts_with("http://") || e.value.starts_with("https://"))
        {
            return Err(bad(
                "marketplace.v2.endpoint",
                format!("`{}` is not an http(s) URL", e.value),
            ));
        }
        let v2_update_endpoint = env("GGEN_MARKETPLACE_V2_UPDATE_ENDPOINT")
            .or_else(|| v2.and_then(|v| v.update_endpoint.clone()))
            .or_else(|| v2_endpoint.as_ref().map(|e| derive_update_url(&e.value)));

        let mut registry_url = file.registry.url.clone().map(|v| Sourced::file(v, path));
        if let Some(v) = env("GGEN_REGISTRY_URL") {
            registry_url = Some(Sourced {
                value: v,
                source: Source::Env("GGEN_REGISTRY_URL".into()),
            });
        }
        if let Some(v) = &flags.registry_url {
            registry_url = Some(Sourced {
                value: v.clone(),
                source: Source::Flag("--registry".into()),
            });
        }

        let mut registry_allow_insecure_http = opt_file(file.registry.allow_insecure_http, false);
        if let Some(v) = env("GGEN_REGISTRY_ALLOW_INSECURE_HTTP") {
            let var = "GGEN_REGISTRY_ALLOW_INSECURE_HTTP";
            registry_allow_insecure_http = Sourced {
                value: parse_bool(&v).ok_or_else(|| Error::Env {
                    var: var.into(),
                    message: format!("`{v}` is not true or false"),
                })?,
                source: Source::Env(var.into()),
            };
        }

        let mut breaker = BreakerSettings::default();
        if let Some(b) = &m.circuit_breaker {
            if let Some(v) = b.window {
                breaker.window = v.max(1);
            }
            if let Some(v) = b.minimum_calls {
                breaker.minimum_calls = v;
            }
            if let Some(v) = b.failure_rate {
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad(
                        "marketplace.circuit_breaker.failure_rate",
                        format!("{v} is outside 0.0..=1.0"),
                    ));
                }
                breaker.failure_rate = v;
            }
            if let Some(v) = b.slow_call_ms {
                breaker.slow_call = Duration::from_millis(v);
            }
            if let Some(v) = b.open_seconds {
                breaker.open_for = Duration::from_secs(v);
            }
            if let Some(v) = b.half_open_probes {
                breaker.half_open_probes = v.max(1);
            }
        }
        let mut retry = RetrySettings::default();
        if let Some(r) = &m.retry {
            if let Some(v) = r.attempts {
                retry.attempts = v.max(1);
            }
            if let Some(v) = r.initial_ms {
                retry.initial = Duration::from_millis(v);
            }
            if let Some(v) = r.factor {
                if v < 1.0 {
                    return Err(bad("marketplace.retry.factor", format!("{v} is below 1.0")));
                }
                retry.factor = v;
            }
            if let Some(v) = r.max_ms {
                retry.max = Duration::from_millis(v);
            }
        }
        let t = m.timeouts.as_ref();
        let ms = |v: Option<u64>, d: u64| Duration::from_millis(v.unwrap_or(d));

        Ok(Self {
            strategies,
            fallback_enabled,
            log_backend_selection: ab
                .log_backend_selection
                .or(m.log_backend_selection)
                .unwrap_or(false),
            signing_enabled,
            signing_required,
            require_signatures,
            v2_endpoint,
            v2_update_endpoint,
            registry_url,
            registry_token: flags
                .registry_token
                .clone()
                .or_else(|| env("GGEN_REGISTRY_TOKEN")),
            registry_allow_insecure_http,
            breaker,
            retry,
            search_timeout: ms(t.and_then(|t| t.search_ms), 5_000),
            install_timeout: ms(t.and_then(|t| t.install_ms), 30_000),
            compare_timeout: ms(t.and_then(|t| t.compare_ms), 2_000),
            config_file: present.then(|| path.to_path_buf()),
        })
    }

    pub fn strategy(&self, op: Operation) -> BackendStrategy {
        self.strategies[&op].value
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `oxigraph serve` answers queries at `/query` and updates at `/update`.
pub fn derive_update_url(query_url: &str) -> String {
    match query_url.strip_suffix("/query") {
        Some(base) => format!("{base}/update"),
        None => query_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Compiled = Compiled { v1: true, v2: true };

    fn resolve(
        yaml: &str,
        env: &[(&str, &str)],
        flags: Flags,
        compiled: Compiled,
    ) -> Result<Settings> {
        let file = if yaml.is_empty() {
            None
        } else {
            Some(serde_norway::from_str(yaml).map_err(|e| Error::Config {
                path: "c.yaml".into(),
                message: e.to_string(),
            })?)
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        Settings::resolve(file, Path::new("c.yaml"), &lookup, &flags, compiled)
    }

    #[test]
    fn a_v2_config_works_in_a_v2_only_build() {
        let v2_only = Compiled {
            v1: false,
            v2: true,
        };
        let s = resolve(
            "marketplace:\n  backend: v2\n  fallback: { enabled: true }\n",
            &[],
            Flags::default(),
            v2_only,
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Search), BackendStrategy::V2Only);
        let s = resolve(
            "",
            &[("GGEN_MARKETPLACE_BACKEND", "v2")],
            Flags::default(),
            v2_only,
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Publish), BackendStrategy::V2Only);
        let s = resolve(
            "",
            &[("GGEN_MARKETPLACE_BACKEND", "v2")],
            Flags::default(),
            BOTH,
        )
        .unwrap();
        assert_eq!(
            s.strategy(Operation::Publish),
            BackendStrategy::V2WithFallback
        );
    }

    #[test]
    fn defaults_follow_the_build() {
        let s = resolve("", &[], Flags::default(), BOTH).unwrap();
        assert_eq!(
            s.strategy(Operation::Search),
            BackendStrategy::V2WithFallback
        );
        assert_eq!(s.strategies[&Operation::Search].source, Source::Default);
        let s = resolve(
            "",
            &[],
            Flags::default(),
            Compiled {
                v1: true,
                v2: false,
            },
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Install), BackendStrategy::V1Only);
        let s = resolve(
            "",
            &[],
            Flags::default(),
            Compiled {
                v1: false,
                v2: true,
            },
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Install), BackendStrategy::V2Only);
    }

    #[test]
    fn seeds_rollout_config_is_understood() {
        let yaml = "marketplace:\n  backend: ab-test\n  operations:\n    search: v2\n    install:\n      ab_testing:\n        v2_percentage: 10\n  ab_testing:\n    enabled: true\n    v2_percentage: 25\n";
        let s = resolve(yaml, &[], Flags::default(), BOTH).unwrap();
        assert_eq!(
            s.strategy(Operation::Search),
            BackendStrategy::V2WithFallback
        );
        assert_eq!(
            s.strategy(Operation::Install),
            BackendStrategy::AbTest { v2_percentage: 10 }
        );
        assert_eq!(
            s.strategy(Operation::List),
            BackendStrategy::AbTest { v2_percentage: 25 }
        );
        // Seed aliases.
        let s = resolve(
            "marketplace:\n  backend: v2\n  fallback_on_error: false\n",
            &[],
            Flags::default(),
            BOTH,
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Info), BackendStrategy::V2Only);
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let yaml = "marketplace:\n  backend: v1\n";
        let s = resolve(
            yaml,
            &[("GGEN_MARKETPLACE_BACKEND", "compare")],
            Flags::default(),
            BOTH,
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Search), BackendStrategy::Compare);
        assert_eq!(
            s.strategies[&Operation::Search].source,
            Source::Env("GGEN_MARKETPLACE_BACKEND".into())
        );
        let flags = Flags {
            backend: Some(ggen_marketplace_core::BackendKind::V2),
            ..Flags::default()
        };
        let s = resolve(
            yaml,
            &[("GGEN_MARKETPLACE_BACKEND", "compare")],
            flags,
            BOTH,
        )
        .unwrap();
        assert_eq!(s.strategy(Operation::Search), BackendStrategy::V2Only);
    }

    #[test]
    fn bad_input_names_the_key() {
        let e = resolve("marketplace:\n  bakend: v1\n", &[], Flags::default(), BOTH)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bakend") && e.contains("c.yaml"), "{e}");
        let e = resolve("marketplace:\n  backend: v3\n", &[], Flags::default(), BOTH)
            .unwrap_err()
            .to_string();
        assert!(e.contains("v3"), "{e}");
        let e = resolve(
            "marketplace:\n  ab_testing:\n    v2_percentage: 150\n",
            &[],
            Flags::default(),
            BOTH,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("v2_percentage") && e.contains("150"), "{e}");
        let e = resolve(
            "marketplace:\n  operations:\n    serch: v2\n",
            &[],
            Flags::default(),
            BOTH,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("serch"), "{e}");
        let e = resolve(
            "",
            &[("GGEN_MARKETPLACE_V2_PERCENTAGE", "-1")],
            Flags::default(),
            BOTH,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("GGEN_MARKETPLACE_V2_PERCENTAGE"), "{e}");
        let e = resolve(
            "",
            &[("GGEN_MARKETPLACE_BACKEND", "v9")],
            Flags::default(),
            BOTH,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("v9"), "{e}");
    }

    #[test]
    fn endpoint_update_url_is_derived() {
        let s = resolve(
            "",
            &[(
                "GGEN_MARKETPLACE_V2_ENDPOINT",
                "http://127.0.0.1:7878/query",
            )],
            Flags::default(),
            BOTH,
        )
        .unwrap();
        assert_eq!(
            s.v2_update_endpoint.as_deref(),
            Some("http://127.0.0.1:7878/update")
        );
    }
}
