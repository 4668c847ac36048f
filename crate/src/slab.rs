//! The slab allocator: a kernel heap of *caches* of same-sized *objects*,
//! over the [`buddy`](crate::buddy) page allocator.
//!
//! ```text
//! cache "inode" (184 B):  empty ─► [slab]      partial ─► [slab] ─► [slab]      full ─► [slab]
//! slab (2^order pages):   [ header | obj 0 | obj 1 | … | obj n−1 | waste ]
//!                           free ─► obj 3 ─► obj 0 ─► …   (links inside the free objects)
//! ```
//!
//! * A *cache* holds objects of one size and alignment
//!   ([`Slab::cache_create`]). Its *slabs* are buddy blocks of 2^order
//!   pages (the smallest order, at most [`MAX_SLAB_ORDER`], that wastes at
//!   most an eighth), each on one of three lists: *empty* (no object in
//!   use), *partial*, *full*. An allocation takes an object from a partial
//!   slab first, then from an empty one, and only then asks the buddy
//!   allocator for a new slab; a free that empties a slab returns it to the
//!   buddy allocator when the cache already keeps [`Slab::keep_empty`]
//!   empty slabs.
//! * The *slab header* sits at the start of the slab: its list links, its
//!   cache, the objects in use, the head of its *free list* of objects and
//!   a bitmap of the objects in use (which makes every free validated). A
//!   free object holds the index of the next free object in its first two
//!   bytes.
//! * [`Slab::kmalloc`] serves sizes from 1 B to 4 KiB from ten caches of
//!   power-of-two sizes (`kmalloc-8` … `kmalloc-4096`, each object aligned
//!   to its size), and larger sizes straight from the buddy allocator.
//! * The buddy allocator tags each slab with its cache (in its metadata,
//!   not in the slab), so a free finds the slab and cache of any address
//!   without trusting the memory it is given.
//!
//! Events go to the buddy allocator's observer: the buddy's own (a slab
//! taken is an `alloc` of pages with its splits), then `SlabNew`,
//! `SlabMoved`, `ObjectAlloc`, `ObjectFree`, `SlabFree`.

use core::ptr::NonNull;

use crate::buddy::{order_for, Buddy, BuddyStats};
use crate::errors::{AllocError, CheckError};
use crate::events::{Event, NoObserver, Observer};
use crate::pages::{PageSource, PAGE};

/// Caches a slab allocator holds, the ten `kmalloc` caches included.
pub const MAX_CACHES: usize = 32;
/// The `kmalloc` caches: 8 B, 16 B, … 4096 B, at indices `0..KMALLOC_CACHES`.
pub const KMALLOC_CACHES: usize = 10;
/// The largest `kmalloc` size served from a cache; larger ones take buddy
/// blocks.
pub const KMALLOC_MAX: usize = 4096;
/// The largest slab: 2^3 pages (32 KiB).
pub const MAX_SLAB_ORDER: usize = 3;
/// Objects per slab at most (the header's bitmap has one bit per object).
pub const MAX_OBJECTS: usize = 512;
/// Bytes of a cache name kept.
pub const NAME_MAX: usize = 24;
/// Owner tags from this one up mark buddy blocks of other users of the same
/// buddy allocator (the application heaps of a [`Machine`](crate::machine));
/// the slab allocator neither frees nor checks them.
pub const FOREIGN_OWNER: u16 = 0x8000;
/// The smallest object (a free object holds a link).
const MIN_OBJECT: usize = 8;
/// The end of a slab's free list.
const NONE: u16 = u16::MAX;

/// The three slab lists of a cache.
const EMPTY: usize = 0;
const PARTIAL: usize = 1;
const FULL: usize = 2;
const LISTS: [SlabList; 3] = [SlabList::Empty, SlabList::Partial, SlabList::Full];

/// The list a slab is on.
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "kebab-case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SlabList {
    /// No object in use.
    Empty,
    /// Some objects in use, some free.
    Partial,
    /// Every object in use.
    Full,
}

impl SlabList {
    /// Stable kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            SlabList::Empty => "empty",
            SlabList::Partial => "partial",
            SlabList::Full => "full",
        }
    }
}

/// The header at the start of every slab.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct SlabHeader {
    /// Next and previous slab on the same list (addresses, 0 for none).
    next: usize,
    prev: usize,
    /// The cache's index.
    cache: u16,
    /// Objects in use; equals the bits set in `live`.
    inuse: u16,
    /// First free object (`NONE` when the slab is full).
    free: u16,
    /// The list the slab is on (`EMPTY`, `PARTIAL`, `FULL`).
    list: u8,
    _pad: u8,
    /// Bit `i` set iff object `i` is in use.
    live: [u64; MAX_OBJECTS / 64],
}

/// Bytes of the slab header.
const HEADER: usize = size_of::<SlabHeader>();

/// A cache: its object geometry and its slab lists.
#[derive(Clone, Copy, Debug)]
struct Cache {
    name: [u8; NAME_MAX],
    name_len: usize,
    /// The object size asked for, and its alignment.
    size: usize,
    align: usize,
    /// Bytes from one object to the next (`size` rounded up to `align`).
    stride: usize,
    /// ⌈2^32 / stride⌉: `(x * recip) >> 32` (in 64 bits) is `x / stride`
    /// for every offset `x` in a slab (see [`Cache::index`]), a multiply
    /// where a divide took tens of cycles.
    recip: u64,
    /// Offset of object 0 in a slab (the header rounded up to `align`).
    offset: usize,
    /// Slab order, objects per slab.
    order: usize,
    per_slab: usize,
    /// `per_slab * stride`: the bytes of a slab's objects.
    span: usize,
    /// First slab of each list (0 for none), slabs on each list.
    heads: [usize; 3],
    counts: [usize; 3],
    /// Objects in use.
    live: usize,
}

impl Cache {
    const UNUSED: Cache = Cache { name: [0; NAME_MAX], name_len: 0, size: 0, align: 0, stride: 0, recip: 0, offset: 0, order: 0, per_slab: 0, span: 0, heads: [0; 3], counts: [0; 3], live: 0 };

    /// A cache of objects of `size` bytes aligned to `align` (a power of
    /// two up to a page), or `None` when no slab of at most
    /// `MAX_SLAB_ORDER` holds one.
    const fn new(name: &str, size: usize, align: usize) -> Option<Cache> {
        let stride = (if size < MIN_OBJECT { MIN_OBJECT } else { size }).next_multiple_of(align);
        let offset = HEADER.next_multiple_of(align);
        let mut order = 0;
        while order <= MAX_SLAB_ORDER {
            let bytes = PAGE << order;
            if bytes > offset {
                let fit = (bytes - offset) / stride;
                let per = if fit > MAX_OBJECTS { MAX_OBJECTS } else { fit };
                if per >= 1 && ((bytes - per * stride) * 8 <= bytes || order == MAX_SLAB_ORDER) {
                    let mut c = Cache { size, align, stride, recip: (1u64 << 32).div_ceil(stride as u64), offset, order, per_slab: per, span: per * stride, ..Cache::UNUSED };
                    // Keep the name up to NAME_MAX bytes, cut at a char boundary.
                    let b = name.as_bytes();
                    let mut n = if b.len() < NAME_MAX { b.len() } else { NAME_MAX };
                    while n > 0 && n < b.len() && b[n] & 0xc0 == 0x80 {
                        n -= 1;
                    }
                    let mut i = 0;
                    while i < n {
                        c.name[i] = b[i];
                        i += 1;
                    }
                    c.name_len = n;
                    return Some(c);
                }
            }
            order += 1;
        }
        None
    }

    fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len]).unwrap_or("")
    }

    /// `x / stride` for an offset `x` from object 0 inside a slab. Exact:
    /// with `recip = 2^32 / stride + e` (0 <= e < 1), `x * recip / 2^32`
    /// exceeds `x / stride` by `x * e / 2^32 < 1 / stride` when `x < 2^32 /
    /// stride`, too little to reach the next integer (`x / stride` is at
    /// most `1 - 1 / stride` past one). Slabs are at most
    /// `PAGE << MAX_SLAB_ORDER` bytes and objects a page: far inside.
    #[inline]
    fn index(&self, x: usize) -> usize {
        debug_assert!((x as u64) < (1u64 << 32) / self.stride as u64, "offset {x} too far for the reciprocal");
        ((x as u64 * self.recip) >> 32) as usize
    }
}

/// The `kmalloc` caches.
const KMALLOC_NAMES: [&str; KMALLOC_CACHES] = ["kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128", "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048", "kmalloc-4096"];

const fn kmalloc_caches() -> [Cache; MAX_CACHES] {
    let mut caches = [Cache::UNUSED; MAX_CACHES];
    let mut i = 0;
    while i < KMALLOC_CACHES {
        let size = MIN_OBJECT << i;
        caches[i] = match Cache::new(KMALLOC_NAMES[i], size, size) {
            Some(c) => c,
            None => panic!("a kmalloc size class fits no slab"),
        };
        i += 1;
    }
    caches
}

/// What [`Slab::cache_info`] tells of a cache.
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheInfo<'a> {
    /// Its name.
    pub name: &'a str,
    /// The object size asked for.
    pub size: usize,
    /// The object alignment.
    pub align: usize,
    /// Bytes from one object to the next.
    pub stride: usize,
    /// Slab order (a slab is 2^order pages).
    pub order: usize,
    /// Objects per slab.
    pub objects_per_slab: usize,
    /// Slabs on the empty, partial and full lists.
    pub slabs: [usize; 3],
    /// Objects in use.
    pub live: usize,
}

/// A slab allocator's figures.
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "camelCase"))]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SlabStats {
    /// Caches (the `kmalloc` ones included).
    pub caches: usize,
    /// Slabs on the empty, partial and full lists, over all caches.
    pub slabs: [usize; 3],
    /// Pages in slabs.
    pub slab_pages: usize,
    /// Objects in use.
    pub objects: usize,
    /// Bytes of the objects in use (strides).
    pub object_bytes: usize,
    /// `object_bytes / (slab_pages × 4 KiB)`, 0 without slabs.
    pub utilization: f64,
    /// `kmalloc` blocks above 4 KiB (buddy blocks) and their pages.
    pub large_blocks: usize,
    /// Pages of those blocks.
    pub large_pages: usize,
    /// The buddy allocator under it.
    pub buddy: BuddyStats,
}

/// A kernel heap: slab caches and `kmalloc` over a [`Buddy`] page allocator.
///
/// ```
/// use heaplab::pages::FixedRegion;
/// use heaplab::slab::Slab;
///
/// #[repr(align(4096))]
/// struct Region([u8; 1 << 18]);
/// let mut region = Box::new(Region([0; 1 << 18]));
/// // SAFETY: the region outlives the allocator and nothing else uses it.
/// let src = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
/// let mut kernel = Slab::new(src, 1 << 18);
/// let inode = kernel.cache_create("inode", 184, 8).unwrap();
/// let o = kernel.cache_alloc(inode).unwrap();
/// let k = kernel.kmalloc(64).unwrap();
/// assert_eq!(k.as_ptr() as usize % 64, 0);
/// kernel.cache_free(inode, o.as_ptr()).unwrap();
/// kernel.kfree(k.as_ptr()).unwrap();
/// assert_eq!(kernel.kfree(k.as_ptr()).unwrap_err().code(), "double-free");
/// kernel.check().unwrap();
/// ```
#[derive(Debug)]
pub struct Slab<S: PageSource, O: Observer = NoObserver> {
    buddy: Buddy<S, O>,
    /// `caches[..ncaches]` are in use; the first `KMALLOC_CACHES` are the
    /// `kmalloc` ones.
    caches: [Cache; MAX_CACHES],
    ncaches: usize,
    /// Empty slabs a cache keeps before returning one.
    keep_empty: usize,
    large_blocks: usize,
    large_pages: usize,
}

impl<S: PageSource> Slab<S, NoObserver> {
    /// A slab allocator whose buddy allocator takes `bytes` from `source`
    /// at the first operation.
    pub const fn new(source: S, bytes: usize) -> Self {
        Self::with_observer(source, bytes, NoObserver)
    }
}

impl<S: PageSource, O: Observer> Slab<S, O> {
    /// As [`Slab::new`], reporting every operation (the buddy allocator's
    /// too) to `observer`.
    pub const fn with_observer(source: S, bytes: usize, observer: O) -> Self {
        Slab { buddy: Buddy::with_observer(source, bytes, observer), caches: kmalloc_caches(), ncaches: KMALLOC_CACHES, keep_empty: 1, large_blocks: 0, large_pages: 0 }
    }

    /// Obtains the memory now if not yet done (the first operation would).
    ///
    /// # Errors
    /// [`AllocError::OutOfMemory`] when the source refused.
    pub fn init(&mut self) -> Result<(), AllocError> {
        self.buddy.init()
    }

    /// A block of 2^`order` pages straight from the buddy allocator, as
    /// `kmalloc` takes for large sizes ([`Slab::kfree`] takes it back).
    ///
    /// # Errors
    /// As [`Buddy::alloc_pages`].
    pub fn alloc_pages(&mut self, order: usize) -> Result<NonNull<u8>, AllocError> {
        let p = self.buddy.alloc_block(order, PAGE << order.min(crate::buddy::MAX_ORDER), 0)?;
        self.large_blocks += 1;
        self.large_pages += 1 << order;
        Ok(p)
    }

    /// The buddy allocator under the caches.
    pub fn buddy(&self) -> &Buddy<S, O> {
        &self.buddy
    }

    /// The buddy allocator, mutable: for other users of its pages, whose
    /// blocks carry an owner tag of [`FOREIGN_OWNER`] or above.
    pub(crate) fn buddy_mut(&mut self) -> &mut Buddy<S, O> {
        &mut self.buddy
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        self.buddy.observer()
    }

