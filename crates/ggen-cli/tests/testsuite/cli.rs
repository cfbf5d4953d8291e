//! End-to-end tests of the `ggen` binary against a throw-away GGEN_HOME.
//! They run under every feature set; backend-specific ones are gated.

use crate::common;

use std::path::{Path, PathBuf};

use common::{Home, names, walk};
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
    let info = home.succeeds(&["info", "rust-base"]);
    assert!(info.contains("sha256:"), "{info}");
}

#[test]
fn unknown_package_and_bad_requirement_are_clear_errors() {
    let home = Home::new();
    home.fails(
        &["info", "no-such-package"],
        &["`no-such-package` not found", "hint:"],
    );
    home.fails_in(
        &home.path().join("t"),
        &["install", "hello-world@not-a-req"],
        &["invalid version requirement"],
    );
    home.fails(&["info", "../etc/passwd"], &["invalid package name"]);
}

#[test]
fn install_extracts_verifies_and_locks() {
    let home = Home::new();
    let target = home.path().join("out");
    home.succeeds_in(&target, &["install", "hello-world"]);
    assert!(target.join("hello-world/README.md").is_file());
    let lock = lockfile(&target);
    assert!(
        lock.contains("name = \"hello-world\"") && lock.contains("sha256 = "),
        "{lock}"
    );
    // A second identical install does nothing and says so.
    let again = home.succeeds_in(&target, &["install", "hello-world"]);
    assert!(again.contains("Nothing to do"), "{again}");
}

/// The `ggen.lock` in `target`, as text.
fn lockfile(target: &Path) -> String {
    std::fs::read_to_string(target.join("ggen.lock")).unwrap()
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
    home.fails_in(&target, &["install", "hello-world"], &["checksum mismatch"]);
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
    let validate = ["validate", pkg.to_str().unwrap()];
    let (ok, report, _) = home.run(&validate);
    assert!(!ok, "{report}");
    assert!(
        report.contains("gpack.toml") && report.contains("line 5"),
        "{report}"
    );
    std::fs::write(pkg.join("gpack.toml"), "[package]\nname = \"ok-name\"\nversion = \"1.0.0\"\ndescription = \"fine\"\nlicense = \"MIT\"\n").unwrap();
    let report = home.succeeds(&validate);
    assert!(report.contains("ok"), "{report}");
}

#[test]
fn unknown_config_key_names_key_and_file() {
    let home = Home::new();
    home.write_config("marketplace:\n  bakend: v1\n");
    home.fails(&["search", "--query", "x"], &["bakend", "config.yaml"]);
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
    home.fails(&["search", "--query", "a\u{1}b"], &["control characters"]);
}

