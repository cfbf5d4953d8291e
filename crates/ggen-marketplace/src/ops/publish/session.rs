//! The publishing operations as callers use them: a [`Marketplace`] method
//! each, the routed backend and the one policy picked here, so the CLI and
//! the server decide nothing.

use std::path::{Path, PathBuf};

use ggen_marketplace_core::BackendKind;
use ggen_marketplace_core::model::Signature;
use ggen_marketplace_core::signing::TrustStore;
use semver::Version;
use serde::Serialize;

use super::{Prepared, PublishPolicy, VerifyReport};
use crate::access::{Owners, Writer};
use crate::config::Operation;
use crate::error::Result;
use crate::marketplace::Marketplace;

/// What a publish did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// The package.
    pub name: String,
    /// The version.
    pub version: Version,
    /// SHA-256 of the archive, lowercase hex.
    pub sha256: String,
    /// Archive size in bytes.
    pub size: u64,
    /// Whether it is signed.
    pub signed: bool,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// What the manifest's reader noticed but did not refuse.
    pub warnings: Vec<String>,
    /// Nothing was written.
    pub dry_run: bool,
    /// The backend that took the write first.
    pub backend_used: BackendKind,
}

impl PublishReport {
    fn of(prepared: &Prepared, dry_run: bool, backend_used: BackendKind) -> Self {
        let r = &prepared.release;
        Self {
            name: r.name.clone(),
            version: r.version.clone(),
            sha256: r.checksum.clone().unwrap_or_default(),
            size: r.size.unwrap_or(prepared.archive.len() as u64),
            signed: r.signature.is_some(),
            key_id: r.signature.as_ref().map(|s| s.key_id.clone()),
            warnings: prepared.manifest.warnings.clone(),
            dry_run,
            backend_used,
        }
    }
}

/// What a yank (or unyank) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YankReport {
    /// The package.
    pub name: String,
    /// The version.
    pub version: Version,
    /// Whether it is yanked now.
    pub yanked: bool,
    /// The backend that took the write first.
    pub backend_used: BackendKind,
}

/// What `sign` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignReport {
    /// The package.
    pub package: String,
    /// The version.
    pub version: Version,
    /// SHA-256 of the archive.
    pub sha256: String,
    /// The signing key's id.
    pub key_id: String,
    /// The archive, its `.sig` and its `.statement`.
    pub files: Vec<PathBuf>,
}

/// Packs and signs the package at `package` with the private key `key`, and
/// writes the archive, the raw signature and the signed statement into `out`
/// (so OpenSSL can check them alone).
pub fn sign_dir(package: &Path, key: &Path, out: &Path) -> Result<SignReport> {
    let mut prepared = super::prepare(package)?;
    super::sign(&mut prepared, key)?;
    std::fs::create_dir_all(out)
        .map_err(|e| ggen_marketplace_core::MarketplaceError::io(out, e))?;
    let files = super::write_signed_files(&prepared, out)?;
    let r = &prepared.release;
    Ok(SignReport {
        package: r.name.clone(),
        version: r.version.clone(),
        sha256: r.checksum.clone().unwrap_or_default(),
        key_id: r
            .signature
            .as_ref()
            .map(|s| s.key_id.clone())
            .unwrap_or_default(),
        files,
    })
}

impl Marketplace {
    /// The rules a publish by `writer` is held to here: the signing policy of
    /// the config, and this registry's owners (none in remote mode: the server
    /// applies its own).
    pub fn publish_policy(&self, writer: Writer) -> PublishPolicy {
        PublishPolicy {
            signing_required: self.settings.signing_required.value,
            writer,
            owners: self
                .remote_url()
                .is_none()
                .then(|| Owners::new(&self.paths.registry)),
        }
    }

    /// Publishes the package directory (or manifest) at `path`, signed with
    /// `key` if given, as this registry's operator (or, in remote mode,
    /// through the server, which applies its own policy).
    pub fn publish_dir(
        &self,
        path: &Path,
        key: Option<&Path>,
        dry_run: bool,
    ) -> Result<PublishReport> {
        let mut prepared = super::prepare(path)?;
        if let Some(k) = key {
            super::sign(&mut prepared, k)?;
        }
        let backend = self.backend_for(Operation::Publish)?;
        super::publish(
            backend.as_ref(),
            &prepared,
            &self.publish_policy(Writer::Operator),
            dry_run,
        )?;
        Ok(PublishReport::of(&prepared, dry_run, backend.last_used()))
    }

    /// Publishes an uploaded archive (the registry server's path): metadata
    /// from the manifest inside it, `writer` a token's owner, routed for the
    /// A/B `subject`.
    pub fn publish_upload(
        &self,
        archive: Vec<u8>,
        signature: Option<Signature>,
        writer: Writer,
        subject: &str,
    ) -> Result<PublishReport> {
        let prepared = super::prepare_upload(archive, signature)?;
        let backend = self.backend_for_subject(Operation::Publish, subject)?;
        super::publish(
            backend.as_ref(),
            &prepared,
            &self.publish_policy(writer),
            false,
        )?;
        tracing::info!(package = %prepared.release.id(), "published");
        Ok(PublishReport::of(&prepared, false, backend.last_used()))
    }

    /// Yanks (or unyanks) `name@version`, if `writer` may.
    pub fn yank_version(
        &self,
        name: &str,
        version: &Version,
        yanked: bool,
        writer: &Writer,
        subject: &str,
    ) -> Result<YankReport> {
        ggen_marketplace_core::name::validate_name(name)?;
        writer.may(crate::access::Scope::Yank, name)?;
        if self.remote_url().is_none() {
            crate::access::authorize_yank(&Owners::new(&self.paths.registry), writer, name)?;
        }
        let backend = self.backend_for_subject(Operation::Publish, subject)?;
        backend.yank(name, version, yanked)?;
        Ok(YankReport {
            name: name.to_string(),
            version: version.clone(),
            yanked,
            backend_used: backend.last_used(),
        })
    }

    /// Checks a published version (the latest when `version` is `None`):
    /// checksum, signature, and whether this user trusts its key for it.
    pub fn verify_published(
        &self,
        name: &str,
        version: Option<&Version>,
    ) -> Result<(VerifyReport, BackendKind)> {
        ggen_marketplace_core::name::validate_name(name)?;
        let backend = self.backend_for(Operation::Info)?;
        let trust = TrustStore::open(self.paths.trust_file())?;
        let report = super::verify::verify(backend.as_ref(), &trust, name, version)?;
        Ok((report, backend.last_used()))
    }
}
