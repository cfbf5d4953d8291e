//! The real server on a loopback port, driven over HTTP: every route, auth,
//! rate limits and bad input.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use ggen_marketplace::{Compiled, Flags, Owners, Scope, Settings, TokenStore};
use ggen_marketplace::{Marketplace, Paths};
use ggen_marketplace_core::archive::pack_dir;
use ggen_marketplace_core::signing;
use ggen_registry::{AppState, ServeOptions};
use serde_json::{Value, json};

struct Server {
    base: String,
    home: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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
fn marketplace(home: &Path, env: impl Fn(&str) -> Option<String>) -> Marketplace {
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
    fn start(options: ServeOptions) -> Self {
        let home = tempfile::tempdir().unwrap();
        let mp = marketplace(home.path(), |_| None)
            .with_memory_cache(1000)
            .with_package_cache(1000);
        Self::with_marketplace(home, mp, options)
    }

    fn with_marketplace(home: tempfile::TempDir, mp: Marketplace, options: ServeOptions) -> Self {
        Self::with_marketplace_and_metrics(home, mp, options, None)
    }

    fn with_marketplace_and_metrics(
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
    fn with_state(home: tempfile::TempDir, state: AppState) -> Self {
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

    fn default() -> Self {
        Self::start(ServeOptions {
            per_address_rps: 0,
            ..ServeOptions::default()
        })
    }

    fn registry(&self) -> std::path::PathBuf {
        self.home.path().join("registry")
    }

    /// A token acting for the owner `tester`.
    fn token(&self, scopes: &[Scope], packages: &str) -> String {
        self.token_for("tester", scopes, packages)
    }

    fn token_for(&self, owner: &str, scopes: &[Scope], packages: &str) -> String {
        TokenStore::new(&self.registry())
            .create(scopes.to_vec(), packages, owner, None)
            .unwrap()
            .0
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    /// The stable error shape: `{"error": {"code", "message", "hint"}}`.
    fn error_code(&self) -> String {
        let j = self.json();
        assert!(j["error"]["message"].is_string(), "{j}");
        assert!(j["error"].get("hint").is_some(), "{j}");
        j["error"]["code"].as_str().unwrap().to_string()
    }
}

fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
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

fn get(url: &str) -> Reply {
    read(agent().get(url).call())
}

fn get_with(url: &str, header: (&str, &str)) -> Reply {
    read(agent().get(url).header(header.0, header.1).call())
}

fn post_json(url: &str, token: Option<&str>, body: &Value) -> Reply {
    let mut req = agent().post(url).header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    read(req.send(body.to_string()))
}

fn post(url: &str, token: Option<&str>) -> Reply {
    let mut req = agent().post(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    read(req.send_empty())
}

/// A package directory packed into an archive.
fn package(name: &str, version: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    write_package(dir.path(), name, version);
    pack_dir(dir.path()).unwrap()
}

fn write_package(dir: &Path, name: &str, version: &str) {
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

fn upload(archive: &[u8], signature: Option<&ggen_marketplace_core::Signature>) -> Value {
    json!({
        "archive": base64::engine::general_purpose::STANDARD.encode(archive),
        "signature": signature,
    })
}

#[test]
fn read_routes_answer_with_json_and_archives() {
    let s = Server::default();

    let r = get(&s.url("/api/v1/search?q=bibtex"));
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["hits"][0]["name"], "bibtex-references", "{j}");
    assert!(j["backend_used"].is_string(), "{j}");
    let r = get(&s.url("/api/v1/search?q=&category=nonexistent-category"));
    assert_eq!(r.json()["total"], 0);
    let r = get(&s.url("/api/v1/search?sort=sideways"));
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "bad_request");

    let list = get(&s.url("/api/v1/packages")).json();
    let n = list["packages"].as_array().unwrap().len();
    assert!(n >= 10, "{list}");

    let info = get(&s.url("/api/v1/packages/bibtex-references"));
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["name"], "bibtex-references");
    let version = info["versions"][0]["version"].as_str().unwrap().to_string();
    let sha = info["versions"][0]["checksum"]
        .as_str()
        .unwrap()
        .to_string();
    let versions = get(&s.url("/api/v1/packages/bibtex-references/versions")).json();
    assert_eq!(versions["versions"][0]["version"], version.as_str());

    // Archive: content type, ETag = sha256, body hashes to it, 304 on a match.
    let url = s.url(&format!(
        "/api/v1/packages/bibtex-references/{version}/download"
    ));
    let a = get(&url);
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("application/gzip")
    );
    assert_eq!(a.header("etag"), Some(format!("\"{sha}\"")));
    assert_eq!(ggen_marketplace_core::checksum::sha256_hex(&a.body), sha);
    let again = get_with(&url, ("If-None-Match", &format!("\"{sha}\"")));
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = get_with(&url, ("If-None-Match", "\"something-else\""));
    assert_eq!(other.status, 200);

    // Not found, bad names and path tricks: JSON errors, never a file.
    let r = get(&s.url("/api/v1/packages/no-such-package"));
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    assert!(r.json()["error"]["hint"].is_string());
    for trick in ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "..", "UPPER%20case"] {
        let r = get(&s.url(&format!("/api/v1/packages/{trick}")));
        assert!(r.status == 400 || r.status == 404, "{trick}: {}", r.status);
        r.error_code();
        let r = get(&s.url(&format!("/api/v1/packages/{trick}/1.0.0/download")));
        assert!(r.status == 400 || r.status == 404, "{trick}: {}", r.status);
        assert!(!r.text().contains("root:"), "{trick}");
    }
    let r = get(&s.url("/api/v1/packages/bibtex-references/not-a-version/download"));
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "invalid_version");
    let r = get(&s.url("/api/v1/packages/bibtex-references/99.0.0/download"));
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "version_not_found");
    let r = get(&s.url(&format!(
        "/api/v1/packages/bibtex-references/{version}/signature"
    )));
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_signed");
    let r = get(&s.url("/api/v1/nothing-here"));
    assert_eq!(r.status, 404);
    r.error_code();

    // Operations endpoints.
    assert_eq!(get(&s.url("/healthz")).json()["status"], "ok");
    let ready = get(&s.url("/readyz"));
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["status"], "ok", "{}", ready.text());
}

