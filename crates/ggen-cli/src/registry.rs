//! `ggen registry ...`: the server and its tokens.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ggen_marketplace::config::{Compiled, Flags, Settings};
use ggen_marketplace::{Marketplace, Paths};
use ggen_registry::auth::{Scope, TokenStore, parse_expiry};
use ggen_registry::{AppState, ServeOptions};
use serde_json::json;

use crate::args::{Registry, TokenAction};
use crate::output;

fn paths(registry_dir: Option<PathBuf>) -> Result<Paths> {
    let mut paths = Paths::from_env()?;
    if let Some(dir) = registry_dir {
        paths.registry = dir;
    }
    Ok(paths)
}

pub fn run(cmd: Registry) -> Result<ExitCode> {
    match cmd {
        Registry::Serve {
            addr,
            registry_dir,
            auth_required,
            rate_limit,
            write_rate_limit,
            global,
        } => {
            let paths = paths(registry_dir)?;
            let settings = Settings::load(
                &paths.config_file(),
                &Flags::default(),
                Compiled::this_build(),
            )?;
            // A long-running process: searches and package metadata get in-memory tiers.
            let mp = Marketplace::new(paths, settings)
                .with_memory_cache(ggen_marketplace::cache::env_size(
                    "GGEN_SEARCH_CACHE",
                    10_000,
                ))
                .with_package_cache(ggen_marketplace::cache::env_size(
                    "GGEN_PACKAGE_CACHE",
                    10_000,
                ));
            if let Some(r) = mp.ensure_seeded(false)? {
                eprintln!(
                    "Seeded {} from the bundled catalogue ({} package versions).",
                    mp.paths.registry.display(),
                    r.v1_added.max(r.v2_added)
                );
            }
            let metrics = ggen_marketplace::metrics::install();
            ggen_marketplace::metrics::describe();
            let options = ServeOptions {
                addr,
                auth_required,
                per_address_rps: rate_limit,
                writes_per_token_per_minute: write_rate_limit,
                ..ServeOptions::default()
            };
            let registry = mp.paths.registry.clone();
            let state = AppState::new(mp, options, metrics);
            let json = global.json;
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime
                .block_on(ggen_registry::serve(state, move |bound| {
                    // One line on stdout that scripts (and tests) can wait for.
                    if json {
                        println!(
                            "{}",
                            json!({"listening": format!("http://{bound}"), "registry": registry})
                        );
                    } else {
                        println!(
                            "Listening on http://{bound} (registry {})",
                            registry.display()
                        );
                    }
                    use std::io::Write;
                    let _ = std::io::stdout().flush();
                }))
                .with_context(|| format!("serving on {addr}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Registry::Token(action) => token(action),
    }
}

fn token(action: TokenAction) -> Result<ExitCode> {
    match action {
        TokenAction::Create {
            scopes,
            package,
            expires,
            registry_dir,
            global,
        } => {
            let scopes = scopes
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().parse::<Scope>().map_err(anyhow::Error::msg))
                .collect::<Result<Vec<_>>>()?;
            let expires = expires
                .as_deref()
                .map(parse_expiry)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let store = TokenStore::new(&paths(registry_dir)?.registry);
            let (token, rec) = store.create(scopes, &package, expires)?;
            if global.json {
                output::json(&json!({"token": token, "record": rec}));
            } else {
                println!("{token}");
                eprintln!(
                    "Token {} ({}; packages `{}`; {}). It is shown only now: store it safely, e.g. in GGEN_REGISTRY_TOKEN.",
                    rec.id,
                    rec.scopes
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    rec.packages,
                    rec.expires
                        .map(|e| format!("expires {}", e.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_else(|| "no expiry".into())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenAction::List {
            registry_dir,
            global,
        } => {
            let list = TokenStore::new(&paths(registry_dir)?.registry).list()?;
            if global.json {
                output::json(&serde_json::to_value(&list)?);
            } else if list.is_empty() {
                println!(
                    "No tokens. Create one with `ggen registry token create --scope publish`."
                );
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.clone(),
                            t.scopes
                                .iter()
                                .map(|s| s.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                            t.packages.clone(),
                            t.created.format("%Y-%m-%d").to_string(),
                            t.expires
                                .map(|e| e.format("%Y-%m-%d %H:%M").to_string())
                                .unwrap_or_else(|| "never".into()),
                        ]
                    })
                    .collect();
                output::table(&["ID", "SCOPES", "PACKAGES", "CREATED", "EXPIRES"], &rows);
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenAction::Revoke {
            id,
            registry_dir,
            global,
        } => {
            let rec = TokenStore::new(&paths(registry_dir)?.registry).revoke(&id)?;
            if global.json {
                output::json(&json!({"revoked": rec.id}));
            } else {
                println!("Revoked token {}.", rec.id);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
