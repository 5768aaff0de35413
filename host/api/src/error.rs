//! [`ApiError`]: every failure the REST API reports, with its HTTP status. Domain failures
//! ([`WhiskError`]) become one in exactly one place (its `From`), and every `ApiError` becomes
//! the OpenWhisk error envelope `{"error", "code"}` in exactly one place
//! ([`ApiError::into_envelope`]).

use hyper::StatusCode;
use serde_json::json;

use shoal_model::WhiskError;

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
    /// 400: [`WhiskError::bad_request`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        WhiskError::bad_request(message).into()
    }
    /// 404 "The requested resource does not exist.": [`WhiskError::not_found`].
    pub fn not_found() -> Self {
        WhiskError::not_found().into()
    }
    /// 404 for an unmatched route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, messages::ROUTE_NOT_FOUND)
    }
    /// 405 naming the allowed methods.
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            messages::method_not_allowed(allowed),
        )
    }

    /// The status and envelope body (`{"error", "code"}`) for transaction `tid`.
    pub fn into_envelope(self, tid: &str) -> (StatusCode, Vec<u8>) {
        let body = json!({"error": self.message, "code": tid});
        (self.status, body.to_string().into_bytes())
    }
}

impl From<WhiskError> for ApiError {
    /// The one place a domain failure becomes an HTTP status.
    fn from(e: WhiskError) -> Self {
        let status = match &e {
            WhiskError::Invalid(_) => StatusCode::BAD_REQUEST,
            WhiskError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            WhiskError::Forbidden(_) => StatusCode::FORBIDDEN,
            WhiskError::NotFound => StatusCode::NOT_FOUND,
            WhiskError::Conflict(_) => StatusCode::CONFLICT,
            WhiskError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            WhiskError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WhiskError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, e.to_string())
    }
}

impl From<shoal_store::StoreError> for ApiError {
    fn from(e: shoal_store::StoreError) -> Self {
        WhiskError::from(e).into()
    }
}
