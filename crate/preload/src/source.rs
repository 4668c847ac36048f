//! The heap's pages, from the kernel: one large reservation of address
//! space (`mmap` with `MAP_NORESERVE`: no memory is committed until a page
//! is touched) handed out from its start in 64 KiB steps, so the heap grows
//! contiguously, one segment, as it does over wasm memory. When the
//! reservation is used up (or the kernel refuses one that large), a new one
//! is made, and the heap gets a second segment.

use core::ptr::NonNull;
use heaplab::pages::PageSource;

/// Bytes handed out at a time, at least.
const STEP: usize = 64 << 10;

/// Reservation sizes tried, largest first.
const RESERVE: [usize; 4] = [64 << 30, 8 << 30, 1 << 30, 128 << 20];

/// Pages from `mmap` reservations.
#[derive(Default)]
pub struct Mmap {
    /// Next byte to hand out in the current reservation.
    next: usize,
    /// End of the current reservation.
    end: usize,
}

impl Mmap {
    /// No reservation yet: made at the first `grow`.
    pub const fn new() -> Mmap {
        Mmap { next: 0, end: 0 }
    }

    /// Maps `len` bytes of fresh address space, or None.
    fn reserve(len: usize) -> Option<usize> {
        // SAFETY: an anonymous private mapping at an address the kernel
        // picks touches no existing memory.
        let p = unsafe { libc::mmap(core::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0) };
        (p != libc::MAP_FAILED).then_some(p as usize)
    }
}

// SAFETY: every range handed out is fresh mapped memory (zeroed, 64 KiB
// aligned as the kernel maps pages and the steps are 64 KiB), never handed
// out twice, and never unmapped while the process lives.
unsafe impl PageSource for Mmap {
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        let len = min_bytes.checked_add(STEP - 1)? & !(STEP - 1);
        if self.end - self.next < len {
            let (base, size) = RESERVE.iter().find_map(|&r| Some((Self::reserve(r.max(len))?, r.max(len))))?;
            self.next = base;
            self.end = base + size;
        }
        let p = self.next;
        self.next += len;
        NonNull::new(p as *mut u8).map(|p| (p, len))
    }

    fn grows_contiguously(&self) -> bool {
        self.end - self.next >= STEP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_contiguous_zeroed_steps() {
        let mut m = Mmap::new();
        let (a, n) = m.grow(1).unwrap();
        assert_eq!((n, a.as_ptr() as usize % 4096), (STEP, 0));
        let (b, k) = m.grow(STEP + 1).unwrap();
        assert_eq!((b.as_ptr() as usize, k), (a.as_ptr() as usize + STEP, 2 * STEP));
        assert!(m.grows_contiguously());
        // SAFETY: the pages are ours and mapped.
        let bytes = unsafe { core::slice::from_raw_parts(b.as_ptr(), k) };
        assert!(bytes.iter().all(|&x| x == 0));
        assert!(m.grow(usize::MAX - 10).is_none(), "an impossible size is refused, not wrapped");
    }
}
