//! A page source over a caller-provided region (a kernel's static array, a
//! test buffer).

use super::{PageSource, PAGE, WASM_PAGE};
use core::ptr::NonNull;

/// Hands out a fixed region in 64 KiB steps (so growth is visible, as with
/// `memory.grow`), optionally leaving a `gap` between steps to simulate
/// growth that is not contiguous (another user of wasm memory grew it in
/// between), which makes the heap start a new segment.
///
/// The start is rounded up to 4 KiB; the last step may be shorter than
/// 64 KiB (whole 4 KiB pages).
#[derive(Debug)]
pub struct FixedRegion {
    /// Start of the region (provenance of the whole region).
    ptr: *mut u8,
    /// Bytes of the region not yet handed out, from `ptr + used`.
    len: usize,
    /// Bytes already handed out or skipped.
    used: usize,
    /// Bytes skipped after each step.
    gap: usize,
    aligned: bool,
}

// SAFETY: the region is exclusively owned by this source (constructor
// contract); moving it between threads moves that ownership.
unsafe impl Send for FixedRegion {}

impl FixedRegion {
    /// A source over `len` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr..ptr + len` must be valid for reads and writes, initialized
    /// (any bytes, e.g. zeroed), and used by nothing else for as long as the
    /// source or a heap built on it exists.
    pub const unsafe fn new(ptr: *mut u8, len: usize) -> Self {
        FixedRegion { ptr, len, used: 0, gap: 0, aligned: false }
    }

    /// Like [`FixedRegion::new`], but skips `gap` bytes (rounded up to
    /// 4 KiB) after each step, so every growth starts a new segment.
    ///
    /// # Safety
    /// As [`FixedRegion::new`].
    pub const unsafe fn with_gap(ptr: *mut u8, len: usize, gap: usize) -> Self {
        FixedRegion { ptr, len, used: 0, gap: (gap + PAGE - 1) & !(PAGE - 1), aligned: false }
    }

    /// Bytes not yet handed out.
    pub fn remaining(&self) -> usize {
        self.len.saturating_sub(self.used)
    }
}

// SAFETY: each run handed out lies inside the region that `new`'s caller
// vouched for (valid, initialized, used by nothing else), starts at a 4 KiB
// boundary, and follows the previous one (`used` only grows).
unsafe impl PageSource for FixedRegion {
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        if !self.aligned {
            self.aligned = true;
            let skip = self.ptr.addr().wrapping_neg() & (PAGE - 1);
            self.used = skip.min(self.len);
        }
        let avail = self.remaining() & !(PAGE - 1);
        let want = min_bytes.checked_add(WASM_PAGE - 1)? & !(WASM_PAGE - 1);
        let give = if want <= avail { want } else { avail };
        if give < min_bytes || give == 0 {
            return None;
        }
        // SAFETY: `used + give <= len`, so the pointer stays in the region.
        let p = unsafe { self.ptr.add(self.used) };
        self.used += give;
        self.used = (self.used + self.gap).min(self.len);
        NonNull::new(p).map(|p| (p, give))
    }

    fn grows_contiguously(&self) -> bool {
        self.gap == 0
    }
}
