//! The whole machine: one [buddy](crate::buddy) page allocator under a
//! kernel heap (the [slab](crate::slab) allocator: caches and `kmalloc`)
//! and *application heaps*, each a [`Heap`] with a policy of its own, all
//! taking their pages from the same buddy allocator.
//!
//! ```text
//! buddy pages:  [ kernel slab ][ app1: order 3 ][ free order 3 ][ app2: order 4        ][ free ... ]
//!                 kmalloc-64      first fit                        best fit
//! ```
//!
//! * The kernel heap owns the buddy allocator; the machine shares the
//!   kernel heap through a [`Kernel`] handle (`&RefCell<Slab>` or
//!   `Rc<RefCell<Slab>>`), so every application heap can reach it.
//! * An application heap's [`PageSource`] is a [`BuddyPages`]: each growth
//!   asks the buddy allocator for the smallest block of 2^k pages that holds
//!   it, tagged with the heap's owner tag ([`FOREIGN_OWNER`] + its index),
//!   and remembers the block (a *run*).
//! * A heap cannot give pages back while it lives (its segments are its
//!   memory). So when an application heap frees its last block, the machine
//!   drops the heap and starts an empty one with the same policy: dropping
//!   its `BuddyPages` returns every run to the buddy allocator, which merges
//!   each with its free buddies (the events go to the kernel's observer).
//!
//! Invariants (checked by [`Machine::check`]): the kernel heap and every
//! application heap pass their own walks; every buddy block tagged for an
//! application heap is a run of that heap's source and every run is such a
//! block; every segment of a heap lies inside one of its runs, so no two
//! heaps share a page.

use core::cell::RefCell;
use core::ops::Deref;
use core::ptr::{self, NonNull};

use crate::buddy::{order_for, META_OWNER};
use crate::errors::{AllocError, CheckError};
use crate::events::Observer;
use crate::heap::{Config, Heap};
use crate::pages::{PageSource, PAGE};
use crate::policy::AnyPolicy;
use crate::slab::{Slab, FOREIGN_OWNER};

/// Application heaps a machine holds at most.
pub const MAX_HEAPS: usize = 8;
/// Buddy blocks one application heap holds at most (a heap records at most
/// 64 segments; each run is one).
pub const MAX_RUNS: usize = 32;
/// Bytes of a heap name kept.
pub const NAME_MAX: usize = 16;

/// A handle on the kernel heap the machine's heaps share: anything that
/// derefs to a `RefCell<Slab>` (`&RefCell<Slab>`, `Rc<RefCell<Slab>>`).
pub trait Kernel: Clone {
    /// Where the buddy allocator's memory comes from.
    type Source: PageSource;
    /// What the kernel heap (and the buddy allocator) report to.
    type Observer: Observer;
    /// The shared kernel heap.
    fn cell(&self) -> &RefCell<Slab<Self::Source, Self::Observer>>;
}

impl<T, S, O> Kernel for T
where
    T: Deref<Target = RefCell<Slab<S, O>>> + Clone,
    S: PageSource,
    O: Observer,
{
    type Source = S;
    type Observer = O;
    fn cell(&self) -> &RefCell<Slab<S, O>> {
        self
    }
}

/// The owner tag of application heap `index` in the buddy allocator.
pub const fn heap_owner(index: usize) -> u16 {
    FOREIGN_OWNER + index as u16
}

/// A page source over buddy blocks: each growth takes the smallest block of
/// 2^k pages that holds it, tagged with `owner`. Dropped (with the heap that
/// owns it), it gives every block back.
#[derive(Debug)]
pub struct BuddyPages<K: Kernel> {
    kernel: K,
    owner: u16,
    /// The blocks taken, `runs[..n]`, in the order taken (null after).
    runs: [*mut u8; MAX_RUNS],
    orders: [u8; MAX_RUNS],
    n: usize,
}

impl<K: Kernel> BuddyPages<K> {
    /// A source that takes blocks tagged `owner` (at least
    /// [`FOREIGN_OWNER`], so that the kernel heap leaves them alone).
    ///
    /// # Panics
    /// If `owner` is below [`FOREIGN_OWNER`].
    pub fn new(kernel: K, owner: u16) -> Self {
        assert!(owner >= FOREIGN_OWNER, "a BuddyPages owner tag below FOREIGN_OWNER would read as a slab cache");
        BuddyPages { kernel, owner, runs: [ptr::null_mut(); MAX_RUNS], orders: [0; MAX_RUNS], n: 0 }
    }

