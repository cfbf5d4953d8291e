//! The install operations as callers use them: a [`Marketplace`] method each,
//! which builds everything an install needs (the routed backend, the journal
//! and download-cache directories, the lockfile's `source`, the signature
//! policy) so the CLI and tests decide nothing but what to install.

use std::path::Path;

use ggen_marketplace_core::signing::TrustStore;
use ggen_marketplace_core::{MarketplaceError, PackageVersion};
use semver::VersionReq;

use super::{Event, InstallContext, InstallOptions, InstallReport, Verifier};
use crate::config::Operation;
use crate::error::Result;
use crate::marketplace::Marketplace;
use crate::ops::lockfile::Lockfile;

impl Marketplace {
    /// Installs `specs` (plus what the target already has) into `target`.
    pub fn install(
        &self,
        specs: &[(String, VersionReq)],
        target: &Path,
        opts: &InstallOptions,
        on_event: &dyn Fn(Event<'_>),
    ) -> Result<InstallReport> {
        self.with_install_context(opts.verify_signatures, on_event, |ctx| {
            super::install(ctx, specs, target, opts)
        })
    }

    /// Re-resolves the target's requested packages within their
    /// requirements, ignoring the lock for `only` (or for all when empty).
    pub fn update(
        &self,
        only: &[String],
        target: &Path,
        opts: &InstallOptions,
        on_event: &dyn Fn(Event<'_>),
    ) -> Result<InstallReport> {
        self.with_install_context(opts.verify_signatures, on_event, |ctx| {
            super::update(ctx, only, target, opts)
        })
    }

    /// Removes a requested package (and dependencies nothing else needs).
    pub fn remove(
        &self,
        name: &str,
        target: &Path,
        opts: &InstallOptions,
        on_event: &dyn Fn(Event<'_>),
    ) -> Result<InstallReport> {
        // Removing downloads nothing, so there is no signature to check.
        self.with_install_context(false, on_event, |ctx| {
            super::remove(ctx, name, target, opts)
        })
    }

    /// What `target`'s `ggen.lock` says is installed (empty without one).
    pub fn installed(&self, target: &Path) -> Result<Lockfile> {
        Lockfile::read(target)
    }

    fn with_install_context(
        &self,
        verify: bool,
        on_event: &dyn Fn(Event<'_>),
        run: impl FnOnce(&InstallContext<'_>) -> Result<InstallReport>,
    ) -> Result<InstallReport> {
        let (mut report, warnings) = self.with_fetch_context(verify, on_event, run)?;
        report.warnings.extend(warnings);
        Ok(report)
    }

    /// Runs `run` with what fetching verified archives needs (the routed
    /// backend, download cache, signature policy), for installs and for
    /// generating projects alike; returns its result and the warnings the
    /// policy raised.
    pub(crate) fn with_fetch_context<T>(
        &self,
        verify: bool,
        on_event: &dyn Fn(Event<'_>),
        run: impl FnOnce(&InstallContext<'_>) -> Result<T>,
    ) -> Result<(T, Vec<String>)> {
        let backend = self.backend_for(Operation::Install)?;
        let verify = verify || self.settings.require_signatures.value;
        let trust = verify
            .then(|| TrustStore::open(self.paths.trust_file()))
            .transpose()?;
        let verifier = |release: &PackageVersion,
                        archive: &[u8]|
         -> std::result::Result<Option<String>, MarketplaceError> {
            match &trust {
                Some(t) => crate::ops::publish::require_trusted_signature(t, release, archive),
                None => Ok(None),
            }
        };
        let mut warnings = Vec::new();
        if verify
            && let Some(url) = self.remote_url()
            && crate::remote::is_cleartext_to_network(url)
        {
            warnings.push(format!(
                "{url} is plain http to another machine: signatures are still checked end to end, but anyone on the path can see what you install and withhold updates; prefer https://"
            ));
        }
        let source = match self.remote_url() {
            Some(url) => format!("registry+{url}"),
            None => format!("registry+file://{}", self.paths.registry.display()),
        };
        let ctx = InstallContext {
            backend: backend.as_ref(),
            journal_dir: self.paths.transactions_dir(),
            source,
            cache_dir: self.paths.cache_dir(),
            verifier: verify.then_some(&verifier as Verifier<'_>),
            on_event,
        };
        Ok((run(&ctx)?, warnings))
    }
}
