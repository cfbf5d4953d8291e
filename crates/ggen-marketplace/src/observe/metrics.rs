//! Prometheus metrics, through the `metrics` facade. The names are a contract
//! with dashboards and alert rules (`deploy/`), which `scripts/check-deploy`
//! checks against [`ALL`]. The server renders them at `/metrics`; the CLI writes them
//! in node-exporter textfile format to `GGEN_METRICS_FILE`, adding its counters
//! to the ones already in the file so that rates make sense across invocations.

use std::collections::BTreeMap;
use std::path::Path;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Search latency in ms (histogram, label `backend`).
pub const SEARCH_LATENCY: &str = "marketplace_search_latency";
/// Install latency in ms (histogram, label `backend`).
pub const INSTALL_LATENCY: &str = "marketplace_install_latency";
/// Backend calls (labels `backend`, `operation`, `call`).
pub const REQUESTS: &str = "marketplace_requests_total";
/// Failed backend calls (labels `backend`, `operation`, `call`).
pub const ERRORS: &str = "marketplace_errors_total";
/// V2 failures answered by V1 (label `operation`).
pub const FALLBACKS: &str = "marketplace_fallback_count";
/// Which backend routing picked (labels `backend`, `operation`).
pub const SELECTION: &str = "marketplace_backend_selection_total";
/// Cache hits (labels `tier`, `strategy`).
pub const CACHE_HITS: &str = "marketplace_cache_hits";
/// Cache lookups (labels `tier`, `strategy`).
pub const CACHE_REQUESTS: &str = "marketplace_cache_requests";
/// Declared, never recorded: a hit rate is derived from [`CACHE_HITS`] and
/// [`CACHE_REQUESTS`] in PromQL (`deploy/prometheus/rules.yml`).
pub const CACHE_HIT_RATE: &str = "marketplace_cache_hit_rate";
/// Versions published (label `signed`: `true` or `false`).
pub const PUBLISHES: &str = "marketplace_publish_count";
/// Packages installed (label `backend`).
pub const INSTALLS: &str = "marketplace_install_count";
/// Packages whose latest version is signed (gauge, set at each `/metrics` scrape).
pub const SIGNED_PACKAGES: &str = "marketplace_signed_packages";
/// Packages in the registry (gauge, set at each `/metrics` scrape).
pub const TOTAL_PACKAGES: &str = "marketplace_total_packages";
/// 1 when a backend answered the registry server's last health check, else 0
/// (label `backend`). Set at each `/metrics` scrape and `/readyz` call.
pub const BACKEND_UP: &str = "marketplace_backend_up";
/// Connections the registry server closed at once because their address
/// already held its share (the registry server's per-address cap).
pub const CONNECTIONS_REFUSED: &str = "marketplace_connections_refused_total";
/// Expensive requests answered 503 because as many were already running.
pub const REQUESTS_SHED: &str = "marketplace_requests_shed_total";

/// Full rebuilds of the V2 term index from the graph since the process
/// opened V2 (counter; a fleet's servers rebuild only when the change feed
/// cannot vouch for what they missed).
pub const INDEX_REBUILDS: &str = "marketplace_index_rebuilds_total";
/// Starts of the V2 term index from one another server of the fleet saved
/// in the object store, instead of a rebuild (counter).
pub const INDEX_SNAPSHOT_STARTS: &str = "marketplace_index_snapshot_starts_total";
/// Term indexes this server saved in the object store for others (counter).
pub const INDEX_SNAPSHOTS_SAVED: &str = "marketplace_index_snapshots_saved_total";
/// Catch-ups of the V2 term index from the change feed (counter).
pub const INDEX_CATCH_UPS: &str = "marketplace_index_catch_ups_total";
/// Packages those catch-ups read again (counter).
pub const INDEX_PACKAGES_REREAD: &str = "marketplace_index_packages_reread_total";
/// Milliseconds those catch-ups spent, by `phase`: `read` (the feed and the
/// packages it names), `index` (the new term index), `save` (counter; in
/// milliseconds as the latency histograms are).
pub const INDEX_CATCH_UP_MS: &str = "marketplace_index_catch_up_milliseconds_total";

/// Every metric name the binary exports (checked against dashboards and rules).
pub const ALL: &[&str] = &[
    SEARCH_LATENCY,
    INSTALL_LATENCY,
    REQUESTS,
    ERRORS,
    FALLBACKS,
    SELECTION,
    CACHE_HITS,
    CACHE_REQUESTS,
    CACHE_HIT_RATE,
    PUBLISHES,
    INSTALLS,
    SIGNED_PACKAGES,
    TOTAL_PACKAGES,
    BACKEND_UP,
    CONNECTIONS_REFUSED,
    REQUESTS_SHED,
    INDEX_REBUILDS,
    INDEX_SNAPSHOT_STARTS,
    INDEX_SNAPSHOTS_SAVED,
    INDEX_CATCH_UPS,
    INDEX_PACKAGES_REREAD,
    INDEX_CATCH_UP_MS,
    "marketplace_circuit_opened_total",
];

