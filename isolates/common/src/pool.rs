//! The thread-per-core worker pool that `!Send` engines run on.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

/// Distinguishes pools, so that a worker of one pool is never mistaken for another's.
static NEXT_POOL_ID: AtomicUsize = AtomicUsize::new(1);

/// A `!Send` future handed to the worker it was created on.
type LocalTask = Pin<Box<dyn Future<Output = ()> + 'static>>;

/// What a worker thread knows about itself.
struct Current {
    pool: usize,
    index: usize,
    state: Rc<dyn Any>,
    /// Futures to start as local tasks of this worker (see [`WorkerPool::spawn_here`]).
    local: mpsc::UnboundedSender<LocalTask>,
}

thread_local! {
    /// Set for the life of a worker thread; `None` on every other thread.
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// A unit of work sent to a worker: runs on the worker thread with its engine state, inside
/// the worker's `LocalSet` (so it may `spawn_local`).
type Job<S> = Box<dyn FnOnce(&Rc<S>) + Send + 'static>;

/// How many workers to start and how big their stacks are. Validated by [`WorkerPool::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads (at least 1). Usually the number of cores.
    pub workers: usize,
    /// Stack size of each worker thread, in bytes (engines recurse on it).
    pub stack_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stack_bytes: 8 * 1024 * 1024,
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

/// A fixed set of worker threads, each owning one `S` (its engine state, created on the thread
/// by the `init` closure given to [`WorkerPool::new`]) and running a current-thread tokio
/// runtime with a `LocalSet`.
///
/// Lives as long as the executor that owns it; dropping it closes the channels, lets every
/// worker finish its queued jobs and joins the threads. Sending a job costs one boxed closure,
/// one channel push and (when the worker sleeps) one cross-thread wake-up.
pub struct WorkerPool<S: 'static> {
    id: usize,
    senders: Vec<mpsc::UnboundedSender<Job<S>>>,
    threads: Vec<JoinHandle<()>>,
}

impl<S: 'static> WorkerPool<S> {
    /// Starts `config.workers` threads; `init(index)` builds each worker's state on its own
    /// thread, inside its `LocalSet` (so it may spawn background tasks such as sweepers).
    pub fn new<F>(config: PoolConfig, init: F) -> Result<Self, PoolError>
    where
        F: Fn(usize) -> S + Send + Sync + 'static,
    {
        if config.workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        let id = NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed);
        let init = Arc::new(init);
        let mut senders = Vec::with_capacity(config.workers);
        let mut threads = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let (tx, rx) = mpsc::unbounded_channel::<Job<S>>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let init = Arc::clone(&init);
            let thread = std::thread::Builder::new()
                .name(format!("shoal-isolate-{index}"))
                .stack_size(config.stack_bytes)
                .spawn(move || worker_main(runtime, id, index, init.as_ref(), rx))?;
            senders.push(tx);
            threads.push(thread);
        }
        Ok(WorkerPool {
            id,
            senders,
            threads,
        })
    }

    /// Number of workers.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Always false: a pool has at least one worker.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    /// The worker a key hash is pinned to.
    pub fn shard_of(&self, hash: u64) -> usize {
        (hash % self.senders.len() as u64) as usize
    }

    /// When called on one of this pool's worker threads (from a task of its `LocalSet`):
    /// the worker's index and engine state, so work pinned to it can run right here with no
    /// hop. `None` on any other thread. Costs a thread-local read.
    pub fn current(&self) -> Option<(usize, Rc<S>)> {
        CURRENT.with(|c| {
            let c = c.borrow();
            let cur = c.as_ref().filter(|cur| cur.pool == self.id)?;
            Rc::clone(&cur.state)
                .downcast::<S>()
                .ok()
                .map(|s| (cur.index, s))
        })
    }

    /// Starts `task` as a local task of the current worker of this pool, from any task on
    /// that thread (unlike `tokio::task::spawn_local`, which only works inside the worker's
    /// `LocalSet`). Gives the task back when not on one of this pool's workers.
    pub fn spawn_here<F>(&self, task: F) -> Result<(), F>
    where
        F: Future<Output = ()> + 'static,
    {
        let sender = CURRENT.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|cur| cur.pool == self.id)
                .map(|cur| cur.local.clone())
        });
        match sender {
            Some(local) => {
                // The receiver lives as long as the worker loop, which outlives its tasks.
                let _ = local.send(Box::pin(task));
                Ok(())
            }
            None => Err(task),
        }
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
        let boxed: Job<S> = Box::new(move |state: &Rc<S>| {
            let fut = job(Rc::clone(state));
            tokio::task::spawn_local(async move {
                // The caller may have given up waiting; nothing to do then.
                let _ = tx.send(fut.await);
            });
        });
        let sent = self.senders[shard % self.senders.len()].send(boxed).is_ok();
        async move {
            if !sent {
                return Err(PoolError::WorkerGone);
            }
            rx.await.map_err(|_| PoolError::WorkerGone)
        }
    }
}

