//! The kernel heap (`heaplab::slab::Slab`: slab caches and `kmalloc` over
//! the buddy page allocator) replays every malloc-lab trace, with the
//! course driver's checks: aligned, inside the pages, no overlap, realloc
//! (as `krealloc`: in place when the object is big enough, else a new
//! object, the bytes copied, the old one freed) keeps the bytes; the
//! integrity walk along the way; at the end every slab is returned and every
//! buddy pair merged.

use crate::traces::load;
use heaplab::pages::{FixedRegion, PAGE};
use heaplab::slab::Slab;
use std::collections::BTreeMap;

const LEN: usize = 128 << 20;

#[test]
fn every_trace_replays_valid_under_kmalloc() {
    for t in load() {
        // A byte vector: not page aligned, so the region loses a page to
        // alignment (the buddy allocator asks for one page less then).
        let mut mem = vec![0u8; LEN];
        let base = mem.as_mut_ptr();
        // SAFETY: `mem` outlives the heap and is used only through it.
        let src = unsafe { FixedRegion::new(base, LEN) };
        let mut k = Slab::new(src, LEN);
        k.init().unwrap();
        let start = k.buddy().stats();
        let (lo, hi) = (k.buddy().base(), k.buddy().base() + k.buddy().pages() * PAGE);
        // id -> (address, size, tag); address -> size of every live object.
        let mut ids: BTreeMap<usize, (usize, usize, u8)> = BTreeMap::new();
        let mut by_addr: BTreeMap<usize, usize> = BTreeMap::new();
        let (mut live_bytes, mut peak_live, mut peak_pages) = (0usize, 0usize, 0usize);
        let put = |p: *mut u8, n: usize, tag: u8| {
            // SAFETY: `p..p + n` is a live object of the heap.
            unsafe {
                p.write(tag);
                p.add(n - 1).write(tag);
            }
        };
        let holds = |addr: usize, n: usize, tag: u8| {
            let p = base.with_addr(addr);
            // SAFETY: as in `put`.
            unsafe { p.read() == tag && p.add(n - 1).read() == tag }
        };
        for (step, &(c, id, size)) in t.ops.iter().enumerate() {
            let size = size.max(1);
            let tag = (id % 251) as u8 + 1;
            let old = match c {
                'a' => None,
                'r' | 'f' => Some(ids.remove(&id).unwrap_or_else(|| panic!("{}: op {step} on a dead id", t.name))),
                _ => panic!("{}: unknown op {c}", t.name),
            };
            if let Some((a, n, g)) = old {
                assert!(holds(a, n, g), "{}: op {step}: object {a:#x} lost its bytes", t.name);
                by_addr.remove(&a);
                live_bytes -= n;
            }
            let new = match (c, old) {
                ('f', Some((a, _, _))) => {
                    k.kfree(base.with_addr(a)).unwrap();
                    None
                }
                ('r', Some((a, _, _))) if k.ksize(base.with_addr(a)).unwrap() >= size => Some(a),
                ('r', Some((a, n, _))) => {
                    let p = k.kmalloc(size).unwrap_or_else(|e| panic!("{}: op {step}: krealloc({size}): {e}", t.name)).as_ptr();
                    // SAFETY: both are live objects of at least `min(n, size)` bytes.
                    unsafe { core::ptr::copy_nonoverlapping(base.with_addr(a), p, n.min(size)) };
                    k.kfree(base.with_addr(a)).unwrap();
                    Some(p.addr())
                }
                _ => Some(k.kmalloc(size).unwrap_or_else(|e| panic!("{}: op {step}: kmalloc({size}): {e}", t.name)).as_ptr().addr()),
            };
            if let Some(a) = new {
                assert!(a.is_multiple_of(8) && a >= lo && a + size <= hi, "{}: op {step}: {a:#x} misplaced", t.name);
                if let Some((&b, &m)) = by_addr.range(..=a).next_back() {
                    assert!(b + m <= a, "{}: op {step}: {a:#x} overlaps {b:#x}", t.name);
                }
                if let Some((&b, _)) = by_addr.range(a..).next() {
                    assert!(a + size <= b, "{}: op {step}: {a:#x} overlaps {b:#x}", t.name);
                }
                put(base.with_addr(a), size, tag);
                ids.insert(id, (a, size, tag));
                by_addr.insert(a, size);
                live_bytes += size;
            }
            peak_live = peak_live.max(live_bytes);
            peak_pages = peak_pages.max(k.buddy().stats().used_pages);
            if step % 1000 == 0 {
                k.check().unwrap_or_else(|e| panic!("{}: op {step}: {e}", t.name));
            }
        }
        for (_, (a, n, g)) in std::mem::take(&mut ids) {
            assert!(holds(a, n, g));
            k.kfree(base.with_addr(a)).unwrap();
        }
        for c in 0..k.caches() {
            k.cache_shrink(c).unwrap();
        }
        k.check().unwrap();
        let s = k.stats();
        assert_eq!((s.slabs, s.objects, s.large_blocks, s.buddy.used_pages), ([0, 0, 0], 0, 0, 0), "{}", t.name);
        assert_eq!(s.buddy.free_blocks, start.free_blocks, "{}: a buddy pair left unmerged", t.name);
        let util = peak_live as f64 / (peak_pages * PAGE) as f64;
        println!("{:<20} kmalloc utilization {:.1}%", t.name, util * 100.0);
        assert!(util > 0.05, "{}: utilization {util}", t.name);
    }
}
