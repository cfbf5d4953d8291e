//! Reading the registry: search, list, info, versions.

use std::process::ExitCode;
use std::time::Instant;

use ggen_marketplace::core::name::validate_name;
use ggen_marketplace::core::{Package, PackageVersion, SearchQuery};
use ggen_marketplace::{Marketplace, Operation};
use serde_json::json;

use super::{parse_exact, verbose_line};
use crate::args::{Global, TopicsAction};
use crate::failure::CliResult;
use crate::output::{self, safe, table};

pub(super) fn search(mp: &Marketplace, q: &SearchQuery, g: &Global) -> CliResult {
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
            safe(&q.text)
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
    if q.explain {
        print_explanations(&results.hits);
    }
    println!(
        "\n{} of {} result(s) from {} in {:.1} ms. Install with `ggen marketplace install NAME`.",
        results.hits.len(),
        results.total,
        results.backend_used,
        results.query_time.as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

/// Each hit's score, part by part (`search --explain`); the concept of a
/// topic match is in `--json`.
fn print_explanations(hits: &[ggen_marketplace::core::SearchHit]) {
    for h in hits {
        println!("\n{} (score {:.2}):", safe(&h.name), h.score);
        let rows: Vec<Vec<String>> = h
            .explain
            .iter()
            .map(|p| {
                vec![
                    format!("{:>8.2}", p.score),
                    p.field.map_or("", |f| f.as_str()).to_string(),
                    p.kind.as_str().to_string(),
                    safe(&p.term),
                    p.source.as_deref().map(safe).unwrap_or_default(),
                ]
            })
            .collect();
        table(&["   +score", "field", "match", "term", "from"], &rows);
    }
}

pub(super) fn topics(mp: &Marketplace, action: &TopicsAction, g: &Global) -> CliResult {
    match action {
        TopicsAction::List { .. } => {
            let report = mp.topics()?;
            if g.json {
                output::json(&json!({
                    "backend_used": if report.source == "graph" { "v2" } else { "v1" },
                    "source": report.source,
                    "concepts": report.concepts,
                }));
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = report
                .concepts
                .iter()
                .map(|c| {
                    vec![
                        safe(&c.label),
                        c.packages.map_or_else(String::new, |n| n.to_string()),
                        safe(&c.alt_labels.join(", ")),
                        safe(&c.narrower.join(", ")),
                    ]
                })
                .collect();
            table(&["topic", "packages", "also", "narrower"], &rows);
            println!(
                "\n{} topic(s), {}. Export with `ggen marketplace topics export`; replace with `topics import FILE.ttl`.",
                report.concepts.len(),
                if report.source == "graph" {
                    "from V2's graph"
                } else {
                    "as shipped (V2 writes them into its graph with its first write)"
                }
            );
        }
        TopicsAction::Export { .. } => {
            let bytes = mp.topics_export()?;
            if g.json {
                output::json(&json!({
                    "backend_used": null,
                    "format": "turtle",
                    "document": String::from_utf8_lossy(&bytes),
                }));
                return Ok(ExitCode::SUCCESS);
            }
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
        TopicsAction::Import { file, .. } => {
            let r = mp.topics_import(file)?;
            if g.json {
                output::json(&json!({ "backend_used": "v2", "imported": r }));
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Imported {} topic(s) ({} triples) into V2's graph and linked {} version(s) to them. Searches expand through them from now on.",
                r.concepts, r.triples, r.links
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(mp: &Marketplace, g: &Global) -> CliResult {
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

pub(super) fn info(mp: &Marketplace, spec: &str, g: &Global) -> CliResult {
    let (name, version) = parse_exact(spec)?;
    let name = name.as_str();
    let started = Instant::now();
    let backend = mp.backend_for(Operation::Info)?;
    let pkg = backend.package(name)?;
    verbose_line(g, mp, Operation::Info, backend.as_ref(), started);
    let shown = match &version {
        Some(v) => pkg.version(v).ok_or_else(|| {
            ggen_marketplace::core::MarketplaceError::VersionNotFound {
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
fn print_info(pkg: &Package, v: &PackageVersion) {
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

pub(super) fn versions(mp: &Marketplace, name: &str, g: &Global) -> CliResult {
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
