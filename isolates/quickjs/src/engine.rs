//! The per-thread engine: warm isolates of one worker, cold starts, eviction.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use shoal_isolates::abi;
use shoal_router::{ActionCode, EgressSlot, ExecutorStats, Invocation, Outcome, WallClock};

use crate::code::{self, CodeCache};
use crate::isolate::{InitFailure, Isolate, Step};

/// Executor-wide counters shared by every worker (see [`shoal_isolates::EngineCounters`]).
pub(crate) use shoal_isolates::EngineCounters as Counters;

/// Limits of one [`LocalEngine`] (one worker's share of the executor's limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// An idle isolate unused this long is evicted (and freed).
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

/// An isolate with its share of the resident counters.
struct Resident {
    isolate: Isolate,
    share: Share,
}

impl Resident {
    fn recount(&mut self) {
        let now = self.isolate.bytes();
        let share = &mut self.share;
        share
            .meter
            .add_bytes(now as i64 - share.counted_bytes as i64);
        share.counted_bytes = now;
    }
}

/// An isolate's share of the resident counters; dropping it gives the share back.
struct Share {
    counted_bytes: usize,
    meter: Rc<Meter>,
}

impl Drop for Share {
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
        self.add_local_bytes(delta);
        add_global_bytes(&self.global, delta);
    }

    /// Only this worker's figure, what its limits are enforced against.
    fn add_local_bytes(&self, delta: i64) {
        self.bytes
            .set((self.bytes.get() as i64 + delta).max(0) as usize);
    }
}

/// The executor-wide resident bytes, what the host's memory budget reads.
fn add_global_bytes(global: &Counters, delta: i64) {
    if delta >= 0 {
        global
            .resident_bytes
            .fetch_add(delta as u64, Ordering::Relaxed);
    } else {
        global
            .resident_bytes
            .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
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
    /// An idle isolate of `key`, if any. Its emptied list stays for the isolate to come back
    /// to ([`Idle::put`]) without a removal and a new allocation on every warm invoke;
    /// [`Idle::forget`] removes it if the isolate does not come back.
    fn take(&mut self, key: &Key) -> Option<Resident> {
        let list = self.by_key.get_mut(key)?;
        let (tick, resident) = list.pop()?;
        self.lru.remove(&tick);
        Some(resident)
    }

    /// Drops `key`'s list if it holds no isolate (one taken did not come back).
    fn forget(&mut self, key: &Key) {
        if self.by_key.get(key).is_some_and(Vec::is_empty) {
            self.by_key.remove(key);
        }
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

/// An activation's claim on its action's idle list while its isolate is out of it: the
/// isolate is put back ([`Out::put_back`]), or, however else the activation ends (discarded
/// isolate, failed cold start, panic, dropped future), dropping this removes the list if
/// nothing is left in it.
struct Out<'a> {
    idle: &'a RefCell<Idle>,
    key: Option<Key>,
}

impl Out<'_> {
    /// An idle isolate of this action, if there is one.
    fn take(&self) -> Option<Resident> {
        let key = self.key.as_ref()?;
        self.idle.borrow_mut().take(key)
    }

    fn put_back(mut self, resident: Resident, now: Instant) {
        if let Some(key) = self.key.take() {
            self.idle.borrow_mut().put(key, resident, now);
        }
    }
}

impl Drop for Out<'_> {
    fn drop(&mut self) {
        // `try_`: this may run while a panic unwinds.
        if let Some(key) = self.key.take()
            && let Ok(mut idle) = self.idle.try_borrow_mut()
        {
            idle.forget(&key);
        }
    }
}

/// Most isolates evicted and not yet freed that one engine (one worker) keeps for its reaper.
const MAX_RETIRED: usize = 64;

/// Most heap bytes of those isolates, per engine: what a worker may hold beyond its resident
/// limits until it runs out of jobs (a worker that never does keeps them that long). They
/// stay counted in the executor's resident bytes, which the host's memory budget reads (its
/// trim frees them), until they are freed.
const MAX_RETIRED_BYTES: usize = 8 << 20;

/// An evicted isolate waiting to be freed: no longer resident, but its heap counts in the
/// executor's resident bytes until it is freed (dropped).
struct Retiree {
    /// Held only to be freed (after the bytes are given back) when the retiree is dropped.
    _isolate: Isolate,
    bytes: usize,
    global: Arc<Counters>,
}

impl Drop for Retiree {
    fn drop(&mut self) {
        add_global_bytes(&self.global, -(self.bytes as i64));
    }
}

/// Isolates evicted and no longer counted as resident, waiting to be freed.
#[derive(Default)]
struct Retired {
    isolates: Vec<Retiree>,
    bytes: usize,
}

impl Retired {
    fn pop(&mut self) -> Option<Retiree> {
        let retiree = self.isolates.pop()?;
        self.bytes -= retiree.bytes;
        Some(retiree)
    }
}

