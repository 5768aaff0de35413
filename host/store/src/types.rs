//! The values that cross the store boundary. Plain data: no I/O, no locks.

use serde_json::Value;

/// Which entity collection a document belongs to.
///
/// A `Copy` tag stored as its [`Collection::as_str`] text in the `collection` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    /// `actions`: may live in a package (`namespace` = `ns/pkg`).
    Actions,
    /// `packages`: always directly in a namespace.
    Packages,
    /// `triggers`: always directly in a namespace.
    Triggers,
    /// `rules`: always directly in a namespace.
    Rules,
}

impl Collection {
    /// Every collection, in the order OpenWhisk lists them.
    pub const ALL: [Collection; 4] = [
        Collection::Actions,
        Collection::Packages,
        Collection::Triggers,
        Collection::Rules,
    ];

    /// The collection's name as used in URLs, count responses and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Actions => "actions",
            Collection::Packages => "packages",
            Collection::Triggers => "triggers",
            Collection::Rules => "rules",
        }
    }

    /// The inverse of [`Collection::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored entity (action, package, trigger or rule).
///
/// Its document id is `namespace + "/" + name`, unique across all collections. Owned by the
/// caller; the store copies what it needs on write and builds a fresh value on every read.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// `"guest"`, or `"guest/pkg"` for an action inside package `pkg`.
    pub namespace: String,
    /// The simple name (no slashes).
    pub name: String,
    /// Which collection the entity is in.
    pub collection: Collection,
    /// The full entity JSON exactly as the API returns it; stored verbatim.
    pub doc: Value,
    /// Epoch milliseconds of the last change, set by the caller; lists sort newest first on it.
    pub updated: i64,
    /// Revision assigned by the store (1 on create, +1 per update); ignored on `put_entity`.
    pub rev: u64,
}

/// A namespace and the credentials that own it.
///
/// Small; cloned freely. Upserted by `namespace`; `uuid` is unique across namespaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The subject (user) name, reported as `subject` in activations.
    pub subject: String,
    /// The namespace this credential pair grants.
    pub namespace: String,
    /// The public half of the API key (`uuid:key`), the lookup key for Basic auth.
    pub uuid: String,
    /// The secret half of the API key.
    pub key: String,
    /// Per-namespace limit overrides (spec §2.1 keys); `{}` means system defaults.
    pub limits: Value,
}

/// One activation to append to the log.
///
/// Moved into [`crate::ActivationLog::put_activation`]; the store keeps it (shared, immutable) until the
/// log has committed it, then drops it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRecord {
    /// The invoking namespace, which owns the record.
    pub namespace: String,
    /// 32 lowercase hex chars, unique per namespace.
    pub activation_id: String,
    /// The action or trigger simple name.
    pub name: String,
    /// `"pkg/name"` or `"name"`: what the list filter `?name=` matches exactly.
    pub filter_name: String,
    /// Epoch milliseconds; lists sort newest first on it.
    pub start: i64,
    /// The full activation record as JSON text (OpenWhisk extended form), serialised once by
    /// the caller and stored verbatim; reads parse it.
    pub doc: String,
}

/// The key of a subject's `limits` (a shoal extension, set with `shoal namespace set-limits
/// --activation-retention-days`) that keeps the namespace's activation records fewer days
/// than the system's retention: a positive integer number of days.
pub const RETENTION_LIMIT: &str = "activationRetentionDays";

/// Milliseconds in a day: the unit of activation retention.
pub const DAY_MS: i64 = 86_400_000;

