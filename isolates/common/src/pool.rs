//! The worker pool that `!Send` engines run on: a fixed number of worker *slots*, each served
//! by one thread at a time that owns its engine state, and a monitor that hands a slot to a
//! fresh thread when guest code holds its thread past a time slice.
//!
//! Why hand-offs: an engine runs guest code on its own thread and can interrupt it only at
//! its deadline, so one CPU-bound activation would stall every other activation pinned to the
//! same slot for up to its whole time limit. Instead, once one poll of a job has run longer
//! than [`PoolConfig::slice`] while other jobs wait behind it, the monitor gives the slot (its
//! queue of waiting jobs) to a new thread with fresh engine state (so the slot's warm isolates
//! start cold there) and lowers the stuck thread's scheduling priority. The
//! stuck thread finishes what it already runs (its activations keep their limits and
//! deadlines), takes no new work, and exits once its last activation ends. Short jobs never
//! notice: a warm activation takes one queue push and one wake-up, as before. What a hand-off
//! cannot move are the stuck thread's activations that already started and wait on timers:
//! their isolates live on that thread, so they go on there at its lower priority.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use shoal_router::sched;
use tokio::sync::{Notify, oneshot};

/// A `!Send` future that runs as a local task of the worker thread it was created on.
type LocalTask = Pin<Box<dyn Future<Output = ()> + 'static>>;

/// A unit of work sent to a slot: given the serving thread's engine state, builds the future
/// that the thread runs as one of its local tasks.
type Job<S> = Box<dyn FnOnce(Rc<S>) -> LocalTask + Send + 'static>;

/// The state a worker thread builds for itself, from the pool's `init` closure.
type Init<S> = dyn Fn(usize) -> S + Send + Sync + 'static;

/// How many workers to start, how big their stacks are and when a busy worker is handed off.
/// Validated by [`WorkerPool::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker slots (at least 1). Usually the number of cores.
    pub workers: usize,
    /// Stack size of each worker thread, in bytes (engines recurse on it).
    pub stack_bytes: usize,
    /// How long one poll of guest work may hold a worker thread before its slot is handed to
    /// a fresh thread (checked every half slice, so a hand-off comes after 1 to 1.5 slices).
    pub slice: Duration,
    /// Most threads still finishing a long run after a hand-off at once; beyond it a slot
    /// whose thread is stuck waits for it (bounds the threads guest code can make exist).
    pub max_handed_off: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stack_bytes: 8 * 1024 * 1024,
            slice: Duration::from_millis(20),
            max_handed_off: 64,
        }
    }
}

/// Why the pool could not start or could not run a job.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The configuration asks for no workers.
    #[error("a worker pool needs at least one worker")]
    NoWorkers,
    /// A worker thread or its runtime could not be started.
    #[error("could not start worker thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The worker is gone (the pool is shutting down, or the job panicked).
    #[error("the worker stopped before the job completed")]
    WorkerGone,
}

/// How long guest code has been running on one thread: the monitor tick at which the poll
/// in progress began (plus one; zero when the thread is not polling a job), and the thread's
/// kernel id, so that its priority can be lowered when it is handed off.
#[derive(Debug, Default)]
struct Mark {
    busy_since: AtomicU64,
    tid: AtomicU64,
}

/// One worker slot: its waiting jobs, and the thread serving it.
struct Slot<S> {
    queue: Mutex<VecDeque<Job<S>>>,
    ready: Notify,
    /// Bumped by each hand-off; a thread serves the slot while the generation is its own.
    generation: AtomicU64,
    /// The serving thread's [`Mark`].
    serving: Mutex<Arc<Mark>>,
}