struct Inner {
    limits: EngineLimits,
    code: Arc<CodeCache>,
    egress: EgressSlot,
    meter: Rc<Meter>,
    idle: RefCell<Idle>,
    retired: RefCell<Retired>,
    /// Wakes the local task that frees [`Inner::retired`]; `None` until
    /// [`LocalEngine::spawn_sweeper`] starts it (evicted isolates are then freed at once).
    reaper: RefCell<Option<Rc<tokio::sync::Notify>>>,
    /// The records' start and end, from the instants the runs read anyway.
    clock: WallClock,
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
                retired: RefCell::default(),
                reaper: RefCell::new(None),
                clock: WallClock::new(),
            }),
        }
    }

    /// Figures of this engine (for a standalone engine, the same as its counters).
    pub fn stats(&self) -> ExecutorStats {
        self.inner.meter.global.snapshot(crate::NAME)
    }

    /// Starts this engine's two local tasks on the current `LocalSet`, which stop when the
    /// engine is dropped:
    /// - the sweeper evicts idle isolates older than the idle TTL every quarter TTL (without
    ///   it, expiry only happens when invocations arrive);
    /// - the reaper frees evicted isolates, one at a time, when the worker has nothing else
    ///   to run: after the activation that evicted them has answered, if it finished
    ///   synchronously. Freeing a runtime costs about as much as a cold start, so a cold
    ///   start on a full engine no longer pays for two.
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
        let wake = Rc::new(tokio::sync::Notify::new());
        *self.inner.reaper.borrow_mut() = Some(Rc::clone(&wake));
        let weak: Weak<Inner> = Rc::downgrade(&self.inner);
        tokio::task::spawn_local(async move {
            loop {
                wake.notified().await;
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let next = inner.retired.borrow_mut().pop();
                    drop(inner);
                    let Some(retiree) = next else { break };
                    drop(retiree);
                    // One at a time: a job that arrives meanwhile waits for one to be freed,
                    // not for all of them.
                    tokio::task::yield_now().await;
                }
            }
        });
    }

    /// Drops every idle isolate of this engine (memory pressure), and frees the evicted ones
    /// not freed yet; busy ones are untouched.
    pub fn trim(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.borrow_mut());
        let retired = self.inner.retired.take();
        // Dropped outside the borrows: freeing runtimes runs their finalizers.
        drop((idle, retired));
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

impl Drop for Inner {
    /// Lets the reaper see the engine is gone (its retired isolates are freed with it).
    fn drop(&mut self) {
        if let Some(wake) = self.reaper.get_mut() {
            wake.notify_one();
        }
    }
}

