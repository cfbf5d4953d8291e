//! Keys, signing, publishing, trust, verification and yanking, end to end, with
//! OpenSSL checking our files from the outside.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::{Home, walk};

fn openssl(args: &[&str]) -> std::process::Output {
    Std::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (Debian: openssl)")
}

fn package_dir(root: &Path, name: &str, version: &str) -> PathBuf {
    common::package_dir(root, name, version, "Signed zebra template", &["zebra"])
}

/// A new home with a key pair at `k.pem` (already trusted when `trusted`)
/// and the source of zebra-kit `version`: (home, key, package directory).
fn zebra_kit_and_key(version: &str, trusted: bool) -> (Home, PathBuf, PathBuf) {
    let home = Home::new();
    let key = if trusted {
        home.trusted_key()
    } else {
        home.new_key()
    };
    let pkg = package_dir(home.path(), "zebra-kit", version);
    (home, key, pkg)
}

#[test]
fn keys_are_pkcs8_and_spki_pem_that_openssl_reads() {
    let home = Home::new();
    let key = home.path().join("keys/publisher.pem");
    let keygen = ["keygen", "--output", key.to_str().unwrap()];
    home.succeeds(&keygen);
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
    let public_key = format!("{}.pub", key.display());
    let public = openssl(&["pkey", "-pubin", "-in", &public_key, "-noout", "-text"]);
    assert!(String::from_utf8_lossy(&public.stdout).contains("ED25519 Public-Key"));

    // No silent overwrite.
    home.fails(&keygen, &["--force"]);

    // verify-key prints the same key id for both halves, and accepts OpenSSL's keys.
    let id = |path: &Path| {
        home.json(&["verify-key", path.to_str().unwrap()])["key_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(id(&key), id(Path::new(&public_key)));
    let theirs = home.path().join("openssl.pem");
    let theirs_pem = theirs.to_str().unwrap();
    let generated = openssl(&["genpkey", "-algorithm", "ed25519", "-out", theirs_pem]);
    assert!(generated.status.success());
    assert_eq!(id(&theirs).len(), id(&key).len());
}

#[test]
fn openssl_verifies_what_sign_writes() {
    let (home, key, pkg) = zebra_kit_and_key("0.2.0", false);
    let out = home.path().join("signed");
    let (p, k) = (pkg.to_str().unwrap(), key.to_str().unwrap());
    let o = out.to_str().unwrap();
    home.succeeds(&["sign", "--package", p, "--key", k, "--output", o]);
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
    let public_key = format!("{}.pub", key.display());
    let verify = || {
        let mut args = vec!["pkeyutl", "-verify", "-pubin", "-inkey", &public_key];
        args.extend(["-rawin", "-in", &statement, "-sigfile", &sig]);
        openssl(&args)
    };
    let ok = verify();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // A statement changed by one byte does not verify.
    std::fs::write(&statement, text.replace("0.2.0", "0.2.1")).unwrap();
    let bad = verify();
    assert!(!bad.status.success());
}

#[test]
fn signed_publish_trust_verify_install_and_yank() {
    let (home, key, pkg) = zebra_kit_and_key("1.0.0", false);
    let (p, k) = (pkg.to_str().unwrap(), key.to_str().unwrap());

    // Dry run writes nothing (so it needs a registry to exist: it creates none).
    home.fails(
        &["publish", p, "--sign", "--key", k, "--dry-run"],
        &["ggen marketplace init"],
    );
    home.json(&["init"]);
    home.succeeds(&["publish", p, "--sign", "--key", k, "--dry-run"]);
    home.fails(&["info", "zebra-kit"], &[]);

    let v = home.json(&["publish", p, "--sign", "--key", k]);
    assert_eq!(v["signed"], true);
    let key_id = v["key_id"].as_str().unwrap().to_string();
    // Published means searchable at once.
    let found = home.json(&["search", "--query", "zebra"]);
    assert_eq!(common::names(&found)[0], "zebra-kit");
    // The same version twice is refused.
    home.fails(&["publish", p], &["already"]);

    // Signed but not trusted yet: verify says so and fails; so does a verified install.
    let target = home.path().join("out");
    let (ok, report, _) = home.run(&["verify", "--package", "zebra-kit", "--json"]);
    assert!(!ok);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["report"]["signature_ok"], true);
    assert_eq!(report["report"]["trust"], "unknown");
    let verified_install = ["install", "zebra-kit", "--verify-signature"];
    home.fails_in(&target, &verified_install, &["trust add"]);
    assert!(
        !target.join("zebra-kit").exists(),
        "nothing is installed on failure"
    );

    // Trusted: verify passes and the install goes through, lockfile records the key.
    let public_key = format!("{}.pub", key.display());
    home.succeeds(&["trust", "add", &public_key, "--name", "me"]);
    assert!(
        home.json(&["verify", "--package", "zebra-kit@1.0.0"])["ok"]
            .as_bool()
            .unwrap()
    );
    home.succeeds_in(&target, &verified_install);
    assert!(target.join("zebra-kit/README.md").is_file());
    let lock = std::fs::read_to_string(target.join("ggen.lock")).unwrap();
    assert!(lock.contains(&key_id), "{lock}");

    // An unsigned package cannot be installed with --verify-signature.
    let other = home.path().join("out2");
    home.fails_in(
        &other,
        &["install", "hello-world", "--verify-signature"],
        &["not signed"],
    );

    // Untrusting the key makes verification fail again.
    home.succeeds(&["trust", "remove", &key_id]);
    home.fails(&["verify", "--package", "zebra-kit"], &[]);

    // Yanked: new resolutions skip it, with a hint that says why.
    let yanked_target = home.path().join("out3");
    home.succeeds(&["yank", "zebra-kit@1.0.0"]);
    home.fails_in(&yanked_target, &["install", "zebra-kit"], &["yanked"]);
    home.succeeds(&["yank", "zebra-kit@1.0.0", "--undo"]);
    home.succeeds_in(&yanked_target, &["install", "zebra-kit"]);
}

#[test]
fn signing_required_policy_refuses_unsigned_packages() {
    let home = Home::new();
    home.write_config("marketplace:\n  publishing:\n    signing:\n      required: true\n");
    let pkg = package_dir(home.path(), "zebra-kit", "1.0.0");
    let p = pkg.to_str().unwrap();
    home.fails(&["publish", p], &["requires signed packages", "--sign"]);
    home.fails(&["info", "zebra-kit"], &[]);
    // Signed, the same package goes through.
    let key = home.new_key();
    home.succeeds(&["publish", p, "--sign", "--key", key.to_str().unwrap()]);
    home.succeeds(&["info", "zebra-kit"]);
}

#[cfg(feature = "marketplace-parallel")]
#[test]
fn signatures_survive_migration_to_v2() {
    let (home, key, pkg) = zebra_kit_and_key("3.0.0", true);
    // Published into V1 alone (as before migration), then copied over.
    let (p, k) = (pkg.to_str().unwrap(), key.to_str().unwrap());
    home.json(&["publish", p, "--sign", "--key", k, "--backend", "v1"]);
    home.fails(&["info", "zebra-kit", "--backend", "v2"], &[]);
    home.json(&["migrate"]);
    home.succeeds(&["verify-migration"]);
    let v = home.json(&["verify", "--package", "zebra-kit@3.0.0", "--backend", "v2"]);
    assert_eq!(v["backend_used"], "v2");
    assert!(v["ok"].as_bool().unwrap(), "{v}");
}

/// Publish signed then install verified through one backend alone, and a
/// tampered archive refused before extraction.
fn signed_round_trip_through(backend: &str) {
    let (home, key, pkg) = zebra_kit_and_key("2.0.0", true);
    let (p, k) = (pkg.to_str().unwrap(), key.to_str().unwrap());
    let publish = ["publish", p, "--sign", "--key", k, "--backend", backend];
    let v = home.json(&publish);
    assert_eq!(v["backend_used"], backend);
    home.fails(&publish, &[]);
    let target = home.path().join("out");
    let mut verified_install = vec!["install", "zebra-kit", "--verify-signature"];
    verified_install.extend(["--backend", backend, "--target", target.to_str().unwrap()]);
    let v = home.json(&verified_install);
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
    home.fails_in(&other, &["install", "zebra-kit", "--backend", backend], &[]);
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
