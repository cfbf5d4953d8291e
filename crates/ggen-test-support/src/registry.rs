//! Synthetic registries for resolver tests and benchmarks.

use std::collections::{BTreeMap, BTreeSet};

use ggen_marketplace_core::model::{Package, PackageVersion};
use semver::Version;

/// A reproducible registry of `packages` packages with `versions` versions each
/// (`0.9.0`, `1.0.0`, `1.1.0`, `1.2.0`, `2.0.0`, `2.1.0`, ...), for tests and
/// benchmarks. Package `pkg-NNNNN` depends only on higher-numbered packages (no
/// cycles) with caret, tilde, `>=` and bounded-range requirements, so some
/// requirements conflict and the solver must backtrack; a few versions are
/// yanked. The oldest version of every package has no dependencies and is never
/// yanked, so requiring any package with `*` is always solvable.
pub fn synthetic_registry(
    packages: usize,
    versions: usize,
    seed: u64,
) -> BTreeMap<String, Package> {
    let mut rng = crate::Rng::new(seed);
    let mut next = move |bound: usize| rng.below(bound.max(1));
    let version_at = |k: usize| {
        if k == 0 {
            Version::new(0, 9, 0)
        } else {
            Version::new(1 + (k as u64 - 1) / 3, (k as u64 - 1) % 3, 0)
        }
    };
    let versions = versions.max(1);
    let name = |i: usize| format!("pkg-{i:05}");
    let mut registry = BTreeMap::new();
    for i in 0..packages {
        let mut pvs = Vec::with_capacity(versions);
        for k in 0..versions {
            let mut pv = PackageVersion::new(name(i), version_at(k));
            if k > 0 {
                pv.yanked = next(20) == 0;
                let fanout = next(4);
                let mut seen = BTreeSet::new();
                for _ in 0..fanout {
                    if i + 1 >= packages {
                        break;
                    }
                    let j = i + 1 + next((packages - i - 1).min(40));
                    if !seen.insert(j) {
                        continue;
                    }
                    let t = version_at(next(versions));
                    let req = match next(10) {
                        0 => format!("~{}.{}", t.major, t.minor),
                        1 => format!(">={t}"),
                        2 => format!(">={t}, <{}", t.major + 1),
                        _ => format!("^{}.{}", t.major, t.minor),
                    };
                    let mut dep = ggen_marketplace_core::model::Dependency::new(
                        name(j),
                        req.parse().expect("generated requirement"),
                    );
                    dep.optional = next(10) == 0;
                    pv.dependencies.push(dep);
                }
            }
            pvs.push(pv);
        }
        registry.insert(
            name(i),
            Package {
                name: name(i),
                downloads: 0,
                stars: 0,
                versions: pvs,
            },
        );
    }
    registry
}