#[test]
fn openapi_document_lists_every_api_route() {
    let s = Server::default();
    let doc = get(&s.url("/api/openapi.json")).json();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/search", &["get"][..]),
        ("/api/v1/packages", &["get", "post"][..]),
        ("/api/v1/packages/{name}", &["get"][..]),
        ("/api/v1/packages/{name}/versions", &["get"][..]),
        ("/api/v1/packages/{name}/{version}/download", &["get"][..]),
        ("/api/v1/packages/{name}/{version}/signature", &["get"][..]),
        ("/api/v1/packages/{name}/{version}/statement", &["get"][..]),
        ("/api/v1/packages/{name}/{version}/yank", &["post"][..]),
        ("/api/v1/packages/{name}/{version}/unyank", &["post"][..]),
        ("/api/v1/packages/{name}/keys", &["post"][..]),
    ] {
        for m in methods {
            assert!(
                paths[path].get(*m).is_some(),
                "{m} {path} missing from {doc}"
            );
        }
    }
    assert_eq!(paths.len(), 10, "undocumented extras: {:?}", paths.keys());
}

#[test]
fn publishing_needs_the_right_token_and_valid_input() {
    let s = Server::default();
    let publisher = s.token(&[Scope::Publish], "quokka-*");
    let yanker = s.token(&[Scope::Yank], "*");
    let url = s.url("/api/v1/packages");
    let archive = package("quokka-tools", "1.0.0");
    let body = upload(&archive, None);

    let r = post_json(&url, None, &body);
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "unauthorized");
    let r = post_json(&url, Some("ggen_0000"), &body);
    assert_eq!(r.status, 401);
    let r = post_json(&url, Some(&yanker), &body);
    assert_eq!(r.status, 403, "a yank token cannot publish");
    let r = post_json(
        &url,
        Some(&publisher),
        &upload(&package("other-name", "1.0.0"), None),
    );
    assert_eq!(r.status, 403, "outside the token's package glob");
    assert!(r.text().contains("quokka-*"), "{}", r.text());

    // Bad bodies.
    let r = read(
        agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {publisher}"))
            .header("Content-Type", "application/json")
            .send("{not json"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    r.error_code();
    let r = read(
        agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {publisher}"))
            .header("Content-Type", "text/plain")
            .send(body.to_string()),
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.error_code(), "unsupported_media_type");
    let r = post_json(&url, Some(&publisher), &json!({"archive": "@@@not base64"}));
    assert_eq!(r.status, 400);
    let r = post_json(&url, Some(&publisher), &upload(b"not a gzip at all", None));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.error_code(), "invalid_archive");
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README.md"), "no manifest").unwrap();
    let r = post_json(
        &url,
        Some(&publisher),
        &upload(&pack_dir(empty.path()).unwrap(), None),
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains("no manifest"), "{}", r.text());
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).status,
        404,
        "nothing was published by the refused uploads"
    );

    // Searches are cached in memory until a write changes the registry.
    let before = get(&s.url("/api/v1/search?q=quokka"));
    assert_eq!(before.header("x-ggen-cache").as_deref(), Some("MISS"));
    assert_eq!(before.json()["total"], 0);
    let again = get(&s.url("/api/v1/search?q=quokka"));
    assert_eq!(again.header("x-ggen-cache").as_deref(), Some("HIT"));

    // The real thing, then immutability.
    let r = post_json(&url, Some(&publisher), &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["name"], "quokka-tools");
    assert_eq!(j["signed"], false);
    let r = post_json(&url, Some(&publisher), &body);
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "already_published");
    let after = get(&s.url("/api/v1/search?q=quokka"));
    assert_eq!(
        after.header("x-ggen-cache").as_deref(),
        Some("MISS"),
        "the publish invalidated it"
    );
    let hits = after.json();
    assert_eq!(hits["hits"][0]["name"], "quokka-tools", "{hits}");
    let a = get(&s.url("/api/v1/packages/quokka-tools/1.0.0/download"));
    assert_eq!(a.body, archive);

    // Yank and unyank need the yank scope. (Info is read first, so a cached
    // answer would show a stale yank below.)
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).json()["versions"][0]["yanked"],
        false
    );
    let yank = s.url("/api/v1/packages/quokka-tools/1.0.0/yank");
    assert_eq!(post(&yank, None).status, 401);
    assert_eq!(post(&yank, Some(&publisher)).status, 403);
    let r = post(&yank, Some(&yanker));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).json()["versions"][0]["yanked"],
        true
    );
    let r = post(
        &s.url("/api/v1/packages/quokka-tools/1.0.0/unyank"),
        Some(&yanker),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).json()["versions"][0]["yanked"],
        false
    );
    assert_eq!(
        post(
            &s.url("/api/v1/packages/quokka-tools/9.9.9/yank"),
            Some(&yanker)
        )
        .status,
        404
    );
}

