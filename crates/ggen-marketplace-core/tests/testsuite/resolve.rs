//! Dependency resolution against hand-built in-memory registries.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use ggen_marketplace_core::resolve::{
    PackageSource, Resolution, ResolveError, ResolveOptions, resolve,
};
use ggen_marketplace_core::{Dependency, Hint, MarketplaceError, Package, PackageVersion, Result};
use ggen_test_support::synthetic_registry;
use semver::{Version, VersionReq};

/// `versions`: `(version, yanked, deps)` with deps as `"name req"` or
/// `"name req optional"`.
#[derive(Default)]
struct Registry {
    packages: BTreeMap<String, Package>,
    fetches: RefCell<HashMap<String, usize>>,
}

impl Registry {
    fn new() -> Self {
        Self::default()
    }

    fn add(&mut self, name: &str, version: &str, deps: &[&str]) -> &mut Self {
        self.add_full(name, version, false, deps)
    }

    fn yanked(&mut self, name: &str, version: &str, deps: &[&str]) -> &mut Self {
        self.add_full(name, version, true, deps)
    }

    /// Several versions of `name`, each with the same `deps`.
    fn versions(&mut self, name: &str, versions: &[&str], deps: &[&str]) -> &mut Self {
        for version in versions {
            self.add(name, version, deps);
        }
        self
    }

    /// Versions of `name` that depend on nothing.
    fn leaf(&mut self, name: &str, versions: &[&str]) -> &mut Self {
        self.versions(name, versions, &[])
    }

    fn add_full(&mut self, name: &str, version: &str, yanked: bool, deps: &[&str]) -> &mut Self {
        let mut pv = PackageVersion::new(name, version.parse().unwrap());
        pv.yanked = yanked;
        for dep in deps {
            let (dep_name, rest) = dep.split_once(' ').unwrap_or((dep, "*"));
            let (req, optional) = match rest.strip_suffix(" optional") {
                Some(req) => (req, true),
                None => (rest, false),
            };
            let mut d = Dependency::new(dep_name, req.parse().unwrap());
            d.optional = optional;
            pv.dependencies.push(d);
        }
        let package = self
            .packages
            .entry(name.to_string())
            .or_insert_with(|| Package {
                name: name.to_string(),
                downloads: 0,
                stars: 0,
                versions: Vec::new(),
            });
        package.versions.push(pv);
        package.sort_versions();
        self
    }
}

impl PackageSource for Registry {
    fn package(&self, name: &str) -> Result<Option<Package>> {
        *self
            .fetches
            .borrow_mut()
            .entry(name.to_string())
            .or_default() += 1;
        self.packages.package(name)
    }
}

fn roots(list: &[(&str, &str)]) -> Vec<(String, VersionReq)> {
    list.iter()
        .map(|(n, r)| (n.to_string(), r.parse().unwrap()))
        .collect()
}

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

fn chosen(res: &Resolution) -> Vec<String> {
    res.order
        .iter()
        .map(|n| format!("{n}@{}", res.packages[n].version))
        .collect()
}

/// Every followed requirement holds, dependencies come first, nothing yanked
/// unless locked.
fn assert_valid(res: &Resolution, options: &ResolveOptions) {
    assert_eq!(res.order.len(), res.packages.len());
    let pos: HashMap<&str, usize> = res
        .order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    for (name, pv) in &res.packages {
        assert!(
            !pv.yanked || options.locked.get(name) == Some(&pv.version),
            "{name} {} is yanked",
            pv.version
        );
        for dep in &pv.dependencies {
            if dep.optional && !options.include_optional {
                continue;
            }
            let got = res
                .packages
                .get(&dep.name)
                .unwrap_or_else(|| panic!("{name} needs {} which is not resolved", dep.name));
            assert!(
                dep.req.matches(&got.version),
                "{name} {} needs {} {} but got {}",
                pv.version,
                dep.name,
                dep.req,
                got.version
            );
            assert!(
                pos[dep.name.as_str()] < pos[name.as_str()],
                "order: {:?}",
                res.order
            );
            assert!(res.edges[name].contains(&dep.name));
        }
    }
}

