//! The buddy page allocator: blocks of 2^k pages (k is the block's
//! *order*) over one run of memory from a [`PageSource`].
//!
//! ```text
//! memory:  [meta][0][ 1 ][ order 2  ][ order 3 (8 pages)          ]
//!          ^ base: page index 0       ^ 4        ^ 8
//! split:   order 3 at 8  ->  order 2 at 8  +  order 2 at 12 (its buddy)
//! buddy:   index XOR 2^k (relative to base): 8 <-> 12 at order 2, 4 <-> 0 ...
//! ```
//!
//! * The *metadata* lives in the first pages of the memory: one link per
//!   page (the free lists are doubly linked through page indices), one map
//!   byte per page (`HEAD | order` where a block starts, 0 inside a block)
//!   and a *free bitmap* (bit `i` set iff a free block starts at page `i`).
//!   Its pages are used blocks of the allocator itself, tagged
//!   [`META_OWNER`]: the blocks tile the whole memory, from `base` (page 0),
//!   so 2^n pages are one region of order n, and "the buddy is at address
//!   XOR size" holds for offsets from `base`, whatever the absolute
//!   alignment of the memory. The metadata blocks are never freed, so their
//!   buddies never merge past them.
//! * The largest order is the largest power of two of pages that fits in
//!   the memory (at most [`MAX_ORDER`]); memory that is not a power of two
//!   starts as several free blocks, each as large as its offset's alignment
//!   and the end allow.
//! * `alloc_pages(k)` takes the smallest free block of order ≥ k and splits
//!   it in halves down to order k, the upper halves going onto the free
//!   lists; `free_pages` merges the block with its buddy while the buddy is
//!   free and of the same order.
//!
//! Invariants (checked by [`Buddy::check`]): the blocks tile the pages; a
//! block of order k starts at a multiple of 2^k; the bitmap bit of a page is
//! set iff a free block starts there, iff that block is on the free list of
//! its order; no two free buddies of the same order are left unmerged.
//!
//! The memory is obtained at the first operation (so a [`GlobalBuddy`] can
//! be a `static`).

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::slice;

use crate::errors::{AllocError, CheckError};
use crate::events::{Event, NoObserver, Observer};
use crate::global::Locked;
use crate::pages::{FixedRegion, PageSource, PAGE};

/// The largest order any buddy allocator uses (2^20 pages, 4 GiB).
pub const MAX_ORDER: usize = 20;
/// Number of orders, `0..=MAX_ORDER`.
pub const ORDERS: usize = MAX_ORDER + 1;

/// Map byte flag: a block starts at this page (the low bits hold its order).
const HEAD: u8 = 0x80;
const ORDER_MASK: u8 = 0x1f;
/// The end of a free list.
const NIL: u32 = u32::MAX;
/// The owner tag of the blocks holding the allocator's own metadata
/// ([`Buddy::owner_of`] reports it; `free_pages` refuses them).
pub const META_OWNER: u16 = u16::MAX;

/// The order of the smallest block that holds `bytes` (at least one page):
/// `None` above [`MAX_ORDER`].
pub const fn order_for(bytes: usize) -> Option<usize> {
    let pages = if bytes == 0 { 1 } else { bytes.div_ceil(PAGE) };
    let order = match pages.checked_next_power_of_two() {
        Some(p) => p.trailing_zeros() as usize,
        None => return None,
    };
    if order <= MAX_ORDER {
        Some(order)
    } else {
        None
    }
}

/// One page's free-list link. For the head of a used block the two words
/// hold the requested bytes instead (the low 32 bits in `next`, the rest in
/// the low 16 bits of `prev`) and its owner tag (the high 16 bits of `prev`).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct Link {
    next: u32,
    prev: u32,
}

/// Free-list heads and counters, kept in O(1) per operation.
#[derive(Clone, Copy, Debug)]
struct Lists {
    /// First free block of each order (`NIL` when the list is empty).
    heads: [u32; ORDERS],
    /// Free blocks on each list.
    counts: [usize; ORDERS],
    /// Pages in used blocks.
    used_pages: usize,
    /// Used blocks.
    used_blocks: usize,
    /// Sum of the requested bytes of the used blocks.
    requested: usize,
    splits: u64,
    merges: u64,
}

impl Lists {
    const EMPTY: Lists = Lists { heads: [NIL; ORDERS], counts: [0; ORDERS], used_pages: 0, used_blocks: 0, requested: 0, splits: 0, merges: 0 };
}

/// The metadata as slices, with the lists: every free-list operation.
struct Meta<'a> {
    links: &'a mut [Link],
    map: &'a mut [u8],
    bits: &'a mut [u64],
    lists: &'a mut Lists,
}

impl Meta<'_> {
    #[inline]
    fn is_free(&self, i: usize) -> bool {
        self.bits[i / 64] >> (i % 64) & 1 != 0
    }

    #[inline]
    fn set_free(&mut self, i: usize, free: bool) {
        let m = 1u64 << (i % 64);
        if free {
            self.bits[i / 64] |= m;
        } else {
            self.bits[i / 64] &= !m;
        }
    }

    /// Whether a free block of order `k` starts at page `i`.
    #[inline]
    fn is_free_head(&self, i: usize, k: usize) -> bool {
        self.is_free(i) && self.map[i] == HEAD | k as u8
    }

    /// Records a free block of order `k` at `i` at the front of its list.
    fn push(&mut self, i: usize, k: usize) {
        let old = self.lists.heads[k];
        self.links[i] = Link { next: old, prev: NIL };
        if old != NIL {
            self.links[old as usize].prev = i as u32;
        }
        self.lists.heads[k] = i as u32;
        self.lists.counts[k] += 1;
        self.map[i] = HEAD | k as u8;
        self.set_free(i, true);
    }

    /// Takes the free block of order `k` at `i` off its list (its map byte
    /// stays; the caller re-marks or clears it).
    fn unlink(&mut self, i: usize, k: usize) {
        debug_assert!(self.is_free_head(i, k), "unlinking page {i}, not a free block of order {k}");
        let Link { next, prev } = self.links[i];
        if prev == NIL {
            self.lists.heads[k] = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next != NIL {
            self.links[next as usize].prev = prev;
        }
        self.lists.counts[k] -= 1;
        self.set_free(i, false);
    }

    /// The requested bytes recorded in a used block's head.
    fn requested(&self, i: usize) -> usize {
        used_requested(self.links[i])
    }

    /// Records a used block's requested bytes (at most its 2^32 + … bytes)
    /// and owner tag.
    fn set_used(&mut self, i: usize, bytes: usize, owner: u16) {
        let b = bytes as u64;
        debug_assert!(b >> 48 == 0, "requested bytes {b} do not fit the link");
        self.links[i] = Link { next: b as u32, prev: (b >> 32) as u32 & 0xffff | (owner as u32) << 16 };
    }
}

