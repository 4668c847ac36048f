//! Block layout: header and footer encoding, free-list link words, and the
//! alignment fit test. All pointer arithmetic and raw memory access of blocks
//! lives in this module.
//!
//! ```text
//!  used block                          free block
//!  +---------------------------+       +---------------------------+
//!  | header u64                |       | header u64 (requested = 0)|
//!  +---------------------------+ <- payload (aligned to granule)   |
//!  | payload ...               |       | link 0 (next)             |
//!  |                           |       | link 1 (prev)             |
//!  |                           |       | link 2..4 (index policies)|
//!  |                           |       | ...                       |
//!  |                           |       | footer u64 (= size)       |
//!  +---------------------------+       +---------------------------+
//! ```
//!
//! **Header** (a `u64` on every target, so native tests see the wasm layout):
//! bits 0..32 hold the block size in bytes (header included, a multiple of the
//! granule, so the low three bits are free for flags): bit 0 [`USED`] = this
//! block is used, bit 1 [`PREV_USED`] = the physically previous block is used
//! (when clear, the previous block is free and has a footer), bit 2 [`LARGE`] =
//! this block is a large object (a run of pages of its own). Bits 32..64 hold
//! the requested size of a used block (0 for a free block); in a used *arena*
//! block, whose request is below 2^28 bytes, bits 60..64 hold log2 of the
//! alignment it was allocated with (so `realloc` can keep it), while a large
//! object uses all 32 bits for the request (its alignment is implied by the
//! payload's offset in its first page).
//!
//! **Footer**: the last 8 bytes of a *free* block hold its size, so the next
//! block can find the start of a free previous neighbour in O(1).
//!
//! **Links**: a free block's payload holds up to [`MAX_LINKS`] pointer-sized
//! link words, read and written with [`Block::link`] / [`Block::set_link`]
//! (or the named [`Block::next_free`] / [`Block::prev_free`]), so index
//! policies never do raw arithmetic.
//!
//! **Granule** `G` (8 or 16): blocks start at addresses ≡ −8 (mod G) so that
//! payloads are G-aligned, and block sizes are multiples of G. The minimum
//! block is `HEADER + links × WORD + FOOTER` rounded up to G (see
//! [`min_block`]).
//!
//! **Epilogue**: every arena ends with an 8-byte header of size 0, marked used,
//! so walks and merges stop there.

use core::ptr::NonNull;

/// Header size in bytes (a `u64` on every target).
pub const HEADER: usize = 8;
/// Footer size in bytes (free blocks only).
pub const FOOTER: usize = 8;
/// Size of one link word (a pointer).
pub const WORD: usize = core::mem::size_of::<usize>();
/// Number of link words a free block's payload can hold for index policies.
pub const MAX_LINKS: usize = 5;
/// Header flag: this block is used.
pub const USED: u64 = 1;
/// Header flag: the physically previous block is used.
pub const PREV_USED: u64 = 2;
/// Header flag: this block is a large object.
pub const LARGE: u64 = 4;
const FLAGS: u64 = 7;
/// The size bits of a header word (bits 3..32).
pub const SIZE_MASK: u64 = 0xFFFF_FFFF & !FLAGS;
/// Bit position of log2(alignment) in a used arena block's header.
pub const ALIGN_SHIFT: u32 = 60;
/// Requests of arena blocks must stay below this (28 bits of the header).
pub const MAX_ARENA_REQUEST: usize = (1 << 28) - 1;
/// Largest block size the header can encode (bits 0..32 of the header).
pub const MAX_BLOCK: usize = 0x8000_0000;
/// Link index of the `next` pointer of address- or size-ordered lists.
pub const NEXT: usize = 0;
/// Link index of the `prev` pointer of doubly linked lists.
pub const PREV: usize = 1;

/// Smallest block that can hold a header, `links` link words and a footer,
/// rounded up to the granule.
#[inline]
pub const fn min_block(links: usize, granule: usize) -> usize {
    round_up(HEADER + links * WORD + FOOTER, granule)
}

/// Rounds `n` up to a multiple of `to` (a power of two).
#[inline]
pub const fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

/// A handle to a block: the address of its header, with the provenance of
/// the memory it lives in. Copying a handle is free; every access through it
/// is `unsafe` because the handle does not prove the header is there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Block(NonNull<u8>);

