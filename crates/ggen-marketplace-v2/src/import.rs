//! Writes of many versions at once: migration's streaming import, a backup's
//! graph, counters, and clearing the store for `rebuild-db`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use ggen_marketplace_core::model::{Package, PackageVersion};
use ggen_marketplace_core::name::validate_name;
use ggen_marketplace_core::{MarketplaceError, Result};
use oxigraph::io::RdfFormat;
use oxigraph::model::vocab::rdf;
use oxigraph::model::{NamedNode, Term};

use crate::mapping::{Nodes, mp, package_iri, version_iri};
use crate::store::{Answer, Change, Changed, Op};
use crate::terms::{Doc, TermIndex};
use crate::{BACKEND, BATCH, V2Backend, complete, mapping, store};

/// From this many new versions on, an import into a local store goes through
/// Oxigraph's bulk loader (one atomic SST ingestion) instead of transactions.
pub const BULK_MIN_RELEASES: usize = 2_000;

impl V2Backend {
    /// Loads an N-Triples graph (a backup's `v2.nt`) into an empty store, in
    /// atomic batches, then rebuilds the term index. Returns the triple count.
    pub fn load_graph(&self, ntriples: &[u8]) -> Result<usize> {
        let lock = self.lock()?;
        if self.triple_count()? > 0 {
            return Err(MarketplaceError::backend(
                BACKEND,
                "the store is not empty; a graph is only loaded into a new store",
            ));
        }
        let mut batch = Vec::with_capacity(BATCH * 20);
        let mut total = 0;
        for t in oxigraph::io::RdfParser::from_format(RdfFormat::NTriples).for_slice(ntriples) {
            let q = t.map_err(|e| MarketplaceError::InvalidArchive {
                reason: format!("the V2 graph does not parse: {e}"),
            })?;
            batch.push(oxigraph::model::Triple::from(q));
            if batch.len() >= BATCH * 20 {
                total += batch.len();
                lock.check()?;
                self.store()?
                    .apply(&[Op::Insert(std::mem::take(&mut batch))])?;
            }
        }
        total += batch.len();
        lock.check()?;
        self.store()?.apply(&[
            Op::Insert(batch),
            Op::BumpGeneration(Change::new(Changed::Everything)),
        ])?;
        let ix = self.build_index(self.store()?.generation()?)?;
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        Ok(total)
    }