/// Whether the memory has been obtained yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ready {
    /// Not asked for yet.
    No,
    /// Obtained and set up.
    Yes,
    /// The source refused, or gave too little for one page.
    Failed,
}

/// A buddy allocator of 4 KiB pages over one run of memory.
///
/// ```
/// use heaplab::buddy::Buddy;
/// use heaplab::pages::{FixedRegion, PAGE};
///
/// #[repr(align(4096))]
/// struct Region([u8; 1 << 18]);
/// let mut region = Box::new(Region([0; 1 << 18]));
/// // SAFETY: the region outlives the allocator and nothing else uses it.
/// let src = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
/// let mut buddy = Buddy::new(src, 1 << 18);
/// let p = buddy.alloc_pages(2).unwrap(); // 4 pages, 16 KiB
/// assert_eq!(buddy.order_of(p.as_ptr()).unwrap(), 2);
/// buddy.free_pages(p.as_ptr()).unwrap();
/// assert_eq!(buddy.free_pages(p.as_ptr()).unwrap_err().code(), "double-free");
/// buddy.check().unwrap();
/// assert_eq!(buddy.stats().used_pages, 0);
/// # let _ = PAGE;
/// ```
#[derive(Debug)]
pub struct Buddy<S: PageSource, O: Observer = NoObserver> {
    source: S,
    observer: O,
    /// Bytes to obtain from the source at the first operation.
    want: usize,
    ready: Ready,
    /// Start of the memory (the metadata), with the provenance of all of it;
    /// null until ready.
    mem: *mut u8,
    /// Pages of metadata at `mem` (used blocks tagged `META_OWNER`).
    meta_pages: usize,
    /// Pages managed, from `mem` (the metadata's included); indices `0..pages`.
    pages: usize,
    /// The largest order: `2^max_order <= pages`.
    max_order: usize,
    lists: Lists,
}

// SAFETY: the allocator owns the memory its pointers reach (the source's
// contract); moving it to another thread moves that ownership.
unsafe impl<S: PageSource + Send, O: Observer + Send> Send for Buddy<S, O> {}

impl<S: PageSource> Buddy<S, NoObserver> {
    /// A buddy allocator that will take `bytes` from `source` at its first
    /// operation (nothing is obtained before).
    pub const fn new(source: S, bytes: usize) -> Self {
        Self::with_observer(source, bytes, NoObserver)
    }
}

impl<S: PageSource, O: Observer> Buddy<S, O> {
    /// As [`Buddy::new`], reporting every operation to `observer`.
    pub const fn with_observer(source: S, bytes: usize, observer: O) -> Self {
        Buddy { source, observer, want: bytes, ready: Ready::No, mem: ptr::null_mut(), meta_pages: 0, pages: 0, max_order: 0, lists: Lists::EMPTY }
    }

    /// The page source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutable (to clear a recorder).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Metadata bytes for `pages` pages: links, map bytes, bitmap words.
    const fn meta_bytes(pages: usize) -> usize {
        (pages * (size_of::<Link>() + 1)).next_multiple_of(8) + pages.div_ceil(64) * 8
    }

    /// Obtains the memory and sets it up, once. `Err(OutOfMemory)` when the
    /// source refused (then and on every later call).
    fn ready(&mut self) -> Result<(), AllocError> {
        match self.ready {
            Ready::Yes => return Ok(()),
            Ready::Failed => return Err(AllocError::OutOfMemory),
            Ready::No => {}
        }
        self.ready = Ready::Failed;
        let want = self.want & !(PAGE - 1);
        // A region that does not start on a page boundary loses part of a
        // page to alignment: ask for one page less then.
        let got = match self.source.grow(want) {
            Some(g) => Some(g),
            None if want > PAGE => self.source.grow(want - PAGE),
            None => None,
        };
        let Some((start, len)) = got else { return Err(AllocError::OutOfMemory) };
        let pages = (len / PAGE).min(u32::MAX as usize - 1);
        let meta_pages = Self::meta_bytes(pages).div_ceil(PAGE);
        if pages <= meta_pages {
            return Err(AllocError::OutOfMemory);
        }
        self.mem = start.as_ptr();
        self.meta_pages = meta_pages;
        self.pages = pages;
        self.max_order = (usize::BITS - 1 - pages.leading_zeros()).min(MAX_ORDER as u32) as usize;
        self.ready = Ready::Yes;
        let max_order = self.max_order;
        let mut m = self.meta();
        m.map.fill(0);
        m.bits.fill(0);
        // Tile the pages with the largest blocks their offsets allow: the
        // metadata's pages with used blocks of the allocator's own, the
        // rest with free blocks.
        let mut i = 0;
        while i < pages {
            let end = if i < meta_pages { meta_pages } else { pages };
            let mut k = if i == 0 { max_order } else { (i.trailing_zeros() as usize).min(max_order) };
            while i + (1 << k) > end {
                k -= 1;
            }
            if i < meta_pages {
                m.map[i] = HEAD | k as u8;
                m.set_used(i, PAGE << k, META_OWNER);
            } else {
                m.push(i, k);
            }
            i += 1 << k;
        }
        Ok(())
    }