    /// The observer, mutable.
    pub fn observer_mut(&mut self) -> &mut O {
        self.buddy.observer_mut()
    }

    /// Empty slabs each cache keeps (1 unless set).
    pub fn keep_empty(&self) -> usize {
        self.keep_empty
    }

    /// Sets how many empty slabs a cache keeps; slabs emptied past that go
    /// back to the buddy allocator (those already kept stay until
    /// [`Slab::cache_shrink`]).
    pub fn set_keep_empty(&mut self, n: usize) {
        self.keep_empty = n;
    }

    #[inline]
    fn event(&mut self, e: Event) {
        if O::ENABLED {
            self.buddy.observer_mut().event(e);
        }
    }

    /// Creates a cache of objects of `size` bytes aligned to `align`; its
    /// index.
    ///
    /// # Errors
    /// [`AllocError::InvalidAlign`] unless `align` is a power of two up to
    /// 4 KiB; [`AllocError::InvalidSize`] for 0 or a size no slab of
    /// 2^[`MAX_SLAB_ORDER`] pages holds; [`AllocError::OutOfMemory`] when
    /// [`MAX_CACHES`] caches exist.
    pub fn cache_create(&mut self, name: &str, size: usize, align: usize) -> Result<usize, AllocError> {
        if !align.is_power_of_two() || align > PAGE {
            return Err(AllocError::InvalidAlign);
        }
        if size == 0 || size > PAGE << MAX_SLAB_ORDER {
            return Err(AllocError::InvalidSize);
        }
        let cache = Cache::new(name, size, align).ok_or(AllocError::InvalidSize)?;
        if self.ncaches == MAX_CACHES {
            return Err(AllocError::OutOfMemory);
        }
        self.caches[self.ncaches] = cache;
        self.ncaches += 1;
        Ok(self.ncaches - 1)
    }

    /// Caches in use (the `kmalloc` ones first).
    pub fn caches(&self) -> usize {
        self.ncaches
    }

