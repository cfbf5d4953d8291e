//! One function per command. Each builds a request, calls the facade and hands
//! the answer to `output`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ggen_marketplace::config::{Compiled, Flags, Operation, Settings};
use ggen_marketplace::install::{self, Action, InstallContext, InstallOptions};
use ggen_marketplace::lockfile::Lockfile;
use ggen_marketplace::{Marketplace, Paths};
use ggen_marketplace_core::name::{split_spec, validate_name};
use ggen_marketplace_core::{BackendKind, Manifest, MarketplaceBackend, Package, SearchQuery};
use semver::{Version, VersionReq};
use serde_json::json;

use crate::args::{BackendArg, Global, Marketplace as Cmd};
use crate::output::{self, table};

pub fn run(cmd: Cmd) -> Result<ExitCode> {
    let g = cmd.global().clone();
    match &cmd {
        Cmd::Validate { path, .. } => return validate(path, &g),
        Cmd::Keygen { output, force, .. } => return crate::sign::keygen(output, *force, &g),
        Cmd::VerifyKey { path, .. } => return crate::sign::verify_key(path, &g),
        Cmd::Sign {
            package,
            key,
            output,
            ..
        } => return crate::sign::sign(package, key, output, &g),
        _ => {}
    }
    let mp = open(&g)?;
    if let Some(url) = mp.remote_url() {
        let local_only = match &cmd {
            Cmd::Init { .. } => Some("init"),
            Cmd::RebuildIndex { .. } => Some("rebuild-index"),
            Cmd::RebuildDb { .. } => Some("rebuild-db"),
            Cmd::Migrate { .. } => Some("migrate"),
            Cmd::VerifyMigration { .. } => Some("verify-migration"),
            Cmd::Export { .. } => Some("export"),
            Cmd::Sparql { .. } => Some("sparql"),
            Cmd::AbReport { .. } => Some("ab-report"),
            Cmd::Backup { .. } => Some("backup"),
            _ => None,
        };
        if let Some(name) = local_only {
            bail!(
                "`{name}` works on a local registry, but this command is set to use the registry server {url}; run it on the server's machine, or drop --registry / GGEN_REGISTRY_URL / registry.url"
            );
        }
    }
    // Backups work on the registry as it is: never seed before them.
    if let Cmd::Backup { action } = &cmd {
        return backup(&mp, action, &g);
    }
    if let Cmd::Init { force, .. } = &cmd {
        return init(&mp, *force, &g);
    }
    if let Some(report) = mp.ensure_seeded(false)? {
        eprintln!(
            "Seeded {} from the bundled catalogue ({} package versions).",
            mp.paths.registry.display(),
            report.v1_added.max(report.v2_added)
        );
    }
    match cmd {
        Cmd::Search {
            query,
            words,
            category,
            tag,
            sort,
            limit,
            offset,
            ..
        } => {
            let text = query.unwrap_or_else(|| words.join(" "));
            let q = SearchQuery {
                text,
                category,
                tags: tag,
                sort: sort.into(),
                limit,
                offset,
            };
            search(&mp, &q, &g)
        }
        Cmd::List {
            installed: true,
            target,
            ..
        } => list_installed(&target, &g),
        Cmd::List { .. } => list(&mp, &g),
        Cmd::Info { package, .. } => info(&mp, &package, &g),
        Cmd::Versions { name, .. } => versions(&mp, &name, &g),
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
                .collect::<Result<Vec<_>>>()?;
            let opts = InstallOptions {
                dry_run,
                force,
                no_dependencies,
                locked,
                include_optional: with_optional,
                ..InstallOptions::default()
            };
            let verify = verify_signature || mp.settings.require_signatures.value;
            run_install(&mp, &g, &target, verify, |ctx| {
                install::install(ctx, &specs, &target, &opts)
            })
        }
        Cmd::Update {
            name,
            target,
            dry_run,
            ..
        } => {
            let opts = InstallOptions {
                dry_run,
                ..InstallOptions::default()
            };
            let only: Vec<String> = name.into_iter().collect();
            let verify = mp.settings.require_signatures.value;
            run_install(&mp, &g, &target, verify, |ctx| {
                install::update(ctx, &only, &target, &opts)
            })
        }
        Cmd::Remove {
            name,
            target,
            force,
            ..
        } => {
            let opts = InstallOptions {
                force,
                ..InstallOptions::default()
            };
            run_install(&mp, &g, &target, false, |ctx| {
                install::remove(ctx, &name, &target, &opts)
            })
        }
        Cmd::RebuildIndex { .. } => rebuild_index(&mp, &g),
        Cmd::Status { .. } => status(&mp, &g),
        Cmd::Migrate { dry_run, .. } => migrate(&mp, dry_run, &g),
        Cmd::VerifyMigration { .. } => verify_migration(&mp, &g),
        Cmd::RebuildDb { .. } => rebuild_db(&mp, &g),
        Cmd::Export { format, .. } => export(&mp, format, &g),
        Cmd::Sparql { query, .. } => sparql(&mp, &query, &g),
        Cmd::AbReport { .. } => ab_report(&mp, &g),
        Cmd::Cache {
            action: crate::args::CacheAction::Clear { older_than, .. },
        } => cache_clear(&mp, older_than.as_deref(), &g),
        Cmd::Verify { package, .. } => crate::sign::verify(&mp, &package, &g),
        Cmd::Trust { action } => crate::sign::trust(&mp, &action),
        Cmd::Publish {
            path, key, dry_run, ..
        } => crate::sign::publish_cmd(&mp, &path, key.as_deref(), dry_run, &g),
        Cmd::Yank { package, undo, .. } => crate::sign::yank(&mp, &package, undo, &g),
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

fn open(g: &Global) -> Result<Marketplace> {
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
fn with_backend(mut v: serde_json::Value, used: &str) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("backend_used".into(), json!(used));
    }
    v
}

