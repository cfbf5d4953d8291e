//! The ggen marketplace facade: one entry point, [`Marketplace`], over the V1
//! and V2 backends, for the CLI and the registry server alike.
//!
//! Cargo features decide which backends exist (`marketplace-v1`,
//! `marketplace-v2`, `marketplace-parallel` = both plus the dual adapter);
//! the configuration decides, per operation, which one answers. Every policy
//! (routing, signing, ownership, which commands are local-only) is decided
//! here, so the front ends cannot disagree.
//!
//! | folder | concern |
//! |---|---|
//! | `config` | settings from file, environment and flags; where state lives |
//! | `routing` | strategies, the dual adapter, A/B buckets, compare log, write journal, breakers |
//! | `cache` | the search, package, SPARQL and signature tiers |
//! | `ops` | install, generate, lockfile, publish, verify, validate, backup, seeding, status |
//! | `migration` | V1 to V2, and its verification |
//! | `access` | tokens, owners of names, signing keys per package |
//! | `observe` | metrics and instrumentation |
//! | `remote` | the client of a registry server |
#![warn(missing_docs)]

#[cfg(not(any(feature = "marketplace-v1", feature = "marketplace-v2")))]
compile_error!(
    "ggen-marketplace needs a backend: enable one of the features `marketplace-v1`, `marketplace-v2` or `marketplace-parallel` (the default)"
);

mod access;
mod cache;
mod config;
mod error;
mod marketplace;
mod migration;
mod observe;
mod ops;
mod remote;
mod routing;

pub use ggen_marketplace_core as core;
#[cfg(feature = "marketplace-v1")]
pub use ggen_marketplace_v1 as v1;
#[cfg(feature = "marketplace-v2")]
pub use ggen_marketplace_v2 as v2;
pub use ggen_template as template;

pub use access::{
    AuthError, OWNERS_FILE, Owners, Ownership, RevocationMerge, Scope, TOKENS_FILE, TokenRecord,
    TokenStore, Writer, authorize_yank, parse_expiry, validate_owner,
};
pub use cache::CacheStatus;
pub use config::{
    BackendStrategy, BreakerSettings, CacheSizes, Compiled, ConfigFile, EndpointAuth,
    EndpointOptions, EndpointProtocol, Flags, Operation, Paths, RetrySettings, Settings, Source,
    Sourced, derive_update_url, env, parse_duration, read_file,
};
pub use error::{Error, Hint, Result};
pub use marketplace::Marketplace;
pub use migration::{MigrationReport, VerifyReport as MigrationVerifyReport};
pub use observe::metrics;
pub use ops::backup::{BackupManifest, Counts, FileEntry, RestoreReport, inspect_backup};
pub use ops::catalogue::SeedReport;
pub use ops::generate::{
    FileChange, GenerateOptions, GenerateReport, GeneratedFile, ProjectUpdateOptions,
    ProjectUpdateReport,
};
pub use ops::graph::GraphFormat;
pub use ops::install::{Action, Change, Event, InstallOptions, InstallReport};
pub use ops::lockfile::{LOCKFILE, LockedPackage, Lockfile};
pub use ops::publish::{
    MAX_ARCHIVE_BYTES, Prepared, PublishPolicy, PublishReport, RotationReport, SignReport,
    VerifyReport, YankReport, sign_dir,
};
pub use ops::rebuild::{RebuildReport, Rebuilt};
pub use ops::status::{BackendStatus, EndpointStatus, StatusReport};
pub use ops::topics::{TopicRow, TopicsImported, TopicsReport};
pub use ops::validate::{ValidateReport, Validation, validate_packages};
pub use remote::{RemoteBackend, is_cleartext_to_network};
pub use routing::breaker::CircuitState;
pub use routing::compare::CompareRecord;
pub use routing::report::{AbReport, OperationSummary};
