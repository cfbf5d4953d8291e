//! `ab-report`: what compare mode found, summarised, so deciding whether V2
//! is ready needs no analysis scripts.

use serde::Serialize;

use crate::routing::compare::CompareRecord;

/// The compare log summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AbReport {
    /// Comparisons recorded.
    pub comparisons: usize,
    /// Share whose outcome was `match`.
    pub match_rate: f64,
    /// Mean overlap of the compared keys.
    pub mean_overlap: f64,
    /// Share where V1 failed.
    pub v1_error_rate: f64,
    /// Share where V2 failed.
    pub v2_error_rate: f64,
    /// V1's median latency in ms.
    pub v1_p50_ms: Option<f64>,
    /// V1's 95th percentile latency in ms.
    pub v1_p95_ms: Option<f64>,
    /// V2's median latency in ms.
    pub v2_p50_ms: Option<f64>,
    /// V2's 95th percentile latency in ms.
    pub v2_p95_ms: Option<f64>,
    /// The same figures per compared operation (search, info, list, install).
    pub by_operation: std::collections::BTreeMap<String, OperationSummary>,
    /// The comparisons with the lowest overlap, worst first.
    pub worst_mismatches: Vec<CompareRecord>,
}

/// One operation's share of an [`AbReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OperationSummary {
    /// Comparisons recorded.
    pub comparisons: usize,
    /// Share whose outcome was `match`.
    pub match_rate: f64,
    /// Mean overlap of the compared keys.
    pub mean_overlap: f64,
    /// V1's median latency in ms.
    pub v1_p50_ms: Option<f64>,
    /// V2's median latency in ms.
    pub v2_p50_ms: Option<f64>,
}

/// Nearest-rank percentile of `values` (sorted in place).
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    Some(values[rank.min(values.len()) - 1])
}

pub fn summarise(records: &[CompareRecord]) -> AbReport {
    let n = records.len();
    if n == 0 {
        return AbReport::default();
    }
    let frac = |k: usize| k as f64 / n as f64;
    let mut v1: Vec<f64> = records.iter().filter_map(|r| r.v1_ms).collect();
    let mut v2: Vec<f64> = records.iter().filter_map(|r| r.v2_ms).collect();
    let mut worst: Vec<CompareRecord> = records
        .iter()
        .filter(|r| r.outcome == "mismatch")
        .cloned()
        .collect();
    worst.sort_by(|a, b| a.overlap.total_cmp(&b.overlap));
    worst.dedup_by(|a, b| a.query == b.query);
    worst.truncate(10);
    let mut by_operation = std::collections::BTreeMap::new();
    for op in records.iter().map(|r| r.operation.as_str()) {
        if by_operation.contains_key(op) {
            continue;
        }
        let rs: Vec<&CompareRecord> = records.iter().filter(|r| r.operation == op).collect();
        let k = rs.len() as f64;
        let mut a: Vec<f64> = rs.iter().filter_map(|r| r.v1_ms).collect();
        let mut b: Vec<f64> = rs.iter().filter_map(|r| r.v2_ms).collect();
        by_operation.insert(
            op.to_string(),
            OperationSummary {
                comparisons: rs.len(),
                match_rate: rs.iter().filter(|r| r.outcome == "match").count() as f64 / k,
                mean_overlap: rs.iter().map(|r| r.overlap).sum::<f64>() / k,
                v1_p50_ms: percentile(&mut a, 50.0),
                v2_p50_ms: percentile(&mut b, 50.0),
            },
        );
    }
    AbReport {
        by_operation,
        comparisons: n,
        match_rate: frac(records.iter().filter(|r| r.outcome == "match").count()),
        mean_overlap: records.iter().map(|r| r.overlap).sum::<f64>() / n as f64,
        v1_error_rate: frac(records.iter().filter(|r| r.v1_error.is_some()).count()),
        v2_error_rate: frac(records.iter().filter(|r| r.v2_error.is_some()).count()),
        v1_p50_ms: percentile(&mut v1, 50.0),
        v1_p95_ms: percentile(&mut v1, 95.0),
        v2_p50_ms: percentile(&mut v2, 50.0),
        v2_p95_ms: percentile(&mut v2, 95.0),
        worst_mismatches: worst,
    }
}

impl crate::Marketplace {
    /// What compare mode has recorded so far, summarised.
    pub fn ab_report(&self) -> crate::Result<AbReport> {
        self.require_local("ab-report")?;
        let compiled = crate::Compiled::this_build();
        if !(compiled.v1 && compiled.v2) {
            return Err(crate::migration::needs_both("ab-report"));
        }
        let records = crate::routing::compare::read_compare_log(&self.paths.home)
            .map_err(|e| ggen_marketplace_core::MarketplaceError::io(&self.paths.home, e))?;
        Ok(summarise(&records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 95.0), Some(95.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }
}
