//! The reply a handler returns and the server writes.

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value;
use shoal_model::WhiskError;
use shoal_router::ActivationId;

use crate::buffers::Held;
use crate::error::ApiError;

/// A successful response. Built by handlers, written by the server.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Body bytes.
    pub body: Bytes,
    /// Headers, including `Content-Type` when there is a body.
    pub headers: HeaderMap,
    /// Sets `x-openwhisk-activation-id` when present.
    pub activation_id: Option<ActivationId>,
    /// The share of the server's buffer budget a large body holds until it has been sent
    /// (`server::hold_for_reply`).
    pub held: Option<Held>,
}

impl Reply {
    /// A reply with `body` of type `content_type`.
    pub fn new(status: StatusCode, body: Bytes, content_type: &'static str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        Reply {
            status,
            body,
            headers,
            activation_id: None,
            held: None,
        }
    }

    /// A reply without a body (and so without a content type).
    pub fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: Bytes::new(),
            headers: HeaderMap::new(),
            activation_id: None,
            held: None,
        }
    }

    /// The OpenWhisk error envelope of `error` for transaction `tid` (spec §1.3), as a reply
    /// that can still take headers such as the activation id.
    pub fn error(error: ApiError, tid: &str) -> Self {
        let (status, body) = error.into_envelope(tid);
        Self::new(status, Bytes::from(body), "application/json")
    }

    /// A JSON reply of anything serde writes, without building a `Value` first; 500 if it
    /// cannot be written (a map with keys that are not strings).
    pub fn json_of<S: Serialize>(status: StatusCode, value: &S) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| WhiskError::internal(format!("an answer cannot be written: {e}")))?;
        Ok(Self::new(status, Bytes::from(body), "application/json"))
    }

    /// A JSON reply.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        Self::new(status, Bytes::from(value.to_string()), "application/json")
    }

    /// A plain-text reply.
    pub fn text(status: StatusCode, text: &'static str) -> Self {
        Self::new(
            status,
            Bytes::from_static(text.as_bytes()),
            "text/plain; charset=UTF-8",
        )
    }

    /// Tags the reply with an activation id header.
    pub fn with_activation(mut self, id: ActivationId) -> Self {
        self.activation_id = Some(id);
        self
    }
}
