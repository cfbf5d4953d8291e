//! Rows for the routing layer: the same reads through `Marketplace::backend_for`
//! (instrumentation, circuit breaker and retry, DualBackendAdapter) under each
//! strategy, on the registry the V1 and V2 rows were measured on.

use std::path::Path;

use anyhow::Result;
use ggen_marketplace::{Marketplace, Operation, Paths, Settings};
use ggen_marketplace_core::search::SearchQuery;

use crate::{Catalogue, Row, measure};

/// The strategies, as `GGEN_MARKETPLACE_*` settings, and the row label.
const STRATEGIES: &[(&str, &[(&str, &str)])] = &[
    ("dual v1", &[("GGEN_MARKETPLACE_BACKEND", "v1")]),
    ("dual v2+fallback", &[("GGEN_MARKETPLACE_BACKEND", "v2")]),
    (
        "dual ab-test 50%",
        &[
            ("GGEN_MARKETPLACE_BACKEND", "ab-test"),
            ("GGEN_MARKETPLACE_V2_PERCENTAGE", "50"),
        ],
    ),
    ("dual compare", &[("GGEN_MARKETPLACE_BACKEND", "compare")]),
];

fn marketplace(home: &Path, registry: &Path, env: &[(&str, &str)]) -> Result<Marketplace> {
    let paths = Paths {
        home: home.to_path_buf(),
        registry: registry.to_path_buf(),
        config_dir: home.join("config"),
    };
    Ok(Marketplace::new(paths, Settings::from_pairs(env)?))
}

/// Search (three kinds of query) and info under every strategy. Each strategy
/// gets its own home (circuit state, compare log); the A/B rows alternate
/// subjects so both sides are exercised.
pub fn rows(catalogue: Catalogue<'_>, rows: &mut Vec<Row>) -> Result<()> {
    let Catalogue {
        n,
        root,
        registry,
        corpus,
        iterations,
    } = catalogue;
    let queries = [
        ("search one-word", SearchQuery::text("graph")),
        ("search multi-word", SearchQuery::text("rust web service")),
        (
            "search exact-name",
            SearchQuery::text(corpus[corpus.len() / 2].name.clone()),
        ),
    ];
    let names: Vec<&str> = (0..64)
        .map(|i| corpus[(i * 7919) % corpus.len()].name.as_str())
        .collect();
    for (i, (label, env)) in STRATEGIES.iter().enumerate() {
        let mp = marketplace(&root.join(format!("dual-home-{n}-{i}")), registry, env)?;
        let subjects = ["bench-a", "bench-b", "bench-c", "bench-d"];
        for (op, q) in &queries {
            let backends: Vec<_> = subjects
                .iter()
                .map(|s| mp.backend_for_subject(Operation::Search, s))
                .collect::<Result<_, _>>()?;
            backends[0].search(q)?;
            let mut k = 0;
            rows.push(measure(n, label, op, iterations, || {
                backends[k % backends.len()].search(q).expect("search");
                k += 1;
            }));
        }
        let backends: Vec<_> = subjects
            .iter()
            .map(|s| mp.backend_for_subject(Operation::Info, s))
            .collect::<Result<_, _>>()?;
        let mut k = 0;
        rows.push(measure(n, label, "info", iterations, || {
            backends[k % backends.len()]
                .package(names[k % names.len()])
                .expect("info");
            k += 1;
        }));
    }
    Ok(())
}
