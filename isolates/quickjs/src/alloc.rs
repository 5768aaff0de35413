//! A counting allocator per QuickJS runtime: enforces the action's memory limit itself and
//! knows the runtime's live bytes at all times (QuickJS's own usage report walks the heap).
//!
//! Memory comes from mimalloc: a runtime lives and dies on one worker thread, which suits
//! mimalloc's thread-local heaps, and its size classes need no per-block header and answer
//! `usable_size` in a few instructions (glibc's malloc, with the accounting, cost a warm web
//! request about 7,000 instructions; mimalloc about a third of that).

use std::cell::Cell;
use std::rc::Rc;

use libmimalloc_sys as mi;
use rquickjs::allocator::Allocator;

/// The memory budget of one isolate: live bytes, the limit, and whether an allocation was
/// ever refused. Shared (`Rc`) between the allocator inside the runtime and the isolate.
#[derive(Debug)]
pub(crate) struct Budget {
    used: Cell<usize>,
    limit: usize,
    exceeded: Cell<bool>,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Rc<Self> {
        Rc::new(Budget {
            used: Cell::new(0),
            limit,
            exceeded: Cell::new(false),
        })
    }

    /// Bytes currently allocated by the runtime (as `mi_usable_size` counts them).
    pub(crate) fn used(&self) -> usize {
        self.used.get()
    }

    /// The most bytes the runtime may hold.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Whether the runtime ever asked for more than its limit.
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    fn admit(&self, extra: usize) -> bool {
        if self.used.get().saturating_add(extra) > self.limit {
            self.exceeded.set(true);
            false
        } else {
            true
        }
    }
}

/// mimalloc with accounting against a [`Budget`]. Lives inside one runtime.
pub(crate) struct CountingAllocator(pub(crate) Rc<Budget>);

fn usable(ptr: *mut u8) -> usize {
    // SAFETY: only called on pointers this allocator got from mi_malloc/mi_calloc/mi_realloc.
    unsafe { mi::mi_usable_size(ptr.cast()) }
}

// SAFETY: every pointer comes from mi_malloc/mi_calloc/mi_realloc (aligned for any type, at
// least `size` bytes) and `usable_size` reports mimalloc's usable size for it.
unsafe impl Allocator for CountingAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.0.admit(size) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain allocation; a null result is passed on to QuickJS as OOM.
        let ptr: *mut u8 = unsafe { mi::mi_malloc(size.max(1)) }.cast();
        if !ptr.is_null() {
            self.0.used.set(self.0.used.get() + usable(ptr));
        }
        ptr
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if !self.0.admit(count.saturating_mul(size)) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain allocation.
        let ptr: *mut u8 = unsafe { mi::mi_calloc(count.max(1), size.max(1)) }.cast();
        if !ptr.is_null() {
            self.0.used.set(self.0.used.get() + usable(ptr));
        }
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        self.0.used.set(self.0.used.get() - usable(ptr));
        // SAFETY: the caller guarantees `ptr` came from this allocator.
        unsafe { mi::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        if new_size == 0 {
            // SAFETY: forwarded caller guarantee.
            unsafe { self.dealloc(ptr) };
            return std::ptr::null_mut();
        }
        let old = usable(ptr);
        if new_size > old && !self.0.admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from this allocator; on failure it stays valid and counted.
        let grown: *mut u8 = unsafe { mi::mi_realloc(ptr.cast(), new_size) }.cast();
        if !grown.is_null() {
            self.0.used.set(self.0.used.get() - old + usable(grown));
        }
        grown
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        usable(ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_refuses_past_the_limit() {
        let budget = Budget::new(4096);
        let mut a = CountingAllocator(Rc::clone(&budget));
        let p = a.alloc(1000);
        assert!(!p.is_null());
        assert!(budget.used() >= 1000);
        let p = unsafe { a.realloc(p, 2000) };
        assert!(budget.used() >= 2000);
        assert!(a.alloc(8000).is_null());
        assert!(budget.exceeded());
        unsafe { a.dealloc(p) };
        assert_eq!(budget.used(), 0);
    }
}
