//! The wilderness: the free block that ends a region, kept apart from the
//! rest of a policy's index and used only when no other free block holds a
//! request.
//!
//! ```text
//!  region:  [used][free 96][used][used][free 4000 ............][epilogue]
//!                  ^ indexed                ^ the wilderness: taken last
//! ```
//!
//! The block at the end of a region is the one that can grow: the next
//! growth of memory extends it. Cutting requests from it while a hole in
//! the middle would do pushes the heap's end out and leaves the hole
//! unused. Korn and Vo called keeping it for last *wilderness preservation*
//! ("In Search of a Better Malloc", 1985); Doug Lea's malloc keeps it as
//! its *top* chunk, outside every bin (Wilson, Johnstone, Neely and Boles,
//! "Dynamic Storage Allocation: A Survey and Critical Review", 1995, §3.5).
//! On the malloc-lab traces it raised best fit's utilization from 87.88 to
//! 88.12 % (dlmalloc: 88.15 %): three traces that free a large share of the
//! heap and then allocate again (cccp, cp-decl, expr) went from 98.5 to
//! 99.3-99.6 %.
//!
//! Best fit and segregated fit keep one wilderness: the engine files a
//! free block that ends a region with [`FreeIndex::insert_tail`] and
//! [`FreeIndex::replace_by_tail`]; when two regions end in free blocks, the
//! one at the higher address (the newer memory, which grows) is kept apart
//! and the other is indexed as usual. The wilderness is listed after every
//! other free block (its own list, [`Wilderness::LIST_MIN`]).
//!
//! [`FreeIndex::insert_tail`]: super::FreeIndex::insert_tail
//! [`FreeIndex::replace_by_tail`]: super::FreeIndex::replace_by_tail

use super::FreeList;
#[cfg(not(feature = "small"))]
use crate::block::fits;
use crate::block::{Block, Fit, Request};
#[cfg(not(feature = "small"))]
use crate::events::Event;
use crate::events::Observer;

/// A policy's wilderness: at most one free block with its size. (The
/// size build, feature `small`, files no block here: the engine there has
/// no [`FreeIndex::insert_tail`](super::FreeIndex::insert_tail) calls, and
/// this type is empty, so that none of its code is linked in.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wilderness {
    #[cfg(not(feature = "small"))]
    block: Option<Block>,
    #[cfg(not(feature = "small"))]
    size: usize,
}

#[cfg(feature = "small")]
impl Wilderness {
    /// No wilderness.
    pub const EMPTY: Wilderness = Wilderness {};
    /// [`Wilderness::LIST_MIN`] of the speed build.
    pub const LIST_MIN: usize = 0;
    /// Always 0.
    #[inline(always)]
    pub fn len(&self) -> usize {
        0
    }
    /// Always true.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        true
    }
    /// Always false.
    #[inline(always)]
    pub fn is(&self, b: Block) -> bool {
        let _ = b;
        false
    }
    /// Nothing to forget.
    #[inline(always)]
    pub fn clear(&mut self) {}
    /// Keeps nothing: `b` is indexed as usual.
    #[inline(always)]
    pub fn file(&mut self, b: Block, size: usize) -> Option<(Block, usize)> {
        Some((b, size))
    }
    /// Never keeps a block.
    #[inline(always)]
    pub fn would_keep(&self, new: Block) -> bool {
        let _ = new;
        false
    }
    /// Unreachable in the size build (`would_keep` is false).
    #[inline(always)]
    pub fn replace(&mut self, new: Block, size: usize) {
        let _ = (new, size);
    }
    /// Never a block.
    #[inline(always)]
    pub fn take(&mut self, need: usize) -> Option<(Block, usize)> {
        let _ = need;
        None
    }
    /// Never a fit.
    #[inline(always)]
    pub fn fit<O: Observer>(&self, req: &Request, obs: &mut O, examined: &mut usize) -> Option<Fit> {
        let _ = (req, obs, examined);
        None
    }
    /// Nothing to report.
    pub fn for_each<F: FnMut(FreeList, Block)>(&self, lists: usize, f: F) {
        let _ = (lists, f);
    }
    /// Nothing to check.
    ///
    /// # Safety
    /// None needed; `unsafe` as in the speed build.
    pub unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), crate::errors::CheckError> {
        let _ = ok;
        Ok(())
    }
}

