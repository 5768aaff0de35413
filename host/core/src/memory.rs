//! The process-wide memory budget of the in-process domains (JS and WASM isolates).
//!
//! Every isolate activation reserves its `limits.memory` (what its engine lets it allocate)
//! from one [`MemoryBudget`] before it runs and gives it back when it ends, as OpenWhisk's
//! invoker reserves a container's memory from its user memory. Idle JS isolates hold no
//! reservation; they count by the bytes their engines report. (WASM keeps no idle instances;
//! its compiled modules are code, bounded by its module cache, and not counted.) When an activation does not
//! fit next to the running ones and the idle isolates, the idle isolates of every engine are
//! dropped first; then the activation waits, in arrival order, until enough memory is given
//! back or its own time limit passes, and fails with the capacity error
//! ([`messages::no_memory_capacity`]).
//!
//! One namespace (the invoking one, whose heaps they are) may hold at most half of the budget
//! in reservations, or a single activation of any size that fits the budget: past that its
//! activations wait for its own to give memory back, so that one tenant's many large, slow
//! activations cannot leave another's waiting for memory.
//!
//! So the memory the isolates hold stays within the budget, except for idle isolates that
//! went idle since the last time an activation found the budget short (each engine also caps
//! its idle isolates by `isolates.max_resident_mib`). Containers are outside the budget:
//! their memory is the container engine's to enforce.
//!
//! Costs per activation: one atomic compare-and-swap to reserve, one to give back, a map
//! update under a lock for the namespace's share each way, and a read of the engines'
//! resident-byte counters.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, Outcome, PrepareError,
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::messages;

const MIB: u64 = 1024 * 1024;

/// Memory for running isolate activations, in MiB, shared by every in-process executor.
pub struct MemoryBudget {
    total_mib: u32,
    /// One permit per MiB not reserved by a running activation. Fair: a large reservation
    /// at the head of the queue is not overtaken by smaller ones.
    free: Arc<Semaphore>,
    /// MiB reserved by each namespace with running activations.
    by_tenant: Mutex<HashMap<Arc<str>, u32>>,
    /// Wakes the activations waiting for their namespace's share when one gives some back.
    released: Notify,
    /// The engines whose idle isolates count against the budget and are dropped under
    /// pressure.
    engines: Vec<Arc<dyn Executor>>,
    /// Activations waiting for memory right now.
    waiting: AtomicU64,
    /// Times the idle isolates were dropped because the budget was short.
    trims: AtomicU64,
    /// Whether a trim is under way.
    trimming: AtomicBool,
    /// Activations that failed because no memory was freed within their time limit.
    refused: AtomicU64,
}

/// A running activation's share of the budget; dropping it gives the share back.
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
    _share: TenantShare,
}

/// What one activation holds of its namespace's share; dropping it gives that back.
struct TenantShare {
    budget: Arc<MemoryBudget>,
    tenant: Arc<str>,
    mib: u32,
}

impl Drop for TenantShare {
    fn drop(&mut self) {
        let mut by_tenant = self.budget.by_tenant.lock();
        if let Some(held) = by_tenant.get_mut(&self.tenant) {
            *held = held.saturating_sub(self.mib);
            if *held == 0 {
                by_tenant.remove(&self.tenant);
            }
        }
        drop(by_tenant);
        self.budget.released.notify_waiters();
    }
}

/// The budget's figures, as `GET /health` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetFigures {
    /// The whole budget, in MiB.
    pub budget_mib: u32,
    /// Reserved by running activations, in MiB.
    pub reserved_mib: u32,
    /// Held by isolates as their engines count it (idle ones and the running ones' heaps).
    pub resident_bytes: u64,
    /// Activations waiting for memory.
    pub waiting: u64,
    /// Times the idle isolates were dropped because the budget was short.
    pub trims: u64,
    /// Activations that failed because no memory was freed within their time limit.
    pub refused: u64,
}

impl MemoryBudget {
    /// A budget of `total_mib` MiB (at most `u32::MAX`) over the idle isolates of `engines`.
    pub fn new(total_mib: u64, engines: Vec<Arc<dyn Executor>>) -> Arc<MemoryBudget> {
        let total_mib = u32::try_from(total_mib).unwrap_or(u32::MAX);
        Arc::new(MemoryBudget {
            total_mib,
            free: Arc::new(Semaphore::new(total_mib as usize)),
            by_tenant: Mutex::default(),
            released: Notify::new(),
            engines,
            waiting: AtomicU64::new(0),
            trims: AtomicU64::new(0),
            trimming: AtomicBool::new(false),
            refused: AtomicU64::new(0),
        })
    }

