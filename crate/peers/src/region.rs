//! Where a production allocator's memory comes from: one contiguous run of
//! 4 KiB pages that only grows, like wasm memory under `memory.grow`.
//!
//! In wasm32 the pages are wasm memory past everything else: the first
//! [`Region::take`] of the instance starts at the end of memory rounded up
//! to [`BASE_ALIGN`] (every later region of the instance starts there too:
//! one heap at a time), and later takes continue where the last ended, growing
//! memory by whole 64 KiB wasm pages when it runs out. Memory already there
//! past the region's end is taken as the region's own (after a restore of
//! saved bytes, memory can be bigger than the region remembers; in a trace
//! module nothing else grows memory). Natively the pages come from a range
//! reserved once (`limit` bytes, aligned to [`BASE_ALIGN`]).
//!
//! The heap span of a production allocator is [`Region::taken`]: the bytes
//! of pages it has asked for, as the fits' span counts their pages in use.

/// Bytes in a page.
pub const PAGE: usize = 4096;

/// Alignment of a region's first page. Allocators that align blocks to
/// their size (the buddy system) lay out alike wherever the base is, up to
/// blocks of this size.
pub const BASE_ALIGN: usize = 4 << 20;

/// One contiguous run of pages taken so far.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    /// Address of the first page; 0 until the first take.
    base: usize,
    /// Bytes taken: `base..base + taken` is the allocator's.
    taken: usize,
    /// Most bytes the region may take.
    limit: usize,
}

impl Region {
    /// A region that has taken nothing and takes at most `limit` bytes.
    pub const fn new(limit: usize) -> Region {
        Region { base: 0, taken: 0, limit }
    }

    /// Address of the first page (0 before the first take).
    pub fn base(&self) -> usize {
        self.base
    }

    /// Bytes taken: the heap span.
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// One past the last byte taken.
    pub fn end(&self) -> usize {
        self.base + self.taken
    }

    /// Gives the reserved range back (natively; wasm memory never shrinks).
    ///
    /// # Safety
    /// Nothing uses the region's memory any more: the allocator over it is
    /// dropped and no pointer into it is used again.
    pub unsafe fn release(self) {
        #[cfg(not(target_arch = "wasm32"))]
        if self.base != 0 {
            let layout = std::alloc::Layout::from_size_align(self.limit.max(PAGE), BASE_ALIGN).expect("the layout `first_page` used");
            // SAFETY: `first_page` reserved exactly this; the caller says it is unused.
            unsafe { std::alloc::dealloc(self.base as *mut u8, layout) };
        }
    }

    /// Takes `bytes` rounded up to whole pages, right after the pages taken
    /// before; `(address, bytes)`, or None past the limit or when memory
    /// cannot grow.
    pub fn take(&mut self, bytes: usize) -> Option<(*mut u8, usize)> {
        let need = crate::round_up(bytes.max(1), PAGE);
        if need > self.limit - self.taken {
            return None;
        }
        if self.base == 0 {
            self.base = first_page(self.limit)?;
        }
        let start = self.end();
        ensure_memory(start + need)?;
        self.taken += need;
        Some((start as *mut u8, need))
    }
}

/// The first page of every region of this wasm instance: decided once, at
/// the first take, so that a heap restored to before its first take (its
/// saved state says "no pages yet") starts at the same address again.
#[cfg(target_arch = "wasm32")]
static WASM_BASE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

#[cfg(target_arch = "wasm32")]
fn first_page(_limit: usize) -> Option<usize> {
    use core::sync::atomic::Ordering::Relaxed;
    if WASM_BASE.load(Relaxed) == 0 {
        let end = core::arch::wasm32::memory_size(0) * 65536;
        WASM_BASE.store(crate::round_up(end, BASE_ALIGN), Relaxed);
    }
    Some(WASM_BASE.load(Relaxed))
}

#[cfg(target_arch = "wasm32")]
fn ensure_memory(end: usize) -> Option<()> {
    let have = core::arch::wasm32::memory_size(0) * 65536;
    if end > have && core::arch::wasm32::memory_grow(0, (end - have).div_ceil(65536)) == usize::MAX {
        return None;
    }
    Some(())
}

#[cfg(not(target_arch = "wasm32"))]
fn first_page(limit: usize) -> Option<usize> {
    let layout = std::alloc::Layout::from_size_align(limit.max(PAGE), BASE_ALIGN).ok()?;
    // SAFETY: the layout's size is not zero. The range is never freed: it
    // stays the region's for the life of the process, as wasm memory does.
    let p = unsafe { std::alloc::alloc(layout) };
    (!p.is_null()).then_some(p as usize)
}

#[cfg(not(target_arch = "wasm32"))]
fn ensure_memory(_end: usize) -> Option<()> {
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_whole_pages_in_one_run_up_to_the_limit() {
        let mut r = Region::new(5 * PAGE);
        let (a, n) = r.take(1).unwrap();
        assert_eq!((n, a as usize % BASE_ALIGN), (PAGE, 0));
        let (b, m) = r.take(PAGE + 1).unwrap();
        assert_eq!((b as usize, m), (a as usize + PAGE, 2 * PAGE));
        assert_eq!(r.taken(), 3 * PAGE);
        assert!(r.take(2 * PAGE + 1).is_none(), "past the limit");
        assert_eq!(r.taken(), 3 * PAGE, "a refused take takes nothing");
        assert!(r.take(2 * PAGE).is_some());
        assert_eq!(r.end(), r.base() + 5 * PAGE);
    }
}
