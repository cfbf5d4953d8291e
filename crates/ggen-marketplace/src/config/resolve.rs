//! File + environment + flags into [`Settings`], one concern per function.
//!
//! Every overridable setting has the same shape ([`Resolver::layered`]): a
//! built-in default, replaced by the file's value, replaced by the
//! environment's, replaced by a flag's; each step records where the value came
//! from, and a bad value is an error naming the key or variable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::endpoint::{EndpointAuth, EndpointOptions, EndpointProtocol};
use super::env::{self, Env, parse_bool};
use super::file::{
    ConfigFile, FallbackSection, MarketplaceSection, OperationOverride, StrategyName,
};
use super::mistakes;
use super::{
    BackendStrategy, BreakerSettings, CacheSizes, Compiled, Flags, Operation, RetrySettings,
    Settings, Source, Sourced, derive_update_url,
};
use crate::error::{Error, Result};

struct Resolver<'a> {
    path: &'a Path,
    env: Env<'a>,
    compiled: Compiled,
}

impl Resolver<'_> {
    fn bad(&self, key: &str, message: String) -> Error {
        self.bad_with_fix(key, message, None)
    }

    fn bad_with_fix(&self, key: &str, message: String, fix: Option<String>) -> Error {
        Error::Config {
            path: self.path.to_path_buf(),
            message: format!("{key}: {message}"),
            fix,
        }
    }

    /// `default`, then the file's value, then `var` parsed by `parse`.
    fn layered<T>(
        &self,
        default: T,
        file: Option<T>,
        var: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Sourced<T>> {
        let mut s = match file {
            Some(v) => Sourced::file(v, self.path),
            None => Sourced::default(default),
        };
        if let Some(v) = env::parsed(self.env, var, expected, parse)? {
            s = Sourced {
                value: v,
                source: Source::Env(var.into()),
            };
        }
        Ok(s)
    }

    fn percentage(&self, key: &str, v: i64) -> Result<u8> {
        u8::try_from(v).ok().filter(|p| *p <= 100).ok_or_else(|| {
            self.bad_with_fix(
                key,
                format!("{v} is outside 0..=100"),
                Some(mistakes::fix_for_percentage(key)),
            )
        })
    }

    fn fallback(&self, m: &MarketplaceSection) -> Result<Sourced<bool>> {
        let file = m
            .fallback
            .as_ref()
            .and_then(fallback_of)
            .or(m.fallback_on_error);
        self.layered(true, file, env::FALLBACK, "true or false", parse_bool)
    }

    fn v2_percentage(&self, m: &MarketplaceSection) -> Result<Sourced<u8>> {
        let ab = m.ab_testing.clone().unwrap_or_default();
        let file = match (ab.v2_percentage, m.v2_percentage) {
            (Some(v), _) => Some(self.percentage("marketplace.ab_testing.v2_percentage", v)?),
            (None, Some(v)) => Some(self.percentage("marketplace.v2_percentage", v)?),
            (None, None) => None,
        };
        self.layered(
            10,
            file,
            env::V2_PERCENTAGE,
            "a percentage in 0..=100",
            |v| v.parse::<u8>().ok().filter(|p| *p <= 100),
        )
    }

    fn strategy_of(&self, name: StrategyName, pct: u8, fallback: bool) -> BackendStrategy {
        match name {
            StrategyName::V1 => BackendStrategy::V1Only,
            // Fallback needs V1: a V2-only build (a rollback by build) keeps a
            // `backend: v2` config working as V2 alone.
            StrategyName::V2 if fallback && self.compiled.v1 => BackendStrategy::V2WithFallback,
            StrategyName::V2 => BackendStrategy::V2Only,
            StrategyName::AbTest => BackendStrategy::AbTest { v2_percentage: pct },
            StrategyName::Compare => BackendStrategy::Compare,
        }
    }

    /// The strategy of every operation: the base (default, file, environment),
    /// the file's per-operation overrides, then the environment and the flag,
    /// which win over the file's overrides too.
    fn strategies(
        &self,
        m: &MarketplaceSection,
        pct: u8,
        fallback: bool,
        flags: &Flags,
    ) -> Result<BTreeMap<Operation, Sourced<BackendStrategy>>> {
        let default = match (self.compiled.v1, self.compiled.v2) {
            (true, true) if fallback => BackendStrategy::V2WithFallback,
            (true, true) | (false, true) => BackendStrategy::V2Only,
            _ => BackendStrategy::V1Only,
        };
        let ab_enabled = m
            .ab_testing
            .as_ref()
            .and_then(|a| a.enabled)
            .or(m.enable_ab_testing)
            .unwrap_or(false);
        let file_base = match m.backend {
            Some(name) => Some(self.strategy_of(name, pct, fallback)),
            None if ab_enabled => Some(BackendStrategy::AbTest { v2_percentage: pct }),
            None => None,
        };
        let base = self.layered(
            default,
            file_base,
            env::BACKEND,
            "one of v1, v2, ab-test, compare",
            |v| {
                serde_norway::from_str::<StrategyName>(v)
                    .ok()
                    .map(|name| self.strategy_of(name, pct, fallback))
            },
        )?;
        let from_env = matches!(base.source, Source::Env(_));
        let mut strategies = BTreeMap::new();
        for op in Operation::ALL {
            let mut s = base.clone();
            if let (false, Some(o)) = (from_env, m.operations.get(&op)) {
                s = Sourced::file(
                    self.operation_override(op, o, s.value, pct, fallback)?,
                    self.path,
                );
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
        Ok(strategies)
    }

    fn operation_override(
        &self,
        op: Operation,
        o: &OperationOverride,
        base: BackendStrategy,
        pct: u8,
        fallback: bool,
    ) -> Result<BackendStrategy> {
        let key = format!("marketplace.operations.{}", op.as_str());
        Ok(match o {
            OperationOverride::Backend(name) => self.strategy_of(*name, pct, fallback),
            OperationOverride::Detailed(d) => {
                let fb = d
                    .fallback
                    .as_ref()
                    .and_then(fallback_of)
                    .unwrap_or(fallback);
                let op_pct = match d.ab_testing.as_ref().and_then(|a| a.v2_percentage) {
                    Some(v) => self.percentage(&format!("{key}.ab_testing.v2_percentage"), v)?,
                    None => pct,
                };
                match (d.backend, &d.ab_testing) {
                    (Some(name), _) => self.strategy_of(name, op_pct, fb),
                    (None, Some(_)) => BackendStrategy::AbTest {
                        v2_percentage: op_pct,
                    },
                    (None, None) => base,
                }
            }
        })
    }

    fn v2_endpoints(
        &self,
        m: &MarketplaceSection,
    ) -> Result<(Option<Sourced<String>>, Option<String>)> {
        let v2 = m.v2.as_ref();
        let mut endpoint = v2
            .and_then(|v| v.endpoint.clone())
            .map(|v| Sourced::file(v, self.path));
        if let Some(v) = (self.env)(env::V2_ENDPOINT) {
            endpoint = Some(Sourced {
                value: v,
                source: Source::Env(env::V2_ENDPOINT.into()),
            });
        }
        if let Some(e) = &endpoint {
            self.check_endpoint(e, "marketplace.v2.endpoint", "query")?;
        }
        let given_update = match (self.env)(env::V2_UPDATE_ENDPOINT) {
            Some(v) => Some(Sourced {
                value: v,
                source: Source::Env(env::V2_UPDATE_ENDPOINT.into()),
            }),
            None => v2
                .and_then(|v| v.update_endpoint.clone())
                .map(|v| Sourced::file(v, self.path)),
        };
        if let Some(u) = &given_update {
            self.check_endpoint(u, "marketplace.v2.update_endpoint", "update")?;
        }
        let update = given_update
            .map(|u| u.value)
            .or_else(|| endpoint.as_ref().map(|e| derive_update_url(&e.value)));
        Ok((endpoint, update))
    }

    /// A value from `var`, else the file's.
    fn env_or_file<T: Clone>(
        &self,
        var: &str,
        file: Option<&T>,
        from_env: impl Fn(String) -> T,
    ) -> Option<Sourced<T>> {
        match (self.env)(var) {
            Some(v) => Some(Sourced {
                value: from_env(v),
                source: Source::Env(var.into()),
            }),
            None => file.map(|v| Sourced::file(v.clone(), self.path)),
        }
    }

    /// An error about `file_key` (or `var`, when that is where the value came from).
    fn bad_value<T>(&self, s: &Sourced<T>, var: &str, file_key: &str, message: String) -> Error {
        match &s.source {
            Source::Env(_) => Error::Env {
                var: var.to_string(),
                message,
                fix: None,
            },
            _ => self.bad(file_key, message),
        }
    }

    /// The endpoint's graph, protocol form, credentials and roots.
    fn endpoint_options(&self, m: &MarketplaceSection) -> Result<EndpointOptions> {
        let v2 = m.v2.as_ref();
        let graph = self.env_or_file(env::V2_GRAPH, v2.and_then(|v| v.graph.as_ref()), |v| v);
        if let Some(g) = &graph
            && let Err(why) = check_graph_iri(&g.value)
        {
            return Err(self.bad_value(g, env::V2_GRAPH, "marketplace.v2.graph", why));
        }
        let protocol = match self.env_or_file(
            env::V2_PROTOCOL,
            v2.and_then(|v| v.protocol.as_ref()),
            |v| v,
        ) {
            None => None,
            Some(p) => match p.value.parse::<EndpointProtocol>() {
                Ok(value) => Some(Sourced {
                    value,
                    source: p.source,
                }),
                Err(message) => {
                    return Err(self.bad_value(
                        &p,
                        env::V2_PROTOCOL,
                        "marketplace.v2.protocol",
                        message,
                    ));
                }
            },
        };
        let user = self.env_or_file(env::V2_USER, v2.and_then(|v| v.user.as_ref()), |v| v);
        let password = self.env_or_file(
            env::V2_PASSWORD,
            v2.and_then(|v| v.password.as_ref()),
            |v| v,
        );
        let token = self.env_or_file(env::V2_TOKEN, v2.and_then(|v| v.token.as_ref()), |v| v);
        let auth = match (user, password, token) {
            (None, None, None) => EndpointAuth::None,
            (None, None, Some(t)) => EndpointAuth::Bearer(t.value),
            (Some(u), Some(p), None) => {
                if u.value.contains(':') {
                    let message = "an HTTP Basic user name cannot contain `:`".to_string();
                    return Err(self.bad_value(&u, env::V2_USER, "marketplace.v2.user", message));
                }
                EndpointAuth::Basic {
                    user: u.value,
                    password: p.value,
                }
            }
            (Some(u), None, None) => {
                let message = format!(
                    "a user is set but no password: set {} (or marketplace.v2.password)",
                    env::V2_PASSWORD
                );
                return Err(self.bad_value(&u, env::V2_USER, "marketplace.v2.user", message));
            }
            (None, Some(p), None) => {
                let message = format!(
                    "a password is set but no user: set {} (or marketplace.v2.user)",
                    env::V2_USER
                );
                return Err(self.bad_value(
                    &p,
                    env::V2_PASSWORD,
                    "marketplace.v2.password",
                    message,
                ));
            }
            (_, _, Some(t)) => {
                let message =
                    "both a token (bearer) and a user or password (basic) are set; keep one kind"
                        .to_string();
                return Err(self.bad_value(&t, env::V2_TOKEN, "marketplace.v2.token", message));
            }
        };
        let ca_file = self
            .env_or_file(
                env::V2_CA_FILE,
                v2.and_then(|v| v.ca_file.as_ref()),
                PathBuf::from,
            )
            .map(|s| s.value);
        let lock_url = self.env_or_file(
            env::V2_LOCK_URL,
            v2.and_then(|v| v.lock_url.as_ref()),
            |v| v,
        );
        Ok(EndpointOptions {
            graph,
            protocol,
            auth,
            ca_file,
            lock_url,
        })
    }

    /// A V2 endpoint (`file_key` in the file; `kind` is `query` or
    /// `update`) must be an http(s) URL with a path: a server's base URL is
    /// the most common mistake, and its fix is known.
    fn check_endpoint(&self, e: &Sourced<String>, file_key: &str, kind: &str) -> Result<()> {
        let (key, is_env) = match &e.source {
            Source::Env(var) => (var.as_str(), true),
            _ => (file_key, false),
        };
        let authority = e
            .value
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        let (message, fix) = if authority.contains('@') {
            // Not echoed: the value holds a secret.
            (
                format!(
                    "the URL carries credentials (`user:password@`), which messages and logs would show; give them as {} and {} (or {}) instead",
                    env::V2_USER,
                    env::V2_PASSWORD,
                    env::V2_TOKEN
                ),
                None,
            )
        } else if !(e.value.starts_with("http://") || e.value.starts_with("https://")) {
            (format!("`{}` is not an http(s) URL", e.value), None)
        } else if let Some(fix) = mistakes::fix_for_endpoint_without_path(key, &e.value, kind) {
            (
                format!(
                    "`{}` is a server's base URL, not a SPARQL endpoint",
                    e.value
                ),
                Some(fix),
            )
        } else {
            return Ok(());
        };
        Err(if is_env {
            Error::Env {
                var: key.to_string(),
                message,
                fix,
            }
        } else {
            self.bad_with_fix(key, message, fix)
        })
    }

    fn registry_url(&self, file: &ConfigFile, flags: &Flags) -> Option<Sourced<String>> {
        let mut url = file
            .registry
            .url
            .clone()
            .map(|v| Sourced::file(v, self.path));
        if let Some(v) = (self.env)(env::REGISTRY_URL) {
            url = Some(Sourced {
                value: v,
                source: Source::Env(env::REGISTRY_URL.into()),
            });
        }
        if let Some(v) = &flags.registry_url {
            url = Some(Sourced {
                value: v.clone(),
                source: Source::Flag("--registry".into()),
            });
        }
        url
    }

    fn breaker(&self, m: &MarketplaceSection) -> Result<BreakerSettings> {
        let mut breaker = BreakerSettings::default();
        let Some(b) = &m.circuit_breaker else {
            return Ok(breaker);
        };
        if let Some(v) = b.window {
            breaker.window = v.max(1);
        }
        if let Some(v) = b.minimum_calls {
            breaker.minimum_calls = v;
        }
        if let Some(v) = b.failure_rate {
            if !(0.0..=1.0).contains(&v) {
                return Err(self.bad(
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
        Ok(breaker)
    }

    fn retry(&self, m: &MarketplaceSection) -> Result<RetrySettings> {
        let mut retry = RetrySettings::default();
        let Some(r) = &m.retry else {
            return Ok(retry);
        };
        if let Some(v) = r.attempts {
            retry.attempts = v.max(1);
        }
        if let Some(v) = r.initial_ms {
            retry.initial = Duration::from_millis(v);
        }
        if let Some(v) = r.factor {
            if v < 1.0 {
                return Err(self.bad("marketplace.retry.factor", format!("{v} is below 1.0")));
            }
            retry.factor = v;
        }
        if let Some(v) = r.max_ms {
            retry.max = Duration::from_millis(v);
        }
        Ok(retry)
    }

    fn cache_sizes(&self) -> CacheSizes {
        let size = |var, default| env::cache_size(self.env, var, default);
        CacheSizes {
            search: size(env::SEARCH_CACHE, 5_000),
            server_search: size(env::SEARCH_CACHE, 10_000),
            packages: size(env::PACKAGE_CACHE, 10_000),
            sparql: size(env::SPARQL_CACHE, 1_000),
        }
    }
}

fn fallback_of(f: &FallbackSection) -> Option<bool> {
    f.enabled.or(f.fallback_to_v1)
}

impl Settings {
    /// The effective settings from a parsed file (`None`: no file), read from
    /// `path`, the environment `env`, the command line's `flags`, for a build
    /// with `compiled` backends.
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
        let r = Resolver {
            path,
            env,
            compiled,
        };
        let fallback_enabled = r.fallback(m)?;
        let pct = r.v2_percentage(m)?;
        let strategies = r.strategies(m, pct.value, fallback_enabled.value, flags)?;
        let signing = m.publishing.as_ref().and_then(|p| p.signing.as_ref());
        let from_file = |v: Option<bool>, default: bool| {
            v.map(|v| Sourced::file(v, path))
                .unwrap_or(Sourced::default(default))
        };
        let (v2_endpoint, v2_update_endpoint) = r.v2_endpoints(m)?;
        let v2_options = r.endpoint_options(m)?;
        if let (Some(lock), None) = (&v2_options.lock_url, &v2_endpoint) {
            let message = format!(
                "is set but no V2 endpoint is: the lock serialises the writers of a shared SPARQL endpoint, and an embedded store is one machine's; set {} (marketplace.v2.endpoint) or remove it",
                env::V2_ENDPOINT
            );
            return Err(r.bad_value(lock, env::V2_LOCK_URL, "marketplace.v2.lock_url", message));
        }
        let blobs = super::blobs::resolve(m.blobs.as_ref(), path, env, compiled.v2)?;
        let timeouts = m.timeouts.as_ref();
        let ms = |v: Option<u64>, d: u64| Duration::from_millis(v.unwrap_or(d));
        Ok(Self {
            strategies,
            fallback_enabled,
            log_backend_selection: m
                .ab_testing
                .as_ref()
                .and_then(|a| a.log_backend_selection)
                .or(m.log_backend_selection)
                .unwrap_or(false),
            signing_enabled: from_file(signing.and_then(|s| s.enabled), true),
            signing_required: from_file(signing.and_then(|s| s.required), false),
            require_signatures: from_file(file.install.require_signatures, false),
            v2_endpoint,
            v2_update_endpoint,
            v2_options,
            blobs,
            registry_url: r.registry_url(&file, flags),
            registry_token: flags
                .registry_token
                .clone()
                .or_else(|| env(env::REGISTRY_TOKEN)),
            registry_allow_insecure_http: r.layered(
                false,
                file.registry.allow_insecure_http,
                env::REGISTRY_ALLOW_INSECURE_HTTP,
                "true or false",
                parse_bool,
            )?,
            breaker: r.breaker(m)?,
            retry: r.retry(m)?,
            search_timeout: ms(timeouts.and_then(|t| t.search_ms), 5_000),
            install_timeout: ms(timeouts.and_then(|t| t.install_ms), 30_000),
            compare_timeout: ms(timeouts.and_then(|t| t.compare_ms), 2_000),
            config_file: present.then(|| path.to_path_buf()),
            cache_sizes: r.cache_sizes(),
            store_wait: crate::config::StoreWait {
                explicit: env::parsed(env, env::STORE_WAIT_MS, "a number of milliseconds", |v| {
                    v.parse().ok()
                })?
                .map(Duration::from_millis),
            },
            user_id: env(env::USER_ID),
            metrics_file: env::dir(env, env::METRICS_FILE),
        })
    }
}

/// `default`, or an absolute IRI that SPARQL can write between `<` and `>`
/// (the full IRI grammar is checked again when V2 opens the endpoint).
fn check_graph_iri(text: &str) -> std::result::Result<(), String> {
    if text == "default" {
        return Ok(());
    }
    let scheme_ok = text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let chars_ok = !text
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "<>\"{}|^`\\".contains(c));
    if scheme_ok && chars_ok {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not an absolute IRI; give one such as https://example.org/ggen/registry, or `default` for the endpoint's default graph"
        ))
    }
}
