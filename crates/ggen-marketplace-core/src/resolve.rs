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
//! stored as a [`Ranges`] of closed intervals `[first, last]` over runs of
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
//! trees rendered by [`DefaultStringReporter`] with a formatter of our own that
//! prints requirements as they were written (`b ^2`), not as interval sets.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Bound;
use std::rc::Rc;
use std::sync::Arc;

use pubgrub::{
    DefaultStringReporter, Dependencies, DependencyConstraints, DependencyProvider, DerivationTree,
    Derived, External, Map, PackageResolutionStatistics, PubGrubError, Ranges, ReportFormatter,
    Reporter, Term,
};
use semver::{Version, VersionReq};

use crate::backend::MarketplaceBackend;
use crate::error::{MarketplaceError, Result};
use crate::model::{Package, PackageVersion};

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Options and results
// ---------------------------------------------------------------------------

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
    pub fn get(&self, name: &str) -> Option<&PackageVersion> {
        self.packages.get(name)
    }

    pub fn version(&self, name: &str) -> Option<&Version> {
        self.packages.get(name).map(|p| &p.version)
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

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
    pub version: Version,
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

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A requested (root) package does not exist.
    #[error("package `{name}` is not in the registry")]
    UnknownPackage { name: String },

    /// A package version depends on a package the registry does not have.
    #[error("{dependent} depends on {dependency}, which is not in the registry{}", via(.path))]
    MissingDependency {
        /// `name version` (or `name range` when several versions are affected).
        dependent: String,
        dependency: String,
        /// The chain from a requested package down to `dependent`.
        path: Vec<String>,
    },

    /// No usable published version satisfies a requirement.
    #[error("{}", no_match_text(.package, .requirement, .required_by.as_deref(), .available, .path))]
    NoMatchingVersion {
        package: String,
        requirement: String,
        /// `name version` of the dependent, `None` for a requested package.
        required_by: Option<String>,
        /// Every published version, ascending.
        available: Vec<Candidate>,
        path: Vec<String>,
    },

    /// The lockfile pins a version that the registry no longer has.
    #[error(
        "the lockfile pins {package} {version}, which is no longer in the registry; available versions: {}",
        list(.available)
    )]
    LockedVersionMissing {
        package: String,
        version: Version,
        available: Vec<Candidate>,
    },

    /// The requirements contradict each other; `explanation` is PubGrub's
    /// derivation, one step per line.
    #[error("no set of versions satisfies all requirements:\n{explanation}")]
    Conflict { explanation: String },

    /// The chosen versions depend on each other in a loop.
    #[error("dependency cycle: {} ({})", .cycle.join(" -> "), .steps.join(", "))]
    Cycle {
        /// Package names, first repeated at the end: `[a, b, a]`.
        cycle: Vec<String>,
        /// Each edge as `a 1.0.0 depends on b ^2`.
        steps: Vec<String>,
    },

    /// The source failed to answer for a package.
    #[error("could not read package `{package}`: {source}")]
    Source {
        package: String,
        #[source]
        source: MarketplaceError,
    },
}

fn list(available: &[Candidate]) -> String {
    if available.is_empty() {
        "none".to_string()
    } else {
        available
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn via(path: &[String]) -> String {
    if path.len() > 1 {
        format!(" (required through {})", path.join(" -> "))
    } else {
        String::new()
    }
}

fn no_match_text(
    package: &str,
    requirement: &str,
    required_by: Option<&str>,
    available: &[Candidate],
    path: &[String],
) -> String {
    let head = match required_by {
        Some(dependent) => format!(
            "{dependent} depends on {package} {requirement}, but no version of {package} matches {requirement}"
        ),
        None => format!("no version of {package} matches {requirement}"),
    };
    let tail = if available.is_empty() {
        format!("{package} has no published versions")
    } else {
        format!("available versions: {}", list(available))
    };
    format!("{head}{}; {tail}", via(path))
}

impl ResolveError {
    /// What the user can do next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::UnknownPackage { .. } => {
                "search for it with `ggen marketplace search --query NAME`".into()
            }
            Self::MissingDependency { dependency, .. } => format!(
                "the registry is incomplete: publish `{dependency}`, or choose another version of the package that needs it"
            ),
            Self::NoMatchingVersion {
                package, available, ..
            } => {
                let mut hint = format!(
                    "relax the requirement; list published versions with `ggen marketplace versions {package}`"
                );
                if available.iter().any(|c| c.yanked) {
                    hint.push_str("; yanked versions are used only when pinned by the lockfile");
                }
                hint
            }
            Self::LockedVersionMissing { package, .. } => format!(
                "remove `{package}` from the lockfile (or update it) to resolve a published version"
            ),
            Self::Conflict { .. } => {
                "relax one of the requirements named above, or install the packages separately"
                    .into()
            }
            Self::Cycle { .. } => {
                "template packages must not depend on each other in a loop; report it to their publishers"
                    .into()
            }
            Self::Source { source, .. } => return source.hint(),
        })
    }
}

