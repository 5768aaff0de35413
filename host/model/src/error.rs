//! [`WhiskError`]: why an operation failed, by cause, with OpenWhisk's text.

use crate::messages;

/// Why an operation on entities, activations or namespaces failed, by cause. Each variant
/// carries the text OpenWhisk answers with; the API turns the cause into an HTTP status and
/// OpenWhisk's `{error, code}` envelope in one place, so nothing below the API knows about
/// HTTP. Cheap: at most one `String`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhiskError {
    /// The request or document is not acceptable (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// No valid credentials were presented (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not use what it named (403).
    #[error("{0}")]
    Forbidden(String),
    /// What was named does not exist (404).
    #[error("{}", messages::RESOURCE_DOES_NOT_EXIST)]
    NotFound,
    /// The name is taken, by another revision or another collection (409).
    #[error("{0}")]
    Conflict(String),
    /// The namespace is over one of its limits (429).
    #[error("{0}")]
    Throttled(String),
    /// shoal failed (500).
    #[error("{0}")]
    Internal(String),
    /// shoal cannot keep or read what the request needs right now (503).
    #[error("{0}")]
    Unavailable(String),
}

impl WhiskError {
    /// A request or document that is not acceptable, saying why.
    pub fn bad_request(message: impl Into<String>) -> Self {
        WhiskError::Invalid(message.into())
    }

    /// "The requested resource does not exist."
    pub fn not_found() -> Self {
        WhiskError::NotFound
    }

    /// The caller may not use `resource`.
    pub fn forbidden(resource: &str) -> Self {
        WhiskError::Forbidden(messages::not_authorized(resource))
    }

    /// A name taken by another revision or collection, with OpenWhisk's text.
    pub fn conflict(message: impl Into<String>) -> Self {
        WhiskError::Conflict(message.into())
    }

    /// A platform failure, with the text the caller sees.
    pub fn internal(message: impl Into<String>) -> Self {
        WhiskError::Internal(message.into())
    }

    /// The store could not be read to answer.
    pub fn store_unreadable(reason: &str) -> Self {
        WhiskError::Unavailable(messages::store_unreadable(reason))
    }

    /// The activation store cannot write: shoal takes no work it could not keep.
    pub fn store_unavailable(reason: &str) -> Self {
        WhiskError::Unavailable(messages::store_unavailable(reason))
    }

    /// Whether shoal itself failed (rather than the request or the caller).
    pub fn is_platform_failure(&self) -> bool {
        matches!(self, WhiskError::Internal(_) | WhiskError::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_openwhisks() {
        assert_eq!(
            WhiskError::not_found().to_string(),
            "The requested resource does not exist."
        );
        let forbidden = WhiskError::forbidden("guest/x").to_string();
        assert_eq!(forbidden, messages::not_authorized("guest/x"));
        assert!(WhiskError::store_unavailable("disk full").is_platform_failure());
        assert!(!WhiskError::conflict("taken").is_platform_failure());
    }
}
