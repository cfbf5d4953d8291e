//! Changing a target directory: install, update, remove, and what is installed.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use ggen_marketplace::{Action, Event, InstallReport, Marketplace, Operation};
use serde_json::json;

use crate::args::Global;
use crate::failure::CliResult;

/// Runs `op` (anything that fetches packages) with a progress bar on a
/// terminal, or one line per fetch otherwise (none with --json).
pub(super) fn with_progress<T>(
    g: &Global,
    op: impl FnOnce(&dyn Fn(Event<'_>)) -> ggen_marketplace::Result<T>,
) -> CliResult<T> {
    let progress = !g.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = indicatif::ProgressBar::hidden();
    if progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} {msg}")
                .expect("template"),
        );
    }
    let quiet = g.json;
    let on_event = |e: Event<'_>| match e {
        Event::Resolved { count } => bar.set_length(count as u64),
        Event::Fetching {
            name,
            version,
            cached,
        } => {
            let msg = format!(
                "{} {name} {version}",
                if cached { "Using cached" } else { "Fetching" }
            );
            if progress {
                bar.set_message(msg);
            } else if !quiet {
                eprintln!("{msg}");
            }
        }
        Event::Extracted { .. } => {
            bar.inc(1);
            // Done fetching: clear the bar before anything else (a prompt) draws.
            if bar.length().is_some_and(|n| bar.position() >= n) {
                bar.finish_and_clear();
            }
        }
    };
    let result = op(&on_event);
    bar.finish_and_clear();
    Ok(result?)
}
use crate::output::{self, table};

pub(super) fn list_installed(mp: &Marketplace, target: &Path, g: &Global) -> CliResult {
    let lock = mp.installed(target)?;
    if g.json {
        output::json(&json!({ "target": target, "packages": lock.packages }));
        return Ok(ExitCode::SUCCESS);
    }
    if lock.packages.is_empty() {
        println!("Nothing installed in {} (no ggen.lock).", target.display());
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = lock
        .packages
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.version.to_string(),
                if p.requested {
                    "requested".into()
                } else {
                    "dependency".into()
                },
                p.signature_key_id
                    .clone()
                    .map(|k| format!("signed by {k}"))
                    .unwrap_or_else(|| "unsigned".into()),
            ]
        })
        .collect();
    table(&["name", "version", "why", "signature"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// Runs one install-like operation with a progress bar on a terminal (or
/// one line per fetch otherwise), then prints what changed.
pub(super) fn run(
    mp: &Marketplace,
    g: &Global,
    target: &Path,
    op: impl FnOnce(&Marketplace, &dyn Fn(Event<'_>)) -> ggen_marketplace::Result<InstallReport>,
) -> CliResult {
    let started = Instant::now();
    let report = with_progress(g, |on| op(mp, on))?;
    if g.verbose {
        let s = &mp.settings.strategies[&Operation::Install];
        eprintln!(
            "backend: {} (strategy {}, from {}); latency: {:.2} ms",
            report.backend_used,
            s.value,
            s.source,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if g.json {
        output::report(&report);
        return Ok(ExitCode::SUCCESS);
    }
    if report.up_to_date {
        println!(
            "Nothing to do: {} is up to date with ggen.lock.",
            target.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for c in &report.changes {
        let line = match (&c.action, &c.from) {
            (Action::Install, _) => format!("+ {} {}", c.name, c.version),
            (Action::Upgrade | Action::Downgrade, Some(f)) => {
                format!("~ {} {} -> {}", c.name, f, c.version)
            }
            (Action::Remove, _) => format!("- {} {}", c.name, c.version),
            _ => continue,
        };
        println!("{}{line}", if report.dry_run { "(dry run) " } else { "" });
    }
    if report.dry_run {
        println!("Dry run: nothing was written.");
    } else {
        println!(
            "Done in {:.0} ms: {} (ggen.lock updated).",
            started.elapsed().as_secs_f64() * 1000.0,
            target.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
