//! The facade's integration tests, one binary: backups and restores on real
//! registries, the circuit breaker against a real failing endpoint, and the
//! V1 -> V2 -> V1 identity.

mod backup;
mod breaker;
mod lossless;