#[test]
fn signed_uploads_are_verified_and_their_signatures_served() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let url = s.url("/api/v1/packages");
    let key = signing::generate_keypair().unwrap();
    let archive = package("quokka-signed", "1.0.0");
    let v = semver::Version::new(1, 0, 0);
    let sig =
        signing::sign_archive(&key, "quokka-signed", &v, &archive, chrono::Utc::now()).unwrap();

    // A signature for another package, and a flipped signature byte: refused.
    let other =
        signing::sign_archive(&key, "quokka-other", &v, &archive, chrono::Utc::now()).unwrap();
    let r = post_json(&url, Some(&token), &upload(&archive, Some(&other)));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.error_code(), "invalid_signature");
    let mut flipped = sig.clone();
    let mut raw = hex::decode(&flipped.signature).unwrap();
    raw[5] ^= 1;
    flipped.signature = hex::encode(raw);
    let r = post_json(&url, Some(&token), &upload(&archive, Some(&flipped)));
    assert_eq!(r.status, 422);

    let r = post_json(&url, Some(&token), &upload(&archive, Some(&sig)));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["signed"], true);
    let raw = get(&s.url("/api/v1/packages/quokka-signed/1.0.0/signature"));
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(raw.body, hex::decode(&sig.signature).unwrap());
    let st = get(&s.url("/api/v1/packages/quokka-signed/1.0.0/statement"));
    assert_eq!(st.text(), sig.statement);
    let page = get(&s.url("/packages/quokka-signed")).text();
    assert!(page.contains("signed (Ed25519, key"), "{page}");
}