impl From<ResolveError> for MarketplaceError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::UnknownPackage { name } => MarketplaceError::NotFound { name },
            ResolveError::Source { source, .. } => source,
            other => MarketplaceError::Other(other.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// The PubGrub provider
// ---------------------------------------------------------------------------

type VS = Ranges<Version>;

/// A solver package: the virtual root (the request) or a registry package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Root,
    Pkg(Rc<str>),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => f.write_str("your request"),
            Node::Pkg(name) => f.write_str(name),
        }
    }
}

/// A fetched package, versions ascending.
struct Info {
    package: Package,
    locked: Option<Version>,
}

impl Info {
    fn usable(&self, pv: &PackageVersion) -> bool {
        !pv.yanked || self.locked.as_ref() == Some(&pv.version)
    }

    fn candidates(&self) -> Vec<Candidate> {
        self.package
            .versions
            .iter()
            .map(|pv| Candidate {
                version: pv.version.clone(),
                yanked: pv.yanked,
            })
            .collect()
    }

    /// Indices of published versions in `set`.
    fn indices_in(&self, set: &VS) -> Vec<usize> {
        self.package
            .versions
            .iter()
            .enumerate()
            .filter(|(_, pv)| set.contains(&pv.version))
            .map(|(i, _)| i)
            .collect()
    }

    fn indices_matching(&self, reqs: &[&VersionReq]) -> Vec<usize> {
        self.package
            .versions
            .iter()
            .enumerate()
            .filter(|(_, pv)| reqs.iter().all(|r| r.matches(&pv.version)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The published versions at `indices` as closed intervals over runs.
    fn ranges(&self, indices: &[usize]) -> VS {
        let versions = &self.package.versions;
        let mut segments = Vec::new();
        let mut i = 0;
        while i < indices.len() {
            let mut j = i;
            while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
                j += 1;
            }
            segments.push((
                Bound::Included(versions[indices[i]].version.clone()),
                Bound::Included(versions[indices[j]].version.clone()),
            ));
            i = j + 1;
        }
        segments.into_iter().collect()
    }
}

struct Provider<'s, S: ?Sized> {
    source: &'s S,
    options: &'s ResolveOptions,
    roots: BTreeMap<String, Vec<VersionReq>>,
    /// Every package asked for, fetched once; `None` = not in the registry.
    cache: RefCell<HashMap<String, Option<Rc<Info>>>>,
}

impl<S: PackageSource + ?Sized> Provider<'_, S> {
    fn fetch(&self, name: &str) -> std::result::Result<Option<Rc<Info>>, ResolveError> {
        if let Some(hit) = self.cache.borrow().get(name) {
            return Ok(hit.clone());
        }
        let fetched = self
            .source
            .package(name)
            .map_err(|source| ResolveError::Source {
                package: name.to_string(),
                source,
            })?;
        let info = match fetched {
            None => None,
            Some(mut package) => {
                package.sort_versions();
                package.versions.dedup_by(|a, b| a.version == b.version);
                let locked = self.options.locked.get(name).cloned();
                if let Some(version) = &locked
                    && package.version(version).is_none()
                {
                    let info = Info {
                        package,
                        locked: None,
                    };
                    return Err(ResolveError::LockedVersionMissing {
                        package: name.to_string(),
                        version: version.clone(),
                        available: info.candidates(),
                    });
                }
                Some(Rc::new(Info { package, locked }))
            }
        };
        self.cache
            .borrow_mut()
            .insert(name.to_string(), info.clone());
        Ok(info)
    }

    /// An already fetched package.
    fn info(&self, name: &str) -> Option<Rc<Info>> {
        self.cache.borrow().get(name).cloned().flatten()
    }

    fn is_missing(&self, name: &str) -> bool {
        matches!(self.cache.borrow().get(name), Some(None))
    }

