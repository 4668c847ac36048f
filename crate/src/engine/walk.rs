//! The walks over every block of every region: the integrity check, the
//! figures, and the deferred-coalescing sweep. O(blocks); the allocation
//! paths never walk (but for [`Hooks::EXACT_FAILURE`] faces before growth).

use super::{Engine, Hooks, QUICK, QUICK_LISTS};
use crate::block::{Block, HEADER, PREV_USED, SIZE_MASK, USED};
use crate::errors::CheckError;
use crate::events::Event;
use crate::policy::Policy;

/// What a block is, as the walk hands it to a face's own check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A used block (an allocation).
    Used,
    /// A freed block waiting on a quick list (marked used and quick).
    Quick,
    /// A free block (in the index).
    Free,
}

/// Figures from one walk over every block ([`Engine::figures`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Regions (lean: segments; checked: arenas).
    pub regions: usize,
    /// Used blocks (not counting quick blocks).
    pub used_blocks: usize,
    /// Bytes of used blocks (headers included).
    pub used_bytes: usize,
    /// Freed blocks waiting on the quick lists.
    pub quick_blocks: usize,
    /// Bytes of quick blocks.
    pub quick_bytes: usize,
    /// Free blocks.
    pub free_blocks: usize,
    /// Bytes of free blocks.
    pub free_bytes: usize,
    /// The largest free block.
    pub largest_free: usize,
}

/// Regions whose bounds the integrity check keeps on the stack (more are
/// walked again for each link checked).
const MAX_CACHED: usize = 32;

/// Fails with `what` at `addr`.
fn fail<T>(addr: usize, what: &'static str) -> Result<T, CheckError> {
    Err(CheckError::new(addr, what))
}

impl<P: Policy, H: Hooks> Engine<P, H> {
    /// Visits every region's first block and epilogue address.
    pub(crate) fn regions(&self, mut f: impl FnMut(Block, usize)) {
        let mut cur = self.hooks.next_region(None);
        while let Some((first, end)) = cur {
            f(first, end);
            cur = self.hooks.next_region(Some(first));
        }
    }

    /// Walks every block, checking the block structure (sizes, flags,
    /// footers, no adjacent free blocks under immediate coalescing, each
    /// region ending with its epilogue): `f(block, size, kind)`; stops at
    /// the first error.
    pub(crate) fn walk(&self, mut f: impl FnMut(Block, usize, Kind) -> Result<(), CheckError>) -> Result<(), CheckError> {
        let (g, min, deferred) = (self.granule(), self.min_block(), self.hooks.deferred());
        let mut r = Ok(());
        self.regions(|first, end| {
            if r.is_err() {
                return;
            }
            r = (|| {
                let mut b = first;
                let mut prev_used = true;
                // SAFETY: a region's first block is where the face says;
                // each size is checked to stay inside the region before
                // moving on, so every header read lies in it.
                unsafe {
                    while b.addr() < end {
                        let h = b.header();
                        let size = (h & SIZE_MASK) as usize;
                        if size == 0 {
                            return fail(b.addr(), "zero-size block before the region's end (header overwritten?)");
                        }
                        if !size.is_multiple_of(g) {
                            return fail(b.addr(), "block size is not a multiple of the granule");
                        }
                        if b.addr() + size > end {
                            return fail(b.addr(), "block runs past the end of its region");
                        }
                        if size < min {
                            return fail(b.addr(), "block smaller than the minimum block");
                        }
                        if (h & PREV_USED != 0) != prev_used {
                            return fail(b.addr(), "prev-used bit does not match the previous block");
                        }
                        let used = h & USED != 0;
                        let kind = match (used, h & QUICK == QUICK) {
                            (true, true) => Kind::Quick,
                            (true, false) => Kind::Used,
                            (false, _) => Kind::Free,
                        };
                        if !used {
                            if b.footer() != size as u64 {
                                return fail(b.addr(), "footer does not match the header");
                            }
                            if !prev_used && !deferred {
                                return fail(b.addr(), "two adjacent free blocks under immediate coalescing");
                            }
                        }
                        f(b, size, kind)?;
                        prev_used = used;
                        b = b.add(size);
                    }
                    let h = b.header();
                    if b.addr() != end || h & SIZE_MASK != 0 || h & USED == 0 {
                        return fail(b.addr(), "region does not end with its epilogue");
                    }
                    if (h & PREV_USED != 0) != prev_used {
                        return fail(b.addr(), "epilogue's prev-used bit does not match the last block");
                    }
                }
                Ok(())
            })();
        });
        r
    }

