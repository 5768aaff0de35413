//! Per-namespace throttles (spec §8.1): invokes and trigger fires per minute, and activations
//! in flight. Checked on every activation a namespace starts (API invokes, web invokes, rule
//! invokes) and every trigger fire; sequence and conductor components are exempt, as in
//! OpenWhisk. Also the bytes of activation records a namespace stores per minute (a shoal
//! limit, see [`crate::stored`]), counted for every record, components' included. Costs one
//! map lookup and one uncontended lock per check; no allocation once a namespace has been
//! seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use foldhash::fast::RandomState;

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;

use crate::observer::{Limit, Observer, Quiet};
use shoal_model::WhiskError;

/// The system's namespace limits (OpenWhisk deploy defaults), as the `[limits]` section of
/// shoal's config sets them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Action invokes per minute per namespace.
    pub invocations_per_minute: u64,
    /// Activations in flight per namespace.
    pub concurrent_invocations: u64,
    /// Trigger fires per minute per namespace.
    pub fires_per_minute: u64,
    /// Largest invoke payload, in bytes.
    pub max_payload_bytes: usize,
    /// Bytes of activation records a namespace stores per minute in full; past them its
    /// records are stored without logs, then without results (a shoal limit).
    pub activation_bytes_per_minute: u64,
    /// Bytes of stored entities (actions, packages, triggers, rules) a namespace may hold,
    /// its packages' included (a shoal limit).
    pub entity_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            invocations_per_minute: 60,
            concurrent_invocations: 30,
            fires_per_minute: 60,
            max_payload_bytes: 1_048_576,
            activation_bytes_per_minute: 16 << 20,
            entity_bytes: 2 << 30,
        }
    }
}

/// A namespace's throttle limits: the system defaults, overridden per namespace by the
/// subject's stored limits (`invocationsPerMinute`, `concurrentInvocations`,
/// `firesPerMinute`, `storeActivations`, and shoal's `activationBytesPerMinute` and
/// `entityBytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceLimits {
    /// Action invokes per minute.
    pub invocations_per_minute: u64,
    /// Activations in flight at once.
    pub concurrent_invocations: u64,
    /// Trigger fires per minute.
    pub fires_per_minute: u64,
    /// OpenWhisk's `storeActivations`: `Some(false)` keeps every activation of the namespace
    /// out of the activation log; `None` (not set) stores them, as `Some(true)` does.
    pub store_activations: Option<bool>,
    /// Bytes of activation records stored in full per minute.
    pub activation_bytes_per_minute: u64,
    /// Bytes of stored entities, its packages' included: a quota of the whole store, not
    /// shared out among processes.
    pub entity_bytes: u64,
}

impl NamespaceLimits {
    /// `defaults` overridden by the keys present in a subject's stored `limits` object.
    pub fn resolve(defaults: &LimitsConfig, overrides: &Value) -> Self {
        let get = |key: &str, default: u64| {
            overrides
                .get(key)
                .and_then(Value::as_u64)
                .unwrap_or(default)
        };
        NamespaceLimits {
            invocations_per_minute: get("invocationsPerMinute", defaults.invocations_per_minute),
            concurrent_invocations: get("concurrentInvocations", defaults.concurrent_invocations),
            fires_per_minute: get("firesPerMinute", defaults.fires_per_minute),
            store_activations: overrides.get("storeActivations").and_then(Value::as_bool),
            activation_bytes_per_minute: get(
                ACTIVATION_BYTES_LIMIT,
                defaults.activation_bytes_per_minute,
            ),
            entity_bytes: get(ENTITY_BYTES_LIMIT, defaults.entity_bytes),
        }
    }

    /// This process's share of the limits when `processes` share them (one store, several
    /// nodes behind a load balancer): each limit divided by `processes`, rounded up, so the
    /// cluster admits at most `processes - 1` more than the limit and a lone process all of
    /// it. OpenWhisk divides by its number of controllers the same way.
    pub fn per_process(self, processes: u64) -> Self {
        let share = |limit: u64| limit.div_ceil(processes.max(1));
        NamespaceLimits {
            invocations_per_minute: share(self.invocations_per_minute),
            concurrent_invocations: share(self.concurrent_invocations),
            fires_per_minute: share(self.fires_per_minute),
            store_activations: self.store_activations,
            activation_bytes_per_minute: share(self.activation_bytes_per_minute),
            entity_bytes: self.entity_bytes,
        }
    }

    /// Whether the namespace's activations are written to the activation log.
    pub fn stores_activations(&self) -> bool {
        self.store_activations != Some(false)
    }
}

