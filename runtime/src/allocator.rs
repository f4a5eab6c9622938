//! A bounded ArrayBuffer allocator per isolate. ArrayBuffer and typed-array memory lives outside the
//! V8 heap, so the heap limit does not see it: without this bound, `new ArrayBuffer(2e9)` in a loop
//! would take the whole host down. Past the budget, allocation fails: V8 collects garbage and retries,
//! and if it still fails throws `RangeError: Array buffer allocation failed` in the action, which the
//! runtime reports as out of memory when uncaught.
// The V8 allocator interface is a C vtable; this is the one place the runtime implements FFI by hand.
#![allow(unsafe_code)]

use deno_core::v8;
use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    fn reserve(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(n).filter(|total| *total <= self.max)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::SeqCst);
    }
}

fn layout(n: usize) -> Option<Layout> {
    Layout::from_size_align(n.max(1), 16).ok()
}

unsafe extern "C" fn allocate(budget: &Budget, n: usize) -> *mut c_void {
    allocate_with(budget, n, true)
}

unsafe extern "C" fn allocate_uninitialized(budget: &Budget, n: usize) -> *mut c_void {
    allocate_with(budget, n, false)
}

fn allocate_with(budget: &Budget, n: usize, zeroed: bool) -> *mut c_void {
    let Some(layout) = layout(n) else {
        return std::ptr::null_mut();
    };
    if !budget.reserve(n) {
        return std::ptr::null_mut();
    }
    // SAFETY: `layout` has a non-zero size (`n.max(1)`) and a valid alignment.
    let ptr = unsafe {
        if zeroed {
            alloc_zeroed(layout)
        } else {
            alloc(layout)
        }
    };
    if ptr.is_null() {
        budget.release(n);
    }
    ptr.cast()
}

unsafe extern "C" fn free(budget: &Budget, data: *mut c_void, n: usize) {
    if data.is_null() {
        return;
    }
    if let Some(layout) = layout(n) {
        // SAFETY: V8 frees what `allocate_with` returned for this same length `n`, so `layout` is the
        // layout it was allocated with.
        unsafe { dealloc(data.cast(), layout) };
        budget.release(n);
    }
}

unsafe extern "C" fn drop_budget(budget: *const Budget) {
    // SAFETY: `budget` is the pointer `Arc::into_raw` gave `new_rust_allocator` in `allocator`; V8
    // calls this once, when the allocator is destroyed.
    unsafe { drop(Arc::from_raw(budget)) };
}

static VTABLE: v8::RustAllocatorVtable<Budget> = v8::RustAllocatorVtable {
    allocate,
    allocate_uninitialized,
    free,
    drop: drop_budget,
};

/// An allocator that refuses ArrayBuffer memory past `max` bytes.
pub(crate) fn allocator(max: usize) -> v8::UniqueRef<v8::Allocator> {
    let budget = Arc::new(Budget {
        used: AtomicUsize::new(0),
        max,
    });
    // SAFETY: the handle is a live `Arc<Budget>` turned into a raw pointer; ownership passes to V8,
    // which hands it back to `drop_budget` exactly once. The vtable's functions all take `&Budget`.
    unsafe { v8::new_rust_allocator(Arc::into_raw(budget), &VTABLE) }
}