    /// The metadata as slices (empty before the memory is ready).
    fn meta(&mut self) -> Meta<'_> {
        self.parts().0
    }

    /// The metadata and the observer, borrowed apart.
    fn parts(&mut self) -> (Meta<'_>, &mut O) {
        let (links, map, bits) = self.meta_parts();
        // SAFETY: `meta_parts` gives the three disjoint arrays inside the
        // metadata pages (or dangling empty ones), valid for reads and
        // writes and initialized memory (the source's contract); `&mut self`
        // makes these the only references for their lifetime.
        let meta = unsafe {
            Meta {
                links: slice::from_raw_parts_mut(links.0, links.1),
                map: slice::from_raw_parts_mut(map.0, map.1),
                bits: slice::from_raw_parts_mut(bits.0, bits.1),
                lists: &mut self.lists,
            }
        };
        (meta, &mut self.observer)
    }

    /// The metadata, read only: links, map, bitmap.
    fn meta_ref(&self) -> (&[Link], &[u8], &[u64]) {
        let (links, map, bits) = self.meta_parts();
        // SAFETY: as in `meta`; `&self` makes them shared for their lifetime.
        unsafe { (slice::from_raw_parts(links.0, links.1), slice::from_raw_parts(map.0, map.1), slice::from_raw_parts(bits.0, bits.1)) }
    }

    /// Pointer and length of the links, the map and the bitmap.
    #[allow(clippy::type_complexity)]
    fn meta_parts(&self) -> ((*mut Link, usize), (*mut u8, usize), (*mut u64, usize)) {
        if self.ready != Ready::Yes {
            return ((NonNull::dangling().as_ptr(), 0), (NonNull::dangling().as_ptr(), 0), (NonNull::dangling().as_ptr(), 0));
        }
        let n = self.pages;
        let links = self.mem.cast::<Link>();
        let map = self.mem.wrapping_add(n * size_of::<Link>());
        let bits = self.mem.wrapping_add((n * (size_of::<Link>() + 1)).next_multiple_of(8)).cast::<u64>();
        ((links, n), (map, n), (bits, n.div_ceil(64)))
    }

    /// Address of page `i`.
    #[inline]
    fn page_addr(&self, i: usize) -> usize {
        self.mem.addr() + i * PAGE
    }

    /// Pointer to page `i`, with the provenance of the memory.
    #[inline]
    fn page_ptr(&self, i: usize) -> NonNull<u8> {
        let p = self.mem.wrapping_add(i * PAGE);
        debug_assert!(!p.is_null(), "page {i} at address 0");
        // The memory is non-null and does not wrap (the source's contract).
        NonNull::new(p).unwrap_or(NonNull::dangling())
    }

    /// Takes a block of 2^`order` pages.
    ///
    /// # Errors
    /// [`AllocError::InvalidSize`] for an order above [`Buddy::max_order`],
    /// [`AllocError::OutOfMemory`] when no free block is large enough.
    ///
    /// # Time Complexity
    /// O(max_order): one look per order, one split per order descended.
    pub fn alloc_pages(&mut self, order: usize) -> Result<NonNull<u8>, AllocError> {
        self.alloc_block(order, PAGE << order.min(MAX_ORDER), 0)
    }

    /// Takes the smallest block that holds `bytes` (at least one page),
    /// counting `bytes` as requested (for the internal fragmentation).
    ///
    /// # Errors
    /// As [`Buddy::alloc_pages`].
    pub fn alloc_bytes(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError> {
        let order = order_for(bytes).ok_or(AllocError::InvalidSize)?;
        self.alloc_block(order, bytes, 0)
    }

    /// Takes a block of `order` for `requested` bytes, tagged with `owner`
    /// (read back by [`Buddy::block_at`]; the slab allocator marks its
    /// slabs with it).
    pub(crate) fn alloc_block(&mut self, order: usize, requested: usize, owner: u16) -> Result<NonNull<u8>, AllocError> {
        if O::ENABLED {
            self.observer.event(Event::Alloc { size: requested, align: PAGE });
        }
        let r = self.take(order, requested, owner);
        if O::ENABLED {
            if let Err(e) = r {
                self.observer.event(Event::Error { code: e.code() });
            }
        }
        r
    }

    fn take(&mut self, order: usize, requested: usize, owner: u16) -> Result<NonNull<u8>, AllocError> {
        self.ready()?;
        if order > self.max_order {
            return Err(AllocError::InvalidSize);
        }
        let Some(mut k) = (order..=self.max_order).find(|&k| self.lists.heads[k] != NIL) else { return Err(AllocError::OutOfMemory) };
        let base = self.mem.addr();
        let addr = |i: usize| base + i * PAGE;
        let (mut m, observer) = self.parts();
        let i = m.lists.heads[k] as usize;
        m.unlink(i, k);
        while k > order {
            if O::ENABLED {
                observer.event(Event::BuddySplit { addr: addr(i), order: k });
            }
            k -= 1;
            m.push(i + (1 << k), k);
            m.lists.splits += 1;
        }
        m.map[i] = HEAD | order as u8;
        m.set_used(i, requested, owner);
        m.lists.used_pages += 1 << order;
        m.lists.used_blocks += 1;
        m.lists.requested += requested;
        if O::ENABLED {
            observer.event(Event::BuddyAlloc { addr: addr(i), order });
        }
        Ok(self.page_ptr(i))
    }

    /// The used block starting at `ptr`: its first page index and order.
    fn used_block(&self, ptr: *mut u8) -> Result<(usize, usize), AllocError> {
        if self.ready != Ready::Yes {
            return Err(AllocError::NotAllocated);
        }
        let off = ptr.addr().wrapping_sub(self.page_addr(0));
        if off >= self.pages * PAGE {
            return Err(AllocError::NotAllocated);
        }
        let i = off / PAGE;
        let (links, map, bits) = self.meta_ref();
        let Some((h, k)) = block_of(map, i, self.max_order) else { return Err(AllocError::NotAllocated) };
        if bits[h / 64] >> (h % 64) & 1 != 0 {
            return Err(AllocError::DoubleFree);
        }
        if used_owner(links[h]) == META_OWNER {
            return Err(AllocError::NotAllocated);
        }
        if h != i || !off.is_multiple_of(PAGE) {
            return Err(AllocError::InteriorPointer);
        }
        Ok((h, k))
    }

    /// The order of the used block starting at `ptr`.
    ///
    /// # Errors
    /// As [`Buddy::free_pages`], which would fail the same way.
    pub fn order_of(&self, ptr: *mut u8) -> Result<usize, AllocError> {
        self.used_block(ptr).map(|(_, k)| k)
    }

    /// The block holding `addr`: a pointer to its start, its order, and its
    /// owner tag if used (`None` when free); `None` outside the pages.
    pub(crate) fn block_at(&self, addr: usize) -> Option<(NonNull<u8>, usize, Option<u16>)> {
        if self.ready != Ready::Yes {
            return None;
        }
        let off = addr.wrapping_sub(self.page_addr(0));
        if off >= self.pages * PAGE {
            return None;
        }
        let (links, map, bits) = self.meta_parts();
        let i = off / PAGE;
        // SAFETY: `i < pages`, the length of the links and the map, and
        // `h <= i`; the bitmap has a bit per page; all initialized (see
        // `parts`). Read by place, no reference made (`kfree`'s hot path:
        // the slices' checks cost a third of its look-up).
        unsafe {
            // A block of order 0 holds just its page: one map read for the
            // commonest block, a slab of one page.
            let m = map.0.add(i).read();
            let (h, k) = if m & HEAD != 0 && m & ORDER_MASK == 0 {
                (i, 0)
            } else {
                block_of(slice::from_raw_parts(map.0, map.1), i, self.max_order)?
            };
            let free = bits.0.add(h / 64).read() >> (h % 64) & 1 != 0;
            Some((self.page_ptr(h), k, (!free).then(|| used_owner(links.0.add(h).read()))))
        }
    }

    /// A pointer to `addr`, which lies in the managed pages of a ready
    /// allocator (checked in debug builds only), with the provenance of the
    /// memory: for addresses the caller's own records vouch for (a listed
    /// slab), where [`Buddy::ptr_at`]'s checks would be repeated on every
    /// list link.
    #[inline]
    pub(crate) fn ptr_in(&self, addr: usize) -> *mut u8 {
        debug_assert!(self.ptr_at(addr).is_some(), "{addr:#x} is outside the managed pages");
        self.mem.wrapping_add(addr.wrapping_sub(self.mem.addr()))
    }

    /// A pointer to `addr` with the provenance of the memory, if it lies in
    /// the managed pages.
    pub(crate) fn ptr_at(&self, addr: usize) -> Option<NonNull<u8>> {
        let off = addr.wrapping_sub(self.base());
        (self.ready == Ready::Yes && off < self.pages * PAGE).then(|| self.page_ptr(0)).and_then(|p| NonNull::new(p.as_ptr().wrapping_add(off)))
    }

    /// Returns the block starting at `ptr` (from `alloc_pages` or
    /// `alloc_bytes`), merging it with its buddy while the buddy is free;
    /// its order.
    ///
    /// # Errors
    /// [`AllocError::DoubleFree`] when `ptr` lies in a free block,
    /// [`AllocError::InteriorPointer`] when it lies inside a used block but
    /// not at its start, [`AllocError::NotAllocated`] outside the pages.
    /// An error changes nothing.
    ///
    /// # Time Complexity
    /// O(max_order): one merge per order climbed.
    pub fn free_pages(&mut self, ptr: *mut u8) -> Result<usize, AllocError> {
        if O::ENABLED {
            self.observer.event(Event::Free { payload: ptr.addr() });
        }
        let (mut i, order) = match self.used_block(ptr) {
            Ok(b) => b,
            Err(e) => {
                if O::ENABLED {
                    self.observer.event(Event::Error { code: e.code() });
                }
                return Err(e);
            }
        };
        if O::ENABLED {
            self.observer.event(Event::BuddyFree { addr: ptr.addr(), order });
        }
        let (base, pages, max_order) = (self.mem.addr(), self.pages, self.max_order);
        let addr = |i: usize| base + i * PAGE;
        let (mut m, observer) = self.parts();
        let requested = m.requested(i);
        m.lists.used_pages -= 1 << order;
        m.lists.used_blocks -= 1;
        m.lists.requested -= requested;
        let mut k = order;
        while k < max_order {
            let b = i ^ (1 << k);
            if b + (1 << k) > pages || !m.is_free_head(b, k) {
                break;
            }
            m.unlink(b, k);
            m.lists.merges += 1;
            let (lo, hi) = (i.min(b), i.max(b));
            m.map[hi] = 0;
            if O::ENABLED {
                observer.event(Event::BuddyMerge { addr: addr(i), with: addr(b), order: k + 1 });
            }
            i = lo;
            k += 1;
        }
        m.push(i, k);
        Ok(order)
    }

    /// The largest order (0 before the memory is obtained).
    pub fn max_order(&self) -> usize {
        self.max_order
    }

    /// Pages managed, the metadata's included (0 before the memory is
    /// obtained).
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Address of page 0, the first page of the memory, where the metadata
    /// starts (0 before the memory is obtained).
    pub fn base(&self) -> usize {
        if self.ready == Ready::Yes {
            self.page_addr(0)
        } else {
            0
        }
    }

    /// Obtains the memory now if not yet done (the first operation would).
    ///
    /// # Errors
    /// [`AllocError::OutOfMemory`] when the source refused.
    pub fn init(&mut self) -> Result<(), AllocError> {
        self.ready()
    }

    /// The owner tag of the used block starting at `addr` (0 for
    /// `alloc_pages` and large `kmalloc` blocks, 1 + the cache index for a
    /// slab, [`META_OWNER`] for the metadata's), `None` for anything else.
    pub fn owner_of(&self, addr: usize) -> Option<u16> {
        match self.block_at(addr) {
            Some((p, _, owner)) if p.as_ptr().addr() == addr => owner,
            _ => None,
        }
    }

    /// Every block in address order: (address, order, free).
    pub fn blocks(&self) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
        let (_, map, bits) = self.meta_ref();
        let mut i = 0;
        core::iter::from_fn(move || {
            if i >= map.len() {
                return None;
            }
            let k = (map[i] & ORDER_MASK) as usize;
            let item = (self.page_addr(i), k, bits[i / 64] >> (i % 64) & 1 != 0);
            i += 1 << k;
            Some(item)
        })
    }

    /// The free list of `order` in list order (addresses); empty for an
    /// order above [`MAX_ORDER`].
    pub fn free_list(&self, order: usize) -> impl Iterator<Item = usize> + '_ {
        let (links, _, _) = self.meta_ref();
        let mut at = self.lists.heads.get(order).copied().unwrap_or(NIL);
        let mut left = self.pages;
        core::iter::from_fn(move || {
            if at == NIL || left == 0 {
                return None;
            }
            left -= 1;
            let i = at as usize;
            at = links[i].next;
            Some(self.page_addr(i))
        })
    }

    /// The figures.
    pub fn stats(&self) -> BuddyStats {
        let l = &self.lists;
        let used_bytes = l.used_pages * PAGE;
        let free_pages: usize = (0..ORDERS).map(|k| l.counts[k] << k).sum();
        BuddyStats {
            pages: self.pages,
            meta_pages: self.meta_pages,
            max_order: self.max_order,
            used_pages: l.used_pages,
            free_pages,
            used_blocks: l.used_blocks,
            free_blocks: l.counts,
            requested_bytes: l.requested,
            internal_fragmentation: if used_bytes == 0 { 0.0 } else { 1.0 - l.requested.min(used_bytes) as f64 / used_bytes as f64 },
            largest_free_order: (0..ORDERS).rev().find(|&k| l.counts[k] > 0),
            splits: l.splits,
            merges: l.merges,
        }
    }

    /// The integrity walk: the blocks tile the pages, each aligned to its
    /// size; the bitmap, the map and the free lists agree; no free buddy
    /// pair is left unmerged; the counters match. O(pages).
    ///
    /// # Errors
    /// The first broken invariant.
    pub fn check(&self) -> Result<(), CheckError> {
        if self.ready != Ready::Yes {
            return Ok(());
        }
        let (links, map, bits) = self.meta_ref();
        let n = self.pages;
        let free = |i: usize| bits[i / 64] >> (i % 64) & 1 != 0;
        let err = |i: usize, what| Err(CheckError::new(self.page_addr(i), what));
        let mut counts = [0usize; ORDERS];
        let (mut used_pages, mut used_blocks, mut requested, mut meta) = (0, 0, 0, 0);
        let mut i = 0;
        while i < n {
            if map[i] & HEAD == 0 || map[i] & !(HEAD | ORDER_MASK) != 0 {
                return err(i, "buddy: no block starts where the previous one ends");
            }
            let k = (map[i] & ORDER_MASK) as usize;
            if k > self.max_order || !i.is_multiple_of(1 << k) || i + (1 << k) > n {
                return err(i, "buddy: block not aligned to its size or past the end");
            }
            if let Some(j) = (i + 1..i + (1 << k)).find(|&j| map[j] != 0 || free(j)) {
                return err(j, "buddy: a page inside a block is marked as a block start");
            }
            if free(i) {
                counts[k] += 1;
                let b = i ^ (1 << k);
                if k < self.max_order && b + (1 << k) <= n && free(b) && map[b] == HEAD | k as u8 {
                    return err(i.min(b), "buddy: a free buddy pair is left unmerged");
                }
            } else if used_owner(links[i]) == META_OWNER {
                if i != meta {
                    return err(i, "buddy: a metadata block lies outside the metadata");
                }
                meta += 1 << k;
            } else {
                if i < self.meta_pages {
                    return err(i, "buddy: a block inside the metadata is not the metadata's");
                }
                used_pages += 1 << k;
                used_blocks += 1;
                requested += used_requested(links[i]);
            }
            i += 1 << k;
        }
        for (k, &count) in counts.iter().enumerate() {
            let (mut at, mut prev, mut seen) = (self.lists.heads[k], NIL, 0);
            while at != NIL {
                let j = at as usize;
                if j >= n || seen >= count {
                    return err(j.min(n.saturating_sub(1)), "buddy: a free list is longer than the free blocks of its order");
                }
                if !free(j) || map[j] != HEAD | k as u8 {
                    return err(j, "buddy: a free list holds a block the bitmap or map does not show free of its order");
                }
                if links[j].prev != prev {
                    return err(j, "buddy: a free list's back link is wrong");
                }
                seen += 1;
                prev = at;
                at = links[j].next;
            }
            if seen != count || self.lists.counts[k] != count {
                return err(0, "buddy: a free list misses free blocks of its order");
            }
        }
        if meta != self.meta_pages {
            return err(0, "buddy: the metadata's pages are not all its blocks");
        }
        if used_pages != self.lists.used_pages || used_blocks != self.lists.used_blocks || requested != self.lists.requested {
            return err(0, "buddy: the used counters do not match the blocks");
        }
        Ok(())
    }
}

