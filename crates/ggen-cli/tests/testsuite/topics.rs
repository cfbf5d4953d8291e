//! `ggen marketplace topics` and `search --explain`: the scheme search
//! expands through (listed, exported and, on V2, replaced) and the parts of
//! a hit's score.

use serde_json::Value;

use crate::common::*;

/// The parts of every hit add up to its score.
fn parts_add_up(v: &Value) {
    for hit in v["hits"].as_array().unwrap() {
        let parts = hit["explain"].as_array().expect("explain on every hit");
        let sum: f64 = parts.iter().map(|p| p["score"].as_f64().unwrap()).sum();
        let score = hit["score"].as_f64().unwrap();
        assert!(
            (sum - score).abs() <= 1e-3 * score.max(1.0),
            "{}: parts {sum}, score {score}",
            hit["name"]
        );
    }
}

#[test]
fn search_explains_each_hit_in_text_and_json() {
    let home = Home::new();
    let v = home.json(&["search", "kube", "--explain"]);
    assert_eq!(names(&v)[0], "k8s-deployment", "{v}");
    parts_add_up(&v);
    let parts = v["hits"][0]["explain"].as_array().unwrap();
    assert!(
        parts.iter().any(|p| p["kind"] == "topic"
            && p["field"] == "tags"
            && p["term"] == "kubernetes"
            && p["source"] == "kube"
            && p["concept"] == "https://ggen.io/marketplace/topics/kubernetes"),
        "{parts:?}"
    );
    assert!(
        parts
            .iter()
            .any(|p| p["kind"] == "prefix" && p["term"] == "kube"),
        "{parts:?}"
    );
    let text = home.succeeds(&["search", "kube", "--explain"]);
    for want in ["k8s-deployment (score ", "+SCORE", "FROM"] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }
    let row = |kind: &str, term: &str| {
        text.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() == 5 && cells[2] == kind && cells[3] == term && cells[4] == "kube"
        })
    };
    assert!(row("topic", "kubernetes"), "{text}");
    // Unasked, hits carry no explanation.
    let plain = home.json(&["search", "kube"]);
    assert!(plain["hits"][0].get("explain").is_none(), "{plain}");
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn both_backends_explain_a_hit_with_the_same_parts() {
    let home = Home::new();
    let kinds = |backend: &str| {
        let v = home.json(&["search", "comand lnie", "--explain", "--backend", backend]);
        parts_add_up(&v);
        let mut parts: Vec<String> = v["hits"][0]["explain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{} {} {}", p["field"], p["kind"], p["term"]))
            .collect();
        parts.sort();
        (names(&v)[0].clone(), parts)
    };
    let v1 = kinds("v1");
    assert_eq!(v1, kinds("v2"));
    assert!(v1.1.iter().any(|p| p.contains("typo")), "{v1:?}");
}

#[cfg(feature = "marketplace-v2")]
#[test]
fn topics_are_listed_exported_and_replaced_in_the_graph() {
    let home = Home::new();
    let list = home.json(&["topics", "list"]);
    assert_eq!(list["source"], "graph", "seeding wrote the shipped scheme");
    let concepts = list["concepts"].as_array().unwrap();
    let k8s = concepts
        .iter()
        .find(|c| c["label"] == "kubernetes")
        .unwrap();
    assert!(
        k8s["alt_labels"]
            .as_array()
            .unwrap()
            .contains(&"k8s".into())
    );
    assert!(k8s["packages"].as_u64().unwrap() >= 1, "{k8s}");
    let exported = home.succeeds(&["topics", "export"]);
    assert!(exported.contains("skos:Concept"), "{exported}");

    // An operator's own scheme: hello-world is tagged `starter`.
    let own = home.path().join("own.ttl");
    std::fs::write(
        &own,
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
         <https://example.org/topics> a skos:ConceptScheme .\n\
         <https://example.org/topics/greeting> a skos:Concept ;\n\
             skos:prefLabel \"greeting\"@en ; skos:altLabel \"salutation\"@en, \"starter\"@en .\n",
    )
    .unwrap();
    let own_path = own.to_str().unwrap();
    let out = home.succeeds(&["topics", "import", own_path]);
    assert!(out.contains("Imported 1 topic(s)"), "{out}");
    // Nothing says "salutation"; everything that says "starter" is found.
    let v = home.json(&["search", "salutation", "--backend", "v2", "--explain"]);
    assert!(names(&v).contains(&"hello-world".to_string()), "{v}");
    parts_add_up(&v);
    for hit in v["hits"].as_array().unwrap() {
        let parts = hit["explain"].as_array().unwrap();
        assert!(
            parts
                .iter()
                .all(|p| p["kind"] == "topic"
                    && p["concept"] == "https://example.org/topics/greeting"),
            "{hit}"
        );
    }
    let linked = home.json(&[
        "sparql",
        "SELECT ?v WHERE { ?v <http://purl.org/dc/terms/subject> <https://example.org/topics/greeting> }",
    ]);
    let bindings = linked["results"]["results"]["bindings"].as_array().unwrap();
    assert!(
        bindings
            .iter()
            .any(|b| b["v"]["value"] == "https://ggen.io/marketplace/package/hello-world/1.0.0"),
        "{linked}"
    );

    // Refused files change nothing, and say what is wrong and where.
    let bad = home.path().join("bad.ttl");
    std::fs::write(
        &bad,
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n\
         <https://example.org/topics> a skos:ConceptScheme .\n\
         <https://ggen.io/marketplace/package/hello-world> a skos:Concept ; skos:prefLabel \"x\" .\n",
    )
    .unwrap();
    home.fails(
        &["topics", "import", bad.to_str().unwrap()],
        &["bad.ttl", "registry's own namespace", "nothing was changed"],
    );
    std::fs::write(&bad, "this is not turtle").unwrap();
    home.fails(
        &["topics", "import", bad.to_str().unwrap()],
        &["bad.ttl", "not Turtle"],
    );
    std::fs::write(&bad, [b'#', 0xff, 0xfe, b'\n']).unwrap();
    home.fails(
        &["topics", "import", bad.to_str().unwrap()],
        &["bad.ttl", "UTF-8"],
    );
    std::fs::write(&bad, vec![b'#'; 5 << 20]).unwrap();
    home.fails(
        &["topics", "import", bad.to_str().unwrap()],
        &["larger than"],
    );
    home.fails(
        &["topics", "import", "/nonexistent/x.ttl"],
        &["/nonexistent/x.ttl"],
    );
    let after = home.json(&["topics", "list"]);
    assert_eq!(after["concepts"].as_array().unwrap().len(), 1, "{after}");
    // hello-world (tag `starter`) and contributing-guide (category `starter`).
    assert_eq!(after["concepts"][0]["packages"], 2, "{after}");
}

#[cfg(not(feature = "marketplace-v2"))]
#[test]
fn without_v2_the_shipped_topics_are_listed_and_import_says_why_not() {
    let home = Home::new();
    let list = home.json(&["topics", "list"]);
    assert_eq!(list["source"], "shipped");
    assert!(list["concepts"].as_array().unwrap().len() >= 50);
    let own = home.path().join("own.ttl");
    std::fs::write(&own, "").unwrap();
    home.fails(
        &["topics", "import", own.to_str().unwrap()],
        &["marketplace-v2"],
    );
}
