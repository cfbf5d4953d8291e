//! The behaviour every [`MarketplaceBackend`] must show, written once against
//! `&dyn MarketplaceBackend` and run against each of them: V1, V2 on RocksDB,
//! V2 in memory, V2 over `oxigraph serve`, and the registry server's remote
//! client. What a backend adds of its own (SPARQL, counters, generations) is
//! tested beside it.

use ggen_marketplace_core::signing::{generate_keypair, sign_archive};
use ggen_marketplace_core::{
    MarketplaceBackend, MarketplaceError, PackageVersion, SearchQuery, SortOrder,
};
use semver::Version;

use crate::Pkg;

/// How the backend under test takes writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// It stores the release as given (V1, V2): a wrong declared checksum
    /// must be refused.
    AsGiven,
    /// It derives the release from the archive (a registry server): the
    /// declared checksum is not sent at all.
    FromArchive,
}

fn v(s: &str) -> Version {
    s.parse().expect("a test version")
}

/// The catalogue the suite publishes.
pub fn catalogue() -> Vec<Pkg> {
    vec![
        Pkg::new("hello-world", "1.0.0")
            .description("A friendly greeting template")
            .tags(&["example", "starter"]),
        Pkg::new("bibtex-references", "0.3.0")
            .description("Bibliography management for LaTeX")
            .category("academic")
            .tags(&["latex"]),
        Pkg::new("rust-cli", "1.2.0")
            .description("Command line applications in Rust with clap")
            .category("cli")
            .tags(&["rust", "cli"])
            .keywords(&["terminal", "command"])
            .author("Jane Doe <jane@example.com>"),
        Pkg::new("rust-web", "0.9.0")
            .description("Axum web service template in Rust")
            .category("web")
            .tags(&["rust", "web"])
            .dep("rust-cli", "^1"),
        Pkg::new("io.ggen.nextjs.ontology-crud", "2.0.0")
            .description("CRUD pages generated from an ontology")
            .tags(&["nextjs", "rdf"]),
        Pkg::new("python-fastapi", "0.1.0")
            .description("FastAPI service with \"quotes\" and \\backslashes\\")
            .category("web")
            .tags(&["python", "web"]),
    ]
}

