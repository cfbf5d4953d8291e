//! Baselines: the graph queries a user would hand-roll instead of V2's term
//! index and package records, over the very store V2 wrote.
//!
//! - `v2-sparql` rows run SPARQL through V2's own embedded Oxigraph
//!   (`sparql_select`, results serialized as SPARQL JSON): a `CONTAINS` scan over
//!   every description for search, the package's subgraph for `info` (the
//!   shape of the query V2 itself sends to a remote endpoint), and one SELECT
//!   for `versions`.
//! - `pyoxigraph` rows (`--pyoxigraph`) run the same query texts in
//!   pyoxigraph (PyPI, the 0.5 series this build's Oxigraph is of) with the store
//!   opened read-only, timed inside Python by `pyoxigraph_rows.py`, each
//!   answer turned into Python values. This is the "script it yourself"
//!   alternative: same engine, same data, no index.
//!
//! Both sides get the same package names in the same order as the `v2` rows.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use ggen_marketplace_v2::V2Backend;

use crate::{Catalogue, Row, measure};

const PREFIX: &str = "PREFIX mp: <https://ggen.io/marketplace/>";

/// A package's IRI (the generated names are plain ASCII words and dashes).
fn package(name: &str) -> String {
    format!("<https://ggen.io/marketplace/package/{name}>")
}

/// The naive search: every description, lower-cased, scanned for a word.
fn scan_query() -> String {
    format!(
        "{PREFIX} SELECT ?p WHERE {{ ?v mp:description ?d . ?v mp:versionOf ?p . \
         FILTER(CONTAINS(LCASE(?d), \"graph\")) }} LIMIT 20"
    )
}

/// Every triple of the package, its versions and their entries (tags,
/// keywords, authors, dependencies, signatures): what `info` shows.
fn info_query(name: &str) -> String {
    let pkg = package(name);
    format!(
        "{PREFIX} SELECT ?s ?p ?o WHERE {{ \
         {{ BIND({pkg} AS ?s) ?s ?p ?o }} \
         UNION {{ {pkg} mp:hasVersion ?s . ?s ?p ?o }} \
         UNION {{ {pkg} mp:hasVersion ?v . ?v ?link ?s . \
         FILTER(?link IN (mp:tag, mp:keyword, mp:author, mp:dependency, mp:signature)) \
         ?s ?p ?o }} }}"
    )
}

/// The version list with what `versions` prints beside each.
fn versions_query(name: &str) -> String {
    let pkg = package(name);
    format!(
        "{PREFIX} SELECT ?version ?yanked ?published WHERE {{ \
         {pkg} mp:hasVersion ?v . ?v mp:version ?version ; mp:yanked ?yanked . \
         OPTIONAL {{ ?v mp:publishedAt ?published }} }}"
    )
}

/// The query sets: (operation, query texts cycled through).
fn query_sets(c: &Catalogue<'_>) -> Vec<(&'static str, Vec<String>)> {
    let names = crate::sample_names(c.corpus);
    vec![
        ("search one-word", vec![scan_query()]),
        ("info", names.iter().map(|n| info_query(n)).collect()),
        (
            "versions",
            names.iter().map(|n| versions_query(n)).collect(),
        ),
    ]
}

/// The `v2-sparql` rows, then (with `pyoxigraph`) the `pyoxigraph` rows.
/// Opens the store itself: the caller must have closed its V2 backend.
pub fn rows(c: Catalogue<'_>, pyoxigraph: bool, rows: &mut Vec<Row>) -> Result<()> {
    let sets = query_sets(&c);
    {
        let v2 = V2Backend::open_embedded(c.registry)?;
        for (op, queries) in &sets {
            // An empty answer would time nothing worth having: fail loudly.
            let first = v2.sparql_select(&queries[0]).context("baseline query")?;
            anyhow::ensure!(
                first.contains("\"bindings\":[{"),
                "the {op} baseline query found nothing: {first}"
            );
            // The scan reads every description: a few calls say enough.
            let iterations = if *op == "search one-word" {
                c.iterations.min(20)
            } else {
                c.iterations
            };
            let mut i = 0;
            rows.push(measure(c.n, "v2-sparql", op, iterations, || {
                v2.sparql_select(&queries[i % queries.len()])
                    .expect("baseline query");
                i += 1;
            }));
        }
    }
    if pyoxigraph {
        python_rows(&c, &sets, rows)?;
    }
    Ok(())
}

/// What `pyoxigraph_rows.py` prints for one operation.
#[derive(serde::Deserialize)]
struct PythonTiming {
    op: String,
    first_us: f64,
    samples_us: Vec<f64>,
    total_us: f64,
    rows: usize,
}

fn python_rows(
    c: &Catalogue<'_>,
    sets: &[(&'static str, Vec<String>)],
    rows: &mut Vec<Row>,
) -> Result<()> {
    let store = c
        .registry
        .join(ggen_marketplace_v2::V2_DIR)
        .join(ggen_marketplace_v2::STORE_DIR);
    let script = c.root.join("pyoxigraph_rows.py");
    std::fs::write(&script, include_str!("pyoxigraph_rows.py"))?;
    let request = serde_json::json!({
        "store": store,
        "sets": sets.iter().map(|(op, qs)| {
            let iterations = if *op == "search one-word" { c.iterations.min(20) } else { c.iterations };
            serde_json::json!({ "op": op, "queries": qs, "iterations": iterations })
        }).collect::<Vec<_>>(),
    });
    let request_file = c.root.join(format!("pyoxigraph-{}.json", c.n));
    std::fs::write(&request_file, serde_json::to_vec(&request)?)?;
    let out = Command::new("python3")
        .arg(&script)
        .arg(&request_file)
        .output()
        .context("running python3 for the pyoxigraph rows")?;
    anyhow::ensure!(
        out.status.success(),
        "the pyoxigraph rows failed (install it with `pip install 'pyoxigraph>=0.5,<0.6'`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let timings: Vec<PythonTiming> =
        serde_json::from_slice(&out.stdout).context("reading pyoxigraph_rows.py's answer")?;
    for t in timings {
        anyhow::ensure!(t.rows > 0, "pyoxigraph's {} query found nothing", t.op);
        let us = |v: f64| Duration::from_secs_f64(v / 1e6);
        rows.push(Row::from_samples(
            c.n,
            "pyoxigraph",
            &t.op,
            us(t.first_us),
            t.samples_us.into_iter().map(us).collect(),
            us(t.total_us),
        ));
    }
    Ok(())
}
