//! The per-thread engine: warm isolates of one worker, cold starts, eviction.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use foldhash::fast::RandomState;
use shoal_isolates::abi;
use shoal_router::{ActionCode, EgressSlot, ExecutorStats, Invocation, Outcome};

use crate::code::{self, CodeCache};
use crate::isolate::{InitFailure, Isolate, Step};

/// Executor-wide counters shared by every worker (see [`shoal_isolates::EngineCounters`]).
pub(crate) use shoal_isolates::EngineCounters as Counters;

/// Limits of one [`LocalEngine`] (one worker's share of the executor's limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// An idle isolate unused this long is dropped.
    pub idle_ttl: Duration,
    /// At most this many isolates (busy and idle) stay resident; least recently used idle
    /// ones are evicted first.
    pub max_resident: usize,
    /// At most this many heap bytes (as the isolates' allocators count them) stay resident.
    pub max_resident_bytes: usize,
}

/// Which isolates may serve an invocation: same tenant, same action, same version and code.
#[derive(Clone)]
struct Key {
    tenant: Arc<str>,
    action: Arc<ActionCode>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.tenant == other.tenant
            && self.action.digest == other.action.digest
            && self.action.fqn == other.action.fqn
            && self.action.version == other.action.version
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.tenant.hash(state);
        self.action.fqn.hash(state);
        self.action.digest.hash(state);
    }
}

/// An isolate with its share of the resident counters; dropping it gives the share back.
struct Resident {
    isolate: Isolate,
    counted_bytes: usize,
    meter: Rc<Meter>,
}

impl Resident {
    fn recount(&mut self) {
        let now = self.isolate.bytes();
        self.meter.add_bytes(now as i64 - self.counted_bytes as i64);
        self.counted_bytes = now;
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        self.meter.add_bytes(-(self.counted_bytes as i64));
        self.meter.resident.set(self.meter.resident.get() - 1);
        self.meter.global.resident.fetch_sub(1, Ordering::Relaxed);
        // Whatever drops it (eviction, a poisoned run, the worker's thread ending after a
        // hand-off), an isolate that stops being resident counts as evicted.
        self.meter.global.evictions.fetch_add(1, Ordering::Relaxed);
    }
}

/// This worker's resident figures plus the executor-wide counters.
struct Meter {
    resident: Cell<usize>,
    bytes: Cell<usize>,
    global: Arc<Counters>,
}

impl Meter {
    fn add_bytes(&self, delta: i64) {
        self.bytes
            .set((self.bytes.get() as i64 + delta).max(0) as usize);
        if delta >= 0 {
            self.global
                .resident_bytes
                .fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.global
                .resident_bytes
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }
}

/// Idle isolates by key, and the same isolates in least-recently-used order.
#[derive(Default)]
struct Idle {
    by_key: HashMap<Key, Vec<(u64, Resident)>, RandomState>,
    lru: BTreeMap<u64, (Key, Instant)>,
    tick: u64,
}

impl Idle {
    fn take(&mut self, key: &Key) -> Option<Resident> {
        let list = self.by_key.get_mut(key)?;
        let (tick, resident) = list.pop()?;
        if list.is_empty() {
            self.by_key.remove(key);
        }
        self.lru.remove(&tick);
        Some(resident)
    }

    fn put(&mut self, key: Key, resident: Resident, now: Instant) {
        self.tick += 1;
        self.lru.insert(self.tick, (key.clone(), now));
        // Most actions keep one idle isolate: room for one, not a growing Vec's first four.
        self.by_key
            .entry(key)
            .or_insert_with(|| Vec::with_capacity(1))
            .push((self.tick, resident));
    }

    /// Removes the least recently used idle isolate if `pick` accepts its last-use time.
    fn evict_oldest(&mut self, pick: impl FnOnce(Instant) -> bool) -> Option<Resident> {
        let (&tick, (_, used)) = self.lru.first_key_value()?;
        if !pick(*used) {
            return None;
        }
        let (key, _) = self.lru.remove(&tick)?;
        let list = self.by_key.get_mut(&key)?;
        let pos = list.iter().position(|(t, _)| *t == tick)?;
        let (_, resident) = list.remove(pos);
        if list.is_empty() {
            self.by_key.remove(&key);
        }
        Some(resident)
    }
}

struct Inner {
    limits: EngineLimits,
    code: Arc<CodeCache>,
    egress: EgressSlot,
    meter: Rc<Meter>,
    idle: RefCell<Idle>,
}

/// Runs invocations on the current thread, with no hop: the isolates of one worker (or of a
/// benchmark's thread). Cheap to clone (a handle); the isolates live until evicted or until
/// the last handle is dropped. `!Send`: create it on the thread that uses it.
#[derive(Clone)]
pub struct LocalEngine {
    inner: Rc<Inner>,
}

impl LocalEngine {
    /// An engine with its own code cache and counters (benchmarks, tests). Executors share
    /// theirs across workers via [`crate::QuickJsExecutor`].
    pub fn new(limits: EngineLimits) -> Self {
        Self::shared(
            limits,
            Arc::new(CodeCache::new(
                limits.max_resident.max(1024),
                shoal_isolates::node::CODE_CACHE_BYTES,
            )),
            Arc::new(Counters::default()),
            EgressSlot::default(),
        )
    }

