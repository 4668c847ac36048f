//! talc 5, through its own `GlobalAlloc` (`TalcCell`) with its wasm
//! binning, over a [`Region`] that its source extends as talc's
//! `WasmGrowAndExtend` does with wasm memory (in 4 KiB pages here).

use crate::{layout, Peer, Region};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use talc::base::Talc as Base;
use talc::base::binning::Binning;
use talc::wasm::WasmBinning;
use talc::cell::TalcCell;

/// talc's source: the region, and the end of talc's heap in it.
#[derive(Clone, Debug)]
pub struct Pages {
    region: Region,
    end: Option<NonNull<u8>>,
}

// SAFETY: `acquire` hands talc pages that only it uses (the region never
// gives a page twice) and calls no allocator.
unsafe impl talc::source::Source for Pages {
    fn acquire<B: Binning>(talc: &mut Base<Self, B>, layout: Layout) -> Result<(), ()> {
        // As talc's wasm source: enough for this allocation, its tag and
        // alignment padding (four words a chunk unit).
        let unit = 4 * core::mem::size_of::<usize>();
        let bytes = layout.size() + 2 * unit + if layout.align() > unit { layout.align() } else { 0 };
        let (base, len) = talc.source.region.take(bytes).ok_or(())?;
        // SAFETY: base..base + len is fresh memory of the region, talc's alone.
        unsafe {
            if let Some(old) = talc.source.end.take() {
                if old.as_ptr() == base {
                    talc.source.end = Some(talc.extend(old, base.add(len)));
                    return Ok(());
                }
            }
            talc.source.end = talc.claim(base, len);
        }
        talc.source.end.map(|_| ()).ok_or(())
    }
}

/// talc over a region.
pub struct Talc(TalcCell<Pages, WasmBinning>);

impl Peer for Talc {
    const NAME: &'static str = "talc";

    fn new(limit: usize) -> Self {
        Talc(TalcCell::new(Pages { region: Region::new(limit), end: None }))
    }

    fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: size is not 0 (the trait's contract).
        unsafe { self.0.alloc(layout(size, align)) }
    }

    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: the caller's contract is GlobalAlloc's.
        unsafe { self.0.dealloc(ptr, layout(size, align)) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, align: usize, new: usize) -> *mut u8 {
        // SAFETY: the caller's contract is GlobalAlloc's.
        unsafe { self.0.realloc(ptr, layout(old, align), new) }
    }

    fn region(&self) -> Region {
        self.0.clone_source().region
    }
}