    /// The owner tag of its blocks.
    pub fn owner(&self) -> u16 {
        self.owner
    }

    /// The blocks taken, in order: (address, order).
    pub fn runs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.runs[..self.n].iter().zip(&self.orders).map(|(p, &k)| (p.addr(), k as usize))
    }

    /// Pages in the blocks taken.
    pub fn pages(&self) -> usize {
        self.runs().map(|(_, k)| 1 << k).sum()
    }
}

// SAFETY: each run is a used block of the buddy allocator, taken here and
// given back only when the source is dropped, which is after the heap built
// on it is gone (the heap owns its source). The buddy allocator's memory is
// valid, initialized and page aligned (its own source's contract), and it
// hands a block to no one else while it is used; a block is 2^k whole
// pages, at least `min_bytes`.
unsafe impl<K: Kernel> PageSource for BuddyPages<K> {
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        if self.n == MAX_RUNS {
            return None;
        }
        let order = order_for(min_bytes.max(1))?;
        let mut kernel = self.kernel.cell().try_borrow_mut().ok()?;
        let p = kernel.buddy_mut().alloc_block(order, PAGE << order, self.owner).ok()?;
        self.runs[self.n] = p.as_ptr();
        self.orders[self.n] = order as u8;
        self.n += 1;
        Some((p, PAGE << order))
    }

    /// Buddy blocks lie wherever the buddy allocator finds them.
    fn grows_contiguously(&self) -> bool {
        false
    }
}

impl<K: Kernel> Drop for BuddyPages<K> {
    /// Gives every block back to the buddy allocator (which merges each
    /// with its free buddies). A kernel heap borrowed at this moment keeps
    /// them (the machine never drops a source while it borrows the kernel).
    fn drop(&mut self) {
        let Ok(mut kernel) = self.kernel.cell().try_borrow_mut() else {
            debug_assert!(false, "BuddyPages dropped while the kernel heap is borrowed: its blocks stay used");
            return;
        };
        for &p in &self.runs[..self.n] {
            let r = kernel.buddy_mut().free_pages(p);
            debug_assert!(r.is_ok(), "the buddy allocator refused a run at {:#x}: {r:?}", p.addr());
        }
        self.n = 0;
    }
}

/// An application heap of a machine.
pub type AppHeap<K, O> = Heap<BuddyPages<K>, AnyPolicy, O>;

/// One application heap with its name and live-block count.
struct App<K: Kernel, O: Observer> {
    name: [u8; NAME_MAX],
    name_len: usize,
    config: Config,
    heap: AppHeap<K, O>,
    /// Blocks allocated and not freed.
    live: usize,
}

/// Who holds a buddy block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// No one: a free buddy block.
    Free,
    /// The buddy allocator itself: the pages of its metadata.
    Buddy,
    /// The kernel heap: a slab of cache `Some(c)`, or a large `kmalloc`
    /// block (`None`).
    Kernel(Option<usize>),
    /// Application heap `index`.
    Heap(usize),
}

/// Why [`Machine::add_heap`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty, longer than [`NAME_MAX`], not letters, digits, `-` or `_`,
    /// or "kernel" (the kernel heap's name).
    Invalid,
    /// Another heap has the name.
    Taken,
    /// [`MAX_HEAPS`] heaps exist.
    Full,
}

