//! Keys, signing, trust, publishing and yanking.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use ggen_marketplace::Marketplace;
use ggen_marketplace::config::Operation;
use ggen_marketplace::publish;
use ggen_marketplace_core::name::{split_spec, validate_name};
use ggen_marketplace_core::signing::{self, TrustStore};
use semver::Version;
use serde_json::json;

use crate::args::{Global, TrustAction};
use crate::output::{self, table};

pub fn keygen(output: &Path, force: bool, g: &Global) -> Result<ExitCode> {
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

pub fn verify_key(path: &Path, g: &Global) -> Result<ExitCode> {
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

pub fn sign(package: &Path, key: &Path, out: &Path, g: &Global) -> Result<ExitCode> {
    let mut prepared = publish::prepare(package)?;
    publish::sign(&mut prepared, key)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let files = publish::write_signed_files(&prepared, out)?;
    let sig = prepared.release.signature.as_ref().expect("just signed");
    if g.json {
        output::json(
            &json!({"package": prepared.release.name, "version": prepared.release.version, "sha256": prepared.release.checksum, "key_id": sig.key_id, "files": files}),
        );
    } else {
        println!("Signed {} with key {}:", prepared.release.id(), sig.key_id);
        for f in &files {
            println!("  {}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn trust_store(mp: &Marketplace) -> Result<TrustStore> {
    Ok(TrustStore::open(mp.paths.trust_file())?)
}

pub fn verify(mp: &Marketplace, spec: &str, g: &Global) -> Result<ExitCode> {
    let (name, version) = split_spec(spec);
    validate_name(name)?;
    let version = version
        .map(Version::parse)
        .transpose()
        .with_context(|| format!("`{spec}`: use NAME or NAME@1.2.3"))?;
    // Verification reads through the routed backend but never hides a failure behind a fallback.
    let backend = mp.backend_for(Operation::Info)?;
    let report = publish::verify(backend.as_ref(), &trust_store(mp)?, name, version.as_ref())?;
    if g.json {
        output::json(
            &json!({"backend_used": backend.last_used(), "ok": report.is_ok(), "report": report}),
        );
    } else {
        println!("{} {}", report.name, report.version);
        println!(
            "  checksum:  {} ({})",
            if report.checksum_ok { "ok" } else { "FAILED" },
            output::safe(report.sha256.as_deref().unwrap_or_default())
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
            println!("  key id:    {}", output::safe(k));
        }
        if let Some(t) = &report.trust {
            println!("  trust:     {t}");
        }
        if let Some(e) = &report.error {
            println!("  problem:   {}", output::safe(e));
        }
        if g.verbose
            && let Some(s) = &report.statement
        {
            println!("  statement:");
            for line in s.lines() {
                println!("    {}", output::safe(line));
            }
        }
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn trust(mp: &Marketplace, action: &TrustAction) -> Result<ExitCode> {
    let mut store = trust_store(mp)?;
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
                    ggen_marketplace::cache::parse_duration(e)
                        .map(|d| Utc::now() + chrono::Duration::from_std(d).expect("bounded"))
                        .with_context(|| format!("`{e}` is not a duration like 30d"))
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
                output::json(&serde_json::to_value(&entry)?);
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
                output::json(&serde_json::to_value(&removed)?);
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

pub fn publish_cmd(
    mp: &Marketplace,
    path: &Path,
    key: Option<&Path>,
    dry_run: bool,
    g: &Global,
) -> Result<ExitCode> {
    let mut prepared = publish::prepare(path)?;
    if let Some(k) = key {
        publish::sign(&mut prepared, k)?;
    }
    let backend = mp.backend_for(Operation::Publish)?;
    let policy = mp.publish_policy(ggen_marketplace::access::Writer::Operator);
    publish::publish(backend.as_ref(), &prepared, &policy, dry_run)?;
    let r = &prepared.release;
    if g.json {
        output::json(&json!({
            "dry_run": dry_run,
            "backend_used": backend.last_used(),
            "name": r.name,
            "version": r.version,
            "sha256": r.checksum,
            "size": r.size,
            "signed": r.signature.is_some(),
            "key_id": r.signature.as_ref().map(|s| s.key_id.clone()),
            "warnings": prepared.manifest.warnings,
        }));
    } else {
        for w in &prepared.manifest.warnings {
            eprintln!("warning: {w}");
        }
        let what = format!(
            "{} ({} bytes, sha256 {}{})",
            r.id(),
            r.size.unwrap_or(0),
            r.checksum.as_deref().unwrap_or_default(),
            r.signature
                .as_ref()
                .map(|s| format!(", signed by {}", s.key_id))
                .unwrap_or_default()
        );
        if dry_run {
            println!("Dry run: would publish {what}. Nothing was written.");
        } else {
            println!("Published {what}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn yank(mp: &Marketplace, spec: &str, undo: bool, g: &Global) -> Result<ExitCode> {
    let (name, version) = split_spec(spec);
    validate_name(name)?;
    let Some(version) = version else {
        bail!("give the version to yank: {name}@VERSION")
    };
    let version =
        Version::parse(version).with_context(|| format!("`{version}` is not a version"))?;
    let backend = mp.backend_for(Operation::Publish)?;
    backend.yank(name, &version, !undo)?;
    if g.json {
        output::json(
            &json!({"name": name, "version": version, "yanked": !undo, "backend_used": backend.last_used()}),
        );
    } else if undo {
        println!("{name}@{version} is no longer yanked.");
    } else {
        println!(
            "Yanked {name}@{version}: new installs skip it; lockfiles that pin it still install it."
        );
    }
    Ok(ExitCode::SUCCESS)
}
