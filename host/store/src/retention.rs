//! How long the activation log keeps records: the cut-off times one upkeep run applies,
//! shared by the backends ([`crate::ActivationLog::expire_activations`]).

use crate::DAY_MS;

/// Records are removed in chunks of this many rows, each its own statement, so an upkeep run
/// never holds the log's write lock (SQLite) or one long transaction (PostgreSQL) for long.
pub(crate) const CHUNK: i64 = 10_000;

/// The cut-offs of one upkeep run: records that started before them are removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cutoffs {
    /// Every namespace's, from the system's retention; `None` keeps records for good.
    pub(crate) all: Option<i64>,
    /// The namespaces whose own retention is shorter than the system's, with their cut-off.
    pub(crate) namespaces: Vec<(String, i64)>,
}

impl Cutoffs {
    /// The cut-offs as of `now` (epoch ms) for a system retention of `days` and the
    /// namespaces' own retentions (`RETENTION_LIMIT` values as stored; those that are not
    /// a positive number of days, or not shorter than `days`, change nothing).
    pub(crate) fn of(days: Option<u32>, now: i64, own: Vec<(String, i64)>) -> Self {
        let before = |days: i64| now.saturating_sub(days.saturating_mul(DAY_MS));
        let namespaces = own
            .into_iter()
            .filter(|(_, d)| *d > 0 && days.is_none_or(|all| *d < i64::from(all)))
            .map(|(namespace, d)| (namespace, before(d)))
            .collect();
        Cutoffs {
            all: days.map(|d| before(i64::from(d))),
            namespaces,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_can_only_shorten_the_system_retention() {
        let now = 100 * DAY_MS;
        let own = vec![
            ("short".to_string(), 2),
            ("long".to_string(), 30),
            ("zero".to_string(), 0),
            ("negative".to_string(), -1),
        ];
        let c = Cutoffs::of(Some(7), now, own.clone());
        assert_eq!(c.all, Some(93 * DAY_MS));
        assert_eq!(c.namespaces, vec![("short".to_string(), 98 * DAY_MS)]);
        let forever = Cutoffs::of(None, now, own);
        assert_eq!(forever.all, None);
        assert_eq!(
            forever.namespaces,
            vec![
                ("short".to_string(), 98 * DAY_MS),
                ("long".to_string(), 70 * DAY_MS)
            ]
        );
    }
}
