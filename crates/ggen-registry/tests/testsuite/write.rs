//! Publishing and yanking: tokens, signatures, ownership of names, and
//! archives an installer would refuse.

use std::path::Path;

use ggen_marketplace::{Owners, Scope};
use ggen_marketplace_core::archive::pack_dir;
use ggen_marketplace_core::signing;
use serde_json::json;

use crate::support::*;

#[test]
fn publishing_needs_the_right_token_and_valid_input() {
    let s = Server::default();
    let publisher = s.token(&[Scope::Publish], "quokka-*");
    let yanker = s.token(&[Scope::Yank], "*");
    let url = s.url("/api/v1/packages");
    let archive = package("quokka-tools", "1.0.0");
    let body = upload(&archive, None);

    let r = post_json(&url, None, &body);
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "unauthorized");
    let r = post_json(&url, Some("ggen_0000"), &body);
    assert_eq!(r.status, 401);
    let r = post_json(&url, Some(&yanker), &body);
    assert_eq!(r.status, 403, "a yank token cannot publish");
    let r = post_json(
        &url,
        Some(&publisher),
        &upload(&package("other-name", "1.0.0"), None),
    );
    assert_eq!(r.status, 403, "outside the token's package glob");
    assert!(r.text().contains("quokka-*"), "{}", r.text());

    // Bad bodies.
    let r = read(
        agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {publisher}"))
            .header("Content-Type", "application/json")
            .send("{not json"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    r.error_code();
    let r = read(
        agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {publisher}"))
            .header("Content-Type", "text/plain")
            .send(body.to_string()),
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.error_code(), "unsupported_media_type");
    let r = post_json(&url, Some(&publisher), &json!({"archive": "@@@not base64"}));
    assert_eq!(r.status, 400);
    let r = post_json(&url, Some(&publisher), &upload(b"not a gzip at all", None));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.error_code(), "invalid_archive");
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README.md"), "no manifest").unwrap();
    let r = post_json(
        &url,
        Some(&publisher),
        &upload(&pack_dir(empty.path()).unwrap(), None),
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains("no manifest"), "{}", r.text());
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).status,
        404,
        "nothing was published by the refused uploads"
    );

    // Searches are cached in memory until a write changes the registry.
    let before = get(&s.url("/api/v1/search?q=quokka"));
    assert_eq!(before.header("x-ggen-cache").as_deref(), Some("MISS"));
    assert_eq!(before.json()["total"], 0);
    let again = get(&s.url("/api/v1/search?q=quokka"));
    assert_eq!(again.header("x-ggen-cache").as_deref(), Some("HIT"));

    // The real thing, then immutability.
    let r = post_json(&url, Some(&publisher), &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["name"], "quokka-tools");
    assert_eq!(j["signed"], false);
    let r = post_json(&url, Some(&publisher), &body);
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "already_published");
    let after = get(&s.url("/api/v1/search?q=quokka"));
    assert_eq!(
        after.header("x-ggen-cache").as_deref(),
        Some("MISS"),
        "the publish invalidated it"
    );
    let hits = after.json();
    assert_eq!(hits["hits"][0]["name"], "quokka-tools", "{hits}");
    let a = get(&s.url("/api/v1/packages/quokka-tools/1.0.0/download"));
    assert_eq!(a.body, archive);

    // Yank and unyank need the yank scope. (Info is read first, so a cached
    // answer would show a stale yank below.)
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).json()["versions"][0]["yanked"],
        false
    );
    let yank = s.url("/api/v1/packages/quokka-tools/1.0.0/yank");
    assert_eq!(post(&yank, None).status, 401);
    assert_eq!(post(&yank, Some(&publisher)).status, 403);
    let r = post(&yank, Some(&yanker));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).json()["versions"][0]["yanked"],
        true
    );
    let r = post(
        &s.url("/api/v1/packages/quokka-tools/1.0.0/unyank"),
        Some(&yanker),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        get(&s.url("/api/v1/packages/quokka-tools")).json()["versions"][0]["yanked"],
        false
    );
    assert_eq!(
        post(
            &s.url("/api/v1/packages/quokka-tools/9.9.9/yank"),
            Some(&yanker)
        )
        .status,
        404
    );
}

