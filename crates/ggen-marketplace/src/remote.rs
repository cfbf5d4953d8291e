//! [`RemoteBackend`]: a registry server (`ggen registry serve`) behind the same
//! [`MarketplaceBackend`] trait, so `--registry URL` changes where commands go
//! and nothing else, as a registry source does in cargo. The server routes
//! between V1 and V2; this client reports what it says it used.
//!
//! A server's answers are untrusted input, like a file from the network:
//! every answer is size-capped, names and versions in it are validated, a
//! package asked for as `foo` must be `foo` in every version (so a server
//! cannot pass a signed `bar` off as `foo`: the signature is then checked
//! against `foo`), and a token is never sent in clear text to a host that is
//! not this machine (see [`RemoteBackend::new`]).

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use base64::Engine;
use ggen_marketplace_core::error::RemoteFailure;
use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::search::{SearchQuery, SearchResults};
use ggen_marketplace_core::signing::KeyRotation;
use ggen_marketplace_core::{
    BackendKind, BackendMetadata, Capabilities, MarketplaceBackend, MarketplaceError, Result,
};
use ggen_registry_api::{self as api, ErrorBody, headers, paths};
use semver::Version;
use serde::de::DeserializeOwned;

/// JSON answers larger than this are refused: a list of 100,000 packages is
/// about 30 MiB.
const MAX_JSON_ANSWER: u64 = 64 * 1024 * 1024;
/// Archives are never larger than a registry accepts ([`MAX_ARCHIVE_BYTES`]).
const MAX_ARCHIVE_ANSWER: u64 = crate::ops::publish::MAX_ARCHIVE_BYTES as u64;
/// Error bodies are a few lines.
const MAX_ERROR_ANSWER: u64 = 64 * 1024;

/// The client of a registry server (`ggen registry serve`), as a backend: every
/// call is one HTTP request, every answer is checked before it is used.
pub struct RemoteBackend {
    base: String,
    token: Option<String>,
    client_id: String,
    agent: ureq::Agent,
    /// What the server said it used last (1 = v1, 2 = v2).
    last: AtomicU8,
    timeout: Duration,
}

