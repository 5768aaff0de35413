//! shoal's platform core: everything that decides what an OpenWhisk request does, with no
//! HTTP, no concrete store and no concrete executor.
//!
//! # How this crate works
//!
//! The core is written against three contracts from below: the entity model
//! (`shoal-model`, re-exported here as [`entity`], [`entity_path`], [`messages`], [`put`],
//! [`rule`]),
//! the store's traits (`shoal-store`, held as `Arc<dyn Store>`) and the execution-domain SPI
//! (`shoal-router`'s `Executor` and routing table). Above it, the host's API turns HTTP
//! requests into calls here and [`WhiskError`]s into OpenWhisk's error envelope.
//!
//! - [`controller`] runs activations: it resolves an action ([`package`] for bindings),
//!   admits it against the namespace's [`throttle`]s, sends the invocation to the executor of
//!   its kind, runs [`sequence`]s and conductor compositions component by component, builds
//!   the [`activation`] record and appends it to the log, durably when someone waits on it.
//! - [`auth`] turns Basic credentials into identities, cached until the store announces a
//!   change to their namespace.
//! - [`triggers`] is the trigger engine: a fire runs every active rule's action through the
//!   controller and records the trigger activation. [`feeds`] are the services that fire
//!   triggers from outside events, behind [`feeds::FeedProvider`]; [`alarms`]
//!   (`/whisk.system/alarms`) is the first, firing through [`triggers::FeedFirer`].
//! - [`action`] derives the form of an action the controller invokes from the stored one
//!   (the model's [`put`] builds what a PUT stores); [`catalog`] installs `whisk.system`.
//! - [`memory`] is the isolates' shared memory budget, wrapping their executors.
//! - [`retention`] is the activation log's upkeep: how long it keeps records; [`stored`] is
//!   what of each record it stores, within its namespace's bytes per minute.
//! - [`observer`] is what the core reports (activations, throttles, commit waits) to whoever
//!   counts it.

#![warn(missing_docs, unreachable_pub)]

pub use shoal_model::{WhiskError, entity, entity_path, messages, put, rule};

pub mod action;
pub mod activation;
pub mod alarms;
pub mod auth;
pub mod catalog;
pub mod coherent;
pub mod controller;
pub mod feeds;
pub mod memory;
pub mod observer;
pub mod package;
#[cfg(test)]
mod properties;
pub mod retention;
pub mod sequence;
pub mod stored;
pub mod throttle;
pub mod triggers;