fn must_fail(reg: &Registry, r: &[(&str, &str)], options: &ResolveOptions) -> ResolveError {
    match resolve(reg, &roots(r), options) {
        Ok(res) => panic!("expected an error, resolved {:?}", chosen(&res)),
        Err(e) => {
            println!("--- error ---\n{e}\nhint: {:?}", e.hint());
            e
        }
    }
}

/// Resolving `r` must end in a conflict: its explanation, and the whole message.
fn must_conflict(reg: &Registry, r: &[(&str, &str)]) -> (String, String) {
    let e = must_fail(reg, r, &ResolveOptions::default());
    let ResolveError::Conflict { explanation } = &e else {
        panic!("expected a conflict, got {e:?}");
    };
    (explanation.clone(), e.to_string())
}

#[test]
fn three_deep_chain_picks_highest_compatible() {
    let mut reg = Registry::new();
    reg.versions("app", &["1.0.0", "1.4.0"], &["lib ^1.2"])
        .add("app", "2.0.0", &["lib ^2"])
        .versions("lib", &["1.1.0", "1.2.0"], &["core ~0.3.1"])
        .add("lib", "1.3.5", &["core >=0.3.1, <0.4"])
        .add("lib", "2.0.0", &["core ^0.4"])
        .leaf(
            "core",
            &["0.3.0", "0.3.1", "0.3.9", "0.4.0", "0.4.1-beta.1"],
        );
    let options = ResolveOptions::default();
    let res = resolve(&reg, &roots(&[("app", "^1")]), &options).unwrap();
    assert_eq!(chosen(&res), ["core@0.3.9", "lib@1.3.5", "app@1.4.0"]);
    assert_eq!(res.edges["app"], ["lib"]);
    assert_eq!(res.edges["core"], Vec::<String>::new());
    assert_valid(&res, &options);

    // Unconstrained: the 2.x line, and no pre-release.
    let res = resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
    assert_eq!(chosen(&res), ["core@0.4.0", "lib@2.0.0", "app@2.0.0"]);

    // A pre-release only when a requirement names one.
    let res = resolve(&reg, &roots(&[("core", ">=0.4.1-beta.1")]), &options).unwrap();
    assert_eq!(res.version("core"), Some(&v("0.4.1-beta.1")));
    let res = resolve(&reg, &roots(&[("core", "^0.4")]), &options).unwrap();
    assert_eq!(res.version("core"), Some(&v("0.4.0")));
    // lib 2.0.0 needs core ^0.4, which no pre-release of 0.4.1 satisfies.
    let e = resolve(
        &reg,
        &roots(&[("app", "*"), ("core", ">=0.4.1-beta.1")]),
        &options,
    )
    .unwrap_err();
    assert!(matches!(e, ResolveError::Conflict { .. }), "{e:?}");

    // Wildcard and exact requirements.
    let res = resolve(&reg, &roots(&[("lib", "1.1.*")]), &options).unwrap();
    assert_eq!(chosen(&res), ["core@0.3.9", "lib@1.1.0"]);
    let res = resolve(
        &reg,
        &roots(&[("lib", "=1.2.0"), ("core", "<0.3.5")]),
        &options,
    )
    .unwrap();
    assert_eq!(chosen(&res), ["core@0.3.1", "lib@1.2.0"]);
}

