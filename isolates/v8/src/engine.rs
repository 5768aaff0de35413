//! The per-thread engine: one worker's warm isolates, cold starts, eviction, syntax checks.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use shoal_isolates::abi;
use shoal_isolates::node::{ActionFiles, DigestCache};
use shoal_router::{ActionCode, EgressSlot, Invocation, Outcome};

use crate::isolate::{InitFailure, Isolate};

/// Heap of each worker's syntax-checking isolate (it only compiles).
const CHECKER_HEAP_BYTES: usize = 64 << 20;

/// Executor-wide counters shared by every worker (see [`shoal_isolates::EngineCounters`]).
pub(crate) use shoal_isolates::EngineCounters as Counters;

/// Limits of one worker's engine (its share of the executor's limits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EngineLimits {
    /// An idle isolate unused this long is dropped.
    pub(crate) idle_ttl: Duration,
    /// At most this many isolates (busy and idle) stay resident on the worker.
    pub(crate) max_resident: usize,
}

/// Which isolates may serve an invocation: same tenant, action, version and code.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: Arc<str>,
    fqn: String,
    version: String,
    digest: [u8; 32],
}

impl Key {
    fn of(inv: &Invocation) -> Key {
        Key {
            tenant: Arc::clone(&inv.tenant),
            fqn: inv.action.fqn.clone(),
            version: inv.action.version.clone(),
            digest: inv.action.digest,
        }
    }
}

/// An isolate with its share of the resident counters; dropping it gives the share back.
struct Resident {
    isolate: Isolate,
    bytes: u64,
    local: Rc<Cell<usize>>,
    counters: Arc<Counters>,
}

impl Resident {
    fn recount(&mut self) {
        let now = self.isolate.bytes() as u64;
        if now >= self.bytes {
            let grew = now - self.bytes;
            self.counters
                .resident_bytes
                .fetch_add(grew, Ordering::Relaxed);
        } else {
            let shrank = self.bytes - now;
            self.counters
                .resident_bytes
                .fetch_sub(shrank, Ordering::Relaxed);
        }
        self.bytes = now;
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        self.counters
            .resident_bytes
            .fetch_sub(self.bytes, Ordering::Relaxed);
        self.counters.resident.fetch_sub(1, Ordering::Relaxed);
        // Whatever drops it (eviction, a poisoned run, the worker's thread ending after a
        // hand-off), an isolate that stops being resident counts as evicted.
        self.counters.evictions.fetch_add(1, Ordering::Relaxed);
        self.local.set(self.local.get().saturating_sub(1));
    }
}

/// One worker's V8 state. Lives on its worker thread for the pool's life (`!Send`).
pub(crate) struct Engine {
    limits: EngineLimits,
    counters: Arc<Counters>,
    /// Idle isolates by key, each with when it was last used.
    idle: RefCell<HashMap<Key, Vec<(Instant, Resident)>>>,
    /// Isolates of this worker, busy and idle.
    resident: Rc<Cell<usize>>,
    /// Compiles code for `prepare`; created on first use.
    checker: RefCell<Option<Isolate>>,
    /// Unzipped zip actions, shared by every worker of the executor.
    files: Arc<DigestCache<ActionFiles>>,
    /// Where actions' outbound requests go.
    egress: EgressSlot,
}

impl Engine {
    pub(crate) fn new(
        limits: EngineLimits,
        counters: Arc<Counters>,
        files: Arc<DigestCache<ActionFiles>>,
        egress: EgressSlot,
    ) -> Rc<Engine> {
        Rc::new(Engine {
            limits,
            counters,
            idle: RefCell::new(HashMap::new()),
            resident: Rc::new(Cell::new(0)),
            checker: RefCell::new(None),
            files,
            egress,
        })
    }

    /// The files of a zip action, unzipped once per code digest.
    fn files(&self, action: &ActionCode) -> Result<Option<Arc<ActionFiles>>, String> {
        if !action.binary {
            return Ok(None);
        }
        self.files
            .get_or_try(&action.digest, || ActionFiles::unzip(&action.code))
            .map(Some)
    }

