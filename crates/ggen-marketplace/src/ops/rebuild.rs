//! `rebuild-index`: the derived search indexes rebuilt from the stores.

use std::time::Instant;

use ggen_marketplace_core::BackendKind;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::marketplace::Marketplace;

/// What `rebuild-index` did, per backend: documents indexed and milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// V1's tantivy index, when rebuilt.
    pub v1: Option<Rebuilt>,
    /// V2's term index, when rebuilt.
    pub v2: Option<Rebuilt>,
}

/// One index rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rebuilt {
    /// Packages indexed.
    pub documents: usize,
    /// How long it took.
    pub ms: u64,
}

impl Marketplace {
    /// Rebuilds the search index of `only` that backend, or of every compiled one.
    pub fn rebuild_index(&self, only: Option<BackendKind>) -> Result<RebuildReport> {
        self.require_local("rebuild-index")?;
        let wanted = |k: BackendKind| only.is_none_or(|o| o == k);
        let mut report = RebuildReport::default();
        let timed = |f: &dyn Fn() -> Result<usize>| -> Result<Rebuilt> {
            let started = Instant::now();
            let documents = f()?;
            Ok(Rebuilt {
                documents,
                ms: started.elapsed().as_millis() as u64,
            })
        };
        #[cfg(feature = "marketplace-v1")]
        if wanted(BackendKind::V1) {
            report.v1 = Some(timed(&|| Ok(self.v1()?.rebuild_index()? as usize))?);
        }
        #[cfg(feature = "marketplace-v2")]
        if wanted(BackendKind::V2) {
            report.v2 = Some(timed(&|| Ok(self.v2()?.rebuild_index()?))?);
        }
        if report.v1.is_none() && report.v2.is_none() {
            return Err(Error::NotCompiled {
                backend: only.map_or("any".into(), |k| k.to_string()),
                feature: only.map_or("marketplace-parallel".into(), |k| {
                    format!("marketplace-{k}")
                }),
            });
        }
        Ok(report)
    }
}
