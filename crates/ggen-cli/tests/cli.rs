//! End-to-end tests of the `ggen` binary against a throw-away GGEN_HOME.
//! They run under every feature set; backend-specific ones are gated.

mod common;

use std::path::Path;

use common::{Home, names};
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn fresh_home_is_seeded_and_search_finds_exact_name_first() {
    let home = Home::new();
    let v = home.json(&["search", "--query", "hello world"]);
    assert_eq!(names(&v)[0], "hello-world");
    assert!(v["backend_used"].is_string());
    assert!(v["query_time_ms"].as_f64().unwrap() >= 0.0);
    // Typos still find it.
    let v = home.json(&["search", "--query", "helo wrld"]);
    assert_eq!(names(&v)[0], "hello-world");
}

#[test]
fn search_filters_sort_and_page() {
    let home = Home::new();
    let v = home.json(&["search", "--query", "rust", "--category", "RUST"]);
    assert!(!names(&v).is_empty());
    for h in v["hits"].as_array().unwrap() {
        assert_eq!(h["category"].as_str().unwrap().to_lowercase(), "rust");
    }
    let all = home.json(&["search", "--sort", "name", "--limit", "1000"]);
    let sorted = names(&all);
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(sorted, expected);
    assert!(sorted.len() >= 20);
    let page = home.json(&["search", "--sort", "name", "--limit", "5", "--offset", "5"]);
    assert_eq!(names(&page), sorted[5..10].to_vec());
    assert_eq!(page["total"].as_u64().unwrap() as usize, sorted.len());
}