// SAFETY: a `Block` is only an address; every access through it is
// `unsafe` and the heap that owns the memory serializes those accesses.
unsafe impl Send for Block {}
// SAFETY: as above.
unsafe impl Sync for Block {}

impl core::fmt::Debug for Block {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Block({:#x})", self.addr())
    }
}

impl Block {
    /// A handle to the block whose header is at `header`. Safe: it is only
    /// an address until one of the `unsafe` accessors is used.
    #[inline]
    pub const fn from_header(header: NonNull<u8>) -> Self {
        Block(header)
    }

    /// The block whose payload starts at `payload`.
    ///
    /// # Safety
    /// `payload` must be at least 8 bytes past the start of its allocation
    /// (true for every payload this heap hands out).
    #[inline]
    pub unsafe fn from_payload(payload: NonNull<u8>) -> Self {
        // SAFETY: the caller guarantees the header (payload - 8) is in bounds.
        Block(unsafe { payload.byte_sub(HEADER) })
    }

    /// The header address as a number.
    #[inline]
    pub fn addr(self) -> usize {
        self.0.as_ptr().addr()
    }

    /// The header address as a pointer.
    #[inline]
    pub const fn as_ptr(self) -> *mut u8 {
        self.0.as_ptr()
    }

    /// The payload pointer (header + 8).
    #[inline]
    pub fn payload(self) -> NonNull<u8> {
        // SAFETY: a block is at least 8 bytes (an epilogue) so header + 8 is
        // at most one past its end; `wrapping`-free arithmetic is in bounds.
        unsafe { self.0.byte_add(HEADER) }
    }

    /// The handle `bytes` further on.
    ///
    /// # Safety
    /// The result must stay inside the same segment.
    #[inline]
    pub unsafe fn add(self, bytes: usize) -> Block {
        // SAFETY: the caller keeps the result within the allocation.
        Block(unsafe { self.0.byte_add(bytes) })
    }

    /// The handle `bytes` before this one.
    ///
    /// # Safety
    /// The result must stay inside the same segment.
    #[inline]
    pub unsafe fn sub(self, bytes: usize) -> Block {
        // SAFETY: the caller keeps the result within the allocation.
        Block(unsafe { self.0.byte_sub(bytes) })
    }

    /// The raw header word.
    ///
    /// # Safety
    /// A header (or at least 8 readable, initialized, 8-aligned bytes) must
    /// be at this address.
    #[inline]
    pub unsafe fn header(self) -> u64 {
        // SAFETY: the caller guarantees 8 readable aligned bytes.
        unsafe { self.0.cast::<u64>().read() }
    }

    /// Overwrites the raw header word.
    ///
    /// # Safety
    /// The 8 bytes at this address must be writable, 8-aligned, and belong
    /// to the heap (not to a live payload).
    #[inline]
    pub unsafe fn set_header(self, h: u64) {
        // SAFETY: the caller guarantees 8 writable aligned bytes.
        unsafe { self.0.cast::<u64>().write(h) }
    }

    /// Block size in bytes (header included); 0 for an epilogue.
    ///
    /// # Safety
    /// As [`Block::header`].
    #[inline]
    pub unsafe fn size(self) -> usize {
        // SAFETY: forwarded to the caller.
        (unsafe { self.header() } & SIZE_MASK) as usize
    }

    /// Whether this block is used.
    ///
    /// # Safety
    /// As [`Block::header`].
    #[inline]
    pub unsafe fn is_used(self) -> bool {
        // SAFETY: forwarded to the caller.
        (unsafe { self.header() } & USED) != 0
    }

    /// Whether the physically previous block is used (when not, it has a
    /// footer and [`Block::prev`] may be used).
    ///
    /// # Safety
    /// As [`Block::header`].
    #[inline]
    pub unsafe fn prev_used(self) -> bool {
        // SAFETY: forwarded to the caller.
        (unsafe { self.header() } & PREV_USED) != 0
    }

    /// Whether this block is a large object.
    ///
    /// # Safety
    /// As [`Block::header`].
    #[inline]
    pub unsafe fn is_large(self) -> bool {
        // SAFETY: forwarded to the caller.
        (unsafe { self.header() } & LARGE) != 0
    }

    /// The requested size of a used block (0 for a free block).
    ///
    /// # Safety
    /// As [`Block::header`].
    #[inline]
    pub unsafe fn requested(self) -> usize {
        // SAFETY: forwarded to the caller.
        let h = unsafe { self.header() };
        let r = h >> 32;
        (if h & LARGE != 0 { r } else { r & MAX_ARENA_REQUEST as u64 }) as usize
    }

