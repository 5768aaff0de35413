//! OpenWhisk-mandated response texts (spec §1.4, §2, §3.4). Kept here as constants so that
//! every error the API returns uses the exact wording clients and tests expect.

/// 401 when no credentials were sent.
pub const AUTH_REQUIRED: &str =
    "The resource requires authentication, which was not supplied with the request";
/// 401 when credentials are wrong or malformed.
pub const AUTH_INVALID: &str = "The supplied authentication is invalid";
/// `GET /api/v1/nodes` and other operator routes when no `[admin] token` is configured (a
/// shoal extension; OpenWhisk has no such routes).
pub const ADMIN_OFF: &str = "The operator routes are off: set [admin] token in the configuration.";
/// 404 for an unmatched route.
pub const ROUTE_NOT_FOUND: &str = "The requested resource could not be found.";
/// 404 for a missing entity or activation.
pub const RESOURCE_DOES_NOT_EXIST: &str = "The requested resource does not exist.";
/// 409 when creating an entity that exists.
pub const ALREADY_EXISTS: &str = "resource already exists";
/// 409 when a name belongs to another collection.
pub const NOT_IN_COLLECTION: &str = "Resource by this name exists but is not in this collection.";
/// 409 on a revision conflict.
pub const CONCURRENT_MODIFICATION: &str = "Concurrent modification to resource detected.";
/// 400 for an illegal entity name.
pub const ILLEGAL_ENTITY_NAME: &str = "The name of the entity contains illegal characters.";
/// 400 for an illegal namespace.
pub const ILLEGAL_NAMESPACE: &str = "The namespace contains illegal characters.";
/// 400 for an action PUT without `exec` on create.
pub const EXEC_UNDEFINED: &str = "exec undefined";
/// 400 when an invoke sets a final or reserved parameter.
pub const PARAMS_NOT_ALLOWED: &str =
    "Request defines parameters that are not allowed (e.g., reserved properties).";
/// 400 for an out-of-range blocking `timeout`.
pub const TIMEOUT_PARAM: &str = "Timeout must be number of milliseconds up to 60000.";
/// 400 for `count` combined with `docs`.
pub const DOCS_WITH_COUNT: &str = "The parameter 'docs' is not permitted with 'count'.";
/// 400 for nested routes under `limits`.
pub const LIMITS_INNER_ROUTES: &str =
    "Inner entity level routes for limits are not yet implemented.";
/// Result text of an activation that ran past its time limit.
pub fn timed_out(ms: u64, init: bool) -> String {
    if init {
        format!("The action exceeded its time limits of {ms} milliseconds during initialization.")
    } else {
        format!("The action exceeded its time limits of {ms} milliseconds.")
    }
}
/// Result text of an activation that ran out of memory.
pub const MEMORY_EXHAUSTED: &str = "The action exhausted its memory and was aborted.";
/// 413 for an oversized invoke payload.
pub fn request_too_large(n: usize, max: usize) -> String {
    format!("Request larger than allowed: {n} > {max} bytes.")
}
/// 413 when a PUT would take a namespace's stored entities past its `entityBytes`.
pub fn entities_too_large(n: u64, max: u64) -> String {
    format!("The namespace's entities larger than allowed: {n} > {max} bytes (entityBytes).")
}
/// 403 for an entity the caller may not access.
pub fn not_authorized(resource: &str) -> String {
    format!("The supplied authentication is not authorized to access '{resource}'.")
}
/// 405 with the allowed methods.
pub fn method_not_allowed(allowed: &str) -> String {
    format!("HTTP method not allowed, supported methods: {allowed}")
}
/// 503 when the store could not be read to answer a request.
pub fn store_unreadable(reason: &str) -> String {
    format!("shoal cannot read its store: {reason}")
}
/// 503 while the activation store cannot write.
pub fn store_unavailable(reason: &str) -> String {
    format!("shoal cannot store activations, so it accepts no new work until it can: {reason}")
}
/// The capacity error (whisk internal error) of an activation that found no free isolate
/// memory within its time limit: OpenWhisk answers 503 "overloaded" when no invoker has room;
/// shoal queues the activation first, so its record says why it never ran.
pub fn no_memory_capacity(memory_mb: u64, budget_mib: u32) -> String {
    format!(
        "The system is overloaded: the action's {memory_mb} MB could not be reserved from the isolate memory budget ({budget_mib} MiB) within its time limit."
    )
}
/// The whisk internal error of an accepted activation that shoal stopped before finishing.
pub const ACTIVATION_LOST: &str =
    "The activation was accepted, but shoal stopped before it finished; it did not complete.";
/// 408 when a request's body did not arrive within `[http] body_read_timeout_secs`.
pub const BODY_TIMEOUT: &str = "The request body was not received in time.";
/// 503 when the server already holds [`crate`]'s limit of request bodies being received.
pub const BODIES_BUSY: &str =
    "The server is receiving too many request bodies at once; retry the request later.";
/// 503 when the server's buffers are too full for a large reply (a page of whole activation
/// records) to be built.
pub const REPLIES_BUSY: &str =
    "The server is answering too many large requests at once; retry the request later.";
/// 400 for a body that is not what the route expects (or could not be read at all).
pub fn malformed(detail: &str) -> String {
    format!("The request content was malformed:\n{detail}")
}
/// 400 for a query parameter that does not parse.
pub fn malformed_query(name: &str, detail: &str) -> String {
    format!("The query parameter '{name}' was malformed:\n{detail}")
}

/// 400 when a web action failed (developer or platform error).
pub const WEB_ERROR: &str = "There was an error processing your request.";
/// 401 when `require-whisk-auth` turns a web request away: Pekko's default text for 401
/// (spec §4.4; OpenWhisk answers `terminate(Unauthorized)`).
pub const WEB_UNAUTHORIZED: &str =
    "Authentication is possible but has failed or not yet been provided.";
