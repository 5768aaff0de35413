//! The OpenWhisk entity model as shoal stores and returns it: the first of the host's layers,
//! below the store, the controller and the API.
//!
//! # How this crate works
//!
//! Every module is pure logic over typed documents, `serde_json` values and plain types, with
//! no I/O, no HTTP and no store:
//!
//! - [`activation`]: activation records, their responses and OpenWhisk's status texts;
//! - [`documents`]: the typed actions, packages, triggers and rules, as the store keeps them;
//! - [`entity`]: the rules for names, semantic versions, parameter and annotation lists and
//!   action limits;
//! - [`entity_path`]: the one parser of the paths by which entities name each other;
//! - [`put`]: the PUT merge rules: what a PUT body makes of an action, package, trigger or
//!   rule;
//! - [`rule`]: a rule's fully qualified names and status;
//! - [`messages`]: OpenWhisk's texts, which the API sends as they are;
//! - [`error`]: the one error everything below the API returns ([`WhiskError`], by cause).
//!
//! The core and the host re-export each module under its own name, so callers write
//! `shoal::entity` as before.

#![warn(missing_docs, unreachable_pub)]

pub mod activation;
pub mod documents;
pub mod entity;
pub mod entity_path;
pub mod error;
pub mod messages;
pub mod put;
pub mod rule;

pub use error::WhiskError;
