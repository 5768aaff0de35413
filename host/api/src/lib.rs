//! shoal's REST API: what turns HTTP requests into calls on the platform core and answers
//! them as OpenWhisk does.
//!
//! # How this crate works
//!
//! - [`server`] is the one hyper service: it accepts connections within the [`settings`]'
//!   limits, reads each request into a [`rest::Request`] (its transaction id starts a log
//!   span), hands it to [`rest::dispatch`] and writes the reply, or the error envelope.
//! - [`rest`] routes a request by the route table in `rest/routes.rs` (also the source of the
//!   OpenAPI document served at `/api/v1/api-docs`) to the handlers of actions, packages,
//!   triggers, rules, activations, web actions and route management, which call the core
//!   (`shoal-core`) and the store's traits.
//! - [`error`] is the single place a domain failure (`WhiskError`) becomes an HTTP status,
//!   and every failure OpenWhisk's `{error, code}` envelope.
//! - [`gateway`] serves the routes of `wsk api` on web actions; [`metrics`] is the Prometheus
//!   observer behind `GET /metrics`; [`egress`] carries actions' outbound requests, including
//!   those to shoal's own API, which take `server::answer` without a socket.
//! - [`app::App`] is what all of it serves from, put together by the host's composition root.

#![warn(missing_docs, unreachable_pub)]

use shoal_core::{
    action, activation, auth, controller, entity, entity_path, memory, messages, observer, package,
    put, rule, sequence, triggers,
};

pub mod app;
pub mod buffers;
pub mod egress;
pub mod error;
pub mod gateway;
pub mod metrics;
pub mod rest;
pub mod server;
pub mod settings;
pub mod writers;