    /// The dependencies of `pv` that resolution follows.
    fn followed<'p>(
        &self,
        pv: &'p PackageVersion,
    ) -> impl Iterator<Item = &'p crate::model::Dependency> + use<'p, '_, S> {
        let include_optional = self.options.include_optional;
        pv.dependencies
            .iter()
            .filter(move |d| include_optional || !d.optional)
    }

    /// The solver's view of `name` under `reqs`: the published versions matching
    /// all of them (empty when the package does not exist).
    fn requirement_set(
        &self,
        name: &str,
        reqs: &[&VersionReq],
    ) -> std::result::Result<VS, ResolveError> {
        Ok(match self.fetch(name)? {
            None => Ranges::empty(),
            Some(info) => info.ranges(&info.indices_matching(reqs)),
        })
    }

    fn constraints(
        &self,
        deps: BTreeMap<&str, Vec<&VersionReq>>,
    ) -> std::result::Result<DependencyConstraints<Node, VS>, ResolveError> {
        deps.into_iter()
            .map(|(name, reqs)| Ok((Node::Pkg(name.into()), self.requirement_set(name, &reqs)?)))
            .collect()
    }
}

impl<S: PackageSource + ?Sized> DependencyProvider for Provider<'_, S> {
    type P = Node;
    type V = Version;
    type VS = VS;
    type M = String;
    type Err = ResolveError;
    type Priority = (u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Node,
        range: &VS,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Node::Pkg(name) = package else {
            return (u32::MAX, Reverse(0));
        };
        let count = self.info(name).map_or(0, |info| {
            info.package
                .versions
                .iter()
                .filter(|pv| info.usable(pv) && range.contains(&pv.version))
                .count()
        });
        if count == 0 {
            // Fail fast: deciding it can only produce a conflict.
            return (u32::MAX, Reverse(0));
        }
        (stats.conflict_count(), Reverse(count))
    }

    fn choose_version(
        &self,
        package: &Node,
        range: &VS,
    ) -> std::result::Result<Option<Version>, ResolveError> {
        let Node::Pkg(name) = package else {
            return Ok(Some(Version::new(0, 0, 0)));
        };
        let Some(info) = self.fetch(name)? else {
            return Ok(None);
        };
        if let Some(locked) = &info.locked
            && range.contains(locked)
        {
            return Ok(Some(locked.clone()));
        }
        Ok(info
            .package
            .versions
            .iter()
            .rev()
            .find(|pv| info.usable(pv) && range.contains(&pv.version))
            .map(|pv| pv.version.clone()))
    }

    fn get_dependencies(
        &self,
        package: &Node,
        version: &Version,
    ) -> std::result::Result<Dependencies<Node, VS, String>, ResolveError> {
        let name = match package {
            Node::Root => {
                let deps = self
                    .roots
                    .iter()
                    .map(|(name, reqs)| (name.as_str(), reqs.iter().collect()))
                    .collect();
                return Ok(Dependencies::Available(self.constraints(deps)?));
            }
            Node::Pkg(name) => name,
        };
        if self.options.no_dependencies {
            return Ok(Dependencies::Available(DependencyConstraints::default()));
        }
        let info = self.fetch(name)?.expect("a chosen package exists");
        let pv = info
            .package
            .version(version)
            .expect("the solver chooses published versions");
        let mut deps: BTreeMap<&str, Vec<&VersionReq>> = BTreeMap::new();
        for dep in self.followed(pv) {
            // A self-dependency is a cycle; it is reported after solving.
            if dep.name != **name {
                deps.entry(dep.name.as_str()).or_default().push(&dep.req);
            }
        }
        Ok(Dependencies::Available(self.constraints(deps)?))
    }
}

// ---------------------------------------------------------------------------
// Explaining failures
// ---------------------------------------------------------------------------

/// A reason resolution fails on its own, without any competing requirement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DeadEnd {
    Missing {
        dependent: Node,
        dependent_text: String,
        dependency: String,
    },
    NoMatch {
        package: String,
        requirement: String,
        dependent: Node,
        dependent_text: Option<String>,
    },
}