    /// Reserves `memory_mb` for an activation of `tenant` that must start before `deadline`:
    /// at once when it fits in the namespace's share and the budget, else after the idle
    /// isolates were dropped and enough was given back. `Err` holds the capacity error's
    /// text.
    pub async fn reserve(
        self: &Arc<Self>,
        tenant: &Arc<str>,
        memory_mb: u64,
        deadline: Instant,
    ) -> Result<Reservation, String> {
        let refuse = || {
            self.refused.fetch_add(1, Ordering::Relaxed);
            messages::no_memory_capacity(memory_mb, self.total_mib)
        };
        let want = match u32::try_from(memory_mb) {
            Ok(want) if want <= self.total_mib => want,
            _ => return Err(refuse()),
        };
        let Some(share) = self.share(tenant, want, deadline).await else {
            return Err(refuse());
        };
        if let Ok(permit) = Arc::clone(&self.free).try_acquire_many_owned(want) {
            // Room for the running ones, but the idle ones push the total past the budget:
            // drop them (in the background; this activation need not wait for it).
            if self.free.available_permits() as u64 * MIB < self.resident_bytes()
                && let Some(trim) = self.trim()
            {
                tokio::spawn(trim);
            }
            return Ok(Reservation {
                _permit: permit,
                _share: share,
            });
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let waited = async {
            if self.resident_bytes() > 0
                && let Some(trim) = self.trim()
            {
                trim.await;
            }
            let acquire = Arc::clone(&self.free).acquire_many_owned(want);
            tokio::time::timeout_at(deadline.into(), acquire).await
        }
        .await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        match waited {
            Ok(Ok(permit)) => Ok(Reservation {
                _permit: permit,
                _share: share,
            }),
            // Timed out (the semaphore is never closed).
            _ => Err(refuse()),
        }
    }

    /// Takes `want` MiB of `tenant`'s share (half the budget, or one activation of any size),
    /// waiting until `deadline` for its own activations to give enough back; `None` when
    /// they did not.
    async fn share(
        self: &Arc<Self>,
        tenant: &Arc<str>,
        want: u32,
        deadline: Instant,
    ) -> Option<TenantShare> {
        let most = self.total_mib / 2;
        loop {
            let released = self.released.notified();
            let mut released = std::pin::pin!(released);
            // Registered before the check, so a release after it is not missed.
            released.as_mut().enable();
            {
                let mut by_tenant = self.by_tenant.lock();
                let held = by_tenant.entry(Arc::clone(tenant)).or_insert(0);
                if *held == 0 || held.saturating_add(want) <= most {
                    *held += want;
                    return Some(TenantShare {
                        budget: Arc::clone(self),
                        tenant: Arc::clone(tenant),
                        mib: want,
                    });
                }
            }
            self.waiting.fetch_add(1, Ordering::Relaxed);
            let woken = tokio::time::timeout_at(deadline.into(), released).await;
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            woken.ok()?;
        }
    }

    /// The budget's figures now.
    pub fn figures(&self) -> BudgetFigures {
        let free = u32::try_from(self.free.available_permits()).unwrap_or(self.total_mib);
        BudgetFigures {
            budget_mib: self.total_mib,
            reserved_mib: self.total_mib.saturating_sub(free),
            resident_bytes: self.resident_bytes(),
            waiting: self.waiting.load(Ordering::Relaxed),
            trims: self.trims.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    /// Drops the idle isolates of every engine, unless that is already under way (then
    /// `None`: one trim at a time, however many activations find the budget short).
    fn trim(self: &Arc<Self>) -> Option<impl Future<Output = ()> + Send + 'static> {
        if self.trimming.swap(true, Ordering::AcqRel) {
            return None;
        }
        self.trims.fetch_add(1, Ordering::Relaxed);
        let this = Arc::clone(self);
        Some(async move {
            for engine in &this.engines {
                engine.trim().await;
            }
            this.trimming.store(false, Ordering::Release);
        })
    }

    fn resident_bytes(&self) -> u64 {
        self.engines.iter().map(|e| e.stats().resident_bytes).sum()
    }
}

/// An in-process executor whose activations run only with a [`Reservation`] of their memory
/// limit from the shared [`MemoryBudget`].
pub struct Budgeted {
    inner: Arc<dyn Executor>,
    budget: Arc<MemoryBudget>,
}

impl Budgeted {
    /// Wraps `inner`: its activations reserve from `budget`.
    pub fn new(inner: Arc<dyn Executor>, budget: Arc<MemoryBudget>) -> Budgeted {
        Budgeted { inner, budget }
    }
}

impl Executor for Budgeted {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        self.inner.prepare(code)
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        let (inner, budget) = (Arc::clone(&self.inner), Arc::clone(&self.budget));
        Box::pin(async move {
            let reserved = budget
                .reserve(
                    &invocation.tenant,
                    invocation.limits.memory_mb,
                    invocation.deadline,
                )
                .await;
            match reserved {
                Ok(reservation) => {
                    let outcome = inner.invoke(invocation).await;
                    drop(reservation);
                    outcome
                }
                Err(text) => Outcome::failed(Failure::Internal(text)),
            }
        })
    }

    fn stats(&self) -> ExecutorStats {
        self.inner.stats()
    }

    fn trim(&self) -> BoxFuture<()> {
        self.inner.trim()
    }
}

/// Half of the machine's physical memory in MiB (at least 512): the default budget.
pub fn default_budget_mib() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let bytes = u64::try_from(pages)
        .unwrap_or(0)
        .saturating_mul(u64::try_from(page).unwrap_or(0));
    (bytes / MIB / 2).max(512)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// An engine with `resident` idle bytes that a trim drops.
    struct Idle {
        resident: Mutex<u64>,
    }

