//! Kills real `ggen` install processes at many points and checks that the target
//! and its ggen.lock are always either the old state or the new one.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

fn ggen(home: &Path) -> StdCommand {
    let mut c = StdCommand::cargo_bin("ggen").unwrap();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GGEN_HOME", home)
        .env("GGEN_CONFIG_DIR", home.join("config"))
        .env("GGEN_USER_ID", "crash-test")
        .arg("marketplace")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
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
    assert!(
        ggen(home.path())
            .args(["install", "hello-world", "--target"])
            .arg(&target)
            .status()
            .unwrap()
            .success()
    );
    let old = snapshot(&target);
    // The complete new state, from an undisturbed run in a copy.
    let reference = home.path().join("reference");
    assert!(
        ggen(home.path())
            .args(["install", "hello-world", "axum-service", "--target"])
            .arg(&reference)
            .status()
            .unwrap()
            .success()
    );
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
        assert!(
            ggen(home.path())
                .args(["list", "--installed", "--target"])
                .arg(&target)
                .status()
                .unwrap()
                .success()
        );
        let recovered = {
            // `install` of what is already there recovers first, then changes nothing.
            let _ = ggen(home.path())
                .args(["install", "hello-world", "--target"])
                .arg(&target)
                .status()
                .unwrap();
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
            assert!(
                ggen(home.path())
                    .args(["install", "hello-world", "--target"])
                    .arg(&target)
                    .status()
                    .unwrap()
                    .success()
            );
            assert_eq!(snapshot(&target), old);
        }
    }
    eprintln!("kill outcomes: {outcomes:?}");
}
