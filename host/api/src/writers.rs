//! One entity writer per namespace at a time, for the writes its entity quota bounds: the
//! quota's check (a sum over the namespace's stored documents) and the write it allows
//! must not interleave with another's, or concurrent PUTs would each pass the check on the
//! same sum and together store past the quota. Within one node the quota is then exact;
//! nodes sharing a store (PostgreSQL) each serialise their own writers.
//!
//! Costs: a lock of a small map and an async mutex per quota-bound write; a namespace's
//! concurrent PUTs wait for each other, no other namespace's do.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;

/// The namespaces writing now, each with its turn.
#[derive(Debug, Default)]
pub struct EntityWriters {
    turns: Mutex<HashMap<Box<str>, Weak<tokio::sync::Mutex<()>>>>,
}

/// A namespace's turn to check its quota and write; the next writer goes when it is dropped.
pub type Turn = OwnedMutexGuard<()>;

impl EntityWriters {
    /// Waits for `namespace`'s turn (its root namespace: a package's entities count there).
    pub async fn turn(&self, namespace: &str) -> Turn {
        let lock = {
            let mut turns = self.turns.lock();
            match turns.get(namespace).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    // Namespaces whose writers are all gone leave a dead entry: clear those
                    // when the map has doubled since, so it stays as small as the live set.
                    if turns.len() >= 64 && turns.len().is_power_of_two() {
                        turns.retain(|_, turn| turn.strong_count() > 0);
                    }
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    turns.insert(namespace.into(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// How many namespaces the map remembers (live or dead).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.turns.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn writers_of_one_namespace_take_turns_and_others_do_not_wait() {
        let writers = Arc::new(EntityWriters::default());
        let first = writers.turn("a").await;
        let waiting = tokio::spawn({
            let writers = Arc::clone(&writers);
            async move { writers.turn("a").await }
        });
        // Another namespace's turn comes at once while "a" is held.
        drop(writers.turn("b").await);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a second writer of `a` waits");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(60), waiting)
            .await
            .expect("the turn passes on")
            .unwrap();
        drop(second);
    }

    #[tokio::test]
    async fn namespaces_no_one_writes_are_forgotten() {
        let writers = EntityWriters::default();
        for n in 0..10_000 {
            drop(writers.turn(&format!("ns{n}")).await);
        }
        assert!(writers.remembered() < 200, "{}", writers.remembered());
    }
}