#[cfg(feature = "marketplace-v1")]
#[test]
fn corrupt_index_json_is_a_clear_error() {
    let home = Home::new();
    home.ggen().arg("init").assert().success();
    std::fs::write(home.path().join("registry/index.json"), "{ not json").unwrap();
    home.fails(
        &["info", "hello-world", "--backend", "v1"],
        &["index.json", "unreadable"],
    );
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
        let out = ggen_test_support::succeeded(
            home.ggen()
                .env("GGEN_REGISTRY_DIR", &reg)
                .args(args)
                .args(["--backend", "v1", "--json"])
                .output(),
            &format!("{args:?}"),
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

fn installed(home: &Home, target: &Path) -> Vec<(String, String)> {
    let v = home.json(&["list", "--installed", "--target", target.to_str().unwrap()]);
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn update_stays_within_the_requested_range() {
    let home = Home::new();
    let target = home.path().join("out");
    let t = target.to_str().unwrap();
    // Each step, and the one version of rust-base locked after it.
    for (step, locked) in [
        (vec!["install", "rust-base@~1.0"], "1.0.0"),
        // rust-base 1.1.0 and 2.0.0 exist; ~1.0 allows neither.
        (vec!["update"], "1.0.0"),
        // Widening the requirement keeps the locked version (as cargo does) ...
        (vec!["install", "rust-base@^1"], "1.0.0"),
        // ... and `update` then moves to the newest 1.x, never 2.0.0.
        (vec!["update"], "1.1.0"),
    ] {
        home.json(&[&step[..], &["--target", t]].concat());
        assert_eq!(
            installed(&home, &target),
            [("rust-base".to_string(), locked.to_string())],
            "after {step:?}"
        );
    }
}

#[test]
fn conflicting_requirements_are_explained_and_change_nothing() {
    let home = Home::new();
    let target = home.path().join("out");
    home.fails_in(
        &target,
        &["install", "rust-base@~1.0", "axum-service"],
        &["rust-base", "hint:"],
    );
    assert!(!target.join("ggen.lock").exists());
    assert!(!target.join("axum-service").exists());
}

#[test]
fn remove_respects_dependents_unless_forced() {
    let (home, target) = axum_service_installed();
    let t = target.to_str().unwrap();
    let before = lockfile(&target);

    home.fails(
        &["remove", "rust-cli", "--target", t],
        &["needed by axum-service", "--force"],
    );
    assert_eq!(lockfile(&target), before);
    assert!(target.join("rust-cli").is_dir());

    // Removing the requested package takes the dependencies nothing else needs.
    home.json(&["remove", "axum-service", "--target", t]);
    assert!(installed(&home, &target).is_empty());
    for n in ["axum-service", "rust-cli", "rust-base"] {
        assert!(!target.join(n).exists(), "{n} left behind");
    }

    // --force removes a depended-on package and leaves the rest.
    home.json(&["install", "axum-service", "--target", t]);
    home.json(&["remove", "rust-base", "--force", "--target", t]);
    assert!(!target.join("rust-base").exists());
    let names: Vec<String> = installed(&home, &target)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["axum-service", "rust-cli"]);
}

#[test]
fn locked_installs_exactly_the_lockfile_or_fails() {
    let (home, target) = axum_service_installed();
    let before = lockfile(&target);
    // Same request: nothing to do, and --locked is satisfied.
    home.succeeds_in(&target, &["install", "axum-service", "--locked"]);
    // A new package would change the lockfile: refused, nothing changes.
    home.fails_in(
        &target,
        &["install", "hello-world", "--locked"],
        &["--locked"],
    );
    assert_eq!(lockfile(&target), before);
    assert!(!target.join("hello-world").exists());
}

/// A home with axum-service (and what it needs) installed in the target `out`.
fn axum_service_installed() -> (Home, PathBuf) {
    let home = Home::new();
    let target = home.path().join("out");
    let t = target.to_str().unwrap();
    home.json(&["install", "axum-service", "--target", t]);
    (home, target)
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn a_broken_v2_store_falls_back_to_v1() {
    let home = Home::new();
    home.json(&["search", "--query", "hello"]); // seeds both stores
    let store = home.path().join("registry/v2/store");
    std::fs::remove_dir_all(&store).unwrap();
    std::fs::write(&store, b"not a RocksDB directory").unwrap();
    let v = home.json(&["search", "--query", "hello world"]);
    assert_eq!(v["backend_used"], "v1");
    assert_eq!(names(&v)[0], "hello-world");
    let target = home.path().join("out");
    let t = target.to_str().unwrap();
    let v = home.json(&["install", "hello-world", "--target", t]);
    assert_eq!(v["backend_used"], "v1");
    assert!(target.join("hello-world/README.md").is_file());
    // Asking for V2 alone reports the outage instead.
    home.fails(&["search", "--query", "hello", "--backend", "v2"], &[]);
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn migration_copies_everything_and_both_backends_agree() {
    let home = Home::new();
    home.json(&["search", "--query", "x"]); // seed
    // Re-migrating a seeded registry copies nothing new and verifies clean.
    home.json(&["migrate"]);
    let verdict = home.succeeds(&["verify-migration"]);
    assert!(verdict.contains("agree"), "{verdict}");
    // Same first hit on both backends for typical queries.
    let typical = "hello world, rust cli, axum, latex paper, docker, helo wrld";
    for q in typical.split(", ") {
        let v1 = home.json(&["search", "--query", q, "--backend", "v1"]);
        let v2 = home.json(&["search", "--query", q, "--backend", "v2"]);
        assert_eq!(
            names(&v1).first(),
            names(&v2).first(),
            "first hit differs for `{q}`"
        );
        assert_eq!(v1["backend_used"], "v1");
        assert_eq!(v2["backend_used"], "v2");
    }
    // rebuild-db starts V2 over from V1 and ends in agreement again.
    home.succeeds(&["rebuild-db"]);
    home.succeeds(&["verify-migration"]);
}

#[test]
fn status_shows_features_routing_sources_and_circuits() {
    let home = Home::new();
    let v = home.json(&["status"]);
    assert!(
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().starts_with("marketplace-"))
    );
    assert!(v["operations"]["search"].is_object(), "{v}");
    for (_, b) in v["backends"].as_object().unwrap() {
        assert_eq!(b["circuit"], "closed", "{v}");
    }
    // Where a setting came from is named.
    let out = home
        .ggen()
        .env("GGEN_MARKETPLACE_BACKEND", "v1")
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("GGEN_MARKETPLACE_BACKEND"), "{text}");
}

/// Migration phase 4 ("V2 installation works for all V1 packages"): the same
/// request through V1 and through V2 writes the same files and the same
/// `ggen.lock`, byte for byte.
#[cfg(feature = "marketplace-parallel")]
#[test]
fn v1_and_v2_install_the_same_files_and_lockfile() {
    let home = Home::new();
    // The three-deep chain, then several versions of one package.
    for (i, request) in [
        vec!["axum-service"],
        vec!["rust-base@~1.0"],
        vec!["rust-base@^2", "hello-world"],
    ]
    .iter()
    .enumerate()
    {
        let targets = [
            home.path().join(format!("via-v1-{i}")),
            home.path().join(format!("via-v2-{i}")),
        ];
        for (backend, target) in ["v1", "v2"].iter().zip(&targets) {
            home.ggen()
                .arg("install")
                .args(request)
                .args(["--backend", backend, "--target"])
                .arg(target)
                .assert()
                .success();
        }
        let (a, b) = (snapshot(&targets[0]), snapshot(&targets[1]));
        assert!(
            a.iter().any(|(p, _)| p.ends_with("ggen.lock")),
            "{request:?}"
        );
        assert!(a.len() >= 2, "{request:?}: {a:?}");
        assert_eq!(a, b, "{request:?}");
    }
}

/// Every file below `root` with its bytes, sorted: "byte-for-byte unchanged".
fn snapshot(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walk(root)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(root).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn failed_installs_leave_the_target_byte_for_byte_unchanged() {
    let home = Home::new();
    let target = home.path().join("project");
    let t = target.to_str().unwrap();
    home.json(&["install", "hello-world", "--target", t]);
    std::fs::write(target.join("notes.txt"), "my own file").unwrap();

    // Packages that cannot be installed, published through the facade (both backends).
    let mp = {
        let paths = ggen_marketplace::Paths::under(home.path());
        ggen_marketplace::Marketplace::new(
            paths,
            ggen_marketplace::Settings::from_pairs(&[]).unwrap(),
        )
    };
    let publisher = mp
        .backend_for(ggen_marketplace::Operation::Publish)
        .unwrap();
    let release = |name: &str, deps: &[&str], archive: &[u8]| {
        let mut v = ggen_marketplace_core::PackageVersion::new(name, "1.0.0".parse().unwrap());
        v.description = format!("{name} for failure tests");
        v.checksum = Some(ggen_marketplace_core::checksum::sha256_hex(archive));
        v.dependencies = deps
            .iter()
            .map(|d| ggen_marketplace_core::Dependency {
                name: d.to_string(),
                req: "^1".parse().unwrap(),
                optional: false,
            })
            .collect();
        v
    };
    let plain = std::fs::read(
        walk(&home.path().join("registry"))
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
            .unwrap(),
    )
    .unwrap();
    for (name, deps) in [
        ("cycle-a", vec!["cycle-b"]),
        ("cycle-b", vec!["cycle-a"]),
        ("needs-ghost", vec!["ghost-package"]),
    ] {
        publisher
            .publish(&release(name, &deps, &plain), &plain)
            .unwrap();
    }
    // (An archive that climbs out of the target can no longer be published:
    // the registry runs the installer's rules. Its install-side refusal is
    // tested against a registry server that serves one anyway, in hostile.rs.)
    drop(publisher);
    drop(mp);

    let before = snapshot(&target);
    for (args, expect) in [
        (vec!["rust-base@~1.0", "axum-service"], "rust-base"),
        (vec!["cycle-a"], "cycle"),
        (vec!["needs-ghost"], "ghost-package"),
        (vec!["no-such-package"], "no-such-package"),
    ] {
        common::assert_fails(
            home.ggen().arg("install").args(&args).args(["--target", t]),
            &[expect],
        );
        assert_eq!(snapshot(&target), before, "{args:?} changed the target");
        assert!(
            !home.path().join("escaped.txt").exists(),
            "{args:?} wrote outside the target"
        );
    }
}

/// A disk that fills up mid-install (a real 128 KiB tmpfs, so root only; the
/// test says so and passes vacuously elsewhere) and a target that is not a
/// directory: clear errors, and the target exactly as before.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_or_unusable_target_fails_cleanly() {
    let home = Home::new();
    home.ggen().arg("init").assert().success();

    // Not a directory.
    let file = home.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    home.fails_in(&file, &["install", "hello-world"], &["not-a-dir"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"x");

    // A full disk.
    let disk = home.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let Some(tmpfs) = common::Tmpfs::mount(&disk, "128k") else {
        eprintln!("SKIPPED the full-disk part: mounting a tmpfs needs root");
        return;
    };
    let target = disk.join("project");
    let t = target.to_str().unwrap();
    home.json(&["install", "hello-world", "--target", t]);
    // Leave a few KiB free: less than axum-service's tree needs.
    let filler = vec![0u8; tmpfs.free_bytes().saturating_sub(8 * 1024) as usize];
    let _ = std::fs::write(disk.join("filler"), &filler);
    let before = snapshot(&target);
    home.fails(
        &["install", "axum-service", "--target", t],
        &["No space left on device"],
    );
    assert_eq!(
        snapshot(&target),
        before,
        "a failed install changed the target"
    );
    let stray: Vec<_> = std::fs::read_dir(&disk)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "project" && n != "filler")
        .collect();
    assert!(stray.is_empty(), "staging left behind: {stray:?}");
}

/// `--json` answers of the commands that are not about one package still say
/// which backend answered (README "JSON output").
#[test]
fn every_json_answer_reports_backend_used() {
    let home = Home::new();
    let both = if cfg!(feature = "marketplace-parallel") {
        "v1+v2"
    } else if cfg!(feature = "marketplace-v2") {
        "v2"
    } else {
        "v1"
    };
    assert_eq!(home.json(&["status"])["backend_used"], both);
    assert_eq!(home.json(&["rebuild-index"])["backend_used"], both);
    assert_eq!(
        home.json(&["cache", "clear"])["backend_used"],
        serde_json::Value::Null
    );
    #[cfg(feature = "marketplace-v1")]
    assert_eq!(
        home.json(&["rebuild-index", "--backend", "v1"])["backend_used"],
        "v1"
    );
    #[cfg(feature = "marketplace-v2")]
    {
        let s = home.json(&["sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"]);
        assert_eq!(s["backend_used"], "v2");
        assert!(s["results"]["results"]["bindings"][0]["n"]["value"].is_string());
        let e = home.json(&["export", "--format", "ntriples"]);
        assert_eq!(e["backend_used"], "v2");
        assert!(
            e["document"]
                .as_str()
                .unwrap()
                .contains("https://ggen.io/marketplace/")
        );
    }
    #[cfg(feature = "marketplace-parallel")]
    for cmd in ["migrate", "verify-migration", "ab-report"] {
        assert_eq!(home.json(&[cmd])["backend_used"], "v1+v2", "{cmd}");
    }
}

/// SPARQL answers are cached by query and graph generation: a repeated query
/// is a HIT, a publish (which bumps the generation) makes the next one a MISS
/// with the new answer, and `GGEN_SPARQL_CACHE=0` turns the tier off.
#[cfg(feature = "marketplace-v2")]
#[test]
fn sparql_answers_are_cached_until_the_graph_changes() {
    let home = Home::new();
    let count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }";
    let run = |envs: &[(&str, &str)]| -> (String, u64) {
        let out = ggen_test_support::succeeded(
            home.ggen()
                .envs(envs.iter().copied())
                .args(["sparql", count, "--verbose"])
                .output(),
            "",
        );
        let status = cache_status(&out.stderr);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = v["results"]["bindings"][0]["n"]["value"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        (status, n)
    };
    let (first, before) = run(&[]);
    assert_eq!(first, "MISS");
    assert_eq!(run(&[]), ("HIT".to_string(), before));
    assert_eq!(run(&[("GGEN_SPARQL_CACHE", "0")]).0, "BYPASS");
    // An update is refused and leaves nothing in the cache to hit later.
    home.fails(&["sparql", "DROP ALL"], &[]);
    let src = common::package_dir(home.path(), "sparql-cached", "1.0.0", "Cache test", &[]);
    home.succeeds(&["publish", src.to_str().unwrap()]);
    let (after_publish, after) = run(&[]);
    assert_eq!(after_publish, "MISS");
    assert!(
        after > before,
        "{after} triples after a publish, {before} before"
    );
    assert_eq!(run(&[]), ("HIT".to_string(), after));
}

/// The on-disk search cache answers a repeated query; its own variable or
/// `GGEN_CACHE_SIZE=0` turns it off.
#[test]
fn search_cache_hits_and_the_size_knobs_turn_it_off() {
    let home = Home::new();
    let cache = |envs: &[(&str, &str)]| -> String {
        let out = home
            .ggen()
            .envs(envs.iter().copied())
            .args(["search", "--query", "rust", "--verbose"])
            .output()
            .unwrap();
        assert!(out.status.success());
        cache_status(&out.stderr)
    };
    assert_eq!(cache(&[]), "MISS");
    assert_eq!(cache(&[]), "HIT");
    assert_eq!(cache(&[("GGEN_CACHE_SIZE", "0")]), "BYPASS");
    assert_eq!(cache(&[("GGEN_SEARCH_CACHE", "0")]), "BYPASS");
    // A tier's own variable wins over the global knob.
    assert_eq!(
        cache(&[("GGEN_CACHE_SIZE", "0"), ("GGEN_SEARCH_CACHE", "100")]),
        "HIT"
    );
}

/// A cached answer belongs to the store that gave it: another registry
/// directory, or a V2 endpoint instead of the embedded store, never sees it,
/// and a V2 endpoint that is down is down whatever the cache holds.
#[cfg(feature = "marketplace-v2")]
#[test]
fn cached_answers_never_speak_for_another_store() {
    let home = Home::new();
    let search = |envs: &[(&str, &str)]| {
        common::outcome(home.ggen().envs(envs.iter().copied()).args([
            "search",
            "--query",
            "hello world",
            "--backend",
            "v2",
            "--json",
            "--verbose",
        ]))
    };
    let (ok, out, err) = search(&[]);
    assert!(ok, "{err}");
    assert!(out.contains("hello-world"));
    assert_eq!(cache_status(err.as_bytes()), "MISS");
    assert_eq!(cache_status(search(&[]).2.as_bytes()), "HIT");

    // An endpoint where nothing listens: an error, not the embedded store's hits.
    let dead = format!("http://127.0.0.1:{}/query", ggen_test_support::free_port());
    let (ok, out, err) = search(&[("GGEN_MARKETPLACE_V2_ENDPOINT", dead.as_str())]);
    assert!(!ok, "a dead endpoint answered: {out}");
    assert!(
        !out.contains("hello-world") && !err.contains("cache: HIT"),
        "{err}"
    );

    // Another registry directory, empty: the first one's answers are not its own.
    let other = home.path().join("other-registry");
    let other = other.to_str().unwrap();
    let (ok, _, err) = common::outcome(
        home.ggen()
            .env("GGEN_REGISTRY_DIR", other)
            .args(["init", "--empty"]),
    );
    assert!(ok, "{err}");
    let (ok, out, err) = search(&[("GGEN_REGISTRY_DIR", other)]);
    assert!(ok, "{err}");
    assert!(!out.contains("hello-world"), "{out}");
    assert_eq!(cache_status(err.as_bytes()), "MISS");
}

/// What the `cache: ` line of a `--verbose` run's stderr says (HIT, MISS, BYPASS).
fn cache_status(stderr: &[u8]) -> String {
    let err = String::from_utf8_lossy(stderr);
    err.lines()
        .find_map(|l| l.strip_prefix("cache: "))
        .unwrap_or_else(|| panic!("no cache line in {err}"))
        .to_string()
}
