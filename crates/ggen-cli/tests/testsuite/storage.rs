//! The registry's own storage failing under it: a disk that fills up during a
//! publish (a real size-limited tmpfs) and the V2 store's directory removed,
//! from under a new command and from under a running server. Each must give a
//! clear error or V1's answer, lose nothing, and recover with the documented
//! command.
#![cfg(all(target_os = "linux", feature = "marketplace-parallel"))]

use crate::common;

use std::path::{Path, PathBuf};

use common::{Home, Tmpfs, walk};

/// Incompressible bytes, so an archive really is this large.
fn noise(len: usize) -> Vec<u8> {
    ggen_test_support::Rng::new(0x9E37).bytes(len)
}

/// The package names `backend` lists, sorted.
fn listed(home: &Home, backend: &str) -> Vec<String> {
    let mut names = common::listed_names(&home.json(&["list", "--backend", backend]));
    names.sort();
    names
}

/// Files a crashed or failed atomic write would leave (fsutil's temp prefix).
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".ggen-tmp"))
        })
        .collect()
}

#[test]
fn a_full_disk_during_publish_loses_nothing_and_the_retry_succeeds() {
    let home = Home::new();
    let Some(disk) = Tmpfs::mount(home.path(), "128m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root");
        return;
    };
    home.ggen().arg("init").assert().success();
    let before = listed(&home, "v1");
    assert_eq!(listed(&home, "v2"), before);

    let sources = tempfile::tempdir().unwrap(); // off the small disk
    let src = common::package_dir(
        sources.path(),
        "full-disk-pack",
        "1.0.0",
        "Published onto a full disk",
        &[],
    );
    std::fs::write(src.join("templates/blob.bin"), noise(512 * 1024)).unwrap();

    // Leave 64 KiB: far less than the 512 KiB archive.
    let filler = home.path().join("filler");
    let room = disk.free_bytes().saturating_sub(64 * 1024);
    let _ = std::fs::write(&filler, vec![0u8; room as usize]);
    let publish = ["publish", src.to_str().unwrap()];
    home.fails(&publish, &["No space left on device"]);
    // Reads still answer on the full disk (V1, or V2 if it can open), unchanged.
    assert_eq!(listed(&home, "v1"), before);

    std::fs::remove_file(&filler).unwrap();
    // Nothing is half-visible: both backends agree and neither has the package.
    home.ggen().arg("verify-migration").assert().success();
    assert_eq!(listed(&home, "v1"), before);
    assert_eq!(listed(&home, "v2"), before);
    let stray = temp_files(&home.path().join("registry"));
    assert!(stray.is_empty(), "failed writes left {stray:?}");

    // With room again, the same publish lands in both.
    home.succeeds(&publish);
    home.ggen().arg("verify-migration").assert().success();
    for backend in ["v1", "v2"] {
        let names = listed(&home, backend);
        assert!(names.contains(&"full-disk-pack".to_string()), "{backend}");
        assert_eq!(names.len(), before.len() + 1, "{backend}");
    }
    let out = home.path().join("out");
    home.succeeds_in(&out, &["install", "full-disk-pack"]);
    assert_eq!(
        std::fs::read(out.join("full-disk-pack/templates/blob.bin")).unwrap(),
        noise(512 * 1024)
    );
}

/// The V2 store's directory removed from under a running server (an operator's
/// mistake, a cleanup script): reads keep answering, a publish lands in V1 and
/// is not written into the unlinked store, the next process says the store is
/// missing and what to run, reads fall back to V1, and `rebuild-db` brings V2
/// back with everything, including what was published meanwhile.
#[test]
fn the_v2_store_removed_under_a_running_server_is_recoverable() {
    let server_home = Home::new();
    let server = common::serve(&server_home);
    let token = common::publish_token(&server_home, "gone-*");
    let client = Home::new();
    let url = server.url.clone();
    let sources = tempfile::tempdir().unwrap();
    let publish = |name: &str| {
        let src = common::package_dir(sources.path(), name, "1.0.0", "Store gone test", &[]);
        let (ok, _, err) = client.publish_to(&src, &url, &token);
        assert!(ok, "{name}: {err}");
    };
    publish("gone-before");

    let store = server_home.path().join("registry/v2/store");
    assert!(store.is_dir());
    std::fs::remove_dir_all(&store).unwrap();

    // The running server still answers reads, and takes a publish.
    let hits = client.json(&["search", "--query", "bibtex", "--registry", &url]);
    assert_eq!(common::names(&hits)[0], "bibtex-references");
    publish("gone-after");
    let info = client.json(&["info", "gone-after", "--registry", &url]);
    assert_eq!(info["name"], "gone-after", "{info}");
    drop(server);

    // A new process: V2 alone is a clear error naming the cure ...
    server_home.fails(
        &["list", "--backend", "v2"],
        &["v2/store", "removed", "rebuild-db"],
    );
    // ... and the default (V2 with fallback) answers through V1.
    let hits = server_home.json(&["search", "--query", "gone"]);
    let found = common::names(&hits);
    assert!(
        found.contains(&"gone-after".to_string()) && found.contains(&"gone-before".to_string()),
        "{found:?}"
    );
    assert_eq!(hits["backend_used"], "v1", "{hits}");

    server_home.succeeds(&["rebuild-db"]);
    server_home.succeeds(&["verify-migration"]);
    let v2 = listed(&server_home, "v2");
    assert_eq!(v2, listed(&server_home, "v1"));
    assert!(v2.contains(&"gone-before".to_string()) && v2.contains(&"gone-after".to_string()));
}