#[cfg(not(feature = "small"))]
impl Wilderness {
    /// No wilderness.
    pub const EMPTY: Wilderness = Wilderness { block: None, size: 0 };

    /// The `min` (and `max`) of the list the wilderness is reported in by
    /// `for_each_free`: a size no other list has (0, as a policy's one list
    /// has, but with `max` 0 too).
    pub const LIST_MIN: usize = 0;

    /// 1 if there is a wilderness, else 0.
    #[inline(always)]
    pub fn len(&self) -> usize {
        usize::from(self.block.is_some())
    }

    /// Whether there is no wilderness.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.block.is_none()
    }

    /// Whether `b` is the wilderness.
    #[inline(always)]
    pub fn is(&self, b: Block) -> bool {
        self.block == Some(b)
    }

    /// Forgets the wilderness (it was taken or merged).
    #[inline(always)]
    pub fn clear(&mut self) {
        self.block = None;
    }

    /// Keeps free block `b` of `size` bytes, which ends its region, as the
    /// wilderness, unless one at a higher address is kept already. Returns
    /// the block the caller must index as an ordinary one (the one kept
    /// before, or `b` itself), if any.
    #[inline(always)]
    #[must_use]
    pub fn file(&mut self, b: Block, size: usize) -> Option<(Block, usize)> {
        match self.block {
            Some(w) if w.addr() > b.addr() => Some((b, size)),
            old => {
                let displaced = old.map(|w| (w, self.size));
                *self = Wilderness { block: Some(b), size };
                displaced
            }
        }
    }

    /// Whether free block `new` would be kept by
    /// [`Wilderness::file`] (no wilderness at a higher address).
    #[inline(always)]
    pub fn would_keep(&self, new: Block) -> bool {
        self.block.is_none_or(|w| w.addr() <= new.addr())
    }

    /// The wilderness replaced by free block `new` of `size` bytes (the
    /// same block resized, or what is left of it after a split).
    #[inline(always)]
    pub fn replace(&mut self, new: Block, size: usize) {
        *self = Wilderness { block: Some(new), size };
    }

    /// Takes the wilderness when it holds `need` bytes (no alignment
    /// beyond the granule): the engine's fast path, after the index's.
    #[inline(always)]
    pub fn take(&mut self, need: usize) -> Option<(Block, usize)> {
        match self.block {
            Some(b) if self.size >= need => {
                self.block = None;
                Some((b, self.size))
            }
            _ => None,
        }
    }

    /// The wilderness as the last resort of a search that found nothing
    /// else: its fit for `req`, if it has one, with the events of a visit.
    #[inline]
    pub fn fit<O: Observer>(&self, req: &Request, obs: &mut O, examined: &mut usize) -> Option<Fit> {
        let b = self.block?;
        *examined += 1;
        if O::ENABLED {
            obs.event(Event::Visit { block: b.addr(), size: self.size });
        }
        match fits(b, self.size, req) {
            Ok(fit) => {
                if O::ENABLED {
                    obs.event(Event::Choose { block: b.addr(), size: self.size });
                }
                Some(fit)
            }
            Err(reason) => {
                if O::ENABLED {
                    obs.event(Event::Reject { block: b.addr(), size: self.size, reason });
                }
                None
            }
        }
    }

    /// Reports the wilderness, after `lists` other non-empty lists, as a
    /// list of its own.
    pub fn for_each<F: FnMut(FreeList, Block)>(&self, lists: usize, mut f: F) {
        if let Some(b) = self.block {
            f(FreeList { index: lists, min: Self::LIST_MIN, max: Self::LIST_MIN }, b);
        }
    }

    /// Whether the wilderness (if any) is readable and of the size kept.
    ///
    /// # Safety
    /// `ok` accepts only blocks whose header may be read.
    pub unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), crate::errors::CheckError> {
        if let Some(b) = self.block {
            // SAFETY: `ok(b)` says the header is readable (caller).
            if !ok(b) || unsafe { b.size() } != self.size || unsafe { b.is_used() } {
                return Err(crate::errors::CheckError::new(b.addr(), "the wilderness is not a free block of its size"));
            }
        }
        Ok(())
    }
}

