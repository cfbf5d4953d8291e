//! Publishing: validate a package directory, pack it, checksum it, optionally sign
//! it, and write it through the routed backend (both backends during migration,
//! see [`crate::routing::dual`]), held to one policy whoever asks.
//!
//! | module | holds |
//! |---|---|
//! | (here) | preparing an archive, the policy, the publish itself |
//! | `session` | the [`crate::Marketplace`] methods the CLI and the server call |
//! | `verify` | the consumer side: checking a published package |
//! | `keys` | a package's move to a new signing key |

use std::path::{Path, PathBuf};

use chrono::Utc;
use ggen_marketplace_core::archive::pack_dir;
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::model::Signature;
use ggen_marketplace_core::signing::{self};
use ggen_marketplace_core::{Manifest, MarketplaceBackend, MarketplaceError, PackageVersion};

use crate::access::{self, Owners, Writer};
use crate::error::{Error, Result};

mod keys;
mod session;
mod verify;

pub use keys::RotationReport;
pub use session::{PublishReport, SignReport, YankReport, sign_dir};
pub use verify::{VerifyReport, require_trusted_signature};

/// Archives larger than this are refused (registries are not file shares).
pub const MAX_ARCHIVE_BYTES: usize = 50 * 1024 * 1024;

/// A package ready to publish.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The package's `gpack.toml`, read and checked.
    pub manifest: Manifest,
    /// The version record to publish.
    pub release: PackageVersion,
    /// The `.tar.gz` archive of the package directory.
    pub archive: Vec<u8>,
}

/// Reads the manifest (a package directory, or a manifest file inside one) and
/// packs the directory.
pub fn prepare(path: &Path) -> Result<Prepared> {
    prepare_with_limit(path, MAX_ARCHIVE_BYTES)
}

/// [`prepare`] with another cap on the packed size (tests use a small one).
pub fn prepare_with_limit(path: &Path, max_archive_bytes: usize) -> Result<Prepared> {
    let dir: PathBuf = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    let manifest = Manifest::load(path)?;
    let archive = pack_dir(&dir)?;
    if archive.len() > max_archive_bytes {
        return Err(MarketplaceError::InvalidArchive {
            reason: format!(
                "{} packs to {} bytes, over the limit of {max_archive_bytes} bytes; leave build output and large assets out of the package directory",
                dir.display(),
                archive.len()
            ),
        }
        .into());
    }
    let mut release = manifest.to_package_version();
    release.checksum = Some(sha256_hex(&archive));
    release.size = Some(archive.len() as u64);
    release.published_at = Some(ggen_marketplace_core::model::publish_time());
    Ok(Prepared {
        manifest,
        release,
        archive,
    })
}

/// A package uploaded as an archive (to the registry server): the metadata is
/// read from the manifest inside it, never taken from the uploader's word, and
/// `signature`, if any, is attached as sent (`publish` verifies it).
pub fn prepare_upload(archive: Vec<u8>, signature: Option<Signature>) -> Result<Prepared> {
    if archive.len() > MAX_ARCHIVE_BYTES {
        return Err(MarketplaceError::InvalidArchive {
            reason: format!(
                "the archive is {} bytes, over the limit of {MAX_ARCHIVE_BYTES} bytes",
                archive.len()
            ),
        }
        .into());
    }
    let manifest = Manifest::from_archive(&archive)?;
    let mut release = manifest.to_package_version();
    release.checksum = Some(sha256_hex(&archive));
    release.size = Some(archive.len() as u64);
    release.published_at = Some(ggen_marketplace_core::model::publish_time());
    release.signature = signature;
    Ok(Prepared {
        manifest,
        release,
        archive,
    })
}

/// Signs a prepared package with the private key at `key_path`.
pub fn sign(prepared: &mut Prepared, key_path: &Path) -> Result<()> {
    let key = signing::load_signing_key(key_path)?;
    let sig = signing::sign_archive(
        &key,
        &prepared.release.name,
        &prepared.release.version,
        &prepared.archive,
        Utc::now(),
    )?;
    prepared.release.signature = Some(sig);
    Ok(())
}