#[test]
fn oversized_bodies_are_refused_before_reading_them() {
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        max_body_bytes: 64 * 1024,
        ..ServeOptions::default()
    });
    let token = s.token(&[Scope::Publish], "*");
    // Raw HTTP: announce 200 KiB but send only the first 1 KiB. The answer must
    // come without the rest (a client library sending the whole body could
    // instead see the connection closed under it: the server does not read it).
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/v1/packages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        200 * 1024
    )
    .unwrap();
    conn.write_all(&[b'A'; 1024]).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"too_large\""), "{answer}");
    // And through a client library, when it manages to send before the close.
    let big = json!({"archive": "A".repeat(200 * 1024)});
    let mut req = agent()
        .post(&s.url("/api/v1/packages"))
        .header("Content-Type", "application/json")
        .header("Authorization", &format!("Bearer {token}"));
    req = req.header("Connection", "close");
    if let Ok(mut resp) = req.send(big.to_string()) {
        assert_eq!(resp.status().as_u16(), 413);
        let _ = resp.body_mut().read_to_vec();
    }
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let s = Server::start(ServeOptions {
        per_address_rps: 1,
        writes_per_token_per_minute: 1,
        ..ServeOptions::default()
    });
    // Burst of 2, then limited.
    let codes: Vec<u16> = (0..5).map(|_| get(&s.url("/healthz")).status).collect();
    assert!(codes.contains(&429), "{codes:?}");
    let limited = (0..3)
        .map(|_| get(&s.url("/api/v1/packages")))
        .find(|r| r.status == 429)
        .expect("still limited");
    assert_eq!(limited.error_code(), "rate_limited");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");

    // Per token: one write a minute. Wait out the address limit between calls.
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        writes_per_token_per_minute: 1,
        ..ServeOptions::default()
    });
    let yanker = s.token(&[Scope::Yank], "*");
    let info = get(&s.url("/api/v1/packages/bibtex-references")).json();
    let v = info["versions"][0]["version"].as_str().unwrap().to_string();
    let yank = s.url(&format!("/api/v1/packages/bibtex-references/{v}/yank"));
    assert_eq!(post(&yank, Some(&yanker)).status, 200);
    let r = post(&yank, Some(&yanker));
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let other = s.token(&[Scope::Yank], "*");
    assert_eq!(
        post(&yank, Some(&other)).status,
        200,
        "limits are per token"
    );
}

#[test]
fn auth_required_closes_reads_too() {
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        auth_required: true,
        ..ServeOptions::default()
    });
    let r = get(&s.url("/api/v1/search?q=rust"));
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "unauthorized");
    let reader = s.token(&[Scope::Read], "*");
    let r = get_with(
        &s.url("/api/v1/search?q=rust"),
        ("Authorization", &format!("Bearer {reader}")),
    );
    assert_eq!(r.status, 200);
    // Health stays open for load balancers.
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