/// 202 when a web action's result is not ready within the wait.
pub const WEB_NOT_READY: &str = "Response not yet ready.";
/// 404 when `.text` asks for a property the result lacks.
pub const WEB_MISSING_PROPERTY: &str = "Response does not include requested property.";
/// 400 when an `.http` result has a body of another type than its `Content-Type` says.
pub const WEB_TYPE_MISMATCH: &str = "Response type in header did not match generated content type.";
/// 400 when an `.http` result names a content type that does not parse.
pub const WEB_UNKNOWN_TYPE: &str = "Response did not specify a known content-type.";
/// 400 when the result does not fit the extension's media type.
pub fn web_invalid(media: &str) -> String {
    format!("Response is not valid '{media}'.")
}
/// 429 when a namespace is over a per-minute limit.
pub fn too_many_per_minute(count: u64, allowed: u64) -> String {
    format!("Too many requests in the last minute (count: {count}, allowed: {allowed}).")
}
/// The log line an activation record holds in place of its logs when its namespace's
/// `activationBytesPerMinute` left no room for them (`parts`: what was left out).
pub fn not_stored(parts: &str, used: u64, allowed: u64) -> String {
    format!(
        "shoal stored this activation without its {parts}: its namespace had stored {used} bytes of activation records in the last minute, and its limit (activationBytesPerMinute) is {allowed}."
    )
}
/// 429 when a namespace has too many activations in flight.
pub fn too_many_concurrent(count: u64, allowed: u64) -> String {
    format!("Too many concurrent requests in flight (count: {count}, allowed: {allowed}).")
}

/// 400 for a package named `default`.
pub const PACKAGE_RESERVED: &str = "Package name 'default' is reserved.";
/// 400 when a binding names a package that does not exist.
pub const BINDING_MISSING: &str = "Binding references a package that does not exist.";
/// 400 when a binding names another binding.
pub const BIND_TO_BINDING: &str = "Cannot bind to another package binding.";
/// 409 when a binding names something that is not a package.
pub const BIND_NOT_PACKAGE: &str = "Cannot bind to a resource that is not a package.";
/// 409 when a PUT would turn a package into a binding.
pub const PACKAGE_TO_BINDING: &str =
    "Resource is a package and cannot be converted into a binding.";
/// 400 when creating an action inside a binding.
pub const BINDING_OPERATION: &str = "Operation not permitted on package binding.";
/// 404 for a missing package named in the path (`<ns>/<name>`).
pub fn package_missing(resource: &str) -> String {
    format!("The requested resource '{resource}' does not exist.")
}
/// 400 when a trigger's `feed` annotation is not an entity path.
pub const FEED_INVALID: &str = "Feed name is not valid";
/// 400 when a rule PUT lacks its trigger or action.
pub const RULE_NEEDS_BOTH: &str = "rule requires a valid trigger and a valid action";
/// 400 when a rule names a missing trigger (`/<ns>/<t>`).
pub fn rule_trigger_missing(fqn: &str) -> String {
    format!("trigger {fqn} does not exist")
}
/// 400 when a rule names a missing action (`/<ns>/[<pkg>/]<a>`).
pub fn rule_action_missing(fqn: &str) -> String {
    format!("action {fqn} does not exist")
}
/// 404 when activating a rule whose trigger is gone.
pub const RULE_TRIGGER_GONE: &str = "Only rules with existing triggers can be activated";
/// 400 for an unknown rule status.
pub fn rule_state(given: &str) -> String {
    malformed(&format!(
        "'{given}' is not a recognized rule state, must be one of ['active', 'inactive']"
    ))
}
/// Trigger activation log error for an inactive rule.
pub fn rule_inactive(rule: &str, action: &str) -> String {
    format!("Rule '{rule}' is inactive, action '{action}' was not activated.")
}
/// 400 when a sequence names no component.
pub const SEQUENCE_EMPTY: &str = "No component specified for the sequence.";
/// 400 when a sequence (transitively) contains itself.
pub const SEQUENCE_SELF: &str = "Sequence may not refer to itself.";
/// 400 at create (and application error at run time) for a missing component.
pub const SEQUENCE_COMPONENT_MISSING: &str = "Sequence component does not exist.";
/// 400 at create (and application error at run time) over `sequenceMaxLength`.
pub const SEQUENCE_TOO_LONG: &str = "Too many actions in the sequence.";
/// Whisk internal error of a sequence that failed for a platform reason.
pub const SEQUENCE_FAILED: &str = "Sequence failed.";
/// Whisk internal error when a component's result did not arrive in time.
pub fn sequence_component_timeout(id: &str) -> String {
    format!("Timeout reached when retrieving activation {id} for sequence component.")
}
/// Fed back to a conductor when the action it named cannot be resolved.
pub fn composition_unresolved(name: &str) -> String {
    format!("Failed to resolve action with name '{name}' during composition.")
}
/// Fed back to a conductor when its `action` is not a name.
pub fn composition_unparsable(value: &str) -> String {
    format!("Failed to parse action name from json value {value} during composition.")
}
/// Fed back to a conductor when the caller may not invoke the action it named.
pub fn composition_forbidden(name: &str) -> String {
    format!("Failed entitlement check for action with name '{name}' during composition.")
}
/// A composition over its component or conductor-step budget.
pub const COMPOSITION_TOO_LONG: &str = "Too many actions in the composition.";
/// Whisk internal error when a composition's component could not be run.
pub const COMPOSITION_FAILED: &str = "Activation failure during composition.";
/// Whisk internal error when a composition step's result did not arrive in time.
pub fn composition_timeout(id: &str) -> String {
    format!("Timeout reached when retrieving activation {id} during composition.")
}