    /// What cache `c` holds, or `None` for no such cache.
    pub fn cache_info(&self, c: usize) -> Option<CacheInfo<'_>> {
        let k = self.caches[..self.ncaches].get(c)?;
        Some(CacheInfo { name: k.name(), size: k.size, align: k.align, stride: k.stride, order: k.order, objects_per_slab: k.per_slab, slabs: k.counts, live: k.live })
    }

    /// The slabs of cache `c`, list by list (empty, partial, full), each in
    /// list order: (address, list name, objects in use).
    pub fn slabs(&self, c: usize) -> impl Iterator<Item = (usize, &'static str, usize)> + '_ {
        let heads = self.caches[..self.ncaches].get(c).map_or([0; 3], |k| k.heads);
        let mut list = 0;
        let mut at = heads[0];
        let mut left = self.buddy.pages() + 3;
        core::iter::from_fn(move || loop {
            if left == 0 {
                return None;
            }
            left -= 1;
            if at != 0 {
                let h = self.header(at);
                let item = (at, LISTS[list].name(), h.inuse as usize);
                at = h.next;
                return Some(item);
            }
            list += 1;
            if list == 3 {
                return None;
            }
            at = heads[list];
        })
    }

    /// The objects of the slab at `slab`, in address order: (address, in
    /// use); nothing when no slab starts there.
    pub fn objects(&self, slab: usize) -> impl Iterator<Item = (usize, bool)> + '_ {
        let found = match self.buddy.block_at(slab) {
            Some((block, _, Some(owner))) if owner > 0 && block.as_ptr().addr() == slab => self.caches[..self.ncaches].get(owner as usize - 1).map(|k| (k, self.header(slab).live)),
            _ => None,
        };
        let (first, stride, count, live) = found.map_or((0, 0, 0, [0; MAX_OBJECTS / 64]), |(k, live)| (slab + k.offset, k.stride, k.per_slab, live));
        (0..count).map(move |i| (first + i * stride, live[i / 64] >> (i % 64) & 1 == 1))
    }

    /// The cache index of `kmalloc(size)`, `None` above 4 KiB.
    pub const fn kmalloc_cache(size: usize) -> Option<usize> {
        if size > KMALLOC_MAX {
            return None;
        }
        let class = if size <= MIN_OBJECT { MIN_OBJECT } else { size.next_power_of_two() };
        Some((class.trailing_zeros() - MIN_OBJECT.trailing_zeros()) as usize)
    }

    /// Takes an object of cache `c`: from a partial slab, else an empty
    /// one, else a new slab.
    ///
    /// # Errors
    /// [`AllocError::NotAllocated`] for no such cache,
    /// [`AllocError::OutOfMemory`] when the buddy allocator has no block
    /// for a new slab.
    ///
    /// # Time Complexity
    /// O(1), plus the buddy allocator's O(max_order) and O(objects per
    /// slab) to set up a new slab.
    pub fn cache_alloc(&mut self, c: usize) -> Result<NonNull<u8>, AllocError> {
        let Some(k) = self.caches[..self.ncaches].get(c) else { return Err(AllocError::NotAllocated) };
        let (size, align) = (k.size, k.align);
        self.event(Event::Alloc { size, align });
        self.object_alloc(c).inspect_err(|e| self.event(Event::Error { code: e.code() }))
    }

    /// Returns `ptr`, an object of cache `c`.
    ///
    /// # Errors
    /// [`AllocError::DoubleFree`] for an object (or memory) already free,
    /// [`AllocError::InteriorPointer`] inside an object,
    /// [`AllocError::NotAllocated`] for anything that is not an object of
    /// cache `c`. An error changes nothing.
    pub fn cache_free(&mut self, c: usize, ptr: *mut u8) -> Result<(), AllocError> {
        self.event(Event::Free { payload: ptr.addr() });
        let r = match self.find(ptr) {
            Ok(Found::Object { cache, slab, index }) if cache == c => {
                self.object_free(cache, slab, index);
                Ok(())
            }
            Ok(_) => Err(AllocError::NotAllocated),
            Err(e) => Err(e),
        };
        r.inspect_err(|e| self.event(Event::Error { code: e.code() }))
    }

    /// Empties cache `c` of its empty slabs (they go back to the buddy
    /// allocator); how many.
    ///
    /// # Errors
    /// [`AllocError::NotAllocated`] for no such cache.
    pub fn cache_shrink(&mut self, c: usize) -> Result<usize, AllocError> {
        if c >= self.ncaches {
            return Err(AllocError::NotAllocated);
        }
        let mut n = 0;
        while self.caches[c].heads[EMPTY] != 0 {
            let slab = self.caches[c].heads[EMPTY];
            self.release(c, slab);
            n += 1;
        }
        Ok(n)
    }

    /// Takes `size` bytes: an object of the smallest `kmalloc` cache that
    /// holds them (aligned to its size), or above 4 KiB a buddy block
    /// (aligned to a page).
    ///
    /// # Errors
    /// [`AllocError::InvalidSize`] for 0 or a size no buddy block holds,
    /// [`AllocError::OutOfMemory`] when the memory is used up.
    pub fn kmalloc(&mut self, size: usize) -> Result<NonNull<u8>, AllocError> {
        self.event(Event::Alloc { size, align: Self::kmalloc_cache(size).map_or(PAGE, |c| self.caches[c].align) });
        let r = match (size, Self::kmalloc_cache(size)) {
            (0, _) => Err(AllocError::InvalidSize),
            (_, Some(c)) => self.object_alloc(c),
            (_, None) => self.kmalloc_large(size),
        };
        r.inspect_err(|e| self.event(Event::Error { code: e.code() }))
    }

    fn kmalloc_large(&mut self, size: usize) -> Result<NonNull<u8>, AllocError> {
        let order = order_for(size).ok_or(AllocError::InvalidSize)?;
        let p = self.buddy.alloc_block(order, size, 0)?;
        self.large_blocks += 1;
        self.large_pages += 1 << order;
        Ok(p)
    }

    /// Returns what [`Slab::kmalloc`] gave (an object of any cache is
    /// accepted too, as Linux's `kfree` does).
    ///
    /// # Errors
    /// As [`Slab::cache_free`], for any cache.
    pub fn kfree(&mut self, ptr: *mut u8) -> Result<(), AllocError> {
        self.event(Event::Free { payload: ptr.addr() });
        let r = match self.find(ptr) {
            Ok(Found::Object { cache, slab, index }) => {
                self.object_free(cache, slab, index);
                Ok(())
            }
            Ok(Found::Large { order }) => self.buddy.free_pages(ptr).map(|_| {
                self.large_blocks -= 1;
                self.large_pages -= 1 << order;
            }),
            Err(e) => Err(e),
        };
        r.inspect_err(|e| self.event(Event::Error { code: e.code() }))
    }

    /// The bytes usable at `ptr`: its cache's object size, or its buddy
    /// block's size.
    ///
    /// # Errors
    /// As [`Slab::kfree`].
    pub fn ksize(&self, ptr: *mut u8) -> Result<usize, AllocError> {
        match self.find(ptr)? {
            Found::Object { cache, .. } => Ok(self.caches[cache].stride),
            Found::Large { order } => Ok(PAGE << order),
        }
    }

    /// What `ptr` is, validated against the buddy allocator's tags and the
    /// slab's header. (Inlined: out of line, its answer went through
    /// memory.)
    #[inline(always)]
    fn find(&self, ptr: *mut u8) -> Result<Found, AllocError> {
        let addr = ptr.addr();
        let (block, order, owner) = self.buddy.block_at(addr).ok_or(AllocError::NotAllocated)?;
        let owner = owner.ok_or(AllocError::DoubleFree)? as usize;
        if owner == 0 {
            return if block.as_ptr().addr() == addr { Ok(Found::Large { order }) } else { Err(AllocError::InteriorPointer) };
        }
        let (c, slab) = (owner - 1, block.as_ptr().addr());
        let Some(k) = self.caches[..self.ncaches].get(c) else { return Err(AllocError::NotAllocated) };
        let off = addr - slab;
        let x = off.wrapping_sub(k.offset);
        // (`off < k.offset` wraps `x` far past the slab: one test for both.)
        if x >= k.span {
            return Err(AllocError::NotAllocated);
        }
        let index = k.index(x);
        if index * k.stride != x {
            return Err(AllocError::InteriorPointer);
        }
        let h = self.hp(slab);
        // SAFETY: `slab` starts a used buddy block of this cache (its owner
        // tag), so it holds the header `new_slab` wrote; fields read by
        // place, no reference made.
        let (cache, word) = unsafe { ((*h).cache as usize, (*h).live[index / 64]) };
        if cache != c {
            return Err(AllocError::NotAllocated);
        }
        if word >> (index % 64) & 1 == 0 {
            return Err(AllocError::DoubleFree);
        }
        Ok(Found::Object { cache: c, slab, index })
    }

    /// A copy of the header of the slab at `slab`.
    fn header(&self, slab: usize) -> SlabHeader {
        let p = self.buddy.ptr_at(slab).expect("a slab address outside the buddy allocator's pages");
        // SAFETY: `slab` is the start of a used buddy block of this cache
        // (every slab address comes from the lists or from `find`'s buddy
        // look-up), page aligned and larger than a header, which
        // `new_slab` wrote; the memory is valid (the source's contract).
        unsafe { p.cast::<SlabHeader>().read() }
    }

    #[cfg(test)]
    fn set_header(&mut self, slab: usize, h: &SlabHeader) {
        let p = self.buddy.ptr_at(slab).expect("a slab address outside the buddy allocator's pages");
        // SAFETY: as in `header`; `&mut self` means no reference into the
        // slab's header is alive.
        unsafe { p.cast::<SlabHeader>().write(*h) }
    }

    /// The header of the slab at `slab` (a slab address from the lists or
    /// from `find`'s buddy look-up: inside the pages), in place: the hot
    /// paths read and write its fields by place (a copy of the whole
    /// header, bitmap included, cost more than the operation).
    #[inline]
    fn hp(&self, slab: usize) -> *mut SlabHeader {
        self.buddy.ptr_in(slab).cast::<SlabHeader>()
    }

    /// The address of object `index` of `slab`, a slab of cache `c`.
    #[inline(always)]
    fn object_addr(&self, c: usize, slab: usize, index: usize) -> usize {
        let k = &self.caches[c];
        debug_assert!(index < k.per_slab, "object {index} past the slab's {}", k.per_slab);
        slab + k.offset + index * k.stride
    }

    /// The free-list link stored in the free object at `obj` (an address
    /// from [`Slab::object_addr`]).
    #[inline(always)]
    fn link(&self, obj: usize) -> u16 {
        // SAFETY: the object lies inside its slab, a used buddy block of its
        // cache; two bytes fit (objects are at least 8).
        unsafe { self.buddy.ptr_in(obj).cast::<u16>().read_unaligned() }
    }

    /// Stores `next` as the free-list link of the free object at `obj`.
    #[inline(always)]
    fn set_link(&mut self, obj: usize, next: u16) {
        // SAFETY: as in `link`; the object is free, so nobody else uses it.
        unsafe { self.buddy.ptr_in(obj).cast::<u16>().write_unaligned(next) }
    }

    /// Takes `slab` off its list.
    fn unlink(&mut self, c: usize, slab: usize) {
        let h = self.hp(slab);
        // SAFETY: `slab` and its list neighbours are listed slabs of cache
        // `c`, each a used buddy block starting with its header (see `hp`);
        // distinct slabs, so the fields written are distinct; by place.
        let list = unsafe {
            let (list, next, prev) = ((*h).list as usize, (*h).next, (*h).prev);
            if prev == 0 {
                self.caches[c].heads[list] = next;
            } else {
                (*self.hp(prev)).next = next;
            }
            if next != 0 {
                (*self.hp(next)).prev = prev;
            }
            (*h).next = 0;
            (*h).prev = 0;
            list
        };
        self.caches[c].counts[list] -= 1;
        debug_assert!(self.caches[c].heads[list] != slab, "slab {slab:#x} still heads its list");
    }

    /// Puts `slab` (on no list) at the front of `list`.
    fn push(&mut self, c: usize, slab: usize, list: usize) {
        let old = self.caches[c].heads[list];
        let h = self.hp(slab);
        // SAFETY: as in `unlink`; `old` heads the list, so it is not `slab`.
        unsafe {
            if old != 0 {
                (*self.hp(old)).prev = slab;
            }
            (*h).next = old;
            (*h).prev = 0;
            (*h).list = list as u8;
        }
        self.caches[c].heads[list] = slab;
        self.caches[c].counts[list] += 1;
    }

    /// The list a slab with `inuse` objects belongs on.
    fn list_for(&self, c: usize, inuse: usize) -> usize {
        match inuse {
            0 => EMPTY,
            n if n == self.caches[c].per_slab => FULL,
            _ => PARTIAL,
        }
    }

    /// Takes a new slab for cache `c` from the buddy allocator, puts it on
    /// the empty list.
    fn new_slab(&mut self, c: usize) -> Result<usize, AllocError> {
        let (order, per) = (self.caches[c].order, self.caches[c].per_slab);
        let p = self.buddy.alloc_block(order, PAGE << order, c as u16 + 1).map_err(|e| if e == AllocError::InvalidSize { AllocError::OutOfMemory } else { e })?;
        let slab = p.as_ptr().addr();
        // SAFETY: a new used block of 2^order pages, page aligned, larger
        // than the header; nobody else uses it.
        unsafe { self.hp(slab).write(SlabHeader { next: 0, prev: 0, cache: c as u16, inuse: 0, free: 0, list: EMPTY as u8, _pad: 0, live: [0; MAX_OBJECTS / 64] }) };
        for i in 0..per {
            self.set_link(self.object_addr(c, slab, i), if i + 1 < per { i as u16 + 1 } else { NONE });
        }
        self.push(c, slab, EMPTY);
        self.event(Event::SlabNew { cache: c, addr: slab, order });
        Ok(slab)
    }

    /// Moves `slab` to `list` (the one its objects in use say), if not
    /// there.
    #[inline(always)]
    fn relist(&mut self, c: usize, slab: usize, list: usize) {
        debug_assert_eq!(list, {
            // SAFETY: a listed slab's header (see `hp`), read by place.
            let inuse = unsafe { (*self.hp(slab)).inuse as usize };
            self.list_for(c, inuse)
        });
        // SAFETY: as above.
        let on = unsafe { (*self.hp(slab)).list as usize };
        if list != on {
            self.unlink(c, slab);
            self.push(c, slab, list);
            self.event(Event::SlabMoved { cache: c, addr: slab, list: LISTS[list] });
        }
    }

    fn object_alloc(&mut self, c: usize) -> Result<NonNull<u8>, AllocError> {
        let k = &self.caches[c];
        let (partial, empty, per_slab) = (k.heads[PARTIAL], k.heads[EMPTY], k.per_slab);
        let slab = match (partial, empty) {
            (0, 0) => self.new_slab(c)?,
            (0, e) => e,
            (p, _) => p,
        };
        let h = self.hp(slab);
        // SAFETY: a listed slab's header (see `hp`), by place.
        let index = unsafe { (*h).free as usize };
        assert!(index < per_slab, "slab {slab:#x} on a list with free objects has none");
        let addr = self.object_addr(c, slab, index);
        let next = self.link(addr);
        // SAFETY: as above.
        let full = unsafe {
            (*h).free = next;
            (*h).inuse += 1;
            (*h).live[index / 64] |= 1 << (index % 64);
            (*h).inuse as usize == per_slab
        };
        self.relist(c, slab, if full { FULL } else { PARTIAL });
        self.caches[c].live += 1;
        self.event(Event::ObjectAlloc { cache: c, addr });
        // (Inside the slab: `index < per_slab`.)
        NonNull::new(self.buddy.ptr_in(addr)).ok_or(AllocError::OutOfMemory)
    }

    /// Frees object `index` of `slab` (validated by `find`).
    fn object_free(&mut self, c: usize, slab: usize, index: usize) {
        let h = self.hp(slab);
        let addr = self.object_addr(c, slab, index);
        // SAFETY: a listed slab's header (see `hp`), by place.
        self.set_link(addr, unsafe { (*h).free });
        // SAFETY: as above.
        let inuse = unsafe {
            (*h).free = index as u16;
            (*h).inuse -= 1;
            (*h).live[index / 64] &= !(1 << (index % 64));
            (*h).inuse
        };
        self.caches[c].live -= 1;
        self.event(Event::ObjectFree { cache: c, addr });
        self.relist(c, slab, if inuse == 0 { EMPTY } else { PARTIAL });
        if inuse == 0 && self.caches[c].counts[EMPTY] > self.keep_empty {
            self.release(c, slab);
        }
    }

    /// Returns the empty `slab` to the buddy allocator.
    fn release(&mut self, c: usize, slab: usize) {
        // SAFETY: a listed slab's header (see `hp`), read by place.
        debug_assert!(unsafe { (*self.hp(slab)).inuse == 0 && (*self.hp(slab)).list as usize == EMPTY }, "releasing slab {slab:#x} with objects in use");
        self.unlink(c, slab);
        let p = self.buddy.ptr_at(slab).expect("a slab outside the pages");
        let r = self.buddy.free_pages(p.as_ptr());
        debug_assert!(r.is_ok(), "the buddy allocator refused slab {slab:#x}: {r:?}");
        self.event(Event::SlabFree { cache: c, addr: slab, order: self.caches[c].order });
    }

    /// The figures.
    pub fn stats(&self) -> SlabStats {
        let mut s = SlabStats { caches: self.ncaches, large_blocks: self.large_blocks, large_pages: self.large_pages, buddy: self.buddy.stats(), ..SlabStats::default() };
        for k in &self.caches[..self.ncaches] {
            for l in 0..3 {
                s.slabs[l] += k.counts[l];
                s.slab_pages += k.counts[l] << k.order;
            }
            s.objects += k.live;
            s.object_bytes += k.live * k.stride;
        }
        s.utilization = if s.slab_pages == 0 { 0.0 } else { s.object_bytes as f64 / (s.slab_pages * PAGE) as f64 };
        s
    }

    /// The integrity walk: the buddy allocator's check; every slab on the
    /// list its objects in use say, tagged for its cache in the buddy
    /// allocator, its bitmap, count and free list agreeing; every slab
    /// block on a list; the counters. O(pages + objects).
    ///
    /// # Errors
    /// The first broken invariant.
    pub fn check(&self) -> Result<(), CheckError> {
        self.buddy.check()?;
        let err = |a: usize, what| Err(CheckError::new(a, what));
        let mut slabs_seen = 0;
        for (c, k) in self.caches[..self.ncaches].iter().enumerate() {
            let mut live = 0;
            for list in 0..3 {
                let (mut at, mut prev, mut n) = (k.heads[list], 0, 0);
                while at != 0 {
                    if n > self.buddy.pages() {
                        return err(at, "slab: a slab list loops");
                    }
                    match self.buddy.block_at(at) {
                        Some((p, order, Some(owner))) if p.as_ptr().addr() == at && order == k.order && owner as usize == c + 1 => {}
                        _ => return err(at, "slab: a listed slab is not a used buddy block of its cache and order"),
                    }
                    let h = self.header(at);
                    if h.cache as usize != c || h.list as usize != list || h.prev != prev {
                        return err(at, "slab: a slab header's cache, list or back link is wrong");
                    }
                    let inuse = h.live.iter().map(|w| w.count_ones() as usize).sum::<usize>();
                    if inuse != h.inuse as usize || self.list_for(c, inuse) != list {
                        return err(at, "slab: a slab's objects in use disagree with its bitmap or its list");
                    }
                    if h.live.iter().enumerate().any(|(w, &bits)| bits != 0 && w * 64 + (64 - bits.leading_zeros() as usize) > k.per_slab) {
                        return err(at, "slab: an object past the slab's end is marked in use");
                    }
                    let mut seen = [0u64; MAX_OBJECTS / 64];
                    let (mut i, mut free) = (h.free, 0);
                    while i != NONE {
                        let x = i as usize;
                        if x >= k.per_slab || seen[x / 64] >> (x % 64) & 1 != 0 || h.live[x / 64] >> (x % 64) & 1 != 0 {
                            return err(at, "slab: a slab's free list leaves the slab, loops or holds an object in use");
                        }
                        seen[x / 64] |= 1 << (x % 64);
                        free += 1;
                        i = self.link(self.object_addr(c, at, x));
                    }
                    if free + inuse != k.per_slab {
                        return err(at, "slab: a slab's free list misses free objects");
                    }
                    live += inuse;
                    n += 1;
                    prev = at;
                    at = h.next;
                }
                if n != k.counts[list] {
                    return err(0, "slab: a slab list's count is wrong");
                }
            }
            if live != k.live {
                return err(0, "slab: a cache's object count is wrong");
            }
            slabs_seen += k.counts.iter().sum::<usize>();
        }
        let (mut slab_blocks, mut large, mut large_pages) = (0, 0, 0);
        for (addr, order, free) in self.buddy.blocks() {
            match self.buddy.block_at(addr) {
                Some((_, _, Some(0))) => {
                    large += 1;
                    large_pages += 1 << order;
                }
                Some((_, _, Some(o))) if (o as usize) <= self.ncaches => slab_blocks += 1,
                Some((_, _, Some(o))) if o >= FOREIGN_OWNER => {}
                Some((_, _, None)) if free => {}
                _ => return err(addr, "slab: a buddy block carries an unknown owner"),
            }
        }
        if slab_blocks != slabs_seen {
            return err(0, "slab: a slab is on no list of its cache");
        }
        if large != self.large_blocks || large_pages != self.large_pages {
            return err(0, "slab: the kmalloc large-block counters are wrong");
        }
        Ok(())
    }
}

