//! # shoal: the host
//!
//! Composes the platform: typed [`config`], the OpenWhisk entity model ([`entity`],
//! [`action`]), Basic-auth identities ([`auth`]), the [`controller`] that routes each
//! invocation to an executor and records its activation ([`activation`]), and the REST API
//! ([`api`]) served over HTTP/1.1 by [`server`]. The store is the `shoal-store` crate; the
//! executors come from the isolate crates, named only in [`startup`], which composes the [`app`].

#![warn(missing_docs, unreachable_pub)]

pub use shoal_model::{entity, entity_path, messages, rule};

pub mod action;
pub mod activation;
pub mod alarms;
pub mod api;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod containers;
pub mod controller;
pub mod dedicated;
pub mod egress;
pub mod error;
pub mod gateway;
pub mod js_engines;
pub mod memory;
pub mod metrics;
pub mod package;
#[cfg(test)]
mod properties;
pub mod put;
pub mod sequence;
pub mod server;
pub mod startup;
pub mod throttle;
pub mod trigger;
pub mod triggers;
