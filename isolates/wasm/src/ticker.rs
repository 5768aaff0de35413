//! The epoch ticker: the thread that advances the engine's epoch, which is what makes a
//! running activation yield its thread and lets its deadline take effect. It ticks only while
//! activations run (and for a short grace after the last one, so a steady stream of short
//! activations does not pay a wake-up each); otherwise it parks, so an idle shoal — or one
//! serving only JS — costs no wake-ups and no context switches on a shared core.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::Thread;
use std::time::Duration;

use wasmtime::Engine;

/// Ticks with no activation running before the ticker parks.
const GRACE_TICKS: u32 = 100;

/// Shared between the ticker thread and the activations. Lives as long as the executor.
#[derive(Debug)]
pub(crate) struct Ticker {
    running: AtomicUsize,
    /// Epochs advanced so far.
    ticks: AtomicU64,
    /// Whether the thread is parked (or about to park); what the tests watch.
    parked: AtomicBool,
    stop: AtomicBool,
    thread: Thread,
}

/// Counts one running activation for as long as it lives.
#[derive(Debug)]
pub(crate) struct Running<'a>(&'a Ticker);

impl Ticker {
    /// Starts the ticker thread, advancing `engine`'s epoch every `tick` while activations run.
    pub(crate) fn start(engine: Engine, tick: Duration) -> std::io::Result<Arc<Ticker>> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Ticker>>(1);
        let handle = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                if let Ok(ticker) = rx.recv() {
                    ticker.run(&engine, tick);
                }
            })?;
        let ticker = Arc::new(Ticker {
            running: AtomicUsize::new(0),
            ticks: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            thread: handle.thread().clone(),
        });
        // The thread waits for its handle; it cannot have gone, it only exits when stopped.
        let _ = tx.send(Arc::clone(&ticker));
        Ok(ticker)
    }

    fn run(&self, engine: &Engine, tick: Duration) {
        let mut idle = 0;
        while !self.stop.load(Ordering::Acquire) {
            if self.running.load(Ordering::Acquire) == 0 {
                idle += 1;
                if idle > GRACE_TICKS {
                    // An activation that starts from here on unparks us (or has already left
                    // the token, and this returns at once). A wake-up with nothing running
                    // (spurious, or a stale token) parks again without ticking.
                    self.parked.store(true, Ordering::Release);
                    while self.running.load(Ordering::Acquire) == 0
                        && !self.stop.load(Ordering::Acquire)
                    {
                        std::thread::park();
                    }
                    self.parked.store(false, Ordering::Release);
                    idle = 0;
                    continue;
                }
            } else {
                idle = 0;
            }
            std::thread::sleep(tick);
            engine.increment_epoch();
            self.ticks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Marks an activation as running until the returned guard drops; wakes the thread when it
    /// is the first.
    pub(crate) fn enter(&self) -> Running<'_> {
        if self.running.fetch_add(1, Ordering::AcqRel) == 0 {
            self.thread.unpark();
        }
        Running(self)
    }

    /// Ends the thread (within a tick).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits, however long it takes (up to a minute), for `condition`.
    fn eventually(what: &str, condition: impl Fn() -> bool) {
        let until = std::time::Instant::now() + Duration::from_secs(60);
        while !condition() {
            assert!(std::time::Instant::now() < until, "never: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn ticks_only_while_activations_run() {
        let engine = Engine::new(wasmtime::Config::new().epoch_interruption(true)).unwrap();
        let ticker = Ticker::start(engine, Duration::from_millis(1)).unwrap();
        let ticks = || ticker.ticks.load(Ordering::Relaxed);
        let parked = || ticker.parked.load(Ordering::Acquire);
        eventually("the idle ticker parks", parked);
        let at_rest = ticks();
        assert!(at_rest >= GRACE_TICKS as u64, "it ticked through the grace");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(ticks(), at_rest, "a parked ticker does not tick");
        let running = ticker.enter();
        eventually("a running activation makes it tick", || {
            ticks() > at_rest + 10
        });
        drop(running);
        eventually("it parks again once idle", parked);
        ticker.stop();
    }
}