/// A used block head's owner tag.
fn used_owner(l: Link) -> u16 {
    (l.prev >> 16) as u16
}

/// A used block head's requested bytes.
fn used_requested(l: Link) -> usize {
    (l.next as u64 | ((l.prev & 0xffff) as u64) << 32) as usize
}

/// The block holding page `i` in `map` (see `Meta::block_of`).
fn block_of(map: &[u8], i: usize, max_order: usize) -> Option<(usize, usize)> {
    (0..=max_order).find_map(|k| {
        let h = i & !((1usize << k) - 1);
        let o = (map[h] & ORDER_MASK) as usize;
        (map[h] & HEAD != 0 && h + (1 << o) > i).then_some((h, o))
    })
}

/// A buddy allocator's figures.
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BuddyStats {
    /// Pages managed, the metadata's included.
    pub pages: usize,
    /// Pages holding the metadata.
    pub meta_pages: usize,
    /// The largest order.
    pub max_order: usize,
    /// Pages in used blocks.
    pub used_pages: usize,
    /// Pages in free blocks.
    pub free_pages: usize,
    /// Used blocks.
    pub used_blocks: usize,
    /// Free blocks of each order.
    pub free_blocks: [usize; ORDERS],
    /// Sum of the requested bytes of the used blocks.
    pub requested_bytes: usize,
    /// `1 − requested / used bytes`: what rounding to a power of two of
    /// pages wastes (0 when nothing is used).
    pub internal_fragmentation: f64,
    /// The order of the largest free block.
    pub largest_free_order: Option<usize>,
    /// Splits since creation.
    pub splits: u64,
    /// Merges since creation.
    pub merges: u64,
}

