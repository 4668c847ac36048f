//! Every allocator under test, built over a caller's memory region and used
//! through `GlobalAlloc` (each behind its own lock, as a `#[global_allocator]`
//! user would have it), so all pay the same dynamic-dispatch cost.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::{self, NonNull};

use heaplab::global::{GlobalHeap, GlobalLeanHeap};
use heaplab::heap::{Config, Heap};
use heaplab::lean::LeanHeap;
use heaplab::pages::FixedRegion;
use heaplab::policy::{BestFit, FirstFit, NextFit, Policy, Segregated, WorstFit};

/// A column of the table.
pub struct Contender {
    /// Short column name.
    pub name: &'static str,
    /// Builds a fresh allocator over `len` bytes at `base` (4 KiB aligned).
    ///
    /// # Safety
    /// The region is valid for the life of the returned allocator and used
    /// by nothing else meanwhile.
    pub make: unsafe fn(base: *mut u8, len: usize) -> Box<dyn GlobalAlloc>,
}

/// heaplab's lean heap with policy `P`, as `GlobalLeanHeap<FixedRegion, P>`.
unsafe fn heaplab<P: Policy + Send + 'static>(base: *mut u8, len: usize) -> Box<dyn GlobalAlloc> {
    // SAFETY: forwarded to the caller of `make`.
    let src = unsafe { FixedRegion::new(base, len) };
    Box::new(GlobalLeanHeap::<FixedRegion, P>::new(LeanHeap::new(src)))
}

/// heaplab's checked heap (page map, live bitmap, counters) with segregated
/// fit, as `GlobalHeap<FixedRegion, Segregated>`.
unsafe fn checked(base: *mut u8, len: usize) -> Box<dyn GlobalAlloc> {
    // SAFETY: forwarded to the caller of `make`.
    let src = unsafe { FixedRegion::new(base, len) };
    Box::new(GlobalHeap::<FixedRegion, Segregated>::new(Heap::new(src, Config::DEFAULT)))
}

/// talc 5 over the region, claimed on first use (`source::Claim`), with its
/// default binning and a spin lock.
type Talc = talc::sync::TalcLock<spin::Mutex<()>, talc::source::Claim, talc::DefaultBinning>;

/// rlsf's TLSF over the region (inserted with `insert_free_block_ptr`): 28
/// first-level classes of 32 second-level lists each, behind a spin lock.
struct Rlsf(spin::Mutex<rlsf::Tlsf<'static, u32, u32, 28, 32>>);

// SAFETY: delegates to rlsf, which returns blocks that fit the layout; the
// lock serializes access.
unsafe impl GlobalAlloc for Rlsf {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().allocate(layout).map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `alloc`/`realloc` of this TLSF.
        unsafe { self.0.lock().deallocate(NonNull::new_unchecked(p), layout.align()) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above; the new layout keeps the alignment.
        unsafe {
            let l = Layout::from_size_align_unchecked(new_size, layout.align());
            self.0.lock().reallocate(NonNull::new_unchecked(p), l).map_or(ptr::null_mut(), NonNull::as_ptr)
        }
    }
}

/// dlmalloc's memory source, given the whole region at its first request
/// through the crate's `Allocator` trait (one segment, never released), so
/// it runs in the same fixed heap as the others instead of mmap.
struct DlRegion {
    base: *mut u8,
    len: usize,
    given: std::cell::Cell<bool>,
}

// SAFETY: the region is owned by this source; dlmalloc calls it under its lock.
unsafe impl Send for DlRegion {}

// SAFETY: hands out the region once, marked external (flag 1) so dlmalloc
// never tries to unmap or merge it; refuses everything else.
unsafe impl dlmalloc::Allocator for DlRegion {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        if self.given.get() || size > self.len {
            return (ptr::null_mut(), 0, 0);
        }
        self.given.set(true);
        (self.base, self.len, 1)
    }
    fn remap(&self, _: *mut u8, _: usize, _: usize, _: bool) -> *mut u8 {
        ptr::null_mut()
    }
    fn free_part(&self, _: *mut u8, _: usize, _: usize) -> bool {
        false
    }
    fn free(&self, _: *mut u8, _: usize) -> bool {
        false
    }
    fn can_release_part(&self, _: u32) -> bool {
        false
    }
    fn allocates_zeros(&self) -> bool {
        false
    }
    fn page_size(&self) -> usize {
        4096
    }
}

struct Dl(spin::Mutex<dlmalloc::Dlmalloc<DlRegion>>);

// SAFETY: delegates to dlmalloc under a lock.
unsafe impl GlobalAlloc for Dl {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { self.0.lock().malloc(l.size(), l.align()) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.lock().free(p, l.size(), l.align()) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { self.0.lock().realloc(p, l.size(), l.align(), new_size) }
    }
}

/// linked_list_allocator's `Heap` over the region, behind a spin lock
/// (realloc is GlobalAlloc's default: allocate, copy, free, as its own
/// `LockedHeap` does).
struct Lla(spin::Mutex<linked_list_allocator::Heap>);

// SAFETY: delegates to linked_list_allocator under a lock.
unsafe impl GlobalAlloc for Lla {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        self.0.lock().allocate_first_fit(l).map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from this heap with layout `l`.
        unsafe { self.0.lock().deallocate(NonNull::new_unchecked(p), l) }
    }
}

/// heaplab's five policies in the lean heap (compile-time, as a
/// `#[global_allocator]` user gets them), then the checked heap, then the
/// peers.
pub const ALL: &[Contender] = &[
    Contender { name: "first", make: |b, l| unsafe { heaplab::<FirstFit>(b, l) } },
    Contender { name: "next", make: |b, l| unsafe { heaplab::<NextFit>(b, l) } },
    Contender { name: "best", make: |b, l| unsafe { heaplab::<BestFit>(b, l) } },
    Contender { name: "worst", make: |b, l| unsafe { heaplab::<WorstFit>(b, l) } },
    Contender { name: "segregated", make: |b, l| unsafe { heaplab::<Segregated>(b, l) } },
    Contender { name: "checked(seg)", make: |b, l| unsafe { checked(b, l) } },
    Contender {
        name: "talc",
        // SAFETY: the region is valid and unused (caller of `make`).
        make: |b, l| Box::new(Talc::new(unsafe { talc::source::Claim::new(b, l) })),
    },
    Contender {
        name: "rlsf",
        make: |b, l| {
            let mut t = rlsf::Tlsf::new();
            // SAFETY: the region outlives the allocator (caller of `make`).
            unsafe { t.insert_free_block_ptr(NonNull::new(ptr::slice_from_raw_parts_mut(b, l)).unwrap()) };
            Box::new(Rlsf(spin::Mutex::new(t)))
        },
    },
    Contender {
        name: "dlmalloc",
        make: |b, l| Box::new(Dl(spin::Mutex::new(dlmalloc::Dlmalloc::new_with_allocator(DlRegion { base: b, len: l, given: false.into() })))),
    },
    Contender {
        name: "lla",
        // SAFETY: as above.
        make: |b, l| Box::new(Lla(spin::Mutex::new(unsafe { linked_list_allocator::Heap::new(b, l) }))),
    },
];
