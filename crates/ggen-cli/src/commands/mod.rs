//! One function per command: each turns arguments into a call to the facade
//! and hands the answer to [`crate::output`]. What to do (routing, policy,
//! which commands need a local registry) is the facade's.
//!
//! | module | commands |
//! |---|---|
//! | `browse` | search, list, info, versions |
//! | `install` | install, update, remove, list --installed |
//! | `generate` | `ggen new`, `ggen update` (projects from templates) |
//! | `publish` | publish, sign, keygen, verify-key, verify, trust, yank, key |
//! | `admin` | init, status, validate, migrate, verify-migration, rebuild-*, export, sparql, ab-report, cache, backup |
//! | `registry` | `ggen registry`: the server, its tokens and owners |

mod admin;
mod browse;
pub mod generate;
mod install;
mod publish;
pub mod registry;

use ggen_marketplace::core::BackendKind;
use ggen_marketplace::core::name::{split_spec, validate_name};
use ggen_marketplace::core::{MarketplaceBackend, MarketplaceError};
use ggen_marketplace::{Compiled, Flags, Marketplace, Operation, Paths, Settings};
use semver::{Version, VersionReq};

use crate::args::{BackendArg, Global, Marketplace as Cmd};
use crate::failure::{CliResult, Failure};

/// Runs one `ggen marketplace` command.
pub fn run(cmd: Cmd) -> CliResult {
    let g = cmd.global().clone();
    // Commands that need no registry at all.
    match &cmd {
        Cmd::Validate { path, .. } => return admin::validate(path, &g),
        Cmd::Keygen { output, force, .. } => return publish::keygen(output, *force, &g),
        Cmd::VerifyKey { path, .. } => return publish::verify_key(path, &g),
        Cmd::Sign {
            package,
            key,
            output,
            ..
        } => return publish::sign(package, key, output, &g),
        _ => {}
    }
    let mp = open(&g)?;
    let mp = if cmd.is_dry_run() { mp.read_only() } else { mp };
    let mp = if cmd.only_reads_packages() {
        mp.reads_only()
    } else {
        mp
    };
    // Backups work on the registry as it is: never seed before them.
    if let Cmd::Backup { action } = &cmd {
        return admin::backup(&mp, action, &g);
    }
    if let Cmd::Init { force, empty, .. } = &cmd {
        return admin::init(&mp, *force, *empty, &g);
    }
    seed(&mp)?;
    match cmd {
        Cmd::Search {
            query,
            words,
            category,
            tag,
            sort,
            limit,
            offset,
            explain,
            ..
        } => browse::search(
            &mp,
            &ggen_marketplace::core::SearchQuery {
                text: query.unwrap_or_else(|| words.join(" ")),
                category,
                tags: tag,
                sort: sort.into(),
                limit,
                offset,
                explain,
            },
            &g,
        ),
        Cmd::List {
            installed: true,
            target,
            ..
        } => install::list_installed(&mp, &target, &g),
        Cmd::List { .. } => browse::list(&mp, &g),
        Cmd::Info { package, .. } => browse::info(&mp, &package, &g),
        Cmd::Versions { name, .. } => browse::versions(&mp, &name, &g),
        Cmd::Install {
            packages,
            target,
            dry_run,
            force,
            no_dependencies,
            locked,
            with_optional,
            verify_signature,
            ..
        } => {
            let specs = packages
                .iter()
                .map(|p| parse_spec(p))
                .collect::<CliResult<Vec<_>>>()?;
            let opts = ggen_marketplace::InstallOptions {
                dry_run,
                force,
                no_dependencies,
                locked,
                include_optional: with_optional,
                verify_signatures: verify_signature,
                ..Default::default()
            };
            install::run(&mp, &g, &target, |mp, on| {
                mp.install(&specs, &target, &opts, on)
            })
        }
        Cmd::Update {
            name,
            target,
            dry_run,
            ..
        } => {
            let opts = ggen_marketplace::InstallOptions {
                dry_run,
                ..Default::default()
            };
            let only: Vec<String> = name.into_iter().collect();
            install::run(&mp, &g, &target, |mp, on| {
                mp.update(&only, &target, &opts, on)
            })
        }
        Cmd::Remove {
            name,
            target,
            force,
            ..
        } => {
            let opts = ggen_marketplace::InstallOptions {
                force,
                ..Default::default()
            };
            install::run(&mp, &g, &target, |mp, on| {
                mp.remove(&name, &target, &opts, on)
            })
        }
        Cmd::RebuildIndex { .. } => admin::rebuild_index(&mp, &g),
        Cmd::Status { .. } => admin::status(&mp, &g),
        Cmd::Migrate { dry_run, .. } => admin::migrate(&mp, dry_run, &g),
        Cmd::VerifyMigration { .. } => admin::verify_migration(&mp, &g),
        Cmd::RebuildDb { .. } => admin::rebuild_db(&mp, &g),
        Cmd::Export { format, .. } => admin::export(&mp, format, &g),
        Cmd::Sparql { query, .. } => admin::sparql(&mp, &query, &g),
        Cmd::Topics { action } => browse::topics(&mp, &action, &g),
        Cmd::AbReport { .. } => admin::ab_report(&mp, &g),
        Cmd::Cache {
            action: crate::args::CacheAction::Clear { older_than, .. },
        } => admin::cache_clear(&mp, older_than.as_deref(), &g),
        Cmd::Verify { package, .. } => publish::verify(&mp, &package, &g),
        Cmd::Trust { action } => publish::trust(&mp, &action),
        Cmd::Key { action } => publish::key(&mp, &action),
        Cmd::Publish {
            path, key, dry_run, ..
        } => publish::publish(&mp, &path, key.as_deref(), dry_run, &g),
        Cmd::Yank { package, undo, .. } => publish::yank(&mp, &package, undo, &g),
        Cmd::Init { .. }
        | Cmd::Backup { .. }
        | Cmd::Validate { .. }
        | Cmd::Keygen { .. }
        | Cmd::VerifyKey { .. }
        | Cmd::Sign { .. } => {
            unreachable!("handled above")
        }
    }
}

