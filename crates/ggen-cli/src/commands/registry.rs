//! `ggen registry ...`: the server, its tokens, and the owners of names.

use std::path::PathBuf;
use std::process::ExitCode;

use ggen_marketplace::{
    Compiled, Flags, Marketplace, Owners, Paths, Scope, Settings, TokenStore, parse_expiry,
};
use ggen_registry::client::TrustedProxies;
use ggen_registry::{AppState, ServeOptions};
use serde_json::json;

use crate::args::{OwnerAction, OwnerChange, Registry, TokenAction};
use crate::failure::{CliResult, Failure};
use crate::output;

fn paths(registry_dir: Option<PathBuf>) -> CliResult<Paths> {
    let mut paths = Paths::from_env()?;
    if let Some(dir) = registry_dir {
        paths.registry = dir;
    }
    Ok(paths)
}

/// Runs one `ggen registry` command.
pub fn run(cmd: Registry) -> CliResult {
    match cmd {
        Registry::Serve {
            addr,
            registry_dir,
            auth_required,
            rate_limit,
            write_rate_limit,
            header_timeout,
            max_connections,
            max_connections_per_address,
            max_expensive_requests,
            metrics_addr,
            trusted_proxies,
            global,
        } => {
            let trusted_proxies = TrustedProxies::parse(&trusted_proxies)
                .map_err(|e| Failure::new(format!("--trusted-proxy: {e}")))?;
            let paths = paths(registry_dir)?;
            let settings = Settings::load(
                &paths.config_file(),
                &Flags::default(),
                Compiled::this_build(),
            )?;
            if let Some(why) = settings.fleet_conflict() {
                return Err(Failure::new(format!("refusing to serve: {why}")));
            }
            // A long-running process: searches and package metadata get in-memory tiers.
            let sizes = settings.cache_sizes;
            let mp = Marketplace::new(paths, settings)
                .with_memory_cache(sizes.server_search)
                .with_package_cache(sizes.packages);
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
                header_read_timeout: std::time::Duration::from_secs(header_timeout.max(1)),
                max_connections,
                max_connections_per_address,
                max_expensive_requests,
                metrics_addr,
                trusted_proxies,
                ..ServeOptions::default()
            };
            let registry = mp.paths.registry.clone();
            let state = AppState::new(mp, options, metrics);
            let json = global.json;
            let runtime = tokio::runtime::Runtime::new()?;
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
                .map_err(|e| Failure::new(format!("serving on {addr}: {e}")))?;
            Ok(ExitCode::SUCCESS)
        }
        Registry::Token(action) => token(action),
        Registry::Owner(action) => owner(action),
    }
}

