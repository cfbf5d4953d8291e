//! Keys, signing, trust, publishing and yanking.

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use ggen_marketplace::core::signing::{self, TrustStore};
use ggen_marketplace::{Marketplace, Writer, parse_duration, sign_dir};
use serde_json::json;

use super::parse_exact;
use crate::args::{Global, KeyAction, TrustAction};
use crate::failure::{CliResult, Failure};
use crate::output::{self, safe, table};

pub(super) fn keygen(output: &Path, force: bool, g: &Global) -> CliResult {
    let key = signing::generate_keypair()?;
    signing::write_keypair(output, &key, force)?;
    let id = signing::key_id(&key.verifying_key());
    let public = signing::public_key_path(output);
    if g.json {
        output::json(&json!({"private_key": output, "public_key": public, "key_id": id}));
    } else {
        println!(
            "Private key: {} (mode 0600; keep it secret)",
            output.display()
        );
        println!("Public key:  {}", public.display());
        println!("Key id:      {id}");
        println!(
            "\nShare the public key; consumers trust it with `ggen marketplace trust add {}`.",
            public.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn verify_key(path: &Path, g: &Global) -> CliResult {
    let (kind, key) = match signing::load_signing_key(path) {
        Ok(k) => ("private", k.verifying_key()),
        Err(_) => ("public", signing::load_verifying_key(path)?),
    };
    let id = signing::key_id(&key);
    if g.json {
        output::json(&json!({"path": path, "kind": kind, "algorithm": "ed25519", "key_id": id}));
    } else {
        println!("{}: valid Ed25519 {kind} key, key id {id}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn sign(package: &Path, key: &Path, out: &Path, g: &Global) -> CliResult {
    let r = sign_dir(package, key, out)?;
    if g.json {
        output::report(&r);
    } else {
        println!("Signed {}@{} with key {}:", r.package, r.version, r.key_id);
        for f in &r.files {
            println!("  {}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn verify(mp: &Marketplace, spec: &str, g: &Global) -> CliResult {
    let (name, version) = parse_exact(spec)?;
    let (report, backend_used) = mp.verify_published(&name, version.as_ref())?;
    if g.json {
        output::json(
            &json!({"backend_used": backend_used, "ok": report.is_ok(), "report": report}),
        );
    } else {
        println!("{} {}", report.name, report.version);
        println!(
            "  checksum:  {} ({})",
            if report.checksum_ok { "ok" } else { "FAILED" },
            safe(report.sha256.as_deref().unwrap_or_default())
        );
        println!(
            "  signature: {}",
            if !report.signed {
                "none"
            } else if report.signature_ok {
                "valid (ed25519, strict)"
            } else {
                "INVALID"
            }
        );
        if let Some(k) = &report.key_id {
            println!("  key id:    {}", safe(k));
        }
        if let Some(t) = &report.trust {
            println!("  trust:     {t}");
        }
        if let Some(e) = &report.error {
            println!("  problem:   {}", safe(e));
        }
        if g.verbose
            && let Some(s) = &report.statement
        {
            println!("  statement:");
            for line in s.lines() {
                println!("    {}", safe(line));
            }
        }
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(super) fn trust(mp: &Marketplace, action: &TrustAction) -> CliResult {
    let mut store = TrustStore::open(mp.paths.trust_file())?;
    match action {
        TrustAction::Add {
            keyfile,
            name,
            expires,
            packages,
            global,
        } => {
            let expires_at = expires
                .as_deref()
                .map(|e| {
                    parse_duration(e)
                        .map(|d| Utc::now() + chrono::Duration::from_std(d).expect("bounded"))
                        .ok_or_else(|| Failure::new(format!("`{e}` is not a duration like 30d")))
                })
                .transpose()?;
            let label = name
                .clone()
                .unwrap_or_else(|| keyfile.display().to_string());
            let id = store
                .add_key_file(keyfile, &label, expires_at, Utc::now())?
                .key_id
                .clone();
            store.restrict(&id, packages)?;
            let entry = store.get(&id).expect("just added").clone();
            store.save()?;
            if global.json {
                output::report(&entry);
            } else if packages.is_empty() {
                println!("Trusted key {} ({label}) for every package.", entry.key_id);
            } else {
                println!(
                    "Trusted key {} ({label}) for packages matching {}.",
                    entry.key_id,
                    packages.join(", ")
                );
            }
        }
        TrustAction::List { global } => {
            if global.json {
                output::json(&json!({"keys": store.list()}));
            } else if store.list().is_empty() {
                println!("No trusted keys. Add one with `ggen marketplace trust add KEY.pub`.");
            } else {
                let now = Utc::now();
                let rows: Vec<Vec<String>> = store
                    .list()
                    .iter()
                    .map(|k| {
                        vec![
                            k.key_id.clone(),
                            store.is_trusted(&k.key_id, now).to_string(),
                            if k.packages.is_empty() {
                                "*".to_string()
                            } else {
                                k.packages.join(",")
                            },
                            k.label.clone(),
                        ]
                    })
                    .collect();
                table(&["key id", "status", "packages", "label"], &rows);
            }
        }
        TrustAction::Remove { key_id, global } => {
            let removed = store.remove(key_id)?;
            store.save()?;
            if global.json {
                output::report(&removed);
            } else {
                println!(
                    "No longer trusting key {} ({}).",
                    removed.key_id, removed.label
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn key(mp: &Marketplace, action: &KeyAction) -> CliResult {
    match action {
        KeyAction::Rotate {
            name,
            key,
            new_key,
            global,
        } => {
            let r = mp.rotate_key(name, key, new_key)?;
            if global.json {
                output::report(&r);
            } else {
                println!(
                    "New versions of `{}` may now be signed by key {}.",
                    r.name,
                    r.keys.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn publish(
    mp: &Marketplace,
    path: &Path,
    key: Option<&Path>,
    dry_run: bool,
    g: &Global,
) -> CliResult {
    let r = mp.publish_dir(path, key, dry_run)?;
    if g.json {
        output::report(&r);
        return Ok(ExitCode::SUCCESS);
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    let what = format!(
        "{}@{} ({} bytes, sha256 {}{})",
        r.name,
        r.version,
        r.size,
        r.sha256,
        r.key_id
            .as_ref()
            .map(|k| format!(", signed by {k}"))
            .unwrap_or_default()
    );
    if dry_run {
        println!("Dry run: would publish {what}. Nothing was written.");
    } else {
        println!("Published {what}.");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn yank(mp: &Marketplace, spec: &str, undo: bool, g: &Global) -> CliResult {
    let (name, version) = parse_exact(spec)?;
    let Some(version) = version else {
        return Err(Failure::new(format!(
            "give the version to yank: {name}@VERSION"
        )));
    };
    let r = mp.yank_version(&name, &version, !undo, &Writer::Operator, mp.subject())?;
    if g.json {
        output::report(&r);
    } else if undo {
        println!("{name}@{version} is no longer yanked.");
    } else {
        println!(
            "Yanked {name}@{version}: new installs skip it; lockfiles that pin it still install it."
        );
    }
    Ok(ExitCode::SUCCESS)
}
