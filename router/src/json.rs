//! Reading JSON text that nests deeper than serde_json's default limit of 128 levels.
//!
//! OpenWhisk accepts any nesting its parser survives; a result, a parameter object or a
//! stored record 200 levels deep is valid there. shoal reads up to [`MAX_DEPTH`] levels: a
//! linear scan measures the nesting first, so the recursive parse (and the recursive drop,
//! clone and serialisation of the value afterwards) stays within a bounded stack.

use serde::Deserialize;
use serde_json::Value;

/// Deepest nesting of arrays and objects shoal reads: twice serde_json's default. Parsing,
/// serialising and dropping a value this deep fits in 1 MiB of stack even in a debug build
/// (about 2 KiB a level there, a few hundred bytes in release); shoal's threads have 2 MiB.
pub const MAX_DEPTH: usize = 256;

/// Why [`parse`] refused a text.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The text nests deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The text is not JSON.
    #[error(transparent)]
    Syntax(#[from] serde_json::Error),
}

/// Parses `text` (any JSON value) nested at most [`MAX_DEPTH`] deep.
pub fn parse(text: &[u8]) -> Result<Value, JsonError> {
    parse_wrapped(text, 0)
}

/// Parses `text`: a value nested at most [`MAX_DEPTH`] deep inside `wrappers` levels of the
/// caller's own (an engine's envelope around an action's result).
pub fn parse_wrapped(text: &[u8], wrappers: usize) -> Result<Value, JsonError> {
    if depth(text) > MAX_DEPTH + wrappers {
        return Err(JsonError::TooDeep);
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The deepest nesting of `[` and `{` in `text`, outside strings. Exact for valid JSON; for
/// anything else an upper bound good enough to refuse it early.
fn depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn values_nested_up_to_the_limit_parse_and_serialise_on_a_small_stack() {
        // Half of what any shoal thread has.
        let handle = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| {
                let text = nested(MAX_DEPTH);
                let value = parse(text.as_bytes()).unwrap();
                assert_eq!(serde_json::to_string(&value).unwrap(), text);
                let object = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
                let copy = parse(object.as_bytes()).unwrap().clone();
                drop(copy);
            })
            .unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn deeper_values_are_refused_without_parsing() {
        let text = nested(MAX_DEPTH + 1);
        assert!(matches!(parse(text.as_bytes()), Err(JsonError::TooDeep)));
        assert!(matches!(
            parse(&vec![b'['; 10_000_000]),
            Err(JsonError::TooDeep)
        ));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!(
            "{{\"s\": \"{}\\\"{}\"}}",
            "[".repeat(5000),
            "{".repeat(5000)
        );
        assert_eq!(depth(text.as_bytes()), 1);
        assert!(parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn floats_read_exactly_as_written() {
        // Shortest texts of doubles that a best-effort float parser reads 1 ULP off: a
        // parameter, a stored record or a result must keep the number it was given.
        for text in [
            "1.0715660391465826e-75",
            "-1.81996730402717e-179",
            "-1.603964615428183e143",
            "1.5860846119992697e-265",
        ] {
            let want: f64 = text.parse().unwrap();
            let got = parse(text.as_bytes()).unwrap().as_f64().unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value.to_string(), text);
        }
    }

    #[test]
    fn syntax_errors_and_trailing_text_are_errors() {
        assert!(matches!(parse(b"{\"a\": }"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(b"{} {}"), Err(JsonError::Syntax(_))));
    }
}
