//! Whole-process rows: what a user waits for. `ggen marketplace search` runs
//! as a new process per call on the registry the in-process rows used (start-up,
//! opening the stores, loading the indexes, the search, printing), with each
//! child's peak resident set size read by GNU `time`; and one timed
//! `ggen marketplace migrate` of a V1-only copy of the catalogue into a new V2
//! store; and `ggen marketplace publish` of a small package into the same
//! registry (what a write costs as the catalogue grows). All run the release
//! `ggen` next to this binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ggen_marketplace_core::model::Package;

use crate::{Row, build_v1};

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

/// Runs `cmd` to completion under GNU `time`; returns its wall time and peak
/// RSS in KiB. Not `wait4` on our own child: Linux counts the spawning
/// process's memory (this benchmark holds whole catalogues) in a child's
/// `ru_maxrss` up to its `exec`; `time` is small, so its child's figure is the
/// command's own.
fn run_measured(cmd: &mut Command) -> Result<(Duration, u64)> {
    let report = tempfile::NamedTempFile::new()?;
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-f").arg("%M").arg("-o").arg(report.path());
    timed.arg(cmd.get_program()).args(cmd.get_args());
    timed
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    let started = Instant::now();
    let out = timed
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .context("running /usr/bin/time (Debian package `time`)")?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        anyhow::bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let kib = std::fs::read_to_string(report.path())?
        .trim()
        .lines()
        .last()
        .unwrap_or("")
        .parse()
        .context("reading GNU time's %M")?;
    Ok((elapsed, kib))
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
        rows.push(process_row(
            n,
            backend,
            "search (whole process)",
            runs,
            |_| {
                let mut c = ggen(&bin, &home, registry);
                c.args(["search", "--query", "graph", "--backend", backend]);
                Ok(c)
            },
        )?);
    }
    Ok(())
}

/// A row of `runs` whole processes, each the command `make(i)` gives for
/// run i, after a first one (i = 0) that is the row's "first": page cache
/// and store files cold for it. Peak memory is the largest of all.
fn process_row(
    n: usize,
    backend: &str,
    operation: &str,
    runs: usize,
    mut make: impl FnMut(usize) -> Result<Command>,
) -> Result<Row> {
    let mut samples = Vec::with_capacity(runs);
    let mut peak = 0;
    let mut first = Duration::ZERO;
    for i in 0..=runs {
        let (t, rss) = run_measured(&mut make(i)?)?;
        peak = peak.max(rss);
        if i == 0 {
            first = t;
        } else {
            samples.push(t);
        }
    }
    let total: Duration = samples.iter().sum();
    let mut row = Row::from_samples(n, backend, operation, first, samples, total);
    row.peak_rss_kib = Some(peak);
    Ok(row)
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

/// `ggen marketplace publish` of a small package (one short template) into
/// the `n`-package registry, as a process, per backend, `runs` times after a
/// first one: a new version of one package each time.
pub fn publish_rows(
    n: usize,
    root: &Path,
    registry: &Path,
    runs: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let bin = ggen_binary()?;
    let home = root.join(format!("process-home-{n}"));
    for backend in ["v1", "v2"] {
        let src = root.join(format!("publish-src-{n}-{backend}"));
        std::fs::create_dir_all(src.join("templates"))?;
        std::fs::write(src.join("templates/hello.txt"), "Hello, {{ name }}!\n")?;
        let operation = "publish small (whole process)";
        rows.push(process_row(n, backend, operation, runs, |i| {
            std::fs::write(
                src.join("gpack.toml"),
                format!(
                    "[package]\nname = \"bench-publish-{backend}\"\nversion = \"1.0.{i}\"\n\
                     description = \"A small package the benchmark publishes\"\n"
                ),
            )?;
            let mut c = ggen(&bin, &home, registry);
            c.arg("publish").arg(&src).args(["--backend", backend]);
            Ok(c)
        })?);
    }
    Ok(())
}
