//! Which backend answers: the strategy per operation (v1, v2 with fallback,
//! sticky A/B split, compare), the dual adapter that carries it out, and what
//! keeps a failing backend from taking the other down.
//!
//! | module | holds |
//! |---|---|
//! | `dual` | the adapter: fallback, compare mode, writes to both |
//! | `bucket` | sticky A/B buckets |
//! | `compare` | the compare log |
//! | `report` | `ab-report`, a summary of the compare log |
//! | `write_journal` | dual writes that survive a kill between the backends |
//! | `breaker` | circuit breakers and retries around each backend |

pub(crate) mod breaker;
pub(crate) mod bucket;
// Compiled in every build: a single-backend build's `ab-report` answers
// "not compiled" with the same report type.
#[cfg_attr(not(feature = "marketplace-parallel"), allow(dead_code))]
pub(crate) mod compare;
#[cfg(feature = "marketplace-parallel")]
pub(crate) mod dual;
#[cfg_attr(not(feature = "marketplace-parallel"), allow(dead_code))]
pub(crate) mod report;
#[cfg(feature = "marketplace-parallel")]
pub(crate) mod write_journal;

use std::sync::Arc;

use ggen_marketplace_core::{BackendKind, MarketplaceBackend};

use crate::config::{BackendStrategy, Operation};
use crate::error::Result;
use crate::marketplace::Marketplace;

impl Marketplace {
    /// The client of the registry server this marketplace is set to use, if any.
    pub(crate) fn remote_client(&self) -> Result<Option<crate::remote::RemoteBackend>> {
        self.remote_client_for(self.subject())
    }

    fn remote_client_for(&self, subject: &str) -> Result<Option<crate::remote::RemoteBackend>> {
        let Some(url) = self.remote_url() else {
            return Ok(None);
        };
        Ok(Some(crate::remote::RemoteBackend::new(
            url,
            self.settings.registry_token.clone(),
            subject.to_string(),
            self.settings.install_timeout,
            self.settings.registry_allow_insecure_http.value,
        )?))
    }

    pub(crate) fn route(
        &self,
        op: Operation,
        subject: &str,
    ) -> Result<Arc<dyn MarketplaceBackend>> {
        if let Some(remote) = self.remote_client_for(subject)? {
            // The server routes between V1 and V2 by its own config; the
            // subject travels along so A/B buckets stay sticky per user.
            return Ok(Arc::new(remote));
        }
        match self.settings.strategy(op) {
            BackendStrategy::V1Only => self.guarded(BackendKind::V1),
            BackendStrategy::V2Only => self.guarded(BackendKind::V2),
            #[cfg(feature = "marketplace-parallel")]
            strategy => Ok(Arc::new(crate::routing::dual::DualBackendAdapter::new(
                self.guarded(BackendKind::V1)?,
                // A V2 that cannot open must not take V1 down with it. V1
                // answers a read instead, so for a read a store another
                // process holds is waited for only briefly; a write to V1
                // alone leaves a gap for `migrate`, so a write waits its turn.
                self.v2_within(if op == Operation::Publish {
                    self.settings.store_wait.alone()
                } else {
                    self.settings.store_wait.with_fallback()
                })
                .map(|v2| self.behind_breaker(BackendKind::V2, v2))
                .unwrap_or_else(|e| {
                    tracing::debug!(error = %e, "v2 could not be opened");
                    Arc::new(crate::routing::dual::Unopened::new(
                        BackendKind::V2,
                        e.to_string(),
                    ))
                }),
                strategy,
                op,
                subject.to_string(),
                &self.settings,
                self.paths.home.clone(),
            ))),
            #[cfg(not(feature = "marketplace-parallel"))]
            strategy => Err(crate::error::Error::Setup(format!(
                "strategy `{strategy}` needs both backends; rebuild with `--features marketplace-parallel` or set `marketplace.backend` to the compiled backend"
            ))),
        }
    }
}