/// Sets the V2 term index's refresh counters from `mp`'s V2 backend, when
/// this process has opened one (it is never opened for this).
pub fn record_index_refreshes(mp: &crate::Marketplace) {
    #[cfg(feature = "marketplace-v2")]
    if let Some(r) = mp.v2_if_open().map(|b| b.index_refreshes()) {
        metrics::counter!(INDEX_REBUILDS).absolute(r.rebuilt);
        metrics::counter!(INDEX_SNAPSHOT_STARTS).absolute(r.from_snapshot);
        metrics::counter!(INDEX_SNAPSHOTS_SAVED).absolute(r.snapshots_saved);
        metrics::counter!(INDEX_CATCH_UPS).absolute(r.caught_up);
        metrics::counter!(INDEX_PACKAGES_REREAD).absolute(r.packages_reread);
        for (phase, d) in [
            ("read", r.catch_up_read),
            ("index", r.catch_up_index),
            ("save", r.catch_up_save),
        ] {
            metrics::counter!(INDEX_CATCH_UP_MS, "phase" => phase).absolute(d.as_millis() as u64);
        }
    }
    #[cfg(not(feature = "marketplace-v2"))]
    let _ = mp;
}

/// Latency buckets in milliseconds.
const BUCKETS_MS: &[f64] = &[
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
    10000.0,
];

/// Installs the global recorder; returns its handle (None if one was installed already).
pub fn install() -> Option<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_latency".into()), BUCKETS_MS)
        .ok()?
        .install_recorder()
        .ok()
}

/// Registers help text and units of every metric above.
pub fn describe() {
    metrics::describe_histogram!(
        SEARCH_LATENCY,
        metrics::Unit::Milliseconds,
        "Search latency by backend"
    );
    metrics::describe_histogram!(
        INSTALL_LATENCY,
        metrics::Unit::Milliseconds,
        "Install latency by backend"
    );
    metrics::describe_counter!(REQUESTS, "Marketplace operations by backend and operation");
    metrics::describe_counter!(
        ERRORS,
        "Failed marketplace operations by backend and operation"
    );
    metrics::describe_counter!(FALLBACKS, "Reads answered by V1 after V2 failed");
    metrics::describe_counter!(
        SELECTION,
        "Backend chosen by the router, by backend and operation"
    );
    metrics::describe_counter!(
        INDEX_REBUILDS,
        "V2 term index rebuilds from the whole graph"
    );
    metrics::describe_counter!(
        INDEX_CATCH_UPS,
        "V2 term index catch-ups from the change feed"
    );
    metrics::describe_counter!(
        INDEX_PACKAGES_REREAD,
        "Packages the V2 term index catch-ups read again"
    );
    metrics::describe_counter!(
        INDEX_CATCH_UP_MS,
        metrics::Unit::Milliseconds,
        "Milliseconds the V2 term index catch-ups spent, by phase"
    );
    metrics::describe_gauge!(
        BACKEND_UP,
        "1 when the backend answered the registry server's last health check, else 0"
    );
}

/// Merges `rendered` (this process) into the textfile at `path`: counters and
/// histogram series add up, gauges take the new value. Written atomically.
pub fn write_textfile(path: &Path, rendered: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let merged = merge(&old, rendered);
    ggen_marketplace_core::fsutil::atomic_write(path, merged.as_bytes())
        .map_err(std::io::Error::other)
}

fn series(text: &str) -> (BTreeMap<String, String>, Vec<(String, f64)>) {
    let mut types = BTreeMap::new();
    let mut values = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            if let (Some(n), Some(t)) = (it.next(), it.next()) {
                types.insert(n.to_string(), t.to_string());
            }
        } else if !line.starts_with('#')
            && !line.trim().is_empty()
            && let Some((key, v)) = line.rsplit_once(' ')
            && let Ok(v) = v.parse::<f64>()
        {
            values.push((key.to_string(), v));
        }
    }
    (types, values)
}

fn base_name(key: &str) -> &str {
    let name = key.split('{').next().unwrap_or(key);
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

/// Adds the counters and histograms of `new` to those of `old` (both in
/// Prometheus text format); gauges take `new`'s value.
pub fn merge(old: &str, new: &str) -> String {
    let (old_types, old_values) = series(old);
    let (new_types, new_values) = series(new);
    let mut types = old_types;
    types.extend(new_types);
    let mut values: BTreeMap<String, f64> = old_values.into_iter().collect();
    for (key, v) in new_values {
        let cumulative = matches!(
            types.get(base_name(&key)).map(String::as_str),
            Some("counter" | "histogram" | "summary")
        );
        let entry = values.entry(key).or_insert(0.0);
        *entry = if cumulative { *entry + v } else { v };
    }
    let mut out = String::new();
    let mut by_metric: BTreeMap<&str, Vec<(&String, &f64)>> = BTreeMap::new();
    for (k, v) in &values {
        by_metric.entry(base_name(k)).or_default().push((k, v));
    }
    for (name, rows) in by_metric {
        if let Some(t) = types.get(name) {
            out.push_str(&format!("# TYPE {name} {t}\n"));
        }
        for (k, v) in rows {
            out.push_str(&format!("{k} {v}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_gauges_replace() {
        let a = "# TYPE marketplace_requests_total counter\nmarketplace_requests_total{backend=\"v1\"} 2\n# TYPE marketplace_total_packages gauge\nmarketplace_total_packages 10\n";
        let b = "# TYPE marketplace_requests_total counter\nmarketplace_requests_total{backend=\"v1\"} 3\n# TYPE marketplace_total_packages gauge\nmarketplace_total_packages 12\n";
        let m = merge(a, b);
        assert!(
            m.contains("marketplace_requests_total{backend=\"v1\"} 5"),
            "{m}"
        );
        assert!(m.contains("marketplace_total_packages 12"), "{m}");
    }
}
