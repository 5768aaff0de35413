//! The memory behind an isolate's `ArrayBuffer`s (and so every typed array and `Buffer`):
//! V8 keeps it outside the heap, where the heap limit does not see it. Each isolate gets its
//! own allocator that counts those bytes against a budget and refuses an allocation past it;
//! V8 then throws `RangeError: Array buffer allocation failed`, as Node does when memory runs
//! out, and the host stays within the action's limits. Costs one atomic add per allocation
//! and per free.

use std::alloc::{Layout, alloc, alloc_zeroed, dealloc};
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use deno_core::v8;

/// Alignment of every buffer (what malloc gives, enough for any typed array).
const ALIGN: usize = 16;

/// Bytes of `ArrayBuffer` memory one isolate holds, and how many it may hold.
#[derive(Debug)]
pub(crate) struct BufferBudget {
    used: AtomicUsize,
    limit: usize,
}

impl BufferBudget {
    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Counts `len` more bytes, or refuses when they would pass the limit.
    fn take(&self, len: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(len).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, len: usize) {
        // Never below zero, even if V8 ever freed what this budget did not count.
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(len))
            });
    }
}

/// A V8 array-buffer allocator for one isolate, counting against a budget of `limit` bytes,
/// and the budget (to read what it holds).
pub(crate) fn counting_allocator(
    limit: usize,
) -> (v8::UniqueRef<v8::Allocator>, Arc<BufferBudget>) {
    let budget = Arc::new(BufferBudget {
        used: AtomicUsize::new(0),
        limit,
    });
    let handle = Arc::into_raw(Arc::clone(&budget));
    // SAFETY: `handle` is a live `Arc<BufferBudget>` whose count this allocator owns until V8
    // calls `drop_budget`, and every function of `VTABLE` takes exactly that type.
    let allocator = unsafe { v8::new_rust_allocator(handle, &VTABLE) };
    (allocator, budget)
}

static VTABLE: v8::RustAllocatorVtable<BufferBudget> = v8::RustAllocatorVtable {
    allocate,
    allocate_uninitialized,
    free,
    drop: drop_budget,
};

/// The layout of a `len`-byte buffer: never zero-sized, so every buffer is a real allocation
/// that `free` can give back with the same layout.
fn layout(len: usize) -> Option<Layout> {
    Layout::from_size_align(len.max(1), ALIGN).ok()
}

fn allocate_with(budget: &BufferBudget, len: usize, zeroed: bool) -> *mut c_void {
    let Some(layout) = layout(len) else {
        return std::ptr::null_mut();
    };
    if !budget.take(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: `layout` has a non-zero size.
    let data = unsafe {
        if zeroed {
            alloc_zeroed(layout)
        } else {
            alloc(layout)
        }
    };
    if data.is_null() {
        budget.give_back(len);
    }
    data.cast()
}

unsafe extern "C" fn allocate(budget: &BufferBudget, len: usize) -> *mut c_void {
    allocate_with(budget, len, true)
}

unsafe extern "C" fn allocate_uninitialized(budget: &BufferBudget, len: usize) -> *mut c_void {
    allocate_with(budget, len, false)
}

unsafe extern "C" fn free(budget: &BufferBudget, data: *mut c_void, len: usize) {
    if data.is_null() {
        return;
    }
    if let Some(layout) = layout(len) {
        // SAFETY: V8 frees only what `allocate*` gave it, with the length it asked for, so
        // `data` was allocated with this same layout.
        unsafe { dealloc(data.cast(), layout) };
        budget.give_back(len);
    }
}

unsafe extern "C" fn drop_budget(handle: *const BufferBudget) {
    // SAFETY: `handle` came from `Arc::into_raw` in `counting_allocator`, and V8 calls this
    // once, when it drops the allocator.
    drop(unsafe { Arc::from_raw(handle) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_past_its_limit_and_counts_frees() {
        let budget = BufferBudget {
            used: AtomicUsize::new(0),
            limit: 100,
        };
        let a = allocate_with(&budget, 60, true);
        assert!(!a.is_null());
        assert!(allocate_with(&budget, 41, false).is_null());
        assert_eq!(budget.used(), 60);
        // SAFETY: `a` was allocated above with length 60.
        unsafe { free(&budget, a, 60) };
        assert_eq!(budget.used(), 0);
        let b = allocate_with(&budget, 100, false);
        assert!(!b.is_null());
        // SAFETY: `b` was allocated above with length 100.
        unsafe { free(&budget, b, 100) };
        assert!(allocate_with(&budget, usize::MAX, true).is_null());
        assert_eq!(budget.used(), 0);
    }
}
