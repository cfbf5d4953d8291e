//! Keys, signing, publishing, trust, verification and yanking, end to end, with
//! OpenSSL checking our files from the outside.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::{Home, walk};
use predicates::prelude::*;

fn openssl(args: &[&str]) -> std::process::Output {
    Std::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (Debian: openssl)")
}

/// A new key pair in the home, already in its trust store.
fn trusted_key(home: &Home) -> PathBuf {
    let key = home.path().join("k.pem");
    home.ggen()
        .args(["keygen", "--output"])
        .arg(&key)
        .assert()
        .success();
    home.ggen()
        .args(["trust", "add"])
        .arg(format!("{}.pub", key.display()))
        .assert()
        .success();
    key
}

fn package_dir(root: &Path, name: &str, version: &str) -> PathBuf {
    common::package_dir(root, name, version, "Signed zebra template", &["zebra"])
}

#[test]
fn keys_are_pkcs8_and_spki_pem_that_openssl_reads() {
    let home = Home::new();
    let key = home.path().join("keys/publisher.pem");
    home.ggen()
        .args(["keygen", "--output"])
        .arg(&key)
        .assert()
        .success();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let private = openssl(&["pkey", "-in", key.to_str().unwrap(), "-noout", "-text"]);
    assert!(private.status.success());
    assert!(String::from_utf8_lossy(&private.stdout).contains("ED25519"));
    let public = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        &format!("{}.pub", key.display()),
        "-noout",
        "-text",
    ]);
    assert!(String::from_utf8_lossy(&public.stdout).contains("ED25519 Public-Key"));

    // No silent overwrite.
    home.ggen()
        .args(["keygen", "--output"])
        .arg(&key)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--force"));

    // verify-key prints the same key id for both halves, and accepts OpenSSL's keys.
    let id = |path: &Path| {
        home.json(&["verify-key", path.to_str().unwrap()])["key_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(id(&key), id(Path::new(&format!("{}.pub", key.display()))));
    let theirs = home.path().join("openssl.pem");
    assert!(
        openssl(&[
            "genpkey",
            "-algorithm",
            "ed25519",
            "-out",
            theirs.to_str().unwrap()
        ])
        .status
        .success()
    );
    assert_eq!(id(&theirs).len(), id(&key).len());
}

#[test]
fn openssl_verifies_what_sign_writes() {
    let home = Home::new();
    let key = home.path().join("k.pem");
    home.ggen()
        .args(["keygen", "--output"])
        .arg(&key)
        .assert()
        .success();
    let pkg = package_dir(home.path(), "zebra-kit", "0.2.0");
    let out = home.path().join("signed");
    home.ggen()
        .args(["sign", "--package"])
        .arg(&pkg)
        .arg("--key")
        .arg(&key)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let base = out.join("zebra-kit-0.2.0.tar.gz");
    assert!(base.is_file());
    let statement = format!("{}.statement", base.display());
    let sig = format!("{}.sig", base.display());
    assert_eq!(std::fs::metadata(&sig).unwrap().len(), 64);
    let text = std::fs::read_to_string(&statement).unwrap();
    assert!(
        text.contains("zebra-kit") && text.contains("0.2.0"),
        "{text}"
    );
    let ok = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &format!("{}.pub", key.display()),
        "-rawin",
        "-in",
        &statement,
        "-sigfile",
        &sig,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // A statement changed by one byte does not verify.
    std::fs::write(&statement, text.replace("0.2.0", "0.2.1")).unwrap();
    let bad = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        &format!("{}.pub", key.display()),
        "-rawin",
        "-in",
        &statement,
        "-sigfile",
        &sig,
    ]);
    assert!(!bad.status.success());
}