/// An index that keeps a [`Wilderness`] beside its own blocks: its plain
/// operations (on blocks other than the wilderness), from which the
/// functions below make the [`FreeIndex`](super::FreeIndex) operations
/// that know the wilderness, written once for every such index.
pub(super) trait Beside {
    /// Whether this index keeps a wilderness now (best fit over a list
    /// does, the list's other fits do not).
    fn keeps(&self) -> bool {
        true
    }
    /// The wilderness.
    fn wild(&mut self) -> &mut Wilderness;
    /// Files `b` (`size` bytes, header written) among the index's blocks.
    ///
    /// # Safety
    /// As [`FreeIndex::insert_sized`](super::FreeIndex::insert_sized).
    unsafe fn plain_insert(&mut self, b: Block, size: usize);
    /// Removes `b`, one of the index's blocks, header unchanged.
    ///
    /// # Safety
    /// As [`FreeIndex::remove`](super::FreeIndex::remove).
    unsafe fn plain_remove(&mut self, b: Block);
    /// [`FreeIndex::try_replace`](super::FreeIndex::try_replace) for `old`,
    /// one of the index's blocks.
    ///
    /// # Safety
    /// As [`FreeIndex::try_replace`](super::FreeIndex::try_replace).
    unsafe fn plain_replace(&mut self, old: Block, new: Block, new_size: usize) -> bool;
}

/// [`FreeIndex::insert_tail`](super::FreeIndex::insert_tail) of a
/// [`Beside`] index.
///
/// # Safety
/// As [`FreeIndex::insert_sized`](super::FreeIndex::insert_sized).
#[inline(always)]
pub(super) unsafe fn insert_tail<T: Beside>(t: &mut T, b: Block, size: usize) {
    let plain = if t.keeps() { t.wild().file(b, size) } else { Some((b, size)) };
    if let Some((b, size)) = plain {
        // SAFETY: forwarded to the caller (a block the wilderness gives back
        // has its header as filed).
        unsafe { t.plain_insert(b, size) }
    }
}

/// [`FreeIndex::remove`](super::FreeIndex::remove) of a [`Beside`] index.
///
/// # Safety
/// As [`FreeIndex::remove`](super::FreeIndex::remove).
#[inline(always)]
pub(super) unsafe fn remove<T: Beside>(t: &mut T, b: Block) {
    if t.wild().is(b) {
        t.wild().clear();
    } else {
        // SAFETY: forwarded to the caller.
        unsafe { t.plain_remove(b) }
    }
}

/// [`FreeIndex::try_replace`](super::FreeIndex::try_replace) of a
/// [`Beside`] index: the wilderness becoming an ordinary block is removed
/// and inserted (`false`).
///
/// # Safety
/// As [`FreeIndex::try_replace`](super::FreeIndex::try_replace).
#[inline(always)]
pub(super) unsafe fn try_replace<T: Beside>(t: &mut T, old: Block, new: Block, new_size: usize) -> bool {
    // SAFETY: forwarded to the caller.
    !t.wild().is(old) && unsafe { t.plain_replace(old, new, new_size) }
}

/// [`FreeIndex::replace_by_tail`](super::FreeIndex::replace_by_tail) of a
/// [`Beside`] index: the wilderness resized or cut in place stays the
/// wilderness; an ordinary block becoming one leaves the index.
///
/// # Safety
/// As [`FreeIndex::try_replace`](super::FreeIndex::try_replace).
#[inline(always)]
pub(super) unsafe fn replace_by_tail<T: Beside>(t: &mut T, old: Block, new: Block, new_size: usize) -> bool {
    if !t.keeps() || !t.wild().would_keep(new) {
        // SAFETY: forwarded to the caller.
        return unsafe { try_replace(t, old, new, new_size) };
    }
    if !t.wild().is(old) {
        // SAFETY: `old` is indexed with its header unchanged (caller); a
        // wilderness given back has its header as filed.
        unsafe {
            t.plain_remove(old);
            if let Some((w, size)) = t.wild().file(new, new_size) {
                t.plain_insert(w, size);
            }
        }
    }
    t.wild().replace(new, new_size);
    true
}
