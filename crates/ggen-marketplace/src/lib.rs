//! The ggen marketplace facade: one entry point over the V1 and V2 backends.
//!
//! Cargo features decide which backends exist (`marketplace-v1`, `marketplace-v2`,
//! `marketplace-parallel` = both plus the [`dual::DualBackendAdapter`]); the
//! configuration decides, per operation, which one answers.

#[cfg(not(any(feature = "marketplace-v1", feature = "marketplace-v2")))]
compile_error!(
    "ggen-marketplace needs a backend: enable one of the features `marketplace-v1`, `marketplace-v2` or `marketplace-parallel` (the default)"
);

pub mod access;
pub mod backup;
pub mod bucket;
pub mod cache;
pub mod catalogue;
pub mod config;
#[cfg(feature = "marketplace-parallel")]
pub mod dual;
pub mod error;
pub mod home;
pub mod install;
pub mod instrument;
#[cfg(feature = "marketplace-parallel")]
pub mod journal;
pub mod lockfile;
pub mod marketplace;
pub mod metrics;
#[cfg(feature = "marketplace-parallel")]
pub mod migrate;
pub mod package_cache;
pub mod publish;
pub mod remote;
#[cfg(feature = "marketplace-parallel")]
pub mod report;
pub mod resilience;
pub mod signature_cache;
#[cfg(feature = "marketplace-v2")]
pub mod sparql;

pub use config::{BackendStrategy, Operation, Settings};
pub use error::{Error, Result};
pub use ggen_marketplace_core as core;
#[cfg(feature = "marketplace-v1")]
pub use ggen_marketplace_v1 as v1;
#[cfg(feature = "marketplace-v2")]
pub use ggen_marketplace_v2 as v2;
pub use home::Paths;
pub use marketplace::Marketplace;