#[test]
fn web_pages_render_search_and_packages_escaped() {
    let s = Server::default();
    let home = get(&s.url("/"));
    assert_eq!(home.status, 200);
    assert!(
        home.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = home.text();
    assert!(html.contains("<form action=\"/\" method=\"get\""), "{html}");
    assert!(html.contains("All categories"));
    let found = get(&s.url("/?q=bibtex")).text();
    assert!(
        found.contains("href=\"/packages/bibtex-references\""),
        "{found}"
    );
    let hostile = get(&s.url("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).text();
    assert!(!hostile.contains("<script>"), "query echoed unescaped");
    assert!(hostile.contains("&lt;script&gt;"));
    let pkg = get(&s.url("/packages/bibtex-references"));
    assert_eq!(pkg.status, 200);
    let pkg = pkg.text();
    assert!(
        pkg.contains("ggen marketplace install bibtex-references@"),
        "{pkg}"
    );
    assert!(pkg.contains("Versions") && pkg.contains("Dependencies"));
    assert_eq!(get(&s.url("/packages/no-such-thing")).status, 404);
}

/// The pages in a real headless browser (Debian's `chromium`; `CHROMIUM` names
/// another binary): the start page, the result page the search form leads to
/// (a GET form, so its URL is what submitting it loads), and the package page
/// its first link opens. Skipped, saying so, where no chromium is installed.
#[test]
fn pages_work_in_a_headless_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        eprintln!("SKIPPED: no chromium at {chromium} (apt-get install chromium, or set CHROMIUM)");
        return;
    }
    let s = Server::default();
    let profile = tempfile::tempdir().unwrap();
    let dom = |url: &str| -> String {
        let out = std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-dev-shm-usage",
                &format!("--user-data-dir={}", profile.path().display()),
                "--dump-dom",
                url,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let start = dom(&s.url("/"));
    assert!(start.contains("name=\"q\""), "{start}");
    assert!(start.contains("All categories"));
    let results = dom(&s.url("/?q=bibtex&category="));
    let link = results
        .split("href=\"/packages/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no package link in {results}"));
    assert_eq!(link, "bibtex-references");
    let page = dom(&s.url(&format!("/packages/{link}")));
    assert!(
        page.contains("ggen marketplace install bibtex-references@"),
        "{page}"
    );
    assert!(page.contains("Versions"));
}

#[test]
fn a_slow_client_gets_408_and_the_server_keeps_serving() {
    use std::io::{Read, Write};
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        request_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    });
    let token = s.token(&[Scope::Publish], "*");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Announce a body, send a sliver of it, then stall.
    write!(
        conn,
        "POST /api/v1/packages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"archive\": \""
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

#[test]
fn readyz_reports_a_degraded_backend_while_fallback_serves() {
    // V2 points at an endpoint nobody listens on; V1 is fine.
    let compiled = Compiled::this_build();
    if !(compiled.v1 && compiled.v2) {
        return; // needs both backends
    }
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let home = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}/query");
    let mp = marketplace(home.path(), move |k| {
        (k == "GGEN_MARKETPLACE_V2_ENDPOINT").then(|| endpoint.clone())
    });
    let s = Server::with_marketplace(
        home,
        mp,
        ServeOptions {
            per_address_rps: 0,
            ..ServeOptions::default()
        },
    );
    let r = get(&s.url("/readyz"));
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["status"], "degraded", "{j}");
    assert_eq!(j["backends"]["v1"]["ready"], true, "{j}");
    assert_eq!(j["backends"]["v2"]["ready"], false, "{j}");
    let hits = get(&s.url("/api/v1/search?q=bibtex")).json();
    assert_eq!(hits["hits"][0]["name"], "bibtex-references");
    assert_eq!(hits["backend_used"], "v1", "answered by fallback: {hits}");
}

#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    use std::io::{Read, Write};
    let mut s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let body = b"{\"archive\": \"\"}";
    write!(
        conn,
        "POST /api/v1/packages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Stop the server while the request is half sent.
    let _ = s.stop.take().unwrap().send(());
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&body[5..]).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 422"),
        "the request was cut off: {answer:?}"
    );
    s.thread.take().unwrap().join().unwrap();
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the server still accepts connections after shutdown"
    );
}

#[test]
fn metrics_use_the_seeds_names() {
    let Some(handle) = ggen_marketplace::metrics::install() else {
        return; // another test in this process installed the recorder first
    };
    let home = tempfile::tempdir().unwrap();
    let mp = marketplace(home.path(), |_| None);
    let s = Server::with_marketplace_and_metrics(
        home,
        mp,
        ServeOptions {
            per_address_rps: 0,
            ..ServeOptions::default()
        },
        Some(handle),
    );
    get(&s.url("/api/v1/search?q=rust"));
    get(&s.url("/api/v1/packages/no-such-package"));
    let m = get(&s.url("/metrics"));
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = m.text();
    for name in [
        "marketplace_requests_total",
        "marketplace_search_latency",
        "marketplace_total_packages",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let total = text
        .lines()
        .find(|l| l.starts_with("marketplace_total_packages "))
        .unwrap();
    let n: f64 = total.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n >= 10.0, "{total}");
}

// ---- hostile requests -----------------------------------------------------------

