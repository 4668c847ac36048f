//! Next fit: the same address-ordered free list as first fit, but a search
//! starts at a *roving pointer* left where the last search ended, walks to
//! the end, and wraps around to the front.
//!
//! **Time complexity:** alloc O(n) worst case (often much shorter than first
//! fit, since it does not rescan the splinters at the front), free O(n) to
//! find the insertion point, walked from the roving pointer (forwards or
//! backwards), near which recent blocks are.
//!
//! **Trade-off:** spreads allocations over the whole heap instead of packing
//! them at low addresses; searches are shorter, but free space is cut up
//! everywhere, so fragmentation is usually worse than first fit (Knuth's and
//! Wilson's measurements).

use super::first_fit::{first_in_list, AddrList};
use super::{FreeIndex, FreeList, Policy, PolicyKind, Search};
use crate::block::{Block, Fit, Request};
use crate::errors::CheckError;
use crate::events::Observer;

/// Next fit over an address-ordered free list with a roving pointer.
#[derive(Debug)]
pub struct NextFit {
    list: AddrList,
    /// Where the next search starts: a listed block, or `None` (the head).
    rover: Option<Block>,
}

impl FreeIndex for NextFit {
    const LINKS: usize = 2;
    const EMPTY: Self = NextFit {
        list: AddrList::EMPTY,
        rover: None,
    };
    #[inline]
    fn len(&self) -> usize {
        self.list.len
    }
    fn clear(&mut self) {
        *self = Self::EMPTY;
    }
    #[inline]
    unsafe fn insert(&mut self, b: Block) {
        // SAFETY: forwarded to the caller; the rover is listed.
        unsafe {
            match self.rover {
                // From where the searches are: freed blocks tend to be near.
                Some(r) => self.list.insert_near(b, r),
                None => self.list.insert(b),
            }
        }
    }
    #[inline]
    unsafe fn remove(&mut self, b: Block) {
        if self.rover == Some(b) {
            // SAFETY: `b` is listed, so its links are valid.
            self.rover = unsafe { b.next_free() };
        }
        // SAFETY: forwarded to the caller.
        unsafe { self.list.remove(b) }
    }
    #[inline]
    unsafe fn try_replace(&mut self, old: Block, new: Block, _new_size: usize) -> bool {
        if self.rover == Some(old) {
            self.rover = Some(new);
        }
        // SAFETY: the heap guarantees `new` takes `old`'s address position.
        unsafe { self.list.replace(old, new) };
        true
    }
    unsafe fn contains(&self, b: Block) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.contains(b) }
    }
    unsafe fn for_each_free<F: FnMut(FreeList, Block)>(&self, mut f: F) {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.for_each(|b| f(FreeList::ONLY, b)) }
    }
    unsafe fn check(&self, ok: &dyn Fn(Block) -> bool) -> Result<(), CheckError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.list.check(ok)? };
        if let Some(r) = self.rover {
            // SAFETY: as above.
            if !unsafe { self.list.contains(r) } {
                return Err(CheckError::new(
                    r.addr(),
                    "next-fit rover is not a listed free block",
                ));
            }
        }
        Ok(())
    }
}

impl Policy for NextFit {
    const KIND: Option<PolicyKind> = Some(PolicyKind::NextFit);
    /// Where the next search starts: the rover, or the head.
    fn rover(&self) -> Option<Block> {
        self.rover.or(self.list.head)
    }
    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        let mut examined = 0;
        // SAFETY: the rover is listed or None; the list is well formed.
        let fit =
            unsafe { roving_search(self.list.head, &mut self.rover, req, obs, &mut examined) };
        Search { fit, examined }
    }
}

/// Next fit's search over any free list: from the rover (or the head) to
/// the end, then from the head back to where it began; the rover moves to
/// the block chosen. Shared by [`NextFit`] and [`super::Ordered`].
///
/// # Safety
/// `head` is the head of a well-formed list and `*rover` listed or `None`.
pub(super) unsafe fn roving_search<O: Observer>(
    head: Option<Block>,
    rover: &mut Option<Block>,
    req: &Request,
    obs: &mut O,
    examined: &mut usize,
) -> Option<Fit> {
    let start = rover.or(head);
    // SAFETY: forwarded to the caller.
    let mut fit = unsafe { first_in_list(start, None, req, obs, examined) };
    if fit.is_none() && start != head {
        // SAFETY: as above; wrap around and stop where we began.
        fit = unsafe { first_in_list(head, start, req, obs, examined) };
    }
    if let Some(f) = fit {
        *rover = Some(f.block);
    }
    fit
}
