//! What of an activation record the log stores. A namespace stores its records whole while
//! they fit its `activationBytesPerMinute` ([`NamespaceLimits::activation_bytes_per_minute`],
//! counted per process, like the other throttles); past it a record is stored without its
//! logs, and past it again without its result too. A record is never refused: the caller has
//! been answered, and its activation stays listed with its status, times and annotations. What
//! was left out is said twice in the stored record: a log line with the figures, and the
//! annotation `notStored` (`["logs"]` or `["logs", "result"]`). Callers get what they would
//! otherwise: a blocking invoke's reply is built from the record, not from the log.
//!
//! This bounds what one namespace adds to the store in a minute, so that one tenant's logging
//! cannot fill the disk that every namespace's activations are written to: at most its limit
//! plus its records' bare remainders (their annotations and a note), whose number its
//! invoke and fire throttles bound. Costs one map lookup and one lock per record; a record
//! over the limit is rendered again, without the parts left out.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use shoal_router::{LogStream, format_log_line};

use crate::activation::{Annotation, Note, Record, Response};
use crate::messages;
use crate::throttle::{NamespaceLimits, Throttles, current_minute};

/// The annotation that names the parts of a record the log left out.
pub const NOT_STORED: &str = "notStored";

/// What of a record the log stores, with the note line that stands in for its logs when
/// they are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept<'a> {
    /// The whole record.
    All,
    /// Everything but the logs.
    WithoutLogs(&'a str),
    /// Neither logs nor result (an empty object stands in for it).
    Bare(&'a str),
}

impl Kept<'_> {
    /// The parts left out, as the `notStored` annotation names them.
    fn left_out(self) -> &'static [&'static str] {
        match self {
            Kept::All => &[],
            Kept::WithoutLogs(_) => &["logs"],
            Kept::Bare(_) => &["logs", "result"],
        }
    }

    /// The record's log lines as stored: `logs` itself, or the note in their place.
    pub fn logs(self, logs: &[String]) -> Vec<String> {
        match self {
            Kept::All => logs.to_vec(),
            Kept::WithoutLogs(note) | Kept::Bare(note) => vec![note.to_owned()],
        }
    }

    /// Whether the stored record keeps its result.
    pub fn keeps_result(self) -> bool {
        !matches!(self, Kept::Bare(_))
    }

    /// The `notStored` annotation, when something was left out.
    pub fn annotation(self) -> Option<Annotation> {
        let parts = self.left_out();
        (!parts.is_empty()).then(|| Annotation::new(NOT_STORED, Note::Json(json!(parts))))
    }
}

/// The text the log stores for one of `namespace`'s records: `render(Kept::All)` while the
/// namespace is within its limit this minute, else the lesser renderings in turn (see the
/// module's doc). Whatever is stored is counted against the limit.
pub fn fit(
    throttles: &Throttles,
    namespace: &str,
    limits: &NamespaceLimits,
    render: impl FnMut(Kept<'_>) -> String,
) -> String {
    fit_at(throttles, namespace, limits, current_minute(), render)
}

/// [`fit`] in the given epoch `minute`.
fn fit_at(
    throttles: &Throttles,
    namespace: &str,
    limits: &NamespaceLimits,
    minute: u64,
    mut render: impl FnMut(Kept<'_>) -> String,
) -> String {
    let allowed = limits.activation_bytes_per_minute;
    let whole = render(Kept::All);
    let Err(used) = throttles.admit_stored(namespace, limits, minute, whole.len()) else {
        return whole;
    };
    drop(whole);
    let note = note_line(messages::not_stored("logs", used, allowed));
    let lean = render(Kept::WithoutLogs(&note));
    let Err(used) = throttles.admit_stored(namespace, limits, minute, lean.len()) else {
        return lean;
    };
    drop(lean);
    let note = note_line(messages::not_stored("logs or result", used, allowed));
    let bare = render(Kept::Bare(&note));
    throttles.charge_stored(namespace, minute, bare.len());
    bare
}

/// `text` as a stderr log line of now.
fn note_line(text: String) -> String {
    format_log_line(SystemTime::now(), LogStream::Stderr, &text)
}

/// The stored text of `r` with what `kept` keeps of it.
pub fn record_text(r: &Record, kept: Kept<'_>) -> String {
    if kept == Kept::All {
        return r.to_text();
    }
    let response = if kept.keeps_result() {
        r.response.clone()
    } else {
        let empty = Value::Object(Map::new());
        Response::new(r.response.status, empty, 2)
    };
    let mut annotations = r.annotations.clone();
    annotations.extend(kept.annotation());
    Record {
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        subject: r.subject.clone(),
        activation_id: r.activation_id,
        start: r.start,
        end: r.end,
        duration: r.duration,
        response,
        logs: kept.logs(&[]),
        version: r.version.clone(),
        publish: r.publish,
        annotations,
        cause: r.cause,
    }
    .to_text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::LimitsConfig;
    use serde_json::Value;

    fn limits(bytes: u64) -> NamespaceLimits {
        let config = LimitsConfig {
            activation_bytes_per_minute: bytes,
            ..LimitsConfig::default()
        };
        NamespaceLimits::resolve(&config, &Value::Null)
    }

    /// A record whose logs are `log_bytes` long.
    fn stored(t: &Throttles, ns: &str, limits: &NamespaceLimits, log_bytes: usize) -> Value {
        let logs = vec!["x".repeat(log_bytes)];
        let text = fit_at(t, ns, limits, 7, |kept| {
            let result = if kept.keeps_result() {
                json!({"big": "r".repeat(500)})
            } else {
                json!({})
            };
            json!({"logs": kept.logs(&logs), "result": result, "annotations": [kept.annotation()]})
                .to_string()
        });
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn past_the_limit_logs_then_results_are_left_out_with_a_note() {
        let t = Throttles::default();
        let l = limits(3_200);
        let whole = stored(&t, "ns", &l, 1_500);
        assert_eq!(whole["logs"][0].as_str().unwrap().len(), 1_500);
        assert_eq!(whole["annotations"], json!([null]));
        // ~2,050 bytes counted: the next whole record does not fit, its lean form does.
        let lean = stored(&t, "ns", &l, 1_500);
        let note = lean["logs"][0].as_str().unwrap();
        assert!(
            note.contains("stderr: shoal stored this activation without its logs")
                && note.contains("activationBytesPerMinute) is 3200"),
            "{note}"
        );
        assert_eq!(lean["result"]["big"].as_str().unwrap().len(), 500);
        assert_eq!(lean["annotations"][0]["key"], NOT_STORED);
        assert_eq!(lean["annotations"][0]["value"], json!(["logs"]));
        // The lean one took the rest: the third keeps neither logs nor result.
        let bare = stored(&t, "ns", &l, 1_500);
        assert!(
            bare["logs"][0]
                .as_str()
                .unwrap()
                .contains("without its logs or result"),
            "{bare}"
        );
        assert_eq!(bare["result"], json!({}));
        assert_eq!(bare["annotations"][0]["value"], json!(["logs", "result"]));
        let other = stored(&t, "other", &l, 1_500);
        assert_eq!(
            other["logs"][0].as_str().unwrap().len(),
            1_500,
            "another namespace has its own budget"
        );
    }

    #[test]
    fn a_record_over_the_whole_limit_is_stored_bare() {
        let t = Throttles::default();
        let bare = stored(&t, "ns", &limits(100), 10);
        assert_eq!(bare["result"], json!({}), "{bare}");
    }
}
