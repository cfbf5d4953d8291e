//! Core's integration tests, one binary: the resolver against synthetic
//! registries, and manifests an attacker wrote.

mod manifest_hostile;
mod resolve;
