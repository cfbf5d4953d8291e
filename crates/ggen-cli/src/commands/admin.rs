//! Looking after a registry: init, status, validate, migration, rebuilds,
//! export, SPARQL, the A/B report, caches and backups.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ggen_marketplace::core::BackendKind;
use ggen_marketplace::{Marketplace, inspect_backup, parse_duration, validate_packages};
use serde_json::json;

use super::{every_backend, with_backend};
use crate::args::{BackendArg, Global};
use crate::failure::{CliResult, Failure};
use crate::output::{self, table};

pub(super) fn init(mp: &Marketplace, force: bool, empty: bool, g: &Global) -> CliResult {
    let registry = mp.paths.registry.display();
    let (answer, message) = if empty {
        let created = mp.init_empty()?;
        let message = if created {
            format!(
                "Empty registry {registry} ready; publish into it with `ggen marketplace publish DIR`."
            )
        } else {
            format!("Registry {registry} already exists; nothing was changed.")
        };
        (
            json!({ "registry": mp.paths.registry, "created": created, "seeded": false }),
            message,
        )
    } else {
        let report = mp.init(force)?;
        let (v1, v2) = report
            .as_ref()
            .map(|r| (r.v1_added, r.v2_added))
            .unwrap_or_default();
        let message = if report.is_some() {
            format!("Registry {registry} ready: {v1} versions added to v1, {v2} to v2.")
        } else {
            format!(
                "Registry {registry} is already initialised (use --force to re-import the bundled catalogue)."
            )
        };
        (
            json!({ "registry": mp.paths.registry, "seeded": report.is_some(), "v1_added": v1, "v2_added": v2 }),
            message,
        )
    };
    if g.json {
        output::json(&answer);
    } else {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn validate(path: &Path, g: &Global) -> CliResult {
    let report = validate_packages(path)?;
    if g.json {
        output::report(&report);
    } else {
        for r in &report.results {
            let label = match (&r.name, &r.version) {
                (Some(n), Some(v)) => format!("{n} {v}"),
                _ => r.path.display().to_string(),
            };
            println!("{} {label}", if r.valid { "ok     " } else { "INVALID" });
            for e in &r.errors {
                println!("    error: {e}");
            }
            for w in &r.warnings {
                println!("    warning: {w}");
            }
        }
        println!("\n{} checked, {} invalid.", report.checked, report.invalid);
    }
    Ok(if report.invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(super) fn status(mp: &Marketplace, g: &Global) -> CliResult {
    let status = mp.status();
    if g.json {
        output::json(&with_backend(&status, every_backend()));
        return Ok(ExitCode::SUCCESS);
    }
    let s = &status;
    println!("features:  {}", s.features.join(", "));
    println!("home:      {}", s.home.display());
    println!("registry:  {}", s.registry.display());
    println!(
        "config:    {}{}",
        s.config_file.display(),
        if s.config_file_present {
            ""
        } else {
            " (not present: defaults)"
        }
    );
    println!(
        "fallback:  {} (from {})",
        s.fallback.value, s.fallback.source
    );
    if let Some(e) = &s.v2_endpoint {
        println!("v2 endpoint: {} (from {})", e.query.value, e.query.source);
        println!("  graph:    {} (from {})", e.graph.value, e.graph.source);
        println!("  protocol: {}", e.protocol);
        println!("  auth:     {}", e.auth);
        if let Some(ca) = &e.ca_file {
            println!("  ca file:  {}", ca.display());
        }
        if let Some(l) = &e.lock_url {
            println!(
                "  writers:  take turns through etcd {} (from {})",
                l.value, l.source
            );
        }
    }
    println!("archives:  {}", s.archives);
    if let Some(why) = &s.fleet_conflict {
        println!("fleet:     NOT SERVABLE: {why}");
    }
    if let Some(r) = &s.registry_url {
        println!("registry server: {} (from {})", r.value, r.source);
    }
    println!("\nrouting:");
    let rows: Vec<Vec<String>> = s
        .operations
        .iter()
        .map(|(op, st)| {
            vec![
                op.as_str().to_string(),
                st.value.to_string(),
                st.source.to_string(),
            ]
        })
        .collect();
    table(&["operation", "strategy", "source"], &rows);
    println!("\nbackends:");
    for (kind, b) in &s.backends {
        match &b.metadata {
            Some(m) => println!(
                "  {kind}: {} at {} — {} packages, {} versions; circuit {}",
                m.storage,
                m.location,
                m.package_count,
                m.version_count,
                b.circuit.as_str()
            ),
            None => println!(
                "  {kind}: unavailable: {}; circuit {}",
                b.error.as_deref().unwrap_or_default(),
                b.circuit.as_str()
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn rebuild_index(mp: &Marketplace, g: &Global) -> CliResult {
    let only = g.backend.map(|b| match b {
        BackendArg::V1 => BackendKind::V1,
        BackendArg::V2 => BackendKind::V2,
    });
    let report = mp.rebuild_index(only)?;
    if g.json {
        let used = only.map_or(every_backend(), |k| k.as_str());
        output::json(&with_backend(&report, used));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(r) = report.v1 {
        println!(
            "v1: tantivy index rebuilt with {} packages in {} ms.",
            r.documents, r.ms
        );
    }
    if let Some(r) = report.v2 {
        println!(
            "v2: term index rebuilt with {} packages in {} ms.",
            r.documents, r.ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar for long work on a terminal; hidden otherwise.
fn progress_bar(g: &Global) -> indicatif::ProgressBar {
    if !g.json && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    }
}

/// Runs `work` with a progress bar that it moves (done, total) and that is
/// cleared when it returns.
fn with_progress<T>(
    g: &Global,
    work: impl FnOnce(&dyn Fn(usize, usize)) -> ggen_marketplace::Result<T>,
) -> ggen_marketplace::Result<T> {
    let bar = progress_bar(g);
    let result = work(&|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    result
}

pub(super) fn migrate(mp: &Marketplace, dry_run: bool, g: &Global) -> CliResult {
    let report = with_progress(g, |progress| mp.migrate(dry_run, progress))?;
    print_migration(&report, g);
    Ok(ExitCode::SUCCESS)
}

fn print_migration(report: &ggen_marketplace::MigrationReport, g: &Global) {
    if g.json {
        output::json(&with_backend(report, "v1+v2"));
    } else {
        println!(
            "{}{} packages, {} versions in v1; {} versions copied to v2, {} repaired (v2's copy differed), {} already there.",
            if report.dry_run { "(dry run) " } else { "" },
            report.packages,
            report.versions,
            report.copied,
            report.repaired,
            report.already_present
        );
    }
}

pub(super) fn verify_migration(mp: &Marketplace, g: &Global) -> CliResult {
    let report = mp.verify_migration()?;
    if g.json {
        output::json(&with_backend(&report, "v1+v2"));
    } else {
        for d in &report.differences {
            println!("DIFF {d}");
        }
        println!(
            "{} packages compared: {}.",
            report.packages,
            if report.differences.is_empty() {
                "v1 and v2 agree".to_string()
            } else {
                format!("{} difference(s)", report.differences.len())
            }
        );
    }
    Ok(if report.differences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(super) fn rebuild_db(mp: &Marketplace, g: &Global) -> CliResult {
    let report = with_progress(g, |progress| mp.rebuild_db(progress))?;
    print_migration(&report, g);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn export(mp: &Marketplace, format: crate::args::ExportFormat, g: &Global) -> CliResult {
    use ggen_marketplace::GraphFormat as F;
    let format = match format {
        crate::args::ExportFormat::Turtle => F::Turtle,
        crate::args::ExportFormat::Ntriples => F::NTriples,
        crate::args::ExportFormat::Jsonld => F::JsonLd,
    };
    let bytes = mp.export(format)?;
    if g.json {
        // The document itself is the output; --json wraps it for scripts that
        // want every answer in one shape.
        output::json(&json!({
            "backend_used": "v2",
            "format": format.as_str(),
            "document": String::from_utf8_lossy(&bytes),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    use std::io::Write;
    std::io::stdout().write_all(&bytes)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn sparql(mp: &Marketplace, query: &str, g: &Global) -> CliResult {
    let started = Instant::now();
    let (out, cache) = mp.sparql(query)?;
    if g.verbose {
        eprintln!(
            "backend: v2; latency: {:.2} ms\ncache: {}",
            started.elapsed().as_secs_f64() * 1000.0,
            cache.as_str()
        );
    }
    if g.json {
        // Without --json the answer is the standard SPARQL results document,
        // for SPARQL tools; with it, that document under `results`.
        let results: serde_json::Value = serde_json::from_str(&out)?;
        output::json(&json!({ "backend_used": "v2", "results": results }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn ab_report(mp: &Marketplace, g: &Global) -> CliResult {
    let report = mp.ab_report()?;
    if g.json {
        output::json(&with_backend(&report, "v1+v2"));
        return Ok(ExitCode::SUCCESS);
    }
    if report.comparisons == 0 {
        println!(
            "No comparisons recorded yet. Run searches with GGEN_MARKETPLACE_BACKEND=compare (or `marketplace.backend: compare`)."
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("comparisons:   {}", report.comparisons);
    println!("match rate:    {:.1}%", report.match_rate * 100.0);
    println!(
        "mean overlap:  {:.1}% (search: of the top 10)",
        report.mean_overlap * 100.0
    );
    println!(
        "errors:        v1 {:.1}%, v2 {:.1}%",
        report.v1_error_rate * 100.0,
        report.v2_error_rate * 100.0
    );
    let f = |x: Option<f64>| {
        x.map(|v| format!("{v:.2} ms"))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "latency v1:    p50 {}, p95 {}",
        f(report.v1_p50_ms),
        f(report.v1_p95_ms)
    );
    println!(
        "latency v2:    p50 {}, p95 {}",
        f(report.v2_p50_ms),
        f(report.v2_p95_ms)
    );
    if report.by_operation.len() > 1 {
        println!("\nper operation:");
        for (op, o) in &report.by_operation {
            println!(
                "  {op:<8} {:>6} comparisons, {:>5.1}% match, {:>5.1}% overlap, p50 v1 {} / v2 {}",
                o.comparisons,
                o.match_rate * 100.0,
                o.mean_overlap * 100.0,
                f(o.v1_p50_ms),
                f(o.v2_p50_ms)
            );
        }
    }
    if !report.worst_mismatches.is_empty() {
        println!("\nworst mismatches:");
        for m in &report.worst_mismatches {
            println!(
                "  {:>5.1}% overlap  {} `{}`  v1: {}  v2: {}",
                m.overlap * 100.0,
                m.operation,
                m.query,
                m.v1_top.join(","),
                m.v2_top.join(",")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn cache_clear(mp: &Marketplace, older_than: Option<&str>, g: &Global) -> CliResult {
    let limit = older_than
        .map(|s| {
            parse_duration(s).ok_or_else(|| {
                Failure::new(format!("`{s}` is not a duration like 30s, 15m, 1h or 7d"))
            })
        })
        .transpose()?;
    let removed = mp.clear_cache(limit)?;
    if g.json {
        output::json(&json!({"removed": removed, "cache_dir": mp.paths.cache_dir()}));
    } else {
        println!(
            "Removed {removed} cached file(s) from {}.",
            mp.paths.cache_dir().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn backup(
    mp: &Marketplace,
    action: &crate::args::BackupAction,
    g: &Global,
) -> CliResult {
    use crate::args::BackupAction;
    match action {
        BackupAction::Create { output, .. } => {
            let output = output.clone().unwrap_or_else(|| {
                PathBuf::from(format!(
                    "ggen-backup-{}.tar.gz",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ))
            });
            let m = mp.backup(&output)?;
            let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
            if g.json {
                output::json(
                    &json!({"file": output, "bytes": size, "manifest": m, "backend_used": every_backend()}),
                );
            } else {
                println!(
                    "Wrote {} ({} bytes): {}{}{} files.",
                    output.display(),
                    size,
                    counts_text("v1", m.v1),
                    counts_text("v2", m.v2),
                    m.files.len()
                );
            }
        }
        BackupAction::List { file, .. } => {
            let m = inspect_backup(file)?;
            if g.json {
                output::report(&m);
            } else {
                println!(
                    "{}: format {}, made {} by ggen {}; checksums verified.",
                    file.display(),
                    m.format,
                    m.created.format("%Y-%m-%d %H:%M:%S UTC"),
                    m.ggen_version
                );
                println!(
                    "{}{} files:",
                    counts_text("v1", m.v1),
                    counts_text("v2", m.v2)
                );
                let rows: Vec<Vec<String>> = m
                    .files
                    .iter()
                    .map(|(p, e)| vec![e.size.to_string(), p.clone()])
                    .collect();
                output::table(&["BYTES", "FILE"], &rows);
            }
        }
        BackupAction::Restore { file, force, .. } => {
            let r = mp.restore_backup(file, *force)?;
            if g.json {
                output::json(&with_backend(&r, every_backend()));
            } else {
                println!(
                    "Restored {} into {}: {}checksums verified.",
                    file.display(),
                    r.registry.display(),
                    counts_text("v1", r.v1) + &counts_text("v2", r.v2)
                );
                if let Some(old) = &r.replaced {
                    println!("The previous registry is kept at {}.", old.display());
                }
                if r.tokens_kept_revoked > 0 {
                    println!(
                        "{} token(s) in the backup were revoked after it was made; they stay revoked.",
                        r.tokens_kept_revoked
                    );
                }
                if r.config == "kept existing" {
                    println!(
                        "The backup's config.yaml differs from yours, which was kept; add --force to restore it (yours is then kept beside it)."
                    );
                }
                for d in &r.differences {
                    println!("DIFF {d}");
                }
                if !r.differences.is_empty() {
                    println!(
                        "V1 and V2 differed already when the backup was made; `ggen marketplace migrate` repairs what V2 lacks."
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn counts_text(label: &str, c: Option<ggen_marketplace::Counts>) -> String {
    match c {
        Some(c) => format!(
            "{label} {} packages / {} versions; ",
            c.packages, c.versions
        ),
        None => String::new(),
    }
}
