//! Arbitrary sequences of heap operations on every policy, both coalescing
//! modes, granule 8 and 16, random thresholds and limits, over a fixed region
//! (contiguous or gapped, so several segments appear).
//!
//! After every operation: `check()` passes, the live count and requested
//! bytes match a model, new payloads are aligned, inside the heap and overlap
//! no live payload, and payload patterns survive until they are freed or
//! resized. Bad frees (never returned, interior, double, metadata, outside)
//! must fail and change nothing. At the end everything is freed and every
//! arena must have merged back into free pages.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use heaplab::heap::{AllocError, BlockInfo, Coalesce, Config, Heap, MAX_SIZE};
use heaplab::pages::{FixedRegion, PageOwner, PAGE, WASM_PAGE};
use heaplab::policy::{AnyPolicy, ListOrder, PolicyKind};
use heaplab::Stats;
use libfuzzer_sys::fuzz_target;

#[path = "shared.rs"]
mod shared;
use shared::Size;

#[derive(Arbitrary, Debug)]
struct Input {
    policy: u8,
    deferred: bool,
    quick_lists: bool,
    granule16: bool,
    split_min: u16,
    large_min: u32,
    /// Memory limit in wasm pages (0: none).
    max_wasm_pages: u8,
    /// Region size in wasm pages (1..=32).
    region_wasm_pages: u8,
    /// Gap between growth steps in pages (0: contiguous).
    gap_pages: u8,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Alloc { size: Size, align_log: u8 },
    Calloc { count: u16, size: Size },
    Realloc { index: u16, size: Size },
    Free { index: u16 },
    Write { index: u16, seed: u8 },
    BadFree { kind: u8, offset: u32, index: u16 },
    BadRealloc { kind: u8, offset: u32, index: u16 },
    Sweep,
    Reset,
}

/// A live allocation of the model.
#[derive(Debug, Clone, Copy)]
struct Live {
    ptr: usize,
    size: usize,
    align: usize,
    seed: u8,
}

fn pattern(seed: u8, i: usize) -> u8 {
    seed ^ (i as u8) ^ ((i >> 8) as u8).wrapping_mul(31)
}

fn fill(l: &Live, from: usize) {
    // SAFETY: the payload has `size` bytes; the model owns it while live.
    let s = unsafe { std::slice::from_raw_parts_mut(l.ptr as *mut u8, l.size) };
    for (i, b) in s.iter_mut().enumerate().skip(from) {
        *b = pattern(l.seed, i);
    }
}

fn verify(l: &Live, upto: usize) {
    // SAFETY: as in `fill`.
    let s = unsafe { std::slice::from_raw_parts(l.ptr as *const u8, upto) };
    for (i, &b) in s.iter().enumerate() {
        assert_eq!(b, pattern(l.seed, i), "payload byte {i} of {l:?} changed");
    }
}

#[derive(Debug, PartialEq)]
struct Snapshot {
    stats: Stats,
    blocks: Vec<BlockInfo>,
    pages: Vec<(usize, PageOwner)>,
}

type H = Heap<FixedRegion, AnyPolicy>;

fn snapshot(h: &H) -> Snapshot {
    Snapshot { stats: h.stats(), blocks: h.blocks().collect(), pages: h.pages().collect() }
}

/// After a failed operation: exactly as before (deferred coalescing included:
/// the sweep runs only when it serves the request).
fn assert_unchanged(h: &H, before: &Snapshot, e: AllocError, what: &str) {
    let after = snapshot(h);
    assert_eq!(&after, before, "failed {what} ({e:?}) changed the heap");
}

struct Model {
    live: Vec<Live>,
    /// Live payload ranges: start → end.
    ranges: BTreeMap<usize, usize>,
    /// Addresses freed since the last reset and not handed out again.
    freed: Vec<usize>,
    requested: usize,
}

