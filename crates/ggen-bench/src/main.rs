//! `ggen-bench`: per-operation latency percentiles of the V1 and V2 backends on
//! generated catalogues.
//!
//! ```text
//! cargo run --release -p ggen-bench -- --sizes 1000,10000 [--json]
//! ```
//!
//! For each size it writes a V1 registry (index.json + tantivy) and imports
//! the same packages into an embedded V2 store (RocksDB), then times every
//! operation `--iterations` times per query and prints p50/p95/p99 and
//! throughput. "first" is the first call after opening the backend in this
//! process (index loading included); the percentiles are warm calls. The
//! `v2-sparql` rows are the naive baselines (see `baseline.rs`): a SPARQL
//! `CONTAINS` filter over every description, and graph queries for info and
//! versions, which is what the term index and its package records exist to
//! avoid; `--pyoxigraph` runs the same queries in pyoxigraph.
//!
//! Optional groups: `--dual` (the same reads through the routing layer under
//! each strategy), `--remote` (V2 over `oxigraph serve`), `--process` (whole
//! `ggen marketplace search` processes with their peak memory, and a timed
//! `migrate`), `--publish` (whole `ggen marketplace publish` processes into
//! each size's registry), `--signing` and `--install`. `--all` turns them all
//! on.

mod baseline;
mod dual;
mod eval;
mod process;
mod remote;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use ggen_marketplace_core::MarketplaceBackend;
use ggen_marketplace_core::model::Package;
use ggen_marketplace_core::resolve::{ResolveOptions, resolve_backend};
use ggen_marketplace_core::search::{SearchQuery, SortOrder};
use ggen_marketplace_v1::V1Backend;
use ggen_marketplace_v1::index::IndexFile;
use ggen_marketplace_v2::V2Backend;
use ggen_test_support::corpus::{CorpusSpec, generate, package_name};
use serde::Serialize;

#[derive(Parser)]
#[command(
    version,
    about = "Latency percentiles of marketplace operations on generated catalogues"
)]
struct Args {
    /// Catalogue sizes (packages), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    sizes: Vec<usize>,
    /// Timed calls per operation and query.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "v1,v2")]
    backends: Vec<String>,
    /// Skip the hand-rolled SPARQL baselines (`v2-sparql` rows: a `CONTAINS`
    /// scan for search, which is slow at 100k, and graph queries for info and
    /// versions).
    #[arg(long)]
    no_baseline: bool,
    /// Also run the baselines' queries in pyoxigraph (Python) over the same
    /// store, opened read-only (`pip install 'pyoxigraph>=0.5,<0.6'`).
    #[arg(long, conflicts_with = "no_baseline")]
    pyoxigraph: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also time signing, verification and publishing a 1 MiB package into each
    /// backend (reported with packages = 0: they do not depend on catalogue size).
    #[arg(long)]
    signing: bool,
    /// Also time dependency resolution on 1,000 packages with 5 versions each
    /// (the root with the largest dependency closure), and a whole
    /// `ggen marketplace install` of a 20-package tree with real archives (runs
    /// the release `ggen` next to this binary: `cargo build --release -p ggen-cli`).
    #[arg(long)]
    install: bool,
    /// Also time search and info through the routing layer (DualBackendAdapter,
    /// circuit breakers, instrumentation) under each strategy: v1, v2 with
    /// fallback, ab-test at 50%, compare.
    #[arg(long)]
    dual: bool,
    /// Also time every operation against V2 on a real SPARQL endpoint
    /// (`oxigraph serve` on loopback, loaded with `oxigraph load`; needs
    /// `pip install oxigraph`), and how a write through a second client of
    /// that endpoint reaches the first (the `sync:` rows, one sample per
    /// write, at most 20 writes).
    #[arg(long)]
    remote: bool,
    /// Also time whole `ggen marketplace search` processes (with their peak
    /// memory) and one `ggen marketplace migrate` per size (runs the release
    /// `ggen` next to this binary: `cargo build --release -p ggen-cli`).
    #[arg(long)]
    process: bool,
    /// Whole-process runs per backend for `--process`.
    #[arg(long, default_value_t = 20)]
    process_runs: usize,
    /// Also time whole `ggen marketplace publish` processes of a small
    /// package into each size's registry, per backend, after its other rows
    /// (a new version each run; runs the release `ggen` next to this binary).
    #[arg(long)]
    publish: bool,
    /// Whole-process runs per backend for `--publish`.
    #[arg(long, default_value_t = 10)]
    publish_runs: usize,
    /// All of --dual, --remote, --process, --publish, --signing and --install.
    #[arg(long)]
    all: bool,
    /// Measure search quality instead of speed: NDCG@10 and MRR@10 of V1 and
    /// V2 on the graded queries of this judgments file (see `eval.rs`), over
    /// the registry given by --eval-registry.
    #[arg(long, value_name = "FILE", requires = "eval_registry")]
    eval: Option<std::path::PathBuf>,
    /// A V1 registry directory (its `index.json`) to evaluate --eval on, e.g.
    /// a copy of ggen's public registry.
    #[arg(long, value_name = "DIR")]
    eval_registry: Option<std::path::PathBuf>,
    /// Keep the generated registries here instead of a temporary directory.
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

#[derive(Serialize)]
struct Row {
    packages: usize,
    backend: String,
    operation: String,
    calls: usize,
    first_us: f64,
    p50_us: f64,
    p95_us: f64,
    p99_us: f64,
    ops_per_sec: f64,
    /// Peak resident set size of the process that ran the operation (the
    /// whole-process rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_rss_kib: Option<u64>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1e6
}

/// One generated catalogue at one size, built in `registry`, with the
/// scratch directory its rows may use and how often to repeat each call.
#[derive(Clone, Copy)]
struct Catalogue<'a> {
    n: usize,
    root: &'a Path,
    registry: &'a Path,
    corpus: &'a [Package],
    iterations: usize,
}

