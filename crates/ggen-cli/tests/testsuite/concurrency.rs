//! Many `ggen` processes at once on one registry: publishers, installers,
//! searchers and a yanker. File locks must serialise the writers, readers must
//! never fail or see half a write, and nothing published may be lost.
#![cfg(unix)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;

/// `ggen marketplace` in `home`, with nothing on its stdin.
fn ggen(home: &Path) -> Command {
    let mut c = common::std_bin(home, "stress");
    c.arg("marketplace").stdin(Stdio::null());
    c
}

fn run(home: &Path, args: &[&str]) -> Output {
    ggen(home).args(args).output().unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn package_dir(root: &Path, name: &str) -> PathBuf {
    // Every package its own content, so every checksum is distinct.
    common::package_dir(
        root,
        name,
        "1.0.0",
        &format!("Stress test template number {name}"),
        &[],
    )
}

#[test]
fn concurrent_processes_lose_nothing_and_readers_never_fail() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(&run(home, &["list"]), "seeding");
    const PUBLISHERS: usize = 4;
    const EACH: usize = 6;
    let sources: Vec<Vec<PathBuf>> = (0..PUBLISHERS)
        .map(|p| {
            (0..EACH)
                .map(|i| package_dir(home, &format!("stress-{p}-{i}")))
                .collect()
        })
        .collect();

    let mut handles = Vec::new();
    for (p, srcs) in sources.into_iter().enumerate() {
        let home = home.to_path_buf();
        handles.push(thread::spawn(move || {
            for src in srcs {
                let out = ggen(&home).arg("publish").arg(&src).output().unwrap();
                ok(&out, &format!("publisher {p}: {}", src.display()));
            }
            EACH
        }));
    }
    for r in 0..3 {
        let home = home.to_path_buf();
        handles.push(thread::spawn(move || {
            let mut n = 0;
            for q in [
                "rust",
                "stress",
                "template",
                "hello",
                "graph",
                "stress test",
            ] {
                let out = run(&home, &["search", "--query", q, "--json"]);
                ok(&out, &format!("searcher {r}: {q}"));
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                // Every hit is a whole package: it has a version and a description.
                for h in v["hits"].as_array().unwrap() {
                    assert!(
                        h["version"].is_string() && h["description"].is_string(),
                        "{h}"
                    );
                }
                n += 1;
            }
            n
        }));
    }
    for i in 0..2 {
        let home = home.to_path_buf();
        handles.push(thread::spawn(move || {
            let target = home.join(format!("install-{i}"));
            let out = ggen(&home)
                .args(["install", "hello-world", "axum-service", "--target"])
                .arg(&target)
                .output()
                .unwrap();
            ok(&out, "install");
            assert!(target.join("ggen.lock").is_file());
            1
        }));
    }
    {
        let home = home.to_path_buf();
        handles.push(thread::spawn(move || {
            let mut n = 0;
            for undo in [false, true, false] {
                let mut args = vec!["yank", "contributing-guide@1.0.0"];
                if undo {
                    args.push("--undo");
                }
                ok(&run(&home, &args), "yank");
                n += 1;
            }
            n
        }));
    }
    let operations: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    eprintln!("{operations} concurrent operations completed");

    // Nothing lost: every publish is in both backends, with the same checksum.
    let backends: &[&str] = if cfg!(feature = "marketplace-parallel") {
        ok(&run(home, &["verify-migration"]), "verify-migration");
        &["v1", "v2"]
    } else if cfg!(feature = "marketplace-v2") {
        &["v2"]
    } else {
        &["v1"]
    };
    for &backend in backends {
        let out = run(home, &["list", "--json", "--backend", backend]);
        ok(&out, "list");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let listed = common::listed_names(&v);
        let stress = listed.iter().filter(|n| n.starts_with("stress-")).count();
        assert_eq!(stress, PUBLISHERS * EACH, "{backend}");
    }
    let mut checksums = std::collections::BTreeSet::new();
    for p in 0..PUBLISHERS {
        for i in 0..EACH {
            let out = run(home, &["info", &format!("stress-{p}-{i}"), "--json"]);
            ok(&out, "info");
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let sum = v["version"]["checksum"]
                .as_str()
                .or_else(|| v["checksum"].as_str())
                .map(String::from)
                .unwrap_or_else(|| panic!("no checksum in {v}"));
            checksums.insert(sum);
        }
    }
    assert_eq!(checksums.len(), PUBLISHERS * EACH);
    // The yanker ended on "yanked".
    let out = run(home, &["versions", "contributing-guide", "--json"]);
    ok(&out, "versions");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"yanked\": true"));
}

