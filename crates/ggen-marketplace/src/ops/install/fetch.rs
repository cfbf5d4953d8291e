//! Fetching an archive and checking it against the checksum its release
//! records, before anything is staged.

use ggen_marketplace_core::checksum::sha256_hex;
use ggen_marketplace_core::fsutil::atomic_write;
use ggen_marketplace_core::{MarketplaceError, PackageVersion};

use super::{Event, InstallContext};
use crate::error::Result;

/// A release without a checksum cannot be verified, so it is never installed.
pub(super) fn required_checksum(release: &PackageVersion) -> Result<String> {
    release.checksum.clone().ok_or_else(|| {
        MarketplaceError::InvalidArchive {
            reason: format!(
                "`{}` has no checksum in the registry; it cannot be verified",
                release.id()
            ),
        }
        .into()
    })
}

/// The archive of `release`, from the download cache or the backend, with its
/// SHA-256 checked against the registry before anything uses it.
pub(crate) fn fetch_verified(
    ctx: &InstallContext<'_>,
    release: &PackageVersion,
) -> Result<Vec<u8>> {
    let expected = required_checksum(release)?;
    let cached = ctx
        .cache_dir
        .join("archives")
        .join(format!("{expected}.tar.gz"));
    if let Ok(bytes) = std::fs::read(&cached) {
        if sha256_hex(&bytes) == expected {
            (ctx.on_event)(Event::Fetching {
                name: &release.name,
                version: &release.version,
                cached: true,
            });
            return Ok(bytes);
        }
        let _ = std::fs::remove_file(&cached); // corrupt cache entry
    }
    (ctx.on_event)(Event::Fetching {
        name: &release.name,
        version: &release.version,
        cached: false,
    });
    let bytes = ctx.backend.fetch_archive(&release.name, &release.version)?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(MarketplaceError::ChecksumMismatch {
            name: release.name.clone(),
            version: release.version.to_string(),
            expected,
            actual,
        }
        .into());
    }
    if let Err(e) = atomic_write(&cached, &bytes) {
        tracing::warn!(error = %e, "could not cache the download");
    }
    Ok(bytes)
}
