//! Test fixtures shared by every crate's tests and benchmarks (a dev-only
//! crate, after cargo's `cargo-test-support`).
//!
//! | item | for |
//! |---|---|
//! | [`Pkg`] | a package version with a real archive, to publish, upload or write out |
//! | [`Rng`] | the one deterministic random generator |
//! | [`corpus`] | generated catalogues of any size (benchmarks, scale tests) |
//! | [`synthetic_registry`] | generated dependency graphs (resolver tests) |
//! | [`strategies`] | proptest generators of packages |
//! | [`OxigraphServer`] | a real `oxigraph serve` on loopback |
//! | [`VirtuosoServer`] | a real OpenLink Virtuoso on loopback |
//! | [`garage`] | a real Garage (S3-compatible object store) on loopback |
//! | [`EtcdServer`] | a real etcd on loopback (a fleet's writers' lock) |
//! | [`conformance`] | what every backend must do, run against each of them |
//! | [`succeeded`] | a command's output, or the test fails with its stderr |

pub mod conformance;
pub mod corpus;
mod etcd;
pub mod garage;
mod oxigraph;
mod package;
mod process;
mod registry;
mod rng;
pub mod strategies;
mod virtuoso;

pub use etcd::{EtcdServer, available as etcd_available};
pub use garage::{GarageServer, available as garage_available};
pub use oxigraph::{OxigraphServer, available as oxigraph_available, free_port};
pub use package::Pkg;
pub use process::succeeded;
pub use registry::synthetic_registry;
pub use rng::Rng;
pub use virtuoso::{VirtuosoServer, available as virtuoso_available};