impl<S: PackageSource + ?Sized> Provider<'_, S> {
    /// Turns a derivation tree into the most specific error: a single dead end
    /// (missing package, requirement matching nothing) with nothing competing
    /// becomes its own error; anything else is a conflict with the derivation.
    fn explain(&self, tree: &DerivationTree<Node, VS, String>) -> ResolveError {
        let tree = &self.drop_gaps(tree, &mut HashMap::new());
        let mut externals = Vec::new();
        collect_externals(tree, &mut externals, &mut BTreeSet::new());

        let mut dead_ends = BTreeSet::new();
        let mut targets: HashMap<&Node, Vec<&VS>> = HashMap::new();
        for external in &externals {
            match external {
                External::FromDependencyOf(p, sp, d, sd) => {
                    let sets = targets.entry(d).or_default();
                    if !sets.contains(&sd) {
                        sets.push(sd);
                    }
                    if let Some(dead) = self.dead_dependency(p, sp, d, sd) {
                        dead_ends.insert(dead);
                    }
                }
                External::NoVersions(p, r) => {
                    if let Some(dead) = self.dead_no_versions(p, r, &externals) {
                        dead_ends.insert(dead);
                    }
                }
                External::NotRoot(..) | External::Custom(..) => {}
            }
        }
        let competing = targets.values().any(|sets| sets.len() > 1);

        if dead_ends.len() == 1 && !competing {
            let dead = dead_ends.pop_first().expect("one");
            return match dead {
                DeadEnd::Missing {
                    dependent,
                    dependent_text,
                    dependency,
                } => ResolveError::MissingDependency {
                    path: self.path_to(&dependent, dependent_text.clone(), &externals),
                    dependent: dependent_text,
                    dependency,
                },
                DeadEnd::NoMatch {
                    package,
                    requirement,
                    dependent,
                    dependent_text,
                } => ResolveError::NoMatchingVersion {
                    available: self
                        .info(&package)
                        .map(|i| i.candidates())
                        .unwrap_or_default(),
                    path: match &dependent_text {
                        Some(text) => self.path_to(&dependent, text.clone(), &externals),
                        None => Vec::new(),
                    },
                    package,
                    requirement,
                    required_by: dependent_text,
                },
            };
        }

        let explanation =
            DefaultStringReporter::report_with_formatter(tree, &Formatter { provider: self });
        ResolveError::Conflict { explanation }
    }

    /// Removes "no version of p in R" steps where R holds no published version
    /// at all: they are artifacts of ranges having gaps between published
    /// versions, true by construction, and only clutter the explanation. The
    /// other cause of such a step says the same thing over published versions.
    // pubgrub's DerivationTree holds its causes in `Arc`s; the tree never crosses threads.
    #[allow(clippy::arc_with_non_send_sync)]
    fn drop_gaps(
        &self,
        tree: &DerivationTree<Node, VS, String>,
        memo: &mut HashMap<*const Derived<Node, VS, String>, DerivationTree<Node, VS, String>>,
    ) -> DerivationTree<Node, VS, String> {
        let DerivationTree::Derived(derived) = tree else {
            return tree.clone();
        };
        let key: *const Derived<Node, VS, String> = derived;
        if let Some(done) = memo.get(&key) {
            return done.clone();
        }
        let is_gap = |t: &DerivationTree<Node, VS, String>| match t {
            DerivationTree::External(External::NoVersions(Node::Pkg(name), r)) => self
                .info(name)
                .is_some_and(|info| info.indices_in(r).is_empty()),
            _ => false,
        };
        let result = if is_gap(&derived.cause1) || is_gap(&derived.cause2) {
            let other = if is_gap(&derived.cause1) {
                &derived.cause2
            } else {
                &derived.cause1
            };
            match self.drop_gaps(other, memo) {
                DerivationTree::Derived(mut inner) if inner.shared_id.is_none() => {
                    inner.shared_id = derived.shared_id;
                    DerivationTree::Derived(inner)
                }
                other => other,
            }
        } else {
            DerivationTree::Derived(Derived {
                terms: derived.terms.clone(),
                shared_id: derived.shared_id,
                cause1: Arc::new(self.drop_gaps(&derived.cause1, memo)),
                cause2: Arc::new(self.drop_gaps(&derived.cause2, memo)),
            })
        };
        memo.insert(key, result.clone());
        result
    }

    fn dead_dependency(&self, p: &Node, sp: &VS, d: &Node, sd: &VS) -> Option<DeadEnd> {
        let Node::Pkg(dep) = d else { return None };
        let empty = self
            .info(dep)
            .is_none_or(|info| info.indices_in(sd).is_empty());
        if !empty {
            return None;
        }
        let dependent_text = match p {
            Node::Root => None,
            Node::Pkg(_) => Some(self.with_set(p, sp)),
        };
        if self.is_missing(dep) {
            return Some(DeadEnd::Missing {
                dependent: p.clone(),
                dependent_text: dependent_text.unwrap_or_else(|| "your request".into()),
                dependency: dep.to_string(),
            });
        }
        Some(DeadEnd::NoMatch {
            package: dep.to_string(),
            requirement: self
                .declared_req(p, sp, dep)
                .unwrap_or_else(|| self.render_set(d, sd)),
            dependent: p.clone(),
            dependent_text,
        })
    }

    /// `NoVersions` over published versions that are all unusable (yanked).
    fn dead_no_versions(
        &self,
        p: &Node,
        r: &VS,
        externals: &[&External<Node, VS, String>],
    ) -> Option<DeadEnd> {
        let Node::Pkg(name) = p else { return None };
        let info = self.info(name)?;
        if info.indices_in(r).is_empty() {
            return None;
        }
        // Who asked for it: the first dependency edge onto this package.
        let parent = externals.iter().find_map(|e| match e {
            External::FromDependencyOf(x, sx, d, _) if d == p => Some((x, sx)),
            _ => None,
        });
        let (dependent, dependent_text, requirement) = match parent {
            Some((x, sx)) => (
                x.clone(),
                match x {
                    Node::Root => None,
                    Node::Pkg(_) => Some(self.with_set(x, sx)),
                },
                self.declared_req(x, sx, name)
                    .unwrap_or_else(|| self.render_set(p, r)),
            ),
            None => (Node::Root, None, self.render_set(p, r)),
        };
        Some(DeadEnd::NoMatch {
            package: name.to_string(),
            requirement,
            dependent,
            dependent_text,
        })
    }

    /// Requested package -> ... -> `node`, following the tree's dependency edges.
    fn path_to(
        &self,
        node: &Node,
        text: String,
        externals: &[&External<Node, VS, String>],
    ) -> Vec<String> {
        let mut path = vec![text];
        let mut current = node.clone();
        let mut seen = BTreeSet::new();
        while seen.insert(current.clone()) {
            let parent = externals.iter().find_map(|e| match e {
                External::FromDependencyOf(x, sx, d, _) if *d == current && *x != current => {
                    Some((x.clone(), sx.clone()))
                }
                _ => None,
            });
            match parent {
                Some((Node::Pkg(name), sx)) => {
                    let node = Node::Pkg(name);
                    path.push(self.with_set(&node, &sx));
                    current = node;
                }
                _ => break,
            }
        }
        path.reverse();
        path
    }

    /// The requirement text(s) that the versions `sp` of `p` declare on `dep`,
    /// when they all agree.
    fn declared_req(&self, p: &Node, sp: &VS, dep: &str) -> Option<String> {
        let texts: BTreeSet<String> = match p {
            Node::Root => self
                .roots
                .get(dep)
                .map(|reqs| join_reqs(reqs))
                .into_iter()
                .collect(),
            Node::Pkg(name) => {
                let info = self.info(name)?;
                info.indices_in(sp)
                    .into_iter()
                    .map(|i| {
                        let pv = &info.package.versions[i];
                        let reqs: Vec<VersionReq> = self
                            .followed(pv)
                            .filter(|d| d.name == dep)
                            .map(|d| d.req.clone())
                            .collect();
                        join_reqs(&reqs)
                    })
                    .collect()
            }
        };
        if texts.len() == 1 {
            texts.into_iter().next()
        } else {
            None
        }
    }

    /// `name` or `name set`.
    fn with_set(&self, node: &Node, set: &VS) -> String {
        let rendered = self.render_set(node, set);
        if rendered.is_empty() {
            node.to_string()
        } else {
            format!("{node} {rendered}")
        }
    }

    /// A readable version set, in terms of published versions: `""` for all of
    /// them, one version, a requirement someone declared that selects exactly
    /// these versions, a contiguous range, or a list.
    fn render_set(&self, node: &Node, set: &VS) -> String {
        if *set == Ranges::full() {
            return String::new();
        }
        let Node::Pkg(name) = node else {
            return String::new();
        };
        let Some(info) = self.info(name) else {
            return set.to_string();
        };
        let indices = info.indices_in(set);
        let versions = &info.package.versions;
        match indices.as_slice() {
            [] => return "(no published version)".to_string(),
            [one] => return versions[*one].version.to_string(),
            _ if indices.len() == versions.len() => return String::new(),
            _ => {}
        }
        if let Some(req) = self
            .declared_reqs_on(name)
            .into_iter()
            .find(|req| info.indices_matching(&[req]) == indices)
        {
            return req.to_string();
        }
        let (first, last) = (indices[0], indices[indices.len() - 1]);
        if last - first + 1 == indices.len() {
            let (lo, hi) = (&versions[first].version, &versions[last].version);
            return if first == 0 {
                format!("<={hi}")
            } else if last == versions.len() - 1 {
                format!(">={lo}")
            } else {
                format!(">={lo}, <={hi}")
            };
        }
        indices
            .iter()
            .map(|i| versions[*i].version.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Every requirement on `name` seen so far, shortest text first.
    fn declared_reqs_on(&self, name: &str) -> Vec<VersionReq> {
        let mut reqs: BTreeSet<(usize, String)> = BTreeSet::new();
        let mut keep = |req: &VersionReq| {
            let text = req.to_string();
            reqs.insert((text.len(), text));
        };
        if let Some(root_reqs) = self.roots.get(name) {
            root_reqs.iter().for_each(&mut keep);
        }
        for info in self.cache.borrow().values().flatten() {
            for pv in &info.package.versions {
                self.followed(pv)
                    .filter(|d| d.name == name)
                    .for_each(|d| keep(&d.req));
            }
        }
        reqs.into_iter()
            .filter_map(|(_, text)| text.parse().ok())
            .collect()
    }
}

/// The leaves of `tree`, each shared subtree visited once.
fn collect_externals<'t>(
    tree: &'t DerivationTree<Node, VS, String>,
    out: &mut Vec<&'t External<Node, VS, String>>,
    seen: &mut BTreeSet<*const Derived<Node, VS, String>>,
) {
    match tree {
        DerivationTree::External(external) => out.push(external),
        DerivationTree::Derived(derived) => {
            if seen.insert(derived as *const _) {
                collect_externals(&derived.cause1, out, seen);
                collect_externals(&derived.cause2, out, seen);
            }
        }
    }
}