/// Seeds a registry that has never been used from the bundled catalogue.
fn seed(mp: &Marketplace) -> CliResult<()> {
    if let Some(report) = mp.ensure_seeded(false)? {
        eprintln!(
            "Seeded {} from the bundled catalogue ({} package versions).",
            mp.paths.registry.display(),
            report.v1_added.max(report.v2_added)
        );
    }
    Ok(())
}

/// The marketplace of a command that reads packages, seeded on first use
/// (read-only for a dry run, as in [`run`]).
fn open_seeded(g: &Global, dry_run: bool) -> CliResult<Marketplace> {
    let mp = open(g)?;
    let mp = if dry_run { mp.read_only() } else { mp };
    seed(&mp)?;
    Ok(mp)
}

/// The marketplace of this process: paths and settings from the
/// environment, the config file, and the global flags.
fn open(g: &Global) -> CliResult<Marketplace> {
    let paths = Paths::from_env()?;
    let flags = Flags {
        backend: g.backend.map(|b| match b {
            BackendArg::V1 => BackendKind::V1,
            BackendArg::V2 => BackendKind::V2,
        }),
        registry_url: g.registry.clone(),
        registry_token: g.token.clone(),
    };
    let settings = Settings::load(&paths.config_file(), &flags, Compiled::this_build())?;
    Ok(Marketplace::new(paths, settings))
}

/// `backend_used` of commands that read every compiled backend (status,
/// rebuild-index, migrate, verify-migration, ab-report): `"v1+v2"` in a
/// parallel build, else the one compiled backend.
fn every_backend() -> &'static str {
    let c = Compiled::this_build();
    match (c.v1, c.v2) {
        (true, true) => "v1+v2",
        (false, true) => "v2",
        _ => "v1",
    }
}

/// Adds `backend_used` to a JSON object (reports serialized from library types).
fn with_backend(value: &impl serde::Serialize, used: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(value).expect("reports serialize");
    if let Some(o) = v.as_object_mut() {
        o.insert("backend_used".into(), used.into());
    }
    v
}

/// `NAME` or `NAME@REQ`.
fn parse_spec(spec: &str) -> CliResult<(String, VersionReq)> {
    let (name, req) = split_spec(spec);
    validate_name(name)?;
    let req = match req {
        None => VersionReq::STAR,
        Some(r) => VersionReq::parse(r).map_err(|e| MarketplaceError::InvalidRequirement {
            requirement: r.to_string(),
            reason: e.to_string(),
        })?,
    };
    Ok((name.to_string(), req))
}

/// `NAME` or `NAME@VERSION` (an exact version).
fn parse_exact(spec: &str) -> CliResult<(String, Option<Version>)> {
    let (name, version) = split_spec(spec);
    validate_name(name)?;
    let version = version
        .map(|v| {
            Version::parse(v)
                .map_err(|_| Failure::new(format!("`{v}` is not a version (use NAME@1.2.3)")))
        })
        .transpose()?;
    Ok((name.to_string(), version))
}

/// With `--verbose`: which backend answered, by which strategy, how fast.
fn verbose_line(
    g: &Global,
    mp: &Marketplace,
    op: Operation,
    backend: &dyn MarketplaceBackend,
    started: std::time::Instant,
) {
    if g.verbose {
        let s = &mp.settings.strategies[&op];
        eprintln!(
            "backend: {} (strategy {}, from {}); latency: {:.2} ms",
            backend.last_used(),
            s.value,
            s.source,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}
