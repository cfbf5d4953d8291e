//! Read routes: JSON answers, archives, the OpenAPI document, web pages,
//! and the registry client's conformance.

use std::path::Path;
use std::time::Duration;

use ggen_marketplace::RemoteBackend;
use ggen_marketplace::Scope;
use ggen_test_support::conformance::{self, Writes};

use crate::support::*;

/// The registry client passes the backend conformance suite that V1 and V2
/// pass, through a real server: what it answers is what a local registry would.
#[test]
fn the_registry_client_conforms() {
    let s = Server::empty();
    let token = s.token(&[Scope::Publish, Scope::Yank], "*");
    let client = RemoteBackend::new(
        &s.base,
        Some(token),
        "conformance".into(),
        Duration::from_secs(30),
        false,
    )
    .unwrap();
    conformance::run(&client, Writes::FromArchive);
}

/// `explain` crosses the wire: the client asks, the server's backend
/// explains, the parts come back with each hit.
#[test]
fn the_registry_client_explains_hits() {
    let s = Server::empty();
    let token = s.token(&[Scope::Publish], "*");
    let client = RemoteBackend::new(
        &s.base,
        Some(token),
        "explain".into(),
        Duration::from_secs(30),
        false,
    )
    .unwrap();
    conformance::search_explains_its_hits(&client);
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

/// The bounds utoipa's attributes state as literals are the ones the server
/// checks; the patterns come from the constants themselves.
#[test]
fn openapi_bounds_are_the_servers() {
    use ggen_marketplace::core::search::{MAX_LIMIT, MAX_OFFSET, MAX_TAGS};
    let s = Server::default();
    let doc = get(&s.url("/api/openapi.json")).json();
    let params = doc["paths"]["/api/v1/search"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {params:?}"))["schema"]
            .clone()
    };
    assert_eq!(param("limit")["maximum"], MAX_LIMIT);
    assert_eq!(param("offset")["maximum"], MAX_OFFSET);
    assert_eq!(param("tags")["maxItems"], MAX_TAGS);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["PackageName"]["pattern"],
        ggen_marketplace::core::name::NAME_PATTERN
    );
    assert_eq!(
        schemas["SemVer"]["pattern"],
        ggen_marketplace::core::name::SEMVER_PATTERN
    );
    // One more than the limit is refused, as the schema says.
    let over = get(&s.url(&format!("/api/v1/search?limit={}", MAX_LIMIT + 1)));
    assert_eq!(over.status, 400);
    let at = get(&s.url(&format!("/api/v1/search?limit={MAX_LIMIT}")));
    assert_eq!(at.status, 200);
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
        let out = ggen_test_support::succeeded(
            std::process::Command::new(&chromium)
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
                .output(),
            "chromium failed",
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
