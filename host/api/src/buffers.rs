//! The server's buffer budget: the bytes of request bodies and of large replies it holds at
//! once. Each body may be up to 50 MB and anyone may send one to a web action, and a client
//! that never reads keeps its reply held until its connection closes, so without a bound a
//! few hundred such requests would hold gigabytes. The budget is [`MAX_BUFFERED_KIB`] across
//! every connection, and one tenant (the namespace of a request's caller) holds at most a
//! quarter of it, so that one tenant's many slow uploads or unread replies cannot leave
//! every other tenant's large requests answered 503. Requests without credentials (web actions, gateway APIs) share
//! one more quarter among them all, whatever namespace their paths name, and take nothing
//! from that namespace's: anyone can make them, naming any namespace, so together they
//! never hold more, and they cannot fill a tenant's quarter by naming it.
//!
//! Costs: a share is KiB permits of one semaphore plus, for a request made for a tenant, a
//! lock of the tenants' map while the share is taken, grown and given back; a request with
//! no body and a small reply takes none.

use std::collections::HashMap;
use std::sync::LazyLock;

use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Most request-body and reply bytes the server holds at once, in KiB.
pub const MAX_BUFFERED_KIB: usize = 1 << 20;

/// Who pays for a share: the tenant a request is made for, and whether it came without
/// credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct Payer<'a> {
    /// The tenant, if the request names one.
    pub tenant: Option<&'a str>,
    /// Made without credentials: it also takes from the anonymous requests' quarter.
    pub anonymous: bool,
}

impl<'a> Payer<'a> {
    /// A request of a caller of `namespace`.
    pub fn caller(namespace: &'a str) -> Self {
        Payer {
            tenant: Some(namespace),
            anonymous: false,
        }
    }

    /// A request without credentials: the anonymous requests' quarter pays, alone.
    pub fn anonymous() -> Self {
        Payer {
            tenant: None,
            anonymous: true,
        }
    }
}

/// The key of the anonymous requests' quarter among the tenants' (no namespace has a NUL).
const ANONYMOUS: &str = "\0anonymous";

/// Longest tenant name the budget keeps (names come from request paths): longer ones are
/// cut, so that the map of tenants holding shares stays small.
const MAX_TENANT_BYTES: usize = 256;

/// The server's budget.
pub(crate) static BUFFERED: LazyLock<Buffers> = LazyLock::new(|| Buffers::new(MAX_BUFFERED_KIB));

/// A buffer budget of some KiB, shared by tenants.
#[derive(Debug)]
pub(crate) struct Buffers {
    all: Semaphore,
    /// Most KiB one tenant holds at once.
    per_tenant: usize,
    /// The KiB each tenant holds now; a tenant holding none has no entry.
    tenants: Mutex<HashMap<Box<str>, usize>>,
}

impl Buffers {
    /// A budget of `kib`, a quarter of it per tenant.
    pub(crate) fn new(kib: usize) -> Buffers {
        Buffers {
            all: Semaphore::new(kib),
            per_tenant: kib / 4,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// A share of `kib` for `payer` (a request made for no tenant, with credentials, is
    /// bounded by the whole budget only); `None` when the budget or one of the payer's
    /// quarters lacks that much.
    pub(crate) fn take(&'static self, payer: Payer<'_>, kib: usize) -> Option<Held> {
        let tenant = (payer.tenant).map(|t| t[..t.floor_char_boundary(MAX_TENANT_BYTES)].into());
        let mut held = Held {
            buffers: self,
            tenant,
            anonymous: payer.anonymous,
            permit: None,
        };
        held.grow(kib).then_some(held)
    }

    /// KiB not held by anyone.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.all.available_permits()
    }
}

/// A share of the server's buffer budget, given back when dropped.
#[derive(Debug)]
pub struct Held {
    buffers: &'static Buffers,
    tenant: Option<Box<str>>,
    anonymous: bool,
    permit: Option<SemaphorePermit<'static>>,
}

impl Held {
    /// Takes `kib` more into this share; `false`, taking nothing, when the budget or the
    /// tenant's quarter lacks that much.
    pub(crate) fn grow(&mut self, kib: usize) -> bool {
        if kib == 0 {
            return true;
        }
        let Ok(n) = u32::try_from(kib) else {
            return false;
        };
        let keys = [self.tenant.as_deref(), self.anonymous.then_some(ANONYMOUS)];
        if keys == [None, None] {
            return merge(&mut self.permit, self.buffers.all.try_acquire_many(n).ok());
        }
        let mut tenants = self.buffers.tenants.lock();
        let holds = |key: &str| tenants.get(key).copied().unwrap_or(0);
        if keys
            .iter()
            .flatten()
            .any(|key| holds(key) + kib > self.buffers.per_tenant)
        {
            return false;
        }
        let merged = merge(&mut self.permit, self.buffers.all.try_acquire_many(n).ok());
        if merged {
            for key in keys.into_iter().flatten() {
                match tenants.get_mut(key) {
                    Some(holds) => *holds += kib,
                    None => {
                        tenants.insert(key.into(), kib);
                    }
                }
            }
        }
        merged
    }

