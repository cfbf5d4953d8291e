//! [`MarketplaceBackend`] for V2: search and listing from the term index, and
//! so are `info` and versions on a local store (from the index's package
//! records, which every write keeps at the graph's generation); writes,
//! metadata and a remote endpoint's packages from the graph; archives from
//! the content-addressed blob store.

use std::time::Instant;

use ggen_marketplace_core::model::{Package, PackageSummary, PackageVersion};
use ggen_marketplace_core::name::validate_name;
use ggen_marketplace_core::search::{SearchHit, SearchQuery, SearchResults};
use ggen_marketplace_core::{
    ArchiveStream, BackendKind, BackendMetadata, Capabilities, MarketplaceBackend,
    MarketplaceError, Result,
};
use oxigraph::model::vocab::rdf;
use semver::Version;

use crate::mapping::{mp, package_iri, version_iri};
use crate::store::{Answer, Op};
use crate::{V2Backend, complete, mapping, store};

impl MarketplaceBackend for V2Backend {
    fn kind(&self) -> BackendKind {
        BackendKind::V2
    }

    fn metadata(&self) -> Result<BackendMetadata> {
        let ix = self.index()?;
        let q = format!(
            "SELECT (COUNT(?v) AS ?n) WHERE {{ ?v {} {} }}",
            rdf::TYPE,
            mp::version_class()
        );
        let version_count = match self.store()?.query(&store::parse_query(&q)?)? {
            Answer::Solutions { rows, .. } => rows
                .first()
                .and_then(|r| r.first())
                .and_then(|t| t.as_ref())
                .and_then(store::term_u64)
                .unwrap_or(0) as usize,
            _ => 0,
        };
        let (storage, location) = self.store()?.describe_location();
        Ok(BackendMetadata {
            kind: BackendKind::V2,
            storage,
            location,
            package_count: ix.len(),
            version_count,
            capabilities: Capabilities::GRAPH,
        })
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        query.validate()?;
        let started = Instant::now();
        let ix = self.index()?;
        let (page, total) = ix.search(query)?;
        let hits = page
            .iter()
            .map(|s| {
                let d = &ix.doc(s.doc)?.summary;
                Ok(SearchHit {
                    name: d.name.clone(),
                    version: d.version.clone(),
                    description: d.description.clone(),
                    category: d.category.clone(),
                    tags: d.tags.clone(),
                    downloads: d.downloads,
                    score: s.score,
                    explain: s.explain.clone(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(SearchResults {
            hits,
            total,
            backend_used: BackendKind::V2,
            query_time: started.elapsed(),
        })
    }

    fn package(&self, name: &str) -> Result<Package> {
        let not_found = || MarketplaceError::NotFound {
            name: name.to_string(),
        };
        if validate_name(name).is_err() {
            return Err(not_found());
        }
        self.stored_package(name)?.ok_or_else(not_found)
    }

    fn list(&self) -> Result<Vec<PackageSummary>> {
        // The term index holds every package's summary and is brought up to date
        // with the graph before use, so listing needs no pass over the store.
        let ix = self.index()?;
        let mut out: Vec<PackageSummary> = ix
            .ids()
            .map(|i| Ok(ix.doc(i)?.summary.clone()))
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn fetch_archive(&self, name: &str, version: &Version) -> Result<Vec<u8>> {
        let release = self.stored_release(name, version)?;
        let checksum = release.checksum.as_deref();
        ggen_marketplace_core::blobs::read_archive(self.blobs(), name, version, checksum)
    }

    fn open_archive(&self, name: &str, version: &Version) -> Result<ArchiveStream> {
        let release = self.stored_release(name, version)?;
        let checksum = release.checksum.as_deref();
        ggen_marketplace_core::blobs::open_archive(self.blobs(), name, version, checksum)
    }

    fn publish(&self, release: &PackageVersion, archive: &[u8]) -> Result<()> {
        let lock = self.lock()?;
        ggen_marketplace_core::backend::check_release(release, archive)?;
        let iri = version_iri(&release.name, &release.version);
        if self.exists(&iri, mp::version_class())? {
            return Err(MarketplaceError::AlreadyPublished {
                name: release.name.clone(),
                version: release.version.to_string(),
            });
        }
        let release = complete(release, archive);
        self.store_blob(release.checksum.as_deref().unwrap_or_default(), archive)?;
        let mut triples = Vec::new();
        if !self.exists(&package_iri(&release.name), mp::package_class())? {
            triples.extend(mapping::package_node_triples(&release.name, 0, 0));
        }
        triples.extend(mapping::version_triples(&release));
        // The scheme the links are made with is the graph's, or the shipped
        // one `commit` installs with this write.
        triples.extend(crate::topics::links(&release, self.index()?.scheme()));
        self.commit(
            &lock,
            vec![Op::Insert(triples)],
            std::slice::from_ref(&release.name),
        )
    }

    fn retract(&self, name: &str, version: &Version) -> Result<()> {
        let lock = self.lock()?;
        // Read from the graph, not the index's records: what is deleted must
        // be exactly what is stored. The mapping is lossless, so mapping the
        // stored version again yields exactly the triples it was written as.
        let stored = self.graph_release(name, version)?;
        let mut doomed = mapping::version_triples(&stored);
        let pkg = self
            .graph_package(name)?
            .ok_or_else(|| MarketplaceError::NotFound {
                name: name.to_string(),
            })?;
        if pkg.versions.len() == 1 {
            doomed.extend(mapping::package_node_triples(
                name,
                pkg.downloads,
                pkg.stars,
            ));
        }
        // The archive blob stays: blobs are content-addressed and may be shared.
        let links = Op::DeleteValues(
            version_iri(name, version),
            oxigraph::model::NamedNode::new_unchecked(crate::topics::SUBJECT),
        );
        self.commit(&lock, vec![Op::Delete(doomed), links], &[name.to_string()])
    }

    fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<()> {
        let lock = self.lock()?;
        if validate_name(name).is_err() {
            return Err(MarketplaceError::NotFound {
                name: name.to_string(),
            });
        }
        let iri = version_iri(name, version);
        if !self.exists(&iri, mp::version_class())? {
            return Err(self.missing_version(name, version)?);
        }
        self.commit(
            &lock,
            vec![
                Op::DeleteValues(iri, mp::yanked()),
                Op::Insert(vec![mapping::yanked_triple(name, version, yanked)]),
            ],
            &[name.to_string()],
        )
    }
}