/// The stored limit (`shoal namespace set-limits --activation-bytes-per-minute`) that sets
/// [`NamespaceLimits::activation_bytes_per_minute`].
pub const ACTIVATION_BYTES_LIMIT: &str = "activationBytesPerMinute";

/// The stored limit (`shoal namespace set-limits --entity-bytes`) that sets
/// [`NamespaceLimits::entity_bytes`].
pub const ENTITY_BYTES_LIMIT: &str = "entityBytes";

/// The bytes of activation records a namespace may still store whole: a bucket that holds at
/// most a minute's worth of its limit and refills at that rate, so no burst passes the limit
/// (a fixed window would let twice through around a minute's turn). Charges past what is
/// left put it into debt, which the refill pays back first. `None` until first used: full.
#[derive(Debug, Default)]
struct ByteBucket(Mutex<Option<(i64, u64)>>);

impl ByteBucket {
    /// What is left at `now` (epoch ms) of a bucket of `allowed`, refilled since it was last
    /// used.
    fn refilled(state: &mut Option<(i64, u64)>, allowed: u64, now: u64) -> &mut i64 {
        let allowed = i64::try_from(allowed).unwrap_or(i64::MAX);
        let (left, at) = state.get_or_insert((allowed, now));
        let elapsed = i128::from(now.saturating_sub(*at));
        let refill = i128::from(allowed).saturating_mul(elapsed) / 60_000;
        // At most `allowed`: fits an i64.
        *left = (i128::from(*left) + refill).min(i128::from(allowed)) as i64;
        *at = now;
        left
    }

    /// The bytes stored in the last minute as of `now` (`allowed` less what is left; more
    /// than `allowed` in debt).
    fn used(&self, now: u64, allowed: u64) -> u64 {
        let mut state = self.0.lock();
        let left = Self::refilled(&mut state, allowed, now);
        u64::try_from(i128::from(allowed) - i128::from(*left)).unwrap_or(u64::MAX)
    }

    /// Takes `n` bytes at `now` when that many are left; else the bytes stored in the last
    /// minute that refused them (`allowed` less what is left).
    fn take(&self, now: u64, allowed: u64, n: u64) -> Result<(), u64> {
        let mut state = self.0.lock();
        let left = Self::refilled(&mut state, allowed, now);
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if *left < n {
            let used = i128::from(allowed) - i128::from(*left);
            return Err(u64::try_from(used).unwrap_or(u64::MAX));
        }
        *left -= n;
        Ok(())
    }