    /// Drops idle isolates older than the TTL every quarter TTL, as a local task of the
    /// worker; stops when the engine is dropped.
    pub(crate) fn spawn_sweeper(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let period = (self.limits.idle_ttl / 4).max(Duration::from_millis(10));
        tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(engine) = weak.upgrade() else { break };
                engine.expire(Instant::now());
            }
        });
    }

    /// Compiles `action`'s code without running it; `Err` says why it can never run.
    pub(crate) fn check(&self, action: &ActionCode) -> Result<(), String> {
        if action.binary {
            return self.files(action).map(|_| ());
        }
        let mut checker = self.checker.borrow_mut();
        if checker.is_none() {
            *checker = Some(Isolate::new(CHECKER_HEAP_BYTES)?);
        }
        let Some(isolate) = checker.as_mut() else {
            return Err("no V8 checker".into());
        };
        let checked = isolate.check(&format!("{}.js", action.name), &action.code);
        if isolate.poisoned() {
            *checker = None;
        }
        checked
    }

    /// Runs one activation on this worker: a warm isolate of the same key if one is idle,
    /// else a cold start. Waits (as a local task) for timers without blocking the worker.
    pub(crate) async fn invoke(self: Rc<Self>, inv: Invocation) -> Outcome {
        let start = SystemTime::now();
        let began = Instant::now();
        self.expire(began);
        let key = Key::of(&inv);
        let warm = self.take(&key);
        let (mut resident, init_ms) = match warm {
            Some(resident) => (resident, None),
            None => match self.cold_start(&inv) {
                Ok(resident) => (resident, Some(began.elapsed().as_millis() as u64)),
                Err(InitFailure { failure, logs }) => {
                    self.counters.activations.fetch_add(1, Ordering::Relaxed);
                    let init_ms = Some(began.elapsed().as_millis() as u64);
                    return Outcome::finished(Err(failure), logs, start, init_ms);
                }
            },
        };
        let result = resident.isolate.run(&inv).await;
        let logs = resident.isolate.take_logs();
        self.counters.activations.fetch_add(1, Ordering::Relaxed);
        if resident.isolate.poisoned() {
            drop(resident);
        } else {
            resident.recount();
            self.idle
                .borrow_mut()
                .entry(key)
                .or_default()
                .push((Instant::now(), resident));
            self.make_room(0);
        }
        Outcome::finished(result, logs, start, init_ms)
    }

    fn take(&self, key: &Key) -> Option<Resident> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(key)?;
        let (_, resident) = list.pop()?;
        if list.is_empty() {
            idle.remove(key);
        }
        Some(resident)
    }

    fn cold_start(&self, inv: &Invocation) -> Result<Resident, InitFailure> {
        let files = self.files(&inv.action).map_err(|why| InitFailure {
            failure: abi::init_failed(&why),
            logs: Vec::new(),
        })?;
        // Make room first, so a burst of new actions does not overshoot the limit.
        self.make_room(1);
        let isolate = Isolate::create(inv, files, &self.egress)?;
        self.counters.cold_starts.fetch_add(1, Ordering::Relaxed);
        self.counters.resident.fetch_add(1, Ordering::Relaxed);
        self.resident.set(self.resident.get() + 1);
        let mut resident = Resident {
            isolate,
            bytes: 0,
            local: Rc::clone(&self.resident),
            counters: Arc::clone(&self.counters),
        };
        resident.recount();
        Ok(resident)
    }

    /// Drops every idle isolate of this worker (memory pressure); busy ones are untouched.
    pub(crate) fn trim(&self) {
        let idle = std::mem::take(&mut *self.idle.borrow_mut());
        // Dropped outside the borrow: disposing an isolate may take a while.
        drop(idle);
    }

    /// Drops idle isolates unused for longer than the idle TTL.
    fn expire(&self, now: Instant) {
        let ttl = self.limits.idle_ttl;
        while self.evict_oldest(|used| now.duration_since(used) >= ttl) {}
    }

    /// Evicts least recently used idle isolates until `extra` more fit the resident limit.
    fn make_room(&self, extra: usize) {
        while self.resident.get() + extra > self.limits.max_resident && self.evict_oldest(|_| true)
        {
        }
    }

    /// Drops the least recently used idle isolate if `pick` accepts its last use. A linear
    /// scan: a worker holds at most a few thousand isolates.
    fn evict_oldest(&self, pick: impl FnOnce(Instant) -> bool) -> bool {
        let evicted = {
            let mut idle = self.idle.borrow_mut();
            let oldest = idle
                .iter()
                .filter_map(|(key, list)| list.first().map(|(used, _)| (*used, key.clone())))
                .min_by_key(|(used, _)| *used);
            match oldest {
                Some((used, key)) if pick(used) => {
                    let list = idle.get_mut(&key);
                    let evicted = list.map(|l| l.remove(0));
                    if idle.get(&key).is_some_and(Vec::is_empty) {
                        idle.remove(&key);
                    }
                    evicted
                }
                _ => None,
            }
        };
        // Dropped outside the borrow: disposing an isolate may take a while.
        match evicted {
            Some(evicted) => {
                drop(evicted);
                true
            }
            None => false,
        }
    }
}
