//! The shared language of ggen marketplace.
//!
//! Everything every backend and front end must agree on lives here: the unified
//! package model, the [`MarketplaceBackend`] trait, errors, manifest formats,
//! checksums, safe archives and atomic file writes. This crate knows no backend.
#![warn(missing_docs)]

pub mod archive;
pub mod backend;
pub mod blobs;
pub mod checksum;
pub mod endpoint;
pub mod error;
pub mod fsutil;
pub mod manifest;
pub mod model;
pub mod name;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod ranking;
pub mod resolve;
pub mod search;
pub mod signing;
pub mod topics;

pub use backend::{ArchiveStream, BackendKind, BackendMetadata, Capabilities, MarketplaceBackend};
pub use error::{Hint, MarketplaceError, Result};
pub use manifest::Manifest;
pub use model::{Dependency, Package, PackageSummary, PackageVersion, Signature};
pub use search::{SearchHit, SearchQuery, SearchResults, SortOrder};