/// PubGrub's default report layout with our wording: requirements as written,
/// the root as "you require", missing packages named as such.
struct Formatter<'p, 's, S: ?Sized> {
    provider: &'p Provider<'s, S>,
}

impl<S: PackageSource + ?Sized> Formatter<'_, '_, S> {
    fn term(&self, node: &Node, term: &Term<VS>) -> String {
        match term {
            Term::Positive(set) => self.provider.with_set(node, set),
            Term::Negative(set) => {
                let rendered = self.provider.render_set(node, set);
                if rendered.is_empty() {
                    format!("no version of {node}")
                } else {
                    format!("{node} other than {rendered}")
                }
            }
        }
    }

    fn depends(&self, p: &Node, sp: &VS, d: &Node, req: String) -> String {
        let dep = if req.is_empty() {
            d.to_string()
        } else {
            format!("{d} {req}")
        };
        match p {
            Node::Root => format!("you require {dep}"),
            Node::Pkg(_) => format!("{} depends on {dep}", self.provider.with_set(p, sp)),
        }
    }
}

impl<S: PackageSource + ?Sized> ReportFormatter<Node, VS, String> for Formatter<'_, '_, S> {
    type Output = String;

    fn format_external(&self, external: &External<Node, VS, String>) -> String {
        let provider = self.provider;
        match external {
            External::NotRoot(..) => "we are resolving your request".to_string(),
            External::NoVersions(p, r) => {
                let Node::Pkg(name) = p else {
                    return "your request cannot be resolved".to_string();
                };
                match provider.info(name) {
                    None => format!("{p} is not in the registry"),
                    Some(info) => {
                        let indices = info.indices_in(r);
                        if indices.is_empty() {
                            format!("no published version of {p} matches {r}")
                        } else {
                            let yanked: Vec<String> = indices
                                .iter()
                                .map(|i| info.package.versions[*i].version.to_string())
                                .collect();
                            format!(
                                "{} has only yanked versions ({})",
                                provider.with_set(p, r),
                                yanked.join(", ")
                            )
                        }
                    }
                }
            }
            External::FromDependencyOf(p, sp, d, sd) => {
                let Node::Pkg(dep) = d else {
                    return format!("{p} depends on {d}");
                };
                let req = provider
                    .declared_req(p, sp, dep)
                    .map(|r| if r == "*" { String::new() } else { r })
                    .unwrap_or_else(|| provider.render_set(d, sd));
                let mut text = self.depends(p, sp, d, req);
                if provider.is_missing(dep) {
                    text.push_str(", which is not in the registry");
                } else if provider
                    .info(dep)
                    .is_some_and(|info| info.indices_in(sd).is_empty())
                {
                    text.push_str(&format!(", which matches no published version of {dep}"));
                }
                text
            }
            External::Custom(p, r, reason) => {
                format!("{} is unavailable: {reason}", provider.with_set(p, r))
            }
        }
    }