fn parse_spec(spec: &str) -> Result<(String, VersionReq)> {
    let (name, req) = split_spec(spec);
    validate_name(name)?;
    let req = match req {
        None => VersionReq::STAR,
        Some(r) => VersionReq::parse(r).map_err(|e| {
            ggen_marketplace_core::MarketplaceError::InvalidRequirement {
                requirement: r.to_string(),
                reason: e.to_string(),
            }
        })?,
    };
    Ok((name.to_string(), req))
}

fn verbose_line(
    g: &Global,
    mp: &Marketplace,
    op: Operation,
    backend: &dyn MarketplaceBackend,
    started: Instant,
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

fn init(mp: &Marketplace, force: bool, g: &Global) -> Result<ExitCode> {
    let report = mp.ensure_seeded(force)?;
    let (v1, v2) = report
        .as_ref()
        .map(|r| (r.v1_added, r.v2_added))
        .unwrap_or_default();
    if g.json {
        output::json(
            &json!({ "registry": mp.paths.registry, "seeded": report.is_some(), "v1_added": v1, "v2_added": v2 }),
        );
    } else if report.is_some() {
        println!(
            "Registry {} ready: {v1} versions added to v1, {v2} to v2.",
            mp.paths.registry.display()
        );
    } else {
        println!(
            "Registry {} is already initialised (use --force to re-import the bundled catalogue).",
            mp.paths.registry.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn search(mp: &Marketplace, q: &SearchQuery, g: &Global) -> Result<ExitCode> {
    let started = Instant::now();
    let (results, cache, backend) = mp.search(q)?;
    verbose_line(g, mp, Operation::Search, backend.as_ref(), started);
    if g.verbose {
        eprintln!("cache: {}", cache.as_str());
    }
    if g.json {
        let mut v = serde_json::to_value(&results)?;
        v["query"] = json!(q.text);
        output::json(&v);
        return Ok(ExitCode::SUCCESS);
    }
    if results.hits.is_empty() {
        println!(
            "No packages match `{}`. Try fewer words, or `ggen marketplace list`.",
            output::safe(&q.text)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = results
        .hits
        .iter()
        .map(|h| {
            vec![
                h.name.clone(),
                h.version.to_string(),
                h.category.clone().unwrap_or_default(),
                h.description.clone(),
            ]
        })
        .collect();
    table(&["name", "version", "category", "description"], &rows);
    println!(
        "\n{} of {} result(s) from {} in {:.1} ms. Install with `ggen marketplace install NAME`.",
        results.hits.len(),
        results.total,
        results.backend_used,
        results.query_time.as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

fn list(mp: &Marketplace, g: &Global) -> Result<ExitCode> {
    let started = Instant::now();
    let backend = mp.backend_for(Operation::List)?;
    let all = backend.list()?;
    verbose_line(g, mp, Operation::List, backend.as_ref(), started);
    if g.json {
        output::json(&json!({ "backend_used": backend.last_used(), "packages": all }));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.version.to_string(),
                p.category.clone().unwrap_or_default(),
                p.description.clone(),
            ]
        })
        .collect();
    table(&["name", "version", "category", "description"], &rows);
    println!("\n{} package(s) from {}.", all.len(), backend.last_used());
    Ok(ExitCode::SUCCESS)
}

fn list_installed(target: &Path, g: &Global) -> Result<ExitCode> {
    let lock = Lockfile::read(target)?;
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

fn info(mp: &Marketplace, spec: &str, g: &Global) -> Result<ExitCode> {
    let (name, version) = split_spec(spec);
    validate_name(name)?;
    let version: Option<Version> = version
        .map(|v| {
            Version::parse(v).with_context(|| format!("`{v}` is not a version (use NAME@1.2.3)"))
        })
        .transpose()?;
    let started = Instant::now();
    let backend = mp.backend_for(Operation::Info)?;
    let pkg = backend.package(name)?;
    verbose_line(g, mp, Operation::Info, backend.as_ref(), started);
    let shown = match &version {
        Some(v) => pkg.version(v).ok_or_else(|| {
            ggen_marketplace_core::MarketplaceError::VersionNotFound {
                name: name.into(),
                requirement: format!("={v}"),
            }
        })?,
        None => pkg.latest(),
    };
    if g.json {
        output::json(&json!({
            "backend_used": backend.last_used(),
            "name": pkg.name,
            "downloads": pkg.downloads,
            "stars": pkg.stars,
            "latest": pkg.latest().version,
            "version": shown,
            "versions": pkg.versions.iter().map(|v| json!({"version": v.version, "yanked": v.yanked})).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    print_info(&pkg, shown);
    Ok(ExitCode::SUCCESS)
}

/// Every value shown comes from a registry and goes through [`output::safe`].
fn print_info(pkg: &Package, v: &ggen_marketplace_core::PackageVersion) {
    use output::safe;
    let list = |items: &[String], none: &str| {
        if items.is_empty() {
            none.to_string()
        } else {
            safe(&items.join(", "))
        }
    };
    let opt = |o: &Option<String>| o.as_deref().map(safe).unwrap_or_else(|| "-".into());
    println!(
        "{} {}{}",
        pkg.name,
        v.version,
        if v.yanked { " (yanked)" } else { "" }
    );
    if !v.description.is_empty() {
        println!("  {}", safe(&v.description));
    }
    println!("  category:     {}", opt(&v.category));
    println!("  license:      {}", opt(&v.license));
    println!("  authors:      {}", list(&v.authors, "-"));
    if let Some(r) = &v.repository {
        println!("  repository:   {}", safe(r));
    }
    println!("  tags:         {}", list(&v.tags, "-"));
    println!("  keywords:     {}", list(&v.keywords, "-"));
    let deps: Vec<String> = v
        .dependencies
        .iter()
        .map(|d| {
            format!(
                "{} {}{}",
                d.name,
                d.req,
                if d.optional { " (optional)" } else { "" }
            )
        })
        .collect();
    println!("  dependencies: {}", list(&deps, "none"));
    println!("  sha256:       {}", opt(&v.checksum));
    if let Some(size) = v.size {
        println!("  size:         {size} bytes");
    }
    match &v.signature {
        Some(s) => println!(
            "  signature:    {} by key {}",
            safe(&s.algorithm),
            safe(&s.key_id)
        ),
        None => println!("  signature:    none"),
    }
    println!("  downloads:    {}", pkg.downloads);
    let versions: Vec<String> = pkg
        .versions
        .iter()
        .map(|x| format!("{}{}", x.version, if x.yanked { " (yanked)" } else { "" }))
        .collect();
    println!("  versions:     {}", versions.join(", "));
    println!(
        "\nInstall: ggen marketplace install {}@{}",
        pkg.name, v.version
    );
}

fn versions(mp: &Marketplace, name: &str, g: &Global) -> Result<ExitCode> {
    validate_name(name)?;
    let started = Instant::now();
    let backend = mp.backend_for(Operation::Info)?;
    let versions = backend.versions(name)?;
    verbose_line(g, mp, Operation::Info, backend.as_ref(), started);
    if g.json {
        let list: Vec<_> = versions
            .iter()
            .map(|v| json!({"version": v.version, "yanked": v.yanked, "published_at": v.published_at, "sha256": v.checksum, "signed": v.signature.is_some()}))
            .collect();
        output::json(
            &json!({ "backend_used": backend.last_used(), "name": name, "versions": list }),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = versions
        .iter()
        .rev()
        .map(|v| {
            vec![
                v.version.to_string(),
                v.published_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_else(|| "-".into()),
                if v.signature.is_some() {
                    "signed".into()
                } else {
                    "unsigned".into()
                },
                if v.yanked {
                    "yanked".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    table(&["version", "published", "signature", "status"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn run_install(
    mp: &Marketplace,
    g: &Global,
    target: &Path,
    verify_signatures: bool,
    run: impl FnOnce(&InstallContext<'_>) -> ggen_marketplace::Result<install::Report>,
) -> Result<ExitCode> {
    let started = Instant::now();
    let backend = mp.backend_for(Operation::Install)?;
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
    let on_event = |e: install::Event<'_>| match e {
        install::Event::Resolved { count } => bar.set_length(count as u64),
        install::Event::Fetching {
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
        install::Event::Extracted { .. } => bar.inc(1),
    };
    let trust = if verify_signatures {
        Some(ggen_marketplace_core::signing::TrustStore::open(
            mp.paths.trust_file(),
        )?)
    } else {
        None
    };
    let verifier = |release: &ggen_marketplace_core::PackageVersion, archive: &[u8]| match &trust {
        Some(t) => ggen_marketplace::publish::require_trusted_signature(t, release, archive),
        None => Ok(None),
    };
    if verify_signatures
        && let Some(url) = mp.remote_url()
        && ggen_marketplace::remote::is_cleartext_to_network(url)
    {
        eprintln!(
            "warning: {url} is plain http to another machine: signatures are still checked end to end, but anyone on the path can see what you install and withhold updates; prefer https://"
        );
    }
    let ctx = InstallContext {
        backend: backend.as_ref(),
        journal_dir: mp.paths.transactions_dir(),
        source: format!("registry+file://{}", mp.paths.registry.display()),
        cache_dir: mp.paths.cache_dir(),
        verifier: verify_signatures.then_some(&verifier as install::Verifier<'_>),
        on_event: &on_event,
    };
    let report = run(&ctx)?;
    bar.finish_and_clear();
    verbose_line(g, mp, Operation::Install, backend.as_ref(), started);
    if g.json {
        let mut v = serde_json::to_value(&report)?;
        v["backend_used"] = json!(backend.last_used());
        output::json(&v);
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

fn cache_clear(mp: &Marketplace, older_than: Option<&str>, g: &Global) -> Result<ExitCode> {
    let limit = older_than
        .map(|s| {
            ggen_marketplace::cache::parse_duration(s)
                .with_context(|| format!("`{s}` is not a duration like 30s, 15m, 1h or 7d"))
        })
        .transpose()?;
    let removed = ggen_marketplace::cache::clear(&mp.paths.cache_dir(), limit)?;
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

fn validate(path: &Path, g: &Global) -> Result<ExitCode> {
    let mut targets: Vec<PathBuf> = Vec::new();
    if path.is_dir() && Manifest::find_in_dir(path).is_err() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        targets.extend(dirs);
    } else {
        targets.push(path.to_path_buf());
    }
    if targets.is_empty() {
        bail!(
            "{} holds no package (no gpack.toml, gpack.yaml or package.toml)",
            path.display()
        );
    }
    let mut results = Vec::new();
    let mut invalid = 0;
    for t in &targets {
        match Manifest::load(t) {
            Ok(m) => {
                let mut errors = Vec::new();
                if t.is_dir()
                    && let Err(e) = ggen_marketplace_core::archive::pack_dir(t)
                {
                    errors.push(e.to_string());
                }
                if !errors.is_empty() {
                    invalid += 1;
                }
                results.push(json!({"path": t, "name": m.name, "version": m.version, "format": m.format, "valid": errors.is_empty(), "errors": errors, "warnings": m.warnings}));
            }
            Err(e) => {
                invalid += 1;
                results.push(
                    json!({"path": t, "valid": false, "errors": [e.to_string()], "warnings": []}),
                );
            }
        }
    }
    if g.json {
        output::json(&json!({"checked": results.len(), "invalid": invalid, "results": results}));
    } else {
        for r in &results {
            let ok = r["valid"].as_bool().unwrap_or(false);
            let label = match (r["name"].as_str(), r["version"].as_str()) {
                (Some(n), Some(v)) => format!("{n} {v}"),
                _ => r["path"].as_str().unwrap_or_default().to_string(),
            };
            println!("{} {label}", if ok { "ok     " } else { "INVALID" });
            for e in r["errors"].as_array().into_iter().flatten() {
                println!("    error: {}", e.as_str().unwrap_or_default());
            }
            for w in r["warnings"].as_array().into_iter().flatten() {
                println!("    warning: {}", w.as_str().unwrap_or_default());
            }
        }
        println!("\n{} checked, {} invalid.", results.len(), invalid);
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rebuild_index(mp: &Marketplace, g: &Global) -> Result<ExitCode> {
    let mut report = serde_json::Map::new();
    // `--backend` narrows the rebuild to one backend; without it, every compiled one.
    let wanted = |b: crate::args::BackendArg| g.backend.is_none_or(|chosen| chosen == b);
    #[cfg(feature = "marketplace-v1")]
    if wanted(crate::args::BackendArg::V1) {
        let started = Instant::now();
        let docs = mp.v1()?.rebuild_index()?;
        report.insert(
            "v1".into(),
            json!({"documents": docs, "ms": started.elapsed().as_millis() as u64}),
        );
        if !g.json {
            println!(
                "v1: tantivy index rebuilt with {docs} packages in {} ms.",
                started.elapsed().as_millis()
            );
        }
    }
    #[cfg(feature = "marketplace-v2")]
    if wanted(crate::args::BackendArg::V2) {
        let started = Instant::now();
        let packages = mp.v2()?.rebuild_index()?;
        report.insert(
            "v2".into(),
            json!({"documents": packages, "ms": started.elapsed().as_millis() as u64}),
        );
        if !g.json {
            println!(
                "v2: term index rebuilt with {packages} packages in {} ms.",
                started.elapsed().as_millis()
            );
        }
    }
    if report.is_empty() {
        anyhow::bail!("the requested backend is not compiled into this build; nothing was rebuilt");
    }
    if g.json {
        let used = match g.backend {
            Some(crate::args::BackendArg::V1) => "v1",
            Some(crate::args::BackendArg::V2) => "v2",
            _ => every_backend(),
        };
        report.insert("backend_used".into(), json!(used));
        output::json(&serde_json::Value::Object(report));
    }
    Ok(ExitCode::SUCCESS)
}

fn status(mp: &Marketplace, g: &Global) -> Result<ExitCode> {
    let compiled = Compiled::this_build();
    let features: Vec<&str> = [
        (compiled.v1, "marketplace-v1"),
        (compiled.v2, "marketplace-v2"),
        (compiled.v1 && compiled.v2, "marketplace-parallel"),
    ]
    .into_iter()
    .filter_map(|(on, f)| on.then_some(f))
    .collect();
    let mut backends = serde_json::Map::new();
    for kind in [BackendKind::V1, BackendKind::V2] {
        let circuit = mp.breaker(kind).state();
        let entry = match mp.single(kind) {
            Ok(b) => match b.metadata() {
                Ok(m) => json!({"available": true, "circuit": circuit, "metadata": m}),
                Err(e) => json!({"available": false, "circuit": circuit, "error": e.to_string()}),
            },
            Err(e) => json!({"available": false, "circuit": circuit, "error": e.to_string()}),
        };
        backends.insert(kind.to_string(), entry);
    }
    let s = &mp.settings;
    if g.json {
        output::json(&json!({
            "backend_used": every_backend(),
            "features": features,
            "registry": mp.paths.registry,
            "home": mp.paths.home,
            "config_file": mp.paths.config_file(),
            "config_file_present": s.config_file.is_some(),
            "operations": s.strategies,
            "fallback": s.fallback_enabled,
            "v2_endpoint": s.v2_endpoint,
            "backends": backends,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("features:  {}", features.join(", "));
    println!("home:      {}", mp.paths.home.display());
    println!("registry:  {}", mp.paths.registry.display());
    println!(
        "config:    {}{}",
        mp.paths.config_file().display(),
        if s.config_file.is_some() {
            ""
        } else {
            " (not present: defaults)"
        }
    );
    println!(
        "fallback:  {} (from {})",
        s.fallback_enabled.value, s.fallback_enabled.source
    );
    if let Some(e) = &s.v2_endpoint {
        println!("v2 endpoint: {} (from {})", e.value, e.source);
    }
    println!("\nrouting:");
    let rows: Vec<Vec<String>> = s
        .strategies
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
    for (kind, entry) in &backends {
        match entry.get("metadata") {
            Some(m) => println!(
                "  {kind}: {} at {} — {} packages, {} versions; circuit {}",
                m["storage"].as_str().unwrap_or_default(),
                m["location"].as_str().unwrap_or_default(),
                m["package_count"],
                m["version_count"],
                entry["circuit"].as_str().unwrap_or_default()
            ),
            None => println!(
                "  {kind}: unavailable: {}; circuit {}",
                entry["error"].as_str().unwrap_or_default(),
                entry["circuit"].as_str().unwrap_or_default()
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "marketplace-parallel")]
fn migrate(mp: &Marketplace, dry_run: bool, g: &Global) -> Result<ExitCode> {
    if !dry_run {
        mp.recover_interrupted_writes()?;
    }
    let progress = !g.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = if progress {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let report =
        ggen_marketplace::migrate::migrate(&*mp.v1()?, &*mp.v2()?, dry_run, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })?;
    bar.finish_and_clear();
    if g.json {
        output::json(&with_backend(serde_json::to_value(&report)?, "v1+v2"));
    } else {
        println!(
            "{}{} packages, {} versions in v1; {} versions copied to v2, {} repaired (v2's copy differed), {} already there.",
            if dry_run { "(dry run) " } else { "" },
            report.packages,
            report.versions,
            report.copied,
            report.repaired,
            report.already_present
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "marketplace-parallel")]
fn verify_migration(mp: &Marketplace, g: &Global) -> Result<ExitCode> {
    mp.recover_interrupted_writes()?;
    let report = ggen_marketplace::migrate::verify(&*mp.v1()?, &*mp.v2()?)?;
    if g.json {
        output::json(&with_backend(serde_json::to_value(&report)?, "v1+v2"));
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

#[cfg(feature = "marketplace-parallel")]
fn rebuild_db(mp: &Marketplace, g: &Global) -> Result<ExitCode> {
    // A store whose directory was removed is created anew, empty.
    let v2 = mp.v2_for_rebuild()?;
    // A publish that reached V2 alone before a crash is copied to V1 first, or
    // the clear below would lose it.
    mp.recover_interrupted_writes()?;
    v2.clear()?;
    migrate(mp, false, g)
}

#[cfg(not(feature = "marketplace-parallel"))]
fn migrate(_: &Marketplace, _: bool, _: &Global) -> Result<ExitCode> {
    Err(needs_both("migrate"))
}
#[cfg(not(feature = "marketplace-parallel"))]
fn verify_migration(_: &Marketplace, _: &Global) -> Result<ExitCode> {
    Err(needs_both("verify-migration"))
}
#[cfg(not(feature = "marketplace-parallel"))]
fn rebuild_db(_: &Marketplace, _: &Global) -> Result<ExitCode> {
    Err(needs_both("rebuild-db"))
}
#[cfg(not(feature = "marketplace-parallel"))]
fn needs_both(cmd: &str) -> anyhow::Error {
    ggen_marketplace::Error::NotCompiled {
        backend: format!("v1 and v2 (needed by `{cmd}`)"),
        feature: "marketplace-parallel".into(),
    }
    .into()
}

#[cfg(feature = "marketplace-v2")]
fn export(mp: &Marketplace, format: crate::args::ExportFormat, g: &Global) -> Result<ExitCode> {
    use ggen_marketplace::v2::ExportFormat as F;
    let (f, label) = match format {
        crate::args::ExportFormat::Turtle => (F::Turtle, "turtle"),
        crate::args::ExportFormat::Ntriples => (F::NTriples, "ntriples"),
        crate::args::ExportFormat::Jsonld => (F::JsonLd, "jsonld"),
    };
    let bytes = mp.v2()?.export(f)?;
    if g.json {
        // The document itself is the output; --json wraps it for scripts that
        // want every answer in one shape.
        output::json(&json!({
            "backend_used": "v2",
            "format": label,
            "document": String::from_utf8_lossy(&bytes),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    use std::io::Write;
    std::io::stdout().write_all(&bytes)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "marketplace-v2")]
fn sparql(mp: &Marketplace, query: &str, g: &Global) -> Result<ExitCode> {
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

#[cfg(not(feature = "marketplace-v2"))]
fn export(_: &Marketplace, _: crate::args::ExportFormat, _: &Global) -> Result<ExitCode> {
    Err(ggen_marketplace::Error::NotCompiled {
        backend: "v2".into(),
        feature: "marketplace-v2".into(),
    }
    .into())
}
#[cfg(not(feature = "marketplace-v2"))]
fn sparql(_: &Marketplace, _: &str, _: &Global) -> Result<ExitCode> {
    Err(ggen_marketplace::Error::NotCompiled {
        backend: "v2".into(),
        feature: "marketplace-v2".into(),
    }
    .into())
}

#[cfg(feature = "marketplace-parallel")]
fn ab_report(mp: &Marketplace, g: &Global) -> Result<ExitCode> {
    let records = ggen_marketplace::dual::read_compare_log(&mp.paths.home)?;
    let report = ggen_marketplace::report::summarise(&records);
    if g.json {
        output::json(&with_backend(serde_json::to_value(&report)?, "v1+v2"));
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

#[cfg(not(feature = "marketplace-parallel"))]
fn ab_report(_: &Marketplace, _: &Global) -> Result<ExitCode> {
    Err(ggen_marketplace::Error::NotCompiled {
        backend: "v1 and v2 (needed by `ab-report`)".into(),
        feature: "marketplace-parallel".into(),
    }
    .into())
}

fn backup(mp: &Marketplace, action: &crate::args::BackupAction, g: &Global) -> Result<ExitCode> {
    use crate::args::BackupAction;
    use ggen_marketplace::backup;
    match action {
        BackupAction::Create { output, .. } => {
            let output = output.clone().unwrap_or_else(|| {
                PathBuf::from(format!(
                    "ggen-backup-{}.tar.gz",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ))
            });
            let m = backup::create(mp, &output)?;
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
            let m = backup::inspect(file)?;
            if g.json {
                output::json(&serde_json::to_value(&m)?);
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
            let r = backup::restore(mp, file, *force)?;
            if g.json {
                output::json(&with_backend(serde_json::to_value(&r)?, every_backend()));
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

fn counts_text(label: &str, c: Option<ggen_marketplace::backup::Counts>) -> String {
    match c {
        Some(c) => format!(
            "{label} {} packages / {} versions; ",
            c.packages, c.versions
        ),
        None => String::new(),
    }
}