/// Every strategy that can send a search to V1 (v1, fallback, compare, an A/B
/// bucket) gets a query string of every kind an attacker might send, and the
/// server answers each with a 4xx and stays up.
#[test]
fn any_query_string_gets_an_answer_and_the_server_stays_up() {
    let strategies: &[&str] = if Compiled::this_build().v1 && Compiled::this_build().v2 {
        &["v1", "v2", "compare", "ab-test"]
    } else if Compiled::this_build().v1 {
        &["v1"]
    } else {
        &["v2"]
    };
    for strategy in strategies {
        let home = tempfile::tempdir().unwrap();
        let strategy = strategy.to_string();
        let mp = marketplace(home.path(), move |k| match k {
            "GGEN_MARKETPLACE_BACKEND" => Some(strategy.clone()),
            "GGEN_MARKETPLACE_V2_PERCENTAGE" => Some("50".into()),
            _ => None,
        });
        let s = Server::with_marketplace(
            home,
            mp,
            ServeOptions {
                per_address_rps: 0,
                ..ServeOptions::default()
            },
        );
        for query in [
            "q=x&offset=18446744073709551615",
            "q=x&offset=10001",
            "q=x&offset=9999999999&limit=100",
            "q=x&offset=184467440737095516150",
            "q=x&limit=0",
            "q=x&limit=-1",
            "q=x&offset=-5",
            "q=x&offset=NaN",
            "q=x&offset=1e9",
            "q=%00",
            "tags=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,aa,bb,cc,dd,ee,ff,gg",
            "category=%1B%5B2J",
        ] {
            let r = get(&s.url(&format!("/api/v1/search?{query}")));
            assert!(
                (400..500).contains(&r.status),
                "{query} got {}: {}",
                r.status,
                r.text()
            );
            r.error_code();
        }
        // Odd but harmless: answered (2xx or 4xx), never a 5xx.
        for query in [
            "q=%FF%FE",
            "q=x&q=y",
            "q=%F0%9F%92%A9",
            "limit=1&&&&=&offset=",
        ] {
            let r = get(&s.url(&format!("/api/v1/search?{query}")));
            assert!(r.status < 500, "{query} got {}: {}", r.status, r.text());
        }
        // The deepest page still served is served.
        let r = get(&s.url("/api/v1/search?q=rust&offset=10000"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            get(&s.url("/healthz")).status,
            200,
            "the server is still up"
        );
    }
}

/// Reads until the peer closes or `limit` passes; returns what came and whether it closed.
fn read_until_closed(conn: &mut std::net::TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    use std::io::Read;
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

#[test]
fn half_sent_headers_are_dropped_after_the_header_timeout() {
    use std::io::Write;
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        header_read_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    });
    let addr = s.base.trim_start_matches("http://").to_string();
    // A slowloris: a request line and half a header, then nothing.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    write!(slow, "GET /api/v1/packages HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    let started = std::time::Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(10));
    assert!(closed, "the server kept a half-sent request open");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed only after {:?}",
        started.elapsed()
    );
    // An idle connection that never sends anything is closed too.
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
    assert!(closed, "an idle connection was kept open");
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

#[test]
fn a_connection_flood_from_one_address_leaves_room_for_others() {
    use std::io::Write;
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        header_read_timeout: Duration::from_secs(30),
        max_connections: 64,
        max_connections_per_address: 8,
        ..ServeOptions::default()
    });
    let addr: SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    // 200 half-sent requests from 127.0.0.1: eight are held, the rest closed.
    let mut flood = Vec::new();
    for _ in 0..200 {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let _ = write!(c, "GET / HTTP/1.1\r\nHost: x\r\n");
        flood.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    let closed = flood
        .iter_mut()
        .map(|c| read_until_closed(c, Duration::from_millis(20)).1)
        .filter(|&closed| closed)
        .count();
    assert!(
        closed >= 190,
        "only {closed} of 200 connections from one address were refused"
    );
    // Another address (all of 127/8 is this machine) is served at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut conn = socket.connect(addr).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out))
            .await
            .expect("answered in time")
            .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    });
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(flood);
}

#[test]
fn expensive_requests_beyond_the_limit_get_503_with_retry_after() {
    let home = tempfile::tempdir().unwrap();
    let mp = marketplace(home.path(), |_| None);
    let state = AppState::new(
        mp,
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            per_address_rps: 0,
            max_expensive_requests: 1,
            ..ServeOptions::default()
        },
        None,
    );
    let s = Server::with_state(home, state.clone());
    // One expensive request is running (held here); the next is shed, cheap ones are not.
    let held = state.expensive_permit().unwrap();
    for path in ["/api/v1/packages", "/"] {
        let r = get(&s.url(path));
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    }
    let token = s.token(&[Scope::Publish], "*");
    let r = post_json(
        &s.url("/api/v1/packages"),
        Some(&token),
        &upload(&package("quokka-busy", "1.0.0"), None),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.error_code(), "busy");
    assert_eq!(get(&s.url("/api/v1/search?q=rust")).status, 200);
    assert_eq!(
        get(&s.url("/api/v1/packages/bibtex-references")).status,
        200
    );
    drop(held);
    assert_eq!(get(&s.url("/api/v1/packages")).status, 200);
}

