//! The compare log: one line per comparison compare mode made (both
//! backends asked, their answers' keys, outcome and latencies), kept in
//! `GGEN_HOME/compare-log.jsonl`, capped, and read by `ab-report`.

use std::time::Duration;

use ggen_marketplace_core::model::PackageVersion;
use ggen_marketplace_core::search::SearchResults;
use serde::{Deserialize, Serialize};

use crate::config::Operation;

/// The compare log's file in the home.
pub const COMPARE_LOG: &str = "compare-log.jsonl";
/// The compare log keeps at most the newest this many records when it is
/// trimmed (see [`append_compare_log`]).
pub const COMPARE_LOG_CAP: usize = 10_000;

/// One comparison, as stored in the compare log and summarised by `ab-report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRecord {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `search`, `info`, `list` or `install`.
    pub operation: String,
    /// The query or package name.
    pub query: String,
    /// match | mismatch | error
    pub outcome: String,
    /// |a ∩ b| / max(|a|, |b|) over the compared keys (search: the top-10 hit
    /// names; info/versions: each version with checksum, yank and signature
    /// state; list: name@version of every package), 1.0 when both are empty.
    pub overlap: f64,
    /// V1's latency; `None` when it failed.
    pub v1_ms: Option<f64>,
    /// V2's latency; `None` when it failed.
    pub v2_ms: Option<f64>,
    /// V1's error, if it failed.
    pub v1_error: Option<String>,
    /// V2's error, if it failed.
    pub v2_error: Option<String>,
    /// The first ten compared keys of each side.
    pub v1_top: Vec<String>,
    /// The same for V2.
    pub v2_top: Vec<String>,
}

/// One backend's side of a comparison: the compared keys and its latency, or
/// its error.
pub(crate) enum Side {
    Answer(Vec<String>, Duration),
    Failed(String),
}

pub(crate) fn top10_names(r: &SearchResults) -> Vec<String> {
    r.hits.iter().take(10).map(|h| h.name.clone()).collect()
}

/// What info/versions comparisons compare: every version with the fields a
/// user acts on (checksum, yank, signature).
pub(crate) fn version_keys(versions: &[PackageVersion]) -> Vec<String> {
    versions
        .iter()
        .map(|v| {
            format!(
                "{}:{}:{}:{}",
                v.version,
                v.checksum.as_deref().unwrap_or("-"),
                if v.yanked { "yanked" } else { "live" },
                if v.signature.is_some() {
                    "signed"
                } else {
                    "unsigned"
                }
            )
        })
        .collect()
}

pub(crate) fn record_of(op: Operation, query: &str, s1: Side, s2: Side) -> CompareRecord {
    let split = |s: Side| match s {
        Side::Answer(k, t) => (k, Some(t.as_secs_f64() * 1000.0), None),
        Side::Failed(e) => (Vec::new(), None, Some(e)),
    };
    let (a, v1_ms, v1_error) = split(s1);
    let (b, v2_ms, v2_error) = split(s2);
    let in_b: std::collections::HashSet<&String> = b.iter().collect();
    let common = a.iter().filter(|n| in_b.contains(n)).count();
    let denom = a.len().max(b.len());
    let overlap = if denom == 0 {
        1.0
    } else {
        common as f64 / denom as f64
    };
    let outcome = if v1_error.is_some() || v2_error.is_some() {
        "error"
    } else if a == b {
        "match"
    } else {
        "mismatch"
    };
    // The log keeps the first ten of each side; the outcome saw them all.
    let ten = |mut v: Vec<String>| {
        v.truncate(10);
        v
    };
    CompareRecord {
        at: chrono::Utc::now(),
        operation: op.as_str().into(),
        query: query.into(),
        outcome: outcome.into(),
        overlap,
        v1_ms,
        v2_ms,
        v1_error,
        v2_error,
        v1_top: ten(a),
        v2_top: ten(b),
    }
}

/// Appends a record. When the file passes [`COMPARE_LOG_MAX_BYTES`] it is cut
/// (atomically) to the newest records, at most [`COMPARE_LOG_CAP`] of them and
/// at most half the byte cap, so a trim happens once per thousands of
/// appends, not on every append, however large records are.
pub fn append_compare_log(home: &std::path::Path, record: &CompareRecord) -> std::io::Result<()> {
    std::fs::create_dir_all(home)?;
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    append_capped(
        &home.join(COMPARE_LOG),
        &line,
        COMPARE_LOG_MAX_BYTES,
        COMPARE_LOG_CAP,
    )
}

