//! Kills real `ggen` install processes at many points and checks that the target
//! and its ggen.lock are always either the old state or the new one.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use crate::common;

/// `ggen marketplace` in `home`, its output thrown away.
fn ggen(home: &Path) -> StdCommand {
    let mut c = common::std_bin(home, "crash-test");
    c.arg("marketplace")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Whether `cmd` ran to a successful end.
fn succeeds(cmd: &mut StdCommand) -> bool {
    cmd.status().unwrap().success()
}

/// Whether `ggen marketplace install <packages> --target <target>` in `home` succeeded.
fn install(home: &Path, packages: &[&str], target: &Path) -> bool {
    succeeds(
        ggen(home)
            .arg("install")
            .args(packages)
            .arg("--target")
            .arg(target),
    )
}

/// Every file under `dir` (except ggen's own transient files) with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if rel.starts_with(".ggen") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn killed_installs_leave_old_or_new_state() {
    let home = tempfile::tempdir().unwrap();
    let target = home.path().join("target");
    assert!(install(home.path(), &["hello-world"], &target));
    let old = snapshot(&target);
    // The complete new state, from an undisturbed run in a copy.
    let reference = home.path().join("reference");
    assert!(install(
        home.path(),
        &["hello-world", "axum-service"],
        &reference
    ));
    let new = snapshot(&reference);
    assert_ne!(old, new);

    let mut outcomes = BTreeMap::new();
    for kill_after_ms in [5u64, 20, 40, 60, 80, 100, 130, 160, 200, 260, 330, 420] {
        let mut child = ggen(home.path())
            .env("GGEN_FAULT_DELAY_MS", "25")
            .args(["install", "hello-world", "axum-service", "--target"])
            .arg(&target)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        let _ = child.kill();
        let _ = child.wait();
        // The next command on the target finishes or undoes the interrupted one.
        assert!(succeeds(
            ggen(home.path())
                .args(["list", "--installed", "--target"])
                .arg(&target)
        ));
        let recovered = {
            // `install` of what is already there recovers first, then changes nothing.
            let _ = install(home.path(), &["hello-world"], &target);
            snapshot(&target)
        };
        let state = if recovered == old {
            "old"
        } else if recovered == new {
            "new"
        } else {
            panic!(
                "after a kill at {kill_after_ms} ms the target is neither old nor new: {:?}",
                recovered.keys().collect::<Vec<_>>()
            );
        };
        *outcomes.entry(state).or_insert(0) += 1;
        // Back to the old state for the next round.
        if state == "new" {
            std::fs::remove_dir_all(&target).unwrap();
            assert!(install(home.path(), &["hello-world"], &target));
            assert_eq!(snapshot(&target), old);
        }
    }
    eprintln!("kill outcomes: {outcomes:?}");
}

/// A package source directory `ggen publish` accepts.
#[cfg(feature = "marketplace-parallel")]
fn package_dir(root: &Path, name: &str) -> std::path::PathBuf {
    crate::common::package_dir(root, name, "1.0.0", "Crash test template", &[])
}

/// Package names the given backend lists (`--backend v1|v2`).
#[cfg(feature = "marketplace-parallel")]
fn listed(home: &Path, backend: &str) -> Vec<String> {
    let out = ggen(home)
        .args(["list", "--json", "--backend", backend])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "list --backend {backend} failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v
        .get("packages")
        .and_then(|p| p.as_array())
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect()
}

