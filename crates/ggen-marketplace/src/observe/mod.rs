//! What the facade tells operators: Prometheus metrics (their names are a
//! contract with the dashboards in `deploy/`) and the instrumentation that
//! counts and times every call reaching a backend.

pub(crate) mod instrument;
pub mod metrics;