/// What an address given to a free is.
enum Found {
    /// Object `index` of the slab at `slab`, of cache `cache`, in use.
    Object { cache: usize, slab: usize, index: usize },
    /// The start of a used buddy block that is no slab (a large `kmalloc`).
    Large { order: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buddy::tests::{region, source, PageBuf};
    use crate::events::Recorder;
    use crate::pages::FixedRegion;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    fn kernel(mem: &mut [PageBuf]) -> Slab<FixedRegion, Recorder<256>> {
        let len = mem.len() * PAGE;
        Slab::with_observer(source(mem), len, Recorder::new())
    }

    #[test]
    fn objects_reads_which_objects_of_a_slab_are_in_use() {
        let mut mem = region(16);
        let mut k = kernel(&mut mem);
        let inode = k.cache_create("inode", 184, 8).unwrap();
        let a = k.cache_alloc(inode).unwrap().as_ptr().addr();
        let b = k.cache_alloc(inode).unwrap().as_ptr().addr();
        k.cache_free(inode, a as *mut u8).unwrap();
        let slab = a & !(PAGE - 1);
        let objects: Vec<(usize, bool)> = k.objects(slab).collect();
        assert_eq!(objects.len(), k.cache_info(inode).unwrap().objects_per_slab);
        assert_eq!(objects[0], (a, false));
        assert_eq!(objects[1], (b, true));
        assert_eq!(objects.iter().filter(|o| o.1).count(), 1);
        // Not the start of a slab: nothing.
        assert_eq!(k.objects(a).count(), 0);
        assert_eq!(k.objects(slab + PAGE).count(), 0);
    }

    #[test]
    fn a_cache_packs_its_objects_after_the_header_in_the_smallest_good_slab() {
        let mut mem = region(64);
        let mut k = kernel(&mut mem);
        let inode = k.cache_create("inode", 184, 8).unwrap();
        assert_eq!(inode, KMALLOC_CACHES);
        let info = k.cache_info(inode).unwrap();
        assert_eq!((info.name, info.size, info.stride, info.order), ("inode", 184, 184, 0));
        assert_eq!(info.objects_per_slab, (PAGE - HEADER.next_multiple_of(8)) / 184);
        // 4 KiB objects aligned to 4 KiB: the header costs a page, so the
        // slab grows until it wastes at most an eighth.
        let big = k.cache_info(Slab::<FixedRegion>::kmalloc_cache(4096).unwrap()).unwrap();
        assert_eq!((big.name, big.order, big.objects_per_slab), ("kmalloc-4096", 3, 7));
        assert_eq!(k.cache_create("odd", 3, 1).map(|c| k.cache_info(c).unwrap().stride), Ok(8));
        let long = k.cache_create("a name longer than twenty-four bytes", 16, 8).unwrap();
        assert_eq!(k.cache_info(long).unwrap().name, "a name longer than twent");
        assert_eq!(k.cache_create("x", 16, 3), Err(AllocError::InvalidAlign));
        assert_eq!(k.cache_create("x", 16, 2 * PAGE), Err(AllocError::InvalidAlign));
        assert_eq!(k.cache_create("x", 0, 8), Err(AllocError::InvalidSize));
        assert_eq!(k.cache_create("x", 32 * 1024, 8), Err(AllocError::InvalidSize));
        while k.caches() < MAX_CACHES {
            k.cache_create("filler", 64, 8).unwrap();
        }
        assert_eq!(k.cache_create("one too many", 64, 8), Err(AllocError::OutOfMemory));
        k.check().unwrap();
    }

    #[test]
    fn objects_come_from_partial_slabs_first_and_a_new_slab_only_when_none_has_room() {
        let mut mem = region(64);
        let mut k = kernel(&mut mem);
        let c = k.cache_create("obj", 1000, 8).unwrap();
        let per = k.cache_info(c).unwrap().objects_per_slab;
        assert_eq!(per, 4);
        let first = k.cache_alloc(c).unwrap();
        let ev = k.observer().events().to_vec();
        let slab = first.as_ptr().addr() - HEADER.next_multiple_of(8);
        assert!(ev.contains(&Event::SlabNew { cache: c, addr: slab, order: 0 }));
        assert_eq!(&ev[ev.len() - 2..], [Event::SlabMoved { cache: c, addr: slab, list: SlabList::Partial }, Event::ObjectAlloc { cache: c, addr: first.as_ptr().addr() }]);
        let mut objs = vec![first];
        for _ in 1..per {
            objs.push(k.cache_alloc(c).unwrap());
        }
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 0, 1]);
        // Objects follow each other in the slab.
        assert_eq!(objs[1].as_ptr().addr() - objs[0].as_ptr().addr(), 1000);
        let other = k.cache_alloc(c).unwrap();
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 1, 1]);
        assert_ne!(other.as_ptr().addr() & !(PAGE - 1), slab);
        k.cache_free(c, objs[2].as_ptr()).unwrap();
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 2, 0]);
        // The slab just made partial heads the list: its freed object is
        // the next one handed out.
        assert_eq!(k.cache_alloc(c).unwrap(), objs[2]);
        assert_eq!(k.slabs(c).collect::<Vec<_>>(), [(other.as_ptr().addr() & !(PAGE - 1), "partial", 1), (slab, "full", per)]);
        k.check().unwrap();
    }

    #[test]
    fn empty_slabs_go_back_to_the_buddy_allocator_past_the_threshold() {
        let mut mem = region(64);
        let mut k = kernel(&mut mem);
        let c = k.cache_create("obj", 2000, 8).unwrap();
        let per = k.cache_info(c).unwrap().objects_per_slab;
        let objs: Vec<_> = (0..3 * per).map(|_| k.cache_alloc(c).unwrap()).collect();
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 0, 3]);
        let used = k.buddy().stats().used_pages;
        for o in &objs {
            k.cache_free(c, o.as_ptr()).unwrap();
            k.check().unwrap();
        }
        // One empty slab kept, two returned.
        assert_eq!(k.cache_info(c).unwrap().slabs, [1, 0, 0]);
        assert_eq!(k.observer().events().iter().filter(|e| matches!(e, Event::SlabFree { .. })).count(), 2);
        assert_eq!(k.buddy().stats().used_pages, used - (2 << k.cache_info(c).unwrap().order));
        assert_eq!(k.cache_shrink(c), Ok(1));
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 0, 0]);
        assert_eq!(k.buddy().stats().used_pages, 0);
        assert_eq!(k.buddy().stats().free_blocks, {
            let mut fresh_mem = region(64);
            let mut fresh = kernel(&mut fresh_mem);
            fresh.buddy.init().unwrap();
            fresh.buddy().stats().free_blocks
        });
        k.set_keep_empty(0);
        let o = k.cache_alloc(c).unwrap();
        k.cache_free(c, o.as_ptr()).unwrap();
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 0, 0], "keep_empty 0 returns every empty slab");
        k.check().unwrap();
    }

    #[test]
    fn kmalloc_rounds_up_to_a_power_of_two_class_and_goes_to_the_buddy_allocator_above_4_kib() {
        let mut mem = region(128);
        let mut k = kernel(&mut mem);
        for (size, class) in [(1, 8), (8, 8), (9, 16), (24, 32), (64, 64), (100, 128), (2049, 4096), (4096, 4096)] {
            let p = k.kmalloc(size).unwrap();
            assert_eq!(k.ksize(p.as_ptr()), Ok(class), "kmalloc({size})");
            assert!(p.as_ptr().addr().is_multiple_of(class), "kmalloc({size}) not aligned to {class}");
            let c = Slab::<FixedRegion>::kmalloc_cache(size).unwrap();
            assert_eq!(k.cache_info(c).unwrap().live, 1);
            k.kfree(p.as_ptr()).unwrap();
        }
        let big = k.kmalloc(4097).unwrap();
        assert_eq!(k.ksize(big.as_ptr()), Ok(2 * PAGE));
        assert_eq!(k.buddy().order_of(big.as_ptr()), Ok(1));
        assert_eq!((k.stats().large_blocks, k.stats().large_pages), (1, 2));
        assert_eq!(k.kfree(big.as_ptr().wrapping_add(PAGE)), Err(AllocError::InteriorPointer));
        k.kfree(big.as_ptr()).unwrap();
        assert_eq!(k.kfree(big.as_ptr()), Err(AllocError::DoubleFree));
        assert_eq!(k.stats().large_blocks, 0);
        let pages = k.alloc_pages(2).unwrap();
        assert_eq!(k.buddy().owner_of(pages.as_ptr().addr()), Some(0));
        assert_eq!(k.ksize(pages.as_ptr()), Ok(4 * PAGE));
        k.check().unwrap();
        k.kfree(pages.as_ptr()).unwrap();
        assert_eq!(k.kmalloc(0), Err(AllocError::InvalidSize));
        assert_eq!(k.kmalloc(usize::MAX), Err(AllocError::InvalidSize));
        assert_eq!(k.kmalloc(1 << 30), Err(AllocError::InvalidSize), "above the largest order");
        k.check().unwrap();
    }

    #[test]
    fn bad_frees_are_errors_that_change_nothing() {
        let mut mem = region(64);
        let mut k = kernel(&mut mem);
        let a = k.cache_create("a", 48, 16).unwrap();
        let b = k.cache_create("b", 48, 16).unwrap();
        let x = k.cache_alloc(a).unwrap();
        let y = k.cache_alloc(a).unwrap();
        let z = k.cache_alloc(b).unwrap();
        k.cache_free(a, y.as_ptr()).unwrap();
        let before = k.stats();
        let slab = x.as_ptr().addr() & !(PAGE - 1);
        let at = |addr: usize| x.as_ptr().with_addr(addr);
        assert_eq!(k.cache_free(a, y.as_ptr()), Err(AllocError::DoubleFree));
        assert_eq!(k.kfree(y.as_ptr()), Err(AllocError::DoubleFree));
        assert_eq!(k.cache_free(a, x.as_ptr().wrapping_add(8)), Err(AllocError::InteriorPointer));
        assert_eq!(k.cache_free(b, x.as_ptr()), Err(AllocError::NotAllocated), "an object of another cache");
        assert_eq!(k.cache_free(a, at(slab)), Err(AllocError::NotAllocated), "the slab header");
        assert_eq!(k.cache_free(a, at(slab + PAGE - 8)), Err(AllocError::NotAllocated), "the slab's tail");
        assert_eq!(k.cache_free(a, at(k.buddy().base() + 60 * PAGE - 64)), Err(AllocError::DoubleFree), "free pages");
        assert_eq!(k.cache_free(a, at(k.buddy().base() - PAGE)), Err(AllocError::NotAllocated), "metadata");
        assert_eq!(k.cache_free(99, x.as_ptr()), Err(AllocError::NotAllocated));
        assert_eq!(k.cache_alloc(99), Err(AllocError::NotAllocated));
        assert_eq!(k.cache_shrink(99), Err(AllocError::NotAllocated));
        assert_eq!(k.stats(), before);
        assert_eq!(k.observer().events().last(), Some(&Event::Error { code: "invalid-free" }));
        k.check().unwrap();
        k.cache_free(b, z.as_ptr()).unwrap();
        k.kfree(x.as_ptr()).unwrap();
        k.check().unwrap();
    }

    #[test]
    fn out_of_memory_leaves_the_caches_as_they_were() {
        let mut mem = region(10);
        let mut k = kernel(&mut mem);
        let c = Slab::<FixedRegion>::kmalloc_cache(4096).unwrap();
        // 10 pages: the metadata at page 0, free blocks of 1, 2, 4 and 2
        // pages; no slab of 8.
        assert_eq!(k.kmalloc(4096), Err(AllocError::OutOfMemory));
        assert_eq!(k.cache_info(c).unwrap().slabs, [0, 0, 0]);
        let p = k.kmalloc(2048).unwrap();
        k.kfree(p.as_ptr()).unwrap();
        k.check().unwrap();
    }

    #[test]
    fn check_finds_a_slab_header_that_disagrees() {
        let mut mem = region(16);
        let mut k = kernel(&mut mem);
        let c = k.cache_create("obj", 64, 8).unwrap();
        let o = k.cache_alloc(c).unwrap();
        let slab = o.as_ptr().addr() & !(PAGE - 1);
        let mut h = k.header(slab);
        h.inuse += 1;
        k.set_header(slab, &h);
        assert!(k.check().unwrap_err().what.contains("objects in use"));
        h.inuse -= 1;
        h.free = NONE;
        k.set_header(slab, &h);
        assert!(k.check().unwrap_err().what.contains("free list misses"));
    }

    /// One step of the property test.
    #[derive(Clone, Debug)]
    enum Op {
        Create(usize, usize),
        Alloc(usize),
        Kmalloc(usize),
        Free(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => (1usize..3000, 0usize..7).prop_map(|(s, a)| Op::Create(s, 1 << a)),
            4 => any::<usize>().prop_map(Op::Alloc),
            4 => prop_oneof![1usize..600, 1usize..9000].prop_map(Op::Kmalloc),
            6 => any::<usize>().prop_map(Op::Free),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 3 } else { 256 }, ..ProptestConfig::default() })]

        /// Against a shadow model (the live objects with a tag at each
        /// end): objects aligned, inside the pages, never overlapping,
        /// contents kept; the check holds after every step; after freeing
        /// everything and shrinking, every slab is back and every buddy pair
        /// merged (the buddy allocator's free blocks are the ones it started
        /// with).
        #[test]
        fn slab_matches_a_shadow_model(keep in 0usize..3, ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 24 } else { 400 })) {
            let pages = if cfg!(miri) { 40 } else { 200 };
            let mut mem = region(pages);
            let mut k = kernel(&mut mem);
            k.set_keep_empty(keep);
            k.buddy.init().unwrap();
            let start = k.buddy().stats();
            let mut user: Vec<usize> = Vec::new();
            // (address, bytes, tag, cache or None for kmalloc)
            let mut live: Vec<(usize, usize, u8, Option<usize>)> = Vec::new();
            let mut tag = 0u8;
            for op in ops {
                let got = match op {
                    Op::Create(size, align) => {
                        if let Ok(c) = k.cache_create("p", size, align) {
                            user.push(c);
                        }
                        None
                    }
                    Op::Alloc(i) if !user.is_empty() => {
                        let c = user[i % user.len()];
                        let (size, align) = k.cache_info(c).map(|i| (i.size, i.align)).unwrap();
                        Some((k.cache_alloc(c), size, align, Some(c)))
                    }
                    Op::Alloc(_) => None,
                    Op::Kmalloc(n) => {
                        let align = if n <= KMALLOC_MAX { n.next_power_of_two().max(8) } else { PAGE };
                        Some((k.kmalloc(n), n, align, None))
                    }
                    Op::Free(i) => {
                        if !live.is_empty() {
                            let (a, n, t, c) = live.swap_remove(i % live.len());
                            let p = mem.as_mut_ptr().cast::<u8>().with_addr(a);
                            // SAFETY: a live object of ours, `n` bytes.
                            unsafe {
                                prop_assert_eq!(p.read(), t);
                                prop_assert_eq!(p.add(n - 1).read(), t);
                            }
                            match c {
                                Some(c) => prop_assert_eq!(k.cache_free(c, p), Ok(())),
                                None => prop_assert_eq!(k.kfree(p), Ok(())),
                            }
                            prop_assert_eq!(k.kfree(p), Err(AllocError::DoubleFree));
                        }
                        None
                    }
                };
                if let Some((r, n, align, c)) = got {
                    match r {
                        Ok(p) => {
                            let a = p.as_ptr().addr();
                            prop_assert!(a.is_multiple_of(align), "{:#x} not aligned to {}", a, align);
                            prop_assert!(a >= k.buddy().base() && a + n <= k.buddy().base() + k.buddy().pages() * PAGE);
                            prop_assert!(live.iter().all(|&(o, m, _, _)| a + n <= o || o + m <= a), "overlap");
                            prop_assert!(k.ksize(p.as_ptr()).unwrap() >= n);
                            tag = tag.wrapping_add(1);
                            // SAFETY: the object is ours, at least `n` bytes.
                            unsafe {
                                p.as_ptr().write(tag);
                                p.as_ptr().add(n - 1).write(tag);
                            }
                            live.push((a, n, tag, c));
                        }
                        Err(AllocError::OutOfMemory) => {}
                        Err(e) => prop_assert!(false, "unexpected {:?}", e),
                    }
                }
                prop_assert_eq!(k.check(), Ok(()));
                prop_assert_eq!(k.stats().objects + k.stats().large_blocks, live.len());
            }
            for (a, n, t, c) in live.drain(..) {
                let p = mem.as_mut_ptr().cast::<u8>().with_addr(a);
                // SAFETY: a live object of ours.
                prop_assert_eq!(unsafe { p.add(n - 1).read() }, t);
                match c {
                    Some(c) => prop_assert_eq!(k.cache_free(c, p), Ok(())),
                    None => prop_assert_eq!(k.kfree(p), Ok(())),
                }
            }
            for c in 0..k.caches() {
                k.cache_shrink(c).unwrap();
            }
            prop_assert_eq!(k.check(), Ok(()));
            let s = k.stats();
            prop_assert_eq!((s.slabs, s.slab_pages, s.objects), ([0, 0, 0], 0, 0));
            prop_assert_eq!(s.buddy.free_blocks, start.free_blocks);
            prop_assert_eq!(s.buddy.used_pages, 0);
        }
    }
}