/// What the pool's threads share.
struct Shared<S> {
    config: PoolConfig,
    init: Box<Init<S>>,
    slots: Vec<Slot<S>>,
    /// Monitor ticks since the pool started (shared with every running job's [`Marked`]).
    ticks: Arc<AtomicU64>,
    /// Threads handed off and still finishing their runs.
    handed_off: AtomicUsize,
    /// Hand-offs so far (see [`WorkerPool::hand_offs`]).
    hand_offs: AtomicU64,
    closed: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A fixed set of worker slots, each served by a thread owning one `S` (its engine state,
/// created on the thread by the `init` closure given to [`WorkerPool::new`]) and running a
/// current-thread tokio runtime with a `LocalSet`, plus one monitor thread.
///
/// Lives as long as the executor that owns it; dropping it lets every worker start its
/// queued jobs, drops the activations still waiting (on timers) and joins the threads. Sending a job costs one boxed closure, one queue push
/// under a short lock and (when the worker sleeps) one cross-thread wake-up.
pub struct WorkerPool<S: 'static> {
    shared: Arc<Shared<S>>,
    monitor: Option<JoinHandle<()>>,
}

impl<S: 'static> WorkerPool<S> {
    /// Starts `config.workers` threads and the monitor; `init(index)` builds each worker's
    /// state on its own thread, inside its `LocalSet` (so it may spawn background tasks such
    /// as sweepers, which must end once the state is dropped).
    pub fn new<F>(config: PoolConfig, init: F) -> Result<Self, PoolError>
    where
        F: Fn(usize) -> S + Send + Sync + 'static,
    {
        if config.workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let shared = Arc::new(Shared {
            config,
            init: Box::new(init),
            slots: (0..config.workers)
                .map(|_| Slot {
                    queue: Mutex::new(VecDeque::new()),
                    ready: Notify::new(),
                    generation: AtomicU64::new(0),
                    serving: Mutex::new(Arc::default()),
                })
                .collect(),
            ticks: Arc::new(AtomicU64::new(1)),
            handed_off: AtomicUsize::new(0),
            hand_offs: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        for index in 0..config.workers {
            start_worker(&shared, index, 0)?;
        }
        let monitor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("shoal-isolate-monitor".into())
                .spawn(move || monitor(&shared))?
        };
        Ok(WorkerPool {
            shared,
            monitor: Some(monitor),
        })
    }

    /// Number of worker slots.
    pub fn len(&self) -> usize {
        self.shared.slots.len()
    }

    /// Always false: a pool has at least one worker.
    pub fn is_empty(&self) -> bool {
        self.shared.slots.is_empty()
    }

    /// The worker a key hash is pinned to.
    pub fn shard_of(&self, hash: u64) -> usize {
        (hash % self.shared.slots.len() as u64) as usize
    }

    /// How many times a slot was handed to a fresh thread because guest code held its
    /// thread past the slice.
    pub fn hand_offs(&self) -> u64 {
        self.shared.hand_offs.load(Ordering::Relaxed)
    }

    /// Runs `job` on worker `shard` with that worker's state and resolves with what the future
    /// it returns produces. The future runs as a local task on the worker, so it may hold
    /// `!Send` engine values across awaits. `shard` is taken modulo the worker count.
    pub fn run<F, Fut, T>(
        &self,
        shard: usize,
        job: F,
    ) -> impl Future<Output = Result<T, PoolError>> + use<S, F, Fut, T>
    where
        F: FnOnce(Rc<S>) -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let boxed: Job<S> = Box::new(move |state: Rc<S>| {
            Box::pin(async move {
                // Built at the first poll, so that all of the job's work counts as busy.
                let fut = job(state);
                // The caller may have given up waiting; nothing to do then.
                let _ = tx.send(fut.await);
            })
        });
        let sent = !self.shared.closed.load(Ordering::Acquire) && {
            let slot = &self.shared.slots[shard % self.shared.slots.len()];
            lock(&slot.queue).push_back(boxed);
            slot.ready.notify_one();
            true
        };
        async move {
            if !sent {
                return Err(PoolError::WorkerGone);
            }
            rx.await.map_err(|_| PoolError::WorkerGone)
        }
    }

    /// Runs `job` once on every worker (behind the work already queued there) and resolves
    /// when all have run it; workers that are gone are skipped.
    pub fn on_every_worker<F>(&self, job: F) -> impl Future<Output = ()> + Send + use<S, F>
    where
        F: Fn(&S) + Clone + Send + 'static,
    {
        let runs: Vec<_> = (0..self.len())
            .map(|slot| {
                let job = job.clone();
                self.run(slot, move |state: Rc<S>| {
                    job(&state);
                    std::future::ready(())
                })
            })
            .collect();
        async move {
            for run in runs {
                // A worker that is gone has nothing left to run it on.
                let _ = run.await;
            }
        }
    }
}

impl<S: 'static> Drop for WorkerPool<S> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        for slot in &self.shared.slots {
            slot.ready.notify_waiters();
        }
        if let Some(monitor) = self.monitor.take() {
            let _ = monitor.join();
        }
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for thread in threads {
            // A worker that panicked has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// Locks a mutex whose holders never panic while holding it (a poisoned one is still fine).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts a thread serving slot `index` for `generation`.
fn start_worker<S: 'static>(
    shared: &Arc<Shared<S>>,
    index: usize,
    generation: u64,
) -> Result<(), PoolError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mark = Arc::new(Mark::default());
    *lock(&shared.slots[index].serving) = Arc::clone(&mark);
    let thread = {
        let shared = Arc::clone(shared);
        std::thread::Builder::new()
            .name(format!("shoal-isolate-{index}"))
            .stack_size(shared.config.stack_bytes)
            .spawn(move || worker_main(runtime, &shared, index, generation, mark))?
    };
    lock(&shared.threads).push(thread);
    Ok(())
}

