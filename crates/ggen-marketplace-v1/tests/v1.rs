//! V1 backend: index format round trip, search ranking, filters, sort, paging,
//! writes and the failure modes of a registry directory.

use ggen_marketplace_core::model::{Dependency, PackageVersion, Signature};
use ggen_marketplace_core::search::{SearchQuery, SortOrder};
use ggen_marketplace_core::{Hint, MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v1::index::IndexFile;
use ggen_marketplace_v1::{V1Backend, archive_path};
use ggen_test_support::Pkg;
use ggen_test_support::conformance::{self, Writes};
use ggen_test_support::corpus::{CorpusSpec, generate};
use semver::Version;

fn release(
    name: &str,
    version: &str,
    description: &str,
    category: &str,
    tags: &[&str],
) -> (PackageVersion, Vec<u8>) {
    Pkg::new(name, version)
        .description(description)
        .category(category)
        .tags(tags)
        .release()
}

/// A small registry whose ranking questions have clear answers.
fn registry() -> (tempfile::TempDir, V1Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v1 = V1Backend::create(dir.path(), "test").unwrap();
    let releases = vec![
        release(
            "hello-world",
            "1.0.0",
            "The classic greeting program",
            "starter",
            &["example", "Starter"],
        ),
        release(
            "rust-cli",
            "1.2.0",
            "Command line applications in Rust with clap",
            "CLI",
            &["rust", "cli"],
        ),
        release(
            "rust-cli-extras",
            "0.1.0",
            "Extra helpers for rust-cli projects",
            "cli",
            &["rust"],
        ),
        release(
            "cli-tools",
            "1.0.0",
            "Rust cli tools, rust cli helpers, rust cli everything",
            "cli",
            &["rust", "cli"],
        ),
        release(
            "dashboard-web",
            "2.0.0",
            "Metrics dashboard served over HTTP",
            "Web",
            &["web", "metrics"],
        ),
        release(
            "graph-query",
            "0.3.0",
            "SPARQL graph query helpers",
            "rdf",
            &["graph", "sparql"],
        ),
        release(
            "io.ggen.nextjs.ontology-crud",
            "1.0.0",
            "Next.js CRUD pages from an ontology",
            "web",
            &["nextjs"],
        ),
    ];
    v1.publish_many(&releases).unwrap();
    let counters: Vec<(String, u64, u64)> = vec![
        ("hello-world".into(), 50, 1),
        ("rust-cli".into(), 10, 0),
        ("rust-cli-extras".into(), 900, 3),
        ("cli-tools".into(), 5, 0),
        ("dashboard-web".into(), 300, 2),
        ("graph-query".into(), 70, 0),
        ("io.ggen.nextjs.ontology-crud".into(), 1, 0),
    ];
    v1.set_counters(&counters).unwrap();
    (dir, v1)
}

#[test]
fn v1_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(
        &V1Backend::create(dir.path(), "test").unwrap(),
        Writes::AsGiven,
    );
}

#[test]
fn v1_search_understands_meaning() {
    let dir = tempfile::tempdir().unwrap();
    conformance::search_understands_meaning(&V1Backend::create(dir.path(), "test").unwrap());
}

#[test]
fn v1_search_explains_its_hits() {
    let dir = tempfile::tempdir().unwrap();
    conformance::search_explains_its_hits(&V1Backend::create(dir.path(), "test").unwrap());
}