#[test]
fn a_download_whose_stored_archive_was_altered_is_cut_short() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let archive = package("quokka-stream", "1.0.0");
    let r = post_json(
        &s.url("/api/v1/packages"),
        Some(&token),
        &upload(&archive, None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let url = s.url("/api/v1/packages/quokka-stream/1.0.0/download");
    let whole = get(&url);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, archive);
    assert_eq!(
        whole.header("content-length"),
        Some(archive.len().to_string())
    );
    // Alter every stored copy (V1 keeps archives by name, V2 by digest).
    let mut altered = 0;
    for file in walk_files(&s.registry()) {
        if std::fs::read(&file).is_ok_and(|b| b == archive) {
            let mut bytes = archive.clone();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&file, bytes).unwrap();
            altered += 1;
        }
    }
    assert!(altered > 0, "no stored archive found");
    let resp = agent().get(&url).call();
    let intact = match resp {
        Ok(mut r) if r.status() == 200 => r
            .body_mut()
            .read_to_vec()
            .is_ok_and(|b| b.len() == archive.len()),
        _ => false,
    };
    assert!(!intact, "an altered archive was served whole");
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn metrics_need_a_token_when_reads_do_or_live_on_their_own_listener() {
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        auth_required: true,
        ..ServeOptions::default()
    });
    let r = get(&s.url("/metrics"));
    assert_eq!(r.status, 401, "{}", r.text());
    let reader = s.token(&[Scope::Read], "*");
    let r = get_with(
        &s.url("/metrics"),
        ("Authorization", &format!("Bearer {reader}")),
    );
    assert_ne!(r.status, 401, "{}", r.text());

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Server::start(ServeOptions {
        per_address_rps: 0,
        auth_required: true,
        metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], port))),
        ..ServeOptions::default()
    });
    let r = get_with(
        &s.url("/metrics"),
        (
            "Authorization",
            &format!("Bearer {}", s.token(&[Scope::Read], "*")),
        ),
    );
    assert_eq!(r.status, 404, "metrics are not on the main listener");
    let r = get(&format!("http://127.0.0.1:{port}/metrics"));
    assert_ne!(r.status, 404, "{}", r.text());
    assert_ne!(r.status, 401);
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/api/v1/packages")).status,
        404
    );
}

#[test]
fn rate_limits_key_on_forwarded_for_only_from_trusted_proxies() {
    let limited = |trusted: &[&str]| {
        let s = Server::start(ServeOptions {
            per_address_rps: 1,
            trusted_proxies: ggen_registry::client::TrustedProxies::parse(trusted).unwrap(),
            ..ServeOptions::default()
        });
        // Ten requests, each claiming another client address.
        (0..10)
            .map(|i| {
                get_with(
                    &s.url("/healthz"),
                    ("X-Forwarded-For", &format!("198.51.100.{i}")),
                )
                .status
            })
            .filter(|&c| c == 429)
            .count()
    };
    assert_eq!(
        limited(&["127.0.0.1"]),
        0,
        "behind a trusted proxy each client has its own limit"
    );
    assert!(
        limited(&[]) >= 5,
        "an untrusted peer cannot choose its rate-limit key"
    );
}

