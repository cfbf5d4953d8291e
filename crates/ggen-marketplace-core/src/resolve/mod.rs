//! Dependency resolution: which version of every package to install, and in
//! which order.
//!
//! The solver is [PubGrub](https://docs.rs/pubgrub) (the algorithm behind
//! `uv`, `pub` and cargo's experimental resolver). This module supplies it with
//! packages from a [`PackageSource`] and turns its failures into errors a person
//! can act on.
//!
//! # Policy
//!
//! - The highest compatible version wins, except that a version pinned by the
//!   lockfile ([`ResolveOptions::locked`]) is tried first whenever it satisfies
//!   the requirements; when it does not, resolution falls back to the highest.
//! - Yanked versions are never chosen unless they are the locked version.
//! - Pre-releases follow `semver::VersionReq::matches`: they are candidates only
//!   for a requirement that names a pre-release of the same `major.minor.patch`.
//! - Optional dependencies count only with [`ResolveOptions::include_optional`];
//!   with [`ResolveOptions::no_dependencies`] only the roots are resolved.
//! - A dependency cycle among the chosen versions is refused
//!   ([`ResolveError::Cycle`]): templates are installed dependencies first, and a
//!   cycle has no such order. Cycles are detected after solving; the solver does
//!   not look for cycle-free alternatives.
//!
//! # How requirements become PubGrub ranges
//!
//! The candidates of a package are finite: its published versions. A semver
//! requirement is therefore mapped to the exact set of *published* versions it
//! matches (yanked ones included; those are filtered when a version is chosen),
//! stored as a [`pubgrub::Ranges`] of closed intervals `[first, last]` over runs of
//! consecutive matching versions. This is exact for every requirement form
//! (caret, tilde, wildcard, comparisons, several comparators, pre-release
//! rules) because it defers to `VersionReq::matches` instead of re-deriving
//! semver's interval rules, which are not convex once pre-releases are involved.
//! Versions that are not published never matter to the solver.
//!
//! # Errors
//!
//! Resolution has its own error type, [`ResolveError`]; `From<ResolveError> for
//! MarketplaceError` exists for callers that use `?` into the crate-wide type
//! (unknown roots become [`MarketplaceError::NotFound`], source failures pass
//! through unchanged, everything else keeps its full text in
//! [`MarketplaceError::Other`]). Conflict explanations are PubGrub derivation
//! trees rendered by [`pubgrub::DefaultStringReporter`] with a formatter of our own that
//! prints requirements as they were written (`b ^2`), not as interval sets.
//!
//! | module | holds |
//! |---|---|
//! | (here) | sources, options, the resolution and its install order |
//! | `provider` | the PubGrub dependency provider over a [`PackageSource`] |
//! | `report` | turning PubGrub's failures into explanations |
//! | `error` | [`ResolveError`] and its hints |

mod error;
mod provider;
mod report;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use pubgrub::PubGrubError;
use semver::{Version, VersionReq};

use crate::backend::MarketplaceBackend;
use crate::error::{MarketplaceError, Result};
use crate::model::{Package, PackageVersion};

pub use error::ResolveError;
use provider::{Node, Provider};

/// Where the resolver reads packages from.
pub trait PackageSource {
    /// The package with all its published versions; `Ok(None)` when the
    /// registry does not have it. Errors are failures to answer (I/O, network).
    fn package(&self, name: &str) -> Result<Option<Package>>;
}

/// An in-memory registry, keyed by package name (tests, benches, snapshots).
impl PackageSource for BTreeMap<String, Package> {
    fn package(&self, name: &str) -> Result<Option<Package>> {
        Ok(self.get(name).cloned())
    }
}

/// Adapts any [`MarketplaceBackend`] (including `dyn MarketplaceBackend`) into a
/// [`PackageSource`], mapping [`MarketplaceError::NotFound`] to `Ok(None)`.
///
/// An adaptor rather than a blanket impl: both traits have a `package` method,
/// and a blanket impl would make `backend.package(..)` ambiguous wherever
/// `PackageSource` is imported.
#[derive(Clone, Copy)]
pub struct BackendSource<'a, B: ?Sized>(pub &'a B);

