//! The behaviour every V2 store must show; run against memory, RocksDB and a
//! real `oxigraph serve` endpoint.
#![allow(dead_code)]

use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::model::{Dependency, PackageVersion, Signature};
use ggen_marketplace_core::search::{SearchQuery, SortOrder};
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace_v2::{ExportFormat, V2Backend};
use ggen_test_support::{OxigraphServer, VirtuosoServer, oxigraph_available, virtuoso_available};
use semver::Version;
use tempfile::TempDir;

/// A V2 store over a fresh `oxigraph serve`, and the directories both keep
/// their data in. Fields drop in order: the client, the server, then the data.
pub struct Served {
    pub backend: V2Backend,
    pub server: OxigraphServer,
    /// The client's own directory (its term index cache).
    pub local: TempDir,
    pub data: TempDir,
}

/// [`Served`], or `None` (saying so) where `oxigraph` is not installed.
pub fn served(what: &str) -> Option<Served> {
    if !oxigraph_available(what) {
        return None;
    }
    let data = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = OxigraphServer::start(&data.path().join("db"));
    let backend =
        V2Backend::remote(&server.query_url(), &server.update_url(), local.path()).unwrap();
    Some(Served {
        backend,
        server,
        local,
        data,
    })
}

/// A V2 store in a fresh Virtuoso (queries and updates both at `/sparql`).
/// Fields drop in order: the client, then the server with its database.
pub struct ServedByVirtuoso {
    pub backend: V2Backend,
    pub server: VirtuosoServer,
    pub local: TempDir,
}

/// [`ServedByVirtuoso`], or `None` (saying so) where Virtuoso is not installed.
pub fn served_by_virtuoso(what: &str) -> Option<ServedByVirtuoso> {
    if !virtuoso_available(what) {
        return None;
    }
    let local = tempfile::tempdir().unwrap();
    let server = VirtuosoServer::start();
    let url = server.sparql_url();
    let backend = V2Backend::remote(&url, &url, local.path()).unwrap();
    Some(ServedByVirtuoso {
        backend,
        server,
        local,
    })
}

pub fn release(
    name: &str,
    version: &str,
    description: &str,
    tags: &[&str],
) -> (PackageVersion, Vec<u8>) {
    let archive = ggen_marketplace_core::archive::pack_entries(&[(
        "README.md",
        format!("archive of {name}@{version}").as_bytes(),
    )])
    .unwrap();
    let mut v = PackageVersion::new(name, version.parse().unwrap());
    v.description = description.into();
    v.tags = tags.iter().map(|t| t.to_string()).collect();
    v.checksum = Some(sha256_hex(&archive));
    (v, archive)
}

pub fn catalogue() -> Vec<(PackageVersion, Vec<u8>)> {
    let mut out = vec![
        release(
            "hello-world",
            "1.0.0",
            "A friendly greeting template",
            &["example", "Starter"],
        ),
        release(
            "bibtex-references",
            "0.3.0",
            "Bibliography management for LaTeX",
            &["latex"],
        ),
        release(
            "rust-cli",
            "1.2.0",
            "Command line applications in Rust with clap",
            &["rust", "cli"],
        ),
        release(
            "rust-web",
            "0.9.0",
            "Axum web service template in Rust",
            &["rust", "web"],
        ),
        release(
            "io.ggen.nextjs.ontology-crud",
            "2.0.0",
            "CRUD pages generated from an ontology",
            &["nextjs", "rdf"],
        ),
        release(
            "python-fastapi",
            "0.1.0",
            "FastAPI service with \"quotes\" and \\backslashes\\",
            &["python", "web"],
        ),
    ];
    out[2].0.category = Some("CLI".into());
    out[2].0.keywords = vec!["terminal".into(), "command".into()];
    out[2].0.authors = vec!["Jane Doe <jane@example.com>".into()];
    out[3].0.category = Some("web".into());
    out[3].0.dependencies = vec![Dependency::new("rust-cli", "^1".parse().unwrap())];
    out[5].0.category = Some("Web".into());
    out[4].0.signature = Some(Signature {
        algorithm: "ed25519".into(),
        key_id: "0123456789abcdef".into(),
        public_key: "aa".repeat(32),
        signature: "bb".repeat(64),
        statement: "ggen-signature-v1\nname=io.ggen.nextjs.ontology-crud\n".into(),
    });
    for (i, (v, _)) in out.iter_mut().enumerate() {
        v.published_at =
            Some(chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 1000, 0).unwrap());
    }
    out
}

