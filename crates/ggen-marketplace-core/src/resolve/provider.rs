//! The PubGrub dependency provider: packages from a [`PackageSource`],
//! requirements as ranges of published versions, the lockfile's pins first.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Bound;
use std::rc::Rc;

use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics, Ranges,
};
use semver::{Version, VersionReq};

use crate::model::{Package, PackageVersion};

use super::*;

pub(super) type VS = Ranges<Version>;

/// A solver package: the virtual root (the request) or a registry package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Node {
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
pub(super) struct Info {
    pub(super) package: Package,
    pub(super) locked: Option<Version>,
}

impl Info {
    pub(super) fn usable(&self, pv: &PackageVersion) -> bool {
        !pv.yanked || self.locked.as_ref() == Some(&pv.version)
    }

    pub(super) fn candidates(&self) -> Vec<Candidate> {
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
    pub(super) fn indices_in(&self, set: &VS) -> Vec<usize> {
        self.package
            .versions
            .iter()
            .enumerate()
            .filter(|(_, pv)| set.contains(&pv.version))
            .map(|(i, _)| i)
            .collect()
    }

    pub(super) fn indices_matching(&self, reqs: &[&VersionReq]) -> Vec<usize> {
        self.package
            .versions
            .iter()
            .enumerate()
            .filter(|(_, pv)| reqs.iter().all(|r| r.matches(&pv.version)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The published versions at `indices` as closed intervals over runs.
    pub(super) fn ranges(&self, indices: &[usize]) -> VS {
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

pub(super) struct Provider<'s, S: ?Sized> {
    pub(super) source: &'s S,
    pub(super) options: &'s ResolveOptions,
    pub(super) roots: BTreeMap<String, Vec<VersionReq>>,
    /// Every package asked for, fetched once; `None` = not in the registry.
    pub(super) cache: RefCell<HashMap<String, Option<Rc<Info>>>>,
}

impl<S: PackageSource + ?Sized> Provider<'_, S> {
    pub(super) fn fetch(&self, name: &str) -> std::result::Result<Option<Rc<Info>>, ResolveError> {
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
    pub(super) fn info(&self, name: &str) -> Option<Rc<Info>> {
        self.cache.borrow().get(name).cloned().flatten()
    }

    pub(super) fn is_missing(&self, name: &str) -> bool {
        matches!(self.cache.borrow().get(name), Some(None))
    }

    /// The dependencies of `pv` that resolution follows.
    pub(super) fn followed<'p>(
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
    pub(super) fn requirement_set(
        &self,
        name: &str,
        reqs: &[&VersionReq],
    ) -> std::result::Result<VS, ResolveError> {
        Ok(match self.fetch(name)? {
            None => Ranges::empty(),
            Some(info) => info.ranges(&info.indices_matching(reqs)),
        })
    }

    pub(super) fn constraints(
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