impl<B: MarketplaceBackend + ?Sized> PackageSource for BackendSource<'_, B> {
    fn package(&self, name: &str) -> Result<Option<Package>> {
        match self.0.package(name) {
            // Whatever answered, a version of another package is never
            // resolved (and then verified and installed) under this name.
            Ok(package) => {
                let checked = if package.name == name {
                    crate::model::check_versions_of(name, &package.versions)
                } else {
                    Err(format!(
                        "asked for `{name}`, got package `{}`",
                        package.name.escape_debug()
                    ))
                };
                match checked {
                    Ok(()) => Ok(Some(package)),
                    Err(reason) => Err(MarketplaceError::UntrustedAnswer {
                        from: format!("the {} backend", self.0.last_used()),
                        reason,
                    }),
                }
            }
            Err(MarketplaceError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What a resolution may use besides the requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Follow dependencies marked `optional` too.
    pub include_optional: bool,
    /// Versions pinned by a lockfile: preferred when they satisfy the
    /// requirements, and the only way a yanked version is ever chosen. A pin
    /// whose version is no longer published is an error
    /// ([`ResolveError::LockedVersionMissing`]) once that package is reached.
    pub locked: BTreeMap<String, Version>,
    /// Resolve the roots only, ignoring every dependency.
    pub no_dependencies: bool,
}

/// The outcome of a successful resolution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution {
    /// The chosen version of every package, by name.
    pub packages: BTreeMap<String, PackageVersion>,
    /// The resolved dependencies of every chosen package (names, sorted), as
    /// resolution followed them: optional ones only when asked for, none with
    /// `no_dependencies`.
    pub edges: BTreeMap<String, Vec<String>>,
    /// Install order: every package after all of its dependencies. Ties are
    /// broken by name, so the order is deterministic.
    pub order: Vec<String>,
}

impl Resolution {
    /// The version chosen for `name`.
    pub fn get(&self, name: &str) -> Option<&PackageVersion> {
        self.packages.get(name)
    }

    /// The version number chosen for `name`.
    pub fn version(&self, name: &str) -> Option<&Version> {
        self.packages.get(name).map(|p| &p.version)
    }

    /// How many packages were chosen.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether nothing was chosen.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The chosen versions in install order.
    pub fn in_install_order(&self) -> impl Iterator<Item = &PackageVersion> {
        self.order.iter().filter_map(|name| self.packages.get(name))
    }
}

/// A published version as listed in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The version.
    pub version: Version,
    /// Whether it is yanked.
    pub yanked: bool,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.yanked {
            write!(f, "{} (yanked)", self.version)
        } else {
            write!(f, "{}", self.version)
        }
    }
}

/// Resolves `roots` (package name and requirement) against `source`.
///
/// The same package may appear in `roots` more than once; all its
/// requirements must hold.
pub fn resolve<S: PackageSource + ?Sized>(
    source: &S,
    roots: &[(String, VersionReq)],
    options: &ResolveOptions,
) -> std::result::Result<Resolution, ResolveError> {
    let mut merged: BTreeMap<String, Vec<VersionReq>> = BTreeMap::new();
    for (name, req) in roots {
        let reqs = merged.entry(name.clone()).or_default();
        if !reqs.contains(req) {
            reqs.push(req.clone());
        }
    }
    let provider = Provider {
        source,
        options,
        roots: merged,
        cache: RefCell::new(HashMap::new()),
    };

    // Requested packages are checked up front: the answer is certain and the
    // message is simpler than any derivation.
    for (name, reqs) in &provider.roots {
        let Some(info) = provider.fetch(name)? else {
            return Err(ResolveError::UnknownPackage { name: name.clone() });
        };
        let usable = info
            .package
            .versions
            .iter()
            .any(|pv| info.usable(pv) && reqs.iter().all(|r| r.matches(&pv.version)));
        if !usable {
            return Err(ResolveError::NoMatchingVersion {
                package: name.clone(),
                requirement: join_reqs(reqs),
                required_by: None,
                available: info.candidates(),
                path: Vec::new(),
            });
        }
    }

    let solution = match pubgrub::resolve(&provider, Node::Root, Version::new(0, 0, 0)) {
        Ok(solution) => solution,
        Err(PubGrubError::NoSolution(tree)) => return Err(provider.explain(&tree)),
        Err(PubGrubError::ErrorChoosingVersion { source, .. })
        | Err(PubGrubError::ErrorRetrievingDependencies { source, .. })
        | Err(PubGrubError::ErrorInShouldCancel(source)) => return Err(source),
    };

    let mut packages = BTreeMap::new();
    for (node, version) in solution {
        let Node::Pkg(name) = node else { continue };
        let info = provider
            .info(&name)
            .expect("a chosen package was fetched by the solver");
        let pv = info
            .package
            .version(&version)
            .expect("the solver chooses published versions")
            .clone();
        packages.insert(name.to_string(), pv);
    }

    let mut edges = BTreeMap::new();
    for (name, pv) in &packages {
        let deps: BTreeSet<String> = if options.no_dependencies {
            BTreeSet::new()
        } else {
            provider
                .followed(pv)
                .filter(|d| packages.contains_key(&d.name))
                .map(|d| d.name.clone())
                .collect()
        };
        edges.insert(name.clone(), deps.into_iter().collect::<Vec<_>>());
    }

    let order = install_order(&packages, &edges)?;
    Ok(Resolution {
        packages,
        edges,
        order,
    })
}

