//! What of an activation record the log stores. A namespace stores its records whole while
//! they fit its `activationBytesPerMinute` ([`NamespaceLimits::activation_bytes_per_minute`],
//! a bucket that refills at that rate, per process like the other throttles). Past it, a
//! record is stored without its logs (a composition's record keeps its list of component
//! ids, which is small and how its components are found), and past it again without its
//! result too (an empty object stands in; `size` still says how large it was). What was left
//! out is said twice in the stored record: a log line with the figures, and the annotation
//! `notStored` (`["logs"]` or `["logs", "result"]`; a composition's, whose logs stay, says
//! `["result"]` and has no such line). Callers get what they would otherwise: a
//! blocking invoke's reply is built from the record, not from the log.
//!
//! Each record counts what it costs the store: its text, the names it is filed under and a
//! row's overhead ([`ROW_BYTES`]). Records stored without their result still cost something,
//! and a composition makes up to ~150 of them per invoke, which no throttle counts; so once a
//! namespace has stored twice its limit in the last minute, the records of composition
//! components are not stored at all (their ids in the composition's record answer 404),
//! while every other record (at most as many as the namespace's throttles admit) still is,
//! without logs or result. This bounds what one namespace adds to the store that every
//! namespace's activations share: about twice its limit a minute, plus its throttled
//! records' remainders. Costs one map lookup and one lock per record; a record past the
//! limit is rendered again, without the parts left out.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use shoal_router::{LogStream, format_log_line};

use crate::activation::{Annotation, Note, Record, Response};
use crate::messages;
use crate::throttle::{NamespaceLimits, Throttles, now_ms};

/// The annotation that names the parts of a record the log left out.
pub const NOT_STORED: &str = "notStored";

/// What one stored record costs beyond its text and the names it is filed under: its row's
/// keys, times and index entries.
pub const ROW_BYTES: usize = 256;

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

/// One record to store, as [`fit`] weighs it.
#[derive(Debug, Clone, Copy)]
pub struct Filed<'a> {
    /// The namespace that owns it.
    pub namespace: &'a str,
    /// The bytes it costs beyond its text: the names it is filed under, and [`ROW_BYTES`].
    pub beyond_text: usize,
    /// A composition component's record, left out past twice the limit.
    pub component: bool,
}

impl<'a> Filed<'a> {
    /// A record of `namespace` filed under `name` and `filter_name`.
    pub fn new(namespace: &'a str, name: &str, filter_name: &str, component: bool) -> Self {
        Filed {
            namespace,
            beyond_text: name.len() + 2 * filter_name.len() + ROW_BYTES,
            component,
        }
    }
}

