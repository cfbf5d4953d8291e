//! The `ggen` binary's tests, one test binary: each module runs the real
//! binary against real stores, servers and files.

mod backup;
mod cli;
mod common;
mod concurrency;
mod crash;
mod deploy;
mod deploy_fleet;
mod docs;
mod endpoints;
#[cfg(feature = "marketplace-v2")]
mod fleet;
mod generate;
mod hostile;
mod publish;
mod remote;
mod storage;
mod topics;
