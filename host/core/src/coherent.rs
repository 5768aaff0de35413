//! [`Coherent`]: a cache of store reads that follows the store's change stream and never
//! keeps a read that a write overtook.
//!
//! A read races a write: a value read from the store just before a write commits would be
//! cached after the write's announcement dropped the old entry, and served until the next
//! write. So every announcement is counted, a reader notes the count before it reads the
//! store ([`Coherent::seen`]), and [`Coherent::keep`] keeps the value only if the count has
//! not moved. Costs one atomic add per announced change and one load per miss; hits are a
//! sharded map lookup, as before.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use foldhash::fast::RandomState;

/// Values read from the store, by key, dropped when the store announces a change to them.
pub struct Coherent<V> {
    entries: DashMap<String, V, RandomState>,
    /// Changes announced so far.
    changes: AtomicU64,
}

impl<V> Default for Coherent<V> {
    fn default() -> Self {
        Coherent {
            entries: DashMap::default(),
            changes: AtomicU64::new(0),
        }
    }
}

impl<V: Clone> Coherent<V> {
    /// The cached value of `key`.
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key).map(|hit| hit.clone())
    }

    /// What to hand [`Coherent::keep`] for a value about to be read from the store.
    pub fn seen(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Keeps `value` as `key`, read from the store after [`Coherent::seen`] said `seen`,
    /// unless a change was announced since (then the next lookup reads the store again).
    pub fn keep(&self, key: String, value: V, seen: u64) {
        self.entries.insert(key.clone(), value);
        if self.seen() != seen {
            self.entries.remove(&key);
        }
    }

    /// Drops `key` without a change (the store no longer has it).
    pub fn drop_entry(&self, key: &str) {
        self.entries.remove(key);
    }

    /// Drops `key` because the store announced a change to it. Counts the change first, so
    /// a read that missed it either sees the count move or has its entry dropped here.
    pub fn forget(&self, key: &str) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(key);
    }

    /// Drops every entry `changed` says the announced change touches.
    pub fn forget_where(&self, mut changed: impl FnMut(&V) -> bool) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.entries.retain(|_, value| !changed(value));
    }

    /// How many entries are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_overtaken_by_a_change_is_not_kept() {
        let cache = Coherent::<u32>::default();
        // Read before a write committed; the write's announcement came meanwhile.
        let seen = cache.seen();
        cache.forget("a");
        cache.keep("a".into(), 1, seen);
        assert_eq!(cache.get("a"), None, "a stale read is not kept");
        // A read with no change announced meanwhile is kept, until a change drops it.
        let seen = cache.seen();
        cache.keep("a".into(), 2, seen);
        cache.keep("b".into(), 3, seen);
        assert_eq!((cache.get("a"), cache.len()), (Some(2), 2));
        cache.forget_where(|v| *v == 3);
        assert_eq!((cache.get("a"), cache.get("b")), (Some(2), None));
        let seen = cache.seen();
        cache.forget_where(|_| false);
        cache.keep("b".into(), 4, seen);
        assert_eq!(cache.get("b"), None, "any change counts");
    }
}