    /// Whether the block at `b` can be read without leaving the heap: its
    /// header lies inside one of `regions` (or, past the first
    /// [`MAX_CACHED`], any region), at a granule boundary, and the size it
    /// says is a granule multiple of at least the minimum block that ends
    /// inside the region (so its links and footer are inside too). It
    /// need not be a block the walk found: the policy's and the quick
    /// lists' own checks say what else is wrong.
    fn readable(&self, regions: &[(usize, usize)], all: bool, b: Block) -> bool {
        let (g, min, a) = (self.granule(), self.min_block(), b.addr());
        if !(a.wrapping_add(HEADER)).is_multiple_of(g) {
            return false;
        }
        let inside = |first: usize, end: usize| {
            if a < first || a >= end {
                return false;
            }
            // SAFETY: the header's 8 bytes lie inside the region (`a` is
            // 8-aligned, at least `first` and below the epilogue at `end`).
            let size = (unsafe { b.header() } & SIZE_MASK) as usize;
            size >= min && size.is_multiple_of(g) && size <= end - a
        };
        if regions.iter().any(|&(first, end)| inside(first, end)) {
            return true;
        }
        let mut found = false;
        if all {
            self.regions(|first, end| found = found || inside(first.addr(), end));
        }
        found
    }

    /// The integrity walk: the walk over every block with `f` for the face's own
    /// checks of each block, then the index (passing its own check, every
    /// link checked readable before it is followed, and holding exactly
    /// the free blocks) and the quick lists (holding exactly the quick
    /// blocks, each on the list of its size). Never follows a link it has
    /// not checked, and every list walk is bounded by a count: a corrupted
    /// heap is reported, never a trap or a hang.
    ///
    /// # Errors
    /// The first broken invariant.
    pub fn check_with(&self, mut f: impl FnMut(Block, usize, Kind) -> Result<(), CheckError>) -> Result<(), CheckError> {
        let (mut free, mut quick) = (0, 0);
        self.walk(|b, size, kind| {
            match kind {
                Kind::Quick => quick += 1,
                Kind::Free => free += 1,
                Kind::Used => {}
            }
            f(b, size, kind)
        })?;
        let mut cached = [(0usize, 0usize); MAX_CACHED];
        let mut n = 0;
        self.regions(|first, end| {
            if n < MAX_CACHED {
                cached[n] = (first.addr(), end);
            }
            n += 1;
        });
        let (regions, all) = (&cached[..n.min(MAX_CACHED)], n > MAX_CACHED);
        let ok = |b: Block| self.readable(regions, all, b);
        // SAFETY: `check` reads only blocks `ok` accepts, which lie inside
        // the heap's regions.
        unsafe { self.policy.check(&ok)? };
        if free != self.policy.len() {
            return fail(0, "the free list holds blocks that are not free");
        }
        // Every free block the walk found is listed (the index passed its
        // check, so its links lead only to readable blocks).
        self.walk(|b, _, kind| {
            // SAFETY: `b` is a valid free block (the walk checked its
            // header and footer) and the index is well formed (above).
            if kind == Kind::Free && !unsafe { self.policy.contains(b) } {
                return fail(b.addr(), "free block missing from the free list");
            }
            Ok(())
        })?;
        let mut listed = 0;
        for (i, list) in self.quick.iter().enumerate() {
            let mut cur = *list;
            while let Some(b) = cur {
                listed += 1;
                if listed > quick {
                    return fail(b.addr(), "quick lists hold more blocks than the heap marks quick (cycle?)");
                }
                if !ok(b) {
                    return fail(b.addr(), "quick-list link points outside the heap's blocks");
                }
                // SAFETY: `ok` accepted `b`: its header and link lie inside
                // a region.
                let h = unsafe { b.header() };
                if h & USED == 0 || h & QUICK != QUICK || (h & SIZE_MASK) as usize != i * 8 {
                    return fail(b.addr(), "quick list holds a block of another size or not marked quick");
                }
                // SAFETY: as above; link 0 of a quick block is its list link.
                cur = unsafe { b.next_free() };
            }
        }
        if listed != quick {
            return fail(0, "a block marked quick is on no quick list");
        }
        Ok(())
    }

    /// Figures from a walk over every block (O(blocks)); a broken heap's
    /// figures stop at the first broken block.
    pub fn figures(&self) -> Figures {
        let mut s = Figures::default();
        self.regions(|_, _| s.regions += 1);
        let _ = self.walk(|_, size, kind| {
            match kind {
                Kind::Quick => {
                    s.quick_blocks += 1;
                    s.quick_bytes += size;
                }
                Kind::Used => {
                    s.used_blocks += 1;
                    s.used_bytes += size;
                }
                Kind::Free => {
                    s.free_blocks += 1;
                    s.free_bytes += size;
                    s.largest_free = s.largest_free.max(size);
                }
            }
            Ok(())
        });
        s
    }

