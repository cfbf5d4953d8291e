//! A deterministic generator of realistic catalogues for benchmarks and scale
//! tests: names built from a natural vocabulary, descriptions, categories, tags,
//! keywords, several versions per package and dependency graphs with semver
//! ranges that always point at existing, older packages (so they resolve).
//!
//! The same `(count, seed)` always gives the same catalogue.

use chrono::{DateTime, Duration, Utc};
use semver::{Version, VersionReq};

use ggen_marketplace_core::model::{Dependency, Package, PackageVersion};

use crate::Rng;

const WORDS: &[&str] = &[
    "rust",
    "cli",
    "web",
    "api",
    "service",
    "graph",
    "query",
    "template",
    "starter",
    "async",
    "http",
    "server",
    "client",
    "database",
    "schema",
    "ontology",
    "sparql",
    "rdf",
    "json",
    "yaml",
    "config",
    "logging",
    "metrics",
    "tracing",
    "auth",
    "token",
    "cache",
    "queue",
    "stream",
    "batch",
    "pipeline",
    "etl",
    "report",
    "chart",
    "dashboard",
    "admin",
    "crud",
    "form",
    "table",
    "search",
    "index",
    "parser",
    "lexer",
    "compiler",
    "codegen",
    "macro",
    "plugin",
    "workflow",
    "agent",
    "model",
    "vector",
    "embedding",
    "latex",
    "paper",
    "thesis",
    "bibtex",
    "citation",
    "docker",
    "kubernetes",
    "helm",
    "terraform",
    "ci",
    "github",
    "actions",
    "release",
    "test",
    "bench",
    "fuzz",
    "lint",
    "format",
    "docs",
    "book",
    "site",
    "blog",
    "shop",
    "payment",
    "invoice",
    "ledger",
    "bank",
    "trading",
    "health",
    "patient",
    "clinic",
    "fhir",
    "hl7",
    "inventory",
    "order",
    "shipping",
    "python",
    "typescript",
    "react",
    "nextjs",
    "vue",
    "svelte",
    "go",
    "java",
    "kotlin",
    "swift",
    "wasm",
];

const CATEGORIES: &[&str] = &[
    "starter",
    "rust",
    "web",
    "api",
    "devops",
    "ci",
    "docker",
    "academic",
    "rdf",
    "python",
    "tooling",
    "data",
    "finance",
    "healthcare",
    "ai",
];

const PHRASES: &[&str] = &[
    "production-ready",
    "minimal",
    "opinionated",
    "batteries-included",
    "lightweight",
    "extensible",
    "type-safe",
    "well-tested",
    "documented",
];

#[derive(Debug, Clone, Copy)]
pub struct CorpusSpec {
    pub packages: usize,
    pub seed: u64,
    /// Versions per package: between `min_versions` and `max_versions`.
    pub min_versions: usize,
    pub max_versions: usize,
    pub max_dependencies: usize,
}

impl CorpusSpec {
    pub fn new(packages: usize) -> Self {
        Self {
            packages,
            seed: 42,
            min_versions: 1,
            max_versions: 5,
            max_dependencies: 3,
        }
    }
}

/// The name of package `i`: two or three vocabulary words and, past the point
/// where word pairs run out, a number (`rust-cli`, `graph-query-api-417`).
pub fn package_name(i: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let words = 2 + rng.below(2);
    let mut parts: Vec<&str> = (0..words).map(|_| rng.pick(WORDS)).collect();
    parts.dedup();
    format!("{}-{i}", parts.join("-"))
}

