//! The `ggen` binary: parses arguments, calls the facade, presents results.
//! No business logic lives here.
#![allow(unsafe_code)] // one call, below, says why

mod args;
mod commands;
mod failure;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `ggen ... | head` should end quietly when the reader goes away, as cat and
    // grep do, instead of panicking on the failed write: restore the default
    // SIGPIPE action that the Rust runtime replaces with "ignore".
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let command = match args::Cli::parse().command {
        args::Command::Registry(cmd) => return run_registry(*cmd),
        other => other,
    };
    let verbose = match &command {
        args::Command::Registry(_) => unreachable!("returned above"),
        args::Command::Marketplace(cmd) => cmd.global().verbose,
        args::Command::New(a) => a.common.global.verbose,
        args::Command::Update(a) => a.common.global.verbose,
    };
    let default_level = if verbose { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
    // GGEN_METRICS_FILE: this run's metrics, merged into a node-exporter textfile.
    let metrics_file = ggen_marketplace::env::process_env(ggen_marketplace::env::METRICS_FILE);
    let handle = metrics_file
        .as_ref()
        .and_then(|_| ggen_marketplace::metrics::install());
    let result = match command {
        args::Command::Marketplace(cmd) => commands::run(*cmd),
        args::Command::New(a) => commands::generate::new(&a),
        args::Command::Update(a) => commands::generate::update(&a),
        args::Command::Registry(_) => unreachable!("returned above"),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::FAILURE
        }
    };
    if let (Some(path), Some(handle)) = (metrics_file, handle)
        && let Err(e) =
            ggen_marketplace::metrics::write_textfile(std::path::Path::new(&path), &handle.render())
    {
        eprintln!(
            "warning: could not write metrics to {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
    code
}

/// The server logs requests and lifecycle at info level by default (RUST_LOG overrides).
fn run_registry(cmd: args::Registry) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match commands::registry::run(cmd) {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::FAILURE
        }
    }
}
