//! `ggen marketplace backup` end to end: backups taken while another process
//! publishes restore into empty homes as consistent registries.

use crate::common;

use std::path::{Path, PathBuf};

use common::Home;

fn package_dir(root: &Path, name: &str) -> PathBuf {
    common::package_dir(root, name, "1.0.0", "Busy template", &[])
}

/// The `busy-*` packages `home` lists, sorted.
fn busy_names(home: &Home) -> Vec<String> {
    let mut names = common::listed_names(&home.json(&["list"]));
    names.retain(|n| n.starts_with("busy-"));
    names.sort();
    names
}

#[test]
fn backups_taken_during_publishing_restore_consistently() {
    let home = Home::new();
    home.json(&["list"]); // seed
    let src = home.path().join("src");
    let dirs: Vec<PathBuf> = (0..10)
        .map(|i| package_dir(&src, &format!("busy-{i:02}")))
        .collect();
    let publishers: Vec<assert_cmd::Command> = dirs
        .iter()
        .map(|d| {
            let mut c = home.ggen();
            c.args(["publish", d.to_str().unwrap()]);
            c
        })
        .collect();
    let publishing = std::thread::spawn(move || {
        for mut c in publishers {
            c.assert().success();
        }
    });
    let mut backups = Vec::new();
    for i in 0..4 {
        let out = home.path().join(format!("b{i}.tar.gz"));
        home.succeeds(&["backup", "create", "--output", out.to_str().unwrap()]);
        backups.push(out);
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    publishing.join().unwrap();
    let last = home.path().join("final.tar.gz");
    home.succeeds(&["backup", "create", "--output", last.to_str().unwrap()]);
    backups.push(last);

    let mut previous = 0;
    for file in &backups {
        let listed = home.json(&["backup", "list", file.to_str().unwrap()]);
        assert_eq!(listed["format"], 1);
        let fresh = Home::new();
        let r = fresh.json(&["backup", "restore", file.to_str().unwrap()]);
        assert!(r["differences"].as_array().unwrap().is_empty(), "{r}");
        let names = busy_names(&fresh);
        // Publishes land whole, in order: each backup holds a prefix of them.
        let expected: Vec<String> = (0..names.len()).map(|i| format!("busy-{i:02}")).collect();
        assert_eq!(names, expected, "{}", file.display());
        assert!(names.len() >= previous);
        previous = names.len();
        #[cfg(feature = "marketplace-parallel")]
        {
            let v = fresh.json(&["verify-migration"]);
            assert!(v["differences"].as_array().unwrap().is_empty(), "{v}");
        }
        if let Some(last) = names.last() {
            fresh.succeeds_in(&fresh.path().join("out"), &["install", last]);
        }
    }
    assert_eq!(previous, 10, "the final backup has every package");
    assert_eq!(busy_names(&home).len(), 10);
}

/// Rollback level 1 (config): what was published while V2 was primary is all
/// in V1 too, so switching `marketplace.backend` to v1 loses nothing and
/// changes nothing on disk.
#[cfg(feature = "marketplace-parallel")]
#[test]
fn switching_back_to_v1_by_config_loses_nothing() {
    let home = Home::new();
    home.json(&["list"]);
    let src = home.path().join("src");
    for i in 0..3 {
        let d = package_dir(&src, &format!("busy-{i:02}"));
        home.ggen()
            .env("GGEN_MARKETPLACE_BACKEND", "v2")
            .args(["publish", d.to_str().unwrap()])
            .assert()
            .success();
    }
    home.ggen()
        .env("GGEN_MARKETPLACE_BACKEND", "v2")
        .args(["yank", "busy-01@1.0.0"])
        .assert()
        .success();
    let index_before = std::fs::read(home.path().join("registry/index.json")).unwrap();
    home.write_config("marketplace:\n  backend: v1\n");
    let list = home.json(&["list"]);
    assert_eq!(list["backend_used"], "v1");
    assert_eq!(busy_names(&home), ["busy-00", "busy-01", "busy-02"]);
    let info = home.json(&["info", "busy-01"]);
    assert!(info.to_string().contains("\"yanked\":true"), "{info}");
    assert_eq!(
        std::fs::read(home.path().join("registry/index.json")).unwrap(),
        index_before,
        "reading through v1 rewrote nothing"
    );
}

#[test]
fn a_restore_does_not_bring_back_a_revoked_token() {
    let home = Home::new();
    home.json(&["list"]); // seed
    let token = common::publish_token(&home, "*");
    let listed = |home: &Home| -> Vec<String> {
        let out = home
            .bin()
            .args(["registry", "token", "list", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let ids = listed(&home);
    assert_eq!(ids.len(), 1);
    let backup = home.path().join("before-revoke.tar.gz");
    let b = backup.to_str().unwrap();
    home.succeeds(&["backup", "create", "--output", b]);
    home.bin()
        .args(["registry", "token", "revoke", &ids[0]])
        .assert()
        .success();
    let report = home.succeeds(&["backup", "restore", b, "--force", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["tokens_kept_revoked"], 1, "{report}");
    assert!(listed(&home).is_empty(), "the revoked token came back");
    // And the server refuses it.
    let server = common::serve(&home);
    let src = home.path().join("src");
    let dir = package_dir(&src, "after-restore");
    let (ok, _, err) = home.publish_to(&dir, &server.url, &token);
    assert!(!ok);
    assert!(err.contains("401"), "{err}");
}
