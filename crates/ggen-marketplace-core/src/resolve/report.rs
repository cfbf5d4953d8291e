//! Explaining failures: PubGrub's derivation trees rendered with
//! requirements as they were written (`b ^2`), and the dead ends named.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, Ranges, ReportFormatter,
    Reporter, Term,
};
use semver::VersionReq;

use super::provider::{Node, Provider, VS};
use super::*;

// PubGrub's types for this resolver's packages (`Node`) and version sets (`VS`).
type Tree = DerivationTree<Node, VS, String>;
type Der = Derived<Node, VS, String>;
type Ext = External<Node, VS, String>;
type Terms = Map<Node, Term<VS>>;

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
    pub(super) fn explain(&self, tree: &Tree) -> ResolveError {
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
    fn drop_gaps(&self, tree: &Tree, memo: &mut HashMap<*const Der, Tree>) -> Tree {
        let DerivationTree::Derived(derived) = tree else {
            return tree.clone();
        };
        let key: *const Der = derived;
        if let Some(done) = memo.get(&key) {
            return done.clone();
        }
        let is_gap = |t: &Tree| match t {
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
    fn dead_no_versions(&self, p: &Node, r: &VS, externals: &[&Ext]) -> Option<DeadEnd> {
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
    fn path_to(&self, node: &Node, text: String, externals: &[&Ext]) -> Vec<String> {
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
fn collect_externals<'t>(tree: &'t Tree, out: &mut Vec<&'t Ext>, seen: &mut BTreeSet<*const Der>) {
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

    /// A derived incompatibility, cited by its number in the report.
    fn cite(&self, ref_id: usize, derived: &Der) -> String {
        format!("{} ({ref_id})", self.format_terms(&derived.terms))
    }

    /// One line of the report: its reasons, then what follows from them.
    fn conclude(&self, reasons: String, terms: &Terms) -> String {
        format!("{reasons}, {}.", self.format_terms(terms))
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

    fn format_external(&self, external: &Ext) -> String {
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

    fn format_terms(&self, terms: &Terms) -> String {
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

    fn explain_both_external(&self, e1: &Ext, e2: &Ext, terms: &Terms) -> String {
        let (a, b) = (self.format_external(e1), self.format_external(e2));
        self.conclude(format!("Because {a} and {b}"), terms)
    }

    fn explain_both_ref(
        &self,
        id1: usize,
        d1: &Der,
        id2: usize,
        d2: &Der,
        terms: &Terms,
    ) -> String {
        let (a, b) = (self.cite(id1, d1), self.cite(id2, d2));
        self.conclude(format!("Because {a} and {b}"), terms)
    }

    fn explain_ref_and_external(&self, id: usize, d: &Der, e: &Ext, terms: &Terms) -> String {
        let (a, b) = (self.cite(id, d), self.format_external(e));
        self.conclude(format!("Because {a} and {b}"), terms)
    }

    fn and_explain_external(&self, e: &Ext, terms: &Terms) -> String {
        let a = self.format_external(e);
        self.conclude(format!("And because {a}"), terms)
    }

    fn and_explain_ref(&self, id: usize, d: &Der, terms: &Terms) -> String {
        let a = self.cite(id, d);
        self.conclude(format!("And because {a}"), terms)
    }

    fn and_explain_prior_and_external(&self, prior: &Ext, e: &Ext, terms: &Terms) -> String {
        let (a, b) = (self.format_external(prior), self.format_external(e));
        self.conclude(format!("And because {a} and {b}"), terms)
    }
}
