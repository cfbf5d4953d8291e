//! The real server on a loopback port, driven over HTTP: every route, auth,
//! rate limits and bad input. One test binary; `support` holds the server
//! fixture and HTTP helpers.

mod limits;
mod openapi;
mod ops;
mod read;
mod support;
mod write;