    fn format_terms(&self, terms: &Map<Node, Term<VS>>) -> String {
        let mut terms: Vec<(&Node, &Term<VS>)> = terms.iter().collect();
        terms.sort_by(|a, b| a.0.cmp(b.0));
        if terms.len() > 1 {
            // The request is always "selected"; it adds nothing to a conjunction.
            terms.retain(|(p, t)| !(**p == Node::Root && matches!(t, Term::Positive(_))));
        }
        match terms.as_slice() {
            [] => "version solving failed".into(),
            [(Node::Root, Term::Positive(_))] => "your requirements are unsatisfiable".into(),
            [(p, Term::Positive(r))] => format!("{} cannot be used", self.provider.with_set(p, r)),
            [(p, Term::Negative(r))] => format!("{} is required", self.provider.with_set(p, r)),
            [(p1, Term::Positive(r1)), (p2, Term::Negative(r2))]
            | [(p2, Term::Negative(r2)), (p1, Term::Positive(r1))] => {
                self.depends(p1, r1, p2, self.provider.render_set(p2, r2))
            }
            many => {
                let parts: Vec<String> = many.iter().map(|(p, t)| self.term(p, t)).collect();
                let (last, init) = parts.split_last().expect("several terms");
                format!("{} and {last} are incompatible", init.join(", "))
            }
        }
    }

