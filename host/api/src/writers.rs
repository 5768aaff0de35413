//! One entity writer per namespace at a time, for the writes its entity quota bounds, and
//! what each namespace's entities are known to take at most.
//!
//! The quota's check and the write it allows must not interleave with another's, or
//! concurrent PUTs would each pass the check on the same sum and together store past the
//! quota: a namespace's writers take turns ([`EntityWriters::turn`]). Nodes sharing a store
//! (PostgreSQL) each serialise their own writers, so PUTs sent at once through several
//! nodes may pass it by one entity per node.
//!
//! Summing a namespace's stored documents costs a scan of all of them, so doing it for every
//! PUT made deploying n actions cost O(n²). On a store no other process shares, a turn
//! carries a [`Bound`]: the bytes the namespace's entities took at its last sum, once the
//! write that sum allowed was stored, plus every write allowed since (replaced and deleted
//! documents still counted), so at least what they take now. A write that fits under the
//! quota on that bound passes without a scan; one that would not (a namespace near its
//! quota) sums again. A bound is summed again once it is [`Bound::FRESH`] old, and writes
//! the bound cannot count (a rule's link on its trigger) drop it ([`Bound::forget`]). On a
//! shared store every write sums, so that no node passes on a bound that misses another's
//! writes.
//!
//! Costs: a lock of a small map and an async mutex per quota-bound write; a namespace's
//! concurrent PUTs wait for each other, no other namespace's do. The map keeps a namespace
//! while its bound is fresh or a writer holds its turn.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;

/// The namespaces being written or recently written, each with its turn and bound.
#[derive(Debug, Default)]
pub struct EntityWriters {
    turns: Mutex<HashMap<Box<str>, Arc<tokio::sync::Mutex<Bound>>>>,
}

/// A namespace's turn to check its quota and write, with its [`Bound`]; the next writer goes
/// when it is dropped.
pub type Turn = OwnedMutexGuard<Bound>;

/// At least the bytes a namespace's stored entities take, as of when it was last summed.
#[derive(Debug, Default)]
pub struct Bound {
    bytes: Option<(u64, Instant)>,
    /// What a sum that allowed a write makes the bound once that write is stored
    /// ([`Bound::stored`]): the sum leaves out the entity the write replaces, which stays
    /// if the write fails.
    pending: Option<(u64, Instant)>,
}

/// Whether a write fits its namespace's quota.
#[derive(Debug, PartialEq, Eq)]
pub enum Fits {
    /// It fits.
    Yes,
    /// The namespace's entities would take this many bytes with it.
    No(u64),
}

impl Bound {
    /// How long a sum counts writes made through other nodes.
    pub const FRESH: Duration = Duration::from_secs(10);

    /// Whether a write of `own` bytes fits within `allowed`: on this bound while it is fresh
    /// at `now` and leaves room (and only when this process is `alone` on its store), else
    /// on `sum` (what the namespace's other entities take, the one being replaced left
    /// out). A write that fits on the bound is counted in it, whether or not it is then
    /// stored; one that fits on a sum makes the bound only once it is [`Bound::stored`].
    pub async fn fits<E>(
        &mut self,
        own: u64,
        allowed: u64,
        now: Instant,
        alone: bool,
        sum: impl Future<Output = Result<u64, E>>,
    ) -> Result<Fits, E> {
        self.pending = None;
        if let Some((bytes, at)) = self.bytes
            && alone
            && now.saturating_duration_since(at) < Self::FRESH
            && bytes.saturating_add(own) <= allowed
        {
            self.bytes = Some((bytes + own, at));
            return Ok(Fits::Yes);
        }
        self.bytes = None;
        let total = sum.await?.saturating_add(own);
        if total > allowed {
            return Ok(Fits::No(total));
        }
        self.pending = Some((total, now));
        Ok(Fits::Yes)
    }

    /// The write [`Bound::fits`] allowed is stored.
    pub fn stored(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.bytes = Some(pending);
        }
    }

    /// Drops the bound: the next write sums. For writes that store more than was counted.
    pub fn forget(&mut self) {
        *self = Bound::default();
    }

    fn fresh(&self, now: Instant) -> bool {
        self.bytes
            .is_some_and(|(_, at)| now.saturating_duration_since(at) < Self::FRESH)
    }
}