impl<S: 'static> Drop for WorkerPool<S> {
    fn drop(&mut self) {
        self.senders.clear();
        for thread in self.threads.drain(..) {
            // A worker that panicked has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

fn worker_main<S, F>(
    runtime: tokio::runtime::Runtime,
    pool: usize,
    index: usize,
    init: &F,
    mut rx: mpsc::UnboundedReceiver<Job<S>>,
) where
    S: 'static,
    F: Fn(usize) -> S,
{
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let state = Rc::new(init(index));
        let (local, mut tasks) = mpsc::unbounded_channel::<LocalTask>();
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(Current {
                pool,
                index,
                state: state.clone(),
                local,
            })
        });
        loop {
            tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => job(&state),
                    None => break,
                },
                Some(task) = tasks.recv() => {
                    tokio::task::spawn_local(task);
                }
            }
        }
        CURRENT.with(|c| c.borrow_mut().take());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn current_names_the_worker_of_this_pool_only() {
        let a = Arc::new(pool(2));
        let b = pool(1);
        assert!(a.current().is_none(), "the test thread is no worker");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let a2 = Arc::clone(&a);
        let seen = rt
            .block_on(a.run(1, move |state: Rc<Cell<u32>>| async move {
                let (index, here) = a2.current().expect("on a worker of pool a");
                (index, Rc::ptr_eq(&here, &state))
            }))
            .unwrap();
        assert_eq!(seen, (1, true));
        let other = rt
            .block_on(b.run(0, move |_state: Rc<Cell<u32>>| async move {
                CURRENT.with(|c| c.borrow().as_ref().map(|cur| cur.index))
            }))
            .unwrap();
        assert_eq!(other, Some(0), "pool b's worker knows itself");
        drop(b);
    }

    #[test]
    fn spawn_here_runs_on_the_worker_from_any_task() {
        let p = Arc::new(pool(1));
        assert!(p.spawn_here(async {}).is_err(), "not on a worker");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let p2 = Arc::clone(&p);
        let got = rt
            .block_on(p.run(0, move |_state: Rc<Cell<u32>>| async move {
                let (tx, rx) = oneshot::channel();
                let p3 = Arc::clone(&p2);
                // From a plain runtime task (outside the LocalSet), as a trigger engine might.
                let spawned = tokio::spawn(async move {
                    p2.spawn_here(async move {
                        let here = p3.current().map(|(i, _)| i);
                        let _ = tx.send(here);
                    })
                    .is_ok()
                });
                assert!(spawned.await.unwrap());
                rx.await.unwrap()
            }))
            .unwrap();
        assert_eq!(got, Some(0));
    }

    fn pool(workers: usize) -> WorkerPool<Cell<u32>> {
        let config = PoolConfig {
            workers,
            stack_bytes: 1 << 20,
        };
        WorkerPool::new(config, |i| Cell::new(i as u32 * 1000)).unwrap()
    }

    #[test]
    fn zero_workers_is_rejected() {
        let config = PoolConfig {
            workers: 0,
            stack_bytes: 1 << 20,
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
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
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
    async fn a_slow_job_does_not_block_its_worker() {
        let pool = pool(1);
        let slow = pool.run(0, |_| async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            "slow"
        });
        let fast = pool.run(0, |_| async { "fast" });
        let started = std::time::Instant::now();
        assert_eq!(fast.await.unwrap(), "fast");
        assert!(started.elapsed() < std::time::Duration::from_millis(150));
        assert_eq!(slow.await.unwrap(), "slow");
    }
}
