//! [`Dedicated`]: runs another executor's activations on threads of their own.
//!
//! The WASM executor runs an activation on whichever thread polls it and time-slices that
//! thread at every epoch tick. Polled on the I/O runtime, two WASM loops would share its
//! threads with every HTTP request; wrapped in [`Dedicated`], they share only the dedicated
//! runtime's threads (and the CPU, through the kernel's scheduler), and requests, `/ping`
//! and other domains never wait behind them. The runtime's threads run at nice 10, so that
//! request handling wins the CPU from guest code (measured: `/ping` p99 beside two WASM loops
//! 5.6-6.0 ms at nice 0, 4.6-5.1 ms at nice 10; 64 connections, 2 cores). Costs one task spawn and one wake-up per activation.

use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, Outcome, PrepareError,
};
use std::sync::Arc;

/// An executor whose activations run on a multi-threaded tokio runtime of their own.
pub struct Dedicated {
    inner: Arc<dyn Executor>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Dedicated {
    /// Wraps `inner`, starting `threads` threads named `shoal-<name>`.
    pub fn new(inner: Arc<dyn Executor>, threads: usize) -> std::io::Result<Dedicated> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name(format!("shoal-{}", inner.name()))
            .on_thread_start(shoal_isolates::lower_this_thread_priority)
            .enable_all()
            .build()?;
        Ok(Dedicated {
            inner,
            runtime: Some(runtime),
        })
    }
}

impl Executor for Dedicated {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        self.inner.prepare(code)
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        let Some(runtime) = &self.runtime else {
            return Box::pin(std::future::ready(Outcome::failed(Failure::Internal(
                "the executor stopped".into(),
            ))));
        };
        let running = runtime.spawn(self.inner.invoke(invocation));
        Box::pin(async move {
            running.await.unwrap_or_else(|e| {
                Outcome::failed(Failure::Internal(format!("the activation stopped: {e}")))
            })
        })
    }

    fn stats(&self) -> ExecutorStats {
        self.inner.stats()
    }

    fn trim(&self) -> BoxFuture<()> {
        self.inner.trim()
    }
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