/// SIGKILLs `cmd` after `ms` milliseconds (or lets it finish first).
#[cfg(feature = "marketplace-parallel")]
fn kill_after(mut cmd: StdCommand, ms: u64) {
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn killed_dual_publishes_end_in_both_backends_or_neither() {
    let home = tempfile::tempdir().unwrap();
    assert!(succeeds(ggen(home.path()).arg("list")));
    let mut outcomes = BTreeMap::new();
    let delays = [10u64, 40, 80, 120, 160, 200, 250, 300, 360, 420, 500, 650];
    for (i, kill_ms) in delays.into_iter().enumerate() {
        let name = format!("crash-pkg-{i}");
        let src = package_dir(home.path(), &name);
        // Half the runs write V1 first (A/B with every subject on V1), half
        // V2 first (the default: V2 with fallback). Both write both backends.
        let (first, strategy) = if i % 2 == 0 {
            ("v1", "ab-test")
        } else {
            ("v2", "v2")
        };
        let mut publish = ggen(home.path());
        publish
            .env("GGEN_FAULT_DELAY_MS", "150")
            .env("GGEN_MARKETPLACE_BACKEND", strategy)
            .env("GGEN_MARKETPLACE_V2_PERCENTAGE", "0")
            .arg("publish")
            .arg(&src);
        kill_after(publish, kill_ms);
        // verify-migration first completes what the kill interrupted.
        let verify = ggen(home.path())
            .arg("verify-migration")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "v1 and v2 disagree after a publish ({first} first) killed at {kill_ms} ms: {}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
        if String::from_utf8_lossy(&verify.stderr).contains("completed a dual write interrupted") {
            *outcomes.entry("completed after the kill").or_insert(0) += 1;
        }
        let in_v1 = listed(home.path(), "v1").contains(&name);
        let in_v2 = listed(home.path(), "v2").contains(&name);
        assert_eq!(
            in_v1, in_v2,
            "{name} half-visible after a kill at {kill_ms} ms"
        );
        *outcomes
            .entry(if in_v1 { "published" } else { "absent" })
            .or_insert(0) += 1;
        // The next run completes: a new publish, or "already published".
        let again = ggen(home.path())
            .arg("publish")
            .arg(&src)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            again.status.success() || String::from_utf8_lossy(&again.stderr).contains("already"),
            "re-publishing {name}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(listed(home.path(), "v2").contains(&name));
        assert!(succeeds(ggen(home.path()).arg("verify-migration")));
    }
    let pending = home.path().join("pending-writes");
    let left: Vec<_> = std::fs::read_dir(&pending)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "pending writes left behind: {left:?}");
    eprintln!("publish kill outcomes: {outcomes:?}");
    // The kills must really have landed between the two backends sometimes.
    assert!(
        outcomes.contains_key("completed after the kill"),
        "{outcomes:?}"
    );
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn killed_rebuilds_of_v2_leave_it_empty_old_or_whole_and_migrate_finishes() {
    let home = tempfile::tempdir().unwrap();
    assert!(succeeds(ggen(home.path()).arg("list")));
    let all = listed(home.path(), "v1");
    assert!(all.len() > 5);
    let mut outcomes = BTreeMap::new();
    for kill_ms in [5u64, 30, 60, 100, 150, 220, 300, 400, 550, 800] {
        let mut rebuild = ggen(home.path());
        rebuild.env("GGEN_FAULT_DELAY_MS", "15").arg("rebuild-db");
        kill_after(rebuild, kill_ms);
        // V2 holds nothing or everything: the import is one atomic write.
        let v2 = listed(home.path(), "v2");
        assert!(
            v2.is_empty() || v2 == all,
            "after a kill at {kill_ms} ms V2 lists {} of {} packages",
            v2.len(),
            all.len()
        );
        *outcomes
            .entry(if v2.is_empty() { "empty" } else { "whole" })
            .or_insert(0) += 1;
        assert!(succeeds(ggen(home.path()).arg("migrate")));
        assert!(
            succeeds(ggen(home.path()).arg("verify-migration")),
            "migrate after a kill at {kill_ms} ms did not bring V2 back"
        );
    }
    eprintln!("rebuild-db kill outcomes: {outcomes:?}");
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn killed_restores_leave_the_old_registry_or_the_restored_one() {
    let home = tempfile::tempdir().unwrap();
    assert!(succeeds(ggen(home.path()).arg("list")));
    // Each state: a package published, then a backup of the registry holding it.
    let publish_and_back_up = |name: &str, backup: &str| {
        let src = package_dir(home.path(), name);
        assert!(
            succeeds(ggen(home.path()).arg("publish").arg(src)),
            "{name}"
        );
        let file = home.path().join(backup);
        let create = ["backup", "create", "--output"];
        assert!(
            succeeds(ggen(home.path()).args(create).arg(&file)),
            "{backup}"
        );
        (file, listed(home.path(), "v1"))
    };
    // The backup holds a package a fresh seed would not, so a registry lost and
    // seeded again cannot pass for the restored one.
    let (restored_backup, restored) = publish_and_back_up("only-in-the-backup", "before.tar.gz");
    // The live registry then moves on, so old and restored states differ.
    let (old_backup, old) = publish_and_back_up("after-the-backup", "after.tar.gz");
    assert_ne!(old, restored);
    assert!(restored.iter().any(|n| n == "only-in-the-backup"));

    let restore = ["backup", "restore", "--force"];
    let mut outcomes = BTreeMap::new();
    for kill_ms in [10u64, 50, 100, 150, 200, 260, 320, 400, 500, 700] {
        let mut restoring = ggen(home.path());
        restoring
            .env("GGEN_FAULT_DELAY_MS", "120")
            .args(restore)
            .arg(&restored_backup);
        kill_after(restoring, kill_ms);
        // The next command finishes a swap the kill cut in half.
        let now = listed(home.path(), "v1");
        let state = if now == old {
            "old"
        } else if now == restored {
            "restored"
        } else {
            panic!("after a kill at {kill_ms} ms the registry lists {now:?}");
        };
        assert_eq!(listed(home.path(), "v2"), now);
        assert!(succeeds(ggen(home.path()).arg("verify-migration")));
        *outcomes.entry(state).or_insert(0) += 1;
        // Back to the old state for the next round; this restore runs to the end.
        if state == "restored" {
            assert!(succeeds(ggen(home.path()).args(restore).arg(&old_backup)));
            assert_eq!(listed(home.path(), "v1"), old);
        }
    }
    // And a restore left alone completes.
    assert!(succeeds(
        ggen(home.path()).args(restore).arg(&restored_backup)
    ));
    assert_eq!(listed(home.path(), "v1"), restored);
    eprintln!("restore kill outcomes: {outcomes:?}");
}
