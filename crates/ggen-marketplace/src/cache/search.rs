//! The search tier: answers kept on disk (each CLI command is a process) and,
//! in a long-running process, in memory, keyed by the store that answered,
//! the routing decision and the registry's generation.
//!
//! Only answers whose freshness this process can tell are kept: those of a
//! local registry, where every write through ggen bumps the generation. An
//! answer from a remote SPARQL endpoint (which other clients write) or a
//! registry server is never served from here, so a cache can neither hide
//! another store's writes nor answer for a store that is down.

use std::sync::Arc;

use ggen_marketplace_core::{MarketplaceBackend, SearchQuery, SearchResults};

use super::{CacheStatus, DiskCache, SEARCH_CACHE_TTL};
use crate::config::{BackendStrategy, Operation};
use crate::error::Result;
use crate::marketplace::Marketplace;

impl Marketplace {
    /// Whether every backend an answer can come from is a store in this
    /// registry directory (not a remote endpoint or a registry server).
    pub(crate) fn answers_are_local(&self) -> bool {
        self.remote_url().is_none() && self.settings.v2_endpoint.is_none()
    }

    /// What identifies the stores answers come from: the registry directory,
    /// and the V2 endpoint (with its graph) or registry server when there is one. Part of every
    /// cache key, so answers of one store are never taken for another's.
    pub fn store_identity(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.paths.registry.display(),
            self.settings
                .v2_endpoint
                .as_ref()
                .map(|e| e.value.as_str())
                .unwrap_or("embedded"),
            self.settings
                .v2_options
                .graph
                .as_ref()
                .map_or("graph:built-in", |g| g.value.as_str()),
            self.remote_url().unwrap_or("local")
        )
    }

    /// Search through the configured routing, answered from the on-disk cache when
    /// the same query ran since the last write.
    pub fn search(
        &self,
        query: &SearchQuery,
    ) -> Result<(SearchResults, CacheStatus, Arc<dyn MarketplaceBackend>)> {
        let backend = self.backend_for(Operation::Search)?;
        let strategy = self.settings.strategy(Operation::Search);
        if strategy == BackendStrategy::Compare
            || self.settings.cache_sizes.search == 0
            || !self.answers_are_local()
        {
            let r = backend.search(query)?;
            return Ok((r, CacheStatus::Bypass, backend));
        }
        let cache = DiskCache::new(self.paths.cache_dir().join("search"), SEARCH_CACHE_TTL);
        let routing = format!("{}|{strategy}|{}", self.store_identity(), self.subject());
        let key = DiskCache::key(
            query,
            &routing,
            crate::cache::generation(&self.paths.registry),
        );
        let label = strategy.to_string();
        metrics::counter!(crate::observe::metrics::CACHE_REQUESTS, "tier" => "search", "strategy" => label.clone()).increment(1);
        if let Some(mut hit) = cache.get(&key) {
            metrics::counter!(crate::observe::metrics::CACHE_HITS, "tier" => "search", "strategy" => label)
                .increment(1);
            hit.query_time = std::time::Duration::ZERO;
            return Ok((hit, CacheStatus::Hit, backend));
        }
        let r = backend.search(query)?;
        cache.put(&key, &r);
        Ok((r, CacheStatus::Miss, backend))
    }

    /// Search for one A/B subject through the in-memory tier (the server's path).
    /// Compare mode always runs both backends: that is its point.
    pub fn search_for_subject(
        &self,
        query: &SearchQuery,
        subject: &str,
    ) -> Result<(SearchResults, CacheStatus, Arc<dyn MarketplaceBackend>)> {
        let backend = self.backend_for_subject(Operation::Search, subject)?;
        let strategy = self.settings.strategy(Operation::Search);
        let Some(cache) = self
            .memory
            .as_ref()
            .filter(|_| strategy != BackendStrategy::Compare && self.answers_are_local())
        else {
            let r = backend.search(query)?;
            return Ok((r, CacheStatus::Bypass, backend));
        };
        let routing = format!(
            "{}|{}",
            self.store_identity(),
            self.routing_key(Operation::Search, subject)
        );
        let key = DiskCache::key(
            query,
            &routing,
            crate::cache::generation(&self.paths.registry),
        );
        let label = strategy.to_string();
        metrics::counter!(crate::observe::metrics::CACHE_REQUESTS, "tier" => "memory", "strategy" => label.clone()).increment(1);
        if let Some(hit) = cache.get(&key) {
            metrics::counter!(crate::observe::metrics::CACHE_HITS, "tier" => "memory", "strategy" => label)
                .increment(1);
            let mut hit = (*hit).clone();
            hit.query_time = std::time::Duration::ZERO;
            return Ok((hit, CacheStatus::Hit, backend));
        }
        let r = backend.search(query)?;
        cache.insert(key, Arc::new(r.clone()));
        Ok((r, CacheStatus::Miss, backend))
    }
}
