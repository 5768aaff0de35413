//! # shoal-benches: measuring shoal
//!
//! Criterion benches live in `benches/` (run with `cargo bench -p shoal-benches`). The load
//! harness (`shoal-load`, see `benches/README.md`) starts the real `shoal` binary, drives it
//! over HTTP with `wrk`, and measures throughput, latency and resident memory. This library
//! holds what both need: a minimal HTTP/1.1 client for set-up requests and a handle on a
//! running `shoal` process.

pub mod cluster;
pub mod floor;
pub mod http;
pub mod sample;
pub mod server;
pub mod wrk;
