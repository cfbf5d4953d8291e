//! Publishing: validate a package directory, pack it, checksum it, optionally sign
//! it, and write it through the routed backend (both backends during migration,
//! see [`crate::dual`]). Also the consumer side: verifying a published package.

use std::path::{Path, PathBuf};

use chrono::Utc;
use ggen_marketplace_core::archive::pack_dir;
use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::model::Signature;
use ggen_marketplace_core::signing::{self, TrustStatus, TrustStore, VerifiedStatement};
use ggen_marketplace_core::{Manifest, MarketplaceBackend, MarketplaceError, PackageVersion};
use semver::Version;
use serde::Serialize;

use crate::access::{self, Owners, Writer};
use crate::error::{Error, Result};

/// Archives larger than this are refused (registries are not file shares).
pub const MAX_ARCHIVE_BYTES: usize = 50 * 1024 * 1024;

/// A package ready to publish.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub manifest: Manifest,
    pub release: PackageVersion,
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
    release.published_at = Some(Utc::now());
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
    release.published_at = Some(Utc::now());
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
    if policy.signing_required && prepared.release.signature.is_none() {
        return Err(Error::Setup(
            "this registry requires signed packages (publishing.signing.required); publish with --sign --key KEY".into(),
        ));
    }
    if let Some(sig) = &prepared.release.signature {
        // Never publish a signature that does not verify.
        crate::signature_cache::verify(
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

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub name: String,
    pub version: Version,
    pub checksum_ok: bool,
    pub sha256: Option<String>,
    pub signed: bool,
    pub signature_ok: bool,
    pub key_id: Option<String>,
    pub trust: Option<String>,
    pub statement: Option<String>,
    pub error: Option<String>,
}

impl VerifyReport {
    /// Checksum matches and a trusted key signed exactly this package.
    pub fn is_ok(&self) -> bool {
        self.checksum_ok && self.signature_ok && self.trust.as_deref() == Some("trusted")
    }
}

/// Checks a published version: archive checksum, signature and trust.
pub fn verify(
    backend: &dyn MarketplaceBackend,
    trust: &TrustStore,
    name: &str,
    version: Option<&Version>,
) -> Result<VerifyReport> {
    let pkg = backend.package(name)?;
    let release = match version {
        Some(v) => pkg
            .version(v)
            .ok_or_else(|| MarketplaceError::VersionNotFound {
                name: name.into(),
                requirement: format!("={v}"),
            })?,
        None => pkg.latest(),
    };
    let mut report = VerifyReport {
        name: name.into(),
        version: release.version.clone(),
        checksum_ok: false,
        sha256: release.checksum.clone(),
        signed: release.signature.is_some(),
        signature_ok: false,
        key_id: release.signature.as_ref().map(|s| s.key_id.clone()),
        trust: None,
        statement: release.signature.as_ref().map(|s| s.statement.clone()),
        error: None,
    };
    let archive = match backend.fetch_archive(name, &release.version) {
        Ok(a) => a,
        Err(e) => {
            report.error = Some(e.to_string());
            return Ok(report);
        }
    };
    report.checksum_ok = true; // fetch_archive checks the sha256
    match &release.signature {
        None => report.error = Some("the package is not signed".into()),
        Some(sig) => match crate::signature_cache::verify(sig, name, &release.version, &archive) {
            Ok(VerifiedStatement { public_key, .. }) => {
                report.signature_ok = true;
                report.trust = Some(trust_label(trust.status_for(&public_key, name, Utc::now())));
            }
            Err(e) => report.error = Some(e.to_string()),
        },
    }
    Ok(report)
}

pub fn trust_label(status: TrustStatus) -> String {
    status.to_string()
}

/// The install-time check behind `--verify-signature`: a valid signature over this
/// exact archive, from a key the trust store trusts now. Returns the key id.
pub fn require_trusted_signature(
    trust: &TrustStore,
    release: &PackageVersion,
    archive: &[u8],
) -> std::result::Result<Option<String>, MarketplaceError> {
    let sig = release.signature.as_ref().ok_or_else(|| MarketplaceError::Other(format!(
        "`{}` is not signed, and signatures are required (--verify-signature or install.require_signatures); nothing was installed",
        release.id()
    )))?;
    let verified = crate::signature_cache::verify(sig, &release.name, &release.version, archive)
        .map_err(|e| {
            MarketplaceError::Other(format!("`{}`: {e}; nothing was installed", release.id()))
        })?;
    // The whole key, not its 64-bit id, and only for the packages it is trusted for.
    match trust.status_for(&verified.public_key, &release.name, Utc::now()) {
        s if s.is_trusted() => Ok(Some(verified.key_id)),
        s => Err(MarketplaceError::Other(format!(
            "`{}` is signed by key {}, which is {s}; add it with `ggen marketplace trust add KEYFILE` if you trust it. Nothing was installed",
            release.id(),
            verified.key_id
        ))),
    }
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
        // Incompressible bytes (an xorshift stream), so the packed size is real.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
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