pub fn generate(spec: &CorpusSpec) -> Vec<Package> {
    let mut rng = Rng::new(spec.seed);
    let epoch: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().expect("valid");
    let mut packages: Vec<Package> = Vec::with_capacity(spec.packages);
    for i in 0..spec.packages {
        let name = package_name(i, spec.seed);
        let category = rng.pick(CATEGORIES).to_string();
        let topic: Vec<&str> = name
            .split('-')
            .filter(|w| w.parse::<u64>().is_err())
            .collect();
        let tags: Vec<String> = (0..1 + rng.below(4))
            .map(|_| rng.pick(WORDS).to_string())
            .chain(topic.iter().map(|s| s.to_string()))
            .take(5)
            .collect();
        let keywords: Vec<String> = (0..rng.below(4))
            .map(|_| rng.pick(WORDS).to_string())
            .collect();
        let lo = spec.min_versions.clamp(1, spec.max_versions.max(1));
        let n_versions = lo + rng.below(spec.max_versions.max(1) - lo + 1);
        let downloads = rng.next_u64() % 100_000;
        let mut versions = Vec::with_capacity(n_versions);
        for v in 0..n_versions {
            let version = Version::new(
                if v >= 3 { 2 } else { 1 },
                v as u64 % 3,
                rng.below(3) as u64,
            );
            if versions
                .iter()
                .any(|x: &PackageVersion| x.version == version)
            {
                continue;
            }
            let mut pv = PackageVersion::new(name.clone(), version);
            pv.description = format!(
                "A {} {} template for {} {} projects with {} and {}",
                rng.pick(PHRASES),
                topic.join(" "),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.pick(WORDS)
            );
            pv.category = Some(category.clone());
            pv.tags = tags.clone();
            pv.keywords = keywords.clone();
            pv.authors = vec![format!("author{}@example.com", rng.below(500))];
            pv.license = Some(["MIT", "Apache-2.0", "MIT OR Apache-2.0"][rng.below(3)].into());
            pv.repository = Some(format!("https://example.com/{name}"));
            pv.published_at = Some(epoch + Duration::hours((i * 7 + v * 13) as i64));
            // Dependencies on older packages, with ranges their versions satisfy.
            if i > 0 {
                for _ in 0..rng.below(spec.max_dependencies + 1) {
                    let dep = &packages[rng.below(i)];
                    if pv.dependencies.iter().any(|d| d.name == dep.name) {
                        continue;
                    }
                    let target = &dep.versions[rng.below(dep.versions.len())].version;
                    let req = match rng.below(3) {
                        0 => format!("^{}.{}", target.major, target.minor),
                        1 => format!("~{}.{}.0", target.major, target.minor),
                        _ => format!(">={}.0.0, <{}.0.0", target.major, target.major + 1),
                    };
                    let mut d = Dependency::new(
                        dep.name.clone(),
                        VersionReq::parse(&req).expect("valid range"),
                    );
                    d.optional = rng.below(10) == 0;
                    pv.dependencies.push(d);
                }
            }
            let fake = format!("{name}@{}", pv.version);
            pv.checksum = Some(ggen_marketplace_core::checksum::sha256_hex(fake.as_bytes()));
            pv.size = Some(1024 + rng.below(64 * 1024) as u64);
            versions.push(pv);
        }
        versions.sort_by(|a, b| a.version.cmp(&b.version));
        packages.push(Package {
            name,
            downloads,
            stars: downloads / 100,
            versions,
        });
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_valid() {
        let a = generate(&CorpusSpec::new(300));
        let b = generate(&CorpusSpec::new(300));
        assert_eq!(a, b);
        let names: std::collections::BTreeSet<_> = a.iter().map(|p| p.name.clone()).collect();
        assert_eq!(names.len(), 300, "names are unique");
        for p in &a {
            ggen_marketplace_core::name::validate_name(&p.name).unwrap();
            for v in &p.versions {
                for d in &v.dependencies {
                    let dep = a.iter().find(|x| x.name == d.name).unwrap();
                    assert!(
                        dep.versions.iter().any(|x| d.req.matches(&x.version)),
                        "{} {} unsatisfiable",
                        d.name,
                        d.req
                    );
                }
            }
        }
    }
}