impl Inner {
    async fn invoke(&self, mut inv: Invocation) -> Outcome {
        let began = Instant::now();
        let start = self.clock.at(began);
        self.expire(began);
        let out = Out {
            idle: &self.idle,
            key: Some(Key {
                tenant: Arc::clone(&inv.tenant),
                action: Arc::clone(&inv.action),
            }),
        };
        let warm = out.take();
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
        let env = std::mem::take(&mut inv.env);
        let mut step = resident.isolate.begin(&inv, env);
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
        // One clock read ends the run: the record's end is its start plus the time it took,
        // and the isolate's idle clock starts from the same instant.
        let ended = Instant::now();
        let end = start + ended.saturating_duration_since(began);
        let logs = resident.isolate.take_logs();
        self.meter
            .global
            .activations
            .fetch_add(1, Ordering::Relaxed);
        if resident.isolate.poisoned() {
            drop(out);
            drop(resident);
        } else {
            resident.recount();
            out.put_back(resident, ended);
            self.enforce_limits();
        }
        Outcome::between(result, logs, start, end, init_ms)
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
            share: Share {
                counted_bytes: 0,
                meter: Rc::clone(&self.meter),
            },
        };
        resident.recount();
        Ok(resident)
    }

    /// Evicts idle isolates unused for longer than the idle TTL.
    fn expire(&self, now: Instant) {
        let ttl = self.limits.idle_ttl;
        loop {
            let evicted = self
                .idle
                .borrow_mut()
                .evict_oldest(|used| now.duration_since(used) >= ttl);
            match evicted {
                Some(resident) => self.retire(resident),
                None => break,
            }
        }
    }

    /// Ends `resident`'s residence: it no longer counts against this engine's limits (its
    /// heap stays in the executor's resident bytes until freed). The reaper frees it later
    /// while it is small and few are waiting ([`MAX_RETIRED`], [`MAX_RETIRED_BYTES`]);
    /// otherwise it is freed now.
    fn retire(&self, resident: Resident) {
        let Resident { isolate, mut share } = resident;
        let bytes = std::mem::take(&mut share.counted_bytes);
        share.meter.add_local_bytes(-(bytes as i64));
        drop(share);
        let retiree = Retiree {
            _isolate: isolate,
            bytes,
            global: Arc::clone(&self.meter.global),
        };
        let reaper = self.reaper.borrow();
        let mut retired = self.retired.borrow_mut();
        match &*reaper {
            Some(wake)
                if retired.isolates.len() < MAX_RETIRED
                    && retired.bytes.saturating_add(bytes) <= MAX_RETIRED_BYTES =>
            {
                retired.isolates.push(retiree);
                retired.bytes += bytes;
                wake.notify_one();
            }
            _ => {
                drop((retired, reaper));
                drop(retiree);
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
            match evicted {
                Some(resident) => self.retire(resident),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shoal_isolates::suite::{action, invocation};

    use super::*;

    fn limits(max_resident: usize) -> EngineLimits {
        EngineLimits {
            idle_ttl: Duration::from_secs(600),
            max_resident,
            max_resident_bytes: 1 << 30,
        }
    }

    /// Runs `test` the way a worker runs its engine: inside a `LocalSet`, so the engine's
    /// local tasks run whenever `test` yields.
    fn on_a_worker(test: impl std::future::Future<Output = ()>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, test);
    }

    /// Runs a new counter action on `engine` and checks its first answer.
    async fn cold(engine: &LocalEngine, n: usize) {
        let a = action(
            &format!("a{n}"),
            "let n = 0; function main() { return {n: ++n}; }",
            "main",
        );
        let out = engine
            .invoke(invocation(&a, "guest", json!({}), 1_000))
            .await;
        assert_eq!(out.result, Ok(json!({"n": 1})));
    }

    #[test]
    fn an_action_keeps_its_idle_list_only_while_it_has_an_isolate() {
        on_a_worker(async {
            let engine = LocalEngine::new(limits(2));
            let lists = || engine.inner.idle.borrow().by_key.len();
            // Warm invokes take the isolate and put it back into the same list.
            let a0 = action(
                "a0",
                "let n = 0; function main() { return {n: ++n}; }",
                "main",
            );
            for n in 1..4 {
                let out = engine
                    .invoke(invocation(&a0, "guest", json!({}), 1_000))
                    .await;
                assert_eq!(out.result, Ok(json!({"n": n})));
                assert_eq!(lists(), 1);
            }
            // A warm isolate discarded after its activation (a developer error: not a
            // dictionary) takes its emptied list with it.
            let bad = action(
                "bad",
                "let n = 0; function main() { return ++n > 1 ? 1 : {}; }",
                "main",
            );
            let run = || engine.invoke(invocation(&bad, "guest", json!({}), 1_000));
            assert_eq!(run().await.result, Ok(json!({})));
            assert_eq!(lists(), 2);
            assert!(run().await.result.is_err());
            assert_eq!(lists(), 1);
            // So does an evicted one.
            cold(&engine, 1).await;
            cold(&engine, 2).await;
            assert_eq!(lists(), 2);
            assert_eq!(engine.stats().resident, 2);
        });
    }

    #[test]
    fn a_running_isolate_keeps_its_list_and_a_dropped_activation_does_not() {
        on_a_worker(async {
            let engine = LocalEngine::new(limits(2));
            let lists = || engine.inner.idle.borrow().by_key.len();
            let slow = action(
                "slow",
                "function main() { return new Promise(r => setTimeout(() => r({}), 1)); }",
                "main",
            );
            let run = || engine.invoke(invocation(&slow, "guest", json!({}), 1_000));
            assert_eq!(run().await.result, Ok(json!({})));
            assert_eq!(lists(), 1);
            // Warm and waiting for its timer: the isolate is out, its emptied list stays.
            let mut warm = Box::pin(run());
            let first = warm
                .as_mut()
                .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
            assert!(first.is_pending());
            assert_eq!(lists(), 1);
            assert_eq!(engine.stats().resident, 1);
            // The activation is dropped before it ends: the isolate goes, and its list too.
            drop(warm);
            assert_eq!(lists(), 0);
            assert_eq!(engine.stats().resident, 0);
        });
    }

    #[test]
    fn evicted_isolates_stop_counting_at_once_and_the_reaper_frees_them_later() {
        on_a_worker(async {
            let engine = LocalEngine::new(limits(2));
            engine.spawn_sweeper();
            for n in 0..3 {
                cold(&engine, n).await;
            }
            // The third cold start evicted the first isolate: no longer resident, not yet
            // freed (the reaper has not run: nothing here has yielded since).
            let stats = engine.stats();
            assert_eq!((stats.resident, stats.evictions), (2, 1), "{stats:?}");
            assert_eq!(engine.inner.retired.borrow().isolates.len(), 1);
            assert!(engine.inner.retired.borrow().bytes > 0);
            assert_bytes_add_up(&engine);
            tokio::task::yield_now().await;
            assert_eq!(engine.inner.retired.borrow().isolates.len(), 0);
            assert_eq!(engine.inner.retired.borrow().bytes, 0);
            assert_bytes_add_up(&engine);
        });
    }

    #[test]
    fn without_a_reaper_evicted_isolates_are_freed_at_once() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let engine = LocalEngine::new(limits(1));
        for n in 0..3 {
            rt.block_on(cold(&engine, n));
        }
        assert_eq!(engine.stats().evictions, 2);
        assert!(engine.inner.retired.borrow().isolates.is_empty());
    }

    /// The executor-wide resident bytes: this engine's resident isolates plus the evicted
    /// ones not freed yet, and nothing else (nothing freed is still counted).
    fn assert_bytes_add_up(engine: &LocalEngine) {
        let (resident, retired) = (
            engine.inner.meter.bytes.get(),
            engine.inner.retired.borrow().bytes,
        );
        assert_eq!(engine.stats().resident_bytes as usize, resident + retired);
    }

    #[test]
    fn the_reaper_waits_for_few_isolates_only() {
        on_a_worker(async {
            let engine = LocalEngine::new(limits(1));
            engine.spawn_sweeper();
            // Cold starts back to back, never yielding: the reaper never runs, so MAX_RETIRED
            // wait (a hello-world heap is ~76 KB: 64 are well under MAX_RETIRED_BYTES) and
            // the rest are freed at once.
            for n in 0..MAX_RETIRED + 5 {
                cold(&engine, n).await;
            }
            assert_eq!(engine.inner.retired.borrow().isolates.len(), MAX_RETIRED);
            assert!(engine.inner.retired.borrow().bytes <= MAX_RETIRED_BYTES);
            assert_eq!(engine.stats().evictions as usize, MAX_RETIRED + 4);
            assert_bytes_add_up(&engine);
            engine.trim();
            assert!(engine.inner.retired.borrow().isolates.is_empty());
            assert_bytes_add_up(&engine);
        });
    }

    /// Runs `versions` (each answering `{n}` for its index) one after the other on an engine
    /// with room for `room` resident bytes, checking each counts at least `counted` bytes and
    /// evicts the one before it: room for one of them, not two.
    async fn one_fits(room: usize, counted: u64, versions: [Arc<ActionCode>; 2]) {
        let engine = LocalEngine::new(EngineLimits {
            max_resident_bytes: room,
            ..limits(10)
        });
        for (n, code) in versions.iter().enumerate() {
            let out = engine
                .invoke(invocation(code, "guest", json!({}), 5_000))
                .await;
            assert_eq!(out.result, Ok(json!({"n": n})));
            let stats = engine.stats();
            assert!(stats.resident_bytes >= counted, "{stats:?}");
            assert_eq!(
                (stats.resident, stats.evictions),
                (1, n as u64),
                "{stats:?}"
            );
        }
    }

    #[test]
    fn a_zip_actions_files_count_as_its_isolates_resident_bytes() {
        // An 8 MiB file counts twice: the text and the module bytecode made from it.
        let padding = "/".repeat(8 << 20);
        let zip = |n: usize| {
            let index = format!("exports.main = () => ({{n: {n}}});");
            let files = [("index.js", index.as_str()), ("padding.js", &padding)];
            shoal_isolates::suite::node::zip_action(&format!("z{n}"), &files, "main")
        };
        on_a_worker(one_fits(24 << 20, 16 << 20, [zip(0), zip(1)]));
    }

    #[test]
    fn an_actions_source_counts_as_its_isolates_resident_bytes() {
        // Two versions of one action with an 8 MiB source, as overwrites leave them.
        let comment = "a".repeat(8 << 20);
        let version = |n: usize| {
            let code = format!("function main() {{ return {{n: {n}}}; }}\n// {comment}");
            action("big", &code, "main")
        };
        on_a_worker(one_fits(12 << 20, 8 << 20, [version(0), version(1)]));
    }

    #[test]
    fn an_isolate_over_the_byte_cap_is_freed_at_once() {
        on_a_worker(async {
            let engine = LocalEngine::new(limits(1));
            engine.spawn_sweeper();
            let big = action(
                "big",
                "const big = 'x'.repeat(9 << 20); function main() { return {n: big.length}; }",
                "main",
            );
            let out = engine
                .invoke(invocation(&big, "guest", json!({}), 5_000))
                .await;
            assert_eq!(out.result, Ok(json!({"n": 9 << 20})));
            assert!(engine.inner.meter.bytes.get() > MAX_RETIRED_BYTES);
            cold(&engine, 0).await;
            assert_eq!(engine.stats().evictions, 1);
            assert!(engine.inner.retired.borrow().isolates.is_empty());
            assert_bytes_add_up(&engine);
        });
    }
}
