//! The cache tiers, and what every tier keys on: the registry's generation,
//! which every write through the facade bumps, so a publish or yank can never
//! be hidden by a stale entry.
//!
//! | module | tier |
//! |---|---|
//! | `search` | search answers, on disk and (server) in memory |
//! | `packages` | package metadata, in a long-running process's memory |
//! | `sparql` | SPARQL answers, keyed by the V2 graph's own generation |
//! | `signatures` | successful signature verifications, for the process |
//!
//! Sizes come from the configuration (`GGEN_*_CACHE`, `GGEN_CACHE_SIZE`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::atomic_write;
use ggen_marketplace_core::search::{SearchQuery, SearchResults};

pub(crate) mod packages;
mod search;
pub(crate) mod signatures;
#[cfg(feature = "marketplace-v2")]
pub(crate) mod sparql;

/// How long a cached answer stays valid even without writes (a safety net
/// for writes made around the facade, e.g. by an older ggen).
pub(crate) const SEARCH_CACHE_TTL: Duration = Duration::from_secs(600);

pub const GENERATION_FILE: &str = "generation";

/// The registry's write counter (0 when never written through the facade).
pub fn generation(registry: &Path) -> u64 {
    std::fs::read_to_string(registry.join(GENERATION_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Bumps the write counter. Called after every successful write.
pub fn bump_generation(registry: &Path) {
    let next = generation(registry) + 1;
    if let Err(e) = atomic_write(&registry.join(GENERATION_FILE), next.to_string().as_bytes()) {
        tracing::warn!(error = %e, "could not bump the registry generation; cached searches may be stale until they expire");
    }
}

/// Whether a cache answered (the `x-ggen-cache` header and `--verbose` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Answered from the cache.
    Hit,
    /// Not cached yet; the backend answered and the answer was kept.
    Miss,
    /// The cache was not asked (off, or the answer must be fresh).
    Bypass,
}

impl CacheStatus {
    /// `HIT`, `MISS` or `BYPASS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Bypass => "BYPASS",
        }
    }
}

/// Search results on disk, one small JSON file per key.
pub struct DiskCache {
    dir: PathBuf,
    ttl: Duration,
}

impl DiskCache {
    pub fn new(dir: PathBuf, ttl: Duration) -> Self {
        Self { dir, ttl }
    }

    pub fn key(query: &SearchQuery, routing: &str, generation: u64) -> String {
        let q = serde_json::to_string(query).expect("query serializes");
        sha256_hex(format!("{routing}\n{generation}\n{q}").as_bytes())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    pub fn get(&self, key: &str) -> Option<SearchResults> {
        serde_json::from_slice(&self.get_bytes(key)?).ok()
    }

    pub fn put(&self, key: &str, results: &SearchResults) {
        self.put_bytes(
            key,
            &serde_json::to_vec(results).expect("results serialize"),
        );
    }

    /// The entry under `key` if it exists and is younger than the TTL.
    pub fn get_bytes(&self, key: &str) -> Option<Vec<u8>> {
        let p = self.path(key);
        let age = std::fs::metadata(&p)
            .ok()?
            .modified()
            .ok()?
            .elapsed()
            .ok()?;
        if age > self.ttl {
            return None;
        }
        std::fs::read(&p).ok()
    }

    /// Best effort: a cache that cannot be written only costs speed.
    pub fn put_bytes(&self, key: &str, bytes: &[u8]) {
        if let Err(e) = atomic_write(&self.path(key), bytes) {
            tracing::debug!(error = %e, "cache write failed");
        }
    }
}

/// Removes cached files (search results and downloads) older than `older_than`
/// (all of them when `None`). Returns how many files were removed.
pub fn clear(cache_dir: &Path, older_than: Option<Duration>) -> std::io::Result<usize> {
    let mut removed = 0;
    let now = SystemTime::now();
    let mut stack = vec![cache_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let old_enough = match older_than {
                None => true,
                Some(limit) => entry
                    .metadata()?
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age >= limit),
            };
            if old_enough {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

impl crate::Marketplace {
    /// Removes cached files (all, or those older than `older_than`); returns
    /// how many.
    pub fn clear_cache(&self, older_than: Option<Duration>) -> crate::Result<usize> {
        let dir = self.paths.cache_dir();
        clear(&dir, older_than)
            .map_err(|e| ggen_marketplace_core::MarketplaceError::io(&dir, e).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_changes_the_key_and_clear_removes_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let q = SearchQuery::text("rust");
        assert_ne!(DiskCache::key(&q, "v1", 1), DiskCache::key(&q, "v1", 2));
        bump_generation(dir.path());
        bump_generation(dir.path());
        assert_eq!(generation(dir.path()), 2);
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(cache.join("search")).unwrap();
        std::fs::write(cache.join("search/a.json"), "{}").unwrap();
        assert_eq!(clear(&cache, Some(Duration::from_secs(3600))).unwrap(), 0);
        assert_eq!(clear(&cache, None).unwrap(), 1);
    }
}