/// Whether `url` is plain `http://` to a host other than this machine: a
/// token sent there can be read by anyone on the path, and answers can be
/// changed (signatures still hold: they are end to end).
pub fn is_cleartext_to_network(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

impl RemoteBackend {
    /// `base` is the server's root URL, e.g. `http://127.0.0.1:8080`.
    ///
    /// A token is refused for a plain `http://` URL to another machine unless
    /// `allow_cleartext_token` (`registry.allow_insecure_http`): it would be
    /// sent in clear on every request. Use `https://`, or a loopback address
    /// behind a tunnel.
    pub fn new(
        base: &str,
        token: Option<String>,
        client_id: String,
        timeout: Duration,
        allow_cleartext_token: bool,
    ) -> Result<Self> {
        if token.is_some() && !allow_cleartext_token && is_cleartext_to_network(base) {
            return Err(MarketplaceError::Forbidden {
                message: format!(
                    "refusing to send the registry token to {base} over plain http: anyone on the network path could read it"
                ),
                hint: Some(
                    "use the server's https:// address; or, on a network you control, set registry.allow_insecure_http: true (GGEN_REGISTRY_ALLOW_INSECURE_HTTP=1)".into(),
                ),
            });
        }
        Ok(Self::new_unchecked(base, token, client_id, timeout))
    }

    fn new_unchecked(
        base: &str,
        token: Option<String>,
        client_id: String,
        timeout: Duration,
    ) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            client_id,
            agent,
            last: AtomicU8::new(0),
            timeout,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn untrusted(&self, reason: impl Into<String>) -> MarketplaceError {
        MarketplaceError::UntrustedAnswer {
            from: format!("registry {}", self.base),
            reason: reason.into(),
        }
    }

    fn unreachable(&self, e: ureq::Error) -> MarketplaceError {
        match e {
            ureq::Error::BodyExceedsLimit(limit) => {
                self.untrusted(format!("its answer is larger than {limit} bytes"))
            }
            ureq::Error::Timeout(_) => MarketplaceError::Timeout {
                backend: "registry".into(),
                operation: "request".into(),
                millis: self.timeout.as_millis() as u64,
            },
            e => MarketplaceError::Unavailable {
                backend: "registry".into(),
                reason: format!("{} is unreachable: {e}", self.base),
            },
        }
    }

    /// Sends a request and returns the body of a 2xx answer; anything else
    /// becomes the matching [`MarketplaceError`].
    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        json: Option<String>,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let url = self.url(path);
        let mut resp = {
            let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
            macro_rules! common {
                ($req:expr) => {{
                    let mut r = $req.header(headers::CLIENT_ID, &self.client_id);
                    for (k, v) in query {
                        r = r.query(*k, v);
                    }
                    if let Some(a) = &auth {
                        r = r.header("Authorization", a);
                    }
                    r
                }};
            }
            let sent = match method {
                "GET" => common!(self.agent.get(&url)).call(),
                _ => match json {
                    Some(body) => common!(self.agent.post(&url))
                        .header("Content-Type", "application/json")
                        .send(body),
                    None => common!(self.agent.post(&url)).send_empty(),
                },
            };
            sent.map_err(|e| self.unreachable(e))?
        };
        let status = resp.status().as_u16();
        // Archives say which backend served them in a header; JSON answers in
        // their `backend_used` field (read where they are parsed, in `json`).
        if let Some(k) = resp
            .headers()
            .get(headers::BACKEND_USED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<BackendKind>().ok())
        {
            self.note(k);
        }
        let ok = (200..300).contains(&status);
        let body = resp
            .body_mut()
            .with_config()
            .limit(if ok { limit } else { MAX_ERROR_ANSWER })
            .read_to_vec()
            .map_err(|e| self.unreachable(e))?;
        if ok {
            return Ok(body);
        }
        Err(self.error(status, &body))
    }

    fn error(&self, status: u16, body: &[u8]) -> MarketplaceError {
        let Ok(ErrorBody { error: e }) = serde_json::from_slice::<ErrorBody>(body) else {
            let text: String = String::from_utf8_lossy(body).chars().take(300).collect();
            return MarketplaceError::Remote(Box::new(RemoteFailure {
                url: self.base.clone(),
                status,
                code: "http".into(),
                message: text.trim().to_string(),
                hint: None,
            }));
        };
        match (e.code.as_str(), e.name) {
            (api::codes::NOT_FOUND, Some(name)) => MarketplaceError::NotFound { name },
            (api::codes::VERSION_NOT_FOUND, Some(name)) => MarketplaceError::VersionNotFound {
                name,
                requirement: e.requirement.unwrap_or_default(),
            },
            (api::codes::ALREADY_PUBLISHED, Some(name)) => MarketplaceError::AlreadyPublished {
                name,
                version: e.version.unwrap_or_default(),
            },
            _ => MarketplaceError::Remote(Box::new(RemoteFailure {
                url: self.base.clone(),
                status,
                code: e.code,
                message: e.message,
                hint: e.hint,
            })),
        }
    }

    fn note(&self, k: BackendKind) {
        self.last
            .store(if k == BackendKind::V1 { 1 } else { 2 }, Ordering::Relaxed);
    }

    /// Parses a JSON answer once, noting its `backend_used`.
    fn json<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T> {
        let unexpected = |e: serde_json::Error| {
            MarketplaceError::backend("registry", format!("unexpected answer from {path}: {e}"))
        };
        let value: serde_json::Value = serde_json::from_slice(body).map_err(unexpected)?;
        if let Some(k) = value
            .get("backend_used")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<BackendKind>().ok())
        {
            self.note(k);
        }
        serde_json::from_value(value).map_err(unexpected)
    }

    fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let body = self.send("GET", path, query, None, MAX_JSON_ANSWER)?;
        self.json(path, &body)
    }

    /// The checks every answer that lists packages gets: valid names, each
    /// at most once.
    fn check_names<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for name in names {
            ggen_marketplace_core::name::validate_name(name)
                .map_err(|e| self.untrusted(e.to_string()))?;
            if !seen.insert(name) {
                return Err(self.untrusted(format!("`{name}` is listed twice")));
            }
        }
        Ok(())
    }

    /// Sends a key rotation (an endorsement by a current key); returns the
    /// package's keys after it.
    pub fn rotate_key(&self, rotation: &KeyRotation) -> Result<Vec<String>> {
        self.need_token("rotating a package's key")?;
        let path = paths::keys(&rotation.package);
        let body = api::KeyRotationRequest {
            rotation: rotation.clone(),
        };
        let answer = self.send("POST", &path, &[], Some(to_json(&body)), MAX_JSON_ANSWER)?;
        Ok(self.json::<api::KeyRotationAnswer>(&path, &answer)?.keys)
    }

    fn need_token(&self, what: &str) -> Result<()> {
        if self.token.is_some() {
            return Ok(());
        }
        Err(MarketplaceError::Remote(Box::new(RemoteFailure {
            url: self.base.clone(),
            status: 401,
            code: api::codes::UNAUTHORIZED.into(),
            message: format!("{what} on a registry server needs a token"),
            hint: Some(
                "pass --token TOKEN or set GGEN_REGISTRY_TOKEN (the server's operator creates one with `ggen registry token create --scope publish --owner NAME --package PATTERN`)".into(),
            ),
        })))
    }

    fn check_versions(&self, name: &str, versions: &[PackageVersion]) -> Result<()> {
        ggen_marketplace_core::model::check_versions_of(name, versions)
            .map_err(|reason| self.untrusted(reason))
    }
}

