//! `GlobalAlloc` adapters: the same core as a `#[global_allocator]`, with no
//! event overhead ([`NoObserver`](crate::events::NoObserver)), in two builds:
//!
//! * [`GlobalLeanHeap`] wraps a [`LeanHeap`]: blocks, headers and a fit
//!   policy over segments, nothing else. The fast, small one; what a
//!   program or kernel should use.
//! * [`GlobalHeap`] wraps the full [`Heap`]: pages, the live bitmap and
//!   counters, so every `dealloc` is validated and `with(|h| h.stats())` or
//!   `h.check()` work at any time. For debugging a program's heap.
//!
//! ```
//! use heaplab::global::GlobalLeanHeap;
//! use heaplab::pages::FixedRegion;
//! use heaplab::policy::Segregated;
//!
//! const LEN: usize = 1 << 20;
//! static mut REGION: [u8; LEN] = [0; LEN];
//!
//! #[global_allocator]
//! // SAFETY: REGION is used by nothing else.
//! static HEAP: GlobalLeanHeap<FixedRegion, Segregated> = unsafe { GlobalLeanHeap::fixed(&raw mut REGION as *mut u8, LEN) };
//!
//! fn main() {
//!     let v: Vec<u32> = (0..1000).collect();
//!     assert_eq!(v.iter().sum::<u32>(), 499_500);
//!     assert!(HEAP.with(|h| h.check()).is_ok());
//! }
//! ```
//!
//! The checked build over a fixed region, on any target (this example runs as
//! a doctest):
//!
//! ```
//! use heaplab::global::GlobalHeap;
//! use heaplab::pages::FixedRegion;
//!
//! const LEN: usize = 1 << 20;
//! static mut REGION: [u8; LEN] = [0; LEN];
//!
//! #[global_allocator]
//! // SAFETY: REGION is used by nothing else.
//! static HEAP: GlobalHeap<FixedRegion> = unsafe { GlobalHeap::fixed(&raw mut REGION as *mut u8, LEN) };
//!
//! fn main() {
//!     let v: Vec<u32> = (0..1000).collect();
//!     assert_eq!(v.iter().sum::<u32>(), 499_500);
//!     let s = format!("{} bytes in use", HEAP.with(|h| h.stats().allocated_bytes));
//!     assert!(s.ends_with("in use"));
//! }
//! ```
//!
//! On wasm32, over `memory.grow` (the lean build):
//!
//! ```no_run
//! # #[cfg(target_arch = "wasm32")]
//! # mod demo {
//! use heaplab::global::GlobalLeanHeap;
//! use heaplab::pages::WasmMemory;
//! use heaplab::policy::Segregated;
//!
//! #[global_allocator]
//! static HEAP: GlobalLeanHeap<WasmMemory, Segregated> = GlobalLeanHeap::wasm();
//! # }
//! # fn main() {}
//! ```

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};

use crate::heap::{Config, Heap, MAX_ALIGN};
use crate::lean::LeanHeap;
use crate::pages::{FixedRegion, PageSource};
use crate::policy::{AnyPolicy, Policy};

#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
mod lock {
    use core::sync::atomic::{AtomicBool, Ordering};

    /// A tiny spin lock.
    pub struct Lock(AtomicBool);

