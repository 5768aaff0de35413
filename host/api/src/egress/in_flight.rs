//! How many outbound requests are in flight, per namespace and in all: the egress takes a
//! [`Ticket`] before it starts a request and refuses it at once past either cap, so one
//! namespace can neither take every outbound slot of the host nor grow its tasks without end.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// The counters; one per egress. Costs one map entry per namespace with requests in flight.
pub(crate) struct InFlight {
    per_namespace: usize,
    total: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_namespace: HashMap<Arc<str>, usize>,
}

/// One request in flight; dropping it frees its slot.
pub(crate) struct Ticket {
    meter: Arc<InFlight>,
    tenant: Arc<str>,
}

impl InFlight {
    /// Counters allowing `per_namespace` requests per namespace and `total` in all.
    pub(crate) fn new(per_namespace: usize, total: usize) -> Arc<InFlight> {
        Arc::new(InFlight {
            per_namespace,
            total,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// A slot for one more request of `tenant`, or why there is none.
    pub(crate) fn enter(self: &Arc<Self>, tenant: &Arc<str>) -> Result<Ticket, String> {
        let mut counts = self.counts.lock();
        if counts.total >= self.total {
            return Err(format!(
                "too many outbound requests in flight on this host: at most {} at once",
                self.total
            ));
        }
        let mine = counts.by_namespace.entry(Arc::clone(tenant)).or_default();
        if *mine >= self.per_namespace {
            return Err(format!(
                "too many outbound requests in flight for this namespace: at most {} at once",
                self.per_namespace
            ));
        }
        *mine += 1;
        counts.total += 1;
        Ok(Ticket {
            meter: Arc::clone(self),
            tenant: Arc::clone(tenant),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.meter.counts.lock();
        counts.total -= 1;
        if let Some(n) = counts.by_namespace.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                counts.by_namespace.remove(&self.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_namespace_has_its_share_and_the_host_its_total() {
        let meter = InFlight::new(2, 3);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let a1 = meter.enter(&a).unwrap();
        let a2 = meter.enter(&a).unwrap();
        let refused = meter.enter(&a).err().unwrap();
        assert!(
            refused.contains("for this namespace: at most 2"),
            "{refused}"
        );
        let b1 = meter.enter(&b).unwrap();
        let full = meter.enter(&b).err().unwrap();
        assert!(full.contains("on this host: at most 3"), "{full}");
        drop(a1);
        let b2 = meter.enter(&b).unwrap();
        drop((a2, b1, b2));
        assert!(
            meter.enter(&a).is_ok(),
            "finished requests free their slots"
        );
        assert!(
            meter.counts.lock().by_namespace.is_empty(),
            "idle namespaces leave no entry"
        );
    }
}