impl Model {
    fn add(&mut self, h: &H, l: Live) {
        assert_eq!(l.ptr % l.align, 0, "misaligned payload {l:?}");
        assert!(h.bytes(l.ptr, l.size).is_ok(), "payload outside the heap {l:?}");
        assert!(h.usable_size(l.ptr as *mut u8).unwrap() >= l.size);
        let end = l.ptr + l.size;
        if let Some((&s, &e)) = self.ranges.range(..end).next_back() {
            assert!(e <= l.ptr || s >= end, "{l:?} overlaps live payload {s:#x}..{e:#x}");
        }
        self.ranges.insert(l.ptr, end);
        self.freed.retain(|&f| f != l.ptr);
        self.requested += l.size;
        self.live.push(l);
    }

    fn remove(&mut self, i: usize) -> Live {
        let l = self.live.swap_remove(i);
        self.ranges.remove(&l.ptr);
        self.requested -= l.size;
        l
    }

    fn pick(&self, index: u16) -> Option<usize> {
        (!self.live.is_empty()).then(|| index as usize % self.live.len())
    }

    /// An address that is not a live payload, of the kind `kind` asks for,
    /// and the error it must give if certain.
    fn bad_address(&self, h: &H, kind: u8, offset: u32, index: u16) -> (usize, Option<AllocError>) {
        let offset = offset as usize;
        match kind % 7 {
            0 => {
                // Interior pointer of a live payload.
                if let Some(i) = self.pick(index) {
                    let l = self.live[i];
                    if l.size > 1 {
                        return (l.ptr + 1 + offset % (l.size - 1), Some(AllocError::InteriorPointer));
                    }
                }
                (1, Some(AllocError::NotAllocated))
            }
            1 => {
                // A freed payload (double free), unless handed out again.
                if !self.freed.is_empty() {
                    return (self.freed[index as usize % self.freed.len()], None);
                }
                (1, Some(AllocError::NotAllocated))
            }
            2 => {
                // Anywhere in the heap's segments.
                let segs: Vec<_> = h.segments().collect();
                if segs.is_empty() {
                    return (usize::MAX - 7, Some(AllocError::NotAllocated));
                }
                let (base, len) = segs[index as usize % segs.len()];
                (base + offset % len, None)
            }
            3 => {
                // A metadata page.
                let meta = h.pages().filter(|p| p.1 == PageOwner::Meta).map(|p| p.0).nth(index as usize % 4);
                (meta.map_or(8, |m| m + (offset % PAGE) / 8 * 8), None)
            }
            4 => {
                // Outside the heap.
                // (Not 0: C's NULL, which `free` and `realloc` take as C does.)
                let far = [16usize, 8, 4096, usize::MAX & !7, (&raw const offset) as usize];
                (far[index as usize % far.len()], Some(AllocError::NotAllocated))
            }
            5 => {
                // A header: 8 bytes before a live payload.
                if let Some(i) = self.pick(index) {
                    return (self.live[i].ptr - 8, None);
                }
                (16, Some(AllocError::NotAllocated))
            }
            _ => {
                // Just past a live payload's requested end.
                if let Some(i) = self.pick(index) {
                    let l = self.live[i];
                    return (l.ptr + l.size + offset % 64, None);
                }
                (24, Some(AllocError::NotAllocated))
            }
        }
    }
}

fn check_model(h: &H, m: &Model) {
    if let Err(e) = h.check() {
        panic!("check failed: {e:?}");
    }
    let s = h.stats();
    assert_eq!(s.live_blocks, m.live.len(), "live blocks");
    assert_eq!(s.live_requested, m.requested, "live requested bytes");
}

