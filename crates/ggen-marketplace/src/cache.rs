//! Caches (seeds: "cache warming"). Each CLI command is a new process, so search
//! results are also kept on disk, keyed by the query, the routing and the
//! registry's generation, which every write through the facade bumps: a publish
//! or yank can never be hidden by a stale entry. Long-running processes (the
//! server) add an in-memory search tier on top (moka, see
//! `Marketplace::with_memory_cache`), sized from `GGEN_SEARCH_CACHE`.
//!
//! The four tiers: search results (here, on disk and in memory), package
//! metadata ([`crate::package_cache`]), SPARQL results ([`crate::sparql`]) and
//! signature verifications ([`crate::signature_cache`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::atomic_write;
use ggen_marketplace_core::search::{SearchQuery, SearchResults};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    Bypass,
}

impl CacheStatus {
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

/// Parses `30s`, `15m`, `1h`, `7d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// A cache tier's size from the environment: its own variable
/// (`GGEN_SEARCH_CACHE`, `GGEN_PACKAGE_CACHE`), else `GGEN_CACHE_SIZE` (the
/// seeds' one knob for every tier), else `default` (seeds 004: 10000 / 5000).
pub fn env_size(var: &str, default: u64) -> u64 {
    [var, "GGEN_CACHE_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok().and_then(|v| v.parse().ok()))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5y"), None);
    }

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