#[test]
fn uploads_an_installer_would_refuse_are_refused() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    // A valid package plus one entry of each kind an install refuses.
    let hostile = |extra: &dyn Fn(&mut tar::Builder<Vec<u8>>)| {
        let mut b = tar::Builder::new(Vec::new());
        let manifest =
            b"[package]\nname = \"quokka-evil\"\nversion = \"1.0.0\"\ndescription = \"x\"\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(manifest.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "gpack.toml", &manifest[..]).unwrap();
        extra(&mut b);
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    };
    let symlink = hostile(&|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "templates/passwd", "/etc/passwd")
            .unwrap();
    });
    let fifo = hostile(&|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Fifo);
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, "pipe", &[][..]).unwrap();
    });
    let deep = hostile(&|b| {
        // More directories than an install creates.
        for i in 0..10_001 {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            h.set_mode(0o755);
            h.set_cksum();
            b.append_data(&mut h, format!("d{i}/"), &[][..]).unwrap();
        }
    });
    for (label, archive) in [("symlink", symlink), ("fifo", fifo), ("directories", deep)] {
        let r = post_json(
            &s.url("/api/v1/packages"),
            Some(&token),
            &upload(&archive, None),
        );
        assert_eq!(r.status, 422, "{label}: {}", r.text());
        assert_eq!(r.error_code(), "invalid_archive", "{label}");
    }
    assert_eq!(get(&s.url("/api/v1/packages/quokka-evil")).status, 404);
    // Metadata with terminal escape sequences is refused too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gpack.toml"),
        "[package]\nname = \"quokka-escape\"\nversion = \"1.0.0\"\ndescription = \"hi\\u001b]0;owned\\u0007\"\n",
    )
    .unwrap();
    let r = post_json(
        &s.url("/api/v1/packages"),
        Some(&token),
        &upload(&pack_dir(dir.path()).unwrap(), None),
    );
    assert_eq!(r.status, 422, "{}", r.text());
}

// ---- ownership --------------------------------------------------------------------

#[test]
fn a_name_belongs_to_its_first_publisher() {
    let s = Server::default();
    let alice = s.token_for("alice", &[Scope::Publish, Scope::Yank], "*");
    let bob = s.token_for("bob", &[Scope::Publish, Scope::Yank], "*");
    let url = s.url("/api/v1/packages");
    let r = post_json(
        &url,
        Some(&alice),
        &upload(&package("quokka-owned", "1.0.0"), None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post_json(
        &url,
        Some(&bob),
        &upload(&package("quokka-owned", "1.1.0"), None),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("alice"), "{}", r.text());
    let yank = s.url("/api/v1/packages/quokka-owned/1.0.0/yank");
    assert_eq!(post(&yank, Some(&bob)).status, 403);
    // Granted by the operator, bob may.
    Owners::new(&s.registry())
        .update(|all| {
            all.get_mut("quokka-owned")
                .unwrap()
                .owners
                .push("bob".into());
            Ok(())
        })
        .unwrap();
    let r = post_json(
        &url,
        Some(&bob),
        &upload(&package("quokka-owned", "1.1.0"), None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(post(&yank, Some(&alice)).status, 200);
    // Names that differ only in separators or case are the same name.
    for confusable in ["quokka_owned", "quokka.owned"] {
        let r = post_json(
            &url,
            Some(&alice),
            &upload(&package(confusable, "1.0.0"), None),
        );
        assert_eq!(r.status, 409, "{confusable}: {}", r.text());
        assert_eq!(r.error_code(), "confusable_name");
    }
}

#[test]
fn a_signed_package_stays_signed_by_its_keys() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let url = s.url("/api/v1/packages");
    let first = signing::generate_keypair().unwrap();
    let other = signing::generate_keypair().unwrap();
    let signed = |key: &ed25519_dalek::SigningKey, version: &str| {
        let archive = package("quokka-keyed", version);
        let v: semver::Version = version.parse().unwrap();
        let sig =
            signing::sign_archive(key, "quokka-keyed", &v, &archive, chrono::Utc::now()).unwrap();
        upload(&archive, Some(&sig))
    };
    assert_eq!(
        post_json(&url, Some(&token), &signed(&first, "1.0.0")).status,
        201
    );
    let r = post_json(
        &url,
        Some(&token),
        &upload(&package("quokka-keyed", "1.1.0"), None),
    );
    assert_eq!(r.status, 403, "unsigned after signed: {}", r.text());
    let r = post_json(&url, Some(&token), &signed(&other, "1.1.0"));
    assert_eq!(r.status, 403, "another key: {}", r.text());
    assert_eq!(
        post_json(&url, Some(&token), &signed(&first, "1.1.0")).status,
        201
    );
    // The operator rotates explicitly: the new key is accepted from then on.
    Owners::new(&s.registry())
        .update(|all| {
            all.get_mut("quokka-keyed")
                .unwrap()
                .keys
                .push(signing::public_key_hex(&other.verifying_key()));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        post_json(&url, Some(&token), &signed(&other, "1.2.0")).status,
        201
    );
}