/// [`resolve`] against a backend.
pub fn resolve_backend(
    backend: &dyn MarketplaceBackend,
    roots: &[(String, VersionReq)],
    options: &ResolveOptions,
) -> std::result::Result<Resolution, ResolveError> {
    resolve(&BackendSource(backend), roots, options)
}

/// Kahn's algorithm with a name-ordered ready set; the leftovers of a failed
/// sort contain a cycle, which is reported.
fn install_order(
    packages: &BTreeMap<String, PackageVersion>,
    edges: &BTreeMap<String, Vec<String>>,
) -> std::result::Result<Vec<String>, ResolveError> {
    let mut pending: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, deps) in edges {
        pending.insert(name, deps.len());
        for dep in deps {
            dependents.entry(dep).or_default().push(name);
        }
    }
    let mut ready: BTreeSet<&str> = pending
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(name, _)| *name)
        .collect();
    let mut order = Vec::with_capacity(edges.len());
    while let Some(name) = ready.pop_first() {
        order.push(name.to_string());
        pending.remove(name);
        for dependent in dependents.get(name).into_iter().flatten() {
            let n = pending.get_mut(dependent).expect("pending dependent");
            *n -= 1;
            if *n == 0 {
                ready.insert(dependent);
            }
        }
    }
    if pending.is_empty() {
        return Ok(order);
    }

    // Every package left waits on another one left: walk until a repeat.
    let mut walk: Vec<&str> = Vec::new();
    let mut current = *pending.keys().next().expect("non-empty");
    while !walk.contains(&current) {
        walk.push(current);
        current = edges[current]
            .iter()
            .map(String::as_str)
            .find(|d| pending.contains_key(d))
            .expect("a package left in a failed sort waits on another");
    }
    let start = walk.iter().position(|n| *n == current).expect("repeat");
    let mut cycle: Vec<&str> = walk[start..].to_vec();
    // Start at the smallest name so the message does not depend on the walk.
    let min = (0..cycle.len())
        .min_by_key(|i| cycle[*i])
        .expect("non-empty");
    cycle.rotate_left(min);
    let steps = (0..cycle.len())
        .map(|i| {
            let (from, to) = (cycle[i], cycle[(i + 1) % cycle.len()]);
            let pv = &packages[from];
            let req = pv
                .dependencies
                .iter()
                .find(|d| d.name == to)
                .map(|d| d.req.to_string())
                .unwrap_or_default();
            format!("{from} {} depends on {}", pv.version, with_req(to, &req))
        })
        .collect();
    let mut names: Vec<String> = cycle.iter().map(|s| s.to_string()).collect();
    names.push(names[0].clone());
    Err(ResolveError::Cycle {
        cycle: names,
        steps,
    })
}

fn join_reqs(reqs: &[VersionReq]) -> String {
    reqs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `name` alone for "any version", else `name req`.
fn with_req(name: &str, req: &str) -> String {
    if req.is_empty() || req == "*" {
        name.to_string()
    } else {
        format!("{name} {req}")
    }
}