    pub(crate) fn shared(
        limits: EngineLimits,
        code: Arc<CodeCache>,
        global: Arc<Counters>,
        egress: EgressSlot,
    ) -> Self {
        LocalEngine {
            inner: Rc::new(Inner {
                limits,
                code,
                egress,
                meter: Rc::new(Meter {
                    resident: Cell::new(0),
                    bytes: Cell::new(0),
                    global,
                }),
                idle: RefCell::new(Idle::default()),
            }),
        }
    }

    /// Figures of this engine (for a standalone engine, the same as its counters).
    pub fn stats(&self) -> ExecutorStats {
        self.inner.meter.global.snapshot(crate::NAME)
    }

    /// Evicts idle isolates older than the idle TTL every quarter TTL, as a local task of the
    /// current `LocalSet`; stops when the engine is dropped. Without it, expiry only happens
    /// when invocations arrive.
    pub fn spawn_sweeper(&self) {
        let weak: Weak<Inner> = Rc::downgrade(&self.inner);
        let period = (self.inner.limits.idle_ttl / 4).max(Duration::from_millis(10));
        tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(inner) = weak.upgrade() else { break };
                inner.expire(Instant::now());
            }
        });
    }

    /// Drops every idle isolate of this engine (memory pressure); busy ones are untouched.
    pub fn trim(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.borrow_mut());
        // Dropped outside the borrow: freeing runtimes runs their finalizers.
        drop(idle);
    }

    /// Runs one activation on this thread. A synchronous action completes on the first poll;
    /// a pending promise waits for its timers (which needs a tokio runtime with time enabled)
    /// or its deadline, without blocking other activations of this thread.
    pub fn invoke(
        &self,
        invocation: Invocation,
    ) -> impl Future<Output = Outcome> + 'static + use<> {
        let inner = Rc::clone(&self.inner);
        async move { inner.invoke(invocation).await }
    }
}

impl Inner {
    async fn invoke(&self, inv: Invocation) -> Outcome {
        let start = SystemTime::now();
        let began = Instant::now();
        self.expire(began);
        let key = Key {
            tenant: Arc::clone(&inv.tenant),
            action: Arc::clone(&inv.action),
        };
        let warm = self.idle.borrow_mut().take(&key);
        let (mut resident, init_ms) = match warm {
            Some(resident) => (resident, None),
            None => match self.cold_start(&inv) {
                Ok(resident) => (resident, Some(began.elapsed().as_millis() as u64)),
                Err(InitFailure { failure, logs }) => {
                    self.meter
                        .global
                        .activations
                        .fetch_add(1, Ordering::Relaxed);
                    return Outcome::finished(
                        Err(failure),
                        logs,
                        start,
                        Some(began.elapsed().as_millis() as u64),
                    );
                }
            },
        };
        let mut step = resident.isolate.begin(&inv);
        let result = loop {
            match step {
                Step::Done(result) => break result,
                Step::Pending => {
                    let wake = resident
                        .isolate
                        .next_timer()
                        .map_or(inv.deadline, |t| t.min(inv.deadline));
                    tokio::select! {
                        () = tokio::time::sleep_until(wake.into()) => {}
                        () = resident.isolate.io_progress() => {}
                    }
                    if Instant::now() >= inv.deadline {
                        break Err(resident.isolate.time_out());
                    }
                    step = resident.isolate.advance();
                }
            }
        };
        let logs = resident.isolate.take_logs();
        self.meter
            .global
            .activations
            .fetch_add(1, Ordering::Relaxed);
        if resident.isolate.poisoned() {
            drop(resident);
        } else {
            resident.recount();
            self.idle.borrow_mut().put(key, resident, Instant::now());
            self.enforce_limits();
        }
        Outcome::finished(result, logs, start, init_ms)
    }

    fn cold_start(&self, inv: &Invocation) -> Result<Resident, InitFailure> {
        let code = code::prepare(&self.code, &inv.action).map_err(|why| InitFailure {
            failure: abi::init_failed(&why),
            logs: Vec::new(),
        })?;
        // Make room first, so a burst of new actions does not overshoot the limits.
        self.enforce_room(1);
        let isolate = Isolate::create(inv, &code, &self.egress)?;
        self.meter
            .global
            .cold_starts
            .fetch_add(1, Ordering::Relaxed);
        self.meter.global.resident.fetch_add(1, Ordering::Relaxed);
        self.meter.resident.set(self.meter.resident.get() + 1);
        let mut resident = Resident {
            isolate,
            counted_bytes: 0,
            meter: Rc::clone(&self.meter),
        };
        resident.recount();
        Ok(resident)
    }

    /// Drops idle isolates unused for longer than the idle TTL.
    fn expire(&self, now: Instant) {
        let ttl = self.limits.idle_ttl;
        loop {
            let evicted = self
                .idle
                .borrow_mut()
                .evict_oldest(|used| now.duration_since(used) >= ttl);
            if evicted.is_none() {
                break;
            }
        }
    }

    fn enforce_limits(&self) {
        self.enforce_room(0);
    }

    /// Evicts least recently used idle isolates until `extra` more would fit.
    fn enforce_room(&self, extra: usize) {
        loop {
            let over = self.meter.resident.get() + extra > self.limits.max_resident
                || self.meter.bytes.get() > self.limits.max_resident_bytes;
            if !over {
                break;
            }
            let evicted = self.idle.borrow_mut().evict_oldest(|_| true);
            if evicted.is_none() {
                break;
            }
        }
    }
}
