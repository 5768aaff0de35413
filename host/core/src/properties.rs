//! Property tests of the parsers of user input: whatever a request carries, each parser
//! returns a value or an error text (never panics), and what it accepts obeys its rules.
//! [`arb_json`] is shared with the other modules' property tests (alarm feeds).

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::entity::{self, ActionLimits, LIMIT_BOUNDS};
use crate::put::ActionPut;
use crate::sequence::component;

/// Keys the parsers look for.
const KNOWN_KEYS: &[&str] = &[
    "key",
    "value",
    "init",
    "exec",
    "kind",
    "code",
    "main",
    "binary",
    "image",
    "components",
    "limits",
    "timeout",
    "memory",
    "logs",
    "concurrency",
    "parameters",
    "annotations",
    "publish",
    "version",
    "cron",
    "minutes",
    "startDate",
    "stopDate",
    "date",
    "timezone",
    "deleteAfterFire",
    "trigger_payload",
    "payload",
];

/// A key: mostly [`KNOWN_KEYS`], so generated objects reach past the first "missing field"
/// check, sometimes a random one.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KNOWN_KEYS).prop_map(str::to_string),
        1 => "[a-zA-Z_]{0,8}",
    ]
}

/// Any JSON value, with numbers at their edges and strings that look like what the
/// parsers expect (dates, crons, kinds) as well as anything else.
pub(crate) fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        proptest::sample::select(
            &[
                "nodejs:20",
                "sequence",
                "wasm",
                "blackbox",
                "* * * * *",
                "*/2 * * * * *",
                "2027-01-15T08:00:00Z",
                "99999999999999999",
                "-1",
                "",
                "/_/x",
                "Europe/Berlin",
            ][..]
        )
        .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object from [`arb_json`]'s values.
pub(crate) fn arb_object() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec((arb_key(), arb_json()), 0..8).prop_map(|kv| kv.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn entity_names_are_accepted_only_within_the_rules(name in ".{0,300}") {
        if entity::valid_entity_name(&name).is_ok() {
            prop_assert!(!name.is_empty() && name.chars().count() <= 256);
            prop_assert!(!name.contains('/'));
        }
    }

    #[test]
    fn key_value_lists_keep_one_entry_per_key_the_last_given(v in arb_json()) {
        let Ok(out) = entity::key_value_list(&v, "parameters") else { return Ok(()) };
        let input = v.as_array().unwrap();
        let keys: Vec<&str> = out.iter().map(|e| e.key.as_str()).collect();
        let unique: std::collections::HashSet<&&str> = keys.iter().collect();
        prop_assert_eq!(unique.len(), keys.len());
        for entry in &out {
            let last = input.iter().rev().find(|i| i["key"] == entry.key.as_str()).unwrap();
            prop_assert_eq!(&entry.value, last.get("value").unwrap_or(&Value::Null));
        }
    }

    #[test]
    fn limits_are_within_bounds_or_refused(v in arb_json()) {
        if let Ok(l) = ActionLimits::default().merged(&v) {
            prop_assert!((LIMIT_BOUNDS.timeout.0..=LIMIT_BOUNDS.timeout.1).contains(&l.timeout));
            prop_assert!((LIMIT_BOUNDS.memory.0..=LIMIT_BOUNDS.memory.1).contains(&l.memory));
            prop_assert!(l.logs <= LIMIT_BOUNDS.logs.1);
        }
    }

    #[test]
    fn action_bodies_parse_or_fail_with_a_text(body in arb_object()) {
        if let Err(e) = ActionPut::parse(&Value::Object(body)) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn sequence_components_round_trip(reference in "[/_a-z.]{0,30}") {
        if let Some(c) = component(&reference, "guest") {
            prop_assert_eq!(component(&c.fqn(), "guest"), Some(c));
        }
    }

    #[test]
    fn versions_are_three_numbers_and_bump_without_overflow(
        v in "[0-9]{1,21}\\.[0-9]{1,21}\\.[0-9]{1,21}|[0-9.a]{0,12}|1\\.0\\.18446744073709551615"
    ) {
        if entity::valid_semver(&v) {
            let bumped = entity::bump_patch(&v);
            prop_assert!(entity::valid_semver(&bumped), "{} -> {}", v, bumped);
            let patch = |v: &str| v.rsplit('.').next().unwrap().parse::<u64>().unwrap();
            prop_assert_eq!(patch(&bumped), patch(&v).saturating_add(1));
        }
    }

    #[test]
    fn completed_versions_are_valid_nonzero_and_stable(v in "[0-9.]{0,12}|[0-9]{1,21}(\\.[0-9]{1,21}){0,3}") {
        if let Some(full) = entity::semver(&v) {
            prop_assert!(entity::valid_semver(&full), "{} -> {}", v, full);
            prop_assert_ne!(full.as_str(), "0.0.0");
            prop_assert_eq!(entity::semver(&full), Some(full.clone()));
            let given: Vec<u64> = v.split('.').map(|p| p.parse().unwrap()).collect();
            let kept: Vec<u64> = full.split('.').map(|p| p.parse().unwrap()).collect();
            prop_assert_eq!(&kept[..given.len()], &given[..]);
        }
    }
}
