//! The fixed-region `GlobalHeap` driven through the `GlobalAlloc` trait with
//! arbitrary layouts: alloc, alloc_zeroed, realloc, dealloc. Checks that every
//! pointer is aligned, inside the region and overlaps no live allocation,
//! that alloc_zeroed zeroes, that realloc keeps the bytes (and the old block
//! when it fails), and that `check()` passes throughout.
#![no_main]

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use heaplab::global::GlobalHeap;
use heaplab::heap::{Coalesce, Config, Heap};
use heaplab::pages::{FixedRegion, WASM_PAGE};
use heaplab::policy::PolicyKind;
use libfuzzer_sys::fuzz_target;

#[path = "shared.rs"]
mod shared;

#[derive(Arbitrary, Debug)]
struct Input {
    /// 0: `GlobalHeap::fixed` (the default config); else a chosen config.
    flavour: u8,
    deferred: bool,
    region_wasm_pages: u8,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Alloc { size: u32, align_log: u8 },
    AllocZeroed { size: u32, align_log: u8 },
    Realloc { index: u16, size: u32 },
    Dealloc { index: u16 },
    Check,
}

#[derive(Debug, Clone, Copy)]
struct Live {
    ptr: usize,
    layout: Layout,
    seed: u8,
}

fn size_of(raw: u32) -> usize {
    // Mostly small; sometimes up to 1 MiB; now and then 0.
    match raw >> 30 {
        0 | 1 => raw as usize % 256,
        2 => raw as usize % 16384,
        _ => raw as usize % (1 << 20),
    }
}

fn pattern(seed: u8, i: usize) -> u8 {
    seed.wrapping_add(i as u8) ^ (i >> 8) as u8
}

fn bytes<'a>(l: &Live, len: usize) -> &'a mut [u8] {
    // SAFETY: the allocation has `layout.size()` bytes and the model owns them.
    unsafe { std::slice::from_raw_parts_mut(l.ptr as *mut u8, len) }
}

fn verify(l: &Live, len: usize) {
    for (i, &b) in bytes(l, len).iter().enumerate() {
        assert_eq!(b, pattern(l.seed, i), "byte {i} of {l:?} changed");
    }
}

fn fill(l: &Live, from: usize) {
    for (i, b) in bytes(l, l.layout.size()).iter_mut().enumerate().skip(from) {
        *b = pattern(l.seed, i);
    }
}

struct Model {
    base: usize,
    len: usize,
    live: Vec<Live>,
    ranges: BTreeMap<usize, usize>,
}

impl Model {
    fn add(&mut self, l: Live) {
        assert_eq!(l.ptr % l.layout.align(), 0, "misaligned {l:?}");
        let end = l.ptr + l.layout.size().max(1);
        assert!(l.ptr >= self.base && end <= self.base + self.len, "outside the region {l:?}");
        if let Some((&s, &e)) = self.ranges.range(..end).next_back() {
            assert!(e <= l.ptr || s >= end, "{l:?} overlaps live {s:#x}..{e:#x}");
        }
        self.ranges.insert(l.ptr, end);
        self.live.push(l);
    }

    fn remove(&mut self, i: usize) -> Live {
        let l = self.live.swap_remove(i);
        self.ranges.remove(&l.ptr);
        l
    }
}

fn run(input: Input) {
    let len = (input.region_wasm_pages as usize % 32 + 1) * WASM_PAGE;
    // One run at a time uses the region; any bytes are initialized.
    let base = shared::region_base();
    let heap: GlobalHeap<FixedRegion> = if input.flavour == 0 {
        // SAFETY: as above.
        unsafe { GlobalHeap::fixed(base, len) }
    } else {
        let config = Config {
            policy: PolicyKind::ALL[input.flavour as usize % PolicyKind::ALL.len()],
            align: if input.flavour & 0x10 != 0 { 16 } else { 8 },
            coalesce: if input.deferred { Coalesce::Deferred } else { Coalesce::Immediate },
            ..Config::DEFAULT
        };
        // SAFETY: as above.
        GlobalHeap::new(Heap::new(unsafe { FixedRegion::new(base, len) }, config))
    };
    let mut m = Model { base: base as usize, len, live: Vec::new(), ranges: BTreeMap::new() };

    for a in &input.actions {
        match *a {
            Action::Alloc { size, align_log } | Action::AllocZeroed { size, align_log } => {
                let Ok(layout) = Layout::from_size_align(size_of(size), 1 << (align_log % 14)) else { continue };
                let zeroed = matches!(a, Action::AllocZeroed { .. });
                // SAFETY: any layout; size 0 is served as 1 byte by this allocator.
                let p = unsafe { if zeroed { heap.alloc_zeroed(layout) } else { heap.alloc(layout) } };
                if p.is_null() {
                    continue;
                }
                assert!(layout.align() <= 4096, "alignment above a page served");
                let l = Live { ptr: p as usize, layout, seed: m.live.len() as u8 };
                if zeroed {
                    assert!(bytes(&l, layout.size()).iter().all(|&b| b == 0), "alloc_zeroed not zeroed");
                }
                m.add(l);
                fill(&l, 0);
            }
            Action::Realloc { index, size } => {
                if m.live.is_empty() {
                    continue;
                }
                let i = index as usize % m.live.len();
                let old = m.live[i];
                let new_size = size_of(size);
                if Layout::from_size_align(new_size, old.layout.align()).is_err() {
                    continue;
                }
                verify(&old, old.layout.size());
                // SAFETY: `old` was allocated here with this layout.
                let p = unsafe { heap.realloc(old.ptr as *mut u8, old.layout, new_size) };
                if p.is_null() {
                    verify(&old, old.layout.size());
                    continue;
                }
                let old = m.remove(i);
                let l = Live { ptr: p as usize, layout: Layout::from_size_align(new_size, old.layout.align()).unwrap(), seed: old.seed };
                let kept = old.layout.size().min(new_size);
                verify(&l, kept);
                m.add(l);
                fill(&l, kept);
            }
            Action::Dealloc { index } => {
                if m.live.is_empty() {
                    continue;
                }
                let l = m.remove(index as usize % m.live.len());
                verify(&l, l.layout.size());
                // SAFETY: allocated here with this layout.
                unsafe { heap.dealloc(l.ptr as *mut u8, l.layout) };
            }
            Action::Check => {
                for l in &m.live {
                    verify(l, l.layout.size());
                }
            }
        }
        heap.with(|h| {
            h.check().unwrap();
            assert_eq!(h.stats().live_blocks, m.live.len());
        });
    }
    while let Some(l) = m.live.pop() {
        verify(&l, l.layout.size());
        // SAFETY: allocated here with this layout.
        unsafe { heap.dealloc(l.ptr as *mut u8, l.layout) };
    }
    // SAFETY: everything is freed; the sweep only merges free blocks.
    unsafe {
        heap.with_mut(|h| {
            h.sweep();
            h.check().unwrap();
            let s = h.stats();
            assert_eq!((s.live_blocks, s.allocated_bytes), (0, 0), "{s:?}");
            assert!(s.arenas <= 1 && s.free_blocks == s.arenas, "arenas did not merge back: {s:?}");
        })
    }
    .expect("not in use");
}

fuzz_target!(|input: Input| run(input));
