//! The SPARQL-result tier: answers of `ggen marketplace sparql` (and of any
//! long-running caller of [`Marketplace::sparql`]) kept by query text and the V2
//! graph's own generation number, which every write to the graph bumps, also
//! writes made by another client of a shared remote endpoint. So a cached answer
//! is never older than the graph it came from; the TTL only bounds disk use.
//!
//! Two levels, like search: on disk under `cache/sparql/` (each CLI command is a
//! new process) and, when [`Marketplace::with_sparql_cache`] is set, in memory.
//! Refused queries (updates, syntax errors) never reach either. Sized from
//! `GGEN_SPARQL_CACHE`, else `GGEN_CACHE_SIZE`, else 1000; 0 turns both off.

use std::sync::Arc;
use std::time::Duration;

use ggen_marketplace_core::checksum::sha256_hex;

use crate::cache::{CacheStatus, DiskCache};
use crate::error::Result;
use crate::marketplace::Marketplace;

/// How long an answer stays on disk.
const TTL: Duration = Duration::from_secs(600);
/// Answers larger than this (a CONSTRUCT of the whole graph, say) are not kept
/// on disk: reading them back would cost about what the query does.
const MAX_DISK_ANSWER: usize = 1 << 20;

pub type SparqlTier = moka::sync::Cache<String, Arc<String>>;

impl Marketplace {
    /// Runs a read-only SPARQL query against the V2 store (see
    /// [`ggen_marketplace_v2::V2Backend::sparql_select`]), from the cache when
    /// the same query ran against the same graph generation.
    pub(crate) fn sparql_cached(&self, query: &str) -> Result<(String, CacheStatus)> {
        let v2 = self.v2()?;
        if self.settings.cache_sizes.sparql == 0 {
            return Ok((v2.sparql_select(query)?, CacheStatus::Bypass));
        }
        // The graph's own generation is asked of the store itself (an
        // unreachable endpoint fails here, never answers from the cache).
        let key = sha256_hex(
            format!(
                "sparql\n{}\n{}\n{query}",
                self.store_identity(),
                v2.generation()?
            )
            .as_bytes(),
        );
        metrics::counter!(crate::observe::metrics::CACHE_REQUESTS, "tier" => "sparql", "strategy" => "v2")
            .increment(1);
        let disk = DiskCache::new(self.paths.cache_dir().join("sparql"), TTL);
        let memory = self.sparql_memory.as_ref();
        let hit = memory
            .and_then(|m| m.get(&key))
            .map(|a| (*a).clone())
            .or_else(|| {
                let answer = String::from_utf8(disk.get_bytes(&key)?).ok()?;
                memory.inspect(|m| m.insert(key.clone(), Arc::new(answer.clone())));
                Some(answer)
            });
        if let Some(answer) = hit {
            metrics::counter!(crate::observe::metrics::CACHE_HITS, "tier" => "sparql", "strategy" => "v2")
                .increment(1);
            return Ok((answer, CacheStatus::Hit));
        }
        let answer = v2.sparql_select(query)?;
        if answer.len() <= MAX_DISK_ANSWER {
            disk.put_bytes(&key, answer.as_bytes());
        }
        if let Some(m) = memory {
            m.insert(key, Arc::new(answer.clone()));
        }
        Ok((answer, CacheStatus::Miss))
    }
}
