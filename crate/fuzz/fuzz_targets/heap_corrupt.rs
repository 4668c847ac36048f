//! Attacks the checked heap through its teaching write API: arbitrary
//! operations interleaved with arbitrary writes into any byte of its
//! segments (headers, footers, free-list and quick-list links, payloads;
//! the metadata pages are refused), on every policy and both coalescing
//! modes, quick lists on and off.
//!
//! Nothing may crash (AddressSanitizer catches a read outside the region),
//! hang or panic: `check()` reports a corruption as a coded error, and once
//! it has failed, `alloc`, `calloc`, `free` and `realloc` answer
//! `corrupt-heap` until `reset`, after which the heap works again.
#![no_main]

use arbitrary::Arbitrary;
use heaplab::heap::{AllocError, Coalesce, Config, Heap};
use heaplab::pages::FixedRegion;
use heaplab::policy::{AnyPolicy, PolicyKind};
use libfuzzer_sys::fuzz_target;

#[path = "shared.rs"]
mod shared;
use shared::{region_base, REGION_MAX};

#[derive(Arbitrary, Debug)]
struct Input {
    policy: u8,
    /// Bit 0: deferred coalescing; bit 1: quick lists; bit 2: granule 16.
    flags: u8,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    /// `op % 5`: alloc `size` (aligned to `1 << index % 8`), calloc
    /// `index × size`, realloc live block `index` to `size`, free it, or
    /// free the address `offset` bytes from it.
    Op { op: u8, index: u8, size: u16, offset: i8 },
    /// `bytes` at `offset` from a live block's payload.
    WriteNear { index: u8, offset: i16, bytes: Vec<u8> },
    /// `bytes` at any byte of the segments (`at` is taken modulo their size).
    WriteAnywhere { at: u32, bytes: Vec<u8> },
    Check,
    Sweep,
    Reset,
}

/// What a failed operation may say: on a heap known corrupt, only
/// `corrupt-heap`; else any coded error (forged headers can make a block
/// look free or foreign).
fn judge<T>(r: Result<T, AllocError>, corrupt: bool, what: &str) {
    if let Err(e) = r {
        assert!(!e.code().is_empty());
        assert!(!corrupt || e == AllocError::CorruptHeap, "{what} on a corrupt heap: {e:?}");
    }
}

fuzz_target!(|input: Input| {
    let kinds = PolicyKind::ALL;
    let config = Config {
        policy: kinds[input.policy as usize % kinds.len()],
        coalesce: if input.flags & 1 != 0 { Coalesce::Deferred } else { Coalesce::Immediate },
        quick_lists: input.flags & 2 != 0,
        align: if input.flags & 4 != 0 { 16 } else { 8 },
        ..Config::DEFAULT
    };
    // SAFETY: one run at a time uses the shared region, for its whole
    // length; the heap is dropped at the end of the run.
    let source = unsafe { FixedRegion::new(region_base(), REGION_MAX) };
    {
        let mut h: Heap<FixedRegion, AnyPolicy> = Heap::new(source, config);
        let mut live: Vec<usize> = Vec::new();
        // Whether `check` failed since the last reset with nothing changed.
        let mut corrupt = false;
        for action in input.actions.iter().take(256) {
            let pick = |i: u8| (!live.is_empty()).then(|| live[i as usize % live.len()]);
            match action {
                Action::Op { op, index, size, offset } => {
                    let (size, target) = (*size as usize, pick(*index));
                    let r = match (op % 5, target) {
                        (0, _) => h.alloc(size + 1, 1 << (index % 8)).map(|p| (None, Some(p))),
                        (1, _) => h.calloc(*index as usize, size).map(|p| (None, Some(p))),
                        (2, Some(p)) => h.realloc(p as *mut u8, size + 1).map(|n| (Some(p), Some(n))),
                        (3, Some(p)) => h.free(p as *mut u8).map(|()| (Some(p), None)),
                        (4, Some(p)) => {
                            let a = p.wrapping_add(*offset as isize as usize);
                            h.free(a as *mut u8).map(|()| (Some(a), None))
                        }
                        _ => continue,
                    };
                    if let Ok((gone, new)) = r {
                        live.retain(|&q| Some(q) != gone);
                        live.extend(new.map(|p| p.as_ptr() as usize));
                    }
                    judge(r, corrupt, "an operation");
                }
                Action::WriteNear { index, offset, bytes } => {
                    if let Some(p) = pick(*index) {
                        let a = p.wrapping_add(*offset as isize as usize);
                        let _ = h.write(a, &bytes[..bytes.len().min(64)]);
                    }
                }
                Action::WriteAnywhere { at, bytes } => {
                    let segments: Vec<(usize, usize)> = h.segments().collect();
                    let total: usize = segments.iter().map(|s| s.1).sum();
                    if total > 0 {
                        let mut off = *at as usize % total;
                        for (base, len) in segments {
                            if off < len {
                                if let Err(e) = h.write(base + off, &bytes[..bytes.len().min(64)]) {
                                    assert_eq!(e, AllocError::OutOfBounds);
                                }
                                break;
                            }
                            off -= len;
                        }
                    }
                }
                Action::Check => {
                    if let Err(e) = h.check() {
                        assert!(!e.what.is_empty());
                        corrupt = true;
                    }
                }
                Action::Sweep => h.sweep(),
                Action::Reset => {
                    h.reset();
                    live.clear();
                    corrupt = false;
                    h.check().expect("reset repairs any corruption");
                }
            }
            // Read-only looks never follow a forged link either.
            let _ = (h.stats(), h.blocks().count());
            h.free_lists(|_, _| {});
        }
        h.reset();
        h.check().expect("reset repairs any corruption");
        let p = h.alloc(100, 8).expect("usable after reset");
        h.free(p.as_ptr()).expect("usable after reset");
    }
});