#[test]
fn signed_publish_trust_verify_install_and_yank() {
    let home = Home::new();
    let key = home.path().join("k.pem");
    home.ggen()
        .args(["keygen", "--output"])
        .arg(&key)
        .assert()
        .success();
    let pkg = package_dir(home.path(), "zebra-kit", "1.0.0");

    // Dry run writes nothing.
    home.ggen()
        .args(["publish"])
        .arg(&pkg)
        .args(["--sign", "--key"])
        .arg(&key)
        .arg("--dry-run")
        .assert()
        .success();
    home.ggen().args(["info", "zebra-kit"]).assert().failure();

    let v = home.json(&[
        "publish",
        pkg.to_str().unwrap(),
        "--sign",
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(v["signed"], true);
    let key_id = v["key_id"].as_str().unwrap().to_string();
    // Published means searchable at once.
    let found = home.json(&["search", "--query", "zebra"]);
    assert_eq!(common::names(&found)[0], "zebra-kit");
    // The same version twice is refused.
    home.ggen()
        .args(["publish"])
        .arg(&pkg)
        .assert()
        .failure()
        .stderr(predicate::str::contains("already"));

    // Signed but not trusted yet: verify says so and fails; so does a verified install.
    let target = home.path().join("out");
    let report = home
        .ggen()
        .args(["verify", "--package", "zebra-kit", "--json"])
        .output()
        .unwrap();
    assert!(!report.status.success());
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["report"]["signature_ok"], true);
    assert_eq!(report["report"]["trust"], "unknown");
    home.ggen()
        .args(["install", "zebra-kit", "--verify-signature", "--target"])
        .arg(&target)
        .assert()
        .failure()
        .stderr(predicate::str::contains("trust add"));
    assert!(
        !target.join("zebra-kit").exists(),
        "nothing is installed on failure"
    );

    // Trusted: verify passes and the install goes through, lockfile records the key.
    home.ggen()
        .args(["trust", "add"])
        .arg(format!("{}.pub", key.display()))
        .args(["--name", "me"])
        .assert()
        .success();
    assert!(
        home.json(&["verify", "--package", "zebra-kit@1.0.0"])["ok"]
            .as_bool()
            .unwrap()
    );
    home.ggen()
        .args(["install", "zebra-kit", "--verify-signature", "--target"])
        .arg(&target)
        .assert()
        .success();
    assert!(target.join("zebra-kit/README.md").is_file());
    let lock = std::fs::read_to_string(target.join("ggen.lock")).unwrap();
    assert!(lock.contains(&key_id), "{lock}");

    // An unsigned package cannot be installed with --verify-signature.
    let other = home.path().join("out2");
    home.ggen()
        .args(["install", "hello-world", "--verify-signature", "--target"])
        .arg(&other)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not signed"));

    // Untrusting the key makes verification fail again.
    home.ggen()
        .args(["trust", "remove", &key_id])
        .assert()
        .success();
    home.ggen()
        .args(["verify", "--package", "zebra-kit"])
        .assert()
        .failure();

    // Yanked: new resolutions skip it, with a hint that says why.
    home.ggen()
        .args(["yank", "zebra-kit@1.0.0"])
        .assert()
        .success();
    home.ggen()
        .args(["install", "zebra-kit", "--target"])
        .arg(home.path().join("out3"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("yanked"));
    home.ggen()
        .args(["yank", "zebra-kit@1.0.0", "--undo"])
        .assert()
        .success();
    home.ggen()
        .args(["install", "zebra-kit", "--target"])
        .arg(home.path().join("out3"))
        .assert()
        .success();
}

#[test]
fn signing_required_policy_refuses_unsigned_packages() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(
        home.path().join("config/config.yaml"),
        "marketplace:\n  publishing:\n    signing:\n      required: true\n",
    )
    .unwrap();
    let pkg = package_dir(home.path(), "zebra-kit", "1.0.0");
    home.ggen()
        .arg("publish")
        .arg(&pkg)
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("requires signed packages")
                .and(predicate::str::contains("--sign")),
        );
    home.ggen().args(["info", "zebra-kit"]).assert().failure();
    // Signed, the same package goes through.
    let key = home.path().join("k.pem");
    home.ggen()
        .args(["keygen", "--output"])
        .arg(&key)
        .assert()
        .success();
    home.ggen()
        .arg("publish")
        .arg(&pkg)
        .args(["--sign", "--key"])
        .arg(&key)
        .assert()
        .success();
    home.ggen().args(["info", "zebra-kit"]).assert().success();
}

/// Publish signed then install verified through one backend alone, and a
/// tampered archive refused before extraction.
fn signed_round_trip_through(backend: &str) {
    let home = Home::new();
    let key = trusted_key(&home);
    let pkg = package_dir(home.path(), "zebra-kit", "2.0.0");
    let v = home.json(&[
        "publish",
        pkg.to_str().unwrap(),
        "--sign",
        "--key",
        key.to_str().unwrap(),
        "--backend",
        backend,
    ]);
    assert_eq!(v["backend_used"], backend);
    home.ggen()
        .args([
            "publish",
            pkg.to_str().unwrap(),
            "--sign",
            "--key",
            key.to_str().unwrap(),
            "--backend",
            backend,
        ])
        .assert()
        .failure();
    let target = home.path().join("out");
    let v = home.json(&[
        "install",
        "zebra-kit",
        "--verify-signature",
        "--backend",
        backend,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(v["backend_used"], backend);
    assert!(target.join("zebra-kit/README.md").is_file());
    assert!(
        home.json(&["verify", "--package", "zebra-kit", "--backend", backend])["ok"]
            .as_bool()
            .unwrap()
    );

    // Tamper with every stored copy of the archive (and drop the download
    // cache): the install is refused and nothing is extracted.
    for entry in walk(&home.path().join("registry")) {
        if entry.extension().is_some_and(|e| e == "gz") && entry.to_string_lossy().contains("zebra")
            || is_blob(&entry)
        {
            std::fs::write(&entry, b"tampered").unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(home.path().join("cache"));
    let other = home.path().join("out2");
    home.ggen()
        .args(["install", "zebra-kit", "--backend", backend, "--target"])
        .arg(&other)
        .assert()
        .failure();
    assert!(!other.join("zebra-kit").exists());
}

fn is_blob(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "blobs") && path.is_file()
}

#[cfg(feature = "marketplace-v1")]
#[test]
fn signed_publish_and_verified_install_through_v1() {
    signed_round_trip_through("v1");
}

#[cfg(feature = "marketplace-v2")]
#[test]
fn signed_publish_and_verified_install_through_v2() {
    signed_round_trip_through("v2");
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn signatures_survive_migration_to_v2() {
    let home = Home::new();
    let key = trusted_key(&home);
    let pkg = package_dir(home.path(), "zebra-kit", "3.0.0");
    // Published into V1 alone (as before migration), then copied over.
    home.json(&[
        "publish",
        pkg.to_str().unwrap(),
        "--sign",
        "--key",
        key.to_str().unwrap(),
        "--backend",
        "v1",
    ]);
    home.ggen()
        .args(["info", "zebra-kit", "--backend", "v2"])
        .assert()
        .failure();
    home.json(&["migrate"]);
    home.ggen().args(["verify-migration"]).assert().success();
    let v = home.json(&["verify", "--package", "zebra-kit@3.0.0", "--backend", "v2"]);
    assert_eq!(v["backend_used"], "v2");
    assert!(v["ok"].as_bool().unwrap(), "{v}");
}
