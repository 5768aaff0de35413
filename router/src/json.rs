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
    match deserialize(text) {
        // A lone surrogate (`"\ud800"`: JavaScript's `JSON.stringify` writes one for a string
        // that holds it, and JSON allows it) has no UTF-8 form; it reads as U+FFFD instead.
        Err(e) if e.is_syntax() => match without_lone_surrogates(text) {
            Some(repaired) => Ok(deserialize(&repaired)?),
            None => Err(e.into()),
        },
        read => Ok(read?),
    }
}

fn deserialize(text: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `text` with every `\u` escape of a lone surrogate (one not in a high-low pair) inside a
/// string replaced by `\ufffd`; `None` when it has none. Only on a text that failed to parse.
fn without_lone_surrogates(text: &[u8]) -> Option<Vec<u8>> {
    /// The code unit of the `\uXXXX` escape at `at`, if there is one.
    fn unit(text: &[u8], at: usize) -> Option<u16> {
        let hex = text.get(at..at + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    }
    let (high, low) = (0xD800..=0xDBFF, 0xDC00..=0xDFFF);
    let mut out = Vec::with_capacity(text.len());
    let (mut in_string, mut replaced, mut i) = (false, false, 0);
    while i < text.len() {
        let b = text[i];
        if !in_string || b != b'\\' {
            in_string ^= b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        let width = match unit(text, i) {
            Some(u) if high.contains(&u) && unit(text, i + 6).is_some_and(|n| low.contains(&n)) => {
                12
            }
            Some(u) if high.contains(&u) || low.contains(&u) => {
                out.extend_from_slice(b"\\ufffd");
                replaced = true;
                i += 6;
                continue;
            }
            Some(_) => 6,
            None => 2,
        };
        let end = (i + width).min(text.len());
        out.extend_from_slice(&text[i..end]);
        i = end;
    }
    replaced.then_some(out)
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
    fn lone_surrogates_read_as_the_replacement_character() {
        let text = br#"{"lone": "a\ud800b", "low": "\udc00", "pair": "\ud83d\ude00", "esc": "\\ud800", "end": "\ud800"}"#;
        let value = parse(text).unwrap();
        assert_eq!(value["lone"], "a\u{fffd}b");
        assert_eq!(value["low"], "\u{fffd}");
        assert_eq!(value["pair"], "\u{1f600}");
        assert_eq!(value["esc"], "\\ud800");
        assert_eq!(value["end"], "\u{fffd}");
        // Still an error when something else is wrong.
        assert!(matches!(
            parse(br#"{"a": "\ud800", }"#),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn syntax_errors_and_trailing_text_are_errors() {
        assert!(matches!(parse(b"{\"a\": }"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(b"{} {}"), Err(JsonError::Syntax(_))));
    }
}