    /// The alignment a used arena block was allocated with (1 if none was
    /// recorded; meaningless for large objects and free blocks).
    ///
    /// # Safety
    /// As [`Block::header`].
    #[inline]
    pub unsafe fn align(self) -> usize {
        // SAFETY: forwarded to the caller.
        1 << ((unsafe { self.header() } >> ALIGN_SHIFT) & 0xF)
    }

    /// Encodes a header word.
    #[inline]
    pub const fn encode(size: usize, used: bool, prev_used: bool, large: bool, requested: usize) -> u64 {
        debug_assert!(size & FLAGS as usize == 0, "block size must be a multiple of 8");
        debug_assert!(size <= MAX_BLOCK, "block size above MAX_BLOCK");
        (size as u64)
            | if used { USED } else { 0 }
            | if prev_used { PREV_USED } else { 0 }
            | if large { LARGE } else { 0 }
            | ((requested as u64) << 32)
    }

    /// Writes the header of a used arena block (no footer), recording its
    /// alignment (a power of two up to 4096).
    ///
    /// # Safety
    /// `size` bytes from this address must belong to this block and be writable.
    #[inline]
    pub unsafe fn write_used(self, size: usize, requested: usize, prev_used: bool, align: usize) {
        debug_assert!(requested <= MAX_ARENA_REQUEST, "arena request too big for the header");
        debug_assert!(align.is_power_of_two() && align <= 4096, "alignment must be a power of two up to 4096");
        let a = (align.trailing_zeros() as u64) << ALIGN_SHIFT;
        // SAFETY: forwarded to the caller.
        unsafe { self.set_header(Self::encode(size, true, prev_used, false, requested) | a) }
    }

    /// Records in a used arena block's header the request it serves and
    /// its alignment (a power of two up to 4096), keeping size and flags.
    ///
    /// # Safety
    /// As [`Block::set_header`], and a used header must be there.
    #[inline]
    pub unsafe fn record_request(self, requested: usize, align: usize) {
        debug_assert!(requested <= MAX_ARENA_REQUEST, "arena request too big for the header");
        debug_assert!(align.is_power_of_two() && align <= 4096, "alignment must be a power of two up to 4096");
        let a = (align.trailing_zeros() as u64) << ALIGN_SHIFT;
        // SAFETY: forwarded to the caller.
        unsafe { self.set_header((self.header() & 0xFFFF_FFFF) | ((requested as u64) << 32) | a) }
    }

    /// Writes the header and footer of a free block.
    ///
    /// # Safety
    /// `size` (≥ 16) bytes from this address must belong to this block and
    /// be writable.
    #[inline]
    pub unsafe fn write_free(self, size: usize, prev_used: bool) {
        debug_assert!(size >= HEADER + FOOTER, "free block too small for a footer");
        // SAFETY: header and footer are both inside the block.
        unsafe {
            self.set_header(Self::encode(size, false, prev_used, false, 0));
            self.0.byte_add(size - FOOTER).cast::<u64>().write(size as u64);
        }
    }

    /// Writes an epilogue (size 0, used).
    ///
    /// # Safety
    /// The 8 bytes at this address must be writable heap memory.
    #[inline]
    pub unsafe fn write_epilogue(self, prev_used: bool) {
        // SAFETY: forwarded to the caller.
        unsafe { self.set_header(Self::encode(0, true, prev_used, false, 0)) }
    }