pub fn names(b: &V2Backend, q: SearchQuery) -> Vec<String> {
    b.search(&q)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

/// What V2 adds to the conformance suite, on whatever store `b` sits on (`b`
/// must be empty). The suite (`ggen_test_support::conformance::run`, which
/// `conformance.rs` runs on the same stores) checks what every backend does:
/// empty answers, each refused write's error, versions, list, archives, yank
/// and search.
pub fn exercise(b: &V2Backend) {
    assert_eq!(b.generation().unwrap(), 0);

    // publish: the generation counts writes, and refused ones change nothing
    let cat = catalogue();
    for (v, a) in &cat {
        b.validate(v, a).unwrap();
        b.publish(v, a).unwrap();
    }
    assert_eq!(b.generation().unwrap(), cat.len() as u64);
    let mut bad_sum = release("bad-sum", "1.0.0", "", &[]);
    bad_sum.0.checksum = Some("00".repeat(32));
    let bad_name = release("Bad Name", "1.0.0", "", &[]);
    b.validate(&cat[0].0, &cat[0].1).unwrap_err();
    for (v, a) in [&cat[0], &bad_sum, &bad_name] {
        b.publish(v, a).unwrap_err();
    }
    assert_eq!(
        b.generation().unwrap(),
        cat.len() as u64,
        "failed writes change nothing"
    );

    // more versions; every field round trips, the size and times included
    let (v2, a2) = release(
        "hello-world",
        "1.1.0",
        "A friendlier greeting template",
        &["example", "Starter"],
    );
    b.publish(&v2, &a2).unwrap();
    let (v0, a0) = release("hello-world", "0.9.0-beta.1+build.7", "old", &[]);
    b.publish(&v0, &a0).unwrap();
    let stored = b.package("io.ggen.nextjs.ontology-crud").unwrap();
    let mut expected = cat[4].0.clone();
    expected.size = Some(cat[4].1.len() as u64);
    assert_eq!(stored.versions, vec![expected]);

    // archives: content-addressed, verified on read
    let sha = cat[1].0.checksum.clone().unwrap();
    let blob = b
        .blobs()
        .locate(&ggen_marketplace_core::blobs::BlobKey::parse(&sha).unwrap());
    assert!(
        blob.to_string_lossy()
            .contains(&format!("blobs/sha256/{}/{sha}.tar.gz", &sha[..2]))
    );
    std::fs::write(&blob, b"tampered").unwrap();
    assert!(matches!(
        b.fetch_archive("bibtex-references", &"0.3.0".parse().unwrap()),
        Err(MarketplaceError::ChecksumMismatch { .. })
    ));
    std::fs::write(&blob, &cat[1].1).unwrap();
    std::fs::remove_file(&blob).unwrap();
    assert!(matches!(
        b.fetch_archive("bibtex-references", &"0.3.0".parse().unwrap()),
        Err(MarketplaceError::ArchiveMissing { .. })
    ));
    std::fs::write(&blob, &cat[1].1).unwrap();

    // yank: search shows the new latest
    b.yank("hello-world", &"1.1.0".parse().unwrap(), true)
        .unwrap();
    assert_eq!(
        b.search(&SearchQuery::text("hello-world")).unwrap().hits[0]
            .version
            .to_string(),
        "1.0.0"
    );
    b.yank("hello-world", &"1.1.0".parse().unwrap(), false)
        .unwrap();

    // counters
    b.set_counters(&[
        ("rust-cli".into(), 500, 5),
        ("rust-web".into(), 900, 9),
        ("hello-world".into(), 10, 1),
        ("unknown".into(), 1, 1),
    ])
    .unwrap();
    assert_eq!(b.package("rust-web").unwrap().downloads, 900);
    assert_eq!(b.package("rust-web").unwrap().stars, 9);

    ranking(b);

    // publish_many: idempotent, conflicting checksum refused
    let gen_before = b.generation().unwrap();
    let more = vec![
        release("many-a", "1.0.0", "bulk one", &[]),
        release("many-b", "1.0.0", "bulk two", &[]),
        cat[0].clone(),
    ];
    assert_eq!(b.publish_many(&more).unwrap(), 2);
    assert_eq!(b.publish_many(&more).unwrap(), 0);
    assert!(b.generation().unwrap() > gen_before);
    let mut conflict = release("many-a", "1.0.0", "different", &[]);
    conflict.1 = b"other bytes".to_vec();
    conflict.0.checksum = Some(sha256_hex(&conflict.1));
    assert!(matches!(
        b.publish_many(&[conflict]),
        Err(MarketplaceError::AlreadyPublished { .. })
    ));
    assert_eq!(names(b, SearchQuery::text("bulk")).len(), 2);

    // metadata
    let m = b.metadata().unwrap();
    assert_eq!(m.package_count, cat.len() + 2);
    assert_eq!(m.version_count, cat.len() + 4);
    assert!(m.capabilities.supports_sparql_queries && m.capabilities.supports_rdf_metadata);
    assert!(m.capabilities.supports_cryptographic_signing);

    // SPARQL: reads answered as JSON; writes refused before reaching the store
    let json = b
        .sparql_select("PREFIX mp: <https://ggen.io/marketplace/> SELECT ?n WHERE { ?p a mp:Package ; mp:name ?n } ORDER BY ?n")
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed["results"]["bindings"][0]["n"]["value"],
        "bibtex-references"
    );
    let ask = b.sparql_select("ASK { ?s ?p ?o }").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ask).unwrap()["boolean"],
        true
    );
    let graph = b
        .sparql_select("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o . FILTER(?s = <https://ggen.io/marketplace/package/rust-cli>) }")
        .unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&graph).is_ok(),
        "{graph}"
    );
    server_differences(b);
    let triples = b.triple_count().unwrap();
    for update in [
        "DROP ALL",
        "INSERT DATA { <http://x> <http://y> <http://z> }",
        "CLEAR DEFAULT",
        "DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://x/data.ttl>",
    ] {
        assert!(
            matches!(
                b.sparql_select(update),
                Err(MarketplaceError::InvalidQuery { .. })
            ),
            "{update}"
        );
    }
    assert_eq!(b.triple_count().unwrap(), triples);

    // export
    for f in [
        ExportFormat::Turtle,
        ExportFormat::NTriples,
        ExportFormat::JsonLd,
    ] {
        let bytes = b.export(f).unwrap();
        let fmt = match f {
            ExportFormat::Turtle => oxigraph::io::RdfFormat::Turtle,
            ExportFormat::NTriples => oxigraph::io::RdfFormat::NTriples,
            ExportFormat::JsonLd => oxigraph::io::RdfFormat::JsonLd {
                profile: oxigraph::io::JsonLdProfileSet::empty(),
            },
        };
        let n = oxigraph::io::RdfParser::from_format(fmt)
            .for_slice(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .len();
        assert_eq!(n, triples, "{f:?}");
    }

    // rebuild-index gives the same answers
    let before = names(b, SearchQuery::text("rust"));
    assert_eq!(b.rebuild_index().unwrap(), cat.len() + 2);
    assert_eq!(names(b, SearchQuery::text("rust")), before);

    retract(b);
    injection(b);
    topics(b);
}

