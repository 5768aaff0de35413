//! The engine-neutral half of the JS action ABI: what a JS action's outcome means.
//!
//! Engines report what the entry point did (returned a value, rejected, threw); the functions
//! here turn that into the result or [`Failure`] OpenWhisk's Node.js runtime would produce
//! (spec §3.4 and §7.3), with the exact error texts. Pure functions, no engine, no allocation
//! beyond the texts they build.

use serde_json::{Map, Value};
use shoal_router::Failure;

/// Developer error text when the entry point returns something that is not an object.
pub const NOT_A_DICTIONARY: &str = "The action did not return a dictionary.";
/// Prefix of the developer error text when the entry point throws synchronously.
pub const THROWN_PREFIX: &str = "An error has occurred: ";
/// Prefix of the developer error text when loading the code (or finding `main`) fails.
pub const INIT_FAILED_PREFIX: &str = "Initialization has failed due to: ";

/// What an action's entry point produced once its promise (if any) settled, as an engine
/// reports it. Built per activation; consumed by [`classify_return`].
#[derive(Debug, Clone, PartialEq)]
pub enum Returned {
    /// `undefined` (or a promise resolved with `undefined`).
    Undefined,
    /// An object or array, already converted to JSON (the engine's `JSON.stringify` view).
    Object(Value),
    /// A number, string, boolean, `null`, function, symbol or bigint.
    NotAnObject,
    /// A value whose JSON text (`length` bytes, beginning with `head`) is over
    /// [`shoal_router::MAX_RESULT_BYTES`], left unread by the engine.
    TooLarge { length: usize, head: Vec<u8> },
}

/// Classifies a returned value: objects without `error` and arrays succeed, an object with
/// `error` is an application error carrying that field, `undefined` is `{}`, anything else is
/// the "did not return a dictionary" developer error.
pub fn classify_return(returned: Returned) -> Result<Value, Failure> {
    match returned {
        Returned::Undefined => Ok(Value::Object(Map::new())),
        Returned::Object(Value::Object(mut obj)) => match obj.remove("error") {
            Some(error) => Err(Failure::ApplicationError(error)),
            None => Ok(Value::Object(obj)),
        },
        Returned::Object(array @ Value::Array(_)) => Ok(array),
        Returned::TooLarge { length, head } => Err(Failure::result_too_large(length, &head)),
        Returned::Object(_) | Returned::NotAnObject => Err(Failure::DeveloperError(Value::String(
            NOT_A_DICTIONARY.to_string(),
        ))),
    }
}

/// Classifies a rejected promise: the serialized reason becomes the application error;
/// a falsy reason (`reject()`, `reject(null)`, `reject(0)`, …) becomes `{}` as in the Node
/// runtime. Engines serialize an `Error` reason with [`error_json`].
pub fn classify_rejection(reason: Option<Value>) -> Failure {
    Failure::ApplicationError(reason.unwrap_or_else(|| Value::Object(Map::new())))
}

/// How a rejected `Error` is serialized (what Node's `serialize-error` keeps): `name`,
/// `message` and, when the engine has one, `stack`.
pub fn error_json(name: &str, message: &str, stack: Option<&str>) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), Value::String(name.to_string()));
    obj.insert("message".into(), Value::String(message.to_string()));
    if let Some(stack) = stack.filter(|s| !s.is_empty()) {
        obj.insert("stack".into(), Value::String(stack.to_string()));
    }
    Value::Object(obj)
}

/// The developer error for an exception thrown by the entry point; `described` is the thrown
/// value as JS `String(e)` renders it (e.g. `Error: boom`).
pub fn thrown(described: &str) -> Failure {
    Failure::DeveloperError(Value::String(format!("{THROWN_PREFIX}{described}")))
}

/// The developer error for code that fails to load (syntax error, top-level throw, missing
/// entry point); `described` says why.
pub fn init_failed(described: &str) -> Failure {
    Failure::DeveloperError(Value::String(format!("{INIT_FAILED_PREFIX}{described}")))
}

/// Why initialisation failed when the entry point named `main` is not a function.
pub fn entry_point_missing(main: &str) -> String {
    format!("Action entrypoint '{main}' is not a function.")
}

/// An `init: true` parameter as the `process.env` string the Node runtime sees: strings as
/// they are, `null` as the empty string, everything else as compact JSON.
pub fn env_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_result_left_unread_as_too_large_is_openwhisks_error() {
        let head = [b'['; 1024];
        assert_eq!(
            classify_return(Returned::TooLarge {
                length: 5_000_000,
                head: head.to_vec()
            }),
            Err(Failure::result_too_large(5_000_000, &head))
        );
    }

    #[test]
    fn objects_and_arrays_succeed() {
        assert_eq!(
            classify_return(Returned::Object(json!({"a": 1}))),
            Ok(json!({"a": 1}))
        );
        assert_eq!(
            classify_return(Returned::Object(json!([1, 2]))),
            Ok(json!([1, 2]))
        );
        assert_eq!(classify_return(Returned::Undefined), Ok(json!({})));
    }

    #[test]
    fn error_field_is_an_application_error_and_drops_other_fields() {
        assert_eq!(
            classify_return(Returned::Object(json!({"error": {"code": 7}, "x": 1}))),
            Err(Failure::ApplicationError(json!({"code": 7})))
        );
    }

    #[test]
    fn scalars_are_developer_errors() {
        let expected = Err(Failure::DeveloperError(json!(NOT_A_DICTIONARY)));
        assert_eq!(classify_return(Returned::NotAnObject), expected);
        assert_eq!(classify_return(Returned::Object(json!(3))), expected);
        assert_eq!(classify_return(Returned::Object(json!(null))), expected);
    }

    #[test]
    fn rejections_and_throws() {
        assert_eq!(
            classify_rejection(None),
            Failure::ApplicationError(json!({}))
        );
        assert_eq!(
            classify_rejection(Some(json!("no"))),
            Failure::ApplicationError(json!("no"))
        );
        assert_eq!(
            thrown("Error: boom"),
            Failure::DeveloperError(json!("An error has occurred: Error: boom"))
        );
        assert_eq!(
            init_failed(&entry_point_missing("go")),
            Failure::DeveloperError(json!(
                "Initialization has failed due to: Action entrypoint 'go' is not a function."
            ))
        );
        assert_eq!(
            error_json("TypeError", "bad", Some("")),
            json!({"name": "TypeError", "message": "bad"})
        );
    }

    #[test]
    fn env_strings_follow_the_invoker() {
        assert_eq!(env_string(&json!("s")), "s");
        assert_eq!(env_string(&json!(null)), "");
        assert_eq!(env_string(&json!(true)), "true");
        assert_eq!(env_string(&json!(1.5)), "1.5");
        assert_eq!(env_string(&json!({"a": [1]})), r#"{"a":[1]}"#);
    }
}