#[test]
fn each_package_is_fetched_once() {
    let mut reg = Registry::new();
    reg.add("a", "1.0.0", &["b ^1", "c ^1"])
        .add("b", "1.0.0", &["c ^1"])
        .add("b", "1.1.0", &["c ^1", "d ^9"])
        .leaf("c", &["1.0.0", "1.1.0"])
        .leaf("d", &["1.0.0"]);
    let res = resolve(
        &reg,
        &roots(&[("a", "*"), ("a", "^1")]),
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(chosen(&res), ["c@1.1.0", "b@1.0.0", "a@1.0.0"]);
    let fetches = reg.fetches.borrow();
    assert!(fetches.values().all(|n| *n == 1), "{fetches:?}");
    assert_eq!(fetches.len(), 4);
}

#[test]
fn yanked_versions_are_skipped_unless_locked() {
    let mut reg = Registry::new();
    reg.leaf("a", &["1.0.0", "1.1.0"])
        .yanked("a", "1.2.0", &[])
        .yanked("b", "1.0.0", &[]);
    let mut options = ResolveOptions::default();
    let res = resolve(&reg, &roots(&[("a", "^1")]), &options).unwrap();
    assert_eq!(res.version("a"), Some(&v("1.1.0")));

    options.locked.insert("a".into(), v("1.2.0"));
    let res = resolve(&reg, &roots(&[("a", "^1")]), &options).unwrap();
    assert_eq!(res.version("a"), Some(&v("1.2.0")));
    assert_valid(&res, &options);

    // Only the locked yanked version, not others.
    let e = must_fail(&reg, &[("b", "^1")], &ResolveOptions::default());
    assert!(matches!(e, ResolveError::NoMatchingVersion { .. }), "{e:?}");
    assert!(e.to_string().contains("1.0.0 (yanked)"), "{e}");
    assert!(e.hint().unwrap().contains("lockfile"));
}

#[test]
fn yanked_transitive_dependency_is_explained() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["b ^2"])
        .add("b", "1.0.0", &[])
        .yanked("b", "2.0.0", &[]);
    let e = must_fail(&reg, &[("app", "*")], &ResolveOptions::default());
    let text = e.to_string();
    assert!(matches!(e, ResolveError::NoMatchingVersion { .. }), "{e:?}");
    assert!(text.contains("app 1.0.0 depends on b ^2"), "{text}");
    assert!(text.contains("2.0.0 (yanked)"), "{text}");

    let mut options = ResolveOptions::default();
    options.locked.insert("b".into(), v("2.0.0"));
    let res = resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
    assert_eq!(chosen(&res), ["b@2.0.0", "app@1.0.0"]);
}

#[test]
fn locked_versions_are_preferred() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["lib ^1"])
        .leaf("lib", &["1.0.0", "1.1.0", "1.2.0", "2.0.0"]);
    let mut options = ResolveOptions::default();
    options.locked.insert("lib".into(), v("1.1.0"));
    let res = resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
    assert_eq!(chosen(&res), ["lib@1.1.0", "app@1.0.0"]);

    // A pin outside the requirements gives way to the highest compatible.
    options.locked.insert("lib".into(), v("2.0.0"));
    let res = resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
    assert_eq!(res.version("lib"), Some(&v("1.2.0")));

    // Pins for packages outside the graph are ignored.
    options.locked.insert("unrelated".into(), v("9.9.9"));
    resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
}

#[test]
fn locked_version_that_no_longer_exists_is_an_error() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["lib ^1"])
        .leaf("lib", &["1.0.0", "1.2.0"]);
    let mut options = ResolveOptions::default();
    options.locked.insert("lib".into(), v("1.1.0"));
    let e = must_fail(&reg, &[("app", "*")], &options);
    assert!(
        matches!(e, ResolveError::LockedVersionMissing { .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the lockfile pins lib 1.1.0, which is no longer in the registry; available versions: 1.0.0, 1.2.0"
    );
}

#[test]
fn optional_dependencies_only_when_asked() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["lib ^1", "extras ^1 optional"])
        .add("lib", "1.0.0", &[])
        .add("extras", "1.0.0", &["lib ^1"]);
    let mut options = ResolveOptions::default();
    let res = resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
    assert_eq!(chosen(&res), ["lib@1.0.0", "app@1.0.0"]);
    assert_eq!(res.edges["app"], ["lib"]);
    assert!(!reg.fetches.borrow().contains_key("extras"));

    options.include_optional = true;
    let res = resolve(&reg, &roots(&[("app", "*")]), &options).unwrap();
    assert_eq!(chosen(&res), ["lib@1.0.0", "extras@1.0.0", "app@1.0.0"]);
    assert_eq!(res.edges["app"], ["extras", "lib"]);
    assert_valid(&res, &options);
}