fn names(v1: &V1Backend, q: &SearchQuery) -> Vec<String> {
    v1.search(q)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[test]
fn index_file_round_trips_every_field() {
    let mut packages = generate(&CorpusSpec::new(60));
    // Names with dots, unicode, optional deps, signatures, yanked: all must survive.
    let p = &mut packages[3];
    p.name = "io.ggen.example.dotted".into();
    for v in &mut p.versions {
        v.name = p.name.clone();
        v.description = "Ünïcödé description — with “quotes” and \\ backslashes".into();
        v.tags.clear();
        v.yanked = true;
        let mut d = Dependency::new("some-dep", "^1.2".parse().unwrap());
        d.optional = true;
        v.dependencies = vec![d];
        v.signature = Some(Signature {
            algorithm: "ed25519".into(),
            key_id: "0123456789abcdef".into(),
            public_key: "aa".repeat(32),
            signature: "bb".repeat(64),
            statement: "ggen-signature-v1\n".into(),
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let file = IndexFile::from_packages(&packages, "https://example.com", 7);
    let parsed = IndexFile::parse(&file.to_json(), std::path::Path::new("index.json")).unwrap();
    assert_eq!(parsed, file);
    let (back, report) = parsed.to_packages();
    assert_eq!(back, packages);
    assert!(
        report.warnings.iter().any(|w| w.contains("some-dep")),
        "{:?}",
        report.warnings
    );
    assert_eq!(parsed.generation, 7);
    assert_eq!(parsed.package_count, 60);
}

#[test]
fn real_registry_shape_loads_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let real = r#"{
      "version": "1.0.0", "registry_url": "https://github.com/seanchatmangpt/ggen",
      "updated_at": "2025-11-16T02:07:56.549355Z", "package_count": 2,
      "categories": {"Enterprise": 1, "enterprise": 1},
      "packages": [
        {"name": "asset-management", "version": "1.0.0", "category": "Enterprise", "description": "Enterprise Asset Management",
         "tags": [], "keywords": [], "author": null, "license": "MIT", "downloads": 0, "stars": 0,
         "production_ready": false, "dependencies": ["missing-package"], "path": "x", "download_url": "y", "checksum": "z"},
        {"name": "io.ggen.crm", "version": "1.0.0", "category": "enterprise", "description": "CRM",
         "tags": ["crm"], "keywords": [], "author": "GGEN", "license": "MIT", "downloads": 0, "stars": 0,
         "production_ready": true, "dependencies": [], "path": "x", "download_url": "y", "checksum": "z"}
      ],
      "search_index": {"crm": ["io.ggen.crm"]}
    }"#;
    std::fs::write(dir.path().join("index.json"), real).unwrap();
    let v1 = V1Backend::open(dir.path()).unwrap();
    let warnings = v1.load_warnings().unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("missing-package")),
        "{warnings:?}"
    );
    let p = v1.package("asset-management").unwrap();
    assert_eq!(p.versions[0].dependencies[0].req, semver::VersionReq::STAR);
    assert!(v1.package("io.ggen.crm").unwrap().latest().production_ready);
    // Case-insensitive category filter over mixed-case categories.
    let q = SearchQuery {
        category: Some("ENTERPRISE".into()),
        ..SearchQuery::default()
    };
    assert_eq!(v1.search(&q).unwrap().total, 2);
    // Reads never rewrite the file.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("index.json")).unwrap(),
        real
    );
}

#[test]
fn exact_name_ranks_first() {
    let (_d, v1) = registry();
    // cli-tools repeats "rust cli" in its description, rust-cli-extras has more
    // downloads: the exact name still wins.
    assert_eq!(names(&v1, &SearchQuery::text("rust-cli"))[0], "rust-cli");
    assert_eq!(
        names(&v1, &SearchQuery::text("io.ggen.nextjs.ontology-crud"))[0],
        "io.ggen.nextjs.ontology-crud"
    );
    let r = v1.search(&SearchQuery::text("hello-world")).unwrap();
    assert_eq!(r.hits[0].name, "hello-world");
    assert_eq!(r.backend_used, ggen_marketplace_core::BackendKind::V1);
}

#[test]
fn typos_and_prefixes_still_find_packages() {
    let (_d, v1) = registry();
    assert_eq!(
        names(&v1, &SearchQuery::text("helo wrld"))[0],
        "hello-world"
    );
    assert_eq!(
        names(&v1, &SearchQuery::text("dashbord"))[0],
        "dashboard-web"
    );
    assert_eq!(names(&v1, &SearchQuery::text("dashb"))[0], "dashboard-web");
    assert_eq!(names(&v1, &SearchQuery::text("sparq"))[0], "graph-query");
    assert!(names(&v1, &SearchQuery::text("zzzzqqq")).is_empty());
}