/// Filters and paging for listing or counting activations (spec §2.7).
///
/// Results are ordered by `start` descending, then activation id descending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationQuery {
    /// The owning (invoking) namespace.
    pub namespace: String,
    /// Exact match on the record's `filter_name` when set.
    pub name: Option<String>,
    /// Inclusive lower bound on `start` (epoch ms).
    pub since: Option<i64>,
    /// Inclusive upper bound on `start` (epoch ms).
    pub upto: Option<i64>,
    /// Number of matching records to skip (ignored by counts).
    pub skip: u64,
    /// Maximum number of records to return, taken literally: `0` returns nothing (the API
    /// resolves OpenWhisk's defaults). Ignored by counts. A page also ends at
    /// [`crate::MAX_PAGE_BYTES`] of stored records.
    pub limit: u64,
    /// Whole records (`docs=true`); otherwise summaries, each record without its `logs`
    /// and `response.result` (what a list shows of it, read without copying those out).
    pub docs: bool,
}

impl ActivationQuery {
    /// Whether a record satisfies the namespace, name and time filters.
    pub(crate) fn matches(&self, r: &ActivationRecord) -> bool {
        r.namespace == self.namespace
            && self.name.as_ref().is_none_or(|n| *n == r.filter_name)
            && r.start >= self.since_bound()
            && r.start <= self.upto_bound()
    }

    pub(crate) fn since_bound(&self) -> i64 {
        self.since.unwrap_or(i64::MIN)
    }

    pub(crate) fn upto_bound(&self) -> i64 {
        self.upto.unwrap_or(i64::MAX)
    }
}

/// Counters of the activation log's writers, for health and benches.
///
/// A snapshot: copied out of atomics, stale as soon as it is returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions of activation records committed.
    pub batches: u64,
    /// Activation records committed.
    pub records: u64,
    /// Activation records refused because the store could not write them (whoever waited
    /// for one was told why).
    pub failed: u64,
    /// Records enqueued but not yet committed at the time of the snapshot.
    pub pending: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names_round_trip() {
        for c in Collection::ALL {
            assert_eq!(Collection::parse(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Collection::parse("action"), None);
        assert_eq!(Collection::Rules.as_str(), "rules");
    }

    #[test]
    fn query_matching_applies_all_filters_inclusively() {
        let rec = ActivationRecord {
            namespace: "guest".into(),
            activation_id: "0".repeat(32),
            name: "hello".into(),
            filter_name: "pkg/hello".into(),
            start: 100,
            doc: "{}".into(),
        };
        let mut q = ActivationQuery {
            namespace: "guest".into(),
            ..ActivationQuery::default()
        };
        assert!(q.matches(&rec));
        q.since = Some(100);
        q.upto = Some(100);
        assert!(q.matches(&rec));
        q.name = Some("pkg/hello".into());
        assert!(q.matches(&rec));
        q.name = Some("hello".into());
        assert!(!q.matches(&rec));
        q.name = None;
        q.since = Some(101);
        assert!(!q.matches(&rec));
        q.since = None;
        q.upto = Some(99);
        assert!(!q.matches(&rec));
        q.upto = None;
        q.namespace = "other".into();
        assert!(!q.matches(&rec));
    }
}

/// A feed's schedule: what the alarm service needs to fire a trigger, kept across restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSchedule {
    /// The trigger it fires: `/namespace/name`.
    pub trigger: String,
    /// The trigger's namespace (for listing and clean-up).
    pub namespace: String,
    /// The feed's configuration as the feed action stored it.
    pub config: serde_json::Value,
    /// The last tick (epoch ms) that was claimed for firing, if any.
    pub last_fire: Option<i64>,
}

/// One API of the built-in gateway: the OpenAPI (Swagger 2.0) document that `wsk api create`
/// builds up, one per namespace and base path.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayApi {
    /// The namespace that owns the API.
    pub namespace: String,
    /// The API's base path (`/hello`, or `/`): unique per namespace.
    pub base_path: String,
    /// The OpenAPI document, stored verbatim.
    pub doc: serde_json::Value,
    /// The API keys subscribed to it: client id → SHA-256 hex of its secret, or `""` for a
    /// key without one. Replacing the document keeps them; deleting the API drops them.
    pub subscriptions: serde_json::Value,
    /// Epoch milliseconds of the last change; lists sort by base path, not by this.
    pub updated: i64,
}