/// The kernel heap and the application heaps over one buddy allocator.
///
/// ```
/// use core::cell::RefCell;
/// use heaplab::heap::Config;
/// use heaplab::machine::{Machine, Owner};
/// use heaplab::pages::FixedRegion;
/// use heaplab::policy::PolicyKind;
/// use heaplab::slab::Slab;
///
/// #[repr(align(4096))]
/// struct Region([u8; 1 << 20]);
/// let mut region = Box::new(Region([0; 1 << 20]));
/// // SAFETY: the region outlives the machine and nothing else uses it.
/// let src = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
/// let kernel = RefCell::new(Slab::new(src, 1 << 20));
/// let mut m: Machine<&RefCell<_>> = Machine::new(&kernel);
/// let app = m.add_heap("app1", Config { policy: PolicyKind::BestFit, ..Config::DEFAULT }).unwrap();
/// let k = kernel.borrow_mut().kmalloc(64).unwrap();
/// let p = m.malloc(app, 24).unwrap();
/// assert_eq!(m.owner_of(p.as_ptr() as usize), Owner::Heap(app));
/// assert!(m.heap_pages(app) > 0);
/// assert!(m.free(app, p.as_ptr()).unwrap() > 0, "the last block: the pages go back");
/// assert_eq!(m.heap_pages(app), 0);
/// kernel.borrow_mut().kfree(k.as_ptr()).unwrap();
/// m.check().unwrap();
/// ```
pub struct Machine<K: Kernel, O: Observer + Default = crate::events::NoObserver> {
    kernel: K,
    apps: [Option<App<K, O>>; MAX_HEAPS],
}

impl<K: Kernel, O: Observer + Default> Machine<K, O> {
    /// A machine with the kernel heap `kernel` and no application heap.
    pub fn new(kernel: K) -> Self {
        Machine { kernel, apps: core::array::from_fn(|_| None) }
    }