#[test]
fn info_versions_and_list() {
    let home = Home::new();
    let v = home.json(&["info", "rust-base"]);
    assert_eq!(v["name"], "rust-base");
    assert_eq!(v["versions"].as_array().unwrap().len(), 4);
    assert_eq!(v["version"]["version"], v["latest"]);
    let v = home.json(&["info", "rust-base@1.0.0"]);
    assert_eq!(v["version"]["version"], "1.0.0");
    let v = home.json(&["versions", "rust-base"]);
    assert_eq!(v["versions"].as_array().unwrap().len(), 4);
    let v = home.json(&["list"]);
    assert!(v["packages"].as_array().unwrap().len() >= 20);
    home.ggen()
        .args(["info", "rust-base"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sha256:"));
}

#[test]
fn unknown_package_and_bad_requirement_are_clear_errors() {
    let home = Home::new();
    home.ggen()
        .args(["info", "no-such-package"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("`no-such-package` not found")
                .and(predicate::str::contains("hint:")),
        );
    home.ggen()
        .args(["install", "hello-world@not-a-req", "--target"])
        .arg(home.path().join("t"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid version requirement"));
    home.ggen()
        .args(["info", "../etc/passwd"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid package name"));
}

#[test]
fn install_extracts_verifies_and_locks() {
    let home = Home::new();
    let target = home.path().join("out");
    home.ggen()
        .args(["install", "hello-world", "--target"])
        .arg(&target)
        .assert()
        .success();
    assert!(target.join("hello-world/README.md").is_file());
    let lock = std::fs::read_to_string(target.join("ggen.lock")).unwrap();
    assert!(
        lock.contains("name = \"hello-world\"") && lock.contains("sha256 = "),
        "{lock}"
    );
    // A second identical install does nothing and says so.
    home.ggen()
        .args(["install", "hello-world", "--target"])
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to do"));
}

#[test]
fn install_resolves_a_three_deep_chain() {
    let home = Home::new();
    let target = home.path().join("out");
    let v = home.json(&[
        "install",
        "axum-service",
        "--target",
        target.to_str().unwrap(),
    ]);
    let installed: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["axum-service", "rust-cli", "rust-base"] {
        assert!(installed.contains(&n), "{n} missing from {installed:?}");
        assert!(target.join(n).is_dir());
    }
    // rust-cli ^1.2 needs rust-base ^1.1: the newest 1.x, never 2.0.0.
    let lock = home.json(&["list", "--installed", "--target", target.to_str().unwrap()]);
    let base = lock["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "rust-base")
        .unwrap()
        .clone();
    assert_eq!(base["version"], "1.1.0");
    // Optional dependencies only when asked.
    assert!(!target.join("github-actions-rust").exists());
}

#[test]
fn tampered_archive_is_refused_and_target_untouched() {
    let home = Home::new();
    home.ggen().arg("init").assert().success();
    // Corrupt every stored archive of hello-world (both backends' copies).
    let mut tampered = 0;
    for entry in walk(&home.path().join("registry")) {
        if entry.extension().is_some_and(|e| e == "gz")
            && entry.to_string_lossy().contains("hello-world")
            || is_blob_of(&entry, &home, "hello-world")
        {
            let mut bytes = std::fs::read(&entry).unwrap();
            let n = bytes.len();
            bytes[n / 2] ^= 0xff;
            std::fs::write(&entry, bytes).unwrap();
            tampered += 1;
        }
    }
    assert!(tampered >= 1);
    let target = home.path().join("out");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("keep.txt"), "mine").unwrap();
    home.ggen()
        .args(["install", "hello-world", "--target"])
        .arg(&target)
        .assert()
        .failure()
        .stderr(predicate::str::contains("checksum mismatch"));
    let left: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".ggen"))
        .collect();
    assert_eq!(left, ["keep.txt"]);
}

fn is_blob_of(path: &Path, home: &Home, name: &str) -> bool {
    // V2 stores archives by checksum: find hello-world's checksum via `info`.
    if !path.to_string_lossy().contains("blobs") {
        return false;
    }
    let out = home.ggen().args(["info", name, "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["version"]["checksum"]
        .as_str()
        .is_some_and(|c| path.to_string_lossy().contains(c))
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn validate_reports_file_line_and_reason() {
    let home = Home::new();
    let pkg = home.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("gpack.toml"),
        "[package]\nname = \"ok-name\"\nversion = \"1.0.0\"\n[features]\n- \"x\"\n",
    )
    .unwrap();
    home.ggen()
        .args(["validate"])
        .arg(&pkg)
        .assert()
        .failure()
        .stdout(predicate::str::contains("gpack.toml").and(predicate::str::contains("line 5")));
    std::fs::write(pkg.join("gpack.toml"), "[package]\nname = \"ok-name\"\nversion = \"1.0.0\"\ndescription = \"fine\"\nlicense = \"MIT\"\n").unwrap();
    home.ggen()
        .args(["validate"])
        .arg(&pkg)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"));
}

#[test]
fn unknown_config_key_names_key_and_file() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(
        home.path().join("config/config.yaml"),
        "marketplace:\n  bakend: v1\n",
    )
    .unwrap();
    home.ggen()
        .args(["search", "--query", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("bakend").and(predicate::str::contains("config.yaml")));
}

#[test]
fn json_search_survives_injection_strings() {
    let home = Home::new();
    for q in [
        "x\") } ; DROP ALL ; #",
        "'; DELETE WHERE { ?s ?p ?o } #",
        "{{}}<>\\\"",
        &"a".repeat(900),
    ] {
        let v = home.json(&["search", "--query", q]);
        assert!(v["hits"].is_array());
    }
    // The registry is intact afterwards.
    let v = home.json(&["list"]);
    assert!(v["packages"].as_array().unwrap().len() >= 20);
    home.ggen()
        .args(["search", "--query", "a\u{1}b"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("control characters"));
}

#[cfg(feature = "marketplace-v1")]
#[test]
fn corrupt_index_json_is_a_clear_error() {
    let home = Home::new();
    home.ggen().arg("init").assert().success();
    std::fs::write(home.path().join("registry/index.json"), "{ not json").unwrap();
    home.ggen()
        .args(["info", "hello-world", "--backend", "v1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("index.json").and(predicate::str::contains("unreadable")));
}

#[cfg(feature = "marketplace-v1")]
#[test]
fn real_registry_shape_loads_with_quirks() {
    // A miniature of ggen's public index.json: mixed-case categories, empty tags, a
    // dependency on an absent package, a dotted name, no archives.
    let home = Home::new();
    let reg = home.path().join("real");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::write(reg.join("index.json"), REAL_SHAPE).unwrap();
    let run = |args: &[&str]| {
        let out = home
            .ggen()
            .env("GGEN_REGISTRY_DIR", &reg)
            .args(args)
            .args(["--backend", "v1", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    home.ggen()
        .env("GGEN_REGISTRY_DIR", &reg)
        .args(["rebuild-index", "--backend", "v1"])
        .assert()
        .success();
    let v = run(&["search", "--query", "bibtex"]);
    assert_eq!(names(&v)[0], "academic-bibliography-manager");
    let v = run(&["info", "io.ggen.nextjs.ontology-crud"]);
    assert_eq!(v["version"]["category"], "web");
    let v = run(&["search", "--query", "", "--category", "enterprise"]);
    assert_eq!(v["total"], 2, "case-insensitive category filter: {v}");
    // The index file is not rewritten by reads.
    assert_eq!(
        std::fs::read_to_string(reg.join("index.json")).unwrap(),
        REAL_SHAPE
    );
}

#[cfg(feature = "marketplace-v1")]
const REAL_SHAPE: &str = r#"{
  "version": "1.0.0",
  "registry_url": "https://github.com/seanchatmangpt/ggen",
  "updated_at": "2025-11-16T02:07:56.549355Z",
  "package_count": 4,
  "categories": {"academic-tools": 1, "Enterprise": 1, "enterprise": 1, "web": 1},
  "packages": [
    {"name": "academic-bibliography-manager", "version": "1.0.0", "category": "academic-tools",
     "description": "Bibliography management system with BibTeX support, citation validation",
     "tags": ["bibliography", "bibtex"], "keywords": ["bibtex", "doi"], "author": "ggen-team",
     "license": "MIT", "downloads": 0, "stars": 0, "production_ready": false,
     "dependencies": ["academic-paper-lifecycle"], "path": "marketplace/packages/academic-bibliography-manager",
     "download_url": "https://github.com/seanchatmangpt/ggen/archive/refs/heads/master.zip",
     "checksum": "3d6ff6ca7b8324829b40cd18dab6a9e5dbe6d843ca8a9a02a15289ec218440cc"},
    {"name": "asset-management", "version": "1.0.0", "category": "Enterprise", "description": "Enterprise Asset Management",
     "tags": [], "keywords": [], "author": null, "license": "MIT", "downloads": 0, "stars": 0,
     "production_ready": false, "dependencies": [], "path": "x", "download_url": "y", "checksum": "z"},
    {"name": "crm-customer-management", "version": "1.0.0", "category": "enterprise", "description": "CRM",
     "tags": ["crm"], "keywords": [], "author": "GGEN Marketplace", "license": "MIT", "downloads": 0, "stars": 0,
     "production_ready": false, "dependencies": [], "path": "x", "download_url": "y", "checksum": "z"},
    {"name": "io.ggen.nextjs.ontology-crud", "version": "1.0.0", "category": "web", "description": "Next.js CRUD",
     "tags": ["nextjs"], "keywords": [], "author": "ggen", "license": "MIT", "downloads": 0, "stars": 0,
     "production_ready": false, "dependencies": [], "path": "x", "download_url": "y", "checksum": "z"}
  ],
  "search_index": {"bibtex": ["academic-bibliography-manager"]}
}
"#;