    impl Executor for Idle {
        fn name(&self) -> &'static str {
            "idle"
        }
        fn prepare(&self, _: &ActionCode) -> Result<(), PrepareError> {
            Ok(())
        }
        fn invoke(&self, _: Invocation) -> BoxFuture<Outcome> {
            Box::pin(std::future::ready(Outcome::failed(Failure::Internal(
                "not used".into(),
            ))))
        }
        fn stats(&self) -> ExecutorStats {
            ExecutorStats {
                resident_bytes: *self.resident.lock().unwrap(),
                ..ExecutorStats::default()
            }
        }
        fn trim(&self) -> BoxFuture<()> {
            *self.resident.lock().unwrap() = 0;
            Box::pin(std::future::ready(()))
        }
    }

    fn budget(total_mib: u64, idle_bytes: u64) -> (Arc<MemoryBudget>, Arc<Idle>) {
        let idle = Arc::new(Idle {
            resident: Mutex::new(idle_bytes),
        });
        (MemoryBudget::new(total_mib, vec![idle.clone()]), idle)
    }

    fn ns(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    /// A reservation of `mib` for `tenant`, started in a task and left once it waits.
    async fn waiting(
        budget: &Arc<MemoryBudget>,
        tenant: &str,
        mib: u64,
    ) -> tokio::task::JoinHandle<Result<(), String>> {
        let waiter = tokio::spawn({
            let (budget, tenant) = (budget.clone(), ns(tenant));
            async move { budget.reserve(&tenant, mib, far()).await.map(|_| ()) }
        });
        while budget.figures().waiting == 0 {
            tokio::task::yield_now().await;
        }
        waiter
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[tokio::test]
    async fn reservations_up_to_the_budget_start_at_once_and_are_given_back() {
        let (budget, _) = budget(512, 0);
        let a = budget.reserve(&ns("a"), 256, far()).await.unwrap();
        let b = budget.reserve(&ns("b"), 256, far()).await.unwrap();
        assert_eq!(budget.figures().reserved_mib, 512);
        drop((a, b));
        assert_eq!(budget.figures().reserved_mib, 0);
        assert_eq!(budget.figures().trims, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_budget_drops_the_idle_isolates_then_queues_until_memory_is_given_back() {
        let (budget, idle) = budget(512, 3 * MIB);
        let held = budget.reserve(&ns("a"), 512, far()).await.unwrap();
        let waiter = waiting(&budget, "b", 128).await;
        assert_eq!(
            *idle.resident.lock().unwrap(),
            0,
            "idle isolates dropped first"
        );
        assert_eq!(budget.figures().trims, 1);
        assert!(!waiter.is_finished());
        drop(held);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(budget.figures().waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_time_limit_is_the_capacity_error() {
        let (budget, _) = budget(512, 0);
        let _held = budget.reserve(&ns("a"), 400, far()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let refused = budget.reserve(&ns("b"), 256, deadline).await.map(|_| ());
        assert_eq!(refused, Err(messages::no_memory_capacity(256, 512)));
        assert_eq!(budget.figures().refused, 1);
        // A limit larger than the whole budget can never run: refused without waiting.
        let never = budget.reserve(&ns("a"), 1024, far()).await.map(|_| ());
        assert_eq!(never, Err(messages::no_memory_capacity(1024, 512)));
    }

    #[tokio::test]
    async fn idle_isolates_past_the_budget_are_dropped_even_when_the_activation_fits() {
        let (budget, idle) = budget(512, 400 * MIB);
        let _running = budget.reserve(&ns("a"), 256, far()).await.unwrap();
        while *idle.resident.lock().unwrap() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(budget.figures().trims, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn one_namespace_holds_at_most_half_the_budget_and_waits_for_its_own() {
        let (budget, _) = budget(512, 0);
        let a = budget.reserve(&ns("a"), 200, far()).await.unwrap();
        // Past half the budget, `a` waits for its own activations, not for the others'.
        let soon = Instant::now() + Duration::from_secs(60);
        let refused = budget.reserve(&ns("a"), 100, soon).await.map(|_| ());
        assert_eq!(refused, Err(messages::no_memory_capacity(100, 512)));
        let b = budget.reserve(&ns("b"), 256, far()).await.unwrap();
        let waiter = waiting(&budget, "a", 100).await;
        assert_eq!(budget.figures().reserved_mib, 456);
        drop(a);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        // One activation larger than the share runs when its namespace holds nothing else.
        drop(b);
        let whole = budget.reserve(&ns("b"), 512, far()).await.unwrap();
        assert_eq!(budget.figures().reserved_mib, 512);
        drop(whole);
        assert!(budget.by_tenant.lock().is_empty());
    }
}
