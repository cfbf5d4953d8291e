//! What the adapter layer costs: search and info on a 1k catalogue called on
//! V1 and V2 directly, and through `Marketplace::backend_for` (instrumentation,
//! circuit breaker and retry wrapper, DualBackendAdapter), plus a read that
//! falls back to V1 while V2's circuit is open.
//! Run: `cargo bench -p ggen-marketplace --bench adapter`
//!
//! No metrics recorder is installed here, so the `metrics` calls are the
//! no-op the CLI pays without GGEN_METRICS_FILE; the server records them.

#[cfg(feature = "marketplace-parallel")]
mod bench {
    use std::path::Path;

    use criterion::Criterion;
    use ggen_marketplace::{Marketplace, Operation, Paths, Settings};
    use ggen_marketplace_core::{BackendKind, MarketplaceBackend, SearchQuery};
    use ggen_test_support::corpus::{CorpusSpec, generate, package_name};

    fn marketplace(home: &Path, registry: &Path, env: &[(&str, String)]) -> Marketplace {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let paths = Paths {
            home: home.to_path_buf(),
            registry: registry.to_path_buf(),
            config_dir: home.join("config"),
        };
        let mut settings = Settings::from_pairs(&env).unwrap();
        settings.retry.attempts = 1;
        Marketplace::new(paths, settings)
    }

    pub fn adapter(c: &mut Criterion) {
        let root = tempfile::tempdir().unwrap();
        let registry = root.path().join("registry");
        let corpus = generate(&CorpusSpec::new(1000));
        std::fs::create_dir_all(&registry).unwrap();
        let file = ggen_marketplace::v1::index::IndexFile::from_packages(&corpus, "bench", 1);
        std::fs::write(registry.join("index.json"), file.to_json()).unwrap();
        ggen_marketplace::v1::V1Backend::open(&registry)
            .unwrap()
            .rebuild_index()
            .unwrap();
        {
            let v2 = ggen_marketplace::v2::V2Backend::open_embedded(&registry).unwrap();
            let releases: Vec<_> = corpus
                .iter()
                .flat_map(|p| p.versions.iter().map(|v| (v.clone(), None)))
                .collect();
            v2.import(&releases).unwrap();
        }
        let query = SearchQuery::text("rust cli");
        let name = package_name(500, 42);

        // Default routing: V2 with fallback to V1.
        let mp = marketplace(&root.path().join("a"), &registry, &[]);
        // V1 only.
        let mp1 = marketplace(
            &root.path().join("b"),
            &registry,
            &[("GGEN_MARKETPLACE_BACKEND", "v1".into())],
        );
        // V2 unreachable: its circuit opens, reads fall back to V1.
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mp_down = marketplace(
            &root.path().join("c"),
            &registry,
            &[(
                "GGEN_MARKETPLACE_V2_ENDPOINT",
                format!("http://127.0.0.1:{dead}/query"),
            )],
        );

        let v1 = mp.v1().unwrap();
        let v2 = mp.v2().unwrap();
        let via_v1 = mp1.backend_for(Operation::Search).unwrap();
        let via_v2 = mp.backend_for(Operation::Search).unwrap();
        let info_v1 = mp1.backend_for(Operation::Info).unwrap();
        let info_v2 = mp.backend_for(Operation::Info).unwrap();
        let fallback = mp_down.backend_for(Operation::Search).unwrap();
        for _ in 0..12 {
            fallback.search(&query).unwrap();
        }
        assert_eq!(fallback.last_used(), BackendKind::V1);
        assert_eq!(
            serde_json::to_value(mp_down.breaker(BackendKind::V2).state()).unwrap(),
            "open"
        );

        let mut g = c.benchmark_group("adapter-1k");
        g.bench_function("search v1 direct", |b| {
            b.iter(|| v1.search(&query).unwrap())
        });
        g.bench_function("search v1 via marketplace (v1)", |b| {
            b.iter(|| via_v1.search(&query).unwrap())
        });
        g.bench_function("search v2 direct", |b| {
            b.iter(|| v2.search(&query).unwrap())
        });
        g.bench_function("search v2 via marketplace (v2 + fallback)", |b| {
            b.iter(|| via_v2.search(&query).unwrap())
        });
        g.bench_function("search fallback to v1, v2 circuit open", |b| {
            b.iter(|| fallback.search(&query).unwrap())
        });
        g.bench_function("info v1 direct", |b| b.iter(|| v1.package(&name).unwrap()));
        g.bench_function("info v1 via marketplace (v1)", |b| {
            b.iter(|| info_v1.package(&name).unwrap())
        });
        g.bench_function("info v2 direct", |b| b.iter(|| v2.package(&name).unwrap()));
        g.bench_function("info v2 via marketplace (v2 + fallback)", |b| {
            b.iter(|| info_v2.package(&name).unwrap())
        });
        g.finish();
    }
}

#[cfg(feature = "marketplace-parallel")]
criterion::criterion_group!(benches, bench::adapter);
#[cfg(feature = "marketplace-parallel")]
criterion::criterion_main!(benches);

#[cfg(not(feature = "marketplace-parallel"))]
fn main() {
    eprintln!("the adapter benchmark needs both backends (feature marketplace-parallel)");
}
