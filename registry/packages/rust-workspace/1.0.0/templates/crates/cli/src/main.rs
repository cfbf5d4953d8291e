//! Command-line entry point of {{ project_name }}.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use app_core::summarize;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let values = std::env::args()
        .skip(1)
        .map(|arg| {
            arg.parse::<f64>()
                .with_context(|| format!("not a number: {arg:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let Some(summary) = summarize(&values) else {
        bail!("usage: {{ project_name }} NUMBER...");
    };
    println!(
        "count={} min={} max={} mean={}",
        summary.count, summary.min, summary.max, summary.mean
    );
    Ok(())
}