/// Times `f` once cold, then `iterations` times warm.
fn measure(
    packages: usize,
    backend: &str,
    operation: &str,
    iterations: usize,
    mut f: impl FnMut(),
) -> Row {
    let t = Instant::now();
    f();
    let first = t.elapsed();
    let mut samples = Vec::with_capacity(iterations);
    let total = Instant::now();
    for _ in 0..iterations {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    Row::from_samples(
        packages,
        backend,
        operation,
        first,
        samples,
        total.elapsed(),
    )
}

impl Row {
    /// A row from a cold first call and the warm `samples`, which took
    /// `total` together (calls per second counts the warm ones).
    fn from_samples(
        packages: usize,
        backend: &str,
        operation: &str,
        first: Duration,
        mut samples: Vec<Duration>,
        total: Duration,
    ) -> Row {
        samples.sort();
        Row {
            packages,
            backend: backend.into(),
            operation: operation.into(),
            calls: samples.len(),
            first_us: first.as_secs_f64() * 1e6,
            p50_us: percentile(&samples, 0.50),
            p95_us: percentile(&samples, 0.95),
            p99_us: percentile(&samples, 0.99),
            ops_per_sec: samples.len() as f64 / total.as_secs_f64(),
            peak_rss_kib: None,
        }
    }
}

/// The query set: one per kind of search users type.
fn queries(n: usize) -> Vec<(&'static str, SearchQuery)> {
    let exact = package_name(n / 2, 42);
    let mut filtered = SearchQuery::text("template");
    filtered.category = Some("web".into());
    let mut by_downloads = SearchQuery::text("rust");
    by_downloads.sort = SortOrder::Downloads;
    vec![
        ("search exact-name", SearchQuery::text(exact)),
        ("search one-word", SearchQuery::text("graph")),
        ("search multi-word", SearchQuery::text("rust web service")),
        ("search prefix", SearchQuery::text("dashb")),
        ("search typo", SearchQuery::text("grpah qeury")),
        ("search category filter", filtered),
        ("search sort downloads", by_downloads),
        ("search no-hit", SearchQuery::text("zzzzqqq")),
    ]
}

/// The 64 packages the `info` and `versions` rows cycle through.
fn sample_names(corpus: &[Package]) -> Vec<&str> {
    (0..64)
        .map(|i| corpus[(i * 7919) % corpus.len()].name.as_str())
        .collect()
}

fn run_backend(
    n: usize,
    label: &str,
    b: &dyn MarketplaceBackend,
    corpus: &[Package],
    iterations: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    for (op, q) in queries(n) {
        // Fail loudly rather than time errors.
        b.search(&q).with_context(|| format!("{label} {op}"))?;
        rows.push(measure(n, label, op, iterations, || {
            b.search(&q).expect("search");
        }));
    }
    let names = sample_names(corpus);
    let mut i = 0;
    rows.push(measure(n, label, "info", iterations, || {
        b.package(names[i % names.len()]).expect("info");
        i += 1;
    }));
    rows.push(measure(n, label, "versions", iterations, || {
        b.versions(names[i % names.len()]).expect("versions");
        i += 1;
    }));
    // Resolution of a package with the deepest dependency graph we can find cheaply.
    let root = corpus
        .iter()
        .rev()
        .find(|p| !p.latest().dependencies.is_empty())
        .unwrap_or(&corpus[0]);
    let roots = vec![(root.name.clone(), semver::VersionReq::STAR)];
    let opts = ResolveOptions::default();
    resolve_backend(b, &roots, &opts).with_context(|| format!("{label} resolve {}", root.name))?;
    rows.push(measure(n, label, "resolve", iterations.min(50), || {
        resolve_backend(b, &roots, &opts).expect("resolve");
    }));
    rows.push(measure(n, label, "list", iterations.clamp(1, 10), || {
        b.list().expect("list");
    }));
    Ok(())
}

fn build_v1(dir: &Path, corpus: &[Package]) -> Result<V1Backend> {
    std::fs::create_dir_all(dir)?;
    let file = IndexFile::from_packages(corpus, "bench", 1);
    std::fs::write(dir.join("index.json"), file.to_json())?;
    let v1 = V1Backend::open(dir)?;
    v1.rebuild_index()?;
    Ok(v1)
}

fn build_v2(dir: &Path, corpus: &[Package]) -> Result<()> {
    let v2 = V2Backend::open_embedded(dir)?;
    let releases = corpus
        .iter()
        .flat_map(|p| p.versions.iter().map(|v| Ok((v.clone(), None))));
    let counters = corpus
        .iter()
        .map(|p| (p.name.clone(), (p.downloads, p.stars)))
        .collect();
    v2.import_stream(releases, &counters)?;
    Ok(())
}

fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.all {
        (
            args.dual,
            args.remote,
            args.process,
            args.publish,
            args.signing,
            args.install,
        ) = (true, true, true, true, true, true);
    }
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    if let (Some(judgments), Some(registry)) = (&args.eval, &args.eval_registry) {
        let rows = eval::run(judgments, registry, &root)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            eval::print(&rows);
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    let mut setup: BTreeMap<String, f64> = BTreeMap::new();
    for &n in &args.sizes {
        eprintln!("generating {n} packages ...");
        let corpus = generate(&CorpusSpec::new(n));
        let dir = root.join(format!("registry-{n}"));
        if args.backends.iter().any(|b| b == "v1") {
            let t = Instant::now();
            drop(build_v1(&dir, &corpus)?);
            setup.insert(format!("v1 build {n}"), t.elapsed().as_secs_f64());
            let v1 = V1Backend::open(&dir)?;
            eprintln!("measuring v1 at {n} ...");
            run_backend(n, "v1", &v1, &corpus, args.iterations, &mut rows)?;
        }
        if args.backends.iter().any(|b| b == "v2") {
            let t = Instant::now();
            build_v2(&dir, &corpus)?;
            setup.insert(format!("v2 import {n}"), t.elapsed().as_secs_f64());
            let v2 = V2Backend::open_embedded(&dir)?;
            eprintln!("measuring v2 at {n} ...");
            run_backend(n, "v2", &v2, &corpus, args.iterations, &mut rows)?;
        }
        let catalogue = Catalogue {
            n,
            root: &root,
            registry: &dir,
            corpus: &corpus,
            iterations: args.iterations,
        };
        if !args.no_baseline && args.backends.iter().any(|b| b == "v2") {
            eprintln!("measuring the hand-rolled SPARQL baselines at {n} ...");
            baseline::rows(catalogue, args.pyoxigraph, &mut rows)?;
        }
        let both = ["v1", "v2"]
            .iter()
            .all(|b| args.backends.iter().any(|x| x == b));
        if args.dual && both {
            eprintln!("measuring the routing layer at {n} ...");
            dual::rows(catalogue, &mut rows)?;
        }
        if args.remote && args.backends.iter().any(|b| b == "v2") {
            eprintln!("measuring v2 over oxigraph serve at {n} ...");
            remote::rows(catalogue, &mut setup, &mut rows)?;
        }
        if args.process && both {
            eprintln!("measuring whole processes at {n} ...");
            process::search_rows(n, &root, &dir, args.process_runs, &mut rows)?;
            process::migrate_row(n, &root, &corpus, &mut rows)?;
        }
        if args.publish && both {
            eprintln!("measuring whole publish processes at {n} ...");
            process::publish_rows(n, &root, &dir, args.publish_runs, &mut rows)?;
        }
    }
    if args.signing {
        eprintln!("measuring signing and publishing ...");
        signing_rows(&root, &args, &mut rows)?;
    }
    if args.install {
        eprintln!("measuring resolution on 1000x5 and installing a 20-package tree ...");
        install_rows(&root, &args, &mut rows)?;
    }
    let peak_kib = peak_rss_kib();
    if args.json {
        let out =
            serde_json::json!({ "rows": rows, "setup_seconds": setup, "peak_rss_kib": peak_kib });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{:>7}  {:<17} {:<28} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "pkgs",
        "backend",
        "operation",
        "first µs",
        "p50 µs",
        "p95 µs",
        "p99 µs",
        "ops/s",
        "peak MiB"
    );
    for r in &rows {
        println!(
            "{:>7}  {:<17} {:<28} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>9}",
            r.packages,
            r.backend,
            r.operation,
            r.first_us,
            r.p50_us,
            r.p95_us,
            r.p99_us,
            r.ops_per_sec,
            r.peak_rss_kib
                .map(|k| format!("{:.1}", k as f64 / 1024.0))
                .unwrap_or_default()
        );
    }
    for (k, v) in &setup {
        println!("setup: {k}: {v:.2} s");
    }
    if let Some(kib) = peak_kib {
        println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}

/// Ed25519 sign and verify of a 1 MiB archive (hashing included), and a full
/// publish of a new 1 MiB version into each backend (checksum, archive write,
/// index update, fsyncs).
fn signing_rows(root: &Path, args: &Args, rows: &mut Vec<Row>) -> Result<()> {
    use ggen_marketplace_core::checksum::sha256_hex;
    use ggen_marketplace_core::model::PackageVersion;
    use ggen_marketplace_core::signing;

    // A real package archive (publish checks it as an installer would) holding
    // 1 MiB of incompressible bytes.
    let mut rng = ggen_test_support::Rng::new(7);
    let content: Vec<u8> = (0..1 << 20).map(|_| rng.next_u64() as u8).collect();
    let src = root.join("publish-src");
    std::fs::create_dir_all(&src)?;
    std::fs::write(src.join("blob.bin"), &content)?;
    let archive = ggen_marketplace_core::archive::pack_dir(&src)?;
    let key = signing::generate_keypair()?;
    let version = semver::Version::new(1, 0, 0);
    let now = chrono::Utc::now();
    let sig = signing::sign_archive(&key, "bench-signed", &version, &archive, now)?;
    let n = args.iterations.min(100);
    rows.push(measure(0, "core", "sign 1 MiB", n, || {
        signing::sign_archive(&key, "bench-signed", &version, &archive, now).expect("sign");
    }));
    rows.push(measure(0, "core", "verify 1 MiB", n, || {
        signing::verify(&sig, "bench-signed", &version, &archive).expect("verify");
    }));
    // The signature check alone, the archive's digest already known (as when
    // it was checked on download): Ed25519 over the statement, and its parsing.
    let digest = sha256_hex(&archive);
    let size = archive.len() as u64;
    rows.push(measure(0, "core", "verify (digest known)", n * 10, || {
        signing::verify_digest(&sig, "bench-signed", &version, &digest, size).expect("verify");
    }));

    let release = |patch: u64| {
        let mut v = PackageVersion::new("bench-publish", semver::Version::new(1, 0, patch));
        v.description = "A 1 MiB package published by the benchmark".into();
        v.checksum = Some(sha256_hex(&archive));
        v
    };
    let backends: Vec<(&str, Box<dyn MarketplaceBackend>)> = {
        let mut b: Vec<(&str, Box<dyn MarketplaceBackend>)> = Vec::new();
        if args.backends.iter().any(|x| x == "v1") {
            b.push((
                "v1",
                Box::new(V1Backend::create(root.join("publish-v1"), "bench")?),
            ));
        }
        if args.backends.iter().any(|x| x == "v2") {
            b.push((
                "v2",
                Box::new(V2Backend::open_embedded(root.join("publish-v2"))?),
            ));
        }
        b
    };
    for (label, backend) in &backends {
        let mut patch = 0;
        rows.push(measure(0, label, "publish 1 MiB", n.min(30), || {
            backend.publish(&release(patch), &archive).expect("publish");
            patch += 1;
        }));
    }
    Ok(())
}

/// Peak resident set size from /proc (Linux); `None` elsewhere.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resolution on a generated graph of 1,000 packages with exactly 5 versions
/// each (ranges `^`, `~` and `>=, <` over real versions), from the root whose
/// closure is largest; then whole-process installs of a 20-package binary tree
/// (package i depends on 2i+1 and 2i+2) whose archives hold 12 files of 4 KiB.
fn install_rows(root: &Path, args: &Args, rows: &mut Vec<Row>) -> Result<()> {
    use ggen_marketplace_core::checksum::sha256_hex;
    use ggen_marketplace_core::model::{Dependency, PackageVersion};

    let spec = CorpusSpec {
        min_versions: 5,
        max_versions: 5,
        ..CorpusSpec::new(1000)
    };
    let corpus = generate(&spec);
    let dir = root.join("resolve-1000x5");
    let v1 = build_v1(&dir, &corpus)?;
    build_v2(&dir, &corpus)?;
    let v2 = V2Backend::open_embedded(&dir)?;
    let opts = ResolveOptions::default();
    let (best, size) = corpus
        .iter()
        .filter_map(|p| {
            let roots = [(p.name.clone(), semver::VersionReq::STAR)];
            resolve_backend(&v1, &roots, &opts)
                .ok()
                .map(|r| (p.name.clone(), r.packages.len()))
        })
        .max_by_key(|(_, n)| *n)
        .context("no package resolves")?;
    eprintln!("resolution root {best}: {size} packages in its closure");
    let roots = vec![(best.clone(), semver::VersionReq::STAR)];
    for (label, b) in [("v1", &v1 as &dyn MarketplaceBackend), ("v2", &v2)] {
        rows.push(measure(
            1000,
            label,
            &format!("resolve 1000x5 ({size} pkgs)"),
            args.iterations.min(100),
            || {
                resolve_backend(b, &roots, &opts).expect("resolve");
            },
        ));
    }
    drop(v2);

    // The 20-package tree, published into both backends of a registry.
    let home = root.join("install-home");
    let registry = home.join("registry");
    let mut releases = Vec::new();
    let mut rng = ggen_test_support::Rng::new(11);
    for i in 0..20usize {
        let src = root.join(format!("tree-src/tree-{i:02}"));
        std::fs::create_dir_all(src.join("templates"))?;
        std::fs::write(
            src.join("gpack.toml"),
            format!(
                "[package]\nname = \"tree-{i:02}\"\nversion = \"1.0.0\"\ndescription = \"bench\"\n"
            ),
        )?;
        for f in 0..12 {
            let text: String = (0..4096)
                .map(|_| (b'a' + (rng.next_u64() % 26) as u8) as char)
                .collect();
            std::fs::write(src.join(format!("templates/file-{f}.txt")), text)?;
        }
        let archive = ggen_marketplace_core::archive::pack_dir(&src)?;
        let mut v = PackageVersion::new(format!("tree-{i:02}"), semver::Version::new(1, 0, 0));
        v.checksum = Some(sha256_hex(&archive));
        v.size = Some(archive.len() as u64);
        v.published_at = Some(chrono::Utc::now());
        for child in [2 * i + 1, 2 * i + 2].into_iter().filter(|c| *c < 20) {
            v.dependencies.push(Dependency {
                name: format!("tree-{child:02}"),
                req: "^1".parse()?,
                optional: false,
            });
        }
        releases.push((v, archive));
    }
    V1Backend::create(&registry, "bench")?.publish_many(&releases)?;
    V2Backend::open_embedded(&registry)?.publish_many(&releases)?;
    let ggen = process::ggen_binary()?;
    let mut n = 0;
    for backend in ["v1", "v2"] {
        let mut fail = None;
        rows.push(measure(
            20,
            backend,
            "install 20-pkg tree (process)",
            20,
            || {
                n += 1;
                let out = std::process::Command::new(&ggen)
                    .args([
                        "marketplace",
                        "install",
                        "tree-00",
                        "--backend",
                        backend,
                        "--target",
                    ])
                    .arg(root.join(format!("install-target-{n}")))
                    .env("GGEN_HOME", &home)
                    .env("GGEN_CONFIG_DIR", home.join("config"))
                    .env("GGEN_USER_ID", "bench")
                    .output()
                    .expect("run ggen");
                if !out.status.success() && fail.is_none() {
                    fail = Some(String::from_utf8_lossy(&out.stderr).into_owned());
                }
            },
        ));
        if let Some(e) = fail {
            anyhow::bail!("install through {backend} failed: {e}");
        }
    }
    let target = root.join("install-target-1");
    let installed = std::fs::read_dir(&target)?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("tree-"))
        .count();
    anyhow::ensure!(
        installed == 20 && target.join("ggen.lock").is_file(),
        "expected 20 packages and ggen.lock in {}, found {installed} packages",
        target.display()
    );
    Ok(())
}
