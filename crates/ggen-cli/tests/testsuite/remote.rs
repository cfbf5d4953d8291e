//! The CLI's remote mode against a real `ggen registry serve` process on a
//! loopback port: search, info, publish with a token, install, errors, and a
//! graceful stop on SIGTERM.

use crate::common;

use std::time::Duration;

use common::{Home, names, serve};

fn package_dir(root: &std::path::Path, name: &str, version: &str) -> std::path::PathBuf {
    common::package_dir(root, name, version, "Remote wombat template", &["wombat"])
}

#[test]
fn cli_remote_mode_searches_publishes_and_installs_through_the_server() {
    let server_home = Home::new();
    let mut server = serve(&server_home);
    let token = common::publish_token(&server_home, "wombat-*");
    assert!(token.starts_with("ggen_"), "{token}");

    let client = Home::new();
    let url = server.url.clone();
    let remote = |args: &[&str]| client.json(&[args, &["--registry", &url]].concat());

    // Reads go to the server (the client's own home is never seeded).
    let hits = remote(&["search", "--query", "bibtex"]);
    assert_eq!(names(&hits)[0], "bibtex-references");
    assert!(!client.path().join("registry/index.json").exists());
    let info = remote(&["info", "bibtex-references"]);
    assert!(info.to_string().contains("bibtex-references"), "{info}");

    // Publishing needs a token; with one it lands on the server.
    let pkg = package_dir(client.path(), "wombat-kit", "1.0.0");
    let tokenless = ["publish", pkg.to_str().unwrap(), "--registry", &url];
    client.fails(&tokenless, &["needs a token", "GGEN_REGISTRY_TOKEN"]);
    let (ok, _, err) = client.publish_to(&pkg, &url, &token);
    assert!(ok, "{err}");
    common::assert_fails(
        client
            .ggen()
            .env("GGEN_REGISTRY_TOKEN", &token)
            .args(tokenless),
        &["already published"],
    );
    let other = package_dir(client.path(), "not-a-wombat", "1.0.0");
    let (ok, _, err) = client.publish_to(&other, &url, &token);
    assert!(!ok && err.contains("wombat-*"), "{err}");
    assert_eq!(
        names(&remote(&["search", "--query", "wombat"])),
        ["wombat-kit"]
    );

    // Install downloads and verifies through the server.
    let target = client.path().join("project");
    let t = target.to_str().unwrap();
    client.succeeds(&["install", "wombat-kit", "--target", t, "--registry", &url]);
    let lock = std::fs::read_to_string(target.join("ggen.lock")).unwrap();
    assert!(lock.contains("wombat-kit"), "{lock}");
    assert!(
        common::walk(&target)
            .iter()
            .any(|p| p.ends_with("main.rs.tmpl"))
    );

    // Not found keeps its hint; local-only commands refuse clearly.
    client.fails(
        &["info", "no-such-package", "--registry", &url],
        &["not found", "hint:"],
    );
    client.fails(
        &["migrate", "--registry", &url],
        &["works on a local registry"],
    );

    // A server that is gone is an error naming it, not a hang.
    #[cfg(unix)]
    {
        let pid = server.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(s) = server.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no graceful stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "SIGTERM should end the server cleanly: {status:?}"
        );
        client.fails(
            &["search", "--query", "x", "--registry", &url],
            &["unreachable"],
        );
    }
}

/// Many clients at once through one server: publishers, searchers and an
/// installer. Nothing published may be lost, and both backends must agree
/// once the server has stopped.
#[test]
fn concurrent_clients_through_the_server_lose_nothing() {
    let server_home = Home::new();
    let server = serve(&server_home);
    let token = common::publish_token(&server_home, "crowd-*");
    const PUBLISHERS: usize = 4;
    const EACH: usize = 4;
    let mut threads = Vec::new();
    for p in 0..PUBLISHERS {
        let (url, token) = (server.url.clone(), token.clone());
        threads.push(std::thread::spawn(move || {
            let client = Home::new();
            for i in 0..EACH {
                let pkg = package_dir(client.path(), &format!("crowd-{p}-{i}"), "1.0.0");
                let (ok, _, err) = client.publish_to(&pkg, &url, &token);
                assert!(ok, "{err}");
            }
            EACH
        }));
    }
    for _ in 0..2 {
        let url = server.url.clone();
        threads.push(std::thread::spawn(move || {
            let client = Home::new();
            for q in ["wombat", "crowd", "rust", "bibtex", "template"] {
                let v = client.json(&["search", "--query", q, "--registry", &url]);
                assert!(v["hits"].is_array(), "{v}");
            }
            5
        }));
    }
    {
        let url = server.url.clone();
        threads.push(std::thread::spawn(move || {
            let client = Home::new();
            let target = client.path().join("t");
            client.succeeds_in(&target, &["install", "axum-service", "--registry", &url]);
            assert!(target.join("ggen.lock").is_file());
            1
        }));
    }
    let done: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    eprintln!("{done} operations through the server");
    drop(server); // releases the V2 store for the checks below
    let listed = common::listed_names(&server_home.json(&["list"]));
    let crowd = listed.iter().filter(|n| n.starts_with("crowd-")).count();
    assert_eq!(crowd, PUBLISHERS * EACH);
    #[cfg(feature = "marketplace-parallel")]
    server_home
        .ggen()
        .arg("verify-migration")
        .assert()
        .success();
}
