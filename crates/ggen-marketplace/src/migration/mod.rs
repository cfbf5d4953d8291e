//! V1 -> V2 migration and its verification: every V1 package installable
//! through V2 with no re-publishing.
//!
//! Migration copies in batches through V2's idempotent bulk import, so a run
//! killed half-way is finished by the next one. Verification compares every
//! package under the unified model, field by field.
//!
//! The reports and the `Marketplace` methods exist in every build, so a
//! single-backend build answers "not compiled" from here and its front ends
//! carry no feature gates; the work itself is in `copy`.

#[cfg(feature = "marketplace-parallel")]
pub(crate) mod copy;

use serde::Serialize;

use crate::error::Result;

/// What a migration did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// Packages in V1.
    pub packages: usize,
    /// Versions in V1.
    pub versions: usize,
    /// Versions copied into V2 (or, on a dry run, that would be).
    pub copied: usize,
    /// Versions V2 already held, equal to V1's.
    pub already_present: usize,
    /// Versions V2 held with other metadata than V1 (a yank that missed V2, say):
    /// replaced by V1's copy, V1 being the source of a migration.
    pub repaired: usize,
    /// Versions whose archive V1 does not have (the metadata is still copied).
    pub without_archive: usize,
}

/// What `verify-migration` found: V1 and V2 compared package by package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Packages in either backend.
    pub packages: usize,
    /// One line per difference: `name@version: what differs`. Empty: equal.
    pub differences: Vec<String>,
}

impl crate::Marketplace {
    /// Copies every V1 version V2 lacks into V2, first finishing dual writes
    /// a killed process left half done.
    pub fn migrate(
        &self,
        dry_run: bool,
        progress: &dyn Fn(usize, usize),
    ) -> Result<MigrationReport> {
        self.require_local("migrate")?;
        #[cfg(feature = "marketplace-parallel")]
        {
            if !dry_run {
                self.recover_interrupted_writes()?;
            }
            copy::migrate(&*self.v1()?, &*self.v2()?, dry_run, progress)
        }
        #[cfg(not(feature = "marketplace-parallel"))]
        {
            let _ = (dry_run, progress);
            Err(needs_both("migrate"))
        }
    }

    /// Compares every package of V1 and V2.
    pub fn verify_migration(&self) -> Result<VerifyReport> {
        self.require_local("verify-migration")?;
        #[cfg(feature = "marketplace-parallel")]
        {
            self.recover_interrupted_writes()?;
            copy::verify(&*self.v1()?, &*self.v2()?)
        }
        #[cfg(not(feature = "marketplace-parallel"))]
        Err(needs_both("verify-migration"))
    }

    /// Rebuilds V2 from V1: a store whose directory was removed is made anew,
    /// dual writes a crash left half done are completed (so the clear loses
    /// none), V2 is cleared, and everything is migrated again.
    pub fn rebuild_db(&self, progress: &dyn Fn(usize, usize)) -> Result<MigrationReport> {
        self.require_local("rebuild-db")?;
        #[cfg(feature = "marketplace-parallel")]
        {
            let v2 = self.v2_for_rebuild()?;
            self.recover_interrupted_writes()?;
            v2.clear()?;
            copy::migrate(&*self.v1()?, &v2, false, progress)
        }
        #[cfg(not(feature = "marketplace-parallel"))]
        {
            let _ = progress;
            Err(needs_both("rebuild-db"))
        }
    }
}

/// The error of a command that needs both backends in a build with one.
pub(crate) fn needs_both(command: &str) -> crate::Error {
    crate::Error::NotCompiled {
        backend: format!("v1 and v2 (needed by `{command}`)"),
        feature: "marketplace-parallel".into(),
    }
}
