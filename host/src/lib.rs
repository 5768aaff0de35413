//! # shoal: the host
//!
//! Serves the platform: typed [`config`], the REST API ([`api`]) over HTTP/1.1 ([`server`]),
//! the API [`gateway`], Prometheus [`metrics`] and the actions' [`egress`]. What requests do
//! is decided by `shoal-core` (the controller, auth, triggers, alarms, …), re-exported here
//! under its module names together with the entity model; the store is `shoal-store`. The
//! executors come from the isolate and container crates, named only in [`startup`], which
//! composes the [`app`].

#![warn(missing_docs, unreachable_pub)]

pub use shoal_api::rest as api;
pub use shoal_api::{app, egress, error, gateway, metrics, server, settings};
pub use shoal_core::{
    action, activation, alarms, auth, catalog, controller, entity, entity_path, feeds, memory,
    messages, observer, package, put, retention, rule, sequence, stored, throttle, triggers,
};

pub mod config;
pub mod containers;
pub mod dedicated;
pub mod js_engines;
pub mod startup;