    /// Sets or clears the prev-used bit, leaving the rest of the header.
    ///
    /// # Safety
    /// As [`Block::set_header`], and a header must be there.
    #[inline]
    pub unsafe fn set_prev_used(self, prev_used: bool) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let h = self.header();
            self.set_header(if prev_used { h | PREV_USED } else { h & !PREV_USED });
        }
    }

    /// Replaces the requested size of a used block.
    ///
    /// # Safety
    /// As [`Block::set_header`], and a used header must be there.
    #[inline]
    pub unsafe fn set_requested(self, requested: usize) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let h = self.header();
            let keep = if h & LARGE != 0 { h & 0xFFFF_FFFF } else { h & (0xFFFF_FFFF | 0xF << ALIGN_SHIFT) };
            debug_assert!(h & LARGE != 0 || requested <= MAX_ARENA_REQUEST, "arena request too big for the header");
            self.set_header(keep | ((requested as u64) << 32));
        }
    }

    /// The footer word (the last 8 bytes of the block).
    ///
    /// # Safety
    /// A block of at least 16 bytes must be here.
    #[inline]
    pub unsafe fn footer(self) -> u64 {
        // SAFETY: the footer is the block's last 8 bytes.
        unsafe { self.0.byte_add(self.size() - FOOTER).cast::<u64>().read() }
    }

    /// The physically next block (or the arena's epilogue).
    ///
    /// # Safety
    /// A valid header must be here and the block must not be an epilogue.
    #[inline]
    pub unsafe fn next(self) -> Block {
        // SAFETY: the next header is inside the arena (at worst its epilogue).
        unsafe { self.add(self.size()) }
    }

    /// The physically previous block, found through its footer.
    ///
    /// # Safety
    /// The previous block must be free (`!self.prev_used()`), so its footer
    /// is the 8 bytes before this header.
    #[inline]
    pub unsafe fn prev(self) -> Block {
        // SAFETY: the caller guarantees a free previous block with a footer.
        unsafe {
            let size = self.0.byte_sub(FOOTER).cast::<u64>().read() as usize;
            self.sub(size)
        }
    }

    #[inline]
    fn link_ptr(self, i: usize) -> *mut *mut u8 {
        debug_assert!(i < MAX_LINKS, "link index {i} out of range");
        self.0.as_ptr().wrapping_add(HEADER + i * WORD).cast::<*mut u8>()
    }

    /// Link word `i` (< [`MAX_LINKS`]) of a free block.
    ///
    /// # Safety
    /// This must be a free block of at least the minimum block size of the
    /// policy using link `i`, and the link must have been written.
    #[inline]
    pub unsafe fn link(self, i: usize) -> Option<Block> {
        // SAFETY: the link word lies inside the free block's payload.
        NonNull::new(unsafe { self.link_ptr(i).read() }).map(Block)
    }

    /// Writes link word `i` (< [`MAX_LINKS`]) of a free block.
    ///
    /// # Safety
    /// This must be a free block of at least the minimum block size of the
    /// policy using link `i`.
    #[inline]
    pub unsafe fn set_link(self, i: usize, v: Option<Block>) {
        let p = match v {
            Some(b) => b.0.as_ptr(),
            None => core::ptr::null_mut(),
        };
        // SAFETY: the link word lies inside the free block's payload.
        unsafe { self.link_ptr(i).write(p) }
    }

    /// Link 0: the next block of a free list.
    ///
    /// # Safety
    /// As [`Block::link`].
    #[inline]
    pub unsafe fn next_free(self) -> Option<Block> {
        // SAFETY: forwarded to the caller.
        unsafe { self.link(NEXT) }
    }

    /// Sets link 0.
    ///
    /// # Safety
    /// As [`Block::set_link`].
    #[inline]
    pub unsafe fn set_next_free(self, v: Option<Block>) {
        // SAFETY: forwarded to the caller.
        unsafe { self.set_link(NEXT, v) }
    }

    /// Link 1: the previous block of a doubly linked free list.
    ///
    /// # Safety
    /// As [`Block::link`].
    #[inline]
    pub unsafe fn prev_free(self) -> Option<Block> {
        // SAFETY: forwarded to the caller.
        unsafe { self.link(PREV) }
    }

    /// Sets link 1.
    ///
    /// # Safety
    /// As [`Block::set_link`].
    #[inline]
    pub unsafe fn set_prev_free(self, v: Option<Block>) {
        // SAFETY: forwarded to the caller.
        unsafe { self.set_link(PREV, v) }
    }
}

/// One allocation request, as the policies see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Requested payload bytes (> 0).
    pub size: usize,
    /// Payload alignment: a power of two, at least the granule.
    pub align: usize,
    /// The heap's granule (8 or 16).
    pub granule: usize,
    /// The heap's minimum block size (a multiple of the granule).
    pub min_block: usize,
    /// Block size needed when no alignment gap is required:
    /// `max(round_up(size + 8, granule), min_block)`.
    pub need: usize,
}

impl Request {
    /// Builds a request; `align` is raised to the granule.
    #[inline]
    pub const fn new(size: usize, align: usize, granule: usize, min_block: usize) -> Self {
        let need = round_up(size + HEADER, granule);
        let need = if need < min_block { min_block } else { need };
        let align = if align < granule { granule } else { align };
        Request { size, align, granule, min_block, need }
    }

