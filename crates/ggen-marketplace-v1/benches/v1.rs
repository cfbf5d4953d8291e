//! V1 search and lookup on generated catalogues of 1k and 10k packages.
//! Run: `cargo bench -p ggen-marketplace-v1`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ggen_marketplace_core::{MarketplaceBackend, SearchQuery};
use ggen_marketplace_v1::V1Backend;
use ggen_marketplace_v1::index::IndexFile;
use ggen_test_support::corpus::{CorpusSpec, generate, package_name};

fn registry(n: usize) -> (tempfile::TempDir, V1Backend) {
    let dir = tempfile::tempdir().unwrap();
    let packages = generate(&CorpusSpec::new(n));
    let file = IndexFile::from_packages(&packages, "bench", 1);
    std::fs::write(dir.path().join("index.json"), file.to_json()).unwrap();
    let backend = V1Backend::open(dir.path()).unwrap();
    backend.rebuild_index().unwrap();
    (dir, backend)
}

fn bench(c: &mut Criterion) {
    for n in [1_000, 10_000] {
        let (_dir, v1) = registry(n);
        let exact = package_name(n / 2, 42);
        let queries = [
            ("exact-name", exact.clone()),
            ("one-word", "graph".to_string()),
            ("two-words", "rust cli".to_string()),
            ("prefix", "dashb".to_string()),
            ("typo", "grpah qeury".to_string()),
            ("no-hit", "zzzzqqq".to_string()),
        ];
        let mut group = c.benchmark_group(format!("v1-search-{n}"));
        for (label, q) in &queries {
            let query = SearchQuery::text(q.clone());
            group.bench_with_input(BenchmarkId::from_parameter(label), &query, |b, q| {
                b.iter(|| v1.search(q).unwrap())
            });
        }
        group.finish();
        let mut group = c.benchmark_group(format!("v1-info-{n}"));
        group.bench_function("package", |b| b.iter(|| v1.package(&exact).unwrap()));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
