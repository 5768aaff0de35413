//! The REST API (spec §1–2). A request is parsed (`request`), found in the route table
//! ([`routes`]), checked and handed to its operation's handler ([`dispatch()`]); the handlers
//! live in one module per collection and return `Result<Reply, ApiError>`, which the server
//! turns into a response or OpenWhisk's error envelope.

mod actions;
mod activations;
mod apimgmt;
mod call;
mod dispatch;
mod entities;
mod gateway;
mod packages;
mod reply;
mod request;
pub mod routes;
mod rules;
mod system;
mod triggers;
mod web;

pub use dispatch::{credentials_first, dispatch};
pub use reply::Reply;
pub use request::{Page, Request};