    /// Takes `n` bytes at `now` whatever is left.
    fn charge(&self, now: u64, allowed: u64, n: u64) {
        let mut state = self.0.lock();
        let left = Self::refilled(&mut state, allowed, now);
        *left = left.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// A fixed one-minute window counter (the window is the current epoch minute).
#[derive(Debug, Default)]
struct PerMinute(Mutex<(u64, u64)>);

impl PerMinute {
    /// Counts `n` at `minute` unless that would take the minute's count past `allowed`;
    /// returns the count that refused it.
    fn take(&self, minute: u64, allowed: u64, n: u64) -> Result<(), u64> {
        let mut w = self.0.lock();
        if w.0 != minute {
            *w = (minute, 0);
        }
        if w.1.saturating_add(n) > allowed {
            return Err(w.1);
        }
        w.1 += n;
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Counters {
    invokes: PerMinute,
    fires: PerMinute,
    stored: ByteBucket,
    in_flight: AtomicU64,
}

/// The throttle state of every namespace that has started an activation. One per process.
/// Each refusal is reported to its observer.
pub struct Throttles {
    namespaces: DashMap<String, Arc<Counters>, RandomState>,
    observer: Arc<dyn Observer>,
}

impl Default for Throttles {
    fn default() -> Self {
        Throttles::observed_by(Arc::new(Quiet))
    }
}

impl std::fmt::Debug for Throttles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttles")
            .field("namespaces", &self.namespaces.len())
            .finish_non_exhaustive()
    }
}

/// Holds one in-flight slot of a namespace; released when dropped (when the activation
/// ends).
#[derive(Debug)]
pub struct Permit(Arc<Counters>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The current epoch minute, the window the per-minute throttles count in.
fn current_minute() -> u64 {
    now_ms() / 60_000
}

/// The current time, epoch milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Throttles {
    /// No namespace throttled yet; refusals are reported to `observer`.
    pub fn observed_by(observer: Arc<dyn Observer>) -> Throttles {
        Throttles {
            namespaces: DashMap::default(),
            observer,
        }
    }

    /// 429 with `text`, reported as `namespace` over `limit`.
    fn refuse(&self, namespace: &str, limit: Limit, text: String) -> WhiskError {
        self.observer.throttled(namespace, limit);
        WhiskError::Throttled(text)
    }

    fn counters(&self, namespace: &str) -> Arc<Counters> {
        if let Some(c) = self.namespaces.get(namespace) {
            return c.clone();
        }
        self.namespaces
            .entry(namespace.to_string())
            .or_default()
            .clone()
    }

    /// Admits one activation of `namespace`: 429 with OpenWhisk's texts when it is over its
    /// per-minute or in-flight limit. The permit holds the in-flight slot.
    pub fn admit_invoke(
        &self,
        namespace: &str,
        limits: &NamespaceLimits,
    ) -> Result<Permit, WhiskError> {
        let c = self.counters(namespace);
        let in_flight = c.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Permit(c);
        if in_flight >= limits.concurrent_invocations {
            return Err(self.refuse(
                namespace,
                Limit::ConcurrentInvocations,
                crate::messages::too_many_concurrent(in_flight, limits.concurrent_invocations),
            ));
        }
        permit
            .0
            .invokes
            .take(current_minute(), limits.invocations_per_minute, 1)
            .map_err(|count| {
                self.refuse(
                    namespace,
                    Limit::InvocationsPerMinute,
                    crate::messages::too_many_per_minute(count, limits.invocations_per_minute),
                )
            })?;
        Ok(permit)
    }

    /// Admits one trigger fire of `namespace`: 429 when over `firesPerMinute`.
    pub fn admit_fire(&self, namespace: &str, limits: &NamespaceLimits) -> Result<(), WhiskError> {
        self.counters(namespace)
            .fires
            .take(current_minute(), limits.fires_per_minute, 1)
            .map_err(|count| {
                self.refuse(
                    namespace,
                    Limit::FiresPerMinute,
                    crate::messages::too_many_per_minute(count, limits.fires_per_minute),
                )
            })
    }

    /// Counts `bytes` of activation records `namespace` stores at `now` (epoch ms), unless
    /// they would take it past its `activationBytesPerMinute`; returns the bytes it stored in
    /// the last minute that refused them.
    pub(crate) fn admit_stored(
        &self,
        namespace: &str,
        limits: &NamespaceLimits,
        now: u64,
        bytes: usize,
    ) -> Result<(), u64> {
        let allowed = limits.activation_bytes_per_minute;
        (self.counters(namespace).stored).take(now, allowed, bytes as u64)
    }

    /// The bytes of activation records `namespace` stored in the last minute as of `now`.
    pub(crate) fn stored_lately(&self, namespace: &str, limits: &NamespaceLimits, now: u64) -> u64 {
        let allowed = limits.activation_bytes_per_minute;
        (self.counters(namespace).stored).used(now, allowed)
    }

    /// Counts `bytes` that `namespace` stores at `now` whatever its limit.
    pub(crate) fn charge_stored(
        &self,
        namespace: &str,
        limits: &NamespaceLimits,
        now: u64,
        bytes: usize,
    ) {
        let allowed = limits.activation_bytes_per_minute;
        (self.counters(namespace).stored).charge(now, allowed, bytes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_sharing_a_store_each_take_a_rounded_up_share() {
        let l = NamespaceLimits {
            invocations_per_minute: 5,
            concurrent_invocations: 30,
            fires_per_minute: 1,
            store_activations: Some(false),
            activation_bytes_per_minute: 1001,
            entity_bytes: 7,
        };
        assert_eq!(l.per_process(1), l);
        assert_eq!(l.per_process(0), l, "no count is one process");
        let half = l.per_process(2);
        assert_eq!(
            (
                half.invocations_per_minute,
                half.concurrent_invocations,
                half.fires_per_minute
            ),
            (3, 15, 1)
        );
        assert_eq!(half.activation_bytes_per_minute, 501);
        assert_eq!(half.entity_bytes, 7, "a quota of the whole store");
        assert_eq!(half.store_activations, Some(false));
    }
    use serde_json::json;

    fn limits(per_minute: u64, concurrent: u64) -> NamespaceLimits {
        NamespaceLimits {
            invocations_per_minute: per_minute,
            concurrent_invocations: concurrent,
            fires_per_minute: per_minute,
            store_activations: None,
            activation_bytes_per_minute: 100,
            entity_bytes: 100,
        }
    }

    #[test]
    fn per_minute_window_counts_and_resets() {
        let w = PerMinute::default();
        assert!(w.take(7, 2, 1).is_ok());
        assert!(w.take(7, 2, 1).is_ok());
        assert_eq!(w.take(7, 2, 1), Err(2));
        assert!(w.take(8, 2, 1).is_ok(), "a new minute starts a new window");
    }

    #[test]
    fn the_largest_limits_and_clock_jumps_neither_overflow_nor_panic() {
        let t = Throttles::default();
        let mut l = limits(1, 1);
        l.activation_bytes_per_minute = u64::MAX;
        assert!(
            t.admit_stored("ns", &l, 0, usize::MAX).is_ok(),
            "a full bucket of i64::MAX"
        );
        t.charge_stored("ns", &l, 0, usize::MAX);
        t.charge_stored("ns", &l, 0, usize::MAX);
        assert!(
            t.admit_stored("ns", &l, u64::MAX, 1).is_ok(),
            "refilled, capped"
        );
        assert!(
            t.admit_stored("ns", &l, 0, 1).is_ok(),
            "a clock that goes back refills nothing"
        );
        assert!(t.stored_lately("ns", &l, u64::MAX) < u64::MAX);
    }

    #[test]
    fn stored_bytes_refill_at_the_limit_per_minute() {
        let t = Throttles::default();
        let l = limits(1, 1);
        assert!(t.admit_stored("ns", &l, 7, 60).is_ok());
        assert_eq!(t.admit_stored("ns", &l, 7, 41), Err(60), "60 + 41 > 100");
        assert!(t.admit_stored("ns", &l, 7, 40).is_ok(), "60 + 40 fits");
        t.charge_stored("ns", &l, 7, 5);
        assert_eq!(
            t.admit_stored("ns", &l, 7, 0),
            Err(105),
            "a charge may overdraw"
        );
        assert!(t.admit_stored("other", &l, 7, 100).is_ok());
        // 100 a minute: 0.6 s refills 1 byte, paying back the debt of 5 first.
        assert_eq!(
            t.admit_stored("ns", &l, 7 + 3_000, 1),
            Err(100),
            "5 refilled, 0 left"
        );
        assert!(t.admit_stored("ns", &l, 7 + 3_600, 1).is_ok(), "6 refilled");
        let half_a_minute_later = 7 + 3_600 + 30_000;
        let refused = t.admit_stored("ns", &l, half_a_minute_later, 51);
        assert_eq!(refused, Err(50), "half a minute refills 50");
        assert!(
            t.admit_stored("ns", &l, 7 + 600_000, 100).is_ok(),
            "full again"
        );
        assert!(
            t.admit_stored("ns", &l, 7 + 1_200_000, 101).is_err(),
            "never more than a minute's worth"
        );
    }

    #[test]
    fn invokes_over_the_rate_get_openwhisk_text() {
        let t = Throttles::default();
        let l = limits(2, 10);
        let _a = t.admit_invoke("ns", &l).unwrap();
        let _b = t.admit_invoke("ns", &l).unwrap();
        let e = t.admit_invoke("ns", &l).unwrap_err();
        assert!(matches!(e, WhiskError::Throttled(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "Too many requests in the last minute (count: 2, allowed: 2)."
        );
        assert!(
            t.admit_invoke("other", &l).is_ok(),
            "namespaces are separate"
        );
    }

    #[test]
    fn in_flight_slots_are_released_when_permits_drop() {
        let t = Throttles::default();
        let l = limits(100, 1);
        let first = t.admit_invoke("ns", &l).unwrap();
        let e = t.admit_invoke("ns", &l).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Too many concurrent requests in flight (count: 1, allowed: 1)."
        );
        drop(first);
        assert!(t.admit_invoke("ns", &l).is_ok());
    }

    #[test]
    fn fires_have_their_own_window() {
        let t = Throttles::default();
        let l = limits(1, 10);
        assert!(t.admit_fire("ns", &l).is_ok());
        let refused = t.admit_fire("ns", &l).unwrap_err();
        assert!(matches!(refused, WhiskError::Throttled(_)), "{refused}");
        assert!(t.admit_invoke("ns", &l).is_ok());
    }

    #[test]
    fn subject_overrides_replace_defaults_per_key() {
        let d = LimitsConfig::default();
        let l = NamespaceLimits::resolve(&d, &json!({"invocationsPerMinute": 1000}));
        assert_eq!(l.invocations_per_minute, 1000);
        assert_eq!(l.concurrent_invocations, d.concurrent_invocations);
        assert_eq!(l.fires_per_minute, d.fires_per_minute);
        assert!(l.stores_activations() && l.store_activations.is_none());
        let l = NamespaceLimits::resolve(&d, &json!({"storeActivations": false}));
        assert!(!l.stores_activations());
        let l = NamespaceLimits::resolve(&d, &json!({"storeActivations": true}));
        assert_eq!(l.store_activations, Some(true));
    }
}
