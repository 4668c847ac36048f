//! rlsf's `Tlsf` with the parameters of its `GlobalTlsf`, over a
//! [`Region`]: when an allocation does not fit it takes more pages and
//! appends them to its one pool, as `GlobalTlsf` grows wasm memory. Its
//! free blocks come from its own block walk (`iter_blocks`).

use crate::{layout, Peer, Region};
use core::ptr::NonNull;

type Inner = rlsf::Tlsf<'static, usize, usize, { usize::BITS as usize }, { usize::BITS as usize }>;

/// rlsf over a region.
pub struct Rlsf {
    tlsf: Inner,
    region: Region,
}

impl Rlsf {
    /// Takes pages for `size` bytes aligned to `align` and adds them to the pool.
    fn grow(&mut self, size: usize, align: usize) -> bool {
        let first = self.region.taken() == 0;
        // Block header, alignment padding and the pool's sentinel.
        let Some((base, len)) = self.region.take(size + align + 8 * core::mem::size_of::<usize>()) else { return false };
        let block = NonNull::slice_from_raw_parts(NonNull::new(base).expect("region pages are not at 0"), len);
        // SAFETY: the pages are fresh and the pool's alone for its life;
        // after the first take they start where the pool ends (one run).
        unsafe {
            if first {
                self.tlsf.insert_free_block_ptr(block).is_some()
            } else {
                self.tlsf.append_free_block_ptr(block) > 0
            }
        }
    }
}

impl Peer for Rlsf {
    const NAME: &'static str = "rlsf";

    fn new(limit: usize) -> Self {
        Rlsf { tlsf: Inner::new(), region: Region::new(limit) }
    }

    fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        crate::until_grown(self, size, align, |t| t.tlsf.allocate(layout(size, align)).map_or(core::ptr::null_mut(), NonNull::as_ptr), Rlsf::grow)
    }

    unsafe fn free(&mut self, ptr: *mut u8, _size: usize, align: usize) {
        // SAFETY: the caller's contract: ptr is a live allocation of this pool.
        unsafe { self.tlsf.deallocate(NonNull::new_unchecked(ptr), align) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, _old: usize, align: usize, new: usize) -> *mut u8 {
        // SAFETY (the closure): ptr is a live allocation of this pool (the
        // caller's contract); on failure it is left as it was.
        crate::until_grown(self, new, align, |t| unsafe { t.tlsf.reallocate(NonNull::new_unchecked(ptr), layout(new, align)) }.map_or(core::ptr::null_mut(), NonNull::as_ptr), Rlsf::grow)
    }

    fn region(&self) -> Region {
        self.region
    }

    fn free_blocks(&self, _live: &[(usize, usize)], f: &mut dyn FnMut(usize, usize)) -> bool {
        if self.region.taken() == 0 {
            return true;
        }
        let pool = NonNull::slice_from_raw_parts(NonNull::new(self.region.base() as *mut u8).expect("a taken region has a base"), self.region.taken());
        // SAFETY: the pool is exactly the memory given to the Tlsf, in one run.
        for block in unsafe { self.tlsf.iter_blocks(pool) } {
            if !block.is_occupied() {
                f(block.as_ptr().cast::<u8>().as_ptr() as usize, block.size());
            }
        }
        true
    }
}