/// RocksDB admits one process at a time. A search or an install whose term
/// index the store's marker vouches for needs no store at all; a write (which
/// would leave V2 behind) waits its turn instead of failing.
#[cfg(feature = "marketplace-v2")]
#[test]
fn a_held_store_is_waited_for_unless_v1_can_answer() {
    use std::time::{Duration, Instant};
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(&run(home, &["list"]), "seeding");
    let src = package_dir(home, "patient");
    let held = ggen_marketplace::v2::V2Backend::open_embedded(home.join("registry")).unwrap();
    let started = Instant::now();
    let release = Duration::from_secs(7);
    let holder = thread::spawn(move || {
        thread::sleep(release);
        drop(held);
    });
    let waited = |out: &Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("waiting for the V2 store"), "{stderr}");
        assert!(started.elapsed() >= release, "{:?}", started.elapsed());
    };
    // The store is held, but its marker vouches for the term index: search
    // answers from V2 at once, without the store.
    let out = run(home, &["search", "--query", "rust", "--json"]);
    ok(&out, "search from V2's term index");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["backend_used"], "v2");
    assert!(started.elapsed() < release, "{:?}", started.elapsed());
    // So does an install: resolution, checksums and archives need no store
    // (it writes the target, not the registry).
    let target = home.join("installed-while-held");
    let out = run(
        home,
        &[
            "install",
            "hello-world",
            "--backend",
            "v2",
            "--target",
            target.to_str().unwrap(),
            "--json",
        ],
    );
    ok(&out, "install from V2's term index");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["backend_used"], "v2", "{v}");
    assert!(target.join("ggen.lock").is_file());
    // And update and remove, which re-resolve the same way.
    let t = target.to_str().unwrap();
    ok(
        &run(home, &["update", "--backend", "v2", "--target", t]),
        "update while the store is held",
    );
    ok(
        &run(
            home,
            &["remove", "hello-world", "--backend", "v2", "--target", t],
        ),
        "remove while the store is held",
    );
    assert!(!target.join("hello-world").exists());
    assert!(started.elapsed() < release, "{:?}", started.elapsed());
    if cfg!(feature = "marketplace-parallel") {
        let out = ggen(home).arg("publish").arg(&src).output().unwrap();
        ok(&out, "publish");
        waited(&out);
        // It reached both stores: nothing for `migrate` to repair.
        assert!(!home.join("dual-write-gaps.jsonl").exists());
        ok(&run(home, &["verify-migration"]), "verify-migration");
    } else {
        let out = ggen(home).arg("publish").arg(&src).output().unwrap();
        ok(&out, "publish on V2 alone");
        waited(&out);
    }
    holder.join().unwrap();
}

/// A dry run reads the embedded store read-only, which RocksDB allows only
/// while no other process writes it: the reader holds the store's own lock
/// meanwhile, so a writer waits for the reader, and the reader for a writer.
#[cfg(feature = "marketplace-v2")]
#[test]
fn a_read_only_open_and_a_writer_exclude_each_other() {
    use ggen_marketplace::v2::V2Backend;
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(&run(home, &["list"]), "seeding");
    let registry = home.join("registry");
    let src = package_dir(home, "excluded");
    let wait = std::time::Duration::from_secs(1);
    let briefly = |args: &[&str]| {
        ggen(home)
            .env("GGEN_STORE_WAIT_MS", "300")
            .args(args)
            .args(["--backend", "v2"])
            .output()
            .unwrap()
    };
    let refused = |out: &Output, what: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what} went ahead");
        assert!(stderr.contains("is locked"), "{what}: {stderr}");
    };
    let publish = ["publish", src.to_str().unwrap()];
    let target = home.join("app");
    let dry_run = [
        "install",
        "hello-world",
        "--dry-run",
        "--target",
        target.to_str().unwrap(),
    ];

    let reader = V2Backend::open_embedded_read_only(&registry, wait).unwrap();
    refused(&briefly(&publish), "a publish while a dry run reads");
    drop(reader);
    let writer = V2Backend::open_embedded(&registry).unwrap();
    refused(&briefly(&dry_run), "a dry run while another process writes");
    drop(writer);
    ok(&briefly(&dry_run), "the dry run once the writer is done");
    ok(&briefly(&publish), "the publish once the reader is done");
}
