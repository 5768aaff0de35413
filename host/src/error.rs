//! [`ApiError`]: every failure the REST API reports. It becomes the OpenWhisk error envelope
//! `{"error", "code"}` in exactly one place ([`ApiError::into_envelope`]).

use hyper::StatusCode;
use serde_json::json;

use crate::messages;

/// An HTTP error with OpenWhisk's text. Cheap; created per failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` text.
    pub message: String,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404 "The requested resource does not exist."
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, messages::RESOURCE_DOES_NOT_EXIST)
    }
    /// 404 for an unmatched route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, messages::ROUTE_NOT_FOUND)
    }
    /// 403 for `resource`.
    pub fn forbidden(resource: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, messages::not_authorized(resource))
    }
    /// 405 naming the allowed methods.
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            messages::method_not_allowed(allowed),
        )
    }
    /// 500 for a platform failure (store unavailable, …).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 503 when the store could not be read to answer a request.
    pub fn store_unreadable(reason: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            messages::store_unreadable(reason),
        )
    }

    /// 503 while the activation store cannot write: shoal takes no work it could not keep.
    pub fn store_unavailable(reason: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            messages::store_unavailable(reason),
        )
    }

    /// The status and envelope body (`{"error", "code"}`) for transaction `tid`.
    pub fn into_envelope(self, tid: &str) -> (StatusCode, Vec<u8>) {
        let body = json!({"error": self.message, "code": tid});
        (self.status, body.to_string().into_bytes())
    }
}

impl From<shoal_store::StoreError> for ApiError {
    fn from(e: shoal_store::StoreError) -> Self {
        use shoal_store::StoreError;
        match e {
            StoreError::Exists => Self::new(StatusCode::CONFLICT, messages::ALREADY_EXISTS),
            StoreError::Conflict => {
                Self::new(StatusCode::CONFLICT, messages::CONCURRENT_MODIFICATION)
            }
            StoreError::NotFound => Self::not_found(),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::internal("The server encountered an internal error.")
            }
        }
    }
}
