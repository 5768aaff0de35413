//! Work too heavy for an I/O thread or for one tenant to hog, shared by both backends: a
//! document larger than [`INLINE_BYTES`] is parsed on the blocking pool ([`parse_sized`]),
//! and a namespace takes turns at scans ([`ScanTurns`]), at most [`SCANS_PER_NAMESPACE`] at
//! once, so its many slow lists cannot hold every connection while other namespaces wait.

use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::StoreError;

/// Most bytes of a document a point read copies and parses inline on the caller's thread
/// (an I/O thread: microseconds for the usual few KiB). A larger one (an action of 48 MB of
/// code, a record with 10 MB of logs) would hold that thread for milliseconds, and every
/// request behind it: it goes to the blocking pool.
pub(crate) const INLINE_BYTES: usize = 1 << 20;

/// Most scans (lists, counts, large reads) one namespace runs at once; the rest of the
/// store's connections stay for other namespaces and for writes.
pub(crate) const SCANS_PER_NAMESPACE: usize = 2;

/// Runs `parse` of a document of `bytes` inline when it is at most [`INLINE_BYTES`], else on
/// tokio's blocking pool (a hand-off and a wake-up, against milliseconds of parsing).
pub(crate) async fn parse_sized<T: Send + 'static>(
    bytes: usize,
    parse: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    if bytes <= INLINE_BYTES {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|e| StoreError::Io(format!("a store task stopped: {e}")))?
}

/// Each tenant's turns at scans, made on its first scan (one small semaphore per tenant that
/// has scanned).
#[derive(Debug, Default)]
pub(crate) struct ScanTurns(DashMap<String, Arc<Semaphore>>);

impl ScanTurns {
    /// Waits for one of the turns of `namespace`'s tenant (a package path `ns/pkg` counts as
    /// `ns`); the turn is held until the permit drops.
    pub(crate) async fn take(&self, namespace: &str) -> Result<OwnedSemaphorePermit, StoreError> {
        let tenant = namespace.split('/').next().unwrap_or(namespace);
        let turns = match self.0.get(tenant) {
            Some(turns) => Arc::clone(&turns),
            None => Arc::clone(
                &self
                    .0
                    .entry(tenant.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(SCANS_PER_NAMESPACE))),
            ),
        };
        turns
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Io(format!("the store is closing: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn large_documents_are_parsed_off_the_calling_thread() {
        let here = std::thread::current().id();
        let at = |bytes| parse_sized(bytes, || Ok(std::thread::current().id()));
        assert_eq!(at(INLINE_BYTES).await.unwrap(), here);
        assert_ne!(at(INLINE_BYTES + 1).await.unwrap(), here);
    }

    #[tokio::test]
    async fn a_tenant_holds_at_most_its_turns_and_others_still_get_theirs() {
        let turns = ScanTurns::default();
        let mut held = Vec::new();
        for namespace in ["hog", "hog/pkg"]
            .into_iter()
            .cycle()
            .take(SCANS_PER_NAMESPACE)
        {
            held.push(turns.take(namespace).await.unwrap());
        }
        let waiting = turns.take("hog/other");
        tokio::pin!(waiting);
        assert!(
            waiting.as_mut().now_or_never().is_none(),
            "a third turn of the same tenant waits"
        );
        let other = turns.take("guest").await;
        assert!(other.is_ok(), "another tenant's turn is free");
        held.pop();
        assert!(
            waiting.now_or_never().is_some(),
            "a returned turn goes to the waiter"
        );
    }
}