#[test]
fn no_dependencies_resolves_roots_only() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["missing ^1"])
        .add("tool", "0.2.0", &[]);
    let options = ResolveOptions {
        no_dependencies: true,
        ..Default::default()
    };
    let res = resolve(&reg, &roots(&[("tool", "*"), ("app", "^1")]), &options).unwrap();
    assert_eq!(chosen(&res), ["app@1.0.0", "tool@0.2.0"]);
    assert!(res.edges.values().all(Vec::is_empty));
}

#[test]
fn conflict_names_both_requirement_paths() {
    let mut reg = Registry::new();
    reg.add("a", "1.2.0", &["b ^2"])
        .add("c", "0.4.0", &["b ^1"])
        .leaf("b", &["1.0.0", "1.5.0", "2.0.0", "2.1.0"]);
    let (explanation, message) = must_conflict(&reg, &[("a", "^1"), ("c", "^0.4")]);
    for part in [
        "a 1.2.0 depends on b ^2",
        "c 0.4.0 depends on b ^1",
        "a 1.2.0 and c 0.4.0 are incompatible",
        "you require",
    ] {
        assert!(explanation.contains(part), "{explanation}");
    }
    assert!(!explanation.contains("Ranges"), "{explanation}");
    assert!(message.starts_with("no set of versions satisfies all requirements:\n"));
}

#[test]
fn conflict_with_backtracking_over_several_versions() {
    // Every app version needs a lib the tool cannot share.
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["lib ~1.0"])
        .add("app", "1.1.0", &["lib ~1.1"])
        .add("tool", "3.0.0", &["lib >=1.2, <2"])
        .leaf("lib", &["1.0.0", "1.1.0", "1.2.0"]);
    let (explanation, _) = must_conflict(&reg, &[("app", "^1"), ("tool", "^3")]);
    for part in [
        "tool 3.0.0 depends on lib >=1.2, <2",
        "depends on lib ~1.",
        "your requirements are unsatisfiable",
    ] {
        assert!(explanation.contains(part), "{explanation}");
    }

    // Dropping the tool makes it solvable, by the newest app.
    let res = resolve(&reg, &roots(&[("app", "^1")]), &ResolveOptions::default()).unwrap();
    assert_eq!(chosen(&res), ["lib@1.1.0", "app@1.1.0"]);
}

#[test]
fn missing_dependency_names_both_packages() {
    let mut reg = Registry::new();
    reg.add(
        "academic-peer-review-workflow",
        "1.0.0",
        &["academic-paper-lifecycle ^1"],
    );
    let e = must_fail(
        &reg,
        &[("academic-peer-review-workflow", "*")],
        &ResolveOptions::default(),
    );
    assert!(matches!(e, ResolveError::MissingDependency { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "academic-peer-review-workflow 1.0.0 depends on academic-paper-lifecycle, which is not in the registry"
    );

    // Deeper: the message says how the package was reached.
    reg.add("suite", "2.0.0", &["academic-peer-review-workflow ^1"]);
    let e = must_fail(&reg, &[("suite", "*")], &ResolveOptions::default());
    assert_eq!(
        e.to_string(),
        "academic-peer-review-workflow 1.0.0 depends on academic-paper-lifecycle, which is not in the registry \
         (required through suite 2.0.0 -> academic-peer-review-workflow 1.0.0)"
    );
    let m: MarketplaceError = e.into();
    assert!(m.to_string().contains("academic-paper-lifecycle"));
}

#[test]
fn missing_dependency_falls_back_to_an_older_version() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["lib ^1"])
        .add("app", "1.1.0", &["gone ^1"])
        .leaf("lib", &["1.0.0"]);
    let res = resolve(&reg, &roots(&[("app", "^1")]), &ResolveOptions::default()).unwrap();
    assert_eq!(chosen(&res), ["lib@1.0.0", "app@1.0.0"]);
}

#[test]
fn unknown_root_package() {
    let reg = Registry::new();
    let e = must_fail(&reg, &[("nope", "*")], &ResolveOptions::default());
    assert!(matches!(e, ResolveError::UnknownPackage { .. }), "{e:?}");
    assert_eq!(e.to_string(), "package `nope` is not in the registry");
    assert!(matches!(
        MarketplaceError::from(e),
        MarketplaceError::NotFound { .. }
    ));
}