fn names(b: &dyn MarketplaceBackend, q: SearchQuery) -> Vec<String> {
    b.search(&q)
        .unwrap_or_else(|e| panic!("search {:?}: {e}", q.text))
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

fn same_release(stored: &PackageVersion, published: &PackageVersion) {
    let id = published.id();
    assert_eq!(stored.name, published.name, "{id}");
    assert_eq!(stored.version, published.version, "{id}");
    assert_eq!(stored.description, published.description, "{id}");
    assert_eq!(stored.category, published.category, "{id}");
    assert_eq!(stored.tags, published.tags, "{id}");
    assert_eq!(stored.keywords, published.keywords, "{id}");
    assert_eq!(stored.authors, published.authors, "{id}");
    assert_eq!(stored.dependencies, published.dependencies, "{id}");
    assert_eq!(stored.checksum, published.checksum, "{id}");
    assert_eq!(stored.signature, published.signature, "{id}");
}

/// Runs the whole suite on `b`, which must start empty.
pub fn run(b: &dyn MarketplaceBackend, writes: Writes) {
    // Empty.
    assert!(matches!(
        b.package("hello-world"),
        Err(MarketplaceError::NotFound { .. })
    ));
    assert!(
        b.search(&SearchQuery::text("hello"))
            .unwrap()
            .hits
            .is_empty()
    );
    assert!(b.list().unwrap().is_empty());

    // Publish, with validation first; immutability.
    let key = generate_keypair().expect("a key");
    let mut published = Vec::new();
    for pkg in catalogue() {
        let (mut release, archive) = pkg.release();
        if pkg.name() == "io.ggen.nextjs.ontology-crud" {
            let signature = sign_archive(
                &key,
                &release.name,
                &release.version,
                &archive,
                chrono::Utc::now(),
            )
            .expect("signing");
            release.signature = Some(signature);
        }
        b.validate(&release, &archive)
            .unwrap_or_else(|e| panic!("validate {}: {e}", release.id()));
        b.publish(&release, &archive)
            .unwrap_or_else(|e| panic!("publish {}: {e}", release.id()));
        published.push((release, archive));
    }
    let (first, first_archive) = &published[0];
    assert!(matches!(
        b.publish(first, first_archive),
        Err(MarketplaceError::AlreadyPublished { .. })
    ));
    assert!(matches!(
        b.validate(first, first_archive),
        Err(MarketplaceError::AlreadyPublished { .. })
    ));
    if writes == Writes::AsGiven {
        let (mut wrong, archive) = Pkg::new("bad-sum", "1.0.0").release();
        wrong.checksum = Some("00".repeat(32));
        assert!(matches!(
            b.publish(&wrong, &archive),
            Err(MarketplaceError::ChecksumMismatch { .. })
        ));
        let (mut bad_name, archive) = Pkg::new("bad-name", "1.0.0").release();
        bad_name.name = "Bad Name".into();
        assert!(matches!(
            b.publish(&bad_name, &archive),
            Err(MarketplaceError::InvalidName { .. })
        ));
        assert!(matches!(
            b.package("bad-sum"),
            Err(MarketplaceError::NotFound { .. })
        ));
    }

    // More versions: ascending order, latest, every field as published.
    Pkg::new("hello-world", "1.1.0")
        .description("A friendlier greeting template")
        .tags(&["example", "starter"])
        .publish(b);
    Pkg::new("hello-world", "0.9.0-beta.1+build.7")
        .description("old")
        .publish(b);
    let p = b.package("hello-world").unwrap();
    let vs: Vec<String> = p.versions.iter().map(|v| v.version.to_string()).collect();
    assert_eq!(vs, ["0.9.0-beta.1+build.7", "1.0.0", "1.1.0"]);
    assert_eq!(p.latest().version, v("1.1.0"));
    assert_eq!(b.versions("hello-world").unwrap().len(), 3);
    for (release, _) in &published {
        let stored = b.package(&release.name).unwrap();
        let stored = stored
            .version(&release.version)
            .unwrap_or_else(|| panic!("{} lost", release.id()));
        same_release(stored, release);
    }

    // List: one summary per package, its latest version.
    let list = b.list().unwrap();
    assert_eq!(list.len(), published.len(), "{list:?}");
    let hello = list.iter().find(|s| s.name == "hello-world").unwrap();
    assert_eq!((hello.version.clone(), hello.versions), (v("1.1.0"), 3));
    assert!(
        list.iter()
            .find(|s| s.name == "io.ggen.nextjs.ontology-crud")
            .unwrap()
            .signed
    );

    // Archives: exactly the bytes published, whole or streamed.
    let (rust_cli, rust_cli_archive) = &published[2];
    assert_eq!(
        &b.fetch_archive("rust-cli", &rust_cli.version).unwrap(),
        rust_cli_archive
    );
    let mut streamed = Vec::new();
    std::io::Read::read_to_end(
        &mut b.open_archive("rust-cli", &rust_cli.version).unwrap(),
        &mut streamed,
    )
    .unwrap();
    assert_eq!(&streamed, rust_cli_archive);
    assert!(matches!(
        b.fetch_archive("rust-cli", &v("9.9.9")),
        Err(MarketplaceError::VersionNotFound { .. })
    ));
    assert!(matches!(
        b.fetch_archive("nope", &v("1.0.0")),
        Err(MarketplaceError::NotFound { .. })
    ));

    // Search: the exact name first, words, prefixes, typos, filters, order, pages.
    assert_eq!(names(b, SearchQuery::text("rust-cli"))[0], "rust-cli");
    assert_eq!(names(b, SearchQuery::text("rust cli"))[0], "rust-cli");
    assert_eq!(
        names(b, SearchQuery::text("comand lnie"))[0],
        "rust-cli",
        "typos of words of five letters or more are forgiven"
    );
    assert_eq!(
        names(b, SearchQuery::text("bibt"))[0],
        "bibtex-references",
        "a prefix matches"
    );
    assert!(names(b, SearchQuery::text("terminal")).contains(&"rust-cli".to_string()));
    let web = names(
        b,
        SearchQuery {
            category: Some("WEB".into()),
            ..SearchQuery::default()
        },
    );
    let mut web_sorted = web.clone();
    web_sorted.sort();
    assert_eq!(
        web_sorted,
        ["python-fastapi", "rust-web"],
        "categories match case-insensitively"
    );
    assert_eq!(
        names(
            b,
            SearchQuery {
                tags: vec!["rust".into(), "web".into()],
                ..SearchQuery::default()
            }
        ),
        ["rust-web"],
        "every tag must match"
    );
    let by_name = names(
        b,
        SearchQuery {
            sort: SortOrder::Name,
            limit: 100,
            ..SearchQuery::default()
        },
    );
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted);
    let page = b
        .search(&SearchQuery {
            sort: SortOrder::Name,
            limit: 2,
            offset: 2,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(page.total, published.len());
    assert_eq!(page.names(), &by_name[2..4]);
    for hostile in [
        "x\") } ; DROP ALL ; #",
        "' OR 1=1 --",
        "\\u0000",
        "\u{202e}gnp.exe",
    ] {
        b.search(&SearchQuery::text(hostile))
            .unwrap_or_else(|e| panic!("{hostile:?}: {e}"));
    }

    // Yank: kept, skipped as the latest, undone.
    b.yank("hello-world", &v("1.1.0"), true).unwrap();
    let p = b.package("hello-world").unwrap();
    assert!(p.version(&v("1.1.0")).unwrap().yanked);
    assert_eq!(p.latest().version, v("1.0.0"));
    b.yank("hello-world", &v("1.1.0"), false).unwrap();
    assert!(
        !b.package("hello-world")
            .unwrap()
            .version(&v("1.1.0"))
            .unwrap()
            .yanked
    );
    assert!(matches!(
        b.yank("nope", &v("1.0.0"), true),
        Err(MarketplaceError::NotFound { .. })
    ));
    assert!(matches!(
        b.yank("hello-world", &v("7.0.0"), true),
        Err(MarketplaceError::VersionNotFound { .. })
    ));

    // Names that could escape a path or a query are never found.
    for hostile in ["../etc", "a/b", "Hello", "x\") } ;"] {
        assert!(b.package(hostile).is_err(), "{hostile:?}");
    }
}

/// A catalogue shaped like ggen's public registry where words alone fail:
/// abbreviations, other forms of a word, broader topics, and a short word
/// whose typo hits an unrelated package.
pub fn meaning_catalogue() -> Vec<Pkg> {
    vec![
        Pkg::new("microservices-architecture", "1.0.0")
            .description("E-commerce microservices with Rust, Docker and Redis")
            .category("architecture")
            .tags(&["microservices", "docker", "kubernetes"]),
        Pkg::new("robo-advisor", "1.0.0")
            .description("Automated investment advisor with portfolio allocation")
            .category("finance")
            .tags(&["portfolio", "rebalancing"]),
        Pkg::new("investing-notes", "1.0.0")
            .description("Notes on index funds")
            .tags(&["investing"]),
        Pkg::new("medical-billing", "1.0.0")
            .description("Billing with CPT codes and insurance claims")
            .category("healthcare")
            .tags(&["medical-billing", "revenue-cycle"]),
        Pkg::new("pharmacy-management", "1.0.0")
            .description("Medication dispensing and drug interactions")
            .category("healthcare")
            .tags(&["pharmacy", "medication"]),
        Pkg::new("agent-reasoning-mcp", "1.0.0")
            .description("Reasoning engine with multi-hop logical inference")
            .category("ai-agents"),
        Pkg::new("inventory-management", "1.0.0")
            .description("Warehouse management with stock tracking")
            .category("ecommerce"),
        Pkg::new("rust-cli", "1.0.0")
            .description("Command line applications")
            .tags(&["rust", "cli"]),
        Pkg::new("recommender", "1.0.0")
            .description("Suggestions for shoppers")
            .tags(&["collaborative-filtering"]),
        Pkg::new("learning-basics", "1.0.0").description("Templates for learning the basics"),
    ]
}

/// Checks that `b` (empty) finds what a query means, not only what it says,
/// through core's query plan (stems, topics, the short-word typo rule): V1
/// and V2 run the same assertions.
pub fn search_understands_meaning(b: &dyn MarketplaceBackend) {
    for pkg in meaning_catalogue() {
        pkg.publish(b);
    }
    let q = |text: &str| names(b, SearchQuery::text(text));
    // An abbreviation reaches its topic's label.
    assert_eq!(
        q("k8s").first().map(String::as_str),
        Some("microservices-architecture")
    );
    // Another form of the word (stem), below the word itself.
    let investing = q("investing");
    assert_eq!(
        investing[..2],
        ["investing-notes", "robo-advisor"],
        "{investing:?}"
    );
    // A broader topic finds its narrower ones.
    let medical = q("medical");
    for want in ["medical-billing", "pharmacy-management"] {
        assert!(medical.iter().any(|n| n == want), "{want} in {medical:?}");
    }
    let hospital = q("hospital");
    assert!(
        hospital.iter().any(|n| n == "pharmacy-management"),
        "{hospital:?}"
    );
    // A short word's typo (shop ~ hop in "multi-hop") never beats its meaning;
    // here it does not even match, as the topic does.
    let shop = q("shop");
    assert_eq!(
        shop.first().map(String::as_str),
        Some("inventory-management"),
        "{shop:?}"
    );
    assert!(!shop.iter().any(|n| n == "agent-reasoning-mcp"), "{shop:?}");
    // A short word with no other match still gets its typo.
    assert_eq!(q("rsut").first().map(String::as_str), Some("rust-cli"));
    // Exact words keep their rank over expansions.
    assert_eq!(
        q("portfolio").first().map(String::as_str),
        Some("robo-advisor")
    );
    // A package matching the whole phrase through its topic ranks above one
    // matching one word of it, however well (every query word counts).
    let ml = q("machine learning");
    assert_eq!(ml, ["recommender", "learning-basics"], "{ml:?}");
    // Only the word being typed matches as a prefix: the last, with no
    // space after it.
    assert_eq!(
        q("zzzz pharm").first().map(String::as_str),
        Some("pharmacy-management")
    );
    assert_eq!(q("pharm zzzz"), Vec::<String>::new());
    assert_eq!(q("pharm "), Vec::<String>::new());
    // A filter picks among the hits; it does not change their scores.
    let search = |category: Option<&str>| {
        let query = SearchQuery {
            category: category.map(str::to_string),
            ..SearchQuery::text("medical")
        };
        b.search(&query).expect("search").hits
    };
    let unfiltered: Vec<(String, f32)> = search(None)
        .into_iter()
        .filter(|h| h.category.as_deref() == Some("healthcare"))
        .map(|h| (h.name, h.score))
        .collect();
    let filtered: Vec<(String, f32)> = search(Some("healthcare"))
        .into_iter()
        .map(|h| (h.name, h.score))
        .collect();
    assert_eq!(
        filtered.len(),
        unfiltered.len(),
        "{filtered:?} {unfiltered:?}"
    );
    for ((a, x), (b, y)) in filtered.iter().zip(&unfiltered) {
        assert!(
            a == b && (x - y).abs() <= 1e-4 * x.max(1.0),
            "{filtered:?} {unfiltered:?}"
        );
    }
}

/// Checks that `b` (empty) explains its hits when asked: each hit's parts
/// name the field, kind and term of every match and add up to its score;
/// V1 and V2 run the same assertions.
pub fn search_explains_its_hits(b: &dyn MarketplaceBackend) {
    use ggen_marketplace_core::ranking::Field;
    use ggen_marketplace_core::search::MatchKind;
    for pkg in meaning_catalogue() {
        pkg.publish(b);
    }
    let explained = |text: &str| {
        let r = b
            .search(&SearchQuery {
                explain: true,
                ..SearchQuery::text(text)
            })
            .unwrap_or_else(|e| panic!("search {text:?}: {e}"));
        for h in &r.hits {
            let sum: f32 = h.explain.iter().map(|p| p.score).sum();
            assert!(
                (sum - h.score).abs() <= 1e-3 * h.score.max(1.0),
                "{text:?}: {}'s parts add up to {sum}, its score is {}: {:?}",
                h.name,
                h.score,
                h.explain
            );
            assert!(!h.explain.is_empty(), "{text:?}: {} unexplained", h.name);
        }
        r.hits
    };
    let has = |hit: &ggen_marketplace_core::search::SearchHit, field, kind, term: &str| {
        hit.explain
            .iter()
            .any(|p| p.field == Some(field) && p.kind == kind && p.term == term)
    };
    let k8s = explained("k8s");
    let first = &k8s[0];
    assert_eq!(first.name, "microservices-architecture");
    let topic = first
        .explain
        .iter()
        .find(|p| p.kind == MatchKind::Topic && p.term == "kubernetes")
        .unwrap_or_else(|| panic!("no topic part: {:?}", first.explain));
    assert_eq!(topic.field, Some(Field::Tags));
    assert_eq!(topic.source.as_deref(), Some("k8s"));
    assert_eq!(
        topic.concept.as_deref(),
        Some("https://ggen.io/marketplace/topics/kubernetes")
    );
    let investing = explained("investing");
    let robo = investing.iter().find(|h| h.name == "robo-advisor").unwrap();
    assert!(
        has(robo, Field::Description, MatchKind::Stem, "investment"),
        "{:?}",
        robo.explain
    );
    let name = explained("rust-cli");
    assert!(has(&name[0], Field::Name, MatchKind::Name, "rust-cli"));
    assert!(has(&name[0], Field::Tags, MatchKind::Exact, "rust"));
    let typo = explained("kubernets");
    assert!(has(&typo[0], Field::Tags, MatchKind::Typo, "kubernets"));
    let prefix = explained("pharma");
    assert!(has(&prefix[0], Field::Tags, MatchKind::Prefix, "pharma"));
    // Unasked, nothing is explained.
    let plain = b.search(&SearchQuery::text("k8s")).unwrap();
    assert!(plain.hits.iter().all(|h| h.explain.is_empty()));
}
