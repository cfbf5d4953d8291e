//! Whole-process rows: what a user waits for. `ggen marketplace search` runs
//! as a new process per call on the registry the in-process rows used (start-up,
//! opening the stores, loading the indexes, the search, printing), with each
//! child's peak resident set size read from `wait4`; and one timed
//! `ggen marketplace migrate` of a V1-only copy of the catalogue into a new V2
//! store. Both run the release `ggen` next to this binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ggen_marketplace_core::model::Package;

use crate::{Row, build_v1, percentile};

/// The release `ggen` beside this binary.
pub fn ggen_binary() -> Result<PathBuf> {
    let ggen = std::env::current_exe()?
        .parent()
        .context("no executable directory")?
        .join("ggen");
    anyhow::ensure!(
        ggen.is_file(),
        "{} not found: build it with `cargo build --release -p ggen-cli`",
        ggen.display()
    );
    Ok(ggen)
}

/// Runs `cmd` to completion; returns its wall time and peak RSS in KiB.
fn run_measured(cmd: &mut Command) -> Result<(Duration, u64)> {
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain FFI call; `usage` is written by the kernel before we read it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    anyhow::ensure!(r == pid, "wait4: {}", std::io::Error::last_os_error());
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        anyhow::bail!("{cmd:?} failed (status {status}): {err}");
    }
    // ru_maxrss is in KiB on Linux.
    Ok((elapsed, usage.ru_maxrss as u64))
}

fn ggen(ggen: &Path, home: &Path, registry: &Path) -> Command {
    let mut c = Command::new(ggen);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GGEN_HOME", home)
        .env("GGEN_REGISTRY_DIR", registry)
        .env("GGEN_CONFIG_DIR", home.join("config"))
        .env("GGEN_USER_ID", "bench")
        // Every call must run the search, not read the previous answer.
        .env("GGEN_SEARCH_CACHE", "0")
        .arg("marketplace");
    c
}

/// `ggen marketplace search` as a process, per backend, `runs` times.
pub fn search_rows(
    n: usize,
    root: &Path,
    registry: &Path,
    runs: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let bin = ggen_binary()?;
    let home = root.join(format!("process-home-{n}"));
    for backend in ["v1", "v2"] {
        let mut samples = Vec::with_capacity(runs);
        let mut peak = 0;
        let mut first = Duration::ZERO;
        for i in 0..=runs {
            let (t, rss) = run_measured(ggen(&bin, &home, registry).args([
                "search",
                "--query",
                "graph",
                "--backend",
                backend,
            ]))?;
            peak = peak.max(rss);
            if i == 0 {
                first = t; // page cache and store files cold for this backend
            } else {
                samples.push(t);
            }
        }
        let total: Duration = samples.iter().sum();
        samples.sort();
        rows.push(Row {
            packages: n,
            backend: backend.into(),
            operation: "search (whole process)".into(),
            calls: runs,
            first_us: first.as_secs_f64() * 1e6,
            p50_us: percentile(&samples, 0.50),
            p95_us: percentile(&samples, 0.95),
            p99_us: percentile(&samples, 0.99),
            ops_per_sec: runs as f64 / total.as_secs_f64(),
            peak_rss_kib: Some(peak),
        });
    }
    Ok(())
}

/// One `ggen marketplace migrate` of `corpus` from a fresh V1-only registry.
pub fn migrate_row(n: usize, root: &Path, corpus: &[Package], rows: &mut Vec<Row>) -> Result<()> {
    let bin = ggen_binary()?;
    let home = root.join(format!("migrate-home-{n}"));
    let _ = std::fs::remove_dir_all(&home);
    let registry = home.join("registry");
    drop(build_v1(&registry, corpus)?);
    let (t, rss) = run_measured(ggen(&bin, &home, &registry).args(["migrate", "--json"]))?;
    // The copy must be complete for the time to mean anything.
    let (_, _) = run_measured(ggen(&bin, &home, &registry).arg("verify-migration"))?;
    let us = t.as_secs_f64() * 1e6;
    rows.push(Row {
        packages: n,
        backend: "v1->v2".into(),
        operation: "migrate (whole process)".into(),
        calls: 1,
        first_us: us,
        p50_us: us,
        p95_us: us,
        p99_us: us,
        ops_per_sec: 1.0 / t.as_secs_f64(),
        peak_rss_kib: Some(rss),
    });
    Ok(())
}