    /// Whether flushing the quick lists (free blocks already merged, as
    /// with immediate coalescing) makes a free block of `want` bytes: for
    /// each quick block, the free block before it and the run of free and
    /// quick blocks from it on. The run from a run's first quick block
    /// covers the whole run, so this is exact. Past a small budget of steps
    /// (many adjacent quick blocks) it asks [`Engine::largest_run`].
    pub(crate) fn flush_reaches(&self, want: usize) -> bool {
        let mut budget = 256usize;
        for head in self.quick {
            let mut cur = head;
            while let Some(q) = cur {
                // SAFETY: quick blocks are used blocks of this heap (link 0
                // their list's next); a clear prev-used bit means a free
                // block with its footer before it; every block is followed
                // by a header (the epilogue, size 0 and used, ends a region).
                unsafe {
                    let h = q.header();
                    let mut run = (h & SIZE_MASK) as usize;
                    if h & PREV_USED == 0 {
                        run += q.addr() - q.prev().addr();
                    }
                    let mut n = q.next();
                    loop {
                        let nh = n.header();
                        let size = (nh & SIZE_MASK) as usize;
                        if size == 0 || (nh & USED != 0 && nh & QUICK != QUICK) {
                            break;
                        }
                        run += size;
                        n = n.add(size);
                        budget = budget.saturating_sub(1);
                        if budget == 0 {
                            return self.largest_run() >= want;
                        }
                    }
                    if run >= want {
                        return true;
                    }
                    cur = q.next_free();
                }
                budget = budget.saturating_sub(1);
                if budget == 0 {
                    return self.largest_run() >= want;
                }
            }
        }
        false
    }

    /// The largest run of adjacent free and quick blocks: the largest free
    /// block a flush and a sweep would make.
    pub(crate) fn largest_run(&self) -> usize {
        let (mut largest, mut run, mut run_end) = (0, 0, 0);
        let _ = self.walk(|b, size, kind| {
            // (A run ends with its region: the next region's first block
            // does not start where the last one ended.)
            if kind == Kind::Used || b.addr() != run_end {
                run = 0;
            }
            if kind != Kind::Used {
                run += size;
                largest = largest.max(run);
            }
            run_end = b.addr() + size;
            Ok(())
        });
        largest
    }

    /// Deferred coalescing: merges every run of adjacent free blocks, and
    /// offers each region left one free block back to the face; the number
    /// of merges. Quick blocks stay (see [`Engine::flush`]).
    pub fn sweep(&mut self) -> usize {
        self.emit(Event::SweepStart);
        let mut merged = 0;
        let mut cur = self.hooks.next_region(None);
        while let Some((first, _)) = cur {
            // SAFETY: walks the blocks of a well-formed region from its
            // first block to its epilogue (size 0); every free block is
            // indexed, removed before its header changes and the merged
            // one inserted after.
            unsafe {
                let mut b = first;
                while b.size() != 0 {
                    if !b.is_used() {
                        let mut n = b.next();
                        if !n.is_used() {
                            self.policy.remove(b);
                            let mut total = b.size();
                            while !n.is_used() {
                                self.policy.remove(n);
                                total += n.size();
                                merged += 1;
                                self.emit(Event::Merge { block: b.addr(), with: n.addr(), size: total });
                                n = n.next();
                            }
                            b.write_free(total, b.prev_used());
                            n.set_prev_used(false);
                            self.index_insert(b, total);
                        }
                        if H::RELEASES_REGIONS && b == first && b.next().size() == 0 {
                            let size = b.size();
                            if self.hooks.region_free(b, size) {
                                self.policy.remove(b);
                                break;
                            }
                        }
                    }
                    b = b.next();
                }
            }
            cur = self.hooks.next_region(Some(first));
        }
        self.dirty = false;
        self.emit(Event::SweepEnd { merged });
        merged
    }

    /// Whether the block at `b` is on a quick list.
    ///
    /// # Safety
    /// A header of this heap is at `b`.
    #[inline]
    pub(crate) unsafe fn is_quick(b: Block) -> bool {
        // SAFETY: forwarded to the caller.
        let h = unsafe { b.header() };
        h & USED != 0 && h & QUICK == QUICK
    }
}

const _: () = assert!(QUICK_LISTS * 8 > super::QUICK_MAX && HEADER == 8);