/// Size at which the compare log is trimmed (records are a few hundred bytes).
pub const COMPARE_LOG_MAX_BYTES: u64 = COMPARE_LOG_CAP as u64 * 1024;

pub(crate) fn append_capped(
    path: &std::path::Path,
    line: &str,
    max_bytes: u64,
    keep: usize,
) -> std::io::Result<()> {
    use std::io::Write;
    // Appends from concurrent requests and processes are serialised with the
    // trim, so a trim never drops a record appended while it ran.
    let lock = path.with_extension("lock");
    let _guard =
        ggen_marketplace_core::fsutil::FileLock::exclusive(&lock).map_err(std::io::Error::other)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())?;
    if f.metadata()?.len() > max_bytes {
        let text = std::fs::read_to_string(path)?;
        let kept = newest_lines(&text, keep, max_bytes / 2).join("\n") + "\n";
        ggen_marketplace_core::fsutil::atomic_write(path, kept.as_bytes())
            .map_err(std::io::Error::other)?;
    }
    Ok(())
}

/// The newest lines of `text`, oldest first: at most `keep`, and no more than
/// `bytes` together (but always the newest one). A count alone let records
/// over `max_bytes / keep` bytes (an `info` comparison lists ten versions with
/// checksums a side) leave a trimmed file still over the cap, so every later
/// append rewrote the whole file under the lock: 300-400 ms per request.
fn newest_lines(text: &str, keep: usize, bytes: u64) -> Vec<&str> {
    let mut budget = bytes;
    let mut kept: Vec<&str> = Vec::new();
    for l in text.lines().rev().take(keep) {
        let size = l.len() as u64 + 1;
        if size > budget && !kept.is_empty() {
            break;
        }
        budget = budget.saturating_sub(size);
        kept.push(l);
    }
    kept.reverse();
    kept
}

pub fn read_compare_log(home: &std::path::Path) -> std::io::Result<Vec<CompareRecord>> {
    let path = home.join(COMPARE_LOG);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // A torn last line after a crash is skipped, not fatal.
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capped_log_keeps_the_newest_records_and_trims_rarely() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        for i in 0..100 {
            append_capped(&path, &format!("record {i:03}\n"), 300, 10).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= 28, "{} lines", lines.len());
        assert!(lines.len() >= 10);
        assert_eq!(*lines.last().unwrap(), "record 099");
        // Consecutive, newest last: nothing dropped between trims.
        let first: usize = lines[0][7..].parse().unwrap();
        assert_eq!(first + lines.len(), 100);
    }

    #[cfg(unix)]
    #[test]
    fn records_larger_than_the_cap_allows_still_trim_rarely() {
        use std::os::unix::fs::MetadataExt;
        // Ten records of 40 bytes are 400, over the 300-byte cap: trimmed to
        // a count alone, the file stayed over it and every append rewrote it.
        // A trim replaces the file (a new inode); an append does not.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (mut trims, mut last_inode) = (0, None);
        for i in 0..100 {
            append_capped(
                &path,
                &format!("{:<39}\n", format!("record {i:03}")),
                300,
                10,
            )
            .unwrap();
            let inode = std::fs::metadata(&path).unwrap().ino();
            if last_inode.is_some_and(|last| last != inode) {
                trims += 1;
            }
            last_inode = Some(inode);
        }
        // Half the cap (150 bytes, 3 records) kept, so a trim per 5 appends.
        assert!(trims <= 25, "{trims} trims in 100 appends");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.last().unwrap().trim_end(), "record 099");
        let first: usize = lines[0].trim_end()[7..].parse().unwrap();
        assert_eq!(first + lines.len(), 100, "{lines:?}");
    }

    #[test]
    fn one_record_over_half_the_cap_is_kept() {
        let text = "a\nbbbbbbbbbb\n";
        assert_eq!(newest_lines(text, 10, 4), vec!["bbbbbbbbbb"]);
        assert_eq!(newest_lines(text, 10, 100), vec!["a", "bbbbbbbbbb"]);
        assert_eq!(newest_lines(text, 1, 100), vec!["bbbbbbbbbb"]);
    }
}