    fn explain_both_external(
        &self,
        external1: &External<Node, VS, String>,
        external2: &External<Node, VS, String>,
        current_terms: &Map<Node, Term<VS>>,
    ) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(external1),
            self.format_external(external2),
            self.format_terms(current_terms)
        )
    }

    fn explain_both_ref(
        &self,
        ref_id1: usize,
        derived1: &Derived<Node, VS, String>,
        ref_id2: usize,
        derived2: &Derived<Node, VS, String>,
        current_terms: &Map<Node, Term<VS>>,
    ) -> String {
        format!(
            "Because {} ({ref_id1}) and {} ({ref_id2}), {}.",
            self.format_terms(&derived1.terms),
            self.format_terms(&derived2.terms),
            self.format_terms(current_terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        ref_id: usize,
        derived: &Derived<Node, VS, String>,
        external: &External<Node, VS, String>,
        current_terms: &Map<Node, Term<VS>>,
    ) -> String {
        format!(
            "Because {} ({ref_id}) and {}, {}.",
            self.format_terms(&derived.terms),
            self.format_external(external),
            self.format_terms(current_terms)
        )
    }

    fn and_explain_external(
        &self,
        external: &External<Node, VS, String>,
        current_terms: &Map<Node, Term<VS>>,
    ) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(external),
            self.format_terms(current_terms)
        )
    }

    fn and_explain_ref(
        &self,
        ref_id: usize,
        derived: &Derived<Node, VS, String>,
        current_terms: &Map<Node, Term<VS>>,
    ) -> String {
        format!(
            "And because {} ({ref_id}), {}.",
            self.format_terms(&derived.terms),
            self.format_terms(current_terms)
        )
    }

    fn and_explain_prior_and_external(
        &self,
        prior_external: &External<Node, VS, String>,
        external: &External<Node, VS, String>,
        current_terms: &Map<Node, Term<VS>>,
    ) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior_external),
            self.format_external(external),
            self.format_terms(current_terms)
        )
    }
}

// ---------------------------------------------------------------------------
// Synthetic registries (tests and benches)
// ---------------------------------------------------------------------------

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
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: usize| -> usize {
        // xorshift64*: small, deterministic, good enough for shapes.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % bound.max(1)
    };
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
                    let mut dep = crate::model::Dependency::new(
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