impl MarketplaceBackend for RemoteBackend {
    /// A registry server routes between both; this is what it used last (V2 before any call).
    fn kind(&self) -> BackendKind {
        self.last_used()
    }

    fn last_used(&self) -> BackendKind {
        match self.last.load(Ordering::Relaxed) {
            1 => BackendKind::V1,
            _ => BackendKind::V2,
        }
    }

    fn metadata(&self) -> Result<BackendMetadata> {
        let list = self.list()?;
        Ok(BackendMetadata {
            kind: self.last_used(),
            storage: "registry server".into(),
            location: self.base.clone(),
            package_count: list.len(),
            version_count: list.iter().map(|p| p.versions).sum(),
            capabilities: Capabilities::REGISTRY,
        })
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let params = ggen_registry_api::SearchParams::of(q).pairs();
        let mut results: SearchResults = self.get(&paths::search(), &params)?;
        self.check_names(results.hits.iter().map(|h| h.name.as_str()))?;
        if !q.explain {
            // Parts nobody asked for are not carried further.
            results.hits.iter_mut().for_each(|h| h.explain.clear());
        }
        if results.hits.len() > q.limit {
            return Err(self.untrusted(format!(
                "{} hits for a page of {}",
                results.hits.len(),
                q.limit
            )));
        }
        Ok(results)
    }

    fn package(&self, name: &str) -> Result<Package> {
        let pkg = self
            .get::<api::PackageAnswer>(&paths::package(name), &[])?
            .package;
        if pkg.name != name {
            return Err(self.untrusted(format!(
                "asked for `{name}`, got package `{}`",
                pkg.name.escape_debug()
            )));
        }
        if pkg.versions.is_empty() {
            return Err(self.untrusted(format!("package `{name}` has no versions")));
        }
        self.check_versions(name, &pkg.versions)?;
        Ok(pkg)
    }

    fn versions(&self, name: &str) -> Result<Vec<PackageVersion>> {
        let v = self
            .get::<api::VersionsAnswer>(&paths::versions(name), &[])?
            .versions;
        self.check_versions(name, &v)?;
        Ok(v)
    }

    fn list(&self) -> Result<Vec<PackageSummary>> {
        let list = self
            .get::<api::ListAnswer>(&paths::packages(), &[])?
            .packages;
        self.check_names(list.iter().map(|p| p.name.as_str()))?;
        Ok(list)
    }

    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        self.send(
            "GET",
            &paths::download(name, version),
            &[],
            None,
            MAX_ARCHIVE_ANSWER,
        )
    }

    /// Uploads the archive and its signature; the server reads the metadata
    /// from the manifest inside the archive.
    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        self.need_token("publishing")?;
        let body = api::PublishRequest {
            archive: base64::engine::general_purpose::STANDARD.encode(archive),
            signature: release.signature.clone(),
        };
        let path = paths::packages();
        let answer = self.send("POST", &path, &[], Some(to_json(&body)), MAX_JSON_ANSWER)?;
        let published: api::PublishAnswer = self.json(&path, &answer)?;
        if published.name != release.name || published.version != release.version {
            return Err(self.untrusted(format!(
                "published {}@{}, but the server says it published {}@{}",
                release.name, release.version, published.name, published.version
            )));
        }
        Ok(())
    }

    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        let path = paths::yank(name, version, yanked);
        let answer = self.send("POST", &path, &[], None, MAX_JSON_ANSWER)?;
        self.json::<api::YankAnswer>(&path, &answer)?;
        Ok(())
    }
}

fn to_json(body: &impl serde::Serialize) -> String {
    serde_json::to_string(body).expect("request bodies serialize")
}
