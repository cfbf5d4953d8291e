//! Tests of the signing module, by topic, with the helpers they share.

#![allow(unused_imports)]

/// Skips a test (saying so) on a machine without the `openssl` command.
macro_rules! require_openssl {
    () => {
        if !has_openssl() {
            println!("skipping: `openssl` is not on PATH");
            return;
        }
    };
}

mod keys;
mod statement;
mod trust;
mod verify;

pub(super) use super::keys::is_key_id;
pub(super) use super::statement::{format_time, quoted, truncate_to_seconds};
pub(super) use super::verify::{GROUP_ORDER_LE, is_canonical_scalar};
pub(super) use super::*;
pub(super) use crate::checksum::sha256_hex;
pub(super) use crate::model::Signature;
pub(super) use chrono::{DateTime, Utc};
pub(super) use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
pub(super) use semver::Version;
pub(super) use std::fs;
pub(super) use std::path::{Path, PathBuf};
pub(super) use std::process::Command;

pub(super) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(super) fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

pub(super) const ARCHIVE: &[u8] = b"pretend this is a gzipped tarball of templates";

pub(super) fn signed() -> (SigningKey, Signature) {
    let key = generate_keypair().unwrap();
    let sig = sign_archive(
        &key,
        "hello-world",
        &v("1.0.0"),
        ARCHIVE,
        t("2026-11-23T12:00:00.750Z"),
    )
    .unwrap();
    (key, sig)
}

/// Verifies `sig` as what [`signed`] signs: `hello-world@1.0.0` over [`ARCHIVE`].
pub(super) fn verify_hello(sig: &Signature) -> Result<VerifiedStatement, SigningError> {
    verify(sig, "hello-world", &v("1.0.0"), ARCHIVE)
}

pub(super) fn has_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(super) fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl")
}

/// Asserts that an `openssl` run succeeded, showing what it printed otherwise.
pub(super) fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// [`openssl`], asserting that it succeeds.
pub(super) fn openssl_ok(args: &[&str]) -> std::process::Output {
    let out = openssl(args);
    assert_ok(&out);
    out
}

pub(super) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// --- key ids and statements ---