/// Writes `NAME-VERSION.tar.gz`, `.sig` (raw 64 bytes) and `.statement` (the exact
/// signed bytes) into `out_dir`, so OpenSSL can check them independently:
/// `openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in X.statement -sigfile X.sig`.
pub fn write_signed_files(prepared: &Prepared, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let sig = prepared
        .release
        .signature
        .as_ref()
        .ok_or_else(|| Error::Setup("the package is not signed".into()))?;
    let base = out_dir.join(format!(
        "{}-{}.tar.gz",
        prepared.release.name, prepared.release.version
    ));
    let raw = hex_decode(&sig.signature)?;
    let files = [
        (base.clone(), prepared.archive.clone()),
        (PathBuf::from(format!("{}.sig", base.display())), raw),
        (
            PathBuf::from(format!("{}.statement", base.display())),
            sig.statement.as_bytes().to_vec(),
        ),
    ];
    for (path, bytes) in &files {
        ggen_marketplace_core::fsutil::atomic_write(path, bytes)?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

fn hex_decode(s: &str) -> Result<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| Error::Setup("signature is not hex".into()))
}

/// What a publish is held to besides the release's own checks; built by
/// [`crate::Marketplace::publish_policy`] for both the CLI and the server.
#[derive(Debug, Clone)]
pub struct PublishPolicy {
    /// `publishing.signing.required`: unsigned packages are refused.
    pub signing_required: bool,
    /// Who publishes: the operator, or a token with its scopes and names.
    pub writer: Writer,
    /// The registry's owners; `None` when the registry is a remote server,
    /// which applies its own.
    pub owners: Option<Owners>,
}

/// Publishes through `backend` unless `dry_run`. Validation runs first either
/// way, so a dry run reports exactly what a real run would refuse: the
/// signing policy, the signature, the release checks of every backend
/// (name, metadata, checksum, the archive an installer would accept, a new
/// version) and [`crate::access::authorize_publish`] (confusable names,
/// ownership, key continuity). A real run claims the name before it writes.
pub fn publish(
    backend: &dyn MarketplaceBackend,
    prepared: &Prepared,
    policy: &PublishPolicy,
    dry_run: bool,
) -> Result<()> {
    policy
        .writer
        .may(access::Scope::Publish, &prepared.release.name)?;
    if policy.signing_required && prepared.release.signature.is_none() {
        return Err(Error::Setup(
            "this registry requires signed packages (publishing.signing.required); publish with --sign --key KEY".into(),
        ));
    }
    if let Some(sig) = &prepared.release.signature {
        // Never publish a signature that does not verify.
        crate::cache::signatures::verify(
            sig,
            &prepared.release.name,
            &prepared.release.version,
            &prepared.archive,
        )?;
    }
    backend.validate(&prepared.release, &prepared.archive)?;
    if let Some(owners) = &policy.owners {
        let existing = match backend.package(&prepared.release.name) {
            Ok(p) => Some(p),
            Err(MarketplaceError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let names =
            || -> Result<Vec<String>> { Ok(backend.list()?.into_iter().map(|p| p.name).collect()) };
        access::authorize_publish(
            owners,
            &policy.writer,
            &prepared.release,
            existing.as_ref(),
            names,
            !dry_run,
        )?;
    }
    if !dry_run {
        backend.publish(&prepared.release, &prepared.archive)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_over_the_size_cap_is_refused_with_both_sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("gpack.toml"),
            "[package]\nname = \"big-one\"\nversion = \"1.0.0\"\ndescription = \"x\"\n",
        )
        .unwrap();
        // Incompressible bytes, so the packed size is real.
        let noise = ggen_test_support::Rng::new(7).bytes(64 * 1024);
        std::fs::write(dir.path().join("blob.bin"), &noise).unwrap();

        let fits = prepare_with_limit(dir.path(), 1024 * 1024).unwrap();
        assert!(fits.archive.len() > 64 * 1024);
        let err = prepare_with_limit(dir.path(), 32 * 1024)
            .unwrap_err()
            .to_string();
        assert!(err.contains("over the limit of 32768 bytes"), "{err}");
        assert!(err.contains(&fits.archive.len().to_string()), "{err}");
    }
}
