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

use crate::heap::{Config, Heap};
use crate::lean::LeanHeap;
use crate::pages::{FixedRegion, PageSource};
use crate::policy::{AnyPolicy, Policy};

mod lock {
    use core::sync::atomic::{AtomicBool, Ordering};

    /// A tiny spin lock. On single-threaded wasm (no atomics) it is a flag:
    /// finding it taken means the heap is being used further up this very
    /// stack (an allocation inside `with`), so the caller gives up instead
    /// of taking a second reference.
    pub struct Lock(AtomicBool);

    /// Whether another thread can hold the lock (and waiting helps).
    const THREADS: bool = !cfg!(all(target_arch = "wasm32", not(target_feature = "atomics")));

    impl Lock {
        pub const fn new() -> Self {
            Lock(AtomicBool::new(false))
        }
        /// Takes the lock; `None` when it is held further up this thread's
        /// stack and cannot be waited for (single-threaded wasm). The lock
        /// is released when the guard drops, on a panic too.
        #[inline(always)]
        pub fn acquire(&self) -> Option<Guard<'_>> {
            if !THREADS {
                // One thread: a held lock means re-entry, never a wait.
                return if self.enter() { Some(Guard(self)) } else { None };
            }
            while self.0.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
                while self.0.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            }
            Some(Guard(self))
        }

        /// One thread: takes the lock, whether or not it is held (then
        /// further up this stack, which keeps it); whether it was free. A
        /// load and a store, no branch. The size build has one copy of it
        /// (and of [`Lock::release`]) for all the allocation paths: a call
        /// is fewer bytes than the load and store inlined in each.
        #[cfg_attr(not(feature = "small"), inline(always))]
        #[cfg_attr(feature = "small", inline(never))]
        fn enter(&self) -> bool {
            let held = self.0.load(Ordering::Relaxed);
            self.0.store(true, Ordering::Relaxed);
            !held
        }

        /// Releases the lock.
        #[cfg_attr(not(feature = "small"), inline(always))]
        #[cfg_attr(feature = "small", inline(never))]
        fn release(&self) {
            self.0.store(false, Ordering::Release);
        }
    }

    /// The lock, held until dropped.
    pub struct Guard<'a>(&'a Lock);

    impl Drop for Guard<'_> {
        #[inline(always)]
        fn drop(&mut self) {
            self.0.release();
        }
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

    /// Runs `f` with the heap locked, for a look (stats, check,
    /// introspection): a shared reference only, so safe code cannot reset
    /// or rewrite the heap under live allocations. The lock is released
    /// when `f` returns or panics.
    ///
    /// ```compile_fail
    /// # use heaplab::global::GlobalHeap;
    /// # use heaplab::pages::FixedRegion;
    /// # fn f(heap: &GlobalHeap<FixedRegion>) {
    /// heap.with(|h| h.reset()); // live allocations would be handed out again
    /// # }
    /// ```
    ///
    /// # Panics
    /// If `f` allocates through this allocator on single-threaded wasm (the
    /// heap is in use further up the stack); natively that waits forever.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&H) -> R) -> R {
        let Some(_guard) = self.lock.acquire() else { panic!("the global heap is in use further up this stack") };
        // SAFETY: the lock is held (released by `_guard`, on a panic too),
        // so no `&mut` to the heap exists meanwhile.
        f(unsafe { &*self.heap.get() })
    }

    /// Runs `f` with the heap locked and mutable (flush, sweep), or `None`
    /// when the heap is in use further up this stack (single-threaded wasm).
    ///
    /// # Safety
    /// `f` keeps every live allocation of the heap live and in place (no
    /// `reset`, no freeing what a program still uses, no raw writes into
    /// headers): programs still use them.
    #[inline(always)]
    pub unsafe fn with_mut<R>(&self, f: impl FnOnce(&mut H) -> R) -> Option<R> {
        let _guard = self.lock.acquire()?;
        // SAFETY: the lock is held, so this is the only reference; what `f`
        // does with it is the caller's contract.
        Some(f(unsafe { &mut *self.heap.get() }))
    }

    /// The allocation paths: the heap mutable under the lock, or `fallback`
    /// when it is in use further up this stack.
    #[inline(always)]
    fn locked<R>(&self, fallback: R, f: impl FnOnce(&mut H) -> R) -> R {
        match self.lock.acquire() {
            // SAFETY: the lock is held (released by the guard, on a panic
            // too), so this is the only reference.
            Some(_guard) => f(unsafe { &mut *self.heap.get() }),
            None => fallback,
        }
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
        self.locked(ptr::null_mut(), |h| h.alloc_layout(layout.size().max(1), layout.align()).map_or(ptr::null_mut(), |p| p.as_ptr()))
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let r = self.locked(Ok(()), |h| h.free_layout(ptr, layout.size()));
        debug_assert!(r.is_ok(), "dealloc of an address this heap did not hand out");
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.locked(ptr::null_mut(), |h| h.realloc_layout(ptr, new_size.max(1), layout.align()).map_or(ptr::null_mut(), |p| p.as_ptr()))
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
        self.locked(ptr::null_mut(), |h| h.alloc_pow2(layout.size(), layout.align()).map_or(ptr::null_mut(), |p| p.as_ptr()))
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live allocation of this heap and `layout` the
        // one it was allocated (or last resized) with (GlobalAlloc contract).
        self.locked((), |h| unsafe { h.free_sized(NonNull::new_unchecked(ptr), layout.size()) })
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; `layout` is the one it was allocated with.
        self.locked(ptr::null_mut(), |h| unsafe { h.realloc(NonNull::new_unchecked(ptr), layout.size(), new_size, layout.align()) }.map_or(ptr::null_mut(), |p| p.as_ptr()))
    }
}