fn token(action: TokenAction) -> CliResult {
    match action {
        TokenAction::Create {
            scopes,
            package,
            owner,
            expires,
            registry_dir,
            global,
        } => {
            let scopes = scopes
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().parse::<Scope>().map_err(Failure::new))
                .collect::<CliResult<Vec<_>>>()?;
            // A write token names its packages and its owner: no default may
            // silently mean "every name", or "nobody in particular".
            let writes = scopes.iter().any(|s| *s != Scope::Read);
            let (package, owner) = match (package, owner) {
                (Some(p), Some(o)) => (p, o),
                (package, owner) if !writes => (
                    package.unwrap_or_else(|| "*".into()),
                    owner.unwrap_or_else(|| "reader".into()),
                ),
                (None, _) => {
                    return Err(Failure::new(
                        "a publish or yank token needs --package PATTERN: the names it may write",
                    )
                    .hint("`--package 'acme-*'`, or `--package '*'` for every name"));
                }
                (_, None) => {
                    return Err(Failure::new(
                        "a publish or yank token needs --owner NAME: who it acts for, recorded as the owner of the names it publishes first",
                    )
                    .hint("`--owner acme` (a person or team)"));
                }
            };
            let expires = expires
                .as_deref()
                .map(parse_expiry)
                .transpose()
                .map_err(Failure::new)?;
            let store = TokenStore::new(&paths(registry_dir)?.registry);
            let (token, rec) = store
                .create(scopes, &package, &owner, expires)
                .map_err(|e| Failure::new(e.to_string()))?;
            if global.json {
                output::json(&json!({"token": token, "record": rec}));
            } else {
                println!("{token}");
                eprintln!(
                    "Token {} for {} ({}; packages `{}`; {}). It is shown only now: store it safely, e.g. in GGEN_REGISTRY_TOKEN.",
                    rec.id,
                    rec.owner(),
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
            let list = TokenStore::new(&paths(registry_dir)?.registry)
                .list()
                .map_err(|e| Failure::new(e.to_string()))?;
            if global.json {
                output::json(&serde_json::to_value(&list)?);
            } else if list.is_empty() {
                println!(
                    "No tokens. Create one with `ggen registry token create --scope publish --owner NAME --package 'PATTERN'`."
                );
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.clone(),
                            t.owner(),
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
                output::table(
                    &["ID", "OWNER", "SCOPES", "PACKAGES", "CREATED", "EXPIRES"],
                    &rows,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenAction::Revoke {
            id,
            registry_dir,
            global,
        } => {
            let rec = TokenStore::new(&paths(registry_dir)?.registry)
                .revoke(&id)
                .map_err(|e| Failure::new(e.to_string()))?;
            if global.json {
                output::json(&json!({"revoked": rec.id}));
            } else {
                println!("Revoked token {}.", rec.id);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn owner(action: OwnerAction) -> CliResult {
    use ggen_marketplace::core::signing;
    let (registry_dir, global) = match &action {
        OwnerAction::List {
            registry_dir,
            global,
            ..
        }
        | OwnerAction::KeyAdd {
            registry_dir,
            global,
            ..
        }
        | OwnerAction::KeyRemove {
            registry_dir,
            global,
            ..
        } => (registry_dir.clone(), global.clone()),
        OwnerAction::Add(c) | OwnerAction::Remove(c) => (c.registry_dir.clone(), c.global.clone()),
    };
    let owners = Owners::new(&paths(registry_dir)?.registry);
    let (said, message) = match action {
        OwnerAction::List { name, .. } => {
            let all = owners.all()?;
            let shown: Vec<_> = all
                .iter()
                .filter(|(n, _)| name.as_ref().is_none_or(|w| w == *n))
                .collect();
            if global.json {
                output::json(
                    &json!({"packages": shown.iter().map(|(n, o)| json!({"name": n, "owners": o.owners, "keys": o.keys})).collect::<Vec<_>>()}),
                );
            } else if shown.is_empty() {
                println!(
                    "No owners recorded{}.",
                    name.map(|n| format!(" for `{n}`")).unwrap_or_default()
                );
            } else {
                let rows: Vec<Vec<String>> = shown
                    .iter()
                    .map(|(n, o)| {
                        let ids: Vec<String> = o
                            .keys
                            .iter()
                            .map(|k| {
                                signing::parse_public_key_hex(k)
                                    .map(|vk| signing::key_id(&vk))
                                    .unwrap_or_else(|_| "(invalid key)".into())
                            })
                            .collect();
                        vec![n.to_string(), o.owners.join(","), ids.join(",")]
                    })
                    .collect();
                output::table(&["NAME", "OWNERS", "SIGNING KEYS"], &rows);
            }
            return Ok(ExitCode::SUCCESS);
        }
        OwnerAction::Add(OwnerChange { name, owner, .. }) => {
            owners.add_owner(&name, &owner)?;
            (
                json!({"name": name, "owner_added": owner}),
                format!("`{owner}` may now publish and yank `{name}`."),
            )
        }
        OwnerAction::Remove(OwnerChange { name, owner, .. }) => {
            owners.remove_owner(&name, &owner)?;
            (
                json!({"name": name, "owner_removed": owner}),
                format!("`{owner}` no longer owns `{name}`."),
            )
        }
        OwnerAction::KeyAdd { name, keyfile, .. } => {
            let key = signing::load_verifying_key(&keyfile)?;
            owners.add_key(&name, &key)?;
            let id = signing::key_id(&key);
            (
                json!({"name": name, "key_added": id}),
                format!("New versions of `{name}` may now be signed by key {id}."),
            )
        }
        OwnerAction::KeyRemove { name, key_id, .. } => {
            owners.remove_key(&name, &key_id)?;
            (
                json!({"name": name, "key_removed": key_id}),
                format!("Key {key_id} no longer signs new versions of `{name}`."),
            )
        }
    };
    if global.json {
        output::json(&said);
    } else {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}
