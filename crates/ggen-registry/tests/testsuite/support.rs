//! The server under test and the HTTP helpers every module uses.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use ggen_marketplace::{Compiled, Flags, Scope, Settings, TokenStore};
use ggen_marketplace::{Marketplace, Paths};
use ggen_marketplace_core::archive::pack_dir;
use ggen_registry::{AppState, ServeOptions};
use serde_json::{Value, json};

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) home: tempfile::TempDir,
    pub(crate) stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A seeded marketplace in `home`, with `env` as its environment.
/// The default server options without the per-address rate limit, so a
/// test may call as fast as it likes.
pub(crate) fn unthrottled() -> ServeOptions {
    ServeOptions {
        per_address_rps: 0,
        ..ServeOptions::default()
    }
}

pub(crate) fn marketplace(home: &Path, env: impl Fn(&str) -> Option<String>) -> Marketplace {
    let paths = Paths::under(home);
    let settings = Settings::resolve(
        None,
        &paths.config_file(),
        &env,
        &Flags::default(),
        Compiled::this_build(),
    )
    .unwrap();
    let mp = Marketplace::new(paths, settings);
    mp.ensure_seeded(false).unwrap();
    mp
}

impl Server {
    pub(crate) fn start(options: ServeOptions) -> Self {
        let home = tempfile::tempdir().unwrap();
        let mp = marketplace(home.path(), |_| None)
            .with_memory_cache(1000)
            .with_package_cache(1000);
        Self::with_marketplace(home, mp, options)
    }

    pub(crate) fn with_marketplace(
        home: tempfile::TempDir,
        mp: Marketplace,
        options: ServeOptions,
    ) -> Self {
        Self::with_marketplace_and_metrics(home, mp, options, None)
    }

    pub(crate) fn with_marketplace_and_metrics(
        home: tempfile::TempDir,
        mp: Marketplace,
        options: ServeOptions,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
        let state = AppState::new(
            mp,
            ServeOptions {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..options
            },
            metrics,
        );
        Self::with_state(home, state)
    }

    /// Serves `state` (built by the test, which keeps a handle on it).
    pub(crate) fn with_state(home: tempfile::TempDir, state: AppState) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(ggen_registry::serve_until(
                state,
                move |a| addr_tx.send(a).unwrap(),
                async move {
                    let _ = stop_rx.await;
                },
            ))
            .unwrap();
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        Server {
            base: format!("http://{addr}"),
            home,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// A server over an empty registry (`init --empty`).
    pub(crate) fn empty() -> Self {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let settings = Settings::resolve(
            None,
            &paths.config_file(),
            &|_| None,
            &Flags::default(),
            Compiled::this_build(),
        )
        .unwrap();
        let mp = Marketplace::new(paths, settings);
        assert!(mp.init_empty().unwrap());
        Self::with_marketplace(home, mp, unthrottled())
    }

    pub(crate) fn default() -> Self {
        Self::start(unthrottled())
    }

    pub(crate) fn registry(&self) -> std::path::PathBuf {
        self.home.path().join("registry")
    }

    /// A token acting for the owner `tester`.
    pub(crate) fn token(&self, scopes: &[Scope], packages: &str) -> String {
        self.token_for("tester", scopes, packages)
    }

    pub(crate) fn token_for(&self, owner: &str, scopes: &[Scope], packages: &str) -> String {
        TokenStore::new(&self.registry())
            .create(scopes.to_vec(), packages, owner, None)
            .unwrap()
            .0
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: ureq::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    /// The stable error shape: `{"error": {"code", "message", "hint"}}`.
    pub(crate) fn error_code(&self) -> String {
        let j = self.json();
        assert!(j["error"]["message"].is_string(), "{j}");
        assert!(j["error"].get("hint").is_some(), "{j}");
        j["error"]["code"].as_str().unwrap().to_string()
    }
}

pub(crate) fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut resp = resp.unwrap();
    Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp
            .body_mut()
            .with_config()
            .limit(1 << 28)
            .read_to_vec()
            .unwrap(),
    }
}

pub(crate) fn get(url: &str) -> Reply {
    read(agent().get(url).call())
}

pub(crate) fn get_with(url: &str, header: (&str, &str)) -> Reply {
    read(agent().get(url).header(header.0, header.1).call())
}

pub(crate) fn post_json(url: &str, token: Option<&str>, body: &Value) -> Reply {
    let mut req = agent().post(url).header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    read(req.send(body.to_string()))
}

pub(crate) fn post(url: &str, token: Option<&str>) -> Reply {
    let mut req = agent().post(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    read(req.send_empty())
}

/// A package directory packed into an archive.
pub(crate) fn package(name: &str, version: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    write_package(dir.path(), name, version);
    pack_dir(dir.path()).unwrap()
}

pub(crate) fn write_package(dir: &Path, name: &str, version: &str) {
    std::fs::write(
        dir.join("gpack.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"A quokka template for tests\"\nlicense = \"MIT\"\ncategory = \"testing\"\ntags = [\"quokka\"]\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/hello.txt"), "hello {{ name }}\n").unwrap();
}

pub(crate) fn upload(
    archive: &[u8],
    signature: Option<&ggen_marketplace_core::Signature>,
) -> Value {
    json!({
        "archive": base64::engine::general_purpose::STANDARD.encode(archive),
        "signature": signature,
    })
}
