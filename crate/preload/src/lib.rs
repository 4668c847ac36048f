//! Heaplab's lean heap as a program's `malloc`: a shared library that
//! exports the C allocation ABI (`malloc`, `free`, `calloc`, `realloc`,
//! `reallocarray`, `posix_memalign`, `aligned_alloc`, `memalign`, `valloc`,
//! `pvalloc`, `malloc_usable_size`), so that
//!
//! ```sh
//! LD_PRELOAD=target/release/libheaplab_preload.so HEAPLAB_POLICY=first-fit ls -lR /usr/share/doc
//! ```
//!
//! runs `ls` with every allocation served by [`LeanHeap`] (the engine of
//! Heaplab's `#[global_allocator]`) over pages from `mmap` ([`source`]).
//!
//! - `HEAPLAB_POLICY`: `first-fit`, `next-fit`, `best-fit`, `worst-fit` or
//!   `segregated` (the default). Any other value stops the program at its
//!   first allocation with a message saying so (exit status 127).
//! - `HEAPLAB_TRACE=file`: the program's calls are written to `file` as a
//!   malloc-lab `.rep` trace ([`trace`]); a child process that inherits the
//!   variable while the file exists writes `file.PID`.
//!
//! Thread-safe: one lock around the heap (a spin lock that yields to the
//! scheduler while it waits); `fork` takes the lock first, so the child's
//! heap is never left mid-operation. Allocations are aligned to 16 bytes
//! (`max_align_t`); alignments above 4 KiB, and sizes above 2 GiB, fail
//! with `ENOMEM`/`EINVAL` as C says. Memory is never returned to the
//! kernel.

// The unit tests leave the C functions out (see `abi`), and with them the callers of most of this file.
#![cfg_attr(test, allow(dead_code))]

use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use heaplab::lean::LeanHeap;
use heaplab::policy::AnyPolicy;
use heaplab::PolicyKind;

pub mod source;
pub mod trace;

/// The alignment of every `malloc`: `max_align_t` on x86-64 and aarch64.
const ALIGN: usize = 16;

/// The heap and its trace, behind [`LOCK`].
struct State {
    heap: Option<LeanHeap<source::Mmap, AnyPolicy>>,
    trace: trace::Recorder,
}

struct Shared(UnsafeCell<State>);

// SAFETY: the state is only touched while LOCK is held.
unsafe impl Sync for Shared {}

static STATE: Shared = Shared(UnsafeCell::new(State { heap: None, trace: trace::Recorder::new() }));
static LOCK: AtomicBool = AtomicBool::new(false);
/// 0: nothing done; 1: the fork handlers and exit hook are being registered; 2: done.
static HOOKS: AtomicU8 = AtomicU8::new(0);

fn lock() {
    let mut spins = 0u32;
    while LOCK.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        spins += 1;
        if spins < 100 {
            core::hint::spin_loop();
        } else {
            // SAFETY: no preconditions; lets the holder run on a busy core.
            unsafe { libc::sched_yield() };
        }
    }
}

fn unlock() {
    LOCK.store(false, Ordering::Release);
}

/// Runs `f` on the state, locked; the heap is made at the first call.
fn with<R>(f: impl FnOnce(&mut LeanHeap<source::Mmap, AnyPolicy>, &mut trace::Recorder) -> R) -> R {
    lock();
    // SAFETY: the lock is held: this is the only reference to the state.
    let state = unsafe { &mut *STATE.0.get() };
    if state.heap.is_none() {
        init(state);
    }
    let heap = state.heap.as_mut().expect("made by init");
    let r = f(heap, &mut state.trace);
    unlock();
    if HOOKS.load(Ordering::Acquire) == 0 {
        register_hooks();
    }
    r
}

/// Reads the environment and makes the heap (the lock is held).
fn init(state: &mut State) {
    let kind = match env(c"HEAPLAB_POLICY") {
        None => PolicyKind::Segregated,
        Some(name) => match core::str::from_utf8(name).ok().and_then(PolicyKind::from_name) {
            Some(kind) => kind,
            None => {
                say(&[b"heaplab-preload: HEAPLAB_POLICY=", name, b" is not a policy (first-fit, next-fit, best-fit, worst-fit or segregated)\n"]);
                // SAFETY: ends the process at once; nothing of ours is half done.
                unsafe { libc::_exit(127) }
            }
        },
    };
    state.heap = Some(LeanHeap::with_policy(source::Mmap::new(), kind));
    if let Some(path) = env(c"HEAPLAB_TRACE") {
        let mut name = [0u8; 4096];
        if path.is_empty() || path.len() >= name.len() || {
            name[..path.len()].copy_from_slice(path);
            !state.trace.open(&name[..=path.len()])
        } {
            say(&[b"heaplab-preload: HEAPLAB_TRACE=", path, b": cannot create this file; the program runs without a trace\n"]);
        }
    }
}

/// The bytes of an environment variable, without allocating.
fn env(name: &core::ffi::CStr) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated; getenv returns null or a string
    // that lives as long as the environment is not changed.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: a NUL-terminated string from the environment.
    (!p.is_null()).then(|| unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes())
}