impl EntityWriters {
    /// Waits for `namespace`'s turn (its root namespace: a package's entities count there).
    pub async fn turn(&self, namespace: &str) -> Turn {
        let lock = {
            let mut turns = self.turns.lock();
            match turns.get(namespace) {
                Some(lock) => Arc::clone(lock),
                None => {
                    // Forget namespaces no one holds a turn of and whose bounds went stale,
                    // each time the map has doubled, so it stays as small as the live set.
                    if turns.len() >= 64 && turns.len().is_power_of_two() {
                        let now = Instant::now();
                        // Clones are made under this lock only: a count above one is a
                        // writer holding or awaiting the turn.
                        turns.retain(|_, lock| {
                            Arc::strong_count(lock) > 1
                                || lock.try_lock().map_or(true, |bound| bound.fresh(now))
                        });
                    }
                    let lock = Arc::new(tokio::sync::Mutex::new(Bound::default()));
                    turns.insert(namespace.into(), Arc::clone(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// How many namespaces the map remembers.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.turns.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::convert::Infallible;
    use std::task::Poll;

    use super::*;

    /// A writer of `namespace` that takes its turn and gives it back.
    fn another_writer(
        writers: &Arc<EntityWriters>,
        namespace: &'static str,
    ) -> tokio::task::JoinHandle<()> {
        let writers = Arc::clone(writers);
        tokio::spawn(async move { drop(writers.turn(namespace).await) })
    }

    /// Waits for `writer` to have had its turn (a liveness bound, not a timing margin).
    async fn passes_on(writer: tokio::task::JoinHandle<()>) {
        tokio::time::timeout(Duration::from_secs(60), writer)
            .await
            .expect("the turn passes on")
            .unwrap();
    }

    #[tokio::test]
    async fn writers_of_one_namespace_take_turns_and_others_do_not_wait() {
        let writers = Arc::new(EntityWriters::default());
        let first = writers.turn("a").await;
        let waiting = another_writer(&writers, "a");
        // Another namespace's turn comes at once while "a" is held.
        drop(writers.turn("b").await);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a second writer of `a` waits");
        drop(first);
        passes_on(waiting).await;
    }

    #[tokio::test]
    async fn a_turn_held_or_awaited_is_never_forgotten() {
        let writers = Arc::new(EntityWriters::default());
        let held = writers.turn("held").await;
        let waiting = another_writer(&writers, "held");
        tokio::task::yield_now().await;
        // Enough other namespaces for the map to be pruned several times.
        for n in 0..1_000 {
            drop(writers.turn(&format!("ns{n}")).await);
        }
        let mut again = Box::pin(writers.turn("held"));
        let polled = std::future::poll_fn(|cx| Poll::Ready(again.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "a third writer of `held` waits too");
        assert!(!waiting.is_finished(), "and so does the second");
        drop(held);
        passes_on(waiting).await;
        drop(again.await);
    }

    #[tokio::test]
    async fn namespaces_no_one_writes_are_forgotten() {
        let writers = EntityWriters::default();
        for n in 0..10_000 {
            drop(writers.turn(&format!("ns{n}")).await);
        }
        assert!(writers.remembered() < 200, "{}", writers.remembered());
    }

    #[tokio::test]
    async fn far_below_the_quota_writes_pass_on_the_bound_and_near_it_each_is_summed() {
        let sums = Cell::new(0);
        let stored = 1_000u64;
        // Counted when awaited: a bound that suffices never runs its sum.
        let sum = || async {
            sums.set(sums.get() + 1);
            Ok::<_, Infallible>(stored)
        };
        let t0 = Instant::now();
        let mut bound = Bound::default();
        // The first write sums; once it is stored, the next ones fit on the bound, until it
        // nears the quota.
        assert_eq!(bound.fits(100, 2_000, t0, true, sum()).await, Ok(Fits::Yes));
        bound.stored();
        for n in 0..4 {
            assert_eq!(bound.fits(100, 2_000, t0, true, sum()).await, Ok(Fits::Yes));
            assert_eq!(sums.get(), 1, "write {n}");
        }
        // 1,500 counted: 600 more passes the bound, so it is summed (1,000 stored) and fits.
        assert_eq!(bound.fits(600, 2_000, t0, true, sum()).await, Ok(Fits::Yes));
        assert_eq!(sums.get(), 2);
        bound.stored();
        // 1,600 counted now: 1,001 more is summed again and refused on the real sum.
        assert_eq!(
            bound.fits(1_001, 2_000, t0, true, sum()).await,
            Ok(Fits::No(2_001))
        );
        assert_eq!(sums.get(), 3);
        // A stale bound is summed whatever room it shows.
        assert_eq!(bound.fits(1, 2_000, t0, true, sum()).await, Ok(Fits::Yes));
        bound.stored();
        let later = t0 + Bound::FRESH;
        assert_eq!(
            bound.fits(1, 2_000, later, true, sum()).await,
            Ok(Fits::Yes)
        );
        assert_eq!(sums.get(), 5);
    }

    /// A sum leaves out the entity a write replaces; if that write is refused or never
    /// stored, the old entity stays, and the next write must not pass on a bound without it.
    #[tokio::test]
    async fn a_bound_comes_only_from_a_write_that_was_stored() {
        let sums = Cell::new(0);
        let sum = |others: u64| {
            let sums = &sums;
            async move {
                sums.set(sums.get() + 1);
                Ok::<_, Infallible>(others)
            }
        };
        let t0 = Instant::now();
        let mut bound = Bound::default();
        // X (150) stored; replacing it with 250 is refused: the others are 0.
        assert_eq!(
            bound.fits(250, 200, t0, true, sum(0)).await,
            Ok(Fits::No(250))
        );
        // Y (150) is summed again (X's 150 counts) and refused, not passed on a bound of 0.
        assert_eq!(
            bound.fits(150, 200, t0, true, sum(150)).await,
            Ok(Fits::No(300))
        );
        // A write allowed on a sum but never stored leaves no bound behind.
        assert_eq!(bound.fits(10, 200, t0, true, sum(150)).await, Ok(Fits::Yes));
        assert_eq!(bound.fits(10, 200, t0, true, sum(150)).await, Ok(Fits::Yes));
        assert_eq!(sums.get(), 4, "each write summed");
        // Forgotten, or shared with other processes, a bound is not used either.
        bound.stored();
        bound.forget();
        assert_eq!(bound.fits(1, 200, t0, true, sum(160)).await, Ok(Fits::Yes));
        bound.stored();
        assert_eq!(bound.fits(1, 200, t0, false, sum(161)).await, Ok(Fits::Yes));
        assert_eq!(sums.get(), 6);
    }
}