/// Ticks every half slice; hands off any slot whose thread has been polling one job for a
/// whole slice while other jobs wait in its queue. Ends when the pool closes.
fn monitor<S: 'static>(shared: &Arc<Shared<S>>) {
    let tick = (shared.config.slice / 2).max(Duration::from_millis(1));
    while !shared.closed.load(Ordering::Acquire) {
        std::thread::sleep(tick);
        let now = shared.ticks.fetch_add(1, Ordering::AcqRel) + 1;
        for (index, slot) in shared.slots.iter().enumerate() {
            let mark = Arc::clone(&lock(&slot.serving));
            let since = mark.busy_since.load(Ordering::Acquire);
            // Only when someone waits behind the long run: alone, it may keep its thread
            // (and the slot its warm isolates).
            if since == 0 || now < since + 3 || lock(&slot.queue).is_empty() {
                continue;
            }
            if shared.handed_off.load(Ordering::Acquire) >= shared.config.max_handed_off {
                continue;
            }
            hand_off(shared, index, slot, &mark);
        }
        // Reap the threads that finished (handed-off ones exit on their own).
        lock(&shared.threads).retain(|t| !t.is_finished());
    }
}

/// Gives slot `index` to a fresh thread; the stuck one (`mark`) runs on at a lower priority.
fn hand_off<S: 'static>(shared: &Arc<Shared<S>>, index: usize, slot: &Slot<S>, mark: &Mark) {
    let generation = slot.generation.fetch_add(1, Ordering::AcqRel) + 1;
    shared.handed_off.fetch_add(1, Ordering::AcqRel);
    shared.hand_offs.fetch_add(1, Ordering::Relaxed);
    if let Err(error) = start_worker(shared, index, generation) {
        // Without a new thread the slot stays with the stuck one, which still serves it (at
        // its priority: a thread cannot leave idle time without privilege).
        slot.generation.fetch_sub(1, Ordering::AcqRel);
        shared.handed_off.fetch_sub(1, Ordering::AcqRel);
        eprintln!("shoal: could not hand off isolate worker {index}: {error}");
        return;
    }
    leave_to_idle_time(mark.tid.load(Ordering::Acquire));
    // Wake the stuck thread's loop too, so it sees the new generation once it is free.
    slot.ready.notify_waiters();
}

/// Lowers the calling thread's scheduling priority (nice 10), for threads that run guest code
/// long enough to be time-sliced (the WASM runtime's): request handling then wins the CPU
/// from them, while their short activations still get a fair share under load. Best effort.
pub fn lower_this_thread_priority() {
    sched::set_this_thread_nice(10);
}

/// Moves a handed-off thread (a guest run past the slice, with others waiting) to Linux's
/// `SCHED_IDLE` policy: it runs only on CPU time no other thread wants, and any other thread
/// that wakes up preempts it at once, so request handling never waits behind it (with nice
/// 10 alone, `/ping`'s p99 rose ~1.6x beside two loops). The run still ends at its deadline.
/// Best effort.
fn leave_to_idle_time(tid: u64) {
    // 0 would be the monitor itself.
    if tid != 0 {
        sched::set_thread(tid, sched::Policy::Idle);
    }
}

/// A job's future, marking its thread busy while it is being polled.
struct Marked {
    task: LocalTask,
    mark: Arc<Mark>,
    ticks: Arc<AtomicU64>,
    /// Counts the job in its thread's jobs in flight until it ends.
    _inflight: Entered,
}

impl Future for Marked {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.ticks.load(Ordering::Acquire);
        self.mark.busy_since.store(now, Ordering::Release);
        let done = self.task.as_mut().poll(cx);
        self.mark.busy_since.store(0, Ordering::Release);
        done
    }
}

/// Counts a thread's jobs in flight; the thread exits after a hand-off once none is left.
#[derive(Default)]
struct InFlight {
    count: std::cell::Cell<usize>,
    drained: Notify,
}

/// One job of [`InFlight`], until dropped.
struct Entered(Rc<InFlight>);

