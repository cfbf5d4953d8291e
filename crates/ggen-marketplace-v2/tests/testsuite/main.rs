//! V2's integration tests, one binary: the behaviour every store must show
//! (`common`), run on memory, RocksDB, a real `oxigraph serve` and a real Virtuoso, plus what
//! each store adds of its own.

mod common;
mod conformance;
mod embedded;
mod feed;
mod memory;
mod remote;
mod virtuoso;
mod writers;
