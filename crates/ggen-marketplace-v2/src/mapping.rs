//! Unified model <-> RDF, both ways, lossless for every field.
//!
//! IRIs (all under `https://ggen.io/marketplace/`):
//!
//! ```text
//! package/{name}                          mp:Package
//! package/{name}/{version}                mp:PackageVersion
//! package/{name}/{version}/tag/{i}        mp:Tag        (mp:value, mp:position)
//! package/{name}/{version}/keyword/{i}    mp:Keyword    (mp:value, mp:position)
//! package/{name}/{version}/author/{i}     mp:Author     (mp:value, mp:position)
//! package/{name}/{version}/dependency/{i} mp:Dependency (mp:dependsOn, mp:dependencyName, mp:requirement, mp:optional, mp:position)
//! package/{name}/{version}/signature      mp:Signature
//! registry                                mp:Registry   (mp:generation)
//! ```
//!
//! Names are `[a-z0-9._-]` and semver versions `[0-9A-Za-z.+-]`, all valid IRI
//! path characters, so no escaping is needed. List order (and duplicates) survive
//! because every entry is its own node with an `mp:position`; a node's children
//! always have IRIs that extend the parent's IRI with `/`, which is how a whole
//! package or version is fetched back ([`crate::store::GraphStore::describe`]).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use ggen_marketplace_core::model::{Dependency, Package, PackageVersion, Signature};
use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{Literal, NamedNode, NamedOrBlankNode, Term, Triple};

pub const NS: &str = "https://ggen.io/marketplace/";

#[cfg(test)]
/// The ontology, as shipped (`ontology/marketplace.ttl`).
pub const ONTOLOGY_TTL: &str = include_str!("../ontology/marketplace.ttl");

/// `mp:` terms.
pub mod mp {
    use oxigraph::model::NamedNode;

    pub fn iri(local: &str) -> NamedNode {
        NamedNode::new_unchecked(format!("{}{local}", super::NS))
    }

    macro_rules! terms {
        ($($f:ident = $l:literal),* $(,)?) => {
            $(pub fn $f() -> NamedNode { iri($l) })*
        };
    }
    terms! {
        registry_class = "Registry", package_class = "Package", version_class = "PackageVersion",
        tag_class = "Tag", keyword_class = "Keyword", author_class = "Author",
        dependency_class = "Dependency", signature_class = "Signature",
        generation = "generation", name = "name", downloads = "downloads", stars = "stars",
        has_version = "hasVersion", version_of = "versionOf", version = "version",
        description = "description", category = "category", license = "license",
        repository = "repository", homepage = "homepage", production_ready = "productionReady",
        path = "path", download_url = "downloadUrl", checksum = "checksum", size = "size",
        yanked = "yanked", published_at = "publishedAt", tag = "tag", keyword = "keyword",
        author = "author", dependency = "dependency", signature = "signature", value = "value",
        position = "position", depends_on = "dependsOn", dependency_name = "dependencyName",
        requirement = "requirement", optional = "optional", algorithm = "algorithm",
        key_id = "keyId", public_key = "publicKey", signature_value = "signatureValue",
        statement = "statement", topic_scheme = "topicScheme",
        change_class = "Change", change_generation = "changeGeneration",
        changed_package = "changedPackage", changed_everything = "changedEverything",
        change_id = "changeId", index_snapshot_class = "IndexSnapshot",
        snapshot_generation = "snapshotGeneration", snapshot_base = "snapshotBase",
        snapshot_delta = "snapshotDelta",
    }

    /// The node holding the registry's generation counter.
    pub fn registry() -> NamedNode {
        iri("registry")
    }
}

pub fn package_iri(name: &str) -> NamedNode {
    mp::iri(&format!("package/{name}"))
}

pub fn version_iri(name: &str, version: &semver::Version) -> NamedNode {
    mp::iri(&format!("package/{name}/{version}"))
}

fn child(parent: &NamedNode, rest: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{}/{rest}", parent.as_str()))
}