    /// The kernel heap's handle.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// Adds an application heap named `name` with `config` (its policy
    /// among them); its index. It takes no page before its first `malloc`.
    ///
    /// # Errors
    /// As [`NameError`] says.
    pub fn add_heap(&mut self, name: &str, config: Config) -> Result<usize, NameError> {
        let valid = !name.is_empty() && name.len() <= NAME_MAX && name != "kernel" && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(NameError::Invalid);
        }
        if self.heap_index(name).is_some() {
            return Err(NameError::Taken);
        }
        let index = self.apps.iter().position(Option::is_none).ok_or(NameError::Full)?;
        let mut bytes = [0; NAME_MAX];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        let heap = Heap::with_observer(BuddyPages::new(self.kernel.clone(), heap_owner(index)), config, O::default());
        self.apps[index] = Some(App { name: bytes, name_len: name.len(), config, heap, live: 0 });
        Ok(index)
    }

    /// The index of the application heap named `name`.
    pub fn heap_index(&self, name: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.as_ref().is_some_and(|a| &a.name[..a.name_len] == name.as_bytes()))
    }

    /// The name of application heap `index`.
    pub fn heap_name(&self, index: usize) -> Option<&str> {
        let a = self.app(index)?;
        core::str::from_utf8(&a.name[..a.name_len]).ok()
    }

    /// The indices of the application heaps, in order.
    pub fn heap_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_HEAPS).filter(|&i| self.apps[i].is_some())
    }

    fn app(&self, index: usize) -> Option<&App<K, O>> {
        self.apps.get(index)?.as_ref()
    }

    /// Application heap `index`.
    pub fn heap(&self, index: usize) -> Option<&AppHeap<K, O>> {
        self.app(index).map(|a| &a.heap)
    }

    /// Application heap `index`, mutable (to clear its observer).
    pub fn heap_mut(&mut self, index: usize) -> Option<&mut AppHeap<K, O>> {
        self.apps.get_mut(index)?.as_mut().map(|a| &mut a.heap)
    }

    /// Blocks allocated and not freed in application heap `index`.
    pub fn live_blocks(&self, index: usize) -> usize {
        self.app(index).map_or(0, |a| a.live)
    }

    /// Pages application heap `index` holds (in buddy blocks).
    pub fn heap_pages(&self, index: usize) -> usize {
        self.heap(index).map_or(0, |h| h.source().pages())
    }

    /// `malloc(size)` in application heap `index`; its buddy blocks grow
    /// as it needs.
    ///
    /// # Errors
    /// [`AllocError::NotAllocated`] for no such heap, else as [`Heap::malloc`]
    /// (`OutOfMemory` when the buddy allocator has no block large enough).
    pub fn malloc(&mut self, index: usize, size: usize) -> Result<NonNull<u8>, AllocError> {
        let a = self.apps.get_mut(index).and_then(Option::as_mut).ok_or(AllocError::NotAllocated)?;
        let p = a.heap.malloc(size)?;
        a.live += 1;
        Ok(p)
    }

    /// `free(ptr)` in application heap `index`: the pages it gives back to
    /// the buddy allocator (all of them when it was the heap's last block,
    /// else 0).
    ///
    /// # Errors
    /// [`AllocError::NotAllocated`] for no such heap, else as [`Heap::free`]
    /// (a block of another heap is `NotAllocated` here). An error changes
    /// nothing.
    pub fn free(&mut self, index: usize, ptr: *mut u8) -> Result<usize, AllocError> {
        let a = self.apps.get_mut(index).and_then(Option::as_mut).ok_or(AllocError::NotAllocated)?;
        a.heap.free(ptr)?;
        a.live -= 1;
        if a.live > 0 {
            return Ok(0);
        }
        let pages = a.heap.source().pages();
        // An empty heap starts again with no pages; the old one keeps its
        // observer's record (moved to the new heap) and gives its blocks
        // back as it drops.
        let mut fresh = Heap::with_observer(BuddyPages::new(self.kernel.clone(), heap_owner(index)), a.config, O::default());
        core::mem::swap(fresh.observer_mut(), a.heap.observer_mut());
        drop(core::mem::replace(&mut a.heap, fresh));
        Ok(pages)
    }

    /// Who holds the buddy block holding `addr` (`Free` outside the pages,
    /// or in a free block).
    pub fn owner_of(&self, addr: usize) -> Owner {
        let kernel = self.kernel.cell().borrow();
        let Some((_, _, tag)) = kernel.buddy().block_at(addr) else { return Owner::Free };
        owner_from_tag(tag)
    }

    /// Every buddy block in address order: (address, order, owner).
    pub fn blocks(&self, mut f: impl FnMut(usize, usize, Owner)) {
        let kernel = self.kernel.cell().borrow();
        let buddy = kernel.buddy();
        for (addr, order, free) in buddy.blocks() {
            let owner = if free { Owner::Free } else { owner_from_tag(buddy.block_at(addr).and_then(|b| b.2)) };
            f(addr, order, owner);
        }
    }

    /// The integrity walk (see the module docs). O(pages + blocks).
    ///
    /// # Errors
    /// The first broken invariant.
    pub fn check(&self) -> Result<(), CheckError> {
        let kernel = self.kernel.cell().try_borrow().map_err(|_| CheckError::new(0, "machine: the kernel heap is borrowed"))?;
        kernel.check()?;
        let buddy = kernel.buddy();
        for (i, a) in self.apps.iter().enumerate() {
            let Some(a) = a else { continue };
            a.heap.check()?;
            let src = a.heap.source();
            for (addr, order) in src.runs() {
                match buddy.block_at(addr) {
                    Some((p, k, Some(tag))) if p.as_ptr().addr() == addr && k == order && tag == heap_owner(i) => {}
                    _ => return Err(CheckError::new(addr, "machine: a heap's run is not a used buddy block of its order and owner")),
                }
            }
            // A segment may span runs that happen to lie side by side
            // (the heap extends a segment with memory that continues it).
            for (base, bytes) in a.heap.segments() {
                let mut at = base;
                while at < base + bytes {
                    match src.runs().find(|&(r, k)| r <= at && at < r + (PAGE << k)) {
                        Some((r, k)) => at = r + (PAGE << k),
                        None => return Err(CheckError::new(at, "machine: a heap's segment lies outside its buddy blocks")),
                    }
                }
            }
        }
        for (addr, _, free) in buddy.blocks() {
            if free {
                continue;
            }
            if let Owner::Heap(i) = owner_from_tag(buddy.block_at(addr).and_then(|b| b.2)) {
                if !self.heap(i).is_some_and(|h| h.source().runs().any(|(r, _)| r == addr)) {
                    return Err(CheckError::new(addr, "machine: a buddy block tagged for a heap is none of its runs"));
                }
            }
        }
        Ok(())
    }
}

/// The owner a used block's tag names (`None`: a free block).
fn owner_from_tag(tag: Option<u16>) -> Owner {
    match tag {
        None => Owner::Free,
        Some(META_OWNER) => Owner::Buddy,
        Some(0) => Owner::Kernel(None),
        Some(t) if t >= FOREIGN_OWNER => Owner::Heap((t - FOREIGN_OWNER) as usize),
        Some(t) => Owner::Kernel(Some(t as usize - 1)),
    }
}