    impl Lock {
        pub const fn new() -> Self {
            Lock(AtomicBool::new(false))
        }
        #[inline]
        pub fn acquire(&self) {
            while self.0.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
                while self.0.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            }
        }
        #[inline]
        pub fn release(&self) {
            self.0.store(false, Ordering::Release);
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod lock {
    /// Single-threaded wasm: nothing to lock.
    pub struct Lock;

    impl Lock {
        pub const fn new() -> Self {
            Lock
        }
        #[inline]
        pub fn acquire(&self) {}
        #[inline]
        pub fn release(&self) {}
    }
}

/// A heap behind a lock: what both adapters are.
pub struct Locked<H> {
    lock: lock::Lock,
    /// Only accessed while `lock` is held.
    heap: UnsafeCell<H>,
}

/// The checked [`Heap`] behind a lock, usable as `#[global_allocator]`.
pub type GlobalHeap<S, P = AnyPolicy> = Locked<Heap<S, P>>;

/// A [`LeanHeap`] behind a lock, usable as `#[global_allocator]`.
pub type GlobalLeanHeap<S, P> = Locked<LeanHeap<S, P>>;

// SAFETY: every access to `heap` happens while `lock` is held (or, on
// single-threaded wasm, there is only one thread), and the heap may move
// between threads.
unsafe impl<H: Send> Sync for Locked<H> {}

impl<H> Locked<H> {
    /// Wraps a heap.
    pub const fn new(heap: H) -> Self {
        Locked { lock: lock::Lock::new(), heap: UnsafeCell::new(heap) }
    }

    /// Runs `f` with the heap locked (for stats, check, introspection).
    /// Do not allocate through the global allocator inside `f`: the lock is
    /// not reentrant.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut H) -> R) -> R {
        self.lock.acquire();
        // SAFETY: the lock is held, so this is the only reference.
        let r = f(unsafe { &mut *self.heap.get() });
        self.lock.release();
        r
    }
}

impl<P: Policy> GlobalHeap<FixedRegion, P> {
    /// A global heap over `len` bytes at `ptr`, with [`Config::DEFAULT`]
    /// (the policy is the type's: `GlobalHeap<FixedRegion, Segregated>`
    /// carries only segregated fit; the default [`AnyPolicy`] carries all
    /// five and uses first fit).
    ///
    /// # Safety
    /// As [`FixedRegion::new`]: the region is valid, initialized and used
    /// by nothing else for the life of the program.
    pub const unsafe fn fixed(ptr: *mut u8, len: usize) -> Self {
        // SAFETY: forwarded to the caller.
        Self::new(Heap::new(unsafe { FixedRegion::new(ptr, len) }, Config::DEFAULT))
    }
}

#[cfg(target_arch = "wasm32")]
impl<P: Policy> GlobalHeap<crate::pages::WasmMemory, P> {
    /// A global heap over wasm `memory.grow`, with [`Config::DEFAULT`]
    /// (for the smallest and fastest build, name one policy:
    /// `GlobalHeap<WasmMemory, Segregated>`).
    pub const fn wasm() -> Self {
        Self::new(Heap::new(crate::pages::WasmMemory::new(), Config::DEFAULT))
    }
}

// SAFETY: `alloc` returns null or a block of at least `layout.size()` bytes
// aligned to `layout.align()` that no other allocation overlaps; `dealloc`
// and `realloc` only accept what this allocator returned (the heap validates).
unsafe impl<S: PageSource + Send, P: Policy + Send> GlobalAlloc for GlobalHeap<S, P> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > MAX_ALIGN {
            return ptr::null_mut();
        }
        self.with(|h| h.alloc(layout.size().max(1), layout.align()).map_or(ptr::null_mut(), |p| p.as_ptr()))
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        let r = self.with(|h| h.free_unclassified(ptr));
        debug_assert!(r.is_ok(), "dealloc of an address this heap did not hand out");
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.with(|h| h.realloc_unclassified(ptr, new_size.max(1), layout.align()).map_or(ptr::null_mut(), |p| p.as_ptr()))
    }
}

impl<P: Policy> GlobalLeanHeap<FixedRegion, P> {
    /// A global lean heap over `len` bytes at `ptr`.
    ///
    /// # Safety
    /// As [`FixedRegion::new`]: the region is valid, initialized and used
    /// by nothing else for the life of the program.
    pub const unsafe fn fixed(ptr: *mut u8, len: usize) -> Self {
        // SAFETY: forwarded to the caller.
        Self::new(LeanHeap::new(unsafe { FixedRegion::new(ptr, len) }))
    }
}

#[cfg(target_arch = "wasm32")]
impl<P: Policy> GlobalLeanHeap<crate::pages::WasmMemory, P> {
    /// A global lean heap over wasm `memory.grow`.
    pub const fn wasm() -> Self {
        Self::new(LeanHeap::new(crate::pages::WasmMemory::new()))
    }
}

// SAFETY: `alloc` returns null or a block of at least `layout.size()` bytes
// aligned to `layout.align()` that no other allocation overlaps; `dealloc`
// and `realloc` receive only what this allocator returned, with the layout
// it was allocated with (the `GlobalAlloc` contract), as `LeanHeap` requires.
unsafe impl<S: PageSource + Send, P: Policy + Send> GlobalAlloc for GlobalLeanHeap<S, P> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.with(|h| h.alloc_pow2(layout.size(), layout.align()).map_or(ptr::null_mut(), |p| p.as_ptr()))
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live allocation of this heap and `layout` the
        // one it was allocated (or last resized) with (GlobalAlloc contract).
        self.with(|h| unsafe { h.free_sized(NonNull::new_unchecked(ptr), layout.size()) })
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; `layout` is the one it was allocated with.
        self.with(|h| unsafe { h.realloc(NonNull::new_unchecked(ptr), layout.size(), new_size, layout.align()) }.map_or(ptr::null_mut(), |p| p.as_ptr()))
    }
}