fn run(input: Input) {
    let policy = PolicyKind::ALL[input.policy as usize % PolicyKind::ALL.len()];
    let config = Config {
        policy,
        align: if input.granule16 { 16 } else { 8 },
        split_min: input.split_min as usize % 4096,
        coalesce: if input.deferred { Coalesce::Deferred } else { Coalesce::Immediate },
        large_min: input.large_min as usize % (1 << 20),
        max_bytes: if input.max_wasm_pages == 0 { usize::MAX } else { input.max_wasm_pages as usize * WASM_PAGE },
        arena_pages: 4,
        // The policy byte's high bits: an order, or none (the default).
        list_order: ListOrder::ALL.get((input.policy >> 4) as usize % (ListOrder::ALL.len() + 1)).copied(),
        quick_lists: input.quick_lists,
    };
    let len = (input.region_wasm_pages as usize % 32 + 1) * WASM_PAGE;
    // One run at a time uses the region; any bytes are initialized.
    let base = shared::region_base();
    let source = if input.gap_pages == 0 {
        // SAFETY: as above.
        unsafe { FixedRegion::new(base, len) }
    } else {
        // SAFETY: as above.
        unsafe { FixedRegion::with_gap(base, len, (input.gap_pages as usize % 8) * PAGE) }
    };
    let mut h: H = Heap::new(source, config);
    let mut m = Model { live: Vec::new(), ranges: BTreeMap::new(), freed: Vec::new(), requested: 0 };

    for (step, a) in input.actions.iter().enumerate() {
        let _ = step;
        match a {
            Action::Alloc { size, align_log } => {
                let size = size.get(MAX_SIZE);
                let align = 1usize.checked_shl(*align_log as u32 % 14).unwrap_or(1);
                let before = snapshot(&h);
                match h.alloc(size, align) {
                    Ok(p) => {
                        let l = Live { ptr: p.as_ptr() as usize, size, align, seed: m.live.len() as u8 };
                        m.add(&h, l);
                        fill(&l, 0);
                    }
                    Err(e) => {
                        let want_size = size == 0 || size > MAX_SIZE;
                        let want_align = align > 4096;
                        match e {
                            AllocError::InvalidAlign => assert!(want_align),
                            AllocError::InvalidSize => assert!(want_size && !want_align),
                            AllocError::OutOfMemory => assert!(!want_size && !want_align),
                            other => panic!("alloc returned {other:?}"),
                        }
                        assert_unchanged(&h, &before, e, "alloc");
                    }
                }
            }
            Action::Calloc { count, size } => {
                let count = *count as usize % 64;
                let size = size.get(MAX_SIZE);
                let before = snapshot(&h);
                match h.calloc(count, size) {
                    Ok(p) => {
                        let total = count * size;
                        // SAFETY: the payload has `total` bytes.
                        let s = unsafe { std::slice::from_raw_parts(p.as_ptr(), total) };
                        assert!(s.iter().all(|&b| b == 0), "calloc memory not zeroed");
                        let l = Live { ptr: p.as_ptr() as usize, size: total, align: config.align, seed: 0x5a };
                        m.add(&h, l);
                        fill(&l, 0);
                    }
                    Err(e) => {
                        let total = count.checked_mul(size);
                        match e {
                            AllocError::InvalidSize => assert!(total.is_none_or(|t| t == 0 || t > MAX_SIZE)),
                            AllocError::OutOfMemory => assert!(total.is_some_and(|t| t > 0 && t <= MAX_SIZE)),
                            other => panic!("calloc returned {other:?}"),
                        }
                        assert_unchanged(&h, &before, e, "calloc");
                    }
                }
            }
            Action::Realloc { index, size } => {
                let Some(i) = m.pick(*index) else { continue };
                let size = size.get(MAX_SIZE);
                let old = m.live[i];
                verify(&old, old.size);
                let before = snapshot(&h);
                match h.realloc(old.ptr as *mut u8, size) {
                    Ok(p) => {
                        let old = m.remove(i);
                        if p.as_ptr() as usize != old.ptr {
                            m.freed.push(old.ptr);
                        }
                        let l = Live { ptr: p.as_ptr() as usize, size, ..old };
                        verify(&l, old.size.min(size));
                        m.add(&h, l);
                        fill(&l, old.size.min(size));
                    }
                    Err(e) => {
                        match e {
                            AllocError::InvalidSize => assert!(size == 0 || size > MAX_SIZE),
                            AllocError::OutOfMemory => assert!(size > 0 && size <= MAX_SIZE),
                            other => panic!("realloc returned {other:?}"),
                        }
                        assert_unchanged(&h, &before, e, "realloc");
                        verify(&old, old.size);
                    }
                }
            }
            Action::Free { index } => {
                let Some(i) = m.pick(*index) else { continue };
                let l = m.remove(i);
                verify(&l, l.size);
                h.free(l.ptr as *mut u8).unwrap();
                m.freed.push(l.ptr);
                if m.freed.len() > 64 {
                    m.freed.remove(0);
                }
            }
            Action::Write { index, seed } => {
                let Some(i) = m.pick(*index) else { continue };
                verify(&m.live[i], m.live[i].size);
                m.live[i].seed = *seed;
                fill(&m.live[i], 0);
            }
            Action::BadFree { kind, offset, index } | Action::BadRealloc { kind, offset, index } => {
                let (addr, want) = m.bad_address(&h, *kind, *offset, *index);
                if m.ranges.contains_key(&addr) {
                    continue; // a live payload after all: not a bad free
                }
                let before = snapshot(&h);
                let r = if matches!(a, Action::BadFree { .. }) {
                    h.free(addr as *mut u8)
                } else {
                    h.realloc(addr as *mut u8, 1 + *offset as usize % 200).map(|_| ())
                };
                let Err(e) = r else { panic!("bad free of {addr:#x} succeeded ({a:?})") };
                assert!(matches!(e, AllocError::DoubleFree | AllocError::InteriorPointer | AllocError::NotAllocated), "{e:?}");
                if let Some(w) = want {
                    assert_eq!(e, w, "bad free of {addr:#x} ({a:?})");
                }
                if h.segments().all(|(b, n)| addr < b || addr >= b + n) {
                    assert_eq!(e, AllocError::NotAllocated, "address outside the heap");
                }
                assert_eq!(snapshot(&h), before, "a bad free changed the heap");
            }
            Action::Sweep => h.sweep(),
            Action::Reset => {
                h.reset();
                m.live.clear();
                m.ranges.clear();
                m.freed.clear();
                m.requested = 0;
                let s = h.stats();
                assert_eq!((s.live_blocks, s.free_blocks, s.arenas, s.allocated_bytes), (0, 0, 0, 0));
            }
        }
        check_model(&h, &m);
    }

    // Free everything (patterns intact), then every arena must have merged
    // back: at most one empty arena (the cache), one free block each.
    while let Some(l) = m.live.pop() {
        verify(&l, l.size);
        m.ranges.remove(&l.ptr);
        m.requested -= l.size;
        h.free(l.ptr as *mut u8).unwrap();
    }
    check_model(&h, &m);
    assert_all_free(&mut h);
}

