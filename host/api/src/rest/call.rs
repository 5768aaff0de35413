//! What a handler is given: one matched request, already through the route's checks (the
//! caller authenticated, the namespace resolved, the names valid, ownership where the route
//! asks for it, an allowed method), and the shape every handler in the route table has.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::reply::Reply;
use super::request::Request;
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use shoal_model::WhiskError;

/// A handler's work: boxed, so every operation of the table has the same type. One
/// allocation per request.
pub(crate) type Handled<'a> = Pin<Box<dyn Future<Output = Result<Reply, ApiError>> + Send + 'a>>;

/// One operation's handler, as the route table holds it.
pub(crate) type Handler = for<'a> fn(&'a Call<'a>) -> Handled<'a>;

/// One request matched to a route. Lives for the request.
pub(crate) struct Call<'a> {
    /// The platform.
    pub(crate) app: &'a Arc<App>,
    /// The request.
    pub(crate) req: &'a Request,
    /// The caller, on routes that take credentials.
    pub(crate) caller: Option<Arc<Identity>>,
    /// The namespace the path names with `_` resolved to the caller's; empty on routes
    /// outside a namespace.
    pub(crate) ns: String,
    /// The path's `{name}` segments, by template name.
    pub(crate) params: Vec<(&'static str, &'a str)>,
    /// The segments below the template, on routes that serve the paths below them.
    pub(crate) below: &'a [String],
}

impl<'a> Call<'a> {
    /// The segment the template calls `{name}`; empty when it has none (a route and its
    /// handler that disagree fail their tests, never a request).
    pub(crate) fn param(&self, name: &str) -> &'a str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v)
    }

    /// The authenticated caller; a route that takes no credentials has none, which is a
    /// table error reported as an internal one.
    pub(crate) fn identity(&self) -> Result<&Identity, ApiError> {
        self.caller
            .as_deref()
            .ok_or_else(|| WhiskError::internal("this route takes no credentials").into())
    }

    /// 403 naming `resource` unless the caller owns the call's namespace.
    pub(crate) fn owner_only(&self, resource: &str) -> Result<(), ApiError> {
        if self.identity()?.namespace == self.ns {
            Ok(())
        } else {
            Err(WhiskError::forbidden(resource).into())
        }
    }
}
