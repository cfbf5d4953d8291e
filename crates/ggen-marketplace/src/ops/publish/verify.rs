//! The consumer side of signing: checking a published package (`verify`), and
//! the install-time check behind `--verify-signature`.

use chrono::Utc;
use ggen_marketplace_core::signing::{TrustStore, VerifiedStatement};
use ggen_marketplace_core::{MarketplaceBackend, MarketplaceError, PackageVersion};
use semver::Version;
use serde::Serialize;

use crate::error::Result;

/// What `ggen marketplace verify` found about one published version.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The package.
    pub name: String,
    /// The version checked.
    pub version: Version,
    /// The archive's SHA-256 matches the recorded checksum.
    pub checksum_ok: bool,
    /// The archive's SHA-256, hex.
    pub sha256: Option<String>,
    /// The version carries a signature.
    pub signed: bool,
    /// The signature verifies over the signed statement.
    pub signature_ok: bool,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// What the trust store says of that key (`trusted`, `untrusted`, ...).
    pub trust: Option<String>,
    /// The signed statement, as text.
    pub statement: Option<String>,
    /// Why verification failed, if it did.
    pub error: Option<String>,
}

impl VerifyReport {
    /// Checksum matches and a trusted key signed exactly this package.
    pub fn is_ok(&self) -> bool {
        self.checksum_ok && self.signature_ok && self.trust.as_deref() == Some("trusted")
    }
}

/// Checks a published version: archive checksum, signature and trust.
pub(crate) fn verify(
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
        Some(sig) => {
            match crate::cache::signatures::verify(sig, name, &release.version, &archive) {
                Ok(VerifiedStatement { public_key, .. }) => {
                    report.signature_ok = true;
                    report.trust =
                        Some(trust.status_for(&public_key, name, Utc::now()).to_string());
                }
                Err(e) => report.error = Some(e.to_string()),
            }
        }
    }
    Ok(report)
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
    let verified = crate::cache::signatures::verify(sig, &release.name, &release.version, archive)
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