    /// The KiB this share holds.
    pub(crate) fn kib(&self) -> usize {
        self.permit.as_ref().map_or(0, SemaphorePermit::num_permits)
    }
}

/// Adds `taken` (if any) to `permit`; whether there was one.
fn merge(
    permit: &mut Option<SemaphorePermit<'static>>,
    taken: Option<SemaphorePermit<'static>>,
) -> bool {
    let Some(taken) = taken else {
        return false;
    };
    match permit {
        Some(permit) => permit.merge(taken),
        None => *permit = Some(taken),
    }
    true
}

impl Drop for Held {
    fn drop(&mut self) {
        let keys = [self.tenant.as_deref(), self.anonymous.then_some(ANONYMOUS)];
        let kib = self.kib();
        if keys == [None, None] || kib == 0 {
            return;
        }
        let mut tenants = self.buffers.tenants.lock();
        for key in keys.into_iter().flatten() {
            if let Some(holds) = tenants.get_mut(key) {
                *holds = holds.saturating_sub(kib);
                if *holds == 0 {
                    tenants.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tenant_holds_at_most_a_quarter_and_others_still_get_theirs() {
        let buffers: &'static Buffers = Box::leak(Box::new(Buffers::new(16)));
        let mut a = buffers.take(Payer::caller("a"), 3).unwrap();
        assert!(a.grow(1), "a quarter is 4 KiB");
        assert!(!a.grow(1), "not 5");
        assert!(
            buffers.take(Payer::caller("a"), 1).is_none(),
            "nor in another share"
        );
        let b = buffers.take(Payer::caller("b"), 4).unwrap();
        assert_eq!(buffers.available(), 8);
        drop(a);
        assert_eq!(buffers.available(), 12);
        assert!(
            buffers.tenants.lock().get("a").is_none(),
            "no share, no entry"
        );
        assert_eq!(buffers.take(Payer::caller("a"), 4).unwrap().kib(), 4);
        drop(b);
        assert!(buffers.tenants.lock().is_empty());
    }

    #[test]
    fn requests_without_credentials_share_one_quarter_whatever_they_name() {
        let buffers: &'static Buffers = Box::leak(Box::new(Buffers::new(16)));
        let anonymous = |tenant| Payer {
            tenant: Some(tenant),
            anonymous: true,
        };
        let x = buffers.take(anonymous("x"), 2).unwrap();
        let y = buffers.take(anonymous("y"), 2).unwrap();
        assert!(
            buffers.take(anonymous("z"), 1).is_none(),
            "4 KiB among them all"
        );
        let x_by_its_owner = buffers.take(Payer::caller("x"), 2);
        assert!(
            x_by_its_owner.is_some(),
            "x's owner still has its quarter's rest"
        );
        assert!(
            buffers.take(Payer::caller("w"), 4).is_some(),
            "as do other tenants"
        );
        drop((x, y, x_by_its_owner));
        assert!(buffers.take(anonymous("z"), 4).is_some());
        assert!(buffers.tenants.lock().is_empty(), "every share given back");
    }

    #[test]
    fn requests_for_no_tenant_are_bounded_by_the_whole_budget() {
        let buffers: &'static Buffers = Box::leak(Box::new(Buffers::new(16)));
        let all = buffers.take(Payer::default(), 16).unwrap();
        assert!(
            buffers.take(Payer::caller("a"), 1).is_none(),
            "the budget is spent"
        );
        drop(all);
        let long = "x".repeat(1000);
        let held = buffers.take(Payer::caller(&long), 1).unwrap();
        assert_eq!(held.tenant.as_deref().map(str::len), Some(MAX_TENANT_BYTES));
    }
}
