//! `--eval`: search quality, not speed. Runs every query of a judgments file
//! (graded relevance, written by hand) against V1 and V2 loaded with the same
//! registry, and prints NDCG@10 and MRR@10 per query and on average.
//!
//! ```text
//! cargo run --release -p ggen-bench -- --eval crates/ggen-bench/judgments/ggen-registry-2025-11.toml \
//!     --eval-registry ../shared/corpus/ggen-registry-2025-11
//! ```
//!
//! NDCG@10 gains `2^grade - 1` discounted by `log2(rank + 1)`, divided by the
//! best ordering of the judged packages; MRR@10 is one over the rank of the
//! first hit graded 2 or more (0 when none is in the top ten).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::search::SearchQuery;
use ggen_marketplace_v1::V1Backend;
use ggen_marketplace_v2::V2Backend;
use serde::{Deserialize, Serialize};

/// Ranks that count.
const DEPTH: usize = 10;
/// The grade from which a hit counts for MRR.
const RELEVANT: u8 = 2;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Judgments {
    query: Vec<Judged>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Judged {
    text: String,
    kind: String,
    grades: BTreeMap<String, u8>,
}

/// One query's figures on one backend.
#[derive(Serialize)]
pub struct EvalRow {
    backend: String,
    query: String,
    kind: String,
    ndcg10: f64,
    mrr10: f64,
    /// The top hits, for reading why a figure is low.
    top: Vec<String>,
}

fn dcg(grades: impl Iterator<Item = u8>) -> f64 {
    grades
        .take(DEPTH)
        .enumerate()
        .map(|(i, g)| (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2())
        .sum::<f64>()
        + 0.0 // an empty sum is -0.0
}

fn ndcg(hits: &[String], grades: &BTreeMap<String, u8>) -> f64 {
    let mut ideal: Vec<u8> = grades.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let best = dcg(ideal.into_iter());
    if best == 0.0 {
        return 0.0;
    }
    dcg(hits.iter().map(|h| grades.get(h).copied().unwrap_or(0))) / best
}

fn mrr(hits: &[String], grades: &BTreeMap<String, u8>) -> f64 {
    hits.iter()
        .take(DEPTH)
        .position(|h| grades.get(h).is_some_and(|&g| g >= RELEVANT))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// Loads `registry/index.json` into a V1 and a V2 registry under `scratch`
/// and evaluates `judgments` on both.
pub fn run(judgments: &Path, registry: &Path, scratch: &Path) -> Result<Vec<EvalRow>> {
    let text = std::fs::read_to_string(judgments)
        .with_context(|| format!("reading {}", judgments.display()))?;
    let judged: Judgments =
        toml::from_str(&text).with_context(|| format!("parsing {}", judgments.display()))?;
    let dir = scratch.join("eval-registry");
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(registry.join("index.json"), dir.join("index.json"))
        .with_context(|| format!("copying {}/index.json", registry.display()))?;
    let v1 = V1Backend::open(&dir)?;
    v1.rebuild_index()?;
    let packages = v1
        .list()?
        .into_iter()
        .map(|s| v1.package(&s.name))
        .collect::<ggen_marketplace_core::Result<Vec<_>>>()?;
    for q in &judged.query {
        for name in q.grades.keys() {
            anyhow::ensure!(
                packages.iter().any(|p| &p.name == name),
                "{}: query {:?} grades `{name}`, which the registry does not have",
                judgments.display(),
                q.text
            );
        }
    }
    crate::build_v2(&dir, &packages)?;
    let v2 = V2Backend::open_embedded(&dir)?;
    let backends: [(&str, &dyn MarketplaceBackend); 2] = [("v1", &v1), ("v2", &v2)];
    let mut rows = Vec::new();
    for (name, backend) in backends {
        for q in &judged.query {
            let mut query = SearchQuery::text(q.text.clone());
            query.limit = DEPTH;
            let hits: Vec<String> = backend
                .search(&query)?
                .hits
                .into_iter()
                .map(|h| h.name)
                .collect();
            rows.push(EvalRow {
                backend: name.into(),
                query: q.text.clone(),
                kind: q.kind.clone(),
                ndcg10: ndcg(&hits, &q.grades),
                mrr10: mrr(&hits, &q.grades),
                top: hits.into_iter().take(3).collect(),
            });
        }
    }
    Ok(rows)
}

/// The per-query table and each backend's means.
pub fn print(rows: &[EvalRow]) {
    println!(
        "{:<8} {:<20} {:<15} {:>8} {:>7}  top hits",
        "backend", "query", "kind", "NDCG@10", "MRR@10"
    );
    for r in rows {
        println!(
            "{:<8} {:<20} {:<15} {:>8.3} {:>7.3}  {}",
            r.backend,
            r.query,
            r.kind,
            r.ndcg10,
            r.mrr10,
            r.top.join(", ")
        );
    }
    for backend in ["v1", "v2"] {
        let mine: Vec<&EvalRow> = rows.iter().filter(|r| r.backend == backend).collect();
        let n = mine.len().max(1) as f64;
        println!(
            "{backend}: mean NDCG@10 {:.3}, mean MRR@10 {:.3} over {} queries",
            mine.iter().map(|r| r.ndcg10).sum::<f64>() / n,
            mine.iter().map(|r| r.mrr10).sum::<f64>() / n,
            mine.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_follow_their_definitions() {
        let grades = BTreeMap::from([("a".to_string(), 3u8), ("b".to_string(), 1)]);
        let hits = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!((ndcg(&hits(&["a", "b"]), &grades) - 1.0).abs() < 1e-9);
        assert!(ndcg(&hits(&["b", "a"]), &grades) < 1.0);
        assert_eq!(ndcg(&hits(&["x"]), &grades), 0.0);
        assert_eq!(mrr(&hits(&["x", "b", "a"]), &grades), 1.0 / 3.0);
        assert_eq!(mrr(&hits(&["b"]), &grades), 0.0, "grade 1 does not count");
    }
}
