//! Every production allocator over its region: traces replayed with every
//! payload checked, the heap span counted in pages, a refused growth told
//! as a failed operation, and the free blocks of those that expose them.

use heaplab_peers::replay::{peers, replay, Op};
use heaplab_peers::{Peer, PAGE};

/// A seeded mix of mallocs, reallocs and frees (xorshift), sizes up to `max`.
fn workload(seed: u64, n: usize, ids: usize, max: usize) -> Vec<Op> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut live = vec![false; ids];
    let mut ops = Vec::with_capacity(n);
    while ops.len() < n {
        let id = next() as usize % ids;
        let size = 1 + next() as usize % max;
        ops.push(match (live[id], next() % 3) {
            (false, _) => {
                live[id] = true;
                Op::Alloc(id, size)
            }
            (true, 0) => Op::Realloc(id, size),
            (true, _) => {
                live[id] = false;
                Op::Free(id)
            }
        });
    }
    ops
}

#[test]
fn every_peer_replays_with_payloads_intact_and_counts_its_pages() {
    let ops = workload(7, 20_000, 500, 3000);
    let peak = {
        let mut live = vec![0usize; 500];
        let (mut now, mut peak) = (0usize, 0usize);
        for op in &ops {
            match *op {
                Op::Alloc(id, n) | Op::Realloc(id, n) => {
                    now = now + n - live[id];
                    live[id] = n;
                }
                Op::Free(id) => now -= std::mem::take(&mut live[id]),
            }
            peak = peak.max(now);
        }
        peak
    };
    assert_eq!(peers().len(), 5);
    for (name, run) in peers() {
        let f = run(&ops, 500, 64 << 20);
        assert_eq!((f.failed, f.operations), (None, ops.len()), "{name}");
        assert_eq!(f.peak_live_requested, peak, "{name}");
        assert_eq!(f.span % PAGE, 0, "{name}: whole pages");
        assert!(f.span >= peak && f.utilization > 0.2 && f.utilization <= 1.0, "{name}: span {} for a peak of {peak}", f.span);
    }
}

#[test]
fn a_full_region_fails_the_operation_and_nothing_else() {
    let ops: Vec<Op> = (0..100).map(|id| Op::Alloc(id, 1000)).collect();
    for (name, run) in peers() {
        let f = run(&ops, 100, 16 * PAGE);
        let failed = f.failed.unwrap_or_else(|| panic!("{name}: 100 KB fit in 64 KiB"));
        assert!((30..=65).contains(&failed), "{name}: failed at {failed}");
        assert!(f.span <= 16 * PAGE, "{name}: took {} bytes", f.span);
    }
}

/// Live allocations of a heap after `ops`, in address order, and the heap.
fn live_after<P: Peer>(ops: &[Op], ids: usize) -> (Box<P>, Vec<(usize, usize)>) {
    let mut heap = Box::new(P::new(64 << 20));
    let mut live = vec![None; ids];
    for op in ops {
        match *op {
            Op::Alloc(id, n) => live[id] = Some((heap.alloc(n, 8) as usize, n)),
            // SAFETY (both arms): live[id] is this heap's allocation of that size.
            Op::Realloc(id, n) => {
                let (p, was) = live[id].unwrap();
                live[id] = Some((unsafe { heap.realloc(p as *mut u8, was, 8, n) } as usize, n));
            }
            Op::Free(id) => {
                let (p, n) = live[id].take().unwrap();
                unsafe { heap.free(p as *mut u8, n, 8) };
            }
        }
    }
    let mut out: Vec<(usize, usize)> = live.into_iter().flatten().collect();
    out.sort();
    (heap, out)
}

/// The free blocks a peer reports: in address order, apart from every live
/// allocation and inside its region; their bytes.
fn check_free_blocks<P: Peer>(ops: &[Op], ids: usize) -> (usize, usize, usize) {
    let (heap, live) = live_after::<P>(ops, ids);
    let mut blocks = Vec::new();
    assert!(heap.free_blocks(&live, &mut |a, n| blocks.push((a, n))), "{} exposes its free blocks", P::NAME);
    let region = heap.region();
    let mut at = region.base();
    for &(a, n) in &blocks {
        assert!(a >= at && n > 0 && a + n <= region.end(), "{}: free block {a:#x}+{n} out of order or outside", P::NAME);
        assert!(live.iter().all(|&(p, s)| p + s <= a || p >= a + n), "{}: free block {a:#x}+{n} overlaps a live payload", P::NAME);
        at = a + n;
    }
    (blocks.len(), blocks.iter().map(|b| b.1).sum(), region.taken())
}

#[test]
fn linked_list_allocator_holes_are_its_free_bytes() {
    let ops = workload(3, 5000, 300, 500);
    let (count, bytes, span) = check_free_blocks::<heaplab_peers::lla::Lla>(&ops, 300);
    assert!(count > 10, "a fragmented heap has holes: {count}");
    // Its own count of free bytes, from its `used`, agrees with the holes.
    let (heap, live) = live_after::<heaplab_peers::lla::Lla>(&ops, 300);
    let used: usize = live.iter().map(|&(_, n)| n.max(2 * std::mem::size_of::<usize>()).next_multiple_of(std::mem::size_of::<usize>())).sum();
    assert!(bytes <= span - used, "holes {bytes} B, span {span}, used {used}");
    drop(heap);
}

#[test]
fn rlsf_free_blocks_come_from_its_block_walk() {
    let ops = workload(5, 5000, 300, 2000);
    let (count, bytes, span) = check_free_blocks::<heaplab_peers::tlsf::Rlsf>(&ops, 300);
    assert!(count > 10 && bytes > 0 && bytes < span, "{count} blocks, {bytes} of {span} bytes free");
}

#[test]
fn talc_dlmalloc_and_the_buddy_system_do_not_expose_free_blocks() {
    fn none<P: Peer>() -> bool {
        let mut heap = P::new(1 << 20);
        let _ = heap.alloc(24, 8);
        !heap.free_blocks(&[], &mut |_, _| panic!("no block expected"))
    }
    assert!(none::<heaplab_peers::talc::Talc>() && none::<heaplab_peers::dl::Dl>() && none::<heaplab_peers::buddy::Buddy>());
}

#[test]
fn the_buddy_system_rounds_to_powers_of_two() {
    // 33-byte requests take 64-byte blocks: 64 of them fill one page.
    let ops: Vec<Op> = (0..64).map(|id| Op::Alloc(id, 33)).collect();
    let f = replay::<heaplab_peers::buddy::Buddy>(&ops, 64, 1 << 20);
    assert_eq!(f.span, PAGE);
    let f = replay::<heaplab_peers::buddy::Buddy>(&[ops.clone(), vec![Op::Alloc(64, 33)]].concat(), 65, 1 << 20);
    assert_eq!(f.span, 2 * PAGE, "the 65th needs a second page");
}