fn string(s: &str) -> Term {
    Literal::new_simple_literal(s).into()
}

fn integer(n: u64) -> Term {
    Literal::new_typed_literal(n.to_string(), xsd::INTEGER).into()
}

fn boolean(b: bool) -> Term {
    Literal::from(b).into()
}

fn datetime(t: &DateTime<Utc>) -> Term {
    Literal::new_typed_literal(
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        xsd::DATE_TIME,
    )
    .into()
}

struct Out(Vec<Triple>);

impl Out {
    fn add(&mut self, s: &NamedNode, p: NamedNode, o: impl Into<Term>) {
        self.0.push(Triple::new(s.clone(), p, o.into()));
    }
}

/// The package node alone: type, name and counters.
pub fn package_node_triples(name: &str, downloads: u64, stars: u64) -> Vec<Triple> {
    let mut out = Out(Vec::new());
    let p = package_iri(name);
    out.add(&p, rdf::TYPE.into_owned(), mp::package_class());
    out.add(&p, mp::name(), string(name));
    out.add(&p, mp::downloads(), integer(downloads));
    out.add(&p, mp::stars(), integer(stars));
    out.0
}

/// Counter triples of a package (what `set_counters` replaces).
pub fn counter_triples(name: &str, downloads: u64, stars: u64) -> Vec<Triple> {
    let p = package_iri(name);
    vec![
        Triple::new(p.clone(), mp::downloads(), integer(downloads)),
        Triple::new(p, mp::stars(), integer(stars)),
    ]
}

pub fn yanked_triple(name: &str, version: &semver::Version, yanked: bool) -> Triple {
    Triple::new(version_iri(name, version), mp::yanked(), boolean(yanked))
}

/// One version, with the `mp:hasVersion` link from its package (the package node
/// itself is written by [`package_node_triples`]).
pub fn version_triples(v: &PackageVersion) -> Vec<Triple> {
    let mut out = Out(Vec::new());
    let pkg = package_iri(&v.name);
    let s = version_iri(&v.name, &v.version);
    out.add(&pkg, mp::has_version(), s.clone());
    out.add(&s, rdf::TYPE.into_owned(), mp::version_class());
    out.add(&s, mp::version_of(), pkg);
    out.add(&s, mp::name(), string(&v.name));
    out.add(&s, mp::version(), string(&v.version.to_string()));
    out.add(&s, mp::description(), string(&v.description));
    let opt = |out: &mut Out, p: NamedNode, o: &Option<String>| {
        if let Some(o) = o {
            out.add(&s, p, string(o));
        }
    };
    opt(&mut out, mp::category(), &v.category);
    opt(&mut out, mp::license(), &v.license);
    opt(&mut out, mp::repository(), &v.repository);
    opt(&mut out, mp::homepage(), &v.homepage);
    opt(&mut out, mp::path(), &v.path);
    opt(&mut out, mp::download_url(), &v.download_url);
    opt(&mut out, mp::checksum(), &v.checksum);
    out.add(&s, mp::production_ready(), boolean(v.production_ready));
    out.add(&s, mp::yanked(), boolean(v.yanked));
    if let Some(size) = v.size {
        out.add(&s, mp::size(), integer(size));
    }
    if let Some(t) = &v.published_at {
        out.add(&s, mp::published_at(), datetime(t));
    }
    for (kind, link, class, list) in [
        ("tag", mp::tag(), mp::tag_class(), &v.tags),
        ("keyword", mp::keyword(), mp::keyword_class(), &v.keywords),
        ("author", mp::author(), mp::author_class(), &v.authors),
    ] {
        for (i, value) in list.iter().enumerate() {
            let e = child(&s, &format!("{kind}/{i}"));
            out.add(&s, link.clone(), e.clone());
            out.add(&e, rdf::TYPE.into_owned(), class.clone());
            out.add(&e, mp::value(), string(value));
            out.add(&e, mp::position(), integer(i as u64));
        }
    }
    for (i, d) in v.dependencies.iter().enumerate() {
        let e = child(&s, &format!("dependency/{i}"));
        out.add(&s, mp::dependency(), e.clone());
        out.add(&e, rdf::TYPE.into_owned(), mp::dependency_class());
        out.add(&e, mp::depends_on(), package_iri(&d.name));
        out.add(&e, mp::dependency_name(), string(&d.name));
        out.add(&e, mp::requirement(), string(&d.req.to_string()));
        out.add(&e, mp::optional(), boolean(d.optional));
        out.add(&e, mp::position(), integer(i as u64));
    }
    if let Some(sig) = &v.signature {
        let e = child(&s, "signature");
        out.add(&s, mp::signature(), e.clone());
        out.add(&e, rdf::TYPE.into_owned(), mp::signature_class());
        out.add(&e, mp::algorithm(), string(&sig.algorithm));
        out.add(&e, mp::key_id(), string(&sig.key_id));
        out.add(&e, mp::public_key(), string(&sig.public_key));
        out.add(&e, mp::signature_value(), string(&sig.signature));
        out.add(&e, mp::statement(), string(&sig.statement));
    }
    out.0
}