/// The values of `var` in a SPARQL JSON results document.
fn column(results: &str, var: &str) -> Vec<String> {
    let j: serde_json::Value = serde_json::from_str(results).unwrap();
    let mut out: Vec<String> = j["results"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row[var]["value"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

const SKOS: &str = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\nPREFIX dct: <http://purl.org/dc/terms/>\n";

/// The topic scheme lives in the graph: the first write brought the shipped
/// one, SPARQL sees it and the versions' links, an import replaces both and
/// search follows, and a refused file changes nothing.
fn topics(b: &V2Backend) {
    use ggen_marketplace_core::topics::{TOPICS_TTL, TopicScheme};
    let (scheme, in_graph) = b.topic_scheme().unwrap();
    assert!(in_graph, "the first write installs the shipped scheme");
    assert_eq!(scheme, *TopicScheme::shipped());
    let labels = b
        .sparql_select(&format!(
            "{SKOS}SELECT ?label WHERE {{ <https://ggen.io/marketplace/package/rust-cli/1.2.0> dct:subject ?c . ?c skos:prefLabel ?label }}"
        ))
        .unwrap();
    assert_eq!(column(&labels, "label"), ["cli", "rust"], "{labels}");
    let academic = b
        .sparql_select(&format!(
            "{SKOS}SELECT ?v WHERE {{ <https://ggen.io/marketplace/topics/academic> skos:narrower ?c . ?v dct:subject ?c }}"
        ))
        .unwrap();
    assert_eq!(
        column(&academic, "v"),
        ["https://ggen.io/marketplace/package/bibtex-references/0.3.0"],
        "{academic}"
    );
    assert!(names(b, SearchQuery::text("tex")).contains(&"bibtex-references".to_string()));

    // A refused file changes nothing.
    let triples = b.triple_count().unwrap();
    let generation = b.generation().unwrap();
    let hostile = "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
        <https://example.org/s> a skos:ConceptScheme .\n\
        <https://ggen.io/marketplace/package/rust-cli> a skos:Concept ; skos:prefLabel \"x\" .";
    match b.import_topics(hostile.as_bytes(), "hostile.ttl") {
        Err(MarketplaceError::InvalidTopics { origin, reason }) => {
            assert_eq!(origin, "hostile.ttl");
            assert!(reason.contains("registry's own namespace"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(b.triple_count().unwrap(), triples);
    assert_eq!(b.generation().unwrap(), generation);

    // An operator's scheme replaces the shipped one, links included.
    assert!(names(b, SearchQuery::text("salutation")).is_empty());
    let own = "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
        <https://example.org/topics> a skos:ConceptScheme .\n\
        <https://example.org/topics/greeting> a skos:Concept ; skos:inScheme <https://example.org/topics> ;\n\
            skos:prefLabel \"Greeting\"@en ; skos:altLabel \"salutation\"@en, \"starter\"@en, \"Grüße\"@de .";
    let r = b.import_topics(own.as_bytes(), "own.ttl").unwrap();
    // hello-world 1.0.0 and 1.1.0 carry the tag `Starter`; 0.9.0-beta has no tags.
    assert_eq!((r.concepts, r.links), (1, 2), "{r:?}");
    assert_eq!(b.generation().unwrap(), generation + 1, "one atomic write");
    assert_eq!(names(b, SearchQuery::text("salutation")), ["hello-world"]);
    assert!(!names(b, SearchQuery::text("tex")).contains(&"bibtex-references".to_string()));
    let linked = b
        .sparql_select(&format!("{SKOS}SELECT ?v ?c WHERE {{ ?v dct:subject ?c }}"))
        .unwrap();
    assert_eq!(
        column(&linked, "v"),
        [
            "https://ggen.io/marketplace/package/hello-world/1.0.0",
            "https://ggen.io/marketplace/package/hello-world/1.1.0"
        ],
        "{linked}"
    );
    assert_eq!(
        b.topic_package_counts().unwrap(),
        [("https://example.org/topics/greeting".to_string(), 1)]
    );
    // The export reads back as the same scheme.
    let exported = b.export_topics().unwrap();
    let again = b.import_topics(&exported, "exported.ttl").unwrap();
    assert_eq!(again, r);
    assert_eq!(b.topic_scheme().unwrap().0.concepts().len(), 1);

    // Clearing the packages (rebuild-db) keeps an operator's scheme, which
    // no archive holds, and what is imported next is linked to it.
    b.clear().unwrap();
    let (kept, in_graph) = b.topic_scheme().unwrap();
    assert!(in_graph);
    assert_eq!(kept.concepts().len(), 1, "{kept:?}");
    // (The catalogue again, for whatever runs after `exercise`.)
    for (v, a) in catalogue() {
        b.publish(&v, &a).unwrap();
    }
    assert_eq!(
        b.topic_package_counts().unwrap(),
        [("https://example.org/topics/greeting".to_string(), 1)]
    );

    // Back to the shipped scheme for whatever runs next.
    b.import_topics(TOPICS_TTL.as_bytes(), "shipped").unwrap();
    assert_eq!(b.topic_scheme().unwrap().0, *TopicScheme::shipped());
}

/// What SPARQL servers answer differently, read the same way on each store:
/// COUNT's datatype, ASK false, booleans, blank nodes in a graph answer, and
/// an aggregate whose order is unspecified (compared as a set).
fn server_differences(b: &V2Backend) {
    let select = |q: &str| -> serde_json::Value {
        serde_json::from_str(&b.sparql_select(q).unwrap()).unwrap()
    };
    let n = select(
        "PREFIX mp: <https://ggen.io/marketplace/> SELECT (COUNT(?p) AS ?n) WHERE { ?p a mp:Package }",
    );
    let count: u64 = n["results"]["bindings"][0]["n"]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(count as usize, b.list().unwrap().len());
    let no = select("ASK { <urn:ggen:nothing> ?p ?o }");
    assert_eq!(no["boolean"], false, "{no}");
    let yanked = select(
        "PREFIX mp: <https://ggen.io/marketplace/> SELECT ?y WHERE { ?v mp:yanked ?y } LIMIT 1",
    );
    let y = &yanked["results"]["bindings"][0]["y"];
    assert!(y["value"] == "false" || y["value"] == "true", "{yanked}");
    let graph = b
        .sparql_select(
            "PREFIX mp: <https://ggen.io/marketplace/> CONSTRUCT { _:entry <urn:ggen:names> ?n } \
             WHERE { ?p a mp:Package ; mp:name ?n . FILTER(?n = \"rust-cli\") }",
        )
        .unwrap();
    assert!(
        graph.contains("rust-cli") && graph.contains("_:"),
        "{graph}"
    );
    let tags = select(
        "PREFIX mp: <https://ggen.io/marketplace/> SELECT (GROUP_CONCAT(?t; separator=\",\") AS ?all) \
         WHERE { <https://ggen.io/marketplace/package/rust-web/0.9.0> mp:tag ?e . ?e mp:value ?t }",
    );
    let mut all: Vec<&str> = tags["results"]["bindings"][0]["all"]["value"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    all.sort();
    assert_eq!(all, ["rust", "web"], "{tags}");
}

/// Retract (undoing half a dual write) removes exactly one version, and the
/// package with its last version, from the graph, the term index and list.
fn retract(b: &V2Backend) {
    let triples = b.triple_count().unwrap();
    let one = release("retract-me", "1.0.0", "A xylophone template", &[]);
    let two = release("retract-me", "2.0.0", "A xylophone template, again", &[]);
    b.publish(&one.0, &one.1).unwrap();
    let with_one = b.triple_count().unwrap();
    b.publish(&two.0, &two.1).unwrap();
    b.retract("retract-me", &Version::new(2, 0, 0)).unwrap();
    assert_eq!(b.triple_count().unwrap(), with_one);
    let versions: Vec<String> = b
        .versions("retract-me")
        .unwrap()
        .iter()
        .map(|v| v.version.to_string())
        .collect();
    assert_eq!(versions, ["1.0.0"]);
    b.retract("retract-me", &Version::new(1, 0, 0)).unwrap();
    assert_eq!(b.triple_count().unwrap(), triples, "nothing left behind");
    assert!(matches!(
        b.package("retract-me"),
        Err(MarketplaceError::NotFound { .. })
    ));
    assert!(names(b, SearchQuery::text("xylophone")).is_empty());
    assert!(!b.list().unwrap().iter().any(|s| s.name == "retract-me"));
    assert!(matches!(
        b.retract("retract-me", &Version::new(1, 0, 0)),
        Err(MarketplaceError::NotFound { .. })
    ));
    // The version can be published again (it never happened, as far as V2 knows).
    b.publish(&one.0, &one.1).unwrap();
    b.retract("retract-me", &Version::new(1, 0, 0)).unwrap();
}

pub fn ranking(b: &V2Backend) {
    // exact whole name first, even against popular packages
    assert_eq!(names(b, SearchQuery::text("hello world"))[0], "hello-world");
    assert_eq!(
        names(b, SearchQuery::text("io.ggen.nextjs.ontology-crud"))[0],
        "io.ggen.nextjs.ontology-crud"
    );
    let exact = b.search(&SearchQuery::text("rust-cli")).unwrap();
    assert!(exact.hits[0].score >= 1000.0);
    // typo and prefix tolerance
    assert_eq!(names(b, SearchQuery::text("helo wrld"))[0], "hello-world");
    assert_eq!(names(b, SearchQuery::text("bib"))[0], "bibtex-references");
    assert_eq!(
        names(b, SearchQuery::text("ontolgy"))[0],
        "io.ggen.nextjs.ontology-crud"
    );
    // popularity breaks ties between equal matches
    assert_eq!(
        names(b, SearchQuery::text("rust"))[..2],
        ["rust-web", "rust-cli"]
    );
    // hydrated fields come from the graph
    let hit = &b.search(&SearchQuery::text("fastapi")).unwrap().hits[0];
    assert_eq!(
        hit.description,
        "FastAPI service with \"quotes\" and \\backslashes\\"
    );
    assert_eq!(hit.category.as_deref(), Some("Web"));
    assert_eq!(hit.tags, ["python", "web"]);
    // filters, case-insensitive
    let q = |text: &str, category: Option<&str>, tags: &[&str]| SearchQuery {
        text: text.into(),
        category: category.map(str::to_string),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..SearchQuery::default()
    };
    assert_eq!(names(b, q("rust", None, &["Web"])), ["rust-web"]);
    assert_eq!(names(b, q("", None, &["starter"])), ["hello-world"]);
    assert!(names(b, q("rust", Some("nope"), &[])).is_empty());
    // sorts
    let sorted = |sort: SortOrder| {
        names(
            b,
            SearchQuery {
                sort,
                ..SearchQuery::default()
            },
        )
    };
    assert_eq!(
        sorted(SortOrder::Downloads)[..3],
        ["rust-web", "rust-cli", "hello-world"]
    );
    assert_eq!(
        sorted(SortOrder::Relevance)[..3],
        ["rust-web", "rust-cli", "hello-world"]
    );
    // hello-world 1.1.0 was published last (now), so it is the most recent
    assert_eq!(sorted(SortOrder::Recent)[0], "hello-world");
    // a page past the end: no hits, the same total
    let all = b.search(&SearchQuery::default()).unwrap();
    let past = b
        .search(&SearchQuery {
            offset: 1000,
            ..SearchQuery::default()
        })
        .unwrap();
    assert!(past.hits.is_empty() && past.total == all.total);
}

/// Hostile input is searched literally or refused, and the graph is untouched.
pub fn injection(b: &V2Backend) {
    let triples = b.triple_count().unwrap();
    let generation = b.generation().unwrap();
    let long = "x".repeat(10_000);
    for text in [
        "x\") } ; DROP ALL ; #",
        "x\"> } ; DROP ALL ; #",
        "'; DELETE WHERE { ?s ?p ?o } ; '",
        "{ } } {{ \\\" \\u0022",
        "\\u0000",
        "a\u{0}b",
        long.as_str(),
    ] {
        let q = SearchQuery::text(text);
        match b.search(&q) {
            Ok(r) => assert!(r.hits.iter().all(|h| !h.name.is_empty())),
            Err(MarketplaceError::InvalidQuery { reason }) => assert!(!reason.is_empty()),
            Err(e) => panic!("{text:?}: unexpected {e}"),
        }
        let filtered = SearchQuery {
            category: Some(text.into()),
            tags: vec![text.into()],
            ..SearchQuery::text("rust")
        };
        let _ = b.search(&filtered);
        assert!(matches!(
            b.package(text),
            Err(MarketplaceError::NotFound { .. })
        ));
        assert!(b.fetch_archive(text, &"1.0.0".parse().unwrap()).is_err());
        assert!(b.yank(text, &"1.0.0".parse().unwrap(), true).is_err());
        b.set_counters(&[(text.to_string(), 1, 1)]).unwrap();
    }
    // Hostile text inside stored values is data, not syntax.
    let (mut v, a) = release(
        "hostile",
        "1.0.0",
        "x\") } ; DROP ALL ; # \u{0} {{ }}",
        &["\"}; DROP ALL; #"],
    );
    v.authors = vec![long.clone()];
    // A publish refuses control characters now; data an older registry holds
    // still arrives by import (migration), and must stay data there too.
    assert!(matches!(
        b.publish(&v, &a),
        Err(MarketplaceError::InvalidMetadata { .. })
    ));
    b.import(&[(v.clone(), Some(a.clone()))]).unwrap();
    let back = b.package("hostile").unwrap();
    assert_eq!(back.versions[0].description, v.description);
    assert_eq!(back.versions[0].tags, v.tags);
    assert_eq!(back.versions[0].authors, v.authors);
    assert!(b.triple_count().unwrap() > triples);
    assert_eq!(b.generation().unwrap(), generation + 1);
    assert_eq!(
        b.search(&SearchQuery::text("drop all")).unwrap().hits[0].name,
        "hostile"
    );
}