#[test]
fn filters_are_case_insensitive_and_combine_with_text() {
    let (_d, v1) = registry();
    let q = |text: &str, category: Option<&str>, tags: &[&str]| SearchQuery {
        text: text.into(),
        category: category.map(str::to_string),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..SearchQuery::default()
    };
    let mut web = names(&v1, &q("", Some("WEB"), &[]));
    web.sort();
    assert_eq!(web, ["dashboard-web", "io.ggen.nextjs.ontology-crud"]);
    assert_eq!(names(&v1, &q("", None, &["starter"])), ["hello-world"]);
    let mut cli = names(&v1, &q("rust", Some("cli"), &["CLI"]));
    cli.sort();
    assert_eq!(cli, ["cli-tools", "rust-cli"]);
    assert!(names(&v1, &q("rust", Some("web"), &[])).is_empty());
}

#[test]
fn sort_orders_and_paging() {
    let (_d, v1) = registry();
    let all = |sort| SearchQuery {
        sort,
        limit: 100,
        ..SearchQuery::default()
    };
    let by_name = names(&v1, &all(SortOrder::Name));
    let mut expected = by_name.clone();
    expected.sort();
    assert_eq!(by_name, expected);
    assert_eq!(by_name.len(), 7);
    let by_downloads = names(&v1, &all(SortOrder::Downloads));
    assert_eq!(
        &by_downloads[..3],
        ["rust-cli-extras", "dashboard-web", "graph-query"]
    );

    // Pages of 3 cover the list exactly once, in order, with a stable total.
    let mut paged = Vec::new();
    for offset in (0..9).step_by(3) {
        let q = SearchQuery {
            sort: SortOrder::Name,
            limit: 3,
            offset,
            ..SearchQuery::default()
        };
        let r = v1.search(&q).unwrap();
        assert_eq!(r.total, 7);
        paged.extend(r.hits.into_iter().map(|h| h.name));
    }
    assert_eq!(paged, by_name);
}

#[test]
fn writes_keep_index_and_search_current() {
    let (dir, v1) = registry();
    let (v, a) = release(
        "fresh-package",
        "0.1.0",
        "Brand new zebra template",
        "misc",
        &[],
    );
    v1.publish(&v, &a).unwrap();
    assert_eq!(names(&v1, &SearchQuery::text("zebra")), ["fresh-package"]);
    assert!(matches!(
        v1.publish(&v, &a),
        Err(MarketplaceError::AlreadyPublished { .. })
    ));
    let mut bad = release("bad-sum", "1.0.0", "", "misc", &[]);
    bad.0.checksum = Some("00".repeat(32));
    assert!(matches!(
        v1.publish(&bad.0, &bad.1),
        Err(MarketplaceError::ChecksumMismatch { .. })
    ));
    assert!(matches!(
        v1.package("bad-sum"),
        Err(MarketplaceError::NotFound { .. })
    ));

    // A second process (a fresh backend) sees the same state, search included.
    let other = V1Backend::open(dir.path()).unwrap();
    assert_eq!(
        names(&other, &SearchQuery::text("zebra")),
        ["fresh-package"]
    );
    assert_eq!(
        other
            .fetch_archive("fresh-package", &Version::new(0, 1, 0))
            .unwrap(),
        a
    );

    // Yank is recorded and reversible.
    v1.yank("fresh-package", &Version::new(0, 1, 0), true)
        .unwrap();
    assert!(
        V1Backend::open(dir.path())
            .unwrap()
            .package("fresh-package")
            .unwrap()
            .versions[0]
            .yanked
    );
    v1.yank("fresh-package", &Version::new(0, 1, 0), false)
        .unwrap();
    assert!(
        !V1Backend::open(dir.path())
            .unwrap()
            .package("fresh-package")
            .unwrap()
            .versions[0]
            .yanked
    );

    // Retract (undoing half a dual write) takes a version out of index.json,
    // search and the archive store; the last one takes the package with it.
    let (v2, a2) = release(
        "fresh-package",
        "0.2.0",
        "Brand new zebra template",
        "misc",
        &[],
    );
    v1.publish(&v2, &a2).unwrap();
    v1.retract("fresh-package", &Version::new(0, 2, 0)).unwrap();
    assert!(!archive_path(dir.path(), "fresh-package", &Version::new(0, 2, 0)).exists());
    assert_eq!(v1.versions("fresh-package").unwrap().len(), 1);
    v1.retract("fresh-package", &Version::new(0, 1, 0)).unwrap();
    let other = V1Backend::open(dir.path()).unwrap();
    assert!(matches!(
        other.package("fresh-package"),
        Err(MarketplaceError::NotFound { .. })
    ));
    assert!(names(&other, &SearchQuery::text("zebra")).is_empty());
    assert!(names(&v1, &SearchQuery::text("zebra")).is_empty());
    assert!(matches!(
        v1.retract("fresh-package", &Version::new(0, 1, 0)),
        Err(MarketplaceError::NotFound { .. })
    ));
}