#[test]
fn no_matching_version_lists_available_versions() {
    let mut reg = Registry::new();
    reg.add("app", "1.0.0", &["lib ^3"])
        .add("lib", "1.0.0", &[])
        .add("lib", "2.0.0-beta.1", &[])
        .add("lib", "2.1.0", &[]);
    let e = must_fail(&reg, &[("app", "*")], &ResolveOptions::default());
    assert!(matches!(e, ResolveError::NoMatchingVersion { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "app 1.0.0 depends on lib ^3, but no version of lib matches ^3; \
         available versions: 1.0.0, 2.0.0-beta.1, 2.1.0"
    );

    // Directly requested.
    let e = must_fail(&reg, &[("lib", ">=2.2, <3")], &ResolveOptions::default());
    assert_eq!(
        e.to_string(),
        "no version of lib matches >=2.2, <3; available versions: 1.0.0, 2.0.0-beta.1, 2.1.0"
    );
}

#[test]
fn cycles_are_refused_with_the_cycle_named() {
    let mut reg = Registry::new();
    reg.add("selfish", "1.0.0", &["selfish ^1"]);
    let e = must_fail(&reg, &[("selfish", "*")], &ResolveOptions::default());
    assert!(
        e.to_string()
            .starts_with("dependency cycle: selfish -> selfish"),
        "{e}"
    );

    // A longer cycle, below the root.
    reg.add("app", "1.0.0", &["a ^1"])
        .add("a", "1.0.0", &["b ^2"])
        .add("b", "2.0.0", &["c ^1"])
        .add("c", "1.0.0", &["a ^1"]);
    let e = must_fail(&reg, &[("app", "*")], &ResolveOptions::default());
    assert_eq!(
        e.to_string(),
        "dependency cycle: a -> b -> c -> a (a 1.0.0 depends on b ^2, b 2.0.0 depends on c ^1, c 1.0.0 depends on a ^1)"
    );
    let ResolveError::Cycle { cycle, .. } = &e else {
        panic!("expected a cycle, got {e:?}");
    };
    assert_eq!(cycle, &["a", "b", "c", "a"]);
}

#[test]
fn diamond_resolves_to_one_version() {
    let mut reg = Registry::new();
    reg.add("top", "1.0.0", &["left ^1", "right ^1"])
        .add("left", "1.0.0", &["base >=1.1, <2"])
        .add("right", "1.0.0", &["base ~1.1"])
        .leaf("base", &["1.0.0", "1.1.0", "1.1.7", "1.2.0", "2.0.0"]);
    let options = ResolveOptions::default();
    let res = resolve(&reg, &roots(&[("top", "*")]), &options).unwrap();
    assert_eq!(
        chosen(&res),
        ["base@1.1.7", "left@1.0.0", "right@1.0.0", "top@1.0.0"]
    );
    assert_eq!(res.edges["top"], ["left", "right"]);
    assert_valid(&res, &options);
}

#[test]
fn generated_graph_resolves() {
    let registry = synthetic_registry(200, 5, 7);
    let root_names: Vec<(String, VersionReq)> = (0..10)
        .map(|i| (format!("pkg-{:05}", i * 3), VersionReq::STAR))
        .collect();
    for include_optional in [false, true] {
        let options = ResolveOptions {
            include_optional,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let res = resolve(&registry, &root_names, &options).unwrap();
        println!(
            "optional={include_optional}: {} packages in {:?}",
            res.len(),
            started.elapsed()
        );
        assert!(res.len() > 20, "only {} packages", res.len());
        assert_valid(&res, &options);
    }
}

#[test]
#[ignore = "1,000 packages: run with --ignored (slow in debug builds)"]
fn generated_graph_of_1000_packages_resolves() {
    let registry = synthetic_registry(1000, 5, 11);
    let root_names: Vec<(String, VersionReq)> = (0..20)
        .map(|i| (format!("pkg-{:05}", i * 7), VersionReq::STAR))
        .collect();
    let options = ResolveOptions::default();
    let started = std::time::Instant::now();
    let res = resolve(&registry, &root_names, &options).unwrap();
    println!("{} packages in {:?}", res.len(), started.elapsed());
    assert_valid(&res, &options);
}