/// A [`Buddy`] behind a lock, usable as `#[global_allocator]` for
/// page-sized requests: every allocation takes a whole block of 2^k pages
/// (a small request takes a page). Alignments above 4 KiB are served when
/// the block's address has them (the block is aligned to its size relative
/// to the first managed page), else the allocation fails.
///
/// ```
/// use heaplab::buddy::GlobalBuddy;
///
/// const LEN: usize = 1 << 20;
/// static mut REGION: [u8; LEN] = [0; LEN];
///
/// #[global_allocator]
/// // SAFETY: REGION is used by nothing else.
/// static PAGES: GlobalBuddy<heaplab::pages::FixedRegion> = unsafe { GlobalBuddy::fixed(&raw mut REGION as *mut u8, LEN) };
///
/// fn main() {
///     let v: Vec<u64> = (0..2000).collect();
///     assert_eq!(v.iter().sum::<u64>(), 1_999_000);
///     assert!(PAGES.with(|b| b.check()).is_ok());
/// }
/// ```
pub type GlobalBuddy<S> = Locked<Buddy<S>>;

impl GlobalBuddy<FixedRegion> {
    /// A global buddy allocator over `len` bytes at `ptr`.
    ///
    /// # Safety
    /// As [`FixedRegion::new`]: the region is valid, initialized and used
    /// by nothing else for the life of the program.
    pub const unsafe fn fixed(ptr: *mut u8, len: usize) -> Self {
        // SAFETY: forwarded to the caller.
        Locked::new(Buddy::new(unsafe { FixedRegion::new(ptr, len) }, len))
    }
}

