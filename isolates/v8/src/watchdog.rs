//! One process-wide thread that stops JS running past its deadline.
//!
//! A synchronous infinite loop never returns to the worker's event loop, so the deadline
//! must be enforced from another thread: V8's `terminate_execution` is the one thread-safe
//! way in. The watchdog sleeps until the earliest registered deadline; a registration costs a
//! mutex and a map insert, and the thread lives as long as the process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use deno_core::v8::IsolateHandle;
use parking_lot::{Condvar, Mutex};

/// Deadlines being watched, earliest first (the counter makes equal deadlines distinct).
type Watched = BTreeMap<(Instant, u64), (IsolateHandle, Arc<AtomicBool>)>;

struct Watchdog {
    watched: Mutex<Watched>,
    changed: Condvar,
    next: AtomicU64,
}

/// Starts the watchdog thread if it is not running yet. Called where the executor is made, so
/// the thread takes that thread's scheduling class: a thread started from an isolate worker
/// would be in `SCHED_BATCH` (a wake-up at a deadline waiting out the running thread's
/// slice), or in `SCHED_IDLE` after a hand-off (starved under load), for good.
pub(crate) fn start() {
    watchdog();
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            watched: Mutex::new(BTreeMap::new()),
            changed: Condvar::new(),
            next: AtomicU64::new(0),
        }));
        // If the thread cannot start, deadlines are still enforced between event-loop turns.
        let _ = std::thread::Builder::new()
            .name("shoal-v8-watchdog".into())
            .spawn(move || dog.patrol());
        dog
    })
}

impl Watchdog {
    fn patrol(&self) {
        let mut watched = self.watched.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = watched.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let (handle, fired) = entry.remove();
                fired.store(true, Ordering::Release);
                handle.terminate_execution();
            }
            match watched.first_key_value().map(|((at, _), _)| *at) {
                Some(at) => {
                    self.changed.wait_until(&mut watched, at);
                }
                None => self.changed.wait(&mut watched),
            }
        }
    }
}

/// A deadline being watched for one isolate. Dropping it stops the watch; whether the
/// deadline struck first is then final.
pub(crate) struct Watch {
    key: (Instant, u64),
    fired: Arc<AtomicBool>,
}

impl Watch {
    /// Terminates `handle`'s execution at `deadline` unless the watch is dropped first.
    pub(crate) fn start(deadline: Instant, handle: IsolateHandle) -> Watch {
        let dog = watchdog();
        let key = (deadline, dog.next.fetch_add(1, Ordering::Relaxed));
        let fired = Arc::new(AtomicBool::new(false));
        let mut watched = dog.watched.lock();
        let earliest = watched.first_key_value().is_none_or(|(k, _)| key < *k);
        watched.insert(key, (handle, Arc::clone(&fired)));
        drop(watched);
        if earliest {
            dog.changed.notify_one();
        }
        Watch { key, fired }
    }

    /// Whether the deadline struck (the isolate's execution was or will be terminated).
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    /// Stops watching and says, for good, whether the deadline struck first.
    pub(crate) fn finish(self) -> bool {
        watchdog().watched.lock().remove(&self.key);
        self.fired()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        watchdog().watched.lock().remove(&self.key);
    }
}
