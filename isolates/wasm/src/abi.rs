//! The WASM action ABIs, engine side: what an action's output means.
//!
//! Two ABIs, told apart by the module's exports when the action is prepared:
//!
//! - **WASI command** (the module exports `_start`): a WASI preview 1 command. `_start` reads
//!   the parameters (one JSON object) on stdin and writes its result on stdout. The
//!   **result** is the whole of stdout when that parses as one JSON value (so a
//!   pretty-printed result works); otherwise it is the **last non-empty line** of stdout, and
//!   every earlier stdout line is an activation log line, as is every stderr line. Exiting via
//!   `proc_exit(0)` is the same as returning from `_start`.
//! - **Direct** (no `_start`; exports `memory`, `alloc: (i32) -> i32` and
//!   `run: (i32, i32) -> i64`): the host calls `alloc(len)`, writes the params JSON at the
//!   pointer it returns and calls `run(ptr, len)`, which returns the result JSON's pointer in
//!   the high 32 bits and its length in the low 32 bits. Logs go through the imported
//!   `shoal.log(ptr, len)`. No WASI context is built, which makes an activation cheaper.
//!
//! Either way the result text is classified by [`classify_result`]. Pure functions, no
//! engine: they build only the texts they return.

use serde_json::Value;
use shoal_router::Failure;
use shoal_router::json::{self, JsonError};

/// Developer error text (OpenWhisk's) when stdout holds no JSON object or array; followed by
/// `: <the offending output>`, or by `.` when the output is empty.
pub const NOT_JSON: &str = "The action did not produce a valid JSON or JSON Array response";
/// Developer error text (OpenWhisk's) when the action exits with a non-zero status.
pub const EXITED_UNEXPECTEDLY: &str =
    "The action did not produce a valid response and exited unexpectedly.";
/// Prefix of the developer error text when the module traps (followed by the trap message).
pub const TRAPPED_PREFIX: &str = "The action trapped: ";

/// Splits stdout into (log lines, result text) following the rule in the module doc.
pub fn split_output(stdout: &str) -> (Vec<&str>, &str) {
    let trimmed = stdout.trim();
    if trimmed.is_empty() || json::parse(trimmed.as_bytes()).is_ok() {
        return (Vec::new(), trimmed);
    }
    let mut lines: Vec<&str> = trimmed.lines().collect();
    let result = lines.pop().unwrap_or_default().trim();
    (lines, result)
}

/// Classifies the result text: an object without `error` or an array succeeds, an object with
/// `error` is an application error carrying that field, anything else is the "did not produce
/// a valid JSON" developer error quoting the text.
pub fn classify_result(text: &str) -> Result<Value, Failure> {
    match json::parse(text.as_bytes()) {
        Err(e @ JsonError::TooDeep) => Err(Failure::DeveloperError(Value::String(format!(
            "{NOT_JSON}: {e}."
        )))),
        Ok(Value::Object(mut obj)) => match obj.remove("error") {
            Some(error) => Err(Failure::ApplicationError(error)),
            None => Ok(Value::Object(obj)),
        },
        Ok(array @ Value::Array(_)) => Ok(array),
        _ if text.is_empty() => Err(Failure::DeveloperError(Value::String(format!(
            "{NOT_JSON}."
        )))),
        _ => Err(Failure::DeveloperError(Value::String(format!(
            "{NOT_JSON}: {text}"
        )))),
    }
}

/// The developer error for a trap; `message` is wasmtime's description of it.
pub fn trapped(message: &str) -> Failure {
    Failure::DeveloperError(Value::String(format!("{TRAPPED_PREFIX}{message}")))
}

/// Developer error text when the direct ABI's `alloc` returns a buffer the params do not fit
/// in; followed by the range.
pub const PARAMS_OUTSIDE_MEMORY: &str =
    "The action's alloc returned a buffer outside its linear memory";
/// Developer error text when the direct ABI's `run` returns a result range outside the
/// module's memory; followed by the range.
pub const RESULT_OUTSIDE_MEMORY: &str =
    "The action's run returned a result outside its linear memory";

/// The developer error for params that do not fit where `alloc` said.
pub fn params_outside_memory(at: u32, len: u32) -> Failure {
    outside(PARAMS_OUTSIDE_MEMORY, at, len)
}

/// The developer error for a result range outside the memory.
pub fn result_outside_memory(at: u32, len: u32) -> Failure {
    outside(RESULT_OUTSIDE_MEMORY, at, len)
}

fn outside(text: &str, at: u32, len: u32) -> Failure {
    Failure::DeveloperError(Value::String(format!("{text}: {len} bytes at {at}.")))
}

/// The developer error for a non-zero exit status.
pub fn exited() -> Failure {
    Failure::DeveloperError(Value::String(EXITED_UNEXPECTEDLY.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_output_or_last_line_is_the_result() {
        assert_eq!(
            split_output("{\n  \"a\": 1\n}\n"),
            (vec![], "{\n  \"a\": 1\n}")
        );
        assert_eq!(
            split_output("hello\nworld\n{\"a\":1}\n"),
            (vec!["hello", "world"], "{\"a\":1}")
        );
        assert_eq!(split_output(""), (vec![], ""));
        assert_eq!(split_output("just text"), (vec![], "just text"));
    }

    #[test]
    fn classification_follows_openwhisk() {
        assert_eq!(classify_result("{\"a\":1}"), Ok(json!({"a": 1})));
        assert_eq!(classify_result("[1]"), Ok(json!([1])));
        assert_eq!(
            classify_result("{\"error\":\"no\",\"x\":1}"),
            Err(Failure::ApplicationError(json!("no")))
        );
        assert_eq!(
            classify_result("42"),
            Err(Failure::DeveloperError(json!(
                "The action did not produce a valid JSON or JSON Array response: 42"
            )))
        );
        assert_eq!(
            classify_result(""),
            Err(Failure::DeveloperError(json!(
                "The action did not produce a valid JSON or JSON Array response."
            )))
        );
    }
}
