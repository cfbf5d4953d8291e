//! Intentionally empty: this crate declares build-dependencies only to align
//! cargo's feature unification with the workspace build (see Cargo.toml).
fn main() {}