// SAFETY: `alloc` returns null or the start of a block of 2^k pages, at
// least `layout.size()` bytes, checked to be aligned to `layout.align()`,
// that no other live block overlaps; `dealloc` gives back only what `alloc`
// returned (the GlobalAlloc contract, and `free_pages` validates anyway).
unsafe impl<S: PageSource + Send> GlobalAlloc for GlobalBuddy<S> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let bytes = layout.size().max(layout.align());
        // SAFETY: allocating keeps every live block live and in place.
        let r = unsafe { self.with_mut(|b| b.alloc_bytes(bytes).map(|p| (p, b.order_of(p.as_ptr())))) };
        match r {
            Some(Ok((p, _))) if p.as_ptr().addr().is_multiple_of(layout.align()) => p.as_ptr(),
            Some(Ok((p, _))) => {
                // SAFETY: freeing the block just taken, which nobody uses.
                unsafe { self.with_mut(|b| b.free_pages(p.as_ptr())) };
                ptr::null_mut()
            }
            _ => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` is a live block of this allocator that the program
        // gives up (the GlobalAlloc contract); every other block stays.
        let r = unsafe { self.with_mut(|b| b.free_pages(ptr)) };
        debug_assert!(matches!(r, Some(Ok(_))), "dealloc of an address this buddy allocator did not hand out");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::events::Recorder;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// One page of test memory, page aligned (the slab tests use it too).
    #[repr(C, align(4096))]
    pub(crate) struct PageBuf([u8; PAGE]);

    /// `pages` zeroed pages.
    pub(crate) fn region(pages: usize) -> Vec<PageBuf> {
        (0..pages).map(|_| PageBuf([0; PAGE])).collect()
    }

    /// A source over all of `mem`.
    pub(crate) fn source(mem: &mut [PageBuf]) -> FixedRegion {
        // SAFETY: each test keeps `mem` alive longer than the allocator and
        // touches it only through the allocator.
        unsafe { FixedRegion::new(mem.as_mut_ptr().cast(), mem.len() * PAGE) }
    }

    fn recorded(mem: &mut [PageBuf]) -> Buddy<FixedRegion, Recorder<64>> {
        let len = mem.len() * PAGE;
        let mut b = Buddy::with_observer(source(mem), len, Recorder::new());
        b.init().unwrap();
        b
    }

    /// Page index of `addr` in `b`.
    fn idx<O: Observer>(b: &Buddy<FixedRegion, O>, addr: usize) -> usize {
        (addr - b.base()) / PAGE
    }

    #[test]
    fn the_metadata_is_a_used_block_at_page_0_and_the_rest_starts_as_its_largest_aligned_blocks() {
        // 24 pages: 1 of metadata (page 0), then 1 + 2 + 4 + 8 + 8 free.
        let mut mem = region(24);
        let b = recorded(&mut mem);
        let s = b.stats();
        assert_eq!((s.pages, s.meta_pages, s.max_order, s.free_pages, s.used_pages), (24, 1, 4, 23, 0));
        let orders: Vec<_> = b.blocks().map(|(a, k, free)| (idx(&b, a), k, free)).collect();
        assert_eq!(orders, [(0, 0, false), (1, 0, true), (2, 1, true), (4, 2, true), (8, 3, true), (16, 3, true)]);
        assert_eq!(b.base(), mem.as_ptr().addr());
        assert_eq!(b.owner_of(b.base()), Some(META_OWNER));
        b.check().unwrap();
        // A power of two of pages is one region of its order: the halves
        // of 32 pages are buddies, whatever holds page 0.
        let mut mem = region(32);
        let b = recorded(&mut mem);
        assert_eq!(b.stats().max_order, 5);
        assert_eq!(b.blocks().last().map(|(a, k, _)| (idx(&b, a), k)), Some((16, 4)));
    }

    #[test]
    fn alloc_splits_down_and_free_merges_back_up() {
        let mut mem = region(32);
        let mut b = recorded(&mut mem);
        let base = b.base();
        // Orders 0 to 3 are free at pages 1, 2, 4 and 8: take them, no split.
        for k in 0..4 {
            let a = b.alloc_pages(k).unwrap().as_ptr().addr();
            assert_eq!(idx(&b, a), 1 << k);
        }
        assert_eq!(b.stats().splits, 0);
        b.observer_mut().clear();
        // One page now comes from the order-4 block at page 16, split down.
        let p = b.alloc_pages(0).unwrap();
        let at = base + 16 * PAGE;
        assert_eq!(p.as_ptr().addr(), at);
        let ev = b.observer().events().to_vec();
        assert_eq!(
            ev,
            [
                Event::Alloc { size: PAGE, align: PAGE },
                Event::BuddySplit { addr: at, order: 4 },
                Event::BuddySplit { addr: at, order: 3 },
                Event::BuddySplit { addr: at, order: 2 },
                Event::BuddySplit { addr: at, order: 1 },
                Event::BuddyAlloc { addr: at, order: 0 },
            ]
        );
        // The upper halves wait on the lists of orders 0..=3.
        assert_eq!(b.stats().free_blocks[..5], [1, 1, 1, 1, 0]);
        assert_eq!(b.free_list(3).collect::<Vec<_>>(), [at + 8 * PAGE]);
        b.check().unwrap();
        b.observer_mut().clear();
        assert_eq!(b.free_pages(p.as_ptr()), Ok(0));
        let ev = b.observer().events().to_vec();
        assert_eq!(ev[1], Event::BuddyFree { addr: at, order: 0 });
        assert_eq!(
            ev[2..],
            [
                Event::BuddyMerge { addr: at, with: at + PAGE, order: 1 },
                Event::BuddyMerge { addr: at, with: at + 2 * PAGE, order: 2 },
                Event::BuddyMerge { addr: at, with: at + 4 * PAGE, order: 3 },
                Event::BuddyMerge { addr: at, with: at + 8 * PAGE, order: 4 },
            ],
            "the order-4 block does not merge with pages 0-15, which the metadata and the others hold"
        );
        assert_eq!(b.stats().free_blocks[4], 1);
        assert_eq!(b.stats().merges, 4);
        b.check().unwrap();
    }

    #[test]
    fn a_block_merges_only_with_a_free_buddy_of_its_own_order() {
        let mut mem = region(32);
        let mut b = recorded(&mut mem);
        for k in 0..4 {
            b.alloc_pages(k).unwrap(); // pages 1, 2-3, 4-7, 8-15
        }
        let x = b.alloc_pages(0).unwrap(); // page 16
        let y = b.alloc_pages(0).unwrap(); // page 17, x's buddy
        let z = b.alloc_pages(1).unwrap(); // pages 18-19
        assert_eq!((idx(&b, x.as_ptr().addr()), idx(&b, y.as_ptr().addr()), idx(&b, z.as_ptr().addr())), (16, 17, 18));
        let merges = b.stats().merges;
        b.free_pages(x.as_ptr()).unwrap();
        assert_eq!(b.stats().merges, merges, "x's buddy y is used");
        b.free_pages(z.as_ptr()).unwrap();
        // z (order 1) cannot merge with the order 1 pair x+y while y is used.
        assert_eq!(b.stats().merges, merges);
        b.check().unwrap();
        b.free_pages(y.as_ptr()).unwrap();
        assert_eq!(b.stats().merges, merges + 4);
        assert_eq!(b.stats().free_blocks[4], 1);
        b.check().unwrap();
    }

    #[test]
    fn bad_frees_are_errors_that_change_nothing() {
        let mut mem = region(32);
        let mut b = recorded(&mut mem);
        let base = b.base();
        let p = b.alloc_pages(1).unwrap(); // pages 2-3
        let q = b.alloc_pages(0).unwrap(); // page 1
        b.free_pages(q.as_ptr()).unwrap();
        let before = b.stats();
        let at = |a: usize| p.as_ptr().with_addr(a);
        assert_eq!(b.free_pages(q.as_ptr()), Err(AllocError::DoubleFree));
        assert_eq!(b.free_pages(at(base + 3 * PAGE)), Err(AllocError::InteriorPointer));
        assert_eq!(b.free_pages(at(base + 2 * PAGE + 8)), Err(AllocError::InteriorPointer));
        assert_eq!(b.free_pages(at(base + 12 * PAGE)), Err(AllocError::DoubleFree));
        assert_eq!(b.free_pages(at(base)), Err(AllocError::NotAllocated), "the metadata's block");
        assert_eq!(b.free_pages(at(base - PAGE)), Err(AllocError::NotAllocated));
        assert_eq!(b.free_pages(at(base + 32 * PAGE)), Err(AllocError::NotAllocated));
        assert_eq!(b.free_pages(ptr::null_mut()), Err(AllocError::NotAllocated));
        assert_eq!(b.stats(), before);
        assert_eq!(b.observer().events().last(), Some(&Event::Error { code: "invalid-free" }));
        b.check().unwrap();
        assert_eq!(b.alloc_pages(6), Err(AllocError::InvalidSize));
        assert_eq!(b.alloc_pages(usize::MAX), Err(AllocError::InvalidSize));
        assert_eq!(b.alloc_bytes(usize::MAX), Err(AllocError::InvalidSize));
        // The metadata holds page 0: no block of order 5.
        assert_eq!(b.alloc_pages(5), Err(AllocError::OutOfMemory));
        assert_eq!(b.stats(), before);
        b.free_pages(p.as_ptr()).unwrap();
        assert_eq!(b.stats().free_blocks[..5], [1, 1, 1, 1, 1]);
    }

    #[test]
    fn a_source_without_memory_fails_every_operation_cleanly() {
        let mut mem = region(1);
        let mut b = Buddy::new(source(&mut mem), PAGE);
        assert_eq!(b.alloc_pages(0), Err(AllocError::OutOfMemory), "one page is all metadata");
        assert_eq!(b.alloc_pages(0), Err(AllocError::OutOfMemory));
        assert_eq!(b.free_pages(mem.as_mut_ptr().cast()), Err(AllocError::NotAllocated));
        assert_eq!(b.blocks().count(), 0);
        b.check().unwrap();
    }

    #[test]
    fn internal_fragmentation_counts_the_rounding_to_a_power_of_two() {
        let mut mem = region(33);
        let mut b = recorded(&mut mem);
        let p = b.alloc_bytes(5 * PAGE).unwrap();
        assert_eq!(b.order_of(p.as_ptr()), Ok(3));
        let s = b.stats();
        assert_eq!((s.used_pages, s.requested_bytes), (8, 5 * PAGE));
        assert!((s.internal_fragmentation - 3.0 / 8.0).abs() < 1e-12);
        let q = b.alloc_bytes(1).unwrap();
        assert_eq!(b.order_of(q.as_ptr()), Ok(0));
        assert!((b.stats().internal_fragmentation - (1.0 - (5 * PAGE + 1) as f64 / (9 * PAGE) as f64)).abs() < 1e-12);
        b.check().unwrap();
        b.free_pages(p.as_ptr()).unwrap();
        b.free_pages(q.as_ptr()).unwrap();
        assert_eq!(b.stats().internal_fragmentation, 0.0);
        assert_eq!(order_for(0), Some(0));
        assert_eq!(order_for(PAGE + 1), Some(1));
        assert_eq!(order_for(PAGE << MAX_ORDER), Some(MAX_ORDER));
        assert_eq!(order_for((PAGE << MAX_ORDER) + 1), None);
    }

    #[test]
    fn check_finds_a_free_buddy_pair_left_unmerged_a_list_that_disagrees_and_a_lost_metadata_block() {
        let mut mem = region(32);
        let mut b = recorded(&mut mem);
        for k in 0..4 {
            b.alloc_pages(k).unwrap();
        }
        let x = b.alloc_pages(0).unwrap();
        let y = b.alloc_pages(0).unwrap();
        let (i, j) = (idx(&b, x.as_ptr().addr()), idx(&b, y.as_ptr().addr()));
        {
            // Mark both free without merging, counters kept consistent.
            let mut m = b.meta();
            m.lists.used_pages -= 2;
            m.lists.used_blocks -= 2;
            m.lists.requested -= 2 * PAGE;
            m.push(i, 0);
            m.push(j, 0);
        }
        assert_eq!(b.check().unwrap_err().what, "buddy: a free buddy pair is left unmerged");
        let mut mem2 = region(17);
        let mut c = recorded(&mut mem2);
        c.meta().set_free(1, false);
        assert!(c.check().unwrap_err().what.contains("free list"));
        let mut mem3 = region(17);
        let mut d = recorded(&mut mem3);
        d.meta().set_used(0, PAGE, 0);
        assert_eq!(d.check().unwrap_err().what, "buddy: a block inside the metadata is not the metadata's");
    }

    #[test]
    fn global_buddy_serves_page_sized_requests_and_their_alignment() {
        let mut mem = region(34);
        let len = mem.len() * PAGE;
        let g: GlobalBuddy<FixedRegion> = Locked::new(Buddy::new(source(&mut mem), len));
        let l1 = Layout::from_size_align(10_000, 8).unwrap();
        let l2 = Layout::from_size_align(PAGE, 4 * PAGE).unwrap();
        let l3 = Layout::from_size_align(1 << 30, 8).unwrap();
        // SAFETY: the layouts have non-zero sizes; every block freed is one
        // taken here with its layout.
        unsafe {
            let a = g.alloc(l1);
            assert!(!a.is_null());
            a.write_bytes(0xa5, l1.size());
            assert_eq!(g.with(|b| b.order_of(a)), Ok(2));
            // Blocks are aligned to their size relative to the first page:
            // a 16 KiB alignment is served iff that page has it.
            let c = g.alloc(l2);
            assert_eq!(c.is_null(), !g.with(|b| b.base()).is_multiple_of(4 * PAGE));
            assert!(c.addr().is_multiple_of(4 * PAGE));
            assert_eq!(g.with(|b| b.stats().used_pages), if c.is_null() { 4 } else { 8 }, "a refused block goes back");
            assert!(g.alloc(l3).is_null());
            assert_eq!(*a.add(l1.size() - 1), 0xa5);
            g.dealloc(a, l1);
            if !c.is_null() {
                g.dealloc(c, l2);
            }
        }
        g.with(|b| {
            b.check().unwrap();
            assert_eq!(b.stats().used_pages, 0);
        });
    }

    /// One step of the property test.
    #[derive(Clone, Debug)]
    enum Op {
        Pages(usize),
        Bytes(usize),
        Free(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0usize..=6).prop_map(Op::Pages),
            2 => (1usize..40_000).prop_map(Op::Bytes),
            4 => any::<usize>().prop_map(Op::Free),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 3 } else { 256 }, ..ProptestConfig::default() })]

        /// Against a shadow model (the live blocks and a tag written into
        /// each): blocks aligned to their size, inside the pages, never
        /// overlapping, contents kept; an allocation fails only when no free
        /// block is large enough; after freeing everything, every buddy pair
        /// is merged again (the free blocks are the ones at the start).
        #[test]
        fn buddy_matches_a_shadow_model(pages in 2usize..if cfg!(miri) { 40 } else { 300 }, ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 40 } else { 300 })) {
            let mut mem = region(pages);
            let mut b = Buddy::new(source(&mut mem), pages * PAGE);
            b.init().unwrap();
            let start = b.stats();
            let base = b.base();
            // (address, order, tag)
            let mut live: Vec<(usize, usize, u8)> = Vec::new();
            let mut tag = 0u8;
            for op in ops {
                match op {
                    Op::Pages(_) | Op::Bytes(_) => {
                        let (order, r) = match op {
                            Op::Pages(k) => (k, b.alloc_pages(k)),
                            Op::Bytes(n) => (order_for(n).unwrap(), b.alloc_bytes(n)),
                            Op::Free(_) => unreachable!(),
                        };
                        let before = b.stats();
                        match r {
                            Ok(p) => {
                                let a = p.as_ptr().addr();
                                let len = PAGE << order;
                                prop_assert!((a - base).is_multiple_of(len), "block not aligned to its size");
                                prop_assert!(a + len <= base + b.pages() * PAGE);
                                prop_assert!(live.iter().all(|&(o, k, _)| a + len <= o || o + (PAGE << k) <= a), "overlap");
                                prop_assert_eq!(b.order_of(p.as_ptr()), Ok(order));
                                tag = tag.wrapping_add(1);
                                // SAFETY: the block is ours, `len` bytes.
                                unsafe {
                                    p.as_ptr().write(tag);
                                    p.as_ptr().add(len - 1).write(tag);
                                }
                                live.push((a, order, tag));
                            }
                            Err(AllocError::OutOfMemory) => {
                                prop_assert!(before.free_blocks[order..].iter().all(|&n| n == 0), "out of memory with a large enough free block");
                            }
                            Err(AllocError::InvalidSize) => prop_assert!(order > b.max_order()),
                            Err(e) => prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    Op::Free(i) => {
                        if live.is_empty() {
                            continue;
                        }
                        let (a, k, t) = live.swap_remove(i % live.len());
                        let p = mem.as_mut_ptr().cast::<u8>().with_addr(a);
                        // SAFETY: a live block of ours.
                        unsafe {
                            prop_assert_eq!(p.read(), t);
                            prop_assert_eq!(p.add((PAGE << k) - 1).read(), t);
                        }
                        prop_assert_eq!(b.free_pages(p), Ok(k));
                        prop_assert_eq!(b.free_pages(p), Err(AllocError::DoubleFree));
                    }
                }
                prop_assert_eq!(b.check(), Ok(()));
                prop_assert_eq!(b.stats().used_blocks, live.len());
            }
            for (a, k, t) in live.drain(..) {
                let p = mem.as_mut_ptr().cast::<u8>().with_addr(a);
                // SAFETY: a live block of ours.
                prop_assert_eq!(unsafe { p.add((PAGE << k) - 1).read() }, t);
                prop_assert_eq!(b.free_pages(p), Ok(k));
            }
            prop_assert_eq!(b.check(), Ok(()));
            let end = b.stats();
            prop_assert_eq!(end.free_blocks, start.free_blocks);
            prop_assert_eq!((end.used_pages, end.requested_bytes), (0, 0));
        }
    }
}
