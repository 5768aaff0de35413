//! The shoal crate's one integration-test binary.
//!
//! Every test here starts the real `shoal` binary (`CARGO_BIN_EXE_shoal`) on `127.0.0.1:0` with a
//! temporary data dir and talks to it over real sockets:
//! - `alarms`: alarm schedules across a restart (no missed-tick burst, no tick twice);
//! - `containers`: Python and blackbox actions on a real Docker engine (`SHOAL_TEST_DOCKER_HOST`);
//! - `deployers`: serverless (+ serverless-openwhisk) and a wskdeploy manifest with `apis:`
//!   deployed by aio-lib-runtime (needs `npm ci --prefix host/tests/deployers --ignore-scripts`);
//! - `hosts`: container actions placed on two Docker engines of two architectures
//!   (`SHOAL_TEST_DOCKER_HOST_B`, `SHOAL_TEST_REGISTRY`);
//! - `e2e`: the npm `openwhisk` client suite in `host/tests/e2e` (needs Node.js 20+ and
//!   `npm ci --prefix host/tests/e2e`);
//! - `nodes`: two shoal processes on one PostgreSQL database (a private server per test);
//! - `lifecycle`: environment configuration, graceful shutdown without losing acknowledged
//!   activations, and refusing a public address with the well-known guest key;
//! - `throttle`: per-namespace throttles set with `shoal namespace set-limits` (429s);
//! - `tools`: requests as OpenWhisk's tools send them (versions, dot segments);
//! - `wasm`: WASM actions (WAT and C, built by `fixtures/wasm/build.sh`) over the REST API.

mod alarms;
mod connections;
mod containers;
mod deployers;
mod durability;
mod e2e;
mod fuzz;
mod hosts;
mod isolation;
mod kubernetes;
mod lifecycle;
mod metrics;
mod nodes;
mod retention;
mod support;
mod throttle;
mod tools;
mod wasm;