impl InFlight {
    fn enter(self: &Rc<Self>) -> Entered {
        self.count.set(self.count.get() + 1);
        Entered(Rc::clone(self))
    }

    /// Resolves once no job is in flight.
    async fn drained(&self) {
        loop {
            let drained = self.drained.notified();
            if self.count.get() == 0 {
                return;
            }
            drained.await;
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.count.set(self.0.count.get() - 1);
        self.0.drained.notify_waiters();
    }
}

fn worker_main<S: 'static>(
    runtime: tokio::runtime::Runtime,
    shared: &Arc<Shared<S>>,
    index: usize,
    generation: u64,
    mark: Arc<Mark>,
) {
    mark.tid.store(sched::this_thread_id(), Ordering::Release);
    // Woken for a job, a worker waits for the request thread to queue what else is ready.
    sched::set_this_thread(sched::Policy::Batch);
    let slot = &shared.slots[index];
    let local = tokio::task::LocalSet::new();
    let inflight = Rc::new(InFlight::default());
    local.block_on(&runtime, async {
        let state: Rc<S> = Rc::new((shared.init)(index));
        while let Some(job) = next_job(shared, slot, generation).await {
            let mut task = Marked {
                task: job(Rc::clone(&state)),
                mark: Arc::clone(&mark),
                ticks: Arc::clone(&shared.ticks),
                _inflight: inflight.enter(),
            };
            // The first poll runs here, before the next job is taken: a synchronous job
            // finishes without a task, and one that spins holds this loop, so the jobs
            // behind it stay in the slot's queue for the thread the slot is handed to.
            // A job that waits continues as a local task of this thread.
            let first = Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop()));
            if first.is_pending() {
                tokio::task::spawn_local(task);
            }
        }
        // Handed off: let this thread's own activations finish, then free its engine state
        // (its background tasks end with it). Closing: what still waits is dropped.
        if !shared.closed.load(Ordering::Acquire) {
            inflight.drained().await;
        }
        drop(state);
    });
    if slot.generation.load(Ordering::Acquire) != generation {
        shared.handed_off.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The slot's next job for the thread of `generation`; `None` once the slot was handed off,
/// or the pool closed and the queue is empty.
async fn next_job<S: 'static>(
    shared: &Shared<S>,
    slot: &Slot<S>,
    generation: u64,
) -> Option<Job<S>> {
    loop {
        let ready = slot.ready.notified();
        tokio::pin!(ready);
        ready.as_mut().enable();
        if slot.generation.load(Ordering::Acquire) != generation {
            return None;
        }
        if let Some(job) = lock(&slot.queue).pop_front() {
            return Some(job);
        }
        if shared.closed.load(Ordering::Acquire) {
            return None;
        }
        ready.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Instant;

    fn pool(workers: usize) -> WorkerPool<Cell<u32>> {
        let config = PoolConfig {
            workers,
            stack_bytes: 1 << 20,
            ..PoolConfig::default()
        };
        WorkerPool::new(config, |i| Cell::new(i as u32 * 1000)).unwrap()
    }

    #[test]
    fn zero_workers_is_rejected() {
        let config = PoolConfig {
            workers: 0,
            ..PoolConfig::default()
        };
        assert!(matches!(
            WorkerPool::new(config, |_| ()),
            Err(PoolError::NoWorkers)
        ));
    }

    #[tokio::test]
    async fn jobs_see_their_workers_state_and_may_await_timers() {
        let pool = pool(2);
        for _ in 0..3 {
            let got = pool
                .run(1, |s: Rc<Cell<u32>>| async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    s.set(s.get() + 1);
                    s.get()
                })
                .await
                .unwrap();
            assert!(got > 1000);
        }
        let first = pool.run(0, |s: Rc<Cell<u32>>| async move { s.get() });
        assert_eq!(first.await.unwrap(), 0);
        assert_eq!(pool.run(3, |s| async move { s.get() }).await.unwrap(), 1003);
        assert_eq!(pool.shard_of(5), 1);
    }

    #[tokio::test]
    async fn a_waiting_job_does_not_block_its_worker() {
        let pool = pool(1);
        let (release, wait) = oneshot::channel::<()>();
        let slow = pool.run(0, |_| async {
            let _ = wait.await;
            "slow"
        });
        assert_eq!(pool.run(0, |_| async { "fast" }).await.unwrap(), "fast");
        let _ = release.send(());
        assert_eq!(slow.await.unwrap(), "slow");
    }

    /// Tells spinning jobs to stop when dropped: declared after the pool, it runs first when a
    /// failed assertion unwinds, so the pool's join does not wait on a spinner for good.
    struct StopOnDrop(Vec<Arc<AtomicBool>>);

    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            for stop in &self.0 {
                stop.store(true, Ordering::Release);
            }
        }
    }

    /// `job`'s answer, failing the test instead of hanging if it has none within a minute (a
    /// hand-off that never happens, a spinner that does not stop).
    async fn within_a_minute<T>(job: impl Future<Output = Result<T, PoolError>>) -> T {
        tokio::time::timeout(Duration::from_secs(60), job)
            .await
            .expect("no answer within a minute")
            .unwrap()
    }

    /// A job that spins (as CPU-bound guest code does) until told to stop.
    fn spin(stop: Arc<AtomicBool>) -> impl FnOnce(Rc<Cell<u32>>) -> std::future::Ready<u32> {
        move |s: Rc<Cell<u32>>| {
            while !stop.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            std::future::ready(s.get())
        }
    }

    #[tokio::test]
    async fn a_spinning_job_hands_its_slot_to_a_fresh_thread() {
        let pool = pool(1);
        let stop = Arc::new(AtomicBool::new(false));
        let _release = StopOnDrop(vec![stop.clone()]);
        let spinning = pool.run(0, spin(stop.clone()));
        // Queued behind the spinner on the same slot: served once the slot is handed off,
        // by a thread with fresh state, while the spinner still runs.
        let fresh = pool.run(0, |s: Rc<Cell<u32>>| async move {
            s.set(s.get() + 7);
            s.get()
        });
        assert_eq!(within_a_minute(fresh).await, 7);
        assert_eq!(pool.hand_offs(), 1);
        assert!(
            !stop.load(Ordering::Acquire),
            "the spinner is still running"
        );
        stop.store(true, Ordering::Release);
        assert_eq!(
            within_a_minute(spinning).await,
            0,
            "the spinner kept its own state"
        );
        // The slot keeps being served by its new thread.
        assert_eq!(
            within_a_minute(pool.run(0, |s| async move { s.get() })).await,
            7
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn workers_run_in_batch_and_a_handed_off_thread_in_idle_time() {
        let pool = pool(1);
        let policy = |_: Rc<Cell<u32>>| async { sched::this_thread() };
        assert_eq!(
            pool.run(0, policy).await.unwrap(),
            Some(sched::Policy::Batch)
        );
        let (stop, tid) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let _release = StopOnDrop(vec![stop.clone()]);
        let spinning = {
            let (stop, tid) = (Arc::clone(&stop), Arc::clone(&tid));
            pool.run(0, move |_: Rc<Cell<u32>>| {
                tid.store(sched::this_thread_id(), Ordering::Release);
                while !stop.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                std::future::ready(sched::this_thread())
            })
        };
        // Served once the slot is handed off; the new thread is a worker like the first.
        assert_eq!(
            within_a_minute(pool.run(0, policy)).await,
            Some(sched::Policy::Batch)
        );
        // The monitor moves the stuck thread once the new one has started.
        let started = Instant::now();
        while sched::of_thread(tid.load(Ordering::Acquire)) != Some(sched::Policy::Idle) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never moved to idle"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, Ordering::Release);
        assert_eq!(within_a_minute(spinning).await, Some(sched::Policy::Idle));
    }

    #[tokio::test]
    async fn hand_offs_stop_at_the_configured_bound() {
        let pool = WorkerPool::new(
            PoolConfig {
                workers: 1,
                stack_bytes: 1 << 20,
                max_handed_off: 1,
                ..PoolConfig::default()
            },
            |_| Cell::new(0u32),
        )
        .unwrap();
        let stops: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let _release = StopOnDrop(stops.clone());
        let first = pool.run(0, spin(stops[0].clone()));
        let second = pool.run(0, spin(stops[1].clone()));
        // The first spinner is handed off; the second then holds the only slot, and no
        // further hand-off happens while the first is still running.
        let waited = Instant::now();
        while pool.hand_offs() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert!(waited.elapsed() < Duration::from_secs(60), "no hand-off");
        }
        let third = pool.run(0, |_| async { 3 });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(pool.hand_offs(), 1, "bounded by max_handed_off");
        stops[0].store(true, Ordering::Release);
        assert_eq!(within_a_minute(first).await, 0);
        // With the first thread gone, the second spinner may be handed off in turn.
        stops[1].store(true, Ordering::Release);
        assert_eq!(within_a_minute(second).await, 0);
        assert_eq!(within_a_minute(third).await, 3);
    }
}