/// The text the log stores for `record`: `render(Kept::All)` while its namespace is within
/// its limit, else the lesser renderings in turn, or nothing for a component's record past
/// twice the limit (see the module's doc). Whatever is stored is counted against the limit.
pub fn fit(
    throttles: &Throttles,
    record: Filed<'_>,
    limits: &NamespaceLimits,
    render: impl FnMut(Kept<'_>) -> String,
) -> Option<String> {
    fit_at(throttles, record, limits, now_ms(), render)
}

/// [`fit`] at `now`, epoch ms.
fn fit_at(
    throttles: &Throttles,
    record: Filed<'_>,
    limits: &NamespaceLimits,
    now: u64,
    mut render: impl FnMut(Kept<'_>) -> String,
) -> Option<String> {
    let (namespace, allowed) = (record.namespace, limits.activation_bytes_per_minute);
    let cost = |text: &str| text.len() + record.beyond_text;
    let mut used = throttles.stored_lately(namespace, limits, now);
    // Nothing fits once the limit is spent: the record goes straight to its last form.
    if used < allowed {
        let whole = render(Kept::All);
        let Err(now_used) = throttles.admit_stored(namespace, limits, now, cost(&whole)) else {
            return Some(whole);
        };
        drop(whole);
        let note = note_line(messages::not_stored("logs", now_used, allowed));
        let lean = render(Kept::WithoutLogs(&note));
        let Err(now_used) = throttles.admit_stored(namespace, limits, now, cost(&lean)) else {
            return Some(lean);
        };
        used = now_used;
    }
    if record.component && used >= allowed.saturating_mul(2) {
        return None;
    }
    let note = note_line(messages::not_stored("logs or result", used, allowed));
    let bare = render(Kept::Bare(&note));
    throttles.charge_stored(namespace, limits, now, cost(&bare));
    Some(bare)
}

/// `text` as a stderr log line of now.
fn note_line(text: String) -> String {
    format_log_line(SystemTime::now(), LogStream::Stderr, &text)
}

/// The stored text of `r` with what `kept` keeps of it; a composition's record (`composite`)
/// keeps its logs, the ids of its components.
pub fn record_text(r: &Record, composite: bool, kept: Kept<'_>) -> String {
    if kept == Kept::All {
        return r.to_text();
    }
    let response = if kept.keeps_result() {
        r.response.clone()
    } else {
        let empty = Value::Object(Map::new());
        Response::new(r.response.status, empty, r.response.size)
    };
    let mut annotations = r.annotations.clone();
    let logs = if composite {
        r.logs.clone()
    } else {
        annotations.extend(kept.annotation());
        kept.logs(&[])
    };
    if composite && !kept.keeps_result() {
        annotations.push(Annotation::new(NOT_STORED, Note::Json(json!(["result"]))));
    }
    Record {
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        subject: r.subject.clone(),
        activation_id: r.activation_id,
        start: r.start,
        end: r.end,
        duration: r.duration,
        response,
        logs,
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
    use crate::activation::Status;
    use crate::throttle::LimitsConfig;
    use serde_json::Value;

    fn limits(bytes: u64) -> NamespaceLimits {
        let config = LimitsConfig {
            activation_bytes_per_minute: bytes,
            ..LimitsConfig::default()
        };
        NamespaceLimits::resolve(&config, &Value::Null)
    }

    /// A record of `ns` whose logs are `log_bytes` long, stored at one instant; `None` when
    /// it is left out.
    fn stored(t: &Throttles, ns: &str, l: &NamespaceLimits, log_bytes: usize) -> Option<Value> {
        stored_as(t, Filed::new(ns, "a", "a", false), l, log_bytes)
    }

    fn stored_as(
        t: &Throttles,
        f: Filed<'_>,
        l: &NamespaceLimits,
        log_bytes: usize,
    ) -> Option<Value> {
        let logs = vec!["x".repeat(log_bytes)];
        let text = fit_at(t, f, l, 7, |kept| {
            let result = if kept.keeps_result() {
                json!({"big": "r".repeat(500)})
            } else {
                json!({})
            };
            json!({"logs": kept.logs(&logs), "result": result, "annotations": [kept.annotation()]})
                .to_string()
        })?;
        Some(serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn past_the_limit_logs_then_results_are_left_out_with_a_note() {
        let t = Throttles::default();
        let l = limits(3_700);
        // Each record costs its text and 258 bytes more.
        let whole = stored(&t, "ns", &l, 1_500).unwrap();
        assert_eq!(whole["logs"][0].as_str().unwrap().len(), 1_500);
        assert_eq!(whole["annotations"], json!([null]));
        // ~2,300 bytes counted: the next whole record does not fit, its lean form does.
        let lean = stored(&t, "ns", &l, 1_500).unwrap();
        let note = lean["logs"][0].as_str().unwrap();
        assert!(
            note.contains("stderr: shoal stored this activation without its logs")
                && note.contains("activationBytesPerMinute) is 3700"),
            "{note}"
        );
        assert_eq!(lean["result"]["big"].as_str().unwrap().len(), 500);
        assert_eq!(lean["annotations"][0]["key"], NOT_STORED);
        assert_eq!(lean["annotations"][0]["value"], json!(["logs"]));
        // The lean one took the rest: the third keeps neither logs nor result.
        let bare = stored(&t, "ns", &l, 1_500).unwrap();
        assert!(
            bare["logs"][0]
                .as_str()
                .unwrap()
                .contains("without its logs or result"),
            "{bare}"
        );
        assert_eq!(bare["result"], json!({}));
        assert_eq!(bare["annotations"][0]["value"], json!(["logs", "result"]));
        let other = stored(&t, "other", &l, 1_500).unwrap();
        assert_eq!(
            other["logs"][0].as_str().unwrap().len(),
            1_500,
            "another namespace has its own budget"
        );
    }

    #[test]
    fn past_twice_the_limit_components_are_not_stored_and_others_are_bare() {
        let t = Throttles::default();
        let l = limits(100);
        let component = Filed::new("ns", "a", "a", true);
        let bare = stored_as(&t, component, &l, 10).unwrap();
        assert_eq!(
            bare["result"],
            json!({}),
            "a component within twice the limit"
        );
        for _ in 0..100 {
            if stored_as(&t, component, &l, 10).is_none() {
                let top = stored(&t, "ns", &l, 10).expect("a record that is no component");
                assert_eq!(top["annotations"][0]["value"], json!(["logs", "result"]));
                return;
            }
        }
        panic!("components were stored past twice the limit");
    }

    #[test]
    fn a_composition_keeps_its_component_ids_and_says_what_it_left_out() {
        let r = Record {
            namespace: "ns".into(),
            name: "s".into(),
            subject: "ns".into(),
            activation_id: crate::controller::new_activation_id(),
            start: 1,
            end: 2,
            duration: 1,
            response: Response::new(Status::Success, json!({"r": 1}), 7),
            logs: vec!["id1".into(), "id2".into()],
            version: "0.0.1".into(),
            publish: false,
            annotations: Vec::new(),
            cause: None,
        };
        let lean: Value =
            serde_json::from_str(&record_text(&r, true, Kept::WithoutLogs("n"))).unwrap();
        assert_eq!(lean["logs"], json!(["id1", "id2"]));
        let bare: Value = serde_json::from_str(&record_text(&r, true, Kept::Bare("n"))).unwrap();
        assert_eq!(bare["logs"], json!(["id1", "id2"]));
        assert_eq!(bare["response"]["result"], json!({}));
        assert_eq!(bare["response"]["size"], r.response.size, "the size it had");
        let note = bare["annotations"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(note, json!({"key": NOT_STORED, "value": ["result"]}));
        let primitive: Value =
            serde_json::from_str(&record_text(&r, false, Kept::Bare("n"))).unwrap();
        assert_eq!(primitive["logs"], json!(["n"]));
    }
}