#[test]
fn tampered_or_missing_archives_are_refused() {
    let (dir, v1) = registry();
    let version = Version::new(1, 0, 0);
    let path = archive_path(dir.path(), "hello-world", &version);
    std::fs::write(&path, b"tampered").unwrap();
    assert!(matches!(
        v1.fetch_archive("hello-world", &version),
        Err(MarketplaceError::ChecksumMismatch { .. })
    ));
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        v1.fetch_archive("hello-world", &version),
        Err(MarketplaceError::ArchiveMissing { .. })
    ));
    assert!(matches!(
        v1.fetch_archive("hello-world", &Version::new(9, 9, 9)),
        Err(MarketplaceError::VersionNotFound { .. })
    ));
}

#[test]
fn corrupt_index_json_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        b"{ \"version\": \"1.0.0\", \"packages\": [ {",
    )
    .unwrap();
    let v1 = V1Backend::open(dir.path()).unwrap();
    match v1.package("anything") {
        Err(e @ MarketplaceError::CorruptIndex { .. }) => {
            let text = e.to_string();
            assert!(text.contains("index.json"), "{text}");
            assert!(e.hint().is_some());
        }
        other => panic!("expected CorruptIndex, got {other:?}"),
    }
    let missing = tempfile::tempdir().unwrap();
    assert!(matches!(
        V1Backend::open(missing.path()),
        Err(MarketplaceError::CorruptIndex { .. })
    ));
}

#[test]
fn a_damaged_search_index_is_rebuilt_from_index_json() {
    let (dir, v1) = registry();
    drop(v1);
    let search_dir = dir.path().join(ggen_marketplace_v1::SEARCH_DIR);
    // Garbage in every file of the tantivy directory.
    for entry in std::fs::read_dir(&search_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let v1 = V1Backend::open(dir.path()).unwrap();
    assert_eq!(
        names(&v1, &SearchQuery::text("hello-world"))[0],
        "hello-world"
    );
    // And a removed one too.
    drop(v1);
    std::fs::remove_dir_all(&search_dir).unwrap();
    let v1 = V1Backend::open(dir.path()).unwrap();
    assert_eq!(names(&v1, &SearchQuery::text("graph"))[0], "graph-query");
    assert!(search_dir.is_dir());
}

#[test]
fn index_json_edited_by_hand_is_noticed() {
    let (dir, v1) = registry();
    drop(v1);
    // Someone edits index.json outside ggen: the search index must follow.
    let path = dir.path().join("index.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Metrics dashboard served over HTTP", "Quokka dashboard");
    std::fs::write(&path, text).unwrap();
    let v1 = V1Backend::open(dir.path()).unwrap();
    assert_eq!(names(&v1, &SearchQuery::text("quokka")), ["dashboard-web"]);
}