/// As linked_list_allocator's fuzzing ends: after freeing everything a block
/// as big as the longest run of free (or empty-arena) pages fits again.
fn assert_all_free(h: &mut H) {
    // Blocks freed onto the quick lists merge when the lists are flushed, as
    // deferred coalescing's merge when the sweep runs: both come first.
    h.flush();
    h.sweep();
    h.check().unwrap();
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_requested, s.allocated_bytes), (0, 0, 0), "{s:?}");
    assert_eq!(s.free_blocks, s.arenas, "each arena must be one free block: {s:?}");
    assert!(s.arenas <= 1, "empty arenas go back to the page layer: {s:?}");
    assert!(h.blocks().all(|b| !b.used), "a used block after freeing everything");
    let (mut best, mut run, mut last_end) = (0, 0, 0);
    for (addr, o) in h.pages() {
        if addr != last_end {
            run = 0;
        }
        last_end = addr + PAGE;
        if matches!(o, PageOwner::Free | PageOwner::ArenaHead | PageOwner::Arena) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    if best >= 2 {
        let size = (best - 1) * PAGE;
        let p = h.alloc(size, 8).unwrap_or_else(|e| panic!("{size} bytes from {best} free pages: {e:?}"));
        h.check().unwrap();
        h.free(p.as_ptr()).unwrap();
        h.check().unwrap();
    }
}

fuzz_target!(|input: Input| run(input));