    /// A block size that fits this request wherever the block starts: `need`
    /// plus the largest possible leading gap. Index policies that search by
    /// size class use it for over-aligned requests.
    #[inline]
    pub const fn worst_case(&self) -> usize {
        if self.align <= self.granule {
            self.need
        } else {
            self.need + self.min_block + self.align - self.granule
        }
    }
}

/// Why a visited block was not chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "kebab-case"))]
#[repr(u8)]
pub enum RejectReason {
    /// The block is smaller than the request's block size.
    TooSmall = 0,
    /// Big enough, but not once the payload is aligned.
    Alignment = 1,
    /// It fits, but the policy found a better block (best fit: a smaller
    /// one; worst fit: a larger one).
    NotBest = 2,
}

/// Where a request fits in a free block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The free block.
    pub block: Block,
    /// Leading gap before the used block: 0, or at least the minimum block
    /// (it then becomes a free block of its own).
    pub gap: usize,
    /// Size of the used block to carve (before any tail split).
    pub need: usize,
}

impl Fit {
    /// The payload address the request would get.
    #[inline]
    pub fn payload_addr(&self) -> usize {
        self.block.addr() + self.gap + HEADER
    }
}

/// The alignment fit test shared by all policies: can free block `b` of
/// `size` bytes serve `req`?
///
/// The payload is placed at the first address ≥ `b + 8` aligned to
/// `req.align` that leaves a leading gap of 0 or of at least the minimum
/// block (so the gap can become a free block).
#[inline]
pub fn fits(b: Block, size: usize, req: &Request) -> Result<Fit, RejectReason> {
    if size < req.need {
        return Err(RejectReason::TooSmall);
    }
    if req.align <= req.granule {
        return Ok(Fit { block: b, gap: 0, need: req.need });
    }
    let first = b.addr() + HEADER;
    let mut payload = round_up(first, req.align);
    if payload != first && payload - first < req.min_block {
        payload = round_up(first + req.min_block, req.align);
    }
    let gap = payload - first;
    if gap + req.need <= size {
        Ok(Fit { block: b, gap, need: req.need })
    } else {
        Err(RejectReason::Alignment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(64))]
    struct Buf([u64; 64]);

    #[test]
    fn header_roundtrip_and_links() {
        let mut buf = Buf([0; 64]);
        let base = NonNull::new(buf.0.as_mut_ptr().cast::<u8>()).unwrap();
        let b = Block::from_header(base);
        // SAFETY: the buffer is 512 bytes, all blocks below lie inside it.
        unsafe {
            b.write_used(64, 50, true, 32);
            assert!(b.is_used() && b.prev_used() && !b.is_large());
            assert_eq!((b.size(), b.requested()), (64, 50));
            assert_eq!(Block::from_payload(b.payload()), b);
            let n = b.next();
            assert_eq!(n.addr(), b.addr() + 64);
            n.write_free(128, true);
            assert_eq!(n.footer(), 128);
            let e = n.next();
            e.write_epilogue(false);
            assert_eq!(e.prev(), n);
            n.set_next_free(Some(b));
            n.set_prev_free(None);
            n.set_link(4, Some(e));
            assert_eq!(n.next_free(), Some(b));
            assert_eq!(n.prev_free(), None);
            assert_eq!(n.link(4), Some(e));
            b.set_requested(7);
            assert_eq!((b.requested(), b.align()), (7, 32));
            e.set_prev_used(true);
            assert!(e.prev_used() && e.is_used() && e.size() == 0);
        }
    }

    #[test]
    fn fit_gap_is_zero_or_a_block() {
        let mut buf = Buf([0; 64]);
        let base = NonNull::new(buf.0.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: offset 8 is inside the buffer.
        let b = unsafe { Block::from_header(base).add(8) }; // payload 64-aligned + 16
        let req = Request::new(8, 64, 8, 32);
        let fit = fits(b, 400, &req).unwrap();
        assert_eq!(fit.payload_addr() % 64, 0);
        assert!(fit.gap == 0 || fit.gap >= 32);
        assert_eq!(fits(b, 8, &req), Err(RejectReason::TooSmall));
        assert_eq!(fits(b, 40, &req), Err(RejectReason::Alignment));
        assert!(req.worst_case() >= fit.gap + fit.need);
    }
}