#[test]
fn signed_uploads_are_verified_and_their_signatures_served() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let url = s.url("/api/v1/packages");
    let key = signing::generate_keypair().unwrap();
    let archive = package("quokka-signed", "1.0.0");
    let v = semver::Version::new(1, 0, 0);
    let sig =
        signing::sign_archive(&key, "quokka-signed", &v, &archive, chrono::Utc::now()).unwrap();

    // A signature for another package, and a flipped signature byte: refused.
    let other =
        signing::sign_archive(&key, "quokka-other", &v, &archive, chrono::Utc::now()).unwrap();
    let r = post_json(&url, Some(&token), &upload(&archive, Some(&other)));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.error_code(), "invalid_signature");
    let mut flipped = sig.clone();
    let mut raw = hex::decode(&flipped.signature).unwrap();
    raw[5] ^= 1;
    flipped.signature = hex::encode(raw);
    let r = post_json(&url, Some(&token), &upload(&archive, Some(&flipped)));
    assert_eq!(r.status, 422);

    let r = post_json(&url, Some(&token), &upload(&archive, Some(&sig)));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["signed"], true);
    let raw = get(&s.url("/api/v1/packages/quokka-signed/1.0.0/signature"));
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(raw.body, hex::decode(&sig.signature).unwrap());
    let st = get(&s.url("/api/v1/packages/quokka-signed/1.0.0/statement"));
    assert_eq!(st.text(), sig.statement);
    let page = get(&s.url("/packages/quokka-signed")).text();
    assert!(page.contains("signed (Ed25519, key"), "{page}");
}

#[test]
fn uploads_an_installer_would_refuse_are_refused() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    // A valid package plus one entry of each kind an install refuses.
    let hostile = |extra: &dyn Fn(&mut tar::Builder<Vec<u8>>)| {
        let mut b = tar::Builder::new(Vec::new());
        let manifest =
            b"[package]\nname = \"quokka-evil\"\nversion = \"1.0.0\"\ndescription = \"x\"\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(manifest.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "gpack.toml", &manifest[..]).unwrap();
        extra(&mut b);
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    };
    let symlink = hostile(&|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "templates/passwd", "/etc/passwd")
            .unwrap();
    });
    let fifo = hostile(&|b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Fifo);
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, "pipe", &[][..]).unwrap();
    });
    let deep = hostile(&|b| {
        // More directories than an install creates.
        for i in 0..10_001 {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            h.set_mode(0o755);
            h.set_cksum();
            b.append_data(&mut h, format!("d{i}/"), &[][..]).unwrap();
        }
    });
    for (label, archive) in [("symlink", symlink), ("fifo", fifo), ("directories", deep)] {
        let r = post_json(
            &s.url("/api/v1/packages"),
            Some(&token),
            &upload(&archive, None),
        );
        assert_eq!(r.status, 422, "{label}: {}", r.text());
        assert_eq!(r.error_code(), "invalid_archive", "{label}");
    }
    assert_eq!(get(&s.url("/api/v1/packages/quokka-evil")).status, 404);
    // Metadata with terminal escape sequences is refused too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gpack.toml"),
        "[package]\nname = \"quokka-escape\"\nversion = \"1.0.0\"\ndescription = \"hi\\u001b]0;owned\\u0007\"\n",
    )
    .unwrap();
    let r = post_json(
        &s.url("/api/v1/packages"),
        Some(&token),
        &upload(&pack_dir(dir.path()).unwrap(), None),
    );
    assert_eq!(r.status, 422, "{}", r.text());
}