/// Writes to standard error without allocating.
fn say(parts: &[&[u8]]) {
    for part in parts {
        // SAFETY: writes the bytes of a slice.
        unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
}

/// Fork handlers and the exit hook, registered once, outside the lock
/// (registering may allocate).
fn register_hooks() {
    if HOOKS.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return;
    }
    extern "C" fn prepare() {
        lock();
    }
    extern "C" fn parent() {
        unlock();
    }
    extern "C" fn child() {
        // The child shares the trace file with its parent: it stops
        // writing (an exec'd program starts its own).
        // SAFETY: the lock is held since `prepare`; one thread in the child.
        unsafe { (*STATE.0.get()).trace.abandon() };
        unlock();
    }
    extern "C" fn at_exit() {
        lock();
        // SAFETY: the lock is held.
        unsafe { (*STATE.0.get()).trace.finish() };
        unlock();
    }
    // SAFETY: plain C functions that take no arguments.
    unsafe {
        libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
        libc::atexit(at_exit);
    }
    HOOKS.store(2, Ordering::Release);
}

fn set_errno(e: i32) {
    // SAFETY: this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// An allocation of `size` bytes aligned to `align` (a power of two ≥ 16),
/// recorded; null and ENOMEM when it cannot be had.
fn allocate(size: usize, align: usize) -> *mut u8 {
    let p = with(|heap, trace| {
        let p = heap.alloc(size.max(1), align).map_or(ptr::null_mut(), NonNull::as_ptr);
        if !p.is_null() && trace.active() {
            trace.alloc(p, size);
        }
        p
    });
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

/// The C functions. Left out of this crate's own unit tests, whose test
/// binary would otherwise allocate through them.
#[cfg(not(test))]
mod abi {
    use super::*;
    use core::ffi::c_void;

    /// # Safety
    /// C's `malloc`.
    #[no_mangle]
    pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        allocate(size, ALIGN).cast()
    }

    /// # Safety
    /// C's `free`: `p` is null or a live allocation of this heap.
    #[no_mangle]
    pub unsafe extern "C" fn free(p: *mut c_void) {
        let Some(p) = NonNull::new(p.cast::<u8>()) else { return };
        with(|heap, trace| {
            if trace.active() {
                trace.free(p.as_ptr());
            }
            // SAFETY: a live allocation of this heap (C's contract).
            unsafe { heap.free(p) }
        });
    }

    /// # Safety
    /// C's `calloc`.
    #[no_mangle]
    pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
        let Some(bytes) = n.checked_mul(size) else {
            set_errno(libc::ENOMEM);
            return ptr::null_mut();
        };
        let p = allocate(bytes, ALIGN);
        if !p.is_null() {
            // SAFETY: a fresh allocation of at least `bytes` bytes. (Reused
            // blocks hold old bytes: zeroed always.)
            unsafe { ptr::write_bytes(p, 0, bytes) };
        }
        p.cast()
    }

    /// # Safety
    /// C's `realloc`: `p` is null or a live allocation of this heap.
    #[no_mangle]
    pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
        let Some(old) = NonNull::new(p.cast::<u8>()) else { return allocate(size, ALIGN).cast() };
        if size == 0 {
            // glibc's realloc(p, 0): frees p, returns null.
            // SAFETY: C's contract, as in `realloc`.
            unsafe { free(p) };
            return ptr::null_mut();
        }
        let new = with(|heap, trace| {
            // SAFETY: a live allocation of this heap (C's contract); its
            // usable bytes are all the block holds, so copying them on a
            // move stays inside it; every allocation here is aligned to 16.
            let new = unsafe { heap.realloc(old, heap.usable_size(old), size, ALIGN) }.map_or(ptr::null_mut(), NonNull::as_ptr);
            if !new.is_null() && trace.active() {
                trace.realloc(old.as_ptr(), new, size);
            }
            new
        });
        if new.is_null() {
            set_errno(libc::ENOMEM);
        }
        new.cast()
    }

    /// # Safety
    /// As `realloc`.
    #[no_mangle]
    pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
        match n.checked_mul(size) {
            // SAFETY: forwarded.
            Some(bytes) => unsafe { realloc(p, bytes) },
            None => {
                set_errno(libc::ENOMEM);
                ptr::null_mut()
            }
        }
    }

    /// An aligned allocation; null (and errno) when `align` is not a power
    /// of two or above a page.
    fn aligned(align: usize, size: usize) -> *mut u8 {
        if !align.is_power_of_two() || align > heaplab::engine::MAX_ALIGN {
            set_errno(libc::EINVAL);
            return ptr::null_mut();
        }
        allocate(size, align.max(ALIGN))
    }

    /// # Safety
    /// C's `posix_memalign`: `out` is writable.
    #[no_mangle]
    pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
        if !align.is_power_of_two() || !align.is_multiple_of(core::mem::size_of::<usize>()) {
            return libc::EINVAL;
        }
        if align > heaplab::engine::MAX_ALIGN {
            return libc::ENOMEM;
        }
        let p = allocate(size, align.max(ALIGN));
        if p.is_null() {
            return libc::ENOMEM;
        }
        // SAFETY: writable (C's contract).
        unsafe { *out = p.cast() };
        0
    }

    /// # Safety
    /// C's `aligned_alloc`.
    #[no_mangle]
    pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
        aligned(align, size).cast()
    }

    /// # Safety
    /// C's `memalign`.
    #[no_mangle]
    pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
        aligned(align, size).cast()
    }

    /// # Safety
    /// C's `valloc`.
    #[no_mangle]
    pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
        aligned(4096, size).cast()
    }

    /// # Safety
    /// C's `pvalloc`.
    #[no_mangle]
    pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
        aligned(4096, size.div_ceil(4096).max(1) * 4096).cast()
    }

    /// # Safety
    /// C's `malloc_usable_size`: `p` is null or a live allocation of this heap.
    #[no_mangle]
    pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
        match NonNull::new(p.cast::<u8>()) {
            // SAFETY: a live allocation of this heap (C's contract).
            Some(p) => with(|heap, _| unsafe { heap.usable_size(p) }),
            None => 0,
        }
    }
}