#[cfg(test)]
/// A whole package: its node and every version.
pub fn package_to_triples(p: &Package) -> Vec<Triple> {
    let mut t = package_node_triples(&p.name, p.downloads, p.stars);
    for v in &p.versions {
        t.extend(version_triples(v));
    }
    t
}

fn corrupt(subject: &str, reason: impl std::fmt::Display) -> MarketplaceError {
    MarketplaceError::backend(
        "v2",
        format!("graph node <{subject}> is malformed: {reason}"),
    )
}

/// Triples grouped by subject IRI, for reading nodes back.
pub struct Nodes {
    by_subject: HashMap<String, Vec<(NamedNode, Term)>>,
}

impl Nodes {
    pub fn new<'a>(triples: impl IntoIterator<Item = &'a Triple>) -> Self {
        let mut by_subject: HashMap<String, Vec<(NamedNode, Term)>> = HashMap::new();
        for t in triples {
            if let NamedOrBlankNode::NamedNode(s) = &t.subject {
                by_subject
                    .entry(s.as_str().to_string())
                    .or_default()
                    .push((t.predicate.clone(), t.object.clone()));
            }
        }
        Self { by_subject }
    }

    fn props(&self, s: &str) -> &[(NamedNode, Term)] {
        self.by_subject.get(s).map(Vec::as_slice).unwrap_or(&[])
    }

    fn all<'a>(&'a self, s: &str, p: &'a NamedNode) -> impl Iterator<Item = &'a Term> + 'a {
        self.props(s)
            .iter()
            .filter(move |(pp, _)| pp == p)
            .map(|(_, o)| o)
    }

    fn one<'a>(&'a self, s: &str, p: &'a NamedNode) -> Result<Option<&'a Term>> {
        let mut it = self.all(s, p);
        let first = it.next();
        if it.next().is_some() {
            return Err(corrupt(s, format!("more than one <{}>", p.as_str())));
        }
        Ok(first)
    }

    fn str_opt(&self, s: &str, p: &NamedNode) -> Result<Option<String>> {
        match self.one(s, p)? {
            None => Ok(None),
            Some(Term::Literal(l)) => Ok(Some(l.value().to_string())),
            Some(other) => Err(corrupt(
                s,
                format!("<{}> is not a literal: {other}", p.as_str()),
            )),
        }
    }

    fn str_req(&self, s: &str, p: &NamedNode) -> Result<String> {
        self.str_opt(s, p)?
            .ok_or_else(|| corrupt(s, format!("missing <{}>", p.as_str())))
    }

    fn u64_opt(&self, s: &str, p: &NamedNode) -> Result<Option<u64>> {
        self.str_opt(s, p)?
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|e| corrupt(s, format!("<{}> `{v}`: {e}", p.as_str())))
            })
            .transpose()
    }

    fn bool_opt(&self, s: &str, p: &NamedNode) -> Result<Option<bool>> {
        self.str_opt(s, p)?
            .map(|v| match v.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(corrupt(
                    s,
                    format!("<{}> `{v}` is not a boolean", p.as_str()),
                )),
            })
            .transpose()
    }

    fn objects(&self, s: &str, p: &NamedNode) -> Vec<String> {
        self.all(s, p)
            .filter_map(|o| match o {
                Term::NamedNode(n) => Some(n.as_str().to_string()),
                _ => None,
            })
            .collect()
    }

    /// The nodes `s` links with `p`, each of which must be in `s`'s own tree
    /// (its IRI extends `s`'s with `/`): a link into another package's nodes
    /// would make this one read that package's versions or entries as its
    /// own.
    fn children(&self, s: &str, p: &NamedNode) -> Result<Vec<String>> {
        let children = self.objects(s, p);
        if let Some(out) = children.iter().find(|c| {
            c.strip_prefix(s)
                .is_none_or(|rest| !rest.starts_with('/') || rest.len() == 1)
        }) {
            return Err(corrupt(
                s,
                format!(
                    "<{}> links <{out}>, which is not one of its own nodes (<{s}/...>)",
                    p.as_str()
                ),
            ));
        }
        Ok(children)
    }

    /// Entries of a list property, ordered by `mp:position`.
    fn ordered(&self, s: &str, p: &NamedNode) -> Result<Vec<String>> {
        let mut entries = Vec::new();
        for e in self.children(s, p)? {
            let pos = self
                .u64_opt(&e, &mp::position())?
                .ok_or_else(|| corrupt(&e, "missing mp:position"))?;
            entries.push((pos, e));
        }
        entries.sort();
        Ok(entries.into_iter().map(|(_, e)| e).collect())
    }

    pub fn has_type(&self, s: &str, class: &NamedNode) -> bool {
        self.all(s, &rdf::TYPE.into_owned())
            .any(|o| matches!(o, Term::NamedNode(n) if n == class))
    }

    /// Subjects typed `class`.
    pub fn subjects_of_type(&self, class: &NamedNode) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_subject
            .keys()
            .filter(|s| self.has_type(s, class))
            .cloned()
            .collect();
        v.sort();
        v
    }

    pub fn version(&self, s: &str) -> Result<PackageVersion> {
        let version_text = self.str_req(s, &mp::version())?;
        let version = version_text
            .parse::<semver::Version>()
            .map_err(|e| corrupt(s, format!("version `{version_text}`: {e}")))?;
        let name = self.str_req(s, &mp::name())?;
        if version_iri(&name, &version).as_str() != s {
            return Err(corrupt(
                s,
                format!("it says it is `{name}@{version}`, which is not what its IRI names"),
            ));
        }
        let mut v = PackageVersion::new(name, version);
        v.description = self.str_opt(s, &mp::description())?.unwrap_or_default();
        v.category = self.str_opt(s, &mp::category())?;
        v.license = self.str_opt(s, &mp::license())?;
        v.repository = self.str_opt(s, &mp::repository())?;
        v.homepage = self.str_opt(s, &mp::homepage())?;
        v.path = self.str_opt(s, &mp::path())?;
        v.download_url = self.str_opt(s, &mp::download_url())?;
        v.checksum = self.str_opt(s, &mp::checksum())?;
        v.production_ready = self.bool_opt(s, &mp::production_ready())?.unwrap_or(false);
        v.yanked = self.bool_opt(s, &mp::yanked())?.unwrap_or(false);
        v.size = self.u64_opt(s, &mp::size())?;
        v.published_at = self
            .str_opt(s, &mp::published_at())?
            .map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|e| corrupt(s, format!("publishedAt `{t}`: {e}")))
            })
            .transpose()?;
        let values = |p: NamedNode| -> Result<Vec<String>> {
            self.ordered(s, &p)?
                .iter()
                .map(|e| self.str_req(e, &mp::value()))
                .collect()
        };
        v.tags = values(mp::tag())?;
        v.keywords = values(mp::keyword())?;
        v.authors = values(mp::author())?;
        for e in self.ordered(s, &mp::dependency())? {
            let name = self.str_req(&e, &mp::dependency_name())?;
            let req_text = self.str_req(&e, &mp::requirement())?;
            let req = req_text
                .parse()
                .map_err(|err| corrupt(&e, format!("requirement `{req_text}`: {err}")))?;
            v.dependencies.push(Dependency {
                name,
                req,
                optional: self.bool_opt(&e, &mp::optional())?.unwrap_or(false),
            });
        }
        if let Some(e) = self.children(s, &mp::signature())?.first() {
            v.signature = Some(Signature {
                algorithm: self.str_req(e, &mp::algorithm())?,
                key_id: self.str_req(e, &mp::key_id())?,
                public_key: self.str_req(e, &mp::public_key())?,
                signature: self.str_req(e, &mp::signature_value())?,
                statement: self.str_req(e, &mp::statement())?,
            });
        }
        Ok(v)
    }

    pub fn package(&self, s: &str) -> Result<Package> {
        let name = self.str_req(s, &mp::name())?;
        if package_iri(&name).as_str() != s {
            return Err(corrupt(
                s,
                format!("it says it is package `{name}`, which is not what its IRI names"),
            ));
        }
        let mut versions = Vec::new();
        for v in self.children(s, &mp::has_version())? {
            versions.push(self.version(&v)?);
        }
        if versions.is_empty() {
            return Err(corrupt(s, "package has no versions"));
        }
        let mut p = Package {
            name,
            downloads: self.u64_opt(s, &mp::downloads())?.unwrap_or(0),
            stars: self.u64_opt(s, &mp::stars())?.unwrap_or(0),
            versions,
        };
        p.sort_versions();
        Ok(p)
    }

    /// Every package in these triples, by name.
    pub fn packages(&self) -> Result<Vec<Package>> {
        let mut out = Vec::new();
        for s in self.subjects_of_type(&mp::package_class()) {
            out.push(self.package(&s)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

#[cfg(test)]
pub fn packages_from_triples(triples: &[Triple]) -> Result<Vec<Package>> {
    Nodes::new(triples).packages()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use ggen_test_support::strategies::package;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn package_round_trips_through_triples(p in package()) {
            let triples = package_to_triples(&p);
            let back = packages_from_triples(&triples).unwrap();
            prop_assert_eq!(back, vec![p]);
        }

        #[test]
        fn package_round_trips_through_an_oxigraph_store(p in package()) {
            let store = oxigraph::store::Store::new().unwrap();
            for t in package_to_triples(&p) {
                store.insert(t.as_ref().in_graph(oxigraph::model::GraphNameRef::DefaultGraph)).unwrap();
            }
            let triples: Vec<Triple> = store.iter().map(|q| Triple::from(q.unwrap())).collect();
            prop_assert_eq!(packages_from_triples(&triples).unwrap(), vec![p]);
        }
    }

    #[test]
    fn ontology_parses_with_a_standard_parser() {
        use oxigraph::io::{RdfFormat, RdfParser};
        let triples: Vec<_> = RdfParser::from_format(RdfFormat::Turtle)
            .for_slice(ONTOLOGY_TTL.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert!(triples.len() > 100);
        // Every mp: term the mapping writes is declared in the ontology.
        let declared: std::collections::HashSet<String> =
            triples.iter().map(|q| q.subject.to_string()).collect();
        let mut v = PackageVersion::new("a.b", "1.0.0".parse().unwrap());
        v.tags = vec!["t".into()];
        v.keywords = vec!["k".into()];
        v.authors = vec!["a".into()];
        v.dependencies = vec![Dependency::new("d", "*".parse().unwrap())];
        v.signature = Some(Signature {
            algorithm: "ed25519".into(),
            key_id: "k".into(),
            public_key: "p".into(),
            signature: "s".into(),
            statement: "st".into(),
        });
        v.category = Some("c".into());
        v.license = Some("MIT".into());
        v.repository = Some("r".into());
        v.homepage = Some("h".into());
        v.path = Some("p".into());
        v.download_url = Some("u".into());
        v.checksum = Some("c".into());
        v.size = Some(1);
        v.published_at = Some(Utc::now());
        let mut all = package_node_triples("a.b", 1, 2);
        all.extend(version_triples(&v));
        for t in all {
            for term in [t.predicate.to_string(), t.object.to_string()] {
                if term.starts_with(&format!("<{NS}"))
                    && !term.starts_with(&format!("<{NS}package/"))
                {
                    assert!(
                        declared.contains(&term),
                        "{term} is not declared in the ontology"
                    );
                }
            }
        }
        for term in [
            "generation",
            "Change",
            "changeGeneration",
            "changedPackage",
            "changedEverything",
            "changeId",
            "IndexSnapshot",
            "snapshotGeneration",
            "snapshotBase",
            "snapshotDelta",
        ] {
            assert!(declared.contains(&format!("<{NS}{term}>")), "{term}");
        }
    }

    /// A graph where one package's version links a node of another package
    /// (a neighbour whose name it extends, too), or a node names itself other
    /// than its IRI does, is refused, naming the node; read naively, the
    /// package would have shown the other's tag or version as its own.
    #[test]
    fn a_node_out_of_its_place_is_refused() {
        let one = |name: &str| {
            let mut v = PackageVersion::new(name.to_string(), "1.0.0".parse().unwrap());
            v.tags = vec![format!("{name}-tag")];
            Package {
                name: name.to_string(),
                downloads: 0,
                stars: 0,
                versions: vec![v],
            }
        };
        let mut base = package_to_triples(&one("a"));
        base.extend(package_to_triples(&one("a-b")));
        assert_eq!(packages_from_triples(&base).unwrap().len(), 2);
        let v1: semver::Version = "1.0.0".parse().unwrap();
        let their_tag = mp::iri("package/a-b/1.0.0/tag/0");
        let their_version = version_iri("a-b", &v1);
        for (s, p, o) in [
            (version_iri("a", &v1), mp::tag(), their_tag.clone()),
            (package_iri("a"), mp::has_version(), their_version.clone()),
        ] {
            let mut triples = base.clone();
            triples.push(Triple::new(s.clone(), p.clone(), o.clone()));
            let err = packages_from_triples(&triples).unwrap_err().to_string();
            assert!(
                err.contains(&format!("<{}> links <{}>", p.as_str(), o.as_str()))
                    && err.contains(s.as_str()),
                "{err}"
            );
        }
        // A node whose own name or version is not the one its IRI names
        // (which would let it stand in for another package, or a name that
        // could never be an IRI).
        for (node, p, said) in [
            (package_iri("a"), mp::name(), "a-b"),
            (package_iri("a"), mp::name(), "../a"),
            (version_iri("a", &v1), mp::name(), "a-b"),
            (version_iri("a", &v1), mp::version(), "2.0.0"),
        ] {
            let triples: Vec<Triple> = base
                .iter()
                .map(|t| {
                    if t.subject == node.clone().into() && t.predicate == p {
                        Triple::new(node.clone(), p.clone(), Literal::new_simple_literal(said))
                    } else {
                        t.clone()
                    }
                })
                .collect();
            let err = packages_from_triples(&triples).unwrap_err().to_string();
            assert!(
                err.contains(node.as_str()) && err.contains("not what its IRI names"),
                "{err}"
            );
        }
    }

    #[test]
    fn iris_follow_the_documented_scheme() {
        assert_eq!(
            package_iri("io.ggen.x").as_str(),
            "https://ggen.io/marketplace/package/io.ggen.x"
        );
        let v: semver::Version = "1.0.0-rc.1+build.5".parse().unwrap();
        assert_eq!(
            version_iri("a", &v).as_str(),
            "https://ggen.io/marketplace/package/a/1.0.0-rc.1+build.5"
        );
        assert!(NamedNode::new(version_iri("a", &v).as_str()).is_ok());
    }
}
