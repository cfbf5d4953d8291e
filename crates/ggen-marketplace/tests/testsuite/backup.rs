//! Backup and restore on real registries (V1 on disk, V2 in RocksDB): round
//! trip into an empty home, and every kind of bad backup refused with the
//! current registry untouched.

use std::io::Write;
use std::path::Path;

use ggen_marketplace::{BackupManifest, Compiled, Marketplace, Operation, Paths, Settings};
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::model::PackageVersion;

fn marketplace(home: &Path) -> Marketplace {
    let paths = Paths::under(home);
    Marketplace::new(paths, Settings::from_pairs(&[]).unwrap())
}

/// A seeded registry plus one package published through the facade.
fn original() -> (tempfile::TempDir, Marketplace) {
    let home = tempfile::tempdir().unwrap();
    let mp = marketplace(home.path());
    mp.ensure_seeded(false).unwrap();
    let archive = ggen_marketplace_core::archive::pack_entries(&[(
        "README.md",
        b"published before the backup",
    )])
    .unwrap();
    let mut v = PackageVersion::new("backup-probe", "1.2.3".parse().unwrap());
    v.description = "published before the backup".into();
    v.checksum = Some(sha256_hex(&archive));
    mp.backend_for(Operation::Publish)
        .unwrap()
        .publish(&v, &archive)
        .unwrap();
    (home, mp)
}

fn snapshot(mp: &Marketplace) -> Vec<(String, Vec<String>)> {
    let b = mp.backend_for(Operation::Info).unwrap();
    let mut out = Vec::new();
    for s in b.list().unwrap() {
        let p = b.package(&s.name).unwrap();
        let versions = p
            .versions
            .iter()
            .map(|v| {
                format!(
                    "{}:{}:{}",
                    v.version,
                    v.checksum.clone().unwrap_or_default(),
                    v.yanked
                )
            })
            .collect();
        out.push((s.name, versions));
    }
    out
}

#[test]
fn a_backup_restores_into_an_empty_home_with_everything() {
    let (home, mp) = original();
    let config = "marketplace:\n  fallback: { enabled: true }\n";
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(home.path().join("config/config.yaml"), config).unwrap();
    let file = home.path().join("b.tar.gz");
    let m = mp.backup(&file).unwrap();
    assert_eq!(
        m.format, 1,
        "the backup format is a contract: changing it needs a migration note"
    );
    assert!(m.files.contains_key("index.json") || !Compiled::this_build().v1);
    assert_eq!(ggen_marketplace::inspect_backup(&file).unwrap(), m);

    let fresh = tempfile::tempdir().unwrap();
    let target = marketplace(fresh.path());
    let report = target.restore_backup(&file, false).unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert_eq!(report.v1, m.v1);
    assert_eq!(report.v2, m.v2);
    assert_eq!(report.config, "restored");
    assert_eq!(
        std::fs::read_to_string(fresh.path().join("config/config.yaml")).unwrap(),
        config
    );
    // A new process sees the restored registry, search and archives included.
    let restored = marketplace(fresh.path());
    assert!(restored.is_seeded());
    assert_eq!(snapshot(&restored), snapshot(&mp));
    let search = restored.backend_for(Operation::Search).unwrap();
    let hits = search
        .search(&ggen_marketplace_core::SearchQuery::text("backup probe"))
        .unwrap();
    assert_eq!(hits.hits[0].name, "backup-probe");
    let b = restored.backend_for(Operation::Install).unwrap();
    assert_eq!(
        b.fetch_archive("backup-probe", &"1.2.3".parse().unwrap())
            .unwrap(),
        ggen_marketplace_core::archive::pack_entries(&[(
            "README.md",
            b"published before the backup"
        )])
        .unwrap()
    );
    for kind in [
        ggen_marketplace_core::BackendKind::V1,
        ggen_marketplace_core::BackendKind::V2,
    ] {
        if let Ok(single) = restored.single(kind) {
            assert!(single.package("backup-probe").is_ok(), "{kind} lacks it");
        }
    }
}

#[test]
fn an_existing_registry_is_replaced_only_with_force_and_kept_aside() {
    let (home, mp) = original();
    let file = home.path().join("b.tar.gz");
    mp.backup(&file).unwrap();
    let err = mp.restore_backup(&file, false).unwrap_err().to_string();
    assert!(err.contains("--force"), "{err}");
    drop(mp); // a live handle holds the RocksDB store, as a server would
    let mp = marketplace(home.path());
    let r = mp.restore_backup(&file, true).unwrap();
    let aside = r.replaced.expect("kept aside");
    assert!(aside.is_dir());
    assert!(marketplace(home.path()).is_seeded());
}

fn rewrite(file: &Path, out: &Path, change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let bytes = std::fs::read(file).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(enc);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if let Some(data) = change(&path, data) {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, &path, data.as_slice()).unwrap();
        }
    }
    std::fs::File::create(out)
        .unwrap()
        .write_all(&b.into_inner().unwrap().finish().unwrap())
        .unwrap();
}

#[test]
fn bad_backups_are_refused_and_the_registry_is_untouched() {
    let (home, mp) = original();
    let file = home.path().join("good.tar.gz");
    mp.backup(&file).unwrap();
    let registry = home.path().join("registry");
    let index_before = std::fs::read(registry.join("index.json")).ok();
    let before = snapshot(&mp);
    drop(mp);

    let bytes = std::fs::read(&file).unwrap();
    let truncated = home.path().join("truncated.tar.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();

    let tampered = home.path().join("tampered.tar.gz");
    rewrite(&file, &tampered, |path, mut data| {
        if path.starts_with("archives/") || path.starts_with("blobs/") || path == "v2.nt" {
            data[0] ^= 1;
        }
        Some(data)
    });

    let newer = home.path().join("newer.tar.gz");
    rewrite(&file, &newer, |path, data| {
        if path == "ggen-backup.json" {
            let mut m: BackupManifest = serde_json::from_slice(&data).unwrap();
            m.format = 99;
            return Some(serde_json::to_vec(&m).unwrap());
        }
        Some(data)
    });

    // A foreign archive: a tarball with no manifest.
    let foreign = home.path().join("foreign.tar.gz");
    rewrite(&file, &foreign, |path, data| {
        (path != "ggen-backup.json").then_some(data)
    });
    let missing = home.path().join("missing.tar.gz");
    rewrite(&file, &missing, |path, data| {
        (path != "v2.nt" && path != "index.json").then_some(data)
    });

    for (bad, why) in [
        (&truncated, "truncated"),
        (&tampered, "checksum"),
        (&newer, "format 99"),
        (&foreign, "ggen-backup.json"),
        (&missing, "missing"),
    ] {
        let err = ggen_marketplace::inspect_backup(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{why}: {err}");
        let mp = marketplace(home.path());
        let err = mp.restore_backup(bad, true).unwrap_err().to_string();
        assert!(err.contains(why), "{why}: {err}");
        assert_eq!(
            std::fs::read(registry.join("index.json")).ok(),
            index_before
        );
        assert_eq!(snapshot(&mp), before, "{why}: the registry changed");
    }
    let leftovers: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".ggen-restore-")
        })
        .collect();
    assert!(leftovers.is_empty(), "staging directories left behind");
}