    /// Replaces the graph of a remote endpoint with `ntriples` (a backup's
    /// `v2.nt`) in one visible step, then rebuilds the term index. Returns
    /// the number of triples.
    pub fn restore_remote_graph(&self, ntriples: &[u8]) -> Result<usize> {
        let lock = self.lock()?;
        let triples = oxigraph::io::RdfParser::from_format(RdfFormat::NTriples)
            .for_slice(ntriples)
            .map(|q| q.map(oxigraph::model::Triple::from))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| MarketplaceError::InvalidArchive {
                reason: format!("the V2 graph does not parse: {e}"),
            })?;
        lock.check()?;
        self.store()?.replace_remote_graph(&triples, BATCH * 20)?;
        let ix = self.build_index(self.store()?.generation()?)?;
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        Ok(triples.len())
    }

    /// Publishes many versions (seeding, benchmarks). Versions already present
    /// with the same checksum are skipped, so a re-run after a crash completes
    /// the work; the same version with another checksum is
    /// [`MarketplaceError::AlreadyPublished`]. Returns how many were added.
    pub fn publish_many(&self, releases: &[(PackageVersion, Vec<u8>)]) -> Result<usize> {
        self.import_stream(
            releases
                .iter()
                .map(|(r, a)| Ok((complete(r, a), Some(a.clone())))),
            &HashMap::new(),
        )
    }

    /// Copies versions in exactly as given (migration from V1): nothing is
    /// filled in, so V1 -> V2 stays lossless. A release without an archive is
    /// metadata only (the real public index has no archives); one with an
    /// archive must match its checksum. Re-runs skip what is already there.
    pub fn import(&self, releases: &[(PackageVersion, Option<Vec<u8>>)]) -> Result<usize> {
        self.import_stream(
            releases.iter().map(|(r, a)| Ok((r.clone(), a.clone()))),
            &HashMap::new(),
        )
    }

    /// [`Self::import`] from a stream, so a migration never holds every archive
    /// at once: each archive is checked and written to `blobs/` as it arrives
    /// and only the metadata is kept. The graph is then written in one atomic
    /// step: a bulk load into a local store once there are
    /// [`BULK_MIN_RELEASES`] or more, else (and always for a remote endpoint)
    /// atomic batches of `BATCH` versions. The first error stops the import
    /// before anything reaches the graph (archives already written stay: they
    /// are content-addressed and unreferenced).
    ///
    /// `counters` (`name -> (downloads, stars)`) are written with the packages
    /// this import creates, sparing a migration a second pass over every
    /// package; existing packages keep theirs (see [`Self::set_counters`]).
    pub fn import_stream(
        &self,
        releases: impl IntoIterator<Item = Result<(PackageVersion, Option<Vec<u8>>)>>,
        counters: &HashMap<String, (u64, u64)>,
    ) -> Result<usize> {
        let lock = self.lock()?;
        // Ask a remote endpoint for its generation now rather than trust the
        // last second's answer: other clients may have written since.
        *self.last_check.lock().expect("check lock") = None;
        let before = self.index()?;
        // Versions seen so far: all of a remote graph's up front; a local graph
        // is asked per release. Later duplicates in the stream are then
        // skipped or refused like stored ones.
        let mut known = self.remote_versions()?.unwrap_or_default();
        let local = self.store()?.is_local();
        let mut fresh: Vec<PackageVersion> = Vec::new();
        for item in releases {
            let (release, archive) = item?;
            ggen_marketplace_core::backend::check_import(&release, archive.as_deref())?;
            let iri = version_iri(&release.name, &release.version);
            let existing = match known.get(iri.as_str()) {
                Some(c) => Some(c.clone()),
                None if local => self.local_checksum(&iri)?,
                None => None,
            };
            if let Some(existing) = existing {
                if existing == release.checksum {
                    continue;
                }
                return Err(MarketplaceError::AlreadyPublished {
                    name: release.name.clone(),
                    version: release.version.to_string(),
                });
            }
            if let (Some(archive), Some(sha)) = (&archive, release.checksum.as_deref()) {
                self.store_blob(sha, archive)?;
            }
            known.insert(iri.as_str().to_string(), release.checksum.clone());
            fresh.push(release);
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        // A graph without a topic scheme gets the shipped one with this write.
        let mut install = self.topic_install(&before)?;
        let scheme = match &install {
            Some((_, s)) => s.clone(),
            None => Arc::new(before.scheme().clone()),
        };
        let mut install_triples = install.as_mut().map(|(t, _)| std::mem::take(t));
        // Package nodes for names the graph does not have yet, once each.
        let mut created: HashSet<String> = HashSet::new();
        let mut triples_of = |r: &PackageVersion| -> Vec<oxigraph::model::Triple> {
            let mut t = install_triples.take().unwrap_or_default();
            if !before.contains(&r.name) && created.insert(r.name.clone()) {
                let (downloads, stars) = counters.get(&r.name).copied().unwrap_or_default();
                t.extend(mapping::package_node_triples(&r.name, downloads, stars));
            }
            t.extend(mapping::version_triples(r));
            t.extend(crate::topics::links(r, &scheme));
            t
        };
        let bumps = if self.store()?.is_local() && fresh.len() >= BULK_MIN_RELEASES {
            // The next generation number goes in with the data, in the same
            // atomic ingestion (`generation()` reads the highest value), so no
            // index can be saved at that number without the data being there.
            // The bump after it drops the old value.
            let next = self.store()?.generation()? + 1;
            lock.check()?;
            self.store()?.bulk_insert(
                fresh
                    .iter()
                    .flat_map(&mut triples_of)
                    .chain(store::generation_triples(next)),
            )?;
            lock.check()?;
            self.store()?
                .apply(&[Op::BumpGeneration(Change::new(Changed::Everything))])?;
            2
        } else {
            let mut bumps = 0;
            for chunk in fresh.chunks(BATCH) {
                let triples = chunk.iter().flat_map(&mut triples_of).collect();
                lock.check()?;
                self.store()?.apply(&[
                    Op::Insert(triples),
                    Op::BumpGeneration(Change::new(Changed::Everything)),
                ])?;
                bumps += 1;
            }
            bumps
        };
        let generation = self.store()?.generation()?;
        let ix = if generation == before.generation() + bumps {
            let ix = self.index_with(&before, generation, &fresh, counters)?;
            match install {
                Some((_, s)) => ix.with_scheme(Some(s)),
                None => ix,
            }
        } else {
            // Someone else wrote to the endpoint in between: start over.
            self.build_index(generation)?
        };
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        Ok(fresh.len())
    }

    /// `before` with the packages `fresh` touched brought up to date: new
    /// packages are built from `fresh` itself (the mapping is lossless, so
    /// that is what the graph now holds), packages that had versions already
    /// are read back from the graph.
    fn index_with(
        &self,
        before: &TermIndex,
        generation: u64,
        fresh: &[PackageVersion],
        counters: &HashMap<String, (u64, u64)>,
    ) -> Result<TermIndex> {
        let mut new: HashMap<&str, Package> = HashMap::new();
        let mut old: Vec<NamedNode> = Vec::new();
        for r in fresh {
            if before.contains(&r.name) {
                old.push(package_iri(&r.name));
                continue;
            }
            new.entry(r.name.as_str())
                .or_insert_with(|| {
                    let (downloads, stars) = counters.get(&r.name).copied().unwrap_or_default();
                    Package {
                        name: r.name.clone(),
                        downloads,
                        stars,
                        versions: Vec::new(),
                    }
                })
                .versions
                .push(r.clone());
        }
        old.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        old.dedup();
        let mut docs: Vec<Doc> = new.values().map(Doc::from_package).collect();
        for chunk in old.chunks(BATCH) {
            let packages = Nodes::new(&self.store()?.describe(chunk)?).packages()?;
            docs.extend(packages.iter().map(Doc::from_package));
        }
        before.with_changes(generation, docs, &[])
    }

    /// Every version IRI and its checksum, for a remote endpoint (one query
    /// instead of one round trip per release); `None` for local stores, which
    /// answer point lookups in microseconds.
    fn remote_versions(&self) -> Result<Option<HashMap<String, Option<String>>>> {
        if self.store()?.is_local() {
            return Ok(None);
        }
        let q = format!(
            "SELECT ?v ?c WHERE {{ ?v {} {} . OPTIONAL {{ ?v {} ?c }} }}",
            rdf::TYPE,
            mp::version_class(),
            mp::checksum()
        );
        let mut known = HashMap::new();
        if let Answer::Solutions { rows, .. } = self.store()?.query(&store::parse_query(&q)?)? {
            for row in rows {
                if let Some(Some(Term::NamedNode(v))) = row.first() {
                    let c = match row.get(1) {
                        Some(Some(Term::Literal(l))) => Some(l.value().to_string()),
                        _ => None,
                    };
                    known.insert(v.as_str().to_string(), c);
                }
            }
        }
        Ok(Some(known))
    }

    /// `Some(checksum)` when the version is in a local graph.
    fn local_checksum(&self, iri: &NamedNode) -> Result<Option<Option<String>>> {
        if !self.exists(iri, mp::version_class())? {
            return Ok(None);
        }
        let checksum = self
            .store()?
            .objects(iri, &mp::checksum())?
            .into_iter()
            .find_map(|t| match t {
                Term::Literal(l) => Some(l.value().to_string()),
                _ => None,
            });
        Ok(Some(checksum))
    }

    /// Removes every package and version (`ggen marketplace rebuild-db` before a
    /// fresh migration). The generation counter is kept and bumped, so no cached
    /// term index from before the clear can be mistaken for the new state; so
    /// is the topic scheme (an operator's own is not in the archives), and the
    /// versions imported next are linked to it.
    /// Archives in `blobs/` stay: they are content-addressed and shared.
    pub fn clear(&self) -> Result<()> {
        let lock = self.lock()?;
        let registry = mp::registry().to_string();
        let kept_on_registry = [mp::generation(), mp::topic_scheme()];
        let scheme: HashSet<String> = self
            .scheme_triples()?
            .iter()
            .map(|t| t.subject.to_string())
            .collect();
        let doomed: Vec<_> = self
            .store()?
            .all_triples()?
            .into_iter()
            .filter(|t| {
                let s = t.subject.to_string();
                let kept = scheme.contains(&s)
                    || (s == registry && kept_on_registry.contains(&t.predicate));
                !kept
            })
            .collect();
        lock.check()?;
        self.store()?.apply(&[
            Op::Delete(doomed),
            Op::BumpGeneration(Change::new(Changed::Everything)),
        ])?;
        let ix = self.build_index(self.store()?.generation()?)?;
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        Ok(())
    }

    /// Sets package-wide counters `(name, downloads, stars)`; unknown names are skipped.
    pub fn set_counters(&self, counters: &[(String, u64, u64)]) -> Result<()> {
        let lock = self.lock()?;
        *self.last_check.lock().expect("check lock") = None; // see import_stream
        let before = self.index()?;
        let mut ops = Vec::new();
        let mut set = Vec::new();
        for (name, downloads, stars) in counters {
            // The index is current under the lock: it lists exactly the graph's packages.
            if validate_name(name).is_err() || !before.contains(name) {
                continue;
            }
            let p = package_iri(name);
            ops.push(Op::DeleteValues(p.clone(), mp::downloads()));
            ops.push(Op::DeleteValues(p, mp::stars()));
            ops.push(Op::Insert(mapping::counter_triples(
                name, *downloads, *stars,
            )));
            set.push((name.clone(), *downloads, *stars));
        }
        if ops.is_empty() {
            return Ok(());
        }
        let change = Change::new(Changed::Packages(
            set.iter().map(|(name, _, _)| name.clone()).collect(),
        ));
        let head = change.id.clone();
        ops.push(Op::BumpGeneration(change));
        lock.check()?;
        self.store()?.apply(&ops)?;
        let generation = self.store()?.generation()?;
        let ix = if generation == before.generation() + 1 {
            before
                .with_counters(generation, &set)?
                .with_head(Some(head))
        } else {
            self.catch_up_or_build(Some(&before), generation)?
        };
        if let Some(dir) = &self.terms_dir {
            ix.save(dir)?;
        }
        self.share_if_due(&ix, false);
        *self.index.write().expect("index lock") = Some(Arc::new(ix));
        *self.last_check.lock().expect("check lock") = Some(Instant::now());
        Ok(())
    }
}