#[test]
fn a_download_whose_stored_archive_was_altered_is_cut_short() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let archive = package("quokka-stream", "1.0.0");
    let r = post_json(
        &s.url("/api/v1/packages"),
        Some(&token),
        &upload(&archive, None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let url = s.url("/api/v1/packages/quokka-stream/1.0.0/download");
    let whole = get(&url);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, archive);
    assert_eq!(
        whole.header("content-length"),
        Some(archive.len().to_string())
    );
    // Alter every stored copy (V1 keeps archives by name, V2 by digest).
    let mut altered = 0;
    for file in walk_files(&s.registry()) {
        if std::fs::read(&file).is_ok_and(|b| b == archive) {
            let mut bytes = archive.clone();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&file, bytes).unwrap();
            altered += 1;
        }
    }
    assert!(altered > 0, "no stored archive found");
    let resp = agent().get(&url).call();
    let intact = match resp {
        Ok(mut r) if r.status() == 200 => r
            .body_mut()
            .read_to_vec()
            .is_ok_and(|b| b.len() == archive.len()),
        _ => false,
    };
    assert!(!intact, "an altered archive was served whole");
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_name_belongs_to_its_first_publisher() {
    let s = Server::default();
    let alice = s.token_for("alice", &[Scope::Publish, Scope::Yank], "*");
    let bob = s.token_for("bob", &[Scope::Publish, Scope::Yank], "*");
    let url = s.url("/api/v1/packages");
    let r = post_json(
        &url,
        Some(&alice),
        &upload(&package("quokka-owned", "1.0.0"), None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post_json(
        &url,
        Some(&bob),
        &upload(&package("quokka-owned", "1.1.0"), None),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("alice"), "{}", r.text());
    let yank = s.url("/api/v1/packages/quokka-owned/1.0.0/yank");
    assert_eq!(post(&yank, Some(&bob)).status, 403);
    // Granted by the operator, bob may.
    Owners::new(&s.registry())
        .update(|all| {
            all.get_mut("quokka-owned")
                .unwrap()
                .owners
                .push("bob".into());
            Ok(())
        })
        .unwrap();
    let r = post_json(
        &url,
        Some(&bob),
        &upload(&package("quokka-owned", "1.1.0"), None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(post(&yank, Some(&alice)).status, 200);
    // Names that differ only in separators or case are the same name.
    for confusable in ["quokka_owned", "quokka.owned"] {
        let r = post_json(
            &url,
            Some(&alice),
            &upload(&package(confusable, "1.0.0"), None),
        );
        assert_eq!(r.status, 409, "{confusable}: {}", r.text());
        assert_eq!(r.error_code(), "confusable_name");
    }
}

#[test]
fn a_signed_package_stays_signed_by_its_keys() {
    let s = Server::default();
    let token = s.token(&[Scope::Publish], "*");
    let url = s.url("/api/v1/packages");
    let first = signing::generate_keypair().unwrap();
    let other = signing::generate_keypair().unwrap();
    let signed = |key: &ed25519_dalek::SigningKey, version: &str| {
        let archive = package("quokka-keyed", version);
        let v: semver::Version = version.parse().unwrap();
        let sig =
            signing::sign_archive(key, "quokka-keyed", &v, &archive, chrono::Utc::now()).unwrap();
        upload(&archive, Some(&sig))
    };
    assert_eq!(
        post_json(&url, Some(&token), &signed(&first, "1.0.0")).status,
        201
    );
    let r = post_json(
        &url,
        Some(&token),
        &upload(&package("quokka-keyed", "1.1.0"), None),
    );
    assert_eq!(r.status, 403, "unsigned after signed: {}", r.text());
    let r = post_json(&url, Some(&token), &signed(&other, "1.1.0"));
    assert_eq!(r.status, 403, "another key: {}", r.text());
    assert_eq!(
        post_json(&url, Some(&token), &signed(&first, "1.1.0")).status,
        201
    );
    // The operator rotates explicitly: the new key is accepted from then on.
    Owners::new(&s.registry())
        .update(|all| {
            all.get_mut("quokka-keyed")
                .unwrap()
                .keys
                .push(signing::public_key_hex(&other.verifying_key()));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        post_json(&url, Some(&token), &signed(&other, "1.2.0")).status,
        201
    );
}
